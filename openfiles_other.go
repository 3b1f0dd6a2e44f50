//go:build !unix

package semhttp

// openFileLimit reports no limit on open files where there is no
// RLIMIT_NOFILE.
func openFileLimit() (uint64, bool) { return 0, false }
