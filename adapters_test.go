package semhttp

// Tests for what a Go user expects to plug semhttp into: an *http.Client
// for SDKs that take one, TLS settings, transport wrappers, a JSON body,
// per-call headers and the Link of an outcome.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTPClientRunsThePipeline uses HTTPClient the way go-github or
// oauth2 use an *http.Client: a 503 is retried, a redirect is followed
// once (by semhttp, not again by net/http), the second GET is revalidated
// on the wire and read as a 200, and an unfollowed 3xx comes back as is.
func TestHTTPClientRunsThePipeline(t *testing.T) {
	t.Parallel()
	var hits, finals, revalidated atomic.Int64
	var conns connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if hits.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			finals.Add(1)
			if r.Header.Get("If-None-Match") == `"f"` {
				revalidated.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"f"`)
			io.WriteString(w, "final")
		case "/moved":
			http.Redirect(w, r, "/final", http.StatusMovedPermanently)
		}
	}))
	conns.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)

	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	hc := c.HTTPClient()
	for i := range 2 {
		resp, err := hc.Get(srv.URL + "/flaky")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "final" {
			t.Fatalf("GET %d: %d %q", i, resp.StatusCode, b)
		}
	}
	if hits.Load() != 3 || finals.Load() != 2 || revalidated.Load() != 1 {
		t.Fatalf("server saw %d /flaky, %d /final (%d revalidated); want 3, 2, 1", hits.Load(), finals.Load(), revalidated.Load())
	}

	none := newTestClient(t, WithRedirectPolicy(FollowNone)).HTTPClient()
	resp, err := none.Get(srv.URL + "/moved")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("unfollowed redirect: %d; net/http must not follow what semhttp's policy refused", resp.StatusCode)
	}

	// Errors: net/http's *url.Error around the *RequestError.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err = newTestClient(t, WithRetryPolicy(fastRetry(2))).HTTPClient().Get("http://" + addr + "/")
	var ue *url.Error
	var re *RequestError
	if !errors.As(err, &ue) || !errors.As(err, &re) || re.Attempts != 2 {
		t.Fatalf("error %T %v; want a *url.Error wrapping a *RequestError", err, err)
	}

	// CloseIdleConnections through the *http.Client reaches semhttp's pool.
	if conns.open.Load() == 0 {
		t.Fatal("no idle connection to close")
	}
	hc.CloseIdleConnections()
	none.CloseIdleConnections()
	waitFor(t, func() bool { return conns.open.Load() == 0 })
}

// waitFor polls cond for up to 5 s (connections close asynchronously).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWithTLSConfig: a private CA and a client certificate through
// semhttp's own transport; combined with WithTransport it is an error.
func TestWithTLSConfig(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.TLS.PeerCertificates[0].Equal(srv.Certificate()) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.Organization[0])
	})
	// The server insists on a client certificate: httptest's own, which the
	// client presents.
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	plain := newTestClient(t)
	if _, err := plain.Send(get(t, srv.URL)); err == nil {
		t.Fatal("the default transport trusted a private CA")
	} else if re := (*RequestError)(nil); !errors.As(err, &re) || re.Attempts != 1 {
		t.Fatalf("a certificate error was retried: %v", err)
	}
	noCert := newTestClient(t, WithTLSConfig(&tls.Config{RootCAs: pool}))
	if _, err := noCert.Send(get(t, srv.URL)); err == nil {
		t.Fatal("no client certificate, no error")
	} else if re := (*RequestError)(nil); !errors.As(err, &re) || re.Attempts != 1 {
		t.Fatalf("the server's TLS alert was retried: %v", err)
	}
	c := newTestClient(t, WithTLSConfig(&tls.Config{RootCAs: pool, Certificates: srv.TLS.Certificates}))
	out, body := sendRead(t, c, get(t, srv.URL))
	if out.StatusCode() != 200 || body != "hello Acme Co" {
		t.Fatalf("%d %q", out.StatusCode(), body)
	}
	// The rest of the tuned transport is kept.
	tr := c.pool.(*ownTransport).cur.Load().t
	if tr.MaxIdleConnsPerHost < 64 || tr.MaxResponseHeaderBytes != 1<<20 || tr.TLSClientConfig.RootCAs != pool {
		t.Fatalf("transport lost its tuning: %d idle per host, %d header bytes", tr.MaxIdleConnsPerHost, tr.MaxResponseHeaderBytes)
	}

	bad := newTestClient(t, WithTLSConfig(&tls.Config{}), WithTransport(http.DefaultTransport))
	if _, err := bad.Send(get(t, srv.URL)); err == nil || !strings.Contains(err.Error(), "WithTLSConfig") {
		t.Fatalf("WithTLSConfig with WithTransport: %v", err)
	}
}

// wrapperWithoutClose is a transport wrapper that, like otelhttp's,
// has no CloseIdleConnections.
type wrapperWithoutClose struct {
	rt    http.RoundTripper
	calls *atomic.Int64
}

func (w wrapperWithoutClose) RoundTrip(r *http.Request) (*http.Response, error) {
	w.calls.Add(1)
	return w.rt.RoundTrip(r)
}

// unwrapper is a wrapper that says what it wraps.
type unwrapper struct{ wrapperWithoutClose }

func (u unwrapper) Unwrap() http.RoundTripper { return u.rt }

func TestTransportWrapperKeepsIdleConnectionsReachable(t *testing.T) {
	t.Parallel()
	var conns connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	conns.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)

	var calls atomic.Int64
	c := newTestClient(t, WithTransportWrapper(func(base http.RoundTripper) http.RoundTripper {
		return wrapperWithoutClose{rt: base, calls: &calls}
	}))
	sendRead(t, c, get(t, srv.URL))
	if calls.Load() != 1 || conns.open.Load() != 1 {
		t.Fatalf("wrapper saw %d requests, %d connections open", calls.Load(), conns.open.Load())
	}
	c.CloseIdleConnections()
	waitFor(t, func() bool { return conns.open.Load() == 0 })

	// A transport given whole, whose wrapper has Unwrap.
	base := defaultTransport()
	t.Cleanup(base.CloseIdleConnections)
	c2 := newTestClient(t, WithTransport(unwrapper{wrapperWithoutClose{rt: base, calls: &calls}}))
	sendRead(t, c2, get(t, srv.URL))
	waitFor(t, func() bool { return conns.open.Load() == 1 })
	c2.CloseIdleConnections()
	waitFor(t, func() bool { return conns.open.Load() == 0 })

	if _, err := newTestClient(t, WithTransportWrapper(func(http.RoundTripper) http.RoundTripper { return nil })).Send(get(t, srv.URL)); err == nil {
		t.Fatal("a wrapper returning nil: no error")
	}
}

// TestNewJSONRequest: the body is JSON with its Content-Type, and it is
// replayed byte for byte on a retry and through a 307.
func TestNewJSONRequest(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	var bodies []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Header.Get("Content-Type")+" "+string(b))
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	}))
	req, err := NewJSONRequest(context.Background(), http.MethodPost, srv.URL, map[string]any{"name": "ada", "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := newTestClient(t, WithRetryPolicy(fastRetry(3))).Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	want := `application/json {"n":1,"name":"ada"}`
	if _, ok := out.(*Created); !ok || len(bodies) != 3 || bodies[0] != want || bodies[1] != want || bodies[2] != want {
		t.Fatalf("%T after %q", out, bodies)
	}
	if _, err := NewJSONRequest(context.Background(), http.MethodPost, srv.URL, func() {}); err == nil {
		t.Fatal("a value JSON cannot encode: no error")
	}
}

// TestRequestOptionsHeader: per-call headers replace the request's own
// values and the client's defaults, inner options add to outer ones, and
// none of them goes to a server-chosen origin.
func TestRequestOptionsHeader(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	other := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store("other " + r.Header.Get("X-Tenant") + "|" + r.Header.Get("X-Trace"))
		io.WriteString(w, `{"status":"succeeded"}`)
	}))
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("X-Tenant") + "|" + r.Header.Get("X-Trace") + "|" + r.Header.Get("X-Default"))
		if r.URL.Path == "/job" {
			w.Header().Set("Operation-Location", other.URL+"/status")
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	c := newTestClient(t, WithHeader("X-Default", "d"), WithHeader("X-Tenant", "client"))
	ctx := WithRequestOptions(context.Background(), RequestOptions{Header: http.Header{"x-tenant": {"outer"}, "X-Trace": {"t1"}}})
	ctx = WithRequestOptions(ctx, RequestOptions{Header: http.Header{"X-Tenant": {"inner"}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("X-Tenant", "request")
	sendRead(t, c, req)
	if got := seen.Load(); got != "inner|t1|d" {
		t.Fatalf("server saw %q; want the inner call's tenant, the outer call's trace, the client's default", got)
	}
	if req.Header.Get("X-Tenant") != "request" {
		t.Fatal("the caller's request was modified")
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/job", nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := out.(*Accepted).Wait(ctx, fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	// The client's defaults that are not credentials (User-Agent, an API
	// version, this tenant) go everywhere; the call's headers do not.
	if got := seen.Load(); got != "other client|" {
		t.Fatalf("the monitor on another origin saw %q; want none of the call's headers", got)
	}
}

// TestRequestOptionsIdempotencyKey: a key the call sets is the key sent,
// not replaced by WithIdempotencyKeys' random one.
func TestRequestOptionsIdempotencyKey(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Idempotency-Key"))
	}))
	c := newTestClient(t, WithIdempotencyKeys())
	ctx := WithRequestOptions(context.Background(), RequestOptions{Header: http.Header{"Idempotency-Key": {`"mine"`}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	sendRead(t, c, req)
	if got := seen.Load(); got != `"mine"` {
		t.Fatalf("server saw Idempotency-Key %v, want the call's", got)
	}
}

func TestOutcomeLink(t *testing.T) {
	t.Parallel()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Link": {
		`</items?page=3>; rel="next", <https://api.test/items?page=9>; rel="last"`, `<../up>; rel=UP`,
	}}, Body: http.NoBody, Request: httptest.NewRequest(http.MethodGet, "https://api.test/v1/items?page=2", nil)}
	out, err := Classify(resp)
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"next": "https://api.test/items?page=3", "LAST": "https://api.test/items?page=9", "up": "https://api.test/up",
	} {
		if got := out.Link(rel); got == nil || got.String() != want {
			t.Errorf("Link(%q) = %v, want %s", rel, got, want)
		}
	}
	if out.Link("prev") != nil || (&OK{}).Link("next") != nil {
		t.Error("a missing relation gave a link")
	}
}
