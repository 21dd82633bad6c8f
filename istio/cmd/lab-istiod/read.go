package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
)

// readBack is one input object as istiod holds it after reading the inputs: an Istio config from
// its config store, or a Kubernetes or Gateway API object from its Kubernetes client.
type readBack struct {
	From      string          `json:"from"`
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace,omitempty"`
	Name      string          `json:"name"`
	Object    json.RawMessage `json:"object,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// read prints, for every object of an inputs directory, what istiod's stores hold for it, so that
// a test can compare what lab-istiod reads with what the scenario gave (in meaning: the stores
// hold the objects as Istio's and Kubernetes' types, with their defaults).
func read(args []string) error {
	fs := newFlags("read")
	dir := fs.String("inputs", "", "directory with kubernetes.yaml, istio.yaml, mesh.yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := readInputs(*dir)
	if err != nil {
		return err
	}
	f := newFailer()
	defer f.shutdown()
	fake := discoveryServer(f, in, nil)
	out := []readBack{}
	for _, src := range []struct{ text, from string }{{in.istio, "istio config store"}, {in.kubernetes, "kubernetes client"}} {
		objects, err := unstructuredObjects(src.text)
		if err != nil {
			return err
		}
		for _, un := range objects {
			r := readBack{From: src.from, Kind: un.GetKind(), Namespace: un.GetNamespace(), Name: un.GetName()}
			var obj any
			if src.from == "istio config store" {
				obj, err = fromConfigStore(fake, un)
			} else {
				obj, err = fromKubeClient(fake, un)
			}
			if err != nil {
				r.Error = err.Error()
			} else if r.Object, err = json.Marshal(obj); err != nil {
				r.Error = err.Error()
			}
			out = append(out, r)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func unstructuredObjects(text string) ([]*unstructured.Unstructured, error) {
	dec := kubeyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 512*1024)
	var out []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			return nil, err
		}
		if t := strings.TrimSpace(string(raw)); t == "null" || t == "" {
			continue
		}
		un := &unstructured.Unstructured{}
		if err := un.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		out = append(out, un)
	}
}

// fromConfigStore is the config istiod's store holds for an Istio object: its spec, as JSON.
func fromConfigStore(fake *xds.FakeDiscoveryServer, un *unstructured.Unstructured) (any, error) {
	gvk := un.GroupVersionKind()
	s, ok := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&gvk))
	if !ok {
		return nil, fmt.Errorf("%s is not a kind Istio knows", gvk)
	}
	cfg := fake.Env().ConfigStore.Get(s.GroupVersionKind(), un.GetName(), un.GetNamespace())
	if cfg == nil {
		return nil, fmt.Errorf("not in istiod's config store")
	}
	// Every field, zero values included: an enum's first value (a Sidecar's REGISTRY_ONLY) is its
	// zero value, which proto JSON would otherwise leave out.
	var b []byte
	var err error
	if m, ok := cfg.Spec.(proto.Message); ok {
		b, err = protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(m)
	} else {
		b, err = config.ToJSON(cfg.Spec)
	}
	if err != nil {
		return nil, err
	}
	return map[string]json.RawMessage{"spec": b}, nil
}

// fromKubeClient is the object istiod's Kubernetes client holds, for the kinds the lab gives it.
func fromKubeClient(fake *xds.FakeDiscoveryServer, un *unstructured.Unstructured) (any, error) {
	ctx, ns, name, get := context.Background(), un.GetNamespace(), un.GetName(), metav1.GetOptions{}
	c := fake.KubeClient()
	core, gw := c.Kube().CoreV1(), c.GatewayAPI().GatewayV1()
	switch un.GetKind() {
	case "Namespace":
		return core.Namespaces().Get(ctx, name, get)
	case "Service":
		return core.Services(ns).Get(ctx, name, get)
	case "Endpoints":
		return core.Endpoints(ns).Get(ctx, name, get) //nolint:staticcheck // istiod's own mirroring reads Endpoints too
	case "EndpointSlice":
		return c.Kube().DiscoveryV1().EndpointSlices(ns).Get(ctx, name, get)
	case "ServiceAccount":
		return core.ServiceAccounts(ns).Get(ctx, name, get)
	case "Secret":
		return core.Secrets(ns).Get(ctx, name, get)
	case "Pod":
		return core.Pods(ns).Get(ctx, name, get)
	case "HTTPRoute":
		return gw.HTTPRoutes(ns).Get(ctx, name, get)
	case "GRPCRoute":
		return gw.GRPCRoutes(ns).Get(ctx, name, get)
	case "Gateway":
		return gw.Gateways(ns).Get(ctx, name, get)
	case "GatewayClass":
		return gw.GatewayClasses().Get(ctx, name, get)
	}
	return nil, fmt.Errorf("lab-istiod read has no client for %s", un.GroupVersionKind())
}
