package semhttp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fastRetry is a policy with millisecond waits so tests never sleep long.
// fastRetry retries within milliseconds, without the Client-wide retry
// budget (the tests of retry mechanics make far more retries than
// successes; the budget has tests of its own).
func fastRetry(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, BudgetRatio: -1}
}

// TestRetryMatrix checks the retry decision for every method × status row
// of the policy.
func TestRetryMatrix(t *testing.T) {
	var hits sync.Map // path → *atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		io.Copy(io.Discard, r.Body)
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
	}))
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))

	type method struct {
		name string
		key  bool // carries an Idempotency-Key
	}
	methods := []method{{"GET", false}, {"HEAD", false}, {"OPTIONS", false}, {"TRACE", false},
		{"PUT", false}, {"DELETE", false}, {"POST", false}, {"PATCH", false}, {"POST", true}, {"PATCH", true}}
	always := []int{408, 425, 429, 503}
	idempotentOnly := []int{500, 502, 504, 507, 599, 600, 999}
	never := []int{501, 505, 400, 404, 409, 418}

	for _, m := range methods {
		idem := m.key || m.name != "POST" && m.name != "PATCH"
		check := func(code int, wantRetry bool) {
			name := fmt.Sprintf("%s-key=%v-%d", m.name, m.key, code)
			t.Run(name, func(t *testing.T) {
				path := "/" + name
				req, _ := http.NewRequest(m.name, srv.URL+path+"?code="+strconv.Itoa(code), strings.NewReader("body"))
				if m.key {
					req.Header.Set("Idempotency-Key", `"k-1"`)
				}
				out, err := c.Send(req)
				if err != nil {
					t.Fatal(err)
				}
				out.Close()
				want := int64(1)
				if wantRetry {
					want = 3
				}
				n, _ := hits.Load(path)
				if got := n.(*atomic.Int64).Load(); got != want {
					t.Errorf("server saw %d requests, want %d", got, want)
				}
				if out.Info().Attempts != int(want) {
					t.Errorf("Info().Attempts = %d, want %d", out.Info().Attempts, want)
				}
			})
		}
		for _, code := range always {
			check(code, true)
		}
		for _, code := range idempotentOnly {
			check(code, idem)
		}
		for _, code := range never {
			check(code, false)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 0 ", 0, true},
		{"Sun, 22 Nov 2026 08:00:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Sunday, 22-Nov-26 08:01:00 GMT", time.Minute, true},     // RFC 850
		{"Sun Nov 22 08:00:05 2026", 5 * time.Second, true},       // asctime
		{"Sun, 06 Nov 1994 08:49:37 GMT", 0, true},                // past: clamped
		{"999999999", 999999999 * time.Second, true},
		{"99999999999", time.Duration(1<<63 - 1), true},                // go-retryablehttp wraps this
		{"99999999999999999999999999", time.Duration(1<<63 - 1), true}, // clamped, no overflow
		{"+120", 0, false},
		{"1.5", 0, false},
		{"-5", 0, false},
		{"120s", 0, false},
		{"", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "+1", "-1", "1.5", "99999999999999999999", ""} {
		f.Add(s)
	}
	now := time.Unix(1e9, 0)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 {
			t.Fatalf("negative wait %v for %q", d, s)
		}
		if !ok && d != 0 {
			t.Fatalf("invalid %q gave %v", s, d)
		}
	})
}

// retryAfterServer answers with the given headers and status until it has
// been hit fail times, then 200.
func retryAfterServer(t *testing.T, code, fail int, h http.Header) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= int64(fail) {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(code)
			return
		}
		io.WriteString(w, "ok")
	}))
	return srv, &hits
}

// TestRetryAfterIsTheWait checks that each accepted Retry-After form
// becomes the wait: OnRetry sees it, then cancels so no test sleeps.
func TestRetryAfterIsTheWait(t *testing.T) {
	date := time.Now().Add(40 * time.Second).UTC()
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
		tol  time.Duration
	}{
		{"delta-seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second, 0},
		{"imf-fixdate", http.Header{"Retry-After": {date.Format(http.TimeFormat)}}, 40 * time.Second, 2 * time.Second},
		{"rfc850", http.Header{"Retry-After": {date.Format("Monday, 02-Jan-06 15:04:05 GMT")}}, 40 * time.Second, 2 * time.Second},
		{"asctime", http.Header{"Retry-After": {date.Format(time.ANSIC)}}, 40 * time.Second, 2 * time.Second},
		{"retry-after-ms", http.Header{"Retry-After-Ms": {"2500"}, "Retry-After": {"9"}}, 2500 * time.Millisecond, 0},
		{"x-ms-retry-after-ms", http.Header{"X-Ms-Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := retryAfterServer(t, http.StatusTooManyRequests, 1, tt.h)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seen time.Duration
			c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, OnRetry: func(e RetryEvent) {
				seen = e.Wait
				cancel()
			}}))
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
			start := time.Now()
			_, err := c.Send(req)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if d := seen - tt.want; d > tt.tol || d < -tt.tol {
				t.Errorf("wait = %v, want %v", seen, tt.want)
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("cancel during the wait took %v to return", el)
			}
		})
	}
}

