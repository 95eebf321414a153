// Package concurrency benchmarks the generated service's worker pool and
// HTTP client against other libraries and the standard library. It is not
// part of the generated output.
//
// internal/workerpool and internal/httpclient hold symlinks to the
// template's sources, not copies, so what is measured is what is generated.
package concurrency

//go:generate sh link.sh
