package semhttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// Costs of the connection pool that stay flat as the work grows (issue
// 21): the origins a client round-robins over, the origins that refused
// it or closed their connections, and the pollers of many jobs on one
// host.

// serveOrigins serves h on n listeners of 127.0.0.1, an origin each, and
// counts the connections they accept. All of them close when the test
// ends.
func serveOrigins(t testing.TB, n int, h http.Handler) ([]string, *connCounter) {
	t.Helper()
	var cc connCounter
	srv := &http.Server{Handler: h, ConnState: cc.observe}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	urls := make([]string, n)
	for i := range urls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { srv.Serve(l) })
		urls[i] = "http://" + l.Addr().String() + "/"
	}
	return urls, &cc
}

// roundRobin GETs each URL in turn, rounds times, reading every body.
func roundRobin(t testing.TB, c *Client, urls []string, rounds int) {
	t.Helper()
	for range rounds {
		for _, u := range urls {
			out, err := c.Send(get(t, u))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, out.Response().Body)
			out.Close()
		}
	}
}

// A client that round-robins over many origins keeps a connection to
// each: no new connection per request, from 1 origin to 1,000. (Before:
// MaxIdleConns 256 in all, so at 257 origins every request dialed.)
func TestPoolKeepsConnectionsToManyOrigins(t *testing.T) {
	t.Parallel()
	all, cc := serveOrigins(t, 1000, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	var curve []string
	for _, n := range []int{1, 256, 257, 1000} {
		c := New()
		urls := all[:n]
		roundRobin(t, c, urls, 1) // one connection each
		before := cc.opened.Load()
		const rounds = 2
		roundRobin(t, c, urls, rounds)
		perReq := float64(cc.opened.Load()-before) / float64(rounds*n)
		c.CloseIdleConnections()
		curve = append(curve, strconv.Itoa(n)+": "+strconv.FormatFloat(perReq, 'f', 2, 64))
		if perReq != 0 {
			t.Errorf("%d origins: %.2f new connections per request, want 0", n, perReq)
		}
	}
	t.Logf("new connections per request, by origins: %s", strings.Join(curve, ", "))
}

// The pool in all: a quarter of the limit on open files, from 256 to 4096;
// a quarter of that per host, at least 64.
func TestIdleConnsInAll(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		limit uint64
		ok    bool
		want  int
	}{
		{256, true, 256}, {1024, true, 256}, {4096, true, 1024}, {10240, true, 2560},
		{1 << 20, true, 4096}, {^uint64(0), true, 4096}, {0, false, 4096},
	} {
		if got := idleFor(c.limit, c.ok); got != c.want {
			t.Errorf("open files %d (%v): %d idle connections in all, want %d", c.limit, c.ok, got, c.want)
		}
	}
	tr := defaultTransport()
	if n, h := tr.MaxIdleConns, tr.MaxIdleConnsPerHost; n < 256 || n > 4096 || h != max(64, n/4) {
		t.Errorf("MaxIdleConns %d, MaxIdleConnsPerHost %d", n, h)
	}
}

// refusedPorts returns n ports of 127.0.0.1 that refuse connections: each
// was listened on, then closed.
func refusedPorts(t testing.TB, n int) []int {
	t.Helper()
	ls := make([]net.Listener, 0, n)
	ports := make([]int, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Origins that refused a connection, or closed the connections they
// answered on, leave behind no more than 4,096 of them do (renewAfterLost),
// whatever their number: semhttp renews its transport, and the old one is
// freed. (Before: net/http's Transport kept about 630 B for each in its
// per-host maps, for good: 8,000 held 4.9 MiB.) Not parallel: it measures
// the heap.
func TestGoneOriginsHoldBoundedHeap(t *testing.T) {
	const dead, closing = 8000, 2000
	ports := refusedPorts(t, dead+100)
	closers, _ := serveOrigins(t, closing, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	send := func(urls []string) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 4 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(urls); i = int(next.Add(1)) - 1 {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[i], nil)
					if out, err := c.Send(req); err == nil {
						io.Copy(io.Discard, out.Response().Body)
						out.Close()
					}
					cancel()
				}
			})
		}
		wg.Wait()
	}
	refused := make([]string, len(ports))
	for i, p := range ports {
		refused[i] = "http://127.0.0.1:" + strconv.Itoa(p) + "/"
	}
	send(refused[:100]) // the client's own lazy state
	refused = refused[100:]
	// Two collections: the second empties the sync.Pools' victim caches.
	heap := func() int64 { runtime.GC(); return int64(liveHeap()) }
	base := heap()
	var curve []string
	const bound = renewAfterLost * 700
	check := func(what string, n int) {
		h := heap() - base
		curve = append(curve, what+" "+strconv.Itoa(n)+": "+strconv.FormatInt(h>>10, 10)+" KiB")
		if h > bound {
			t.Errorf("%s %d: %d KiB held, want at most %d KiB whatever the number of origins", what, n, h>>10, bound>>10)
		}
	}
	for i := 0; i < len(refused); i += 2000 {
		send(refused[i : i+2000])
		check("refused", i+2000)
	}
	send(closers)
	check("refused 8000 + Connection: close", len(closers))
	t.Logf("live heap held, by origins gone: %s", strings.Join(curve, ", "))
}

