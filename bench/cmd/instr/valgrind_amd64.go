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

// zeroes: the child can drop its warm-up from the count.
const zeroes = true