func TestRetryAfterPastDateAndInvalidForms(t *testing.T) {
	for _, v := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "+120", "1.5", "-5", "120s"} {
		t.Run(v, func(t *testing.T) {
			srv, hits := retryAfterServer(t, http.StatusServiceUnavailable, 2, http.Header{"Retry-After": {v}})
			c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			start := time.Now()
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
			if _, ok := out.(*OK); !ok || hits.Load() != 3 {
				t.Fatalf("got %T after %d hits", out, hits.Load())
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("took %v: the value was not ignored or clamped", el)
			}
		})
	}
}

// TestRetryAfterAboveCapReturnsAtOnce: a server asking for hours gets its
// outcome back immediately, including go-retryablehttp's overflow case.
func TestRetryAfterAboveCapReturnsAtOnce(t *testing.T) {
	for _, v := range []string{"120", "99999999999", "Fri, 01 Jan 2037 00:00:00 GMT"} {
		srv, hits := retryAfterServer(t, http.StatusTooManyRequests, 5, http.Header{"Retry-After": {v}})
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 5, MaxRetryAfter: time.Second}))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		start := time.Now()
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		tm, ok := out.(*TooManyRequests)
		if !ok || hits.Load() != 1 || tm.RetryAfter < 100*time.Second {
			t.Fatalf("%s: got %T RetryAfter=%v after %d hits", v, out, tm.RetryAfter, hits.Load())
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%s: took %v", v, el)
		}
	}
}

// TestRetryDoesNotOutliveDeadline: a wait that cannot end before the
// context deadline is not started; the outcome comes back at once.
func TestRetryDoesNotOutliveDeadline(t *testing.T) {
	srv, hits := retryAfterServer(t, http.StatusServiceUnavailable, 5, http.Header{"Retry-After": {"30"}})
	c := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*ServiceUnavailable); !ok || hits.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("got %T after %d hits in %v", out, hits.Load(), time.Since(start))
	}
}

func TestRetryAttemptsAndWaitedOnOutcome(t *testing.T) {
	srv, _ := retryAfterServer(t, http.StatusServiceUnavailable, 2, http.Header{"Retry-After-Ms": {"5"}})
	c := newTestClient(t, WithRetryPolicy(fastRetry(4)))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	info := out.Info()
	if info.Attempts != 3 || info.Waited != 10*time.Millisecond {
		t.Errorf("Info = %+v, want 3 attempts, 10ms waited", info)
	}
}

// rewindCounter counts rewinds and closes of a seekable body.
type rewindCounter struct {
	*os.File
	seeks, closes, readAts atomic.Int64
}

func (f *rewindCounter) ReadAt(p []byte, off int64) (int, error) {
	f.readAts.Add(1)
	return f.File.ReadAt(p, off)
}

func (f *rewindCounter) Seek(off int64, whence int) (int64, error) {
	f.seeks.Add(1)
	return f.File.Seek(off, whence)
}

func (f *rewindCounter) Close() error { f.closes.Add(1); return f.File.Close() }

func writeTempFile(t *testing.T, size int) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "body.bin")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(data)
}

