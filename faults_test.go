package semhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultServer runs handle for every connection on a raw 127.0.0.1
// listener, after reading the request head. It counts connections.
type faultServer struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newFaultServer(t *testing.T, handle func(conn net.Conn, req *http.Request)) *faultServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &faultServer{ln: ln}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); fs.wg.Wait() })
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			fs.conns.Add(1)
			fs.wg.Add(1)
			go func() {
				defer fs.wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				go func() { <-done; conn.Close() }()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				handle(conn, req)
			}()
		}
	}()
	return fs
}

func (fs *faultServer) URL() string { return "http://" + fs.ln.Addr().String() }

// reset closes conn with an RST instead of a FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestFaultResetMidBody(t *testing.T) {
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
		conn.Write(make([]byte, 5000))
		reset(conn)
	})
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	n, err := io.Copy(io.Discard, out.Response().Body)
	if err == nil || n >= 100000 {
		t.Fatalf("read %d bytes, err %v: a cut body must surface as an error", n, err)
	}
}

func TestFaultShortBody(t *testing.T) {
	for _, code := range []string{"200 OK", "500 Internal Server Error"} {
		fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
			io.WriteString(conn, "HTTP/1.1 "+code+"\r\nContent-Length: 100\r\n\r\nonly this")
		})
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := out.(*ServerError); ok {
			if string(se.Body()) != "only this" || !errors.Is(se.BodyErr(), io.ErrUnexpectedEOF) {
				t.Errorf("500: body %q, BodyErr %v", se.Body(), se.BodyErr())
			}
			continue
		}
		_, err = io.ReadAll(out.Response().Body)
		out.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("200: short body read gave %v, want io.ErrUnexpectedEOF", err)
		}
	}
}

// TestFaultCloseBeforeAnswer: the server reads the request and hangs up.
// An idempotent request is retried; the error names the attempts.
func TestFaultCloseBeforeAnswer(t *testing.T) {
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {})
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	_, err := c.Send(req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, io.EOF) {
		t.Fatalf("err = %#v", err)
	}
}

// TestFaultHangAfterHeaders: the per-attempt timeout ends a body that
// stops coming.
func TestFaultHangAfterHeaders(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		<-release
	})
	c := newTestClient(t, WithAttemptTimeout(100*time.Millisecond))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	start := time.Now()
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	_, err = io.ReadAll(out.Response().Body)
	if err == nil || !isTimeout(err) {
		t.Fatalf("read err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("timeout fired after %v", el)
	}
}

// TestFaultHangBeforeHeaders: the per-attempt timeout also bounds the wait
// for a status line, and a timed-out idempotent attempt is retried.
func TestFaultHangBeforeHeaders(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) { <-release })
	c := newTestClient(t, WithAttemptTimeout(50*time.Millisecond), WithRetryPolicy(fastRetry(2)))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	_, err := c.Send(req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 2 || !isTimeout(err) {
		t.Fatalf("err = %v", err)
	}
}

// TestFaultEndlessHeaders: a server that never stops sending headers is cut
// off at the transport's header limit.
func TestFaultEndlessHeaders(t *testing.T) {
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n")
		line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
		for i := 0; i < 20000; i++ { // ~20 MB if nobody stops it
			if _, err := io.WriteString(conn, line); err != nil {
				return
			}
		}
	})
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	if out, err := c.Send(req); err == nil {
		out.Close()
		t.Fatal("endless headers gave an outcome")
	}
}

func TestFaultGarbageStatusLines(t *testing.T) {
	for _, line := range []string{"HTTP/1.1 abc Nope", "HTTP/1.1 2OO OK", "HTTP/1.1 -99 X", "HTTP/1.1 20 X",
		"FOO/1.1 200 OK", "HTTP/1.1 1000 Big", "\x00\x01\x02"} {
		fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
			io.WriteString(conn, line+"\r\nContent-Length: 0\r\n\r\n")
		})
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
		out, err := c.Send(req)
		var re *RequestError
		if err == nil || !errors.As(err, &re) {
			t.Errorf("%q: got %v, %v; want a RequestError", line, out, err)
		}
	}
}

