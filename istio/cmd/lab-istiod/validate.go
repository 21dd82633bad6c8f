package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-multierror"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
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

// validate runs Istio's own validation (each schema's ValidateConfig, pkg/config/validation) over
// a stream of Istio objects and prints one finding per object as JSON. It exits 0 whatever it
// finds: the caller decides what an error means and names the file it came from.
func validate(args []string) error {
	fs := newFlags("validate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("expected one FILE, or - for stdin")
	}
	var r io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	findings, err := validateStream(r)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(findings)
}

// validateStream mirrors crd.ParseInputs (pilot/pkg/config/kube/crd/conversion.go), but keeps
// going after a bad object so that every problem is reported at once.
func validateStream(r io.Reader) ([]finding, error) {
	findings := []finding{}
	dec := kubeyaml.NewYAMLOrJSONDecoder(r, 512*1024)
	for {
		obj := crd.IstioKind{}
		err := dec.Decode(&obj)
		if err == io.EOF {
			return findings, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse YAML: %v", err)
		}
		if reflect.DeepEqual(obj, crd.IstioKind{}) {
			continue
		}
		f := finding{Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name, Errors: []string{}, Warnings: []string{}}
		gvk := obj.GroupVersionKind()
		s, ok := collections.PilotGatewayAPI().FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&gvk))
		if !ok {
			f.Errors = append(f.Errors, fmt.Sprintf("%s is not a kind Istio knows", gvk))
			findings = append(findings, f)
			continue
		}
		cfg, err := crd.ConvertObject(s, &obj, "")
		if err != nil {
			f.Errors = append(f.Errors, err.Error())
		} else {
			warnings, err := s.ValidateConfig(*cfg)
			f.Errors = append(f.Errors, flatten(err)...)
			f.Warnings = append(f.Warnings, flatten(warnings)...)
		}
		findings = append(findings, f)
	}
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