// TestRetryStreamsFileBody: a 10 MiB *os.File PUT retried twice arrives
// intact every time, rewound by seeking, and is closed once at the end.
func TestRetryStreamsFileBody(t *testing.T) {
	path, want := writeTempFile(t, 10<<20)
	var mu sync.Mutex
	var sums [][32]byte
	var lengths []int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		mu.Lock()
		var s [32]byte
		copy(s[:], h.Sum(nil))
		sums = append(sums, s)
		lengths = append(lengths, r.ContentLength)
		n := len(sums)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, wrap := range []bool{false, true} {
		mu.Lock()
		sums, lengths = nil, nil
		mu.Unlock()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var body io.ReadCloser = f
		cf := &rewindCounter{File: f}
		if wrap {
			body = cf
		}
		c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
		req, _ := http.NewRequest(http.MethodPut, srv.URL, body)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if _, ok := out.(*NoContent); !ok {
			t.Fatalf("got %T", out)
		}
		mu.Lock()
		if len(sums) != 3 {
			t.Fatalf("server saw %d bodies", len(sums))
		}
		for i, s := range sums {
			if s != want {
				t.Errorf("attempt %d: body hash differs", i+1)
			}
			if !wrap && lengths[i] != 10<<20 {
				t.Errorf("attempt %d: Content-Length %d, want the file size", i+1, lengths[i])
			}
		}
		mu.Unlock()
		if wrap {
			// One Seek to find the start; retries read at offsets (so a
			// late writer of an earlier attempt cannot move them).
			if s, c, ra := cf.seeks.Load(), cf.closes.Load(), cf.readAts.Load(); s != 1 || c != 1 || ra == 0 {
				t.Errorf("seeks=%d closes=%d readAts=%d, want 1, 1 and some", s, c, ra)
			}
		} else if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
			t.Errorf("file not closed after the call: %v", err)
		}
	}
}

func TestRetryUsesGetBody(t *testing.T) {
	srv, hits := retryAfterServer(t, http.StatusServiceUnavailable, 2, nil)
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("payload"))
	var calls atomic.Int64
	orig := req.GetBody
	req.GetBody = func() (io.ReadCloser, error) { calls.Add(1); return orig() }
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if hits.Load() != 3 || calls.Load() != 2 {
		t.Errorf("hits=%d GetBody calls=%d, want 3 and 2", hits.Load(), calls.Load())
	}
}

// TestRetryPlainReaderSentOnce: a body that cannot be replayed is never
// sent twice, even for a request the policy would retry.
func TestRetryPlainReaderSentOnce(t *testing.T) {
	srv, hits := retryAfterServer(t, http.StatusServiceUnavailable, 5, nil)
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	body := io.MultiReader(strings.NewReader("once"))
	req, _ := http.NewRequest(http.MethodPut, srv.URL, body)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if _, ok := out.(*ServiceUnavailable); !ok || hits.Load() != 1 || out.Info().Attempts != 1 {
		t.Errorf("got %T after %d hits", out, hits.Load())
	}
}

func TestIdempotencyKeys(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		if n%3 != 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	// Without the option a POST is not retried on 500.
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*ServerError); !ok || len(keys) != 1 || keys[0] != "" {
		t.Fatalf("plain POST: %T, keys %q", out, keys)
	}
	mu.Lock()
	keys = nil
	mu.Unlock()
	c = newTestClient(t, WithRetryPolicy(fastRetry(3)), WithIdempotencyKeys())
	req, _ = http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	out, err = c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := out.(*Created); !ok || len(keys) != 3 {
		t.Fatalf("keyed POST: %T after %d tries", out, len(keys))
	}
	if keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("keys differ between attempts: %q", keys)
	}
	if k := strings.Trim(keys[0], `"`); len(keys[0]) != 28 || len(k) != 26 || strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Errorf("key %s is not a quoted sf-string of 26 random base32 characters", keys[0])
	}
	if req.Header.Get("Idempotency-Key") != "" {
		t.Error("the caller's request was modified")
	}
}

func TestRetryDeciderOverrideAndOnRetry(t *testing.T) {
	srv, hits := retryAfterServer(t, http.StatusNotFound, 2, nil)
	var events []RetryEvent
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{
		MaxAttempts: 3, InitialInterval: time.Millisecond,
		Decide: func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
			return resp != nil && resp.StatusCode == http.StatusNotFound || DefaultRetryDecider(ctx, req, resp, err)
		},
		OnRetry: func(e RetryEvent) { events = append(events, e) },
	}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if _, ok := out.(*OK); !ok || hits.Load() != 3 {
		t.Fatalf("got %T after %d hits", out, hits.Load())
	}
	if len(events) != 2 || events[0].Attempt != 1 || events[1].Attempt != 2 || events[0].Response.StatusCode != 404 {
		t.Errorf("events = %+v", events)
	}
}

