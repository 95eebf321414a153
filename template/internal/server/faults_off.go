//go:build !faultinject

package server

import "net/http"

// addFaultRoutes adds nothing in a normal build. Binaries built with -tags faultinject get
// test-only routes that trigger failures on purpose (see faults_on.go); they can never be
// reached in the default build.
func addFaultRoutes(*http.ServeMux, *Deps) {}
