package semhttp

import (
	"net"
	"net/http"
	"time"
)

// pool.go owns semhttp's own transport and the size of its connection
// pool. A transport the caller gives (WithTransport, WithHTTPClient) is
// used as it is.

// The pool of semhttp's own transport (see defaultTransport).
const (
	idlePerHost  = 64   // parallel callers of one host reuse connections
	minIdleInAll = 256  // net/http's 100 is too few for a client of many origins
	maxIdleInAll = 4096 // each holds a file descriptor and ~20 KiB (more with TLS)
)

// defaultTransport is the transport of New: a clone of
// http.DefaultTransport with a pool sized for many origins and many
// callers, and a cap on response headers.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = idleInAll()
	t.MaxIdleConnsPerHost = idlePerHost
	t.MaxResponseHeaderBytes = 1 << 20 // a server that sends headers forever is cut off at 1 MiB
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// idleInAll is how many idle connections semhttp's transport keeps in
// all. A client that takes more origins in turn than that dials on every
// request (net/http drops the oldest idle connection to pool a new one),
// so it is large: a quarter of the process's limit on open files (which Go
// raises to the hard limit at start), so that idle connections never take
// the descriptors live ones need, between 256 and 4096. IdleConnTimeout
// (90 s) closes the connections of origins no longer used.
func idleInAll() int { return idleFor(openFileLimit()) }

// idleFor is idleInAll for a limit on open files (ok false: none).
func idleFor(openFiles uint64, ok bool) int {
	if !ok {
		return maxIdleInAll
	}
	return int(min(max(openFiles/4, minIdleInAll), maxIdleInAll))
}
