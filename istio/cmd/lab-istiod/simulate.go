package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
)

// call is one connection to trace, as the harness describes a probe: the address and port the
// client dialled, what it speaks first (http, tcp) and, for TLS, the SNI; for HTTP the Host header.
type call struct {
	Address    string `json:"address"`
	Port       int    `json:"port"`
	Protocol   string `json:"protocol"` // "http" or "tcp"
	TLS        bool   `json:"tls"`
	Sni        string `json:"sni,omitempty"`
	HostHeader string `json:"hostHeader,omitempty"`
	Path       string `json:"path,omitempty"`
	// Headers are the request's other headers, which a route's match may read.
	Headers map[string]string `json:"headers,omitempty"`
}

// match is pilot/pkg/simulation's Result: the names of what matched, and why it stopped if it did.
type match struct {
	Listener    string `json:"listener,omitempty"`
	FilterChain string `json:"filterChain,omitempty"`
	RouteConfig string `json:"routeConfig,omitempty"`
	VirtualHost string `json:"virtualHost,omitempty"`
	Route       string `json:"route,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	Error       string `json:"error,omitempty"`
	// Undecided says why Route and Cluster are left out: the simulation could not decide them.
	Undecided string `json:"undecided,omitempty"`
}

// simulatePod runs Istio's own traffic simulation (pilot/pkg/simulation/traffic.go) over the
// listeners, clusters and routes istiod generates for the pod, the config the lab's config gate
// has checked Envoy holds. One call per probe; the result names the matches like `istioctl x describe`.
func simulatePod(fake *xds.FakeDiscoveryServer, podRef string, calls []call) ([]match, error) {
	proxy, err := setupPodProxy(fake, podRef)
	if err != nil {
		return nil, err
	}
	listeners := fake.Listeners(proxy)
	sim := &simulation.Simulation{Listeners: listeners, Clusters: fake.Clusters(proxy), Routes: fake.RoutesFromListeners(proxy, listeners)}
	out := make([]match, 0, len(calls))
	for _, c := range calls {
		out = append(out, runCall(sim, c))
	}
	return out, nil
}

func runCall(sim *simulation.Simulation, c call) (m match) {
	// The simulation reports malformed config through its test handle, which it does not have
	// here: a panic from that path is reported as the call's error.
	defer func() {
		if r := recover(); r != nil {
			m = match{Error: fmt.Sprintf("simulation failed: %v", r)}
		}
	}()
	r := sim.Run(simulationCall(c))
	m = resultMatch(r)
	if why := undecidedRoute(sim, r); why != "" {
		m.Route, m.Cluster, m.Undecided = "", "", why
	}
	return m
}

// undecidedRoute says why the simulation's route cannot be trusted: its matchRoute reads only the
// path (pilot/pkg/simulation/traffic.go: "TODO this only handles path"), so when the matched route
// or one before it in the virtual host also matches headers or query parameters, the route Envoy
// takes may be another. Then the route and cluster are left out rather than guessed.
func undecidedRoute(sim *simulation.Simulation, r simulation.Result) string {
	if r.RouteMatched == "" {
		return ""
	}
	for _, rc := range sim.Routes {
		if rc.GetName() != r.RouteConfigMatched {
			continue
		}
		for _, vh := range rc.GetVirtualHosts() {
			if vh.GetName() != r.VirtualHostMatched {
				continue
			}
			for _, rt := range vh.GetRoutes() {
				if len(rt.GetMatch().GetHeaders()) > 0 || len(rt.GetMatch().GetQueryParameters()) > 0 {
					return fmt.Sprintf("route %q of virtual host %s matches headers or query parameters, which Istio's simulation does not evaluate (pilot/pkg/simulation/traffic.go matchRoute)", rt.GetName(), vh.GetName())
				}
				if rt.GetName() == r.RouteMatched {
					return ""
				}
			}
		}
	}
	return ""
}

// simulationCall is the probe as the simulation's outbound call from the pod's sidecar.
func simulationCall(c call) simulation.Call {
	in := simulation.Call{
		Address:    c.Address,
		Port:       c.Port,
		Path:       c.Path,
		Protocol:   simulation.Protocol(c.Protocol),
		TLS:        simulation.Plaintext,
		Sni:        c.Sni,
		HostHeader: c.HostHeader,
		CallMode:   simulation.CallModeOutbound,
	}
	if len(c.Headers) > 0 {
		in.Headers = http.Header{}
		for k, v := range c.Headers {
			in.Headers.Set(k, v)
		}
	}
	if c.TLS {
		in.TLS = simulation.TLS
	}
	return in
}

// resultMatch is the simulation's Result as the names the harness reads.
func resultMatch(r simulation.Result) match {
	m := match{
		Listener:    r.ListenerMatched,
		FilterChain: r.FilterChainMatched,
		RouteConfig: r.RouteConfigMatched,
		VirtualHost: r.VirtualHostMatched,
		Route:       r.RouteMatched,
		Cluster:     r.ClusterMatched,
	}
	if r.Error != nil {
		m.Error = r.Error.Error()
	}
	return m
}

// simulate is the offline form: `lab-istiod simulate --inputs DIR --pod NS/NAME < calls.json`
// prints one match per call, as JSON.
func simulate(args []string) error {
	fs := newFlags("simulate")
	dir := fs.String("inputs", "", "directory with kubernetes.yaml, istio.yaml, mesh.yaml")
	pod := fs.String("pod", "", "NAMESPACE/NAME of a pod in kubernetes.yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pod == "" {
		return errors.New("--pod NAMESPACE/NAME is required")
	}
	var calls []call
	if err := json.NewDecoder(os.Stdin).Decode(&calls); err != nil {
		return fmt.Errorf("stdin: expected a JSON array of calls: %v", err)
	}
	in, err := readInputs(*dir)
	if err != nil {
		return err
	}
	f := newFailer()
	defer f.shutdown()
	matches, err := simulatePod(discoveryServer(f, in, nil), *pod, calls)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(matches)
}

// simulateHandler serves the same on the running control plane's debug listener:
// POST /lab/simulate?pod=NS/NAME with the calls as the body.
func simulateHandler(fake *xds.FakeDiscoveryServer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a JSON array of calls", http.StatusMethodNotAllowed)
			return
		}
		var calls []call
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := json.Unmarshal(body, &calls); err != nil {
			http.Error(w, fmt.Sprintf("expected a JSON array of calls: %v", err), http.StatusBadRequest)
			return
		}
		matches, err := simulatePod(fake, r.URL.Query().Get("pod"), calls)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(matches)
	}
}
