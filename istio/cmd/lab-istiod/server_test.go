package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	meshconfig "istio.io/api/mesh/v1alpha1"
)

func writeInputs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadInputs(t *testing.T) {
	in, err := readInputs(testInputs)
	if err != nil {
		t.Fatal(err)
	}
	kube, _ := os.ReadFile(filepath.Join(testInputs, "kubernetes.yaml"))
	istio, _ := os.ReadFile(filepath.Join(testInputs, "istio.yaml"))
	if in.kubernetes != string(kube) || in.istio != string(istio) {
		t.Error("kubernetes.yaml and istio.yaml are not passed on as written")
	}
	// mesh.yaml's fields over Istio's defaults, as istiod reads its ConfigMap.
	m := in.mesh
	if got := m.GetOutboundTrafficPolicy().GetMode(); got != meshconfig.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY {
		t.Errorf("outboundTrafficPolicy %v (from mesh.yaml)", got)
	}
	if m.GetAccessLogFile() != "/dev/stdout" || m.GetDefaultProviders() == nil || len(m.GetDefaultProviders().GetMetrics()) != 0 {
		t.Errorf("accessLogFile %q defaultProviders %v (from mesh.yaml)", m.GetAccessLogFile(), m.GetDefaultProviders())
	}
	if m.GetProxyListenPort() != 15001 || m.GetRootNamespace() != "istio-system" || m.GetTrustDomain() != "cluster.local" {
		t.Errorf("defaults not applied: proxyListenPort %d rootNamespace %q trustDomain %q",
			m.GetProxyListenPort(), m.GetRootNamespace(), m.GetTrustDomain())
	}

	// An empty mesh.yaml is all defaults: ALLOW_ANY.
	dir := writeInputs(t, map[string]string{"kubernetes.yaml": "", "istio.yaml": "", "mesh.yaml": ""})
	in, err = readInputs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.mesh.GetOutboundTrafficPolicy().GetMode(); got != meshconfig.MeshConfig_OutboundTrafficPolicy_ALLOW_ANY {
		t.Errorf("default outboundTrafficPolicy %v", got)
	}
}

func TestReadInputsErrors(t *testing.T) {
	all := map[string]string{"kubernetes.yaml": "", "istio.yaml": "", "mesh.yaml": ""}
	without := func(name string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		dir   func(t *testing.T) string
		want  string // the error starts with this
		wantS string // and contains this
	}{
		{"no dir", func(*testing.T) string { return "" }, "--inputs DIR is required", ""},
		{"no kubernetes.yaml", func(t *testing.T) string { return writeInputs(t, without("kubernetes.yaml")) }, "open ", "kubernetes.yaml: no such file"},
		{"no istio.yaml", func(t *testing.T) string { return writeInputs(t, without("istio.yaml")) }, "open ", "istio.yaml: no such file"},
		{"no mesh.yaml", func(t *testing.T) string { return writeInputs(t, without("mesh.yaml")) }, "open ", "mesh.yaml: no such file"},
		{"bad mesh.yaml", func(t *testing.T) string {
			return writeInputs(t, map[string]string{"kubernetes.yaml": "", "istio.yaml": "", "mesh.yaml": "outboundTrafficPolicy: {mode: SOMETIMES}"})
		}, "mesh.yaml: ", "SOMETIMES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readInputs(tc.dir(t))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.wantS) {
				t.Errorf("err = %v, want %q ... %q", err, tc.want, tc.wantS)
			}
		})
	}
}

func TestFailerCleanupsRunInReverseAtShutdown(t *testing.T) {
	f := newFailer()
	var order []int
	for i := 1; i <= 3; i++ {
		f.Cleanup(func() { order = append(order, i) })
	}
	if len(order) != 0 {
		t.Fatalf("cleanups ran before shutdown: %v", order)
	}
	f.shutdown()
	if !reflect.DeepEqual(order, []int{3, 2, 1}) {
		t.Errorf("order %v, want [3 2 1]", order)
	}
	f.shutdown()
	if len(order) != 3 {
		t.Errorf("a second shutdown ran cleanups again: %v", order)
	}
	// A cleanup registered during shutdown (as a fake's Shutdown may do) is kept for the next one.
	f.Cleanup(func() { f.Cleanup(func() { order = append(order, 5) }); order = append(order, 4) })
	f.shutdown()
	f.shutdown()
	if !reflect.DeepEqual(order, []int{3, 2, 1, 4, 5}) {
		t.Errorf("order %v", order)
	}
}

func TestFailerTempDirIsRemovedAtShutdown(t *testing.T) {
	f := newFailer()
	dir := f.TempDir()
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("TempDir %q: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if other := f.TempDir(); other == dir {
		t.Error("two TempDir calls gave the same directory")
	}
	f.shutdown()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after shutdown: %v", dir, err)
	}
}
