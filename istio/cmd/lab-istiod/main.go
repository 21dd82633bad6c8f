// lab-istiod is egress-lab's control plane: Istio's own config generation, not a model of it.
//
// It runs istiod's discovery server as Istio's tests build it (pilot/test/xds NewFakeDiscoveryServer):
// the Kubernetes objects and Istio configs of one scenario go into in-memory registries, and the
// real config generators (pilot/pkg/networking/core) turn them into listeners, clusters, routes
// and endpoints. There is no Kubernetes API server; everything else is istiod's code.
//
//	lab-istiod serve    --inputs DIR --listen ADDR:PORT --debug-listen ADDR:PORT
//	lab-istiod dump     --inputs DIR --pod NAMESPACE/NAME [--pod ...]
//	lab-istiod explain  --config-dump FILE < calls.json
//	lab-istiod validate [--crds FILE]... [--mesh FILE] FILE|-
//	lab-istiod flags
//	lab-istiod read     --inputs DIR
//	lab-istiod version
//
// DIR holds kubernetes.yaml (Namespaces, Pods, Services, EndpointSlices), istio.yaml (Istio
// configs) and mesh.yaml (MeshConfig), written by the harness from a scenario.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	// First, so that Istio's test-environment package finds its directories (see the package).
	_ "egress-lab/istio/internal/testenvdefaults"

	"istio.io/istio/pkg/log"
)

// upstreamEnvoySwitches are Istio's own feature flags that keep istio-proxy-only extensions out of
// the generated config, because the lab runs upstream Envoy, which has none of them (an unknown
// extension name makes Envoy reject the whole resource). Istio reads feature flags at package init
// (pilot/pkg/features), so they must be in the environment before the process starts.
var upstreamEnvoySwitches = []struct{ name, value, why string }{
	{"PILOT_ENABLE_METADATA_EXCHANGE", "false", "no istio.metadata_exchange filters (upstream Envoy lacks them; peer metadata and Istio's standard metrics labels are absent)"},
	{"PILOT_ENABLE_ALPN_FILTER", "false", "no istio.alpn filter (upstream Envoy lacks it; outbound HTTP does not advertise istio-http/1.1 ALPN to peers)"},
}

func main() {
	ensureSwitches()
	// istiod's log goes to stderr: stdout carries only what a mode prints (READY, JSON).
	logs := log.DefaultOptions()
	logs.OutputPaths = []string{"stderr"}
	if err := log.Configure(logs); err != nil {
		fmt.Fprintf(os.Stderr, "lab-istiod: %v\n", err)
	}
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(args)
	case "dump":
		err = dump(args)
	case "validate":
		err = validate(args)
	case "simulate":
		err = simulate(args)
	case "explain":
		err = explain(args)
	case "read":
		err = read(args)
	case "flags":
		err = printFlags(args)
	case "version":
		err = printVersion()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab-istiod %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: lab-istiod serve|dump|simulate|explain|validate|read|flags|version [flags]")
	os.Exit(2)
}

// ensureSwitches re-executes the program with its environment settled when the caller did not
// settle it: the scenario's istiod flags (the inputs directory's istiod-env.json, see scenarioEnv),
// then the upstream-Envoy switches over them, so that no way of starting it can produce config
// upstream Envoy rejects. Istio reads its flags at package init, hence the re-exec.
func ensureSwitches() {
	want, err := scenarioEnv(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab-istiod: %v\n", err)
		os.Exit(1)
	}
	for _, s := range upstreamEnvoySwitches {
		want[s.name] = s.value
	}
	missing := false
	for name, value := range want {
		if got, ok := os.LookupEnv(name); !ok || got != value {
			missing = true
			_ = os.Setenv(name, value)
		}
	}
	if !missing {
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab-istiod: cannot find own executable to set %s: %v\n", upstreamEnvoySwitches[0].name, err)
		os.Exit(1)
	}
	err = syscall.Exec(self, os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "lab-istiod: re-exec with Istio's upstream-Envoy switches failed: %v\n", err)
	os.Exit(1)
}

// istiodEnvFile holds the scenario's istiod flags (`istiod: {env: ...}`) in an inputs directory, as
// a JSON object of names to values, so that serve, dump and simulate over one directory all run
// with them, and a saved run directory reproduces them.
const istiodEnvFile = "istiod-env.json"

// scenarioEnv reads the flags of the --inputs directory among args, if it has any.
func scenarioEnv(args []string) (map[string]string, error) {
	env := map[string]string{}
	dir := ""
	for i, a := range args {
		switch {
		case (a == "--inputs" || a == "-inputs") && i+1 < len(args):
			dir = args[i+1]
		case strings.HasPrefix(a, "--inputs="):
			dir = strings.TrimPrefix(a, "--inputs=")
		}
	}
	if dir == "" {
		return env, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, istiodEnvFile))
	if errors.Is(err, os.ErrNotExist) {
		return env, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON object of names to values: %v", filepath.Join(dir, istiodEnvFile), err)
	}
	return env, nil
}
