package semhttp

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Costs of the connection pool that stay flat as the work grows (issue
// 21): the origins a client round-robins over.

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

// The pool in all: a quarter of the limit on open files, from 256 to 4096.
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
	if n := defaultTransport().MaxIdleConns; n < 256 || n > 4096 {
		t.Errorf("MaxIdleConns %d", n)
	}
}