// TestFault50MiBErrorBody: the capture stays capped and the call returns
// without reading the rest.
func TestFault50MiBErrorBody(t *testing.T) {
	var sent atomic.Int64
	fs := newFaultServer(t, func(conn net.Conn, _ *http.Request) {
		io.WriteString(conn, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 52428800\r\n\r\n")
		chunk := make([]byte, 64<<10)
		for i := 0; i < 800; i++ {
			n, err := conn.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, fs.URL(), nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	se := out.(*ServerError)
	if len(se.Body()) != defaultMaxErrorBody || !se.BodyTruncated() {
		t.Fatalf("captured %d bytes", len(se.Body()))
	}
	if s := sent.Load(); s > 40<<20 {
		t.Errorf("server managed to send %d bytes before the client hung up", s)
	}
}

// TestFaultMonitor500Forever: a monitor that only ever answers 500 is
// retried inside each poll, polled again, and ended by the budget with a
// clear error — not a hang.
func TestFaultMonitor500Forever(t *testing.T) {
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/broken"),
		"/jobs/broken",
		answer(http.StatusInternalServerError, `{"error":"boom"}`),
	)
	a := js.start(newTestClient(t, WithRetryPolicy(fastRetry(2))))
	var transient int
	out, err := a.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxPolls: 3, Progress: func(p Progress) {
		if p.Err != nil {
			transient++
		}
	}})
	if out != nil || !errors.Is(err, ErrPollBudget) {
		t.Fatalf("got %v, %v; want ErrPollBudget", out, err)
	}
	if n := js.pollCount(); n != 6 || transient != 3 {
		t.Errorf("monitor hit %d times (want 3 polls × 2 attempts), %d transient progress reports", n, transient)
	}
}

// TestFaultMalformedHeaders sends every header the library parses, broken,
// over the wire: each outcome still arrives, with the damage reported where
// the kind carries it, and nothing panics.
func TestFaultMalformedHeaders(t *testing.T) {
	const junk = "Location: http://[::1\r\nRetry-After: 1.5\r\nContent-Range: bytes 9-5/3\r\n" +
		"Allow: GET, b@d, ,\r\nLink: <unterminated; rel=\"next\r\nWWW-Authenticate: ,,=\"\r\n" +
		"Deprecation: yesterday\r\nSunset: soon\r\nContent-Type: application/problem+json\r\n"
	tests := []struct {
		status string
		check  func(t *testing.T, o Outcome)
	}{
		{"201 Created", func(t *testing.T, o Outcome) {
			if cr := o.(*Created); cr.Location != nil || !errors.Is(cr.LocationErr, ErrBadLocation) || cr.LocationRaw != "http://[::1" {
				t.Errorf("Created: %+v", cr)
			}
		}},
		{"206 Partial Content", func(t *testing.T, o Outcome) {
			pc := o.(*PartialContent)
			if pc.ContentRangeErr == nil {
				t.Error("a self-contradicting Content-Range was accepted")
			}
			if _, err := io.ReadAll(pc.Response().Body); err == nil {
				t.Error("the body of a bad 206 was readable as a slice")
			}
		}},
		{"300 Multiple Choices", func(t *testing.T, o Outcome) {
			if mc := o.(*MultipleChoices); mc.Location != nil || len(mc.Alternatives) != 0 {
				t.Errorf("MultipleChoices: %+v", mc)
			}
		}},
		{"401 Unauthorized", func(t *testing.T, o Outcome) {
			for _, ch := range o.(*Unauthorized).Challenges {
				if ch.Scheme == "" {
					t.Errorf("challenge without a scheme: %+v", ch)
				}
			}
		}},
		{"405 Method Not Allowed", func(t *testing.T, o Outcome) {
			if a := o.(*MethodNotAllowed).Allow; len(a) != 1 || a[0] != "GET" {
				t.Errorf("Allow = %q", a)
			}
		}},
		{"416 Range Not Satisfiable", func(t *testing.T, o Outcome) {
			if n := o.(*RangeNotSatisfiable).CompleteLength; n != -1 {
				t.Errorf("CompleteLength = %d from a malformed Content-Range", n)
			}
		}},
		{"429 Too Many Requests", func(t *testing.T, o Outcome) {
			tm := o.(*TooManyRequests)
			if tm.RetryAfter != 0 || tm.Problem().Type != "about:blank" || tm.Problem().Detail != "" {
				t.Errorf("RetryAfter %v, problem %+v from junk", tm.RetryAfter, tm.Problem())
			}
		}},
	}
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithRedirectPolicy(FollowNone))
	for _, tt := range tests {
		u := rawServer(t, "HTTP/1.1 "+tt.status+"\r\n"+junk+"Content-Length: 5\r\nConnection: close\r\n\r\n{bad}")
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.status, err)
		}
		_ = out.APIStatus()
		tt.check(t, out)
		out.Close()
	}
}
