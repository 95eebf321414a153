package flightrec

import "runtime/trace"

// Supported reports whether this build has a flight recorder.
const Supported = true

// newRing returns the runtime's flight recorder (Go >= 1.25), sized by cfg.
func newRing(cfg *Config) ring {
	return trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: cfg.MinAge, MaxBytes: cfg.MaxBytes})
}
