package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
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
		{name: "a kind Istio does not know is an error, and the stream goes on", in: `
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: app}
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
			f("ConfigMap", "app", "cm", []string{"/v1, Kind=ConfigMap is not a kind Istio knows"}, nil),
			f("DestinationRule", "app", "dr", []string{"empty domain name not allowed"}, nil),
			f("ServiceEntry", "", "se", nil, nil),
		}},
		{name: "JSON input", in: `{"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"name":"j","namespace":"n"},"spec":{"hosts":["x.example.com"],"ports":[{"number":80,"name":"http","protocol":"HTTP"}],"resolution":"NONE"}}`,
			want: []finding{f("ServiceEntry", "n", "j", nil, nil)}},
		{name: "empty documents only", in: "---\n---\n", want: []finding{}},
		{name: "nothing", in: "", want: []finding{}},
		{name: "not YAML", in: "kind: [unclosed\n", wantErr: "cannot parse YAML: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validateStream(strings.NewReader(tc.in))
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
	got, err := validateStream(strings.NewReader("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: app}\n" +
		"spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if want := `[{"kind":"ServiceEntry","namespace":"app","name":"se","errors":[],"warnings":[]}]`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	none, _ := validateStream(strings.NewReader(""))
	if b, _ := json.Marshal(none); string(b) != "[]" {
		t.Errorf("no objects: %s", b)
	}
}
