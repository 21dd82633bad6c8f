package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"istio.io/istio/istioctl/pkg/util/configdump"
	"istio.io/istio/pilot/pkg/simulation"
	xdsfilters "istio.io/istio/pilot/pkg/xds/filters"
	"istio.io/istio/pkg/wellknown"
)

// dumpInfo says whose config a dump is: the node, the Istio version the proxy reported, and the
// deprecated filter names that were read as their current ones.
type dumpInfo struct {
	Node         string   `json:"node,omitempty"`
	IstioVersion string   `json:"istioVersion,omitempty"`
	Listeners    int      `json:"listeners"`
	Clusters     int      `json:"clusters"`
	Routes       int      `json:"routes"`
	Renamed      []string `json:"renamed,omitempty"`
}

// explanation is the simulation's Result plus the fields of the matched objects that decided it.
type explanation struct {
	match
	// How the listener was chosen: the exact address, 0.0.0.0 on the port, or virtualOutbound.
	ListenerBy string `json:"listenerBy,omitempty"`
	// The matched chain's filter_chain_match (empty: the chain matches everything left).
	FilterChainMatch json.RawMessage `json:"filterChainMatch,omitempty"`
	// The matched virtual host's domains, and the matched route's match.
	Domains    []string        `json:"domains,omitempty"`
	RouteMatch json.RawMessage `json:"routeMatch,omitempty"`
	// The cluster's discovery type and its endpoints as the dump holds them.
	ClusterType string   `json:"clusterType,omitempty"`
	Endpoints   []string `json:"endpoints,omitempty"`
	// Found reports whether the matched cluster is in the dump at all.
	ClusterInDump bool `json:"clusterInDump"`
}

type explainOutput struct {
	Dump    dumpInfo      `json:"dump"`
	Results []explanation `json:"results"`
}

// configDump is one Envoy config dump read with istioctl's own reader
// (istioctl/pkg/util/configdump), which takes /config_dump and `istioctl proxy-config all -o json` alike.
type configDump struct {
	info      dumpInfo
	listeners []*listener.Listener
	clusters  []*cluster.Cluster
	routes    []*route.RouteConfiguration
	endpoints map[string]*endpoint.ClusterLoadAssignment
	hasEDS    bool
}

// explain is `lab-istiod explain --config-dump FILE < calls.json`: Istio's traffic simulation
// (pilot/pkg/simulation/traffic.go) over a dump's listeners, clusters and routes, offline.
func explain(args []string) error {
	fs := newFlags("explain")
	file := fs.String("config-dump", "", "an Envoy config dump (JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--config-dump FILE is required")
	}
	var calls []call
	if err := json.NewDecoder(os.Stdin).Decode(&calls); err != nil {
		return fmt.Errorf("stdin: expected a JSON array of calls: %v", err)
	}
	d, err := readConfigDump(*file)
	if err != nil {
		return err
	}
	sim := &simulation.Simulation{Listeners: d.listeners, Clusters: d.clusters, Routes: d.routes}
	out := explainOutput{Dump: d.info, Results: make([]explanation, 0, len(calls))}
	for _, c := range calls {
		out.Results = append(out.Results, d.explainCall(sim, c))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func readConfigDump(file string) (*configDump, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	w := &configdump.Wrapper{}
	if err := w.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%s: not an Envoy config dump: %v", file, err)
	}
	d := &configDump{endpoints: map[string]*endpoint.ClusterLoadAssignment{}}
	if err := d.readListeners(w); err != nil {
		return nil, fmt.Errorf("%s: listeners: %v", file, err)
	}
	if len(d.listeners) == 0 {
		return nil, fmt.Errorf("%s: the dump has no dynamic listeners (is it a sidecar's /config_dump?)", file)
	}
	if err := d.readClustersAndRoutes(w); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if b, err := w.GetBootstrapConfigDump(); err == nil && b.GetBootstrap().GetNode() != nil {
		node := b.GetBootstrap().GetNode()
		d.info.Node = node.GetId()
		d.info.IstioVersion = node.GetMetadata().GetFields()["ISTIO_VERSION"].GetStringValue()
	}
	d.info.Listeners, d.info.Clusters, d.info.Routes = len(d.listeners), len(d.clusters), len(d.routes)
	sort.Strings(d.info.Renamed)
	return d, nil
}

