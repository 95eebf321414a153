//go:build !race

package workerpool

// manyPanics is the size of the panic flood test.
const manyPanics = 1_000_000
