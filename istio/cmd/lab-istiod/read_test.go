package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every object of the inputs comes back from the store istiod reads it from, with its fields.
func TestRead(t *testing.T) {
	r := runLabIstiod(t, "main", "", switchesEnv(), "read", "--inputs", testInputs)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []readBack
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	count := map[string]int{}
	for _, b := range got {
		if b.Error != "" {
			t.Errorf("%s %s/%s: %s", b.Kind, b.Namespace, b.Name, b.Error)
		}
		count[b.From+" "+b.Kind]++
	}
	for key, want := range map[string]int{
		"istio config store ServiceEntry": 2, "kubernetes client Pod": 3, "kubernetes client Service": 1,
		"kubernetes client EndpointSlice": 1, "kubernetes client Namespace": 1,
	} {
		if count[key] != want {
			t.Errorf("%s: %d read back, want %d (all: %v)", key, count[key], want, count)
		}
	}
	for _, b := range got {
		if b.Kind == "ServiceEntry" && !strings.Contains(string(b.Object), `"hosts"`) {
			t.Errorf("ServiceEntry %s read back without its hosts: %s", b.Name, b.Object)
		}
	}
}
