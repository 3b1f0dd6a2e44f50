//go:build !amd64

package main

// Elsewhere than amd64 the client requests are not wired: counts then
// include start-up and warm-up, which the -n1/-n2 difference removes.
func callgrindZeroStats() {}

func runningOnValgrind() bool { return false }

// zeroes: the child cannot drop its warm-up from the count, so -measure
// takes the difference of two runs instead.
const zeroes = false
