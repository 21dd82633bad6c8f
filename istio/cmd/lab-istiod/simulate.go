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
	return resultMatch(sim.Run(simulationCall(c)))
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
