package semhttp

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
)

// newServer starts an httptest server on 127.0.0.1 and closes it (and its
// idle client connections) when the test ends.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newHTTPBin starts go-httpbin, the real peer, on 127.0.0.1.
func newHTTPBin(t testing.TB) *httptest.Server {
	t.Helper()
	return newServer(t, httpbin.New())
}

// newTestClient returns a Client whose idle connections are closed when the
// test ends, so goleak sees no transport goroutines.
func newTestClient(t testing.TB, opts ...Option) *Client {
	t.Helper()
	c := New(opts...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// connCounter counts the connections a server accepts and how many are open.
type connCounter struct {
	opened atomic.Int64
	open   atomic.Int64
}

// track installs the counter on an unstarted httptest server.
func (cc *connCounter) track(srv *httptest.Server) { srv.Config.ConnState = cc.observe }

// newTrackedServer starts an httptest server whose connections cc counts.
func newTrackedServer(t testing.TB, cc *connCounter, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// observe is an http.Server's ConnState.
func (cc *connCounter) observe(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		cc.opened.Add(1)
		cc.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		cc.open.Add(-1)
	}
}
