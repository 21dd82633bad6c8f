package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	admin "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/util/protoconv"
	"istio.io/istio/pilot/test/xds"
)

// dump prints, per pod, what istiod would send that pod's sidecar: listeners, clusters, routes
// and endpoints, in the layout of Envoy's /config_dump (dynamic resources only; the bootstrap's
// static ones are pilot-agent's, not istiod's), with Envoy's snake_case field names. Tests read it
// without starting Envoy.
func dump(args []string) error {
	fs := newFlags("dump")
	dir := fs.String("inputs", "", "directory with kubernetes.yaml, istio.yaml, mesh.yaml")
	var pods stringList
	fs.Var(&pods, "pod", "NAMESPACE/NAME of a pod in kubernetes.yaml (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("at least one --pod NAMESPACE/NAME is required")
	}
	in, err := readInputs(*dir)
	if err != nil {
		return err
	}
	f := newFailer()
	defer f.shutdown()
	fake := discoveryServer(f, in, nil)
	out := map[string]json.RawMessage{}
	for _, ref := range pods {
		d, err := dumpPod(fake, ref)
		if err != nil {
			return err
		}
		out[ref] = d
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func dumpPod(fake *xds.FakeDiscoveryServer, ref string) (json.RawMessage, error) {
	proxy, err := setupPodProxy(fake, ref)
	if err != nil {
		return nil, err
	}
	listeners := &admin.ListenersConfigDump{}
	for _, l := range fake.Listeners(proxy) {
		listeners.DynamicListeners = append(listeners.DynamicListeners, &admin.ListenersConfigDump_DynamicListener{
			Name:        l.Name,
			ActiveState: &admin.ListenersConfigDump_DynamicListenerState{Listener: protoconv.MessageToAny(l)},
		})
	}
	clusters := &admin.ClustersConfigDump{}
	for _, c := range fake.Clusters(proxy) {
		clusters.DynamicActiveClusters = append(clusters.DynamicActiveClusters, &admin.ClustersConfigDump_DynamicCluster{Cluster: protoconv.MessageToAny(c)})
	}
	routes := &admin.RoutesConfigDump{}
	for _, r := range fake.Routes(proxy) {
		routes.DynamicRouteConfigs = append(routes.DynamicRouteConfigs, &admin.RoutesConfigDump_DynamicRouteConfig{RouteConfig: protoconv.MessageToAny(r)})
	}
	endpoints := &admin.EndpointsConfigDump{}
	for _, e := range fake.Endpoints(proxy) {
		endpoints.DynamicEndpointConfigs = append(endpoints.DynamicEndpointConfigs, &admin.EndpointsConfigDump_DynamicEndpointConfig{EndpointConfig: protoconv.MessageToAny(e)})
	}
	cd := &admin.ConfigDump{Configs: []*anypb.Any{
		protoconv.MessageToAny(listeners),
		protoconv.MessageToAny(clusters),
		protoconv.MessageToAny(routes),
		protoconv.MessageToAny(endpoints),
	}}
	// snake_case field names, as Envoy's own /config_dump prints them.
	js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(cd)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(js), nil
}

// setupPodProxy is the proxy istiod would build for the pod's sidecar ("namespace/name") when it
// connects: the steps of pilot/pkg/xds/ads.go initProxyMetadata and computeProxyState (labels from
// the registry, then service targets and the sidecar scope).
func setupPodProxy(fake *xds.FakeDiscoveryServer, ref string) (*model.Proxy, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, fmt.Errorf("--pod %q: expected NAMESPACE/NAME", ref)
	}
	pod, err := fake.KubeClient().Kube().CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("--pod %q: %v", ref, err)
	}
	proxy, err := sidecarProxy(pod)
	if err != nil {
		return nil, err
	}
	proxy.ConfigNamespace = model.GetProxyConfigNamespace(proxy)
	proxy.SetWorkloadLabels(fake.Env())
	return fake.SetupProxy(proxy), nil
}

// sidecarProxy is the proxy pilot-agent announces for a pod: its node ID and the metadata the
// injector's environment gives it (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
func sidecarProxy(pod *corev1.Pod) (*model.Proxy, error) {
	ip := pod.Status.PodIP
	if ip == "" {
		return nil, fmt.Errorf("pod %s/%s has no status.podIP", pod.Namespace, pod.Name)
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	meta := &model.NodeMetadata{
		IstioVersion:     istioVersion(),
		Namespace:        pod.Namespace,
		Labels:           pod.Labels,
		Annotations:      pod.Annotations,
		InstanceIPs:      []string{ip},
		WorkloadName:     pod.Name,
		InterceptionMode: model.InterceptionRedirect,
		ServiceAccount:   sa,
		ClusterID:        "Kubernetes",
		MeshID:           "cluster.local",
	}
	nodeID := fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", ip, pod.Name, pod.Namespace, pod.Namespace)
	return model.ParseServiceNodeWithMetadata(nodeID, meta)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
