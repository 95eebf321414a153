//go:build race

package workerpool

// manyPanics is the size of the panic flood test. The race detector slows
// each recovered panic (stack capture included) about tenfold.
const manyPanics = 100_000
