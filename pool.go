package semhttp

import (
	"errors"
	"hash/maphash"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// pool.go owns semhttp's own transport: the size of its connection pool,
// and its renewal, which keeps what net/http remembers of origins it
// could not keep a connection to from growing without bound. A transport
// the caller gives (WithTransport, WithHTTPClient) is used as it is.

// The pool of semhttp's own transport (see defaultTransport).
const (
	minIdleInAll   = 256  // net/http's 100 is too few for a client of many origins
	maxIdleInAll   = 4096 // each holds a file descriptor and ~20 KiB (more with TLS)
	minIdlePerHost = 64   // 64 parallel callers of one host reuse connections

	renewAfterLost = 4096 // origins lost before the transport is renewed: ~630 B each
)

// defaultTransport is the transport of New: a clone of
// http.DefaultTransport with a pool sized for many origins and many
// callers, and a cap on response headers.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = idleInAll()
	// A quarter of the pool for one host: requests that run together (the
	// polls of many jobs, say) find the connections the last burst left,
	// and one host cannot push every other origin's out.
	t.MaxIdleConnsPerHost = max(minIdlePerHost, t.MaxIdleConns/4)
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

// errNilWrapped is the configuration error of a WithTransportWrapper
// whose function returned nil.
var errNilWrapped = errors.New("semhttp: WithTransportWrapper's function returned a nil RoundTripper")

// ownTransport is semhttp's own transport: an *http.Transport under the
// caller's WithTransportWrapper, renewed after it has lost many origins.
//
// net/http's Transport keeps an entry, about 630 B, for every origin it
// dialed and then never pooled a connection of: one that refused to
// connect, or answered with Connection: close. Nothing removes those
// entries, CloseIdleConnections included, so a process that talks to
// ever-new hosts (webhooks, crawlers) would grow for as long as it runs.
// ownTransport counts the distinct origins whose request failed or whose
// connection was not kept, and at renewAfterLost of them moves new
// requests to a clone of the transport (wrapped again). The old one
// finishes what it has in flight — no connection is cut — and closes its
// connections as they fall idle (an HTTP/2 connection busy at the renewal
// closes after IdleConnTimeout, 90 s, idle); then nothing refers to it any
// more, and the collector frees it with its entries. The count costs
// nothing on a request that keeps its connection.
type ownTransport struct {
	wrap  func(http.RoundTripper) http.RoundTripper // WithTransportWrapper's, or nil
	limit int                                       // renewAfterLost (tests lower it)
	cur   atomic.Pointer[transportGen]              // where new requests go

	mu   sync.Mutex // guards lost
	seed maphash.Seed
	lost map[uint64]struct{} // the origins cur lost, hashed
}

// transportGen is one transport of an ownTransport.
type transportGen struct {
	t       *http.Transport
	rt      http.RoundTripper // t under the wrapper
	retired atomic.Bool       // renewed: no new request should come
}

// newOwnTransport returns t under wrap (nil: none). A wrap that returns
// nil is an error, and t is used unwrapped.
func newOwnTransport(t *http.Transport, wrap func(http.RoundTripper) http.RoundTripper) (*ownTransport, error) {
	o := &ownTransport{wrap: wrap, limit: renewAfterLost, seed: maphash.MakeSeed()}
	g, err := o.generation(t)
	o.cur.Store(g)
	return o, err
}

func (o *ownTransport) generation(t *http.Transport) (*transportGen, error) {
	g := &transportGen{t: t, rt: t}
	if o.wrap != nil {
		if g.rt = o.wrap(t); g.rt == nil {
			g.rt = t
			return g, errNilWrapped
		}
	}
	return g, nil
}

func (o *ownTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g := o.cur.Load()
	resp, err := g.rt.RoundTrip(req)
	switch {
	case g.retired.Load():
		// Renewed while this request was on its way. Asking g for a
		// connection undid the CloseIdleConnections of the renewal (so
		// that net/http pools connections again): say it once more, and
		// this request's connection is closed when it falls idle.
		g.t.CloseIdleConnections()
	case err != nil || resp == nil || resp.Close || req.Close:
		o.lose(g, req.URL)
	}
	return resp, err
}

// lose counts u's origin as one g could not keep a connection to, and
// renews the transport when g has lost too many.
func (o *ownTransport) lose(g *transportGen, u *url.URL) {
	h := maphash.Comparable(o.seed, [2]string{u.Scheme, u.Host})
	o.mu.Lock()
	if o.cur.Load() != g { // an old one: renewed already
		o.mu.Unlock()
		return
	}
	if o.lost == nil {
		o.lost = make(map[uint64]struct{})
	}
	o.lost[h] = struct{}{}
	if len(o.lost) < o.limit {
		o.mu.Unlock()
		return
	}
	o.lost = nil
	next, err := o.generation(g.t.Clone())
	if err != nil { // the wrapper failed this time: keep g
		o.mu.Unlock()
		return
	}
	g.retired.Store(true) // before the close, for the requests still coming (RoundTrip)
	o.cur.Store(next)
	o.mu.Unlock()
	g.t.CloseIdleConnections()
}

// CloseIdleConnections closes the idle connections of the current
// transport. Those of a renewed one are closed as they fall idle.
func (o *ownTransport) CloseIdleConnections() {
	o.cur.Load().t.CloseIdleConnections()
}
