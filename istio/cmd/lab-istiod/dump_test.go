package main

import (
	"encoding/json"
	"flag"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"istio.io/istio/pilot/pkg/model"
)

func TestStringListIsARepeatableFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var pods stringList
	fs.Var(&pods, "pod", "")
	if err := fs.Parse([]string{"--pod", "a/x", "--pod=b/y", "--pod", "c/z"}); err != nil {
		t.Fatal(err)
	}
	if want := (stringList{"a/x", "b/y", "c/z"}); !reflect.DeepEqual(pods, want) {
		t.Errorf("got %v, want %v", pods, want)
	}
	if got := pods.String(); got != "a/x,b/y,c/z" {
		t.Errorf("String() = %q", got)
	}
	var empty stringList
	if got := empty.String(); got != "" {
		t.Errorf("empty String() = %q", got)
	}
}

func testPod(ip, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "client", Namespace: "app",
			Labels:      map[string]string{"app": "client"},
			Annotations: map[string]string{"sidecar.istio.io/status": "{}"},
		},
		Spec:   corev1.PodSpec{ServiceAccountName: sa},
		Status: corev1.PodStatus{PodIP: ip},
	}
}

func TestSidecarProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
		wantSA  string
	}{
		{name: "service account given", pod: testPod("10.0.0.10", "client-sa"), wantSA: "client-sa"},
		{name: "no service account is default", pod: testPod("10.0.0.10", ""), wantSA: "default"},
		{name: "no pod IP", pod: testPod("", "client-sa"), wantErr: "pod app/client has no status.podIP"},
		{name: "pod IP not an IP", pod: testPod("not-an-ip", ""), wantErr: "no valid IP address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sidecarProxy(tc.pod)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The node ID pilot-agent sends: sidecar~IP~POD.NS~NS.svc.cluster.local.
			if p.Type != model.SidecarProxy || p.ID != "client.app" || p.DNSDomain != "app.svc.cluster.local" {
				t.Errorf("type %q id %q domain %q", p.Type, p.ID, p.DNSDomain)
			}
			if !slices.Equal(p.IPAddresses, []string{"10.0.0.10"}) {
				t.Errorf("IPAddresses = %v", p.IPAddresses)
			}
			m := p.Metadata
			if m.ServiceAccount != tc.wantSA || m.Namespace != "app" || m.WorkloadName != "client" ||
				m.ClusterID != "Kubernetes" || m.MeshID != "cluster.local" || m.InterceptionMode != model.InterceptionRedirect {
				t.Errorf("metadata: %+v", m)
			}
			if !slices.Equal(m.InstanceIPs, []string{"10.0.0.10"}) || m.Labels["app"] != "client" ||
				m.Annotations["sidecar.istio.io/status"] != "{}" {
				t.Errorf("metadata IPs/labels/annotations: %v %v %v", m.InstanceIPs, m.Labels, m.Annotations)
			}
		})
	}
}

func TestSetupPodProxy(t *testing.T) {
	fake := testFake(t)
	p, err := setupPodProxy(fake, "app/client")
	if err != nil {
		t.Fatal(err)
	}
	if p.ConfigNamespace != "app" || p.ID != "client.app" {
		t.Errorf("ConfigNamespace %q ID %q", p.ConfigNamespace, p.ID)
	}
	// Labels come from the registry's pod (SetWorkloadLabels), the sidecar scope from SetupProxy.
	if p.Labels["service.istio.io/canonical-name"] != "client" {
		t.Errorf("workload labels: %v", p.Labels)
	}
	if p.SidecarScope == nil {
		t.Error("no sidecar scope")
	}

	for ref, want := range map[string]string{
		"client":       `--pod "client": expected NAMESPACE/NAME`,
		"app/nope":     `--pod "app/nope": pods "nope" not found`,
		"other/client": `--pod "other/client": pods "client" not found`,
		"app/pending":  "pod app/pending has no status.podIP",
	} {
		if _, err := setupPodProxy(fake, ref); err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", ref, err, want)
		}
	}
}

// dumpPod prints Envoy's /config_dump layout: the four admin dump types in order, snake_case names.
func TestDumpPodLayout(t *testing.T) {
	raw, err := dumpPod(testFake(t), "app/client")
	if err != nil {
		t.Fatal(err)
	}
	var cd struct {
		Configs []map[string]json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range cd.Configs {
		var typ string
		_ = json.Unmarshal(c["@type"], &typ)
		types = append(types, typ)
	}
	want := []string{
		"type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
		"type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
		"type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
		"type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
	}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("config types %v, want %v", types, want)
	}
	for i, field := range []string{"dynamic_listeners", "dynamic_active_clusters", "dynamic_route_configs", "dynamic_endpoint_configs"} {
		if cd.Configs[i][field] == nil {
			t.Errorf("%s has no %s (snake_case, as Envoy prints it)", types[i], field)
		}
	}
	var listeners struct {
		DynamicListeners []struct {
			Name        string `json:"name"`
			ActiveState struct {
				Listener struct {
					Name string `json:"name"`
				} `json:"listener"`
			} `json:"active_state"`
		} `json:"dynamic_listeners"`
	}
	if err := json.Unmarshal(cd.Configs[0]["dynamic_listeners"], &listeners.DynamicListeners); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range listeners.DynamicListeners {
		if l.Name != l.ActiveState.Listener.Name {
			t.Errorf("listener entry %q holds listener %q", l.Name, l.ActiveState.Listener.Name)
		}
		names = append(names, l.Name)
	}
	sort.Strings(names)
	wantNames := []string{"0.0.0.0_443", "0.0.0.0_80", "192.0.2.50_5432", "virtualInbound", "virtualOutbound"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("listeners %v, want %v", names, wantNames)
	}

	if _, err := dumpPod(testFake(t), "app/nope"); err == nil {
		t.Error("dumpPod of a missing pod: no error")
	}
}
