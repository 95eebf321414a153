package flightrec

import "io"

// Supported reports whether this build has a flight recorder: Go 1.24 has none
// (runtime/trace.FlightRecorder arrived in Go 1.25). The service then runs with
// FLIGHT_RECORDER=off; slow requests are still logged and counted, and
// /debug/pprof/trace?seconds=5 records a trace on demand.
const Supported = false

// newRing returns a ring that cannot start.
func newRing(*Config) ring { return unsupportedRing{} }

type unsupportedRing struct{}

func (unsupportedRing) Start() error                     { return ErrUnsupported }
func (unsupportedRing) Stop()                            {}
func (unsupportedRing) WriteTo(io.Writer) (int64, error) { return 0, ErrUnsupported }
