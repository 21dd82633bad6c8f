package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "istio.io/istio/pilot/pkg/features" // registers the feature flags upstreamEnvoySwitches names
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/env"
)

// The test binary doubles as lab-istiod: with helperEnv set, TestMain runs the program instead of
// the tests, with os.Args[1:] as its arguments (see runLabIstiod).
const helperEnv = "LAB_ISTIOD_TEST_AS"

// testInputs is a small scenario in the layout the harness writes (harness/istio/controlPlaneInputs.ts):
// pod app/client (sidecar, 10.0.0.10), Service app/backend (10.96.0.20:80 -> pod 10.0.0.20:8080),
// ServiceEntries api.example.com:443 (DNS) and db.example.com 192.0.2.50:5432 (STATIC), REGISTRY_ONLY.
const testInputs = "testdata/inputs"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "main":
		// As started: main() itself, including ensureSwitches' re-exec (which lands here again).
		main()
		os.Exit(0)
	case "dump-only":
		// The dump mode without main(), so without the switches: Istio's own defaults.
		if err := dump(os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	shared.Lock()
	if shared.failer != nil {
		shared.failer.shutdown()
	}
	shared.Unlock()
	os.Exit(code)
}

// shared is one discovery server over testInputs for the tests that need generated config; it is
// built on first use (about a second) and shut down by TestMain.
var shared struct {
	sync.Mutex
	failer *failer
	fake   *xds.FakeDiscoveryServer
}

