//go:build !amd64

package main

// Elsewhere than amd64 the client requests are not wired: counts then
// include start-up and warm-up, which -measure removes by taking the
// difference of a run of -n requests and one of -n/10.
func callgrindZeroStats() {}

// zeroes: the child cannot drop its warm-up from the count, so -measure
// takes the difference of two runs instead.
const zeroes = false
