package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/simulation"
)

// The calls as harness/istio/simulation.ts and harness/istio/explain.ts write them.
func TestCallJSON(t *testing.T) {
	var calls []call
	in := `[
	  {"address":"10.20.0.10","port":443,"protocol":"tcp","tls":true,"sni":"api.example.com"},
	  {"address":"10.96.0.20","port":80,"protocol":"http","tls":false,"hostHeader":"backend","path":"/x"},
	  {"address":"192.0.2.50","port":5432,"protocol":"tcp","tls":false}
	]`
	if err := json.Unmarshal([]byte(in), &calls); err != nil {
		t.Fatal(err)
	}
	want := []call{
		{Address: "10.20.0.10", Port: 443, Protocol: "tcp", TLS: true, Sni: "api.example.com"},
		{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "backend", Path: "/x"},
		{Address: "192.0.2.50", Port: 5432, Protocol: "tcp"},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("got %+v\nwant %+v", calls, want)
	}
}

func TestSimulationCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    call
		want simulation.Call
	}{
		{"TLS by SNI",
			call{Address: "10.20.0.10", Port: 443, Protocol: "tcp", TLS: true, Sni: "api.example.com"},
			simulation.Call{Address: "10.20.0.10", Port: 443, Protocol: simulation.TCP, TLS: simulation.TLS, Sni: "api.example.com", CallMode: simulation.CallModeOutbound}},
		{"plaintext HTTP with Host and path",
			call{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "backend", Path: "/x"},
			simulation.Call{Address: "10.96.0.20", Port: 80, Protocol: simulation.HTTP, TLS: simulation.Plaintext, HostHeader: "backend", Path: "/x", CallMode: simulation.CallModeOutbound}},
		{"HTTP headers a route may match, canonical as Go's http.Header keeps them",
			call{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "api", Headers: map[string]string{"x-canary": "yes"}},
			simulation.Call{Address: "10.96.0.20", Port: 80, Protocol: simulation.HTTP, TLS: simulation.Plaintext, HostHeader: "api",
				Headers: http.Header{"X-Canary": []string{"yes"}}, CallMode: simulation.CallModeOutbound}},
		{"plain TCP",
			call{Address: "192.0.2.50", Port: 5432, Protocol: "tcp"},
			simulation.Call{Address: "192.0.2.50", Port: 5432, Protocol: simulation.TCP, TLS: simulation.Plaintext, CallMode: simulation.CallModeOutbound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := simulationCall(tc.c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestResultMatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    simulation.Result
		want match
	}{
		{"full HTTP path",
			simulation.Result{ListenerMatched: "0.0.0.0_80", FilterChainMatched: "fc", RouteConfigMatched: "80", VirtualHostMatched: "vh", RouteMatched: "default", ClusterMatched: "outbound|80||b"},
			match{Listener: "0.0.0.0_80", FilterChain: "fc", RouteConfig: "80", VirtualHost: "vh", Route: "default", Cluster: "outbound|80||b"}},
		{"stopped with an error",
			simulation.Result{ListenerMatched: "0.0.0.0_443", Error: simulation.ErrNoFilterChain},
			match{Listener: "0.0.0.0_443", Error: "no filter chains matched"}},
		{"nothing", simulation.Result{}, match{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resultMatch(tc.r); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	b, _ := json.Marshal(match{Listener: "virtualOutbound", Cluster: "BlackHoleCluster"})
	if string(b) != `{"listener":"virtualOutbound","cluster":"BlackHoleCluster"}` {
		t.Errorf("empty fields must be omitted: %s", b)
	}
}

func TestRunCall(t *testing.T) {
	if got := runCall(&simulation.Simulation{}, call{Address: "1.2.3.4", Port: 80, Protocol: "tcp"}); got != (match{Error: "no listener matched"}) {
		t.Errorf("no listeners: %+v", got)
	}
	// A chain matching on prefix ranges makes the simulation parse the call's address; a call to
	// something that is not an IP panics inside it, which runCall turns into the call's error.
	l := &listener.Listener{
		Name:    "0.0.0.0_80",
		Address: socketAddress("0.0.0.0", 80),
		FilterChains: []*listener.FilterChain{{FilterChainMatch: &listener.FilterChainMatch{
			PrefixRanges: []*core.CidrRange{{AddressPrefix: "10.0.0.0", PrefixLen: wrapperspb.UInt32(8)}},
		}}},
	}
	got := runCall(&simulation.Simulation{Listeners: []*listener.Listener{l}}, call{Address: "backend.local", Port: 80, Protocol: "tcp"})
	if got.Listener != "" || !strings.HasPrefix(got.Error, "simulation failed: ") || !strings.Contains(got.Error, "backend.local") {
		t.Errorf("panic: %+v", got)
	}
}

var simulateCalls = []call{
	{Address: "10.96.0.20", Port: 80, Protocol: "http", HostHeader: "backend.app.svc.cluster.local"},
	{Address: "10.20.0.10", Port: 443, Protocol: "tcp", TLS: true, Sni: "other.example.com"},
}

var simulateWant = []match{
	{Listener: "0.0.0.0_80", RouteConfig: "80", VirtualHost: "backend.app.svc.cluster.local:80", Route: "default", Cluster: "outbound|80||backend.app.svc.cluster.local"},
	{Listener: "0.0.0.0_443", FilterChain: "PassthroughFilterChain", Cluster: "BlackHoleCluster"},
}

func TestSimulatePod(t *testing.T) {
	got, err := simulatePod(testFake(t), "app/client", simulateCalls)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, simulateWant) {
		t.Errorf("got %+v\nwant %+v", got, simulateWant)
	}
	// No calls: an empty array, not null.
	got, err = simulatePod(testFake(t), "app/client", nil)
	if b, _ := json.Marshal(got); err != nil || string(b) != "[]" {
		t.Errorf("no calls: %s %v", b, err)
	}
	if _, err := simulatePod(testFake(t), "app/nope", simulateCalls); err == nil {
		t.Error("unknown pod: no error")
	}
}

func TestSimulateHandler(t *testing.T) {
	h := simulateHandler(testFake(t))
	body, _ := json.Marshal(simulateCalls)
	for _, tc := range []struct {
		name     string
		method   string
		target   string
		body     string
		code     int
		wantBody string // prefix
	}{
		{"GET", http.MethodGet, "/lab/simulate?pod=app/client", "", http.StatusMethodNotAllowed, "POST a JSON array of calls\n"},
		{"not an array", http.MethodPost, "/lab/simulate?pod=app/client", `{"address":"1.2.3.4"}`, http.StatusBadRequest, "expected a JSON array of calls: "},
		{"unknown pod", http.MethodPost, "/lab/simulate?pod=app/nope", string(body), http.StatusNotFound, `--pod "app/nope": pods "nope" not found`},
		{"no pod", http.MethodPost, "/lab/simulate", string(body), http.StatusNotFound, `--pod "": expected NAMESPACE/NAME`},
		{"calls", http.MethodPost, "/lab/simulate?pod=app/client", string(body), http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h(w, httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body)))
			if w.Code != tc.code || !strings.HasPrefix(w.Body.String(), tc.wantBody) {
				t.Fatalf("%d %q, want %d %q...", w.Code, w.Body.String(), tc.code, tc.wantBody)
			}
			if tc.code != http.StatusOK {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got []match
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, simulateWant) {
				t.Errorf("got %+v\nwant %+v", got, simulateWant)
			}
		})
	}
}

// A body over 1 MiB is cut there, so it does not parse: 400, not an unbounded read.
func TestSimulateHandlerLimitsTheBody(t *testing.T) {
	big := `[` + strings.Repeat(`{"address":"10.96.0.20","port":80,"protocol":"tcp"},`, (1<<20)/45) + `{}]`
	if len(big) <= 1<<20 {
		t.Fatalf("body of %d bytes is not over the limit", len(big))
	}
	w := httptest.NewRecorder()
	simulateHandler(nil)(w, httptest.NewRequest(http.MethodPost, "/lab/simulate?pod=app/client", strings.NewReader(big)))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unexpected end of JSON input") {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

// Istio's simulation picks routes by path only: a header-matched route makes the route undecided.
func TestUndecidedRoute(t *testing.T) {
	headerRoute := &route.Route{Name: "canary", Match: &route.RouteMatch{
		PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"},
		Headers:       []*route.HeaderMatcher{{Name: "x-canary"}},
	}}
	plain := &route.Route{Name: "stable", Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}}}
	sim := func(routes ...*route.Route) *simulation.Simulation {
		return &simulation.Simulation{Routes: []*route.RouteConfiguration{{Name: "80", VirtualHosts: []*route.VirtualHost{{Name: "api:80", Routes: routes}}}}}
	}
	result := func(matched string) simulation.Result {
		return simulation.Result{RouteConfigMatched: "80", VirtualHostMatched: "api:80", RouteMatched: matched}
	}
	if why := undecidedRoute(sim(headerRoute, plain), result("canary")); !strings.Contains(why, `route "canary" of virtual host api:80 matches headers`) {
		t.Errorf("header route matched: %q", why)
	}
	if why := undecidedRoute(sim(plain, headerRoute), result("stable")); why != "" {
		t.Errorf("a plain route before any header route is decided: %q", why)
	}
	if why := undecidedRoute(sim(headerRoute, plain), simulation.Result{}); why != "" {
		t.Errorf("no route matched: %q", why)
	}
}
