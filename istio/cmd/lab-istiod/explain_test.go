package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	admin "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/pkg/util/protoconv"
)

func socketAddress(ip string, port uint32) *core.Address {
	return &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
		Address: ip, PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
	}}}
}

func TestListenerBy(t *testing.T) {
	l := func(name, ip string, port uint32) *listener.Listener {
		return &listener.Listener{Name: name, Address: socketAddress(ip, port)}
	}
	for _, tc := range []struct {
		name string
		l    *listener.Listener
		c    call
		want string
	}{
		{"exact address", l("192.0.2.50_5432", "192.0.2.50", 5432), call{Address: "192.0.2.50", Port: 5432},
			"its address 192.0.2.50:5432 is the destination"},
		{"wildcard on the port", l("0.0.0.0_443", "0.0.0.0", 443), call{Address: "10.20.0.10", Port: 443},
			"no listener has 10.20.0.10:443, and 0.0.0.0:443 takes every other address on the port"},
		{"virtualOutbound", l("virtualOutbound", "0.0.0.0", 15001), call{Address: "9.9.9.9", Port: 9999},
			"no listener has 9.9.9.9:9999 or 0.0.0.0:9999; the connection stays on virtualOutbound (0.0.0.0:15001, use_original_dst)"},
		{"same address, other port", l("192.0.2.50_5432", "192.0.2.50", 5432), call{Address: "192.0.2.50", Port: 5433},
			"no listener has 192.0.2.50:5433 or 0.0.0.0:5433; the connection stays on 192.0.2.50_5432 (192.0.2.50:5432, use_original_dst)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listenerBy(tc.l, tc.c); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFilterChain(t *testing.T) {
	a, b, def := &listener.FilterChain{Name: "a"}, &listener.FilterChain{Name: "b"}, &listener.FilterChain{Name: "PassthroughFilterChain"}
	withDefault := &listener.Listener{FilterChains: []*listener.FilterChain{a, b}, DefaultFilterChain: def}
	noDefault := &listener.Listener{FilterChains: []*listener.FilterChain{a, b}}
	unnamed := &listener.FilterChain{}
	for _, tc := range []struct {
		name  string
		l     *listener.Listener
		chain string
		want  *listener.FilterChain
	}{
		{"listed chain", withDefault, "b", b},
		{"default chain", withDefault, "PassthroughFilterChain", def},
		{"not there", withDefault, "c", nil},
		{"no default chain", noDefault, "PassthroughFilterChain", nil},
		// The simulation names an unnamed chain "": it is found, not mistaken for a missing default.
		{"unnamed chain", &listener.Listener{FilterChains: []*listener.FilterChain{unnamed}}, "", unnamed},
		{"unnamed, only the missing default", &listener.Listener{}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterChain(tc.l, tc.chain); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigDumpLookups(t *testing.T) {
	vhA := &route.VirtualHost{Name: "a.example.com:80", Domains: []string{"a.example.com"}}
	vhOther := &route.VirtualHost{Name: "a.example.com:80", Domains: []string{"other"}}
	d := &configDump{
		listeners: []*listener.Listener{{Name: ""}, {Name: "0.0.0.0_80"}, {Name: "virtualOutbound"}},
		clusters:  []*cluster.Cluster{{Name: ""}, {Name: "BlackHoleCluster"}, {Name: "outbound|80||a.example.com"}},
		routes: []*route.RouteConfiguration{
			{Name: "8080", VirtualHosts: []*route.VirtualHost{vhOther}},
			{Name: "80", VirtualHosts: []*route.VirtualHost{{Name: "block_all"}, vhA}},
		},
	}
	if l := d.listener("virtualOutbound"); l != d.listeners[2] {
		t.Errorf("listener(virtualOutbound) = %v", l)
	}
	if l := d.listener("nope"); l != nil {
		t.Errorf("listener(nope) = %v", l)
	}
	// No match (the simulation's empty name) is no listener, whatever the dump holds.
	if l := d.listener(""); l != nil {
		t.Errorf(`listener("") = %v, want nil`, l)
	}
	if c := d.cluster("outbound|80||a.example.com"); c != d.clusters[2] {
		t.Errorf("cluster = %v", c)
	}
	if c := d.cluster(""); c != nil {
		t.Errorf(`cluster("") = %v, want nil`, c)
	}
	if c := d.cluster("nope"); c != nil {
		t.Errorf("cluster(nope) = %v", c)
	}
	// The virtual host is looked up in its own route config only.
	if vh := d.virtualHost("80", "a.example.com:80"); vh != vhA {
		t.Errorf("virtualHost(80, a) = %v", vh)
	}
	if vh := d.virtualHost("8080", "a.example.com:80"); vh != vhOther {
		t.Errorf("virtualHost(8080, a) = %v", vh)
	}
	if vh := d.virtualHost("443", "a.example.com:80"); vh != nil {
		t.Errorf("virtualHost(443, a) = %v", vh)
	}
	if vh := d.virtualHost("80", "nope"); vh != nil {
		t.Errorf("virtualHost(80, nope) = %v", vh)
	}
}

func lbEndpoint(ip string, port uint32, h core.HealthStatus) *endpoint.LbEndpoint {
	return &endpoint.LbEndpoint{
		HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{Address: socketAddress(ip, port)}},
		HealthStatus:   h,
	}
}

func cla(name string, groups ...[]*endpoint.LbEndpoint) *endpoint.ClusterLoadAssignment {
	c := &endpoint.ClusterLoadAssignment{ClusterName: name}
	for _, g := range groups {
		c.Endpoints = append(c.Endpoints, &endpoint.LocalityLbEndpoints{LbEndpoints: g})
	}
	return c
}

func typed(name string, typ cluster.Cluster_DiscoveryType) *cluster.Cluster {
	return &cluster.Cluster{Name: name, ClusterDiscoveryType: &cluster.Cluster_Type{Type: typ}}
}

func TestClusterEndpoints(t *testing.T) {
	const eds = "outbound|80||backend.app.svc.cluster.local"
	edsCluster := typed(eds, cluster.Cluster_EDS)
	// An inline load_assignment on an EDS cluster is not what Envoy uses: the EDS section is.
	edsWithInline := typed(eds, cluster.Cluster_EDS)
	edsWithInline.LoadAssignment = cla(eds, []*endpoint.LbEndpoint{lbEndpoint("10.9.9.9", 1, core.HealthStatus_HEALTHY)})
	dns := typed("outbound|443||api.example.com", cluster.Cluster_STRICT_DNS)
	dns.LoadAssignment = cla("outbound|443||api.example.com", []*endpoint.LbEndpoint{lbEndpoint("api.example.com", 443, core.HealthStatus_UNKNOWN)})
	origDst := typed("PassthroughCluster", cluster.Cluster_ORIGINAL_DST)
	origDst.LoadAssignment = dns.LoadAssignment
	custom := &cluster.Cluster{Name: "agg", ClusterDiscoveryType: &cluster.Cluster_ClusterType{
		ClusterType: &cluster.Cluster_CustomClusterType{Name: "envoy.clusters.aggregate"},
	}}
	noType := &cluster.Cluster{Name: "untyped", LoadAssignment: cla("untyped", []*endpoint.LbEndpoint{lbEndpoint("192.0.2.1", 80, core.HealthStatus_UNKNOWN)})}

	edsSection := map[string]*endpoint.ClusterLoadAssignment{
		eds: cla(eds,
			[]*endpoint.LbEndpoint{lbEndpoint("10.0.0.20", 8080, core.HealthStatus_HEALTHY), lbEndpoint("10.0.0.21", 8080, core.HealthStatus_UNHEALTHY)},
			[]*endpoint.LbEndpoint{lbEndpoint("10.1.0.22", 8080, core.HealthStatus_UNKNOWN), lbEndpoint("10.1.0.23", 8080, core.HealthStatus_DRAINING)},
		),
	}
	withEDS := &configDump{hasEDS: true, endpoints: edsSection}
	emptyEDS := &configDump{hasEDS: true, endpoints: map[string]*endpoint.ClusterLoadAssignment{}}
	noEDS := &configDump{endpoints: map[string]*endpoint.ClusterLoadAssignment{}}
	wantEDS := []string{"10.0.0.20:8080 healthy", "10.0.0.21:8080 unhealthy", "10.1.0.22:8080", "10.1.0.23:8080 draining"}

	for _, tc := range []struct {
		name     string
		d        *configDump
		c        *cluster.Cluster
		wantType string
		wantEps  []string
	}{
		{"EDS from the dump's EDS section", withEDS, edsCluster, "EDS", wantEDS},
		{"EDS ignores an inline load_assignment", withEDS, edsWithInline, "EDS", wantEDS},
		{"EDS, the dump has no EDS section", noEDS, edsCluster, "EDS",
			[]string{"(the dump has no EDS section: use istioctl proxy-config all, or /config_dump?include_eds)"}},
		{"EDS, the section lacks the cluster", emptyEDS, edsCluster, "EDS", []string{"(the dump's EDS section has no endpoints for it)"}},
		{"STRICT_DNS inline", noEDS, dns, "STRICT_DNS", []string{"api.example.com:443"}},
		{"ORIGINAL_DST", withEDS, origDst, "ORIGINAL_DST", []string{"(the connection's original destination)"}},
		{"STATIC without endpoints (BlackHoleCluster)", noEDS, typed("BlackHoleCluster", cluster.Cluster_STATIC), "STATIC", nil},
		{"custom cluster_type", withEDS, custom, "(custom)", nil},
		{"no type is Envoy's default STATIC", noEDS, noType, "STATIC", []string{"192.0.2.1:80"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, eps := tc.d.clusterEndpoints(tc.c)
			if typ != tc.wantType || !reflect.DeepEqual(eps, tc.wantEps) {
				t.Errorf("got %q %q\nwant %q %q", typ, eps, tc.wantType, tc.wantEps)
			}
		})
	}
}

func TestCurrentFilterNames(t *testing.T) {
	l := &listener.Listener{
		ListenerFilters: []*listener.ListenerFilter{{Name: "envoy.listener.tls_inspector"}, {Name: "envoy.filters.listener.http_inspector"}},
		FilterChains: []*listener.FilterChain{
			{Filters: []*listener.Filter{{Name: "envoy.tcp_proxy"}}},
			{Filters: []*listener.Filter{{Name: "istio.stats"}, {Name: "envoy.http_connection_manager"}}},
		},
		DefaultFilterChain: &listener.FilterChain{Filters: []*listener.Filter{{Name: "envoy.tcp_proxy"}}},
	}
	renamed := map[string]bool{}
	currentFilterNames(l, renamed)
	got := []string{
		l.ListenerFilters[0].Name, l.ListenerFilters[1].Name,
		l.FilterChains[0].Filters[0].Name, l.FilterChains[1].Filters[0].Name, l.FilterChains[1].Filters[1].Name,
		l.DefaultFilterChain.Filters[0].Name,
	}
	want := []string{
		"envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector",
		"envoy.filters.network.tcp_proxy", "istio.stats", "envoy.filters.network.http_connection_manager",
		"envoy.filters.network.tcp_proxy",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %q\nwant  %q", got, want)
	}
	wantRenamed := map[string]bool{
		"envoy.listener.tls_inspector -> envoy.filters.listener.tls_inspector":           true,
		"envoy.tcp_proxy -> envoy.filters.network.tcp_proxy":                             true,
		"envoy.http_connection_manager -> envoy.filters.network.http_connection_manager": true,
	}
	if !reflect.DeepEqual(renamed, wantRenamed) {
		t.Errorf("renamed %v\nwant    %v", renamed, wantRenamed)
	}

	// A listener without a default chain, and with current names only, renames nothing.
	plain := &listener.Listener{FilterChains: []*listener.FilterChain{{Filters: []*listener.Filter{{Name: "envoy.filters.network.tcp_proxy"}}}}}
	renamed = map[string]bool{}
	currentFilterNames(plain, renamed)
	if len(renamed) != 0 || plain.FilterChains[0].Filters[0].Name != "envoy.filters.network.tcp_proxy" {
		t.Errorf("renamed %v, name %q", renamed, plain.FilterChains[0].Filters[0].Name)
	}
}

func TestProtoJSONUsesEnvoyFieldNames(t *testing.T) {
	m := &listener.FilterChainMatch{
		DestinationPort:      wrapperspb.UInt32(443),
		ServerNames:          []string{"api.example.com"},
		TransportProtocol:    "tls",
		ApplicationProtocols: []string{"h2"},
	}
	got := map[string]any{}
	if err := json.Unmarshal(protoJSON(m), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"destination_port": 443.0, "server_names": []any{"api.example.com"},
		"transport_protocol": "tls", "application_protocols": []any{"h2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := string(protoJSON(&listener.FilterChainMatch{})); got != "{}" {
		t.Errorf("empty match: %q", got)
	}
}

// writeDump writes a /config_dump of the given admin sections, as Envoy prints it.
func writeDump(t *testing.T, sections ...proto.Message) string {
	t.Helper()
	cd := &admin.ConfigDump{}
	for _, s := range sections {
		cd.Configs = append(cd.Configs, protoconv.MessageToAny(s))
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(cd)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "config_dump.json", b)
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func listenersSection(ls ...*listener.Listener) *admin.ListenersConfigDump {
	d := &admin.ListenersConfigDump{}
	for _, l := range ls {
		d.DynamicListeners = append(d.DynamicListeners, &admin.ListenersConfigDump_DynamicListener{
			Name: l.Name, ActiveState: &admin.ListenersConfigDump_DynamicListenerState{Listener: protoconv.MessageToAny(l)},
		})
	}
	return d
}

func clustersSection(cs ...*cluster.Cluster) *admin.ClustersConfigDump {
	d := &admin.ClustersConfigDump{}
	for _, c := range cs {
		d.DynamicActiveClusters = append(d.DynamicActiveClusters, &admin.ClustersConfigDump_DynamicCluster{Cluster: protoconv.MessageToAny(c)})
	}
	return d
}

func TestReadConfigDump(t *testing.T) {
	// An Istio 1.6 sidecar's dump: bootstrap with the node, deprecated filter names, no EDS section.
	old := &listener.Listener{
		Name:    "0.0.0.0_3306",
		Address: socketAddress("0.0.0.0", 3306),
		ListenerFilters: []*listener.ListenerFilter{
			{Name: "envoy.listener.tls_inspector"}, {Name: "envoy.listener.original_dst"}, {Name: "envoy.listener.http_inspector"},
		},
		FilterChains: []*listener.FilterChain{
			{Filters: []*listener.Filter{{Name: "envoy.tcp_proxy"}}},
			{Filters: []*listener.Filter{{Name: "envoy.http_connection_manager"}}},
		},
	}
	meta, _ := structpb.NewStruct(map[string]any{"ISTIO_VERSION": "1.6.14"})
	boot := &admin.BootstrapConfigDump{Bootstrap: &bootstrap.Bootstrap{Node: &core.Node{Id: "sidecar~10.0.0.10~client.app~app.svc.cluster.local", Metadata: meta}}}
	routes := &admin.RoutesConfigDump{DynamicRouteConfigs: []*admin.RoutesConfigDump_DynamicRouteConfig{
		{RouteConfig: protoconv.MessageToAny(&route.RouteConfiguration{Name: "80"})},
	}}
	p := writeDump(t, boot, listenersSection(old, &listener.Listener{Name: "virtualOutbound", Address: socketAddress("0.0.0.0", 15001)}),
		clustersSection(typed("BlackHoleCluster", cluster.Cluster_STATIC)), routes)
	d, err := readConfigDump(p)
	if err != nil {
		t.Fatal(err)
	}
	want := dumpInfo{
		Node: "sidecar~10.0.0.10~client.app~app.svc.cluster.local", IstioVersion: "1.6.14",
		Listeners: 2, Clusters: 1, Routes: 1,
		Renamed: []string{ // all five deprecated names, sorted
			"envoy.http_connection_manager -> envoy.filters.network.http_connection_manager",
			"envoy.listener.http_inspector -> envoy.filters.listener.http_inspector",
			"envoy.listener.original_dst -> envoy.filters.listener.original_dst",
			"envoy.listener.tls_inspector -> envoy.filters.listener.tls_inspector",
			"envoy.tcp_proxy -> envoy.filters.network.tcp_proxy",
		},
	}
	if !reflect.DeepEqual(d.info, want) {
		t.Errorf("info %+v\nwant %+v", d.info, want)
	}
	if d.hasEDS {
		t.Error("hasEDS without an EDS section")
	}
	if got := d.listeners[0].GetFilterChains()[0].GetFilters()[0].GetName(); got != "envoy.filters.network.tcp_proxy" {
		t.Errorf("the simulation gets %q, want the current name", got)
	}
	if d.clusters[0].GetName() != "BlackHoleCluster" || d.routes[0].GetName() != "80" {
		t.Errorf("clusters %v routes %v", d.clusters, d.routes)
	}

	// istioctl proxy-config all: with EDS, without bootstrap or routes.
	eps := &admin.EndpointsConfigDump{DynamicEndpointConfigs: []*admin.EndpointsConfigDump_DynamicEndpointConfig{
		{EndpointConfig: protoconv.MessageToAny(cla("outbound|80||a", []*endpoint.LbEndpoint{lbEndpoint("10.0.0.1", 80, core.HealthStatus_HEALTHY)}))},
	}}
	d, err = readConfigDump(writeDump(t, listenersSection(old), clustersSection(), eps))
	if err != nil {
		t.Fatal(err)
	}
	if !d.hasEDS || d.endpoints["outbound|80||a"] == nil || d.info.Node != "" || d.info.Routes != 0 {
		t.Errorf("hasEDS %v endpoints %v info %+v", d.hasEDS, d.endpoints, d.info)
	}
}

func TestReadConfigDumpErrors(t *testing.T) {
	l := &listener.Listener{Name: "virtualOutbound"}
	for _, tc := range []struct {
		name string
		file func(t *testing.T) string
		want string // the error, after "FILE: "
	}{
		{"not JSON", func(t *testing.T) string { return writeFile(t, "d.json", []byte("listeners: []")) }, "not an Envoy config dump: "},
		{"no listeners section", func(t *testing.T) string { return writeDump(t, clustersSection()) }, "listeners: "},
		{"no dynamic listeners", func(t *testing.T) string { return writeDump(t, &admin.ListenersConfigDump{}, clustersSection()) },
			"the dump has no dynamic listeners (is it a sidecar's /config_dump?)"},
		{"no clusters section", func(t *testing.T) string { return writeDump(t, listenersSection(l)) }, "clusters: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.file(t)
			_, err := readConfigDump(p)
			if err == nil || !strings.HasPrefix(err.Error(), p+": "+tc.want) {
				t.Errorf("err = %v, want prefix %q", err, p+": "+tc.want)
			}
		})
	}
	if _, err := readConfigDump(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// explainCall over the config istiod generates for testInputs' client pod, read back from its dump.
func TestExplainCallOverGeneratedDump(t *testing.T) {
	raw, err := dumpPod(testFake(t), "app/client")
	if err != nil {
		t.Fatal(err)
	}
	d, err := readConfigDump(writeFile(t, "config_dump.json", raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := (dumpInfo{Listeners: 5, Clusters: 6, Routes: 1}); !reflect.DeepEqual(d.info, want) {
		t.Errorf("info %+v, want %+v", d.info, want)
	}
	sim := &simulation.Simulation{Listeners: d.listeners, Clusters: d.clusters, Routes: d.routes}
	for _, tc := range []struct {
		name string
		c    call
		want string // the explanation as JSON
	}{
		{"HTTP to a Service: route, domains, EDS endpoints",
			call{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "backend.app.svc.cluster.local", Path: "/"},
			`{"listener":"0.0.0.0_80","routeConfig":"80","virtualHost":"backend.app.svc.cluster.local:80","route":"default",
			  "cluster":"outbound|80||backend.app.svc.cluster.local",
			  "listenerBy":"no listener has 10.96.0.20:80, and 0.0.0.0:80 takes every other address on the port",
			  "filterChainMatch":{"transport_protocol":"raw_buffer","application_protocols":["http/1.1","h2c"]},
			  "domains":["backend.app.svc.cluster.local","backend.app.svc.cluster.local.","backend","backend.app.svc","backend.app","10.96.0.20"],
			  "routeMatch":{"prefix":"/"},"clusterType":"EDS","endpoints":["10.0.0.20:8080 healthy"],"clusterInDump":true}`},
		{"TLS to a DNS ServiceEntry by SNI",
			call{Address: "10.20.0.10", Port: 443, Protocol: "tcp", TLS: true, Sni: "api.example.com"},
			`{"listener":"0.0.0.0_443","cluster":"outbound|443||api.example.com",
			  "listenerBy":"no listener has 10.20.0.10:443, and 0.0.0.0:443 takes every other address on the port",
			  "filterChainMatch":{"server_names":["api.example.com"]},
			  "clusterType":"STRICT_DNS","endpoints":["api.example.com:443"],"clusterInDump":true}`},
		{"TLS to an unknown SNI under REGISTRY_ONLY",
			call{Address: "10.20.0.10", Port: 443, Protocol: "tcp", TLS: true, Sni: "other.example.com"},
			`{"listener":"0.0.0.0_443","filterChain":"PassthroughFilterChain","cluster":"BlackHoleCluster",
			  "listenerBy":"no listener has 10.20.0.10:443, and 0.0.0.0:443 takes every other address on the port",
			  "filterChainMatch":{},"clusterType":"STATIC","clusterInDump":true}`},
		{"TCP to a STATIC ServiceEntry's address",
			call{Address: "192.0.2.50", Port: 5432, Protocol: "tcp"},
			`{"listener":"192.0.2.50_5432","cluster":"outbound|5432||db.example.com",
			  "listenerBy":"its address 192.0.2.50:5432 is the destination",
			  "clusterType":"EDS","endpoints":["192.0.2.51:5432"],"clusterInDump":true}`},
		{"TCP to an unknown port: virtualOutbound",
			call{Address: "9.9.9.9", Port: 9999, Protocol: "tcp"},
			`{"listener":"virtualOutbound","filterChain":"virtualOutbound-catchall-tcp","cluster":"BlackHoleCluster",
			  "listenerBy":"no listener has 9.9.9.9:9999 or 0.0.0.0:9999; the connection stays on virtualOutbound (0.0.0.0:15001, use_original_dst)",
			  "clusterType":"STATIC","clusterInDump":true}`},
		{"HTTP to an unknown host: block_all, no cluster",
			call{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "nope.example.com"},
			`{"listener":"0.0.0.0_80","routeConfig":"80","virtualHost":"block_all","route":"block_all",
			  "listenerBy":"no listener has 10.96.0.20:80, and 0.0.0.0:80 takes every other address on the port",
			  "filterChainMatch":{"transport_protocol":"raw_buffer","application_protocols":["http/1.1","h2c"]},
			  "domains":["*"],"routeMatch":{"prefix":"/"},"clusterInDump":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertJSON(t, d.explainCall(sim, tc.c), tc.want)
		})
	}

	// Nothing matched: the simulation's result only.
	empty := &configDump{}
	assertJSON(t, empty.explainCall(&simulation.Simulation{}, call{Address: "1.2.3.4", Port: 80, Protocol: "tcp"}),
		`{"error":"no listener matched","clusterInDump":false}`)
}

// assertJSON compares v, marshalled, with the JSON want, ignoring layout.
func assertJSON(t *testing.T, v any, want string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("got  %s\nwant %s", b, strings.Join(strings.Fields(want), " "))
	}
}

// The explain command end to end: a dump file and calls on stdin, {dump, results} on stdout.
func TestExplainCommand(t *testing.T) {
	raw, err := dumpPod(testFake(t), "app/client")
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "config_dump.json", raw)
	r := runLabIstiod(t, "main", `[{"address":"192.0.2.50","port":5432,"protocol":"tcp"},{"address":"9.9.9.9","port":9999,"protocol":"tcp"}]`,
		switchesEnv(), "explain", "--config-dump", p)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Dump    map[string]any `json:"dump"`
		Results []struct {
			Listener   string `json:"listener"`
			Cluster    string `json:"cluster"`
			ListenerBy string `json:"listenerBy"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if want := map[string]any{"listeners": 5.0, "clusters": 6.0, "routes": 1.0}; !reflect.DeepEqual(out.Dump, want) {
		t.Errorf("dump %v, want %v", out.Dump, want)
	}
	if len(out.Results) != 2 || out.Results[0].Cluster != "outbound|5432||db.example.com" || out.Results[1].Listener != "virtualOutbound" ||
		out.Results[1].Cluster != "BlackHoleCluster" || out.Results[1].ListenerBy == "" {
		t.Errorf("results %+v", out.Results)
	}

	// Calls are read before the dump: a bad stdin fails even with a good file, and a bad file after good calls.
	r = runLabIstiod(t, "main", "not json", switchesEnv(), "explain", "--config-dump", p)
	if r.code != 1 || !strings.Contains(r.stderr, "lab-istiod explain: stdin: expected a JSON array of calls") {
		t.Errorf("bad stdin: exit %d, %s", r.code, r.stderr)
	}
	bad := writeFile(t, "bad.json", []byte("{}"))
	r = runLabIstiod(t, "main", "[]", switchesEnv(), "explain", "--config-dump", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "lab-istiod explain: "+bad+": ") {
		t.Errorf("bad dump: exit %d, %s", r.code, r.stderr)
	}
}
