package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/mesh"
)

// inputs are one scenario's objects, as the harness wrote them.
type inputs struct {
	kubernetes string
	istio      string
	mesh       *meshconfig.MeshConfig
}

func readInputs(dir string) (*inputs, error) {
	if dir == "" {
		return nil, errors.New("--inputs DIR is required")
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		return string(b), err
	}
	kube, err := read("kubernetes.yaml")
	if err != nil {
		return nil, err
	}
	istio, err := read("istio.yaml")
	if err != nil {
		return nil, err
	}
	meshYAML, err := read("mesh.yaml")
	if err != nil {
		return nil, err
	}
	// The same merge istiod applies to the istio ConfigMap: code defaults, then the given fields.
	m, err := mesh.ApplyMeshConfigDefaults(meshYAML)
	if err != nil {
		return nil, fmt.Errorf("mesh.yaml: %v", err)
	}
	return &inputs{kubernetes: kube, istio: istio, mesh: m}, nil
}

// discoveryServer builds istiod's discovery server over the inputs; with a listener it serves ADS
// (SotW and delta, pilot/pkg/xds/discovery.go Register) on it, otherwise on an in-memory bufconn.
func discoveryServer(f *failer, in *inputs, lis net.Listener) *xds.FakeDiscoveryServer {
	opts := xds.FakeOptions{
		KubernetesObjectString: in.kubernetes,
		ConfigString:           in.istio,
		MeshConfig:             in.mesh,
	}
	if lis != nil {
		opts.ListenerBuilder = func() (net.Listener, error) { return lis, nil }
	}
	return xds.NewFakeDiscoveryServer(f, opts)
}

func serve(args []string) error {
	fs := newFlags("serve")
	dir := fs.String("inputs", "", "directory with kubernetes.yaml, istio.yaml, mesh.yaml")
	listen := fs.String("listen", "", "ADS address, e.g. 10.64.192.1:15010")
	debugListen := fs.String("debug-listen", "127.0.0.1:15014", "istiod's debug endpoints (/debug/config_dump, /debug/syncz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := readInputs(*dir)
	if err != nil {
		return err
	}
	// Listen before building the server, so a taken or foreign address fails at once and clearly.
	ads, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	debug, err := net.Listen("tcp", *debugListen)
	if err != nil {
		return err
	}
	f := newFailer()
	defer f.shutdown()
	fake := discoveryServer(f, in, ads)
	mux := http.NewServeMux()
	mux.Handle("/lab/simulate", simulateHandler(fake))
	mux.Handle("/", fake.DiscoveryDebug)
	go func() { _ = http.Serve(debug, mux) }()
	fmt.Printf("READY ads=%s debug=%s\n", ads.Addr(), debug.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	return nil
}

// failer lets a main() use Istio's test constructors (pkg/test/failer.go): Fatal ends the
// process (it must not return), Cleanup funcs run at shutdown, in reverse order.
type failer struct {
	mu       sync.Mutex
	cleanups []func()
}

func newFailer() *failer { return &failer{} }

func (f *failer) Fail()    { f.Fatal("failed") }
func (f *failer) FailNow() { f.Fatal("failed") }
func (f *failer) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"lab-istiod: fatal:"}, args...)...)
	os.Exit(1)
}

func (f *failer) Fatalf(format string, args ...any) {
	f.Fatal(fmt.Sprintf(format, args...))
}
func (f *failer) Log(args ...any)                 { fmt.Fprintln(os.Stderr, args...) }
func (f *failer) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (f *failer) Helper()                         {}
func (f *failer) Skip(args ...any)                { f.Fatal(append([]any{"skip:"}, args...)...) }

func (f *failer) TempDir() string {
	dir, err := os.MkdirTemp("", "lab-istiod-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (f *failer) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *failer) shutdown() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