func (d *configDump) readListeners(w *configdump.Wrapper) error {
	dump, err := w.GetDynamicListenerDump(true)
	if err != nil {
		return err
	}
	renamed := map[string]bool{}
	for _, dl := range dump.GetDynamicListeners() {
		l := &listener.Listener{}
		if err := dl.GetActiveState().GetListener().UnmarshalTo(l); err != nil {
			return err
		}
		currentFilterNames(l, renamed)
		d.listeners = append(d.listeners, l)
	}
	for n := range renamed {
		d.info.Renamed = append(d.info.Renamed, n)
	}
	return nil
}

func (d *configDump) readClustersAndRoutes(w *configdump.Wrapper) error {
	clusters, err := w.GetDynamicClusterDump(true)
	if err != nil {
		return fmt.Errorf("clusters: %v", err)
	}
	for _, dc := range clusters.GetDynamicActiveClusters() {
		c := &cluster.Cluster{}
		if err := dc.GetCluster().UnmarshalTo(c); err != nil {
			return fmt.Errorf("clusters: %v", err)
		}
		d.clusters = append(d.clusters, c)
	}
	if routes, err := w.GetDynamicRouteDump(true); err == nil {
		for _, dr := range routes.GetDynamicRouteConfigs() {
			r := &route.RouteConfiguration{}
			if err := dr.GetRouteConfig().UnmarshalTo(r); err != nil {
				return fmt.Errorf("routes: %v", err)
			}
			d.routes = append(d.routes, r)
		}
	}
	// /config_dump leaves EDS out unless ?include_eds; istioctl proxy-config all includes it.
	if eds, err := w.GetEndpointsConfigDump(); err == nil && eds != nil {
		d.hasEDS = true
		for _, e := range eds.GetDynamicEndpointConfigs() {
			cla := &endpoint.ClusterLoadAssignment{}
			if err := e.GetEndpointConfig().UnmarshalTo(cla); err == nil {
				d.endpoints[cla.GetClusterName()] = cla
			}
		}
	}
	return nil
}

// deprecatedNames are the filter names Envoy accepted before v3 (Istio 1.4-1.6 sent them), which
// the simulation (pilot/test/xdstest/extract.go) looks up by their current names only.
var deprecatedNames = map[string]string{
	"envoy.tcp_proxy":               wellknown.TCPProxy,
	"envoy.http_connection_manager": wellknown.HTTPConnectionManager,
	"envoy.listener.tls_inspector":  xdsfilters.TLSInspector.Name,
	"envoy.listener.http_inspector": xdsfilters.HTTPInspector.Name,
	"envoy.listener.original_dst":   xdsfilters.OriginalDestination.Name,
}

func currentFilterNames(l *listener.Listener, renamed map[string]bool) {
	rename := func(name *string) {
		if now, ok := deprecatedNames[*name]; ok {
			renamed[*name+" -> "+now] = true
			*name = now
		}
	}
	for _, lf := range l.ListenerFilters {
		rename(&lf.Name)
	}
	for _, fc := range append(l.FilterChains, l.DefaultFilterChain) {
		for _, f := range fc.GetFilters() {
			rename(&f.Name)
		}
	}
}

