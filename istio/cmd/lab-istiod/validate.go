package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-multierror"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	crdschema "istio.io/istio/pkg/config/crd"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/version"
)

// finding is Istio's verdict on one object, as istiod's validating webhook would give it.
type finding struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Errors    []string `json:"errors"`
	Warnings  []string `json:"warnings"`
}

// validate checks a stream of objects as the API server and istiod's validating webhook would,
// and prints one finding per object as JSON. It exits 0 whatever it finds: the caller decides what
// an error means and names the file it came from.
//
//   - Istio and Gateway API kinds: the CRD's OpenAPI schema and CEL rules (pkg/config/crd, with the
//     CRDs of the same module: unknown fields, types, enums), then the kind's own ValidateConfig
//     (pkg/config/validation), which is what istiod's webhook runs;
//   - a mesh config, given as a document of the harness's own kind egress-lab.io/v1 MeshConfig
//     with the ConfigMap's mesh key as its `mesh` field: see meshFinding;
//   - Kubernetes built-in kinds: a strict decode into the Kubernetes types (unknown and duplicate
//     fields, wrong types), as `kubectl apply` with server-side field validation refuses them.
func validate(args []string) error {
	fs := newFlags("validate")
	var crdFiles stringList
	fs.Var(&crdFiles, "crds", "a CRD YAML file (repeatable); default: the CRDs setup copied next to this binary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("expected one FILE, or - for stdin")
	}
	if len(crdFiles) == 0 {
		crdFiles = defaultCRDFiles()
	}
	schemas, err := crdschema.NewValidatorFromFiles(crdFiles...)
	if err != nil {
		return fmt.Errorf("loading CRDs %v: %v", crdFiles, err)
	}
	var r io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	findings, err := validateStream(r, schemas)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(findings)
}

// crdDir is where scripts/setup-real-parts.sh copies the module's CRDs
// (manifests/charts/base/files/crd-all.gen.yaml, tests/integration/pilot/testdata/gateway-api-crd.yaml),
// relative to this binary in parts/bin.
func defaultCRDFiles() []string {
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	dir := filepath.Join(filepath.Dir(self), "..", "istio", "crds")
	return []string{filepath.Join(dir, "crd-all.gen.yaml"), filepath.Join(dir, "gateway-api-crd.yaml")}
}

// strictKube decodes Kubernetes built-in kinds as the API server's strict field validation does.
var strictKube = serializer.NewCodecFactory(kube.IstioScheme, serializer.EnableStrict).UniversalDeserializer()

// validateStream mirrors crd.ParseInputs (pilot/pkg/config/kube/crd/conversion.go), but keeps
// going after a bad object so that every problem is reported at once.
func validateStream(r io.Reader, schemas *crdschema.Validator) ([]finding, error) {
	findings := []finding{}
	dec := kubeyaml.NewYAMLOrJSONDecoder(r, 512*1024)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return findings, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse YAML: %v", err)
		}
		if t := strings.TrimSpace(string(raw)); t == "null" || t == "{}" || t == "" {
			continue
		}
		// Unstructured's own JSON decoding keeps integers as int64, which the CRDs' CEL rules need.
		un := &unstructured.Unstructured{}
		if err := un.UnmarshalJSON(raw); err != nil {
			findings = append(findings, finding{Errors: []string{err.Error()}, Warnings: []string{}})
			continue
		}
		findings = append(findings, validateObject(un, schemas))
	}
}

func validateObject(un *unstructured.Unstructured, schemas *crdschema.Validator) finding {
	f := finding{Kind: un.GetKind(), Namespace: un.GetNamespace(), Name: un.GetName(), Errors: []string{}, Warnings: []string{}}
	gvk := un.GroupVersionKind()
	if gvk == meshConfigGVK {
		return meshDocument(un)
	}
	s, istioKind := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&gvk))
	switch {
	case istioKind:
		f.Errors, f.Warnings = validateIstio(un, s, schemas)
	case kube.IstioScheme.Recognizes(gvk):
		f.Errors = validateKubernetes(un)
	default:
		f.Errors = []string{fmt.Sprintf("%s is not a kind Istio or Kubernetes knows", gvk)}
	}
	return f
}

// validateIstio runs the CRD schema (when the CRDs have this version) and then Istio's own checks.
func validateIstio(un *unstructured.Unstructured, s resource.Schema, schemas *crdschema.Validator) (errs, warns []string) {
	errs, warns = []string{}, []string{}
	if schemas != nil {
		if err := schemas.ValidateCustomResource(un); err != nil {
			errs = append(errs, "CRD schema: "+strings.TrimSpace(err.Error()))
		}
	}
	js, err := json.Marshal(un.Object)
	if err != nil {
		return append(errs, err.Error()), warns
	}
	obj := crd.IstioKind{}
	if err := json.Unmarshal(js, &obj); err != nil {
		return append(errs, err.Error()), warns
	}
	cfg, err := crd.ConvertObject(s, &obj, "")
	if err != nil {
		return append(errs, err.Error()), warns
	}
	warnings, err := s.ValidateConfig(*cfg)
	return append(errs, flatten(err)...), append(warns, flatten(warnings)...)
}

// validateKubernetes decodes a built-in kind strictly; the caller checks the rest of its schema.
func validateKubernetes(un *unstructured.Unstructured) []string {
	js, err := json.Marshal(un.Object)
	if err != nil {
		return []string{err.Error()}
	}
	if _, _, err := strictKube.Decode(js, nil, nil); err != nil {
		return []string{strings.TrimSpace(err.Error())}
	}
	return []string{}
}

// flatten turns Istio's multierror into one message per problem.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	var m *multierror.Error
	if errors.As(err, &m) {
		out := []string{}
		for _, e := range m.Errors {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{strings.TrimSpace(err.Error())}
}

// istioModule is the istio.io/istio version this binary was built from (a pseudo-version of master).
func istioModule() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "istio.io/istio" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// istioVersion is what this build reports to proxies, set at build time from the module's VERSION
// file (scripts/setup-real-parts.sh); "unknown" reads as the newest version to istiod.
func istioVersion() string {
	return version.Info.Version
}

func printVersion() error {
	notes := []string{}
	for _, s := range upstreamEnvoySwitches {
		notes = append(notes, fmt.Sprintf("%s=%s: %s", s.name, s.value, s.why))
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"istioModule":  istioModule(),
		"istioVersion": istioVersion(),
		"gitRevision":  version.Info.GitRevision,
		"switches":     notes,
	})
}

func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet(name, flag.ContinueOnError)
}
