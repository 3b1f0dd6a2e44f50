package main

//go:noescape
func clientRequest(args *[6]uintptr) uintptr

// callgrindZeroStats is CALLGRIND_ZERO_STATS (callgrind.h): the counts so
// far are dropped, so the total covers only what runs afterwards. Outside
// valgrind it does nothing.
func callgrindZeroStats() {
	const zeroStats = 'C'<<24 | 'T'<<16 + 1 // VG_USERREQ_TOOL_BASE('C','T') + 1
	clientRequest(&[6]uintptr{zeroStats})
}

// runningOnValgrind is RUNNING_ON_VALGRIND (valgrind.h): the number of
// valgrinds the program runs under, 0 natively.
func runningOnValgrind() bool {
	const running = 0x1001 // VG_USERREQ__RUNNING_ON_VALGRIND
	return clientRequest(&[6]uintptr{running}) > 0
}

// zeroes: the child can drop its warm-up from the count.
const zeroes = true
