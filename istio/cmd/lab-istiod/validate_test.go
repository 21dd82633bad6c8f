package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-multierror"

	crdschema "istio.io/istio/pkg/config/crd"
)

func TestFlatten(t *testing.T) {
	nested := multierror.Append(errors.New("a"), multierror.Append(errors.New("b"), errors.New("c\n")))
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"one error, trimmed", errors.New("  weight -1 < 0\n"), []string{"weight -1 < 0"}},
		{"multierror", multierror.Append(errors.New("x"), errors.New("y")), []string{"x", "y"}},
		{"nested multierror, in order", nested, []string{"a", "b", "c"}},
		{"wrapped multierror", fmt.Errorf("ctx: %w", multierror.Append(errors.New("x"), errors.New("y"))), []string{"x", "y"}},
		{"empty multierror", &multierror.Error{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := flatten(tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateStream(t *testing.T) {
	f := func(kind, ns, name string, errs, warns []string) finding {
		if errs == nil {
			errs = []string{}
		}
		if warns == nil {
			warns = []string{}
		}
		return finding{Kind: kind, Namespace: ns, Name: name, Errors: errs, Warnings: warns}
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    []finding
		wantErr string
	}{
		{name: "valid ServiceEntry (v1alpha3)", in: `
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: se, namespace: app}
spec:
  hosts: [a.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
`, want: []finding{f("ServiceEntry", "app", "se", nil, nil)}},
		{name: "every error of an object, one per problem", in: `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: []
  http:
  - route:
    - destination: {host: ""}
      weight: -1
`, want: []finding{f("VirtualService", "app", "vs", []string{"empty domain name not allowed", "weight -1 < 0"}, nil)}},
		{name: "warnings apart from errors", in: `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: sc, namespace: app}
spec:
  egress:
  - hosts: ["./a.example.com", "./a.example.com", "bad"]
`, want: []finding{f("Sidecar", "app", "sc", []string{"host must be of form namespace/dnsName"}, []string{"duplicated egress host: ./a.example.com"})}},
		{name: "a kind neither Istio nor Kubernetes knows is an error, and the stream goes on", in: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: app}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: app}
spec: {host: ""}
---
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se}
spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE}
`, want: []finding{
			f("Widget", "app", "w", []string{"example.com/v1, Kind=Widget is not a kind Istio or Kubernetes knows"}, nil),
			f("DestinationRule", "app", "dr", []string{"empty domain name not allowed"}, nil),
			f("ServiceEntry", "", "se", nil, nil),
		}},
		{name: "an unknown field in an Istio kind: the CRD schema refuses it (Istio's ValidateConfig alone does not)", in: `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: app}
spec:
  host: api.example.com
  trafficPolicy: {tls: {mode: SIMPLE}, bogusField: 1}
`, want: []finding{f("DestinationRule", "app", "dr", []string{"CRD schema: DestinationRule/dr/app: unknown fields [spec.trafficPolicy.bogusField]"}, nil)}},
		{name: "an enum value the CRD does not have", in: `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: app}
spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: SOMETIMES}
`, want: []finding{f("ServiceEntry", "app", "se", []string{
			`CRD schema: ServiceEntry/se/app: spec.resolution: Unsupported value: "SOMETIMES": supported values: "NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"`,
			`unknown value "\"SOMETIMES\"" for enum istio.networking.v1alpha3.ServiceEntry.Resolution`}, nil)}},
		{name: "Gateway API: a valid HTTPRoute, and one with an unknown field", in: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: app}
spec: {rules: [{backendRef: [{name: web, port: 80}]}]}
`, want: []finding{
			f("HTTPRoute", "app", "r", nil, nil),
			f("HTTPRoute", "app", "bad", []string{"CRD schema: HTTPRoute/bad/app: unknown fields [spec.rules[0].backendRef]"}, nil),
		}},
		{name: "Kubernetes kinds: decoded strictly", in: `
apiVersion: v1
kind: Service
metadata: {name: db, namespace: app}
spec: {type: ExternalName, externalName: db.example.com}
---
apiVersion: v1
kind: Service
metadata: {name: typo, namespace: app}
spec: {type: ClusterIP, port: [{port: 80}]}
`, want: []finding{
			f("Service", "app", "db", nil, nil),
			f("Service", "app", "typo", []string{`strict decoding error: unknown field "spec.port"`}, nil),
		}},
		{name: "a mesh config, as the harness passes one", in: `
apiVersion: egress-lab.io/v1
kind: MeshConfig
metadata: {name: mesh}
mesh: |
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  outboundTraficPolicy: {mode: ALLOW_ANY}
`, want: []finding{f("MeshConfig", "", "mesh", []string{`unknown field "outboundTraficPolicy" in istio.mesh.v1alpha1.MeshConfig`}, nil)}},
		{name: "JSON input", in: `{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"j","namespace":"n"},"spec":{"hosts":["x.example.com"],"ports":[{"number":80,"name":"http","protocol":"HTTP"}],"resolution":"NONE"}}`,
			want: []finding{f("ServiceEntry", "n", "j", nil, nil)}},
		{name: "empty documents only", in: "---\n---\n", want: []finding{}},
		{name: "nothing", in: "", want: []finding{}},
		{name: "not YAML", in: "kind: [unclosed\n", wantErr: "cannot parse YAML: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validateStream(strings.NewReader(tc.in), testSchemas(t))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The harness iterates errors and warnings: they are [] when empty, never null, and a file with
// no objects is [].
func TestFindingsJSON(t *testing.T) {
	got, err := validateStream(strings.NewReader("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: app}\n"+
		"spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE}\n"), testSchemas(t))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if want := `[{"kind":"ServiceEntry","namespace":"app","name":"se","errors":[],"warnings":[]}]`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	none, _ := validateStream(strings.NewReader(""), nil)
	if b, _ := json.Marshal(none); string(b) != "[]" {
		t.Errorf("no objects: %s", b)
	}
}

// testSchemas loads the CRDs from the pinned module, as setup copies them for the binary.
func testSchemas(t *testing.T) *crdschema.Validator {
	t.Helper()
	schemasOnce.Do(func() { schemas, schemasErr = crdschema.NewValidatorFromFiles(moduleCRDs(t)...) })
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas
}

var (
	schemasOnce sync.Once
	schemas     *crdschema.Validator
	schemasErr  error
)

// moduleCRDs are the CRD files of the pinned module that setup copies to parts/istio/crds.
func moduleCRDs(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "istio.io/istio").Output()
	if err != nil {
		t.Fatalf("go list -m istio.io/istio: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	return []string{
		filepath.Join(dir, "manifests/charts/base/files/crd-all.gen.yaml"),
		filepath.Join(dir, "tests/integration/pilot/testdata/gateway-api-crd.yaml"),
	}
}

// crdArgs passes the module's CRDs to a lab-istiod built outside parts/bin.
func crdArgs(t *testing.T) []string {
	var args []string
	for _, f := range moduleCRDs(t) {
		args = append(args, "--crds", f)
	}
	return args
}