func (d *configDump) explainCall(sim *simulation.Simulation, c call) explanation {
	e := explanation{match: runCall(sim, c)}
	l := d.listener(e.Listener)
	if l == nil {
		return e
	}
	e.ListenerBy = listenerBy(l, c)
	if fc := filterChain(l, e.FilterChain); fc != nil && fc.GetFilterChainMatch() != nil {
		e.FilterChainMatch = protoJSON(fc.GetFilterChainMatch())
	}
	if vh := d.virtualHost(e.RouteConfig, e.VirtualHost); vh != nil {
		e.Domains = vh.GetDomains()
		for _, r := range vh.GetRoutes() {
			if r.GetName() == e.Route {
				e.RouteMatch = protoJSON(r.GetMatch())
				break
			}
		}
	}
	if cl := d.cluster(e.Cluster); cl != nil {
		e.ClusterInDump = true
		e.ClusterType, e.Endpoints = d.clusterEndpoints(cl)
	}
	return e
}

func listenerBy(l *listener.Listener, c call) string {
	a := l.GetAddress().GetSocketAddress()
	switch {
	case a.GetAddress() == c.Address && int(a.GetPortValue()) == c.Port:
		return fmt.Sprintf("its address %s:%d is the destination", a.GetAddress(), a.GetPortValue())
	case a.GetAddress() == "0.0.0.0" && int(a.GetPortValue()) == c.Port:
		return fmt.Sprintf("no listener has %s:%d, and %s:%d takes every other address on the port", c.Address, c.Port, a.GetAddress(), a.GetPortValue())
	default:
		return fmt.Sprintf("no listener has %s:%d or 0.0.0.0:%d; the connection stays on %s (%s:%d, use_original_dst)", c.Address, c.Port, c.Port, l.GetName(), a.GetAddress(), a.GetPortValue())
	}
}

func (d *configDump) listener(name string) *listener.Listener {
	for _, l := range d.listeners {
		if name != "" && l.GetName() == name {
			return l
		}
	}
	return nil
}

func filterChain(l *listener.Listener, name string) *listener.FilterChain {
	for _, fc := range append(l.GetFilterChains(), l.GetDefaultFilterChain()) {
		if fc != nil && fc.GetName() == name {
			return fc
		}
	}
	return nil
}

func (d *configDump) virtualHost(routeConfig, name string) *route.VirtualHost {
	for _, rc := range d.routes {
		if rc.GetName() != routeConfig {
			continue
		}
		for _, vh := range rc.GetVirtualHosts() {
			if vh.GetName() == name {
				return vh
			}
		}
	}
	return nil
}

func (d *configDump) cluster(name string) *cluster.Cluster {
	for _, c := range d.clusters {
		if name != "" && c.GetName() == name {
			return c
		}
	}
	return nil
}

// clusterEndpoints: EDS clusters from the dump's endpoint section, others from their inline
// load_assignment; ORIGINAL_DST clusters send the connection where it was going. A cluster with
// neither type nor cluster_type is STATIC (Envoy's default, which GetType returns); one with a
// cluster_type (an extension cluster such as envoy.clusters.aggregate) is "(custom)".
func (d *configDump) clusterEndpoints(c *cluster.Cluster) (string, []string) {
	typ := c.GetType().String()
	if c.GetClusterType() != nil {
		typ = "(custom)"
	}
	cla := c.GetLoadAssignment()
	if c.GetType() == cluster.Cluster_EDS {
		cla = d.endpoints[c.GetName()]
		if cla == nil && !d.hasEDS {
			return typ, []string{"(the dump has no EDS section: use istioctl proxy-config all, or /config_dump?include_eds)"}
		}
		if cla == nil {
			return typ, []string{"(the dump's EDS section has no endpoints for it)"}
		}
	}
	if c.GetType() == cluster.Cluster_ORIGINAL_DST {
		return typ, []string{"(the connection's original destination)"}
	}
	var eps []string
	for _, l := range cla.GetEndpoints() {
		for _, ep := range l.GetLbEndpoints() {
			a := ep.GetEndpoint().GetAddress().GetSocketAddress()
			s := fmt.Sprintf("%s:%d", a.GetAddress(), a.GetPortValue())
			if h := ep.GetHealthStatus(); h != core.HealthStatus_UNKNOWN {
				s += " " + strings.ToLower(h.String())
			}
			eps = append(eps, s)
		}
	}
	return typ, eps
}

func protoJSON(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}