func testFake(t *testing.T) *xds.FakeDiscoveryServer {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.fake == nil {
		in, err := readInputs(testInputs)
		if err != nil {
			t.Fatal(err)
		}
		shared.failer = newFailer()
		shared.fake = discoveryServer(shared.failer, in, nil)
	}
	return shared.fake
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runLabIstiod runs this test binary as lab-istiod (helper "main") or as its bare dump mode
// (helper "dump-only"), with env added to the test's environment minus the upstream-Envoy switches.
func runLabIstiod(t *testing.T, helper, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !isSwitch(kv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, helperEnv+"="+helper)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func isSwitch(kv string) bool {
	for _, s := range upstreamEnvoySwitches {
		if strings.HasPrefix(kv, s.name+"=") {
			return true
		}
	}
	return false
}

// switchesEnv is the environment ensureSwitches wants, so a run skips the re-exec.
func switchesEnv() []string {
	var out []string
	for _, s := range upstreamEnvoySwitches {
		out = append(out, s.name+"="+s.value)
	}
	return out
}

// Each switch must be a feature flag this Istio still registers, boolean, and not already at the
// value the lab needs: a renamed or dropped flag would silently stop keeping istio-proxy-only
// filters out, and upstream Envoy would reject the config.
func TestUpstreamEnvoySwitchesAreIstioFeatureFlags(t *testing.T) {
	registered := map[string]env.Var{}
	for _, v := range env.VarDescriptions() {
		registered[v.Name] = v
	}
	if len(upstreamEnvoySwitches) == 0 {
		t.Fatal("no switches")
	}
	for _, s := range upstreamEnvoySwitches {
		v, ok := registered[s.name]
		if !ok {
			t.Errorf("%s is not an environment variable Istio registers (renamed or removed upstream?)", s.name)
			continue
		}
		if v.Type != env.BOOL {
			t.Errorf("%s: Istio's type is %v, want BOOL", s.name, v.Type)
		}
		if _, err := strconv.ParseBool(s.value); err != nil {
			t.Errorf("%s=%q: not a boolean: %v", s.name, s.value, err)
		}
		if v.DefaultValue == s.value {
			t.Errorf("%s: Istio's default is already %q, the switch does nothing", s.name, v.DefaultValue)
		}
		if v.Deprecated {
			t.Errorf("%s is deprecated upstream", s.name)
		}
		if s.why == "" {
			t.Errorf("%s: no reason given", s.name)
		}
	}
}

// istio-proxy-only extensions that upstream Envoy rejects, as they appear in a dump.
var istioProxyOnly = []string{`"istio.alpn"`, `"istio.metadata_exchange"`, `type.googleapis.com/istio.`}

// main() started without the switches re-executes itself with them (ensureSwitches), so the
// config it prints has none of the istio-proxy-only filters; the same dump with Istio's defaults has them.
func TestMainReexecsWithUpstreamEnvoySwitches(t *testing.T) {
	args := []string{"dump", "--inputs", testInputs, "--pod", "app/client"}
	lab := runLabIstiod(t, "main", "", nil, args...)
	if lab.code != 0 {
		t.Fatalf("exit %d: %s", lab.code, lab.stderr)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lab.stdout), &out); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, lab.stdout)
	}
	if len(out) != 1 || out["app/client"] == nil {
		t.Fatalf("want one dump keyed app/client, got keys %v", keys(out))
	}
	if !strings.Contains(lab.stdout, `"envoy.filters.network.http_connection_manager"`) {
		t.Fatal("the dump has no HTTP connection manager: not a sidecar's config")
	}
	for _, name := range istioProxyOnly {
		if strings.Contains(lab.stdout, name) {
			t.Errorf("main() produced config with %s, which upstream Envoy rejects", name)
		}
	}

	defaults := runLabIstiod(t, "dump-only", "", []string{"PILOT_ENABLE_METADATA_EXCHANGE=true", "PILOT_ENABLE_ALPN_FILTER=true"}, args[1:]...)
	if defaults.code != 0 {
		t.Fatalf("exit %d: %s", defaults.code, defaults.stderr)
	}
	for _, name := range istioProxyOnly[:2] {
		if !strings.Contains(defaults.stdout, name) {
			t.Errorf("with Istio's defaults the dump should have %s (else this test proves nothing)", name)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The command line: modes, exit codes (2 usage, 1 error) and "lab-istiod MODE: error" on stderr.
func TestMainCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string // a line stderr must contain
		stdout string // stdout must contain
	}{
		{name: "no mode", args: nil, code: 2, stderr: "usage: lab-istiod serve|dump|simulate|explain|validate|read|flags|version [flags]"},
		{name: "unknown mode", args: []string{"bogus"}, code: 2, stderr: "usage: lab-istiod"},
		{name: "dump without pod", args: []string{"dump", "--inputs", testInputs}, code: 1,
			stderr: "lab-istiod dump: at least one --pod NAMESPACE/NAME is required"},
		{name: "dump without inputs", args: []string{"dump", "--pod", "app/client"}, code: 1,
			stderr: "lab-istiod dump: --inputs DIR is required"},
		{name: "dump unknown flag", args: []string{"dump", "--bogus"}, code: 1,
			stderr: "lab-istiod dump: flag provided but not defined: -bogus"},
		{name: "dump pod without namespace", args: []string{"dump", "--inputs", testInputs, "--pod", "client"}, code: 1,
			stderr: `lab-istiod dump: --pod "client": expected NAMESPACE/NAME`},
		{name: "serve without inputs (listens on nothing)", args: []string{"serve", "--listen", "127.0.0.1:0"}, code: 1,
			stderr: "lab-istiod serve: --inputs DIR is required"},
		{name: "simulate without pod", args: []string{"simulate", "--inputs", testInputs}, code: 1,
			stderr: "lab-istiod simulate: --pod NAMESPACE/NAME is required"},
		{name: "simulate stdin not an array", args: []string{"simulate", "--inputs", testInputs, "--pod", "app/client"}, stdin: `{"address":"1.2.3.4"}`, code: 1,
			stderr: "lab-istiod simulate: stdin: expected a JSON array of calls"},
		{name: "simulate", args: []string{"simulate", "--inputs", testInputs, "--pod", "app/client"},
			stdin:  `[{"address":"10.20.0.10","port":443,"protocol":"tcp","tls":true,"sni":"api.example.com"}]`,
			stdout: `[{"listener":"0.0.0.0_443","cluster":"outbound|443||api.example.com"}]` + "\n"},
		{name: "explain without dump", args: []string{"explain"}, code: 1,
			stderr: "lab-istiod explain: --config-dump FILE is required"},
		{name: "validate without file", args: []string{"validate"}, code: 1,
			stderr: "lab-istiod validate: expected one FILE, or - for stdin"},
		{name: "validate two files", args: []string{"validate", "a", "b"}, code: 1,
			stderr: "lab-istiod validate: expected one FILE, or - for stdin"},
		{name: "validate without the CRDs setup copies next to the binary", args: []string{"validate", "-"}, code: 1,
			stderr: "lab-istiod validate: loading CRDs"},
		{name: "validate missing file", args: append([]string{"validate"}, append(crdArgs(t), "testdata/nope.yaml")...), code: 1,
			stderr: "lab-istiod validate: open testdata/nope.yaml: no such file or directory"},
		{name: "validate a file", args: append([]string{"validate"}, append(crdArgs(t), testInputs+"/istio.yaml")...),
			stdout: `"name": "static-db"`},
		{name: "validate stdin, exit 0 on findings", args: append([]string{"validate"}, append(crdArgs(t), "-")...),
			stdin:  "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: app}\n",
			stdout: `"example.com/v1, Kind=Widget is not a kind Istio or Kubernetes knows"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runLabIstiod(t, "main", tc.stdin, switchesEnv(), tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tc.stdout, r.stdout)
			}
			if tc.code != 0 && r.stdout != "" {
				t.Errorf("a failing run printed to stdout (the harness parses it): %q", r.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := runLabIstiod(t, "main", "", switchesEnv(), "version")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var v struct {
		IstioModule  string   `json:"istioModule"`
		IstioVersion string   `json:"istioVersion"`
		GitRevision  *string  `json:"gitRevision"`
		Switches     []string `json:"switches"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if want := goModIstioVersion(t); v.IstioModule != want {
		t.Errorf("istioModule = %q, want go.mod's %q", v.IstioModule, want)
	}
	if v.IstioVersion == "" || v.GitRevision == nil {
		t.Errorf("istioVersion %q, gitRevision %v: want both present", v.IstioVersion, v.GitRevision)
	}
	var want []string
	for _, s := range upstreamEnvoySwitches {
		want = append(want, s.name+"="+s.value+": "+s.why)
	}
	if strings.Join(v.Switches, "\n") != strings.Join(want, "\n") {
		t.Errorf("switches:\n%s\nwant:\n%s", strings.Join(v.Switches, "\n"), strings.Join(want, "\n"))
	}
}

// goModIstioVersion is the istio.io/istio version go.mod requires.
func goModIstioVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "istio.io/istio" {
			return f[1]
		}
	}
	t.Fatal("go.mod does not require istio.io/istio")
	return ""
}

// The scenario's istiod flags come from the inputs directory, and the upstream-Envoy switches win over them.
func TestScenarioEnv(t *testing.T) {
	dir := t.TempDir()
	if got, err := scenarioEnv([]string{"dump", "--inputs", dir}); err != nil || len(got) != 0 {
		t.Fatalf("no file: %v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, istiodEnvFile), []byte(`{"PILOT_ENABLE_IP_AUTOALLOCATE":"false"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"serve", "--inputs", dir}, {"dump", "--inputs=" + dir, "--pod", "a/b"}} {
		got, err := scenarioEnv(args)
		if err != nil || got["PILOT_ENABLE_IP_AUTOALLOCATE"] != "false" || len(got) != 1 {
			t.Errorf("%v: got %v, %v", args, got, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, istiodEnvFile), []byte(`["x"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scenarioEnv([]string{"serve", "--inputs", dir}); err == nil || !strings.Contains(err.Error(), "expected a JSON object") {
		t.Errorf("a bad file: %v", err)
	}
}