// ownOf returns the ownTransport of c, which must use semhttp's own.
func ownOf(t testing.TB, c *Client) *ownTransport {
	t.Helper()
	c.init()
	o, ok := c.pool.(*ownTransport)
	if !ok {
		t.Fatalf("the client's transport is a %T, not semhttp's own", c.pool)
	}
	return o
}

// refuseInvalid makes c's own transport refuse hosts under .invalid (RFC
// 6761) at once, as a closed port does, and dial the others without a
// proxy: distinct lost origins that no other test can be listening on.
// The renewed transports, its clones, do the same.
func refuseInvalid(t testing.TB, c *Client) *ownTransport {
	t.Helper()
	own := ownOf(t, c)
	tr := own.cur.Load().t
	dial := tr.DialContext
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); strings.HasSuffix(host, ".invalid") {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return dial(ctx, network, addr)
	}
	return own
}

// The renewal of semhttp's own transport: after limit origins lost, new
// requests go to a fresh transport, wrapped again by WithTransportWrapper;
// the old one's idle connections close at once, and its busy one when the
// request on it is done, which is not cut short. A transport given with
// WithTransport is never renewed.
func TestOwnTransportRenews(t *testing.T) {
	t.Parallel()
	var conns connCounter
	release := make(chan struct{})
	srv := newTrackedServer(t, &conns, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-release
		}
		io.WriteString(w, "ok")
	}))
	done := sync.OnceFunc(func() { close(release) })
	t.Cleanup(done) // before the server closes
	var wraps atomic.Int64
	var calls atomic.Int64
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithTransportWrapper(func(base http.RoundTripper) http.RoundTripper {
		if _, ok := base.(*http.Transport); !ok {
			t.Errorf("the wrapper got a %T, want semhttp's *http.Transport", base)
		}
		wraps.Add(1)
		return wrapperWithoutClose{rt: base, calls: &calls}
	}))
	own := refuseInvalid(t, c)
	own.limit = 3
	first := own.cur.Load()

	slow, err := c.Send(get(t, srv.URL+"/slow")) // a busy connection
	if err != nil {
		t.Fatal(err)
	}
	sendRead(t, c, get(t, srv.URL)) // an idle one
	if conns.open.Load() != 2 {
		t.Fatalf("%d connections open, want 2", conns.open.Load())
	}
	for i := range 3 {
		if _, err := c.Send(get(t, "http://h"+strconv.Itoa(i)+".invalid/")); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("a lost origin: %v", err)
		}
	}
	if own.cur.Load() == first || !first.retired.Load() || wraps.Load() != 2 {
		t.Fatalf("not renewed after 3 origins lost (wrapper called %d times)", wraps.Load())
	}
	waitFor(t, func() bool { return conns.open.Load() == 1 }) // the idle one closed
	done()
	if b, err := io.ReadAll(slow.Response().Body); err != nil || string(b) != "ok" {
		t.Fatalf("the request in flight: %q, %v", b, err)
	}
	slow.Close()
	waitFor(t, func() bool { return conns.open.Load() == 0 }) // closed once idle

	opened := conns.opened.Load()
	sendRead(t, c, get(t, srv.URL))
	sendRead(t, c, get(t, srv.URL))
	if n := conns.opened.Load() - opened; n != 1 || calls.Load() != 7 {
		t.Fatalf("the new transport opened %d connections for 2 requests (want 1); the wrappers saw %d requests (want 7)", n, calls.Load())
	}
	c.CloseIdleConnections()
	waitFor(t, func() bool { return conns.open.Load() == 0 })

	given := newTestClient(t, WithTransport(defaultTransport()))
	given.init()
	if _, ok := given.pool.(*http.Transport); !ok {
		t.Fatalf("a transport given with WithTransport is a %T in the client", given.pool)
	}
}

