// Package testenvdefaults points Istio's test-environment variables at an existing directory
// before istio.io/istio/pkg/test/env initialises.
//
// lab-istiod validates with Istio's CRD validator (pkg/config/crd), which imports pkg/test/env;
// that package's variable initialisers log "unable to resolve TARGET_OUT" to stdout when its
// build-output directories do not exist, and stdout carries lab-istiod's JSON. Go initialises the
// ready package whose import path sorts first (the spec's package initialisation order), and this
// package needs only os, so importing it from main runs it before any istio.io package. Neither
// variable is used for anything else here: the CRDs are read from explicit files.
package testenvdefaults

import "os"

func init() {
	for _, name := range []string{"TARGET_OUT", "LOCAL_OUT"} {
		if os.Getenv(name) == "" {
			_ = os.Setenv(name, os.TempDir())
		}
	}
}
