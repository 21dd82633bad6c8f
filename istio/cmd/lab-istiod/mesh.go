package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	meshconfig "istio.io/api/mesh/v1alpha1"

	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/validation/agent"
	"istio.io/istio/pkg/env"
	"istio.io/istio/pkg/util/protomarshal"
)

// meshFinding checks a mesh config as istiod reads the istio ConfigMap: merged over Istio's
// defaults (pkg/config/mesh ApplyMeshConfigDefaults), then Istio's own checks of the result
// (pkg/config/validation/agent ValidateMeshConfig). istiod's merge ignores unknown fields, so a
// misspelt one would silently do nothing: a strict decode into MeshConfig refuses it first.
func meshFinding(yaml string) finding {
	f := finding{Kind: "MeshConfig", Name: "mesh", Errors: []string{}, Warnings: []string{}}
	if err := protomarshal.ApplyYAMLStrict(yaml, &meshconfig.MeshConfig{}); err != nil {
		f.Errors = append(f.Errors, strings.TrimSpace(err.Error()))
		return f
	}
	m, err := mesh.ApplyMeshConfigDefaults(yaml)
	if err != nil {
		f.Errors = append(f.Errors, strings.TrimSpace(err.Error()))
		return f
	}
	warnings, err := agent.ValidateMeshConfig(m)
	f.Errors = append(f.Errors, flatten(err)...)
	f.Warnings = append(f.Warnings, flatten(warnings)...)
	return f
}

// meshConfigGVK is how the harness passes a mesh config in a validate stream (no Kubernetes kind holds
// one alone: istiod reads it from the istio ConfigMap's data.mesh).
var meshConfigGVK = schema.GroupVersionKind{Group: "egress-lab.io", Version: "v1", Kind: "MeshConfig"}

func meshDocument(un *unstructured.Unstructured) finding {
	text, ok := un.Object["mesh"].(string)
	if !ok {
		return finding{Kind: "MeshConfig", Name: un.GetName(), Errors: []string{"expected the mesh config as YAML text in the field mesh"}, Warnings: []string{}}
	}
	f := meshFinding(text)
	f.Name = un.GetName()
	return f
}

// flagInfo is one of istiod's environment settings, as Istio registers it (pkg/env).
type flagInfo struct {
	Name        string `json:"name"`
	Default     string `json:"default"`
	Type        string `json:"type"`
	Description string `json:"description"`
	Deprecated  bool   `json:"deprecated,omitempty"`
	// FixedByLab says why the lab always sets it (upstreamEnvoySwitches): a scenario may not change it.
	FixedByLab string `json:"fixedByLab,omitempty"`
}

// printFlags lists every environment setting this build's packages register (pilot/pkg/features
// and the rest), so that the harness can refuse a misspelt flag and print which differ from default.
func printFlags(args []string) error {
	fs := newFlags("flags")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fixed := map[string]string{}
	for _, s := range upstreamEnvoySwitches {
		fixed[s.name] = fmt.Sprintf("always %s: %s", s.value, s.why)
	}
	out := []flagInfo{}
	for _, v := range env.VarDescriptions() {
		out = append(out, flagInfo{Name: v.Name, Default: v.DefaultValue, Type: v.GoType, Description: v.Description, Deprecated: v.Deprecated, FixedByLab: fixed[v.Name]})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