// TestRetryTransportErrors: refused connections are retried for any
// method (nothing was sent); a connection dropped after the request was
// written is retried only for idempotent methods.
func TestRetryTransportErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		var tries int
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond,
			OnRetry: func(RetryEvent) { tries++ }}))
		req, _ := http.NewRequest(m, closed, strings.NewReader("x"))
		_, err := c.Send(req)
		var re *RequestError
		if !errors.As(err, &re) || re.Attempts != 3 || tries != 2 {
			t.Errorf("%s refused: attempts=%v retries=%d err=%v", m, re, tries, err)
		}
	}

	// A server that reads the request and hangs up without answering.
	hangup := newFaultServer(t, func(net.Conn, *http.Request) {})
	conns := &hangup.conns
	for _, tt := range []struct {
		method string
		want   int64
	}{{http.MethodGet, 3}, {http.MethodPut, 3}, {http.MethodPost, 1}, {http.MethodPatch, 1}} {
		conns.Store(0)
		c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
		req, _ := http.NewRequest(tt.method, hangup.URL(), strings.NewReader("x"))
		if _, err := c.Send(req); err == nil {
			t.Fatalf("%s: want an error", tt.method)
		}
		// net/http itself may retry a replayable request once on a fresh
		// connection; what matters is whether semhttp tried again.
		if got := conns.Load(); tt.want == 1 && got != 1 || tt.want == 3 && got < 3 {
			t.Errorf("%s: %d connections, want %d", tt.method, got, tt.want)
		}
	}
}

func TestRetryNeverOnTLSVerificationError(t *testing.T) {
	var cc connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cc.track(srv)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newTestClient(t, WithRetryPolicy(fastRetry(3))) // does not trust the test CA
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	_, err := c.Send(req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("%d TLS connections, want 1", n)
	}
}

// TestFailedRequestKeepsOtherConnections: go-retryablehttp calls
// CloseIdleConnections when it gives up; that must not flush the pool.
func TestFailedRequestKeepsOtherConnections(t *testing.T) {
	var cc connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()

	c := newTestClient(t, WithRetryPolicy(fastRetry(2)))
	get := func(u string) error {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		out, err := c.Send(req)
		if err == nil {
			io.Copy(io.Discard, out.Response().Body)
			out.Close()
		}
		return err
	}
	if err := get(srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := get(closed); err == nil {
		t.Fatal("want an error from the closed port")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, closed, nil)
	c.Send(req)
	if err := get(srv.URL); err != nil {
		t.Fatal(err)
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("opened %d connections: a failure flushed the idle pool", n)
	}
}

// strictBody fails reads after Close, like a pipe or a network stream.
type strictBody struct {
	r      io.Reader
	closed atomic.Bool
}

func (s *strictBody) Read(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, errors.New("read after close")
	}
	return s.r.Read(p)
}

func (s *strictBody) Close() error { s.closed.Store(true); return nil }

// TestRetryPlainBodyAfterRefusedDial: a non-replayable body that was never
// read (the dial was refused) is sent on the retry, whole, and closed once
// the call ends.
func TestRetryPlainBodyAfterRefusedDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var got atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond,
		OnRetry: func(RetryEvent) {
			l, err := net.Listen("tcp", addr) // the server comes up between attempts
			if err != nil {
				t.Skip("port was taken:", err)
			}
			srv.Listener = l
			srv.Start()
		}}))
	body := &strictBody{r: strings.NewReader("exactly once")}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr, body)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if _, ok := out.(*Created); !ok || got.Load() != "exactly once" || out.Info().Attempts != 2 {
		t.Fatalf("got %T, body %q, attempts %d", out, got.Load(), out.Info().Attempts)
	}
	if !body.closed.Load() {
		t.Error("the caller's body was not closed when the call ended")
	}
}

// TestRetryWithCookieJar: net/http adds the jar's cookies to the request it
// sends; retries must not pile them up.
func TestRetryWithCookieJar(t *testing.T) {
	var mu sync.Mutex
	var cookies []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		n := len(cookies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "s1"}})
	c := newTestClient(t, WithHTTPClient(&http.Client{Jar: jar}), WithRetryPolicy(fastRetry(3)))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(cookies) != 3 {
		t.Fatalf("%d requests", len(cookies))
	}
	for i, ck := range cookies {
		if ck != "session=s1" {
			t.Errorf("attempt %d sent Cookie %q", i+1, ck)
		}
	}
}

// TestFileBodyKeepsSendfile: the first attempt hands net/http an *os.File
// (a duplicate descriptor), which it sends with sendfile; a NopCloser would
// hide the file and fall back to a copy loop.
func TestFileBodyKeepsSendfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("descriptor duplication is implemented on Linux")
	}
	path, _ := writeTempFile(t, 1<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1/", f)
	r2, src := prepareBody(req)
	defer src.close()
	d, ok := r2.Body.(*os.File)
	if !ok || d == f || r2.ContentLength != 1<<20 {
		t.Fatalf("first attempt body %T (same file %v), length %d", r2.Body, d == f, r2.ContentLength)
	}
	d.Close() // as the transport would: the caller's file stays usable
	if _, err := f.Stat(); err != nil {
		t.Fatalf("caller's file closed with the duplicate: %v", err)
	}
}