// Renewals under concurrent requests, for the race detector: requests
// to a live origin all succeed while lost origins renew the transport
// again and again, and no connection is left open.
func TestOwnTransportRenewsUnderLoad(t *testing.T) {
	t.Parallel()
	var conns connCounter
	srv := newTrackedServer(t, &conns, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	own := refuseInvalid(t, c)
	own.limit = 5
	first := own.cur.Load()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if i%4 == 3 {
					if _, err := c.Send(get(t, "http://h"+strconv.Itoa(g*40+i)+".invalid/")); err == nil {
						t.Error("a lost origin answered")
					}
					continue
				}
				out, err := c.Send(get(t, srv.URL))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, out.Response().Body)
				out.Close()
			}
		})
	}
	wg.Wait()
	if own.cur.Load() == first {
		t.Fatal("never renewed")
	}
	c.CloseIdleConnections()
	waitFor(t, func() bool { return conns.open.Load() == 0 })
}

// pipeNet is an in-memory network for a synctest bubble: Dial hands one
// end of a net.Pipe to Accept, and counts.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	dials atomic.Int64
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (n *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	n.dials.Add(1)
	c, s := net.Pipe()
	select {
	case n.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, net.ErrClosed
	}
}

// Pollers of many jobs on one host that all got the same Retry-After do
// not poll in lockstep: each waits its Retry-After plus a random part of
// up to as long again (at most 1 s), so their polls reuse a few
// connections instead of each dialing its own, and none comes early.
// semhttp's transport on an in-memory network, on synctest's clock: 2,000
// jobs submitted at once, each answered "Retry-After: 1" twice, then 200.
// (Before: all polled at the same instant, 0.33 new connections per poll.)
func TestPollersShareConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const jobs, running = 2000, 3
		var mu sync.Mutex
		answered := map[string]time.Time{} // each job's last answer
		polled := map[string]int{}
		var early, late int
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			job := r.URL.Query().Get("id")
			if r.Method == http.MethodPost {
				answered[job] = time.Now()
				w.Header().Set("Location", "/jobs?id="+job)
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			switch waited := time.Since(answered[job]); {
			case waited < time.Second:
				early++
			case waited > 2*time.Second:
				late++
			}
			answered[job] = time.Now()
			if polled[job]++; polled[job] < running {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			io.WriteString(w, "done")
		})
		pn := newPipeNet()
		srv := &http.Server{Handler: h}
		go srv.Serve(pn)
		defer srv.Close()
		tr := defaultTransport()
		tr.DialContext = pn.DialContext
		defer tr.CloseIdleConnections()
		c := New(WithTransport(tr))

		accepted := make([]*Accepted, jobs)
		var wg sync.WaitGroup
		for i := range accepted {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs?id="+strconv.Itoa(i), nil)
				out, err := c.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				accepted[i] = out.(*Accepted)
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		before := pn.dials.Load()
		for _, a := range accepted {
			wg.Go(func() {
				res, err := a.Wait(context.Background(), nil)
				if err != nil {
					t.Error(err)
					return
				}
				res.Close()
			})
		}
		wg.Wait()
		polls := jobs * running
		perPoll := float64(pn.dials.Load()-before) / float64(polls)
		t.Logf("%d jobs, %d polls: %.3f new connections per poll", jobs, polls, perPoll)
		if perPoll > 0.01 {
			t.Errorf("%.3f new connections per poll, want at most 0.01", perPoll)
		}
		if early > 0 || late > 0 {
			t.Errorf("of %d polls, %d came before the Retry-After of 1s, %d after 2s", polls, early, late)
		}
	})
}
