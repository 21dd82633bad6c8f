package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestMeshFinding(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		errors     []string // each must be contained in one error, in order
	}{
		{"Istio's defaults", "", nil},
		{"a mode Istio has", "outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}\n", nil},
		{"proxyMetadata in defaultConfig", "defaultConfig: {proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"true\"}}\n", nil},
		{"a mode Istio does not have", "outboundTrafficPolicy: {mode: SOMETIMES}\n", []string{"SOMETIMES"}},
		{"an unknown field", "outboundTraficPolicy: {mode: ALLOW_ANY}\n", []string{"outboundTraficPolicy"}},
		{"a value Istio's checks refuse", "connectTimeout: 0s\n", []string{"connect timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := meshFinding(tc.yaml)
			if f.Kind != "MeshConfig" || f.Name != "mesh" {
				t.Errorf("finding names %s %s", f.Kind, f.Name)
			}
			if len(f.Errors) != len(tc.errors) {
				t.Fatalf("errors %q, want %d containing %q", f.Errors, len(tc.errors), tc.errors)
			}
			for i, want := range tc.errors {
				if !strings.Contains(f.Errors[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, f.Errors[i], want)
				}
			}
		})
	}
}

// The flags list holds pilot's feature flags with their defaults, as this build registers them.
func TestFlagsCommand(t *testing.T) {
	r := runLabIstiod(t, "main", "", switchesEnv(), "flags")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`"name":"PILOT_ENABLE_IP_AUTOALLOCATE"`, `"name":"PILOT_ENABLE_METADATA_EXCHANGE"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("flags output lacks %s", want)
		}
	}
	if !reflect.DeepEqual(strings.Count(r.stdout, "\n"), 1) {
		t.Errorf("expected one JSON line, got %q", r.stdout[:min(len(r.stdout), 200)])
	}
}
