package semhttp

// Tests for the seams a new user touches in the first hour: each one
// failed on the code before it was written (issue "No traps").

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// ---- 1. A revalidated GET reads as its representation ----

// TestRevalidatedGETReadsAsItsRepresentation runs generic code — read the
// body whenever Err() is nil — twice against servers that revalidate: Go's
// http.ServeContent and go-httpbin's /etag. The second call is a
// *NotModified whose body is the representation.
func TestRevalidatedGETReadsAsItsRepresentation(t *testing.T) {
	t.Parallel()
	const doc = `{"name":"gopher"}`
	var served atomic.Int64
	var conns connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(doc))
	}))
	conns.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	bin := newHTTPBin(t)

	for _, target := range []struct{ name, url, want string }{
		{"ServeContent", srv.URL, doc},
		{"go-httpbin /etag", bin.URL + "/etag/abc", ""},
	} {
		t.Run(target.name, func(t *testing.T) {
			c := newTestClient(t)
			var bodies []string
			for i := range 3 {
				out, err := c.Send(get(t, target.url))
				if err != nil {
					t.Fatal(err)
				}
				if out.Err() != nil {
					t.Fatalf("call %d: %v", i, out.Err())
				}
				b, err := io.ReadAll(out.Response().Body)
				if err != nil {
					t.Fatal(err)
				}
				if err := out.Close(); err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, string(b))
				if i == 0 {
					continue
				}
				nm, ok := out.(*NotModified)
				if !ok {
					t.Fatalf("call %d: %T, want *NotModified", i, out)
				}
				if nm.StatusCode() != 304 || nm.Response().StatusCode != 200 || !nm.Info().FromCache ||
					nm.Response().Header.Get(CacheHeader) != "revalidated" {
					t.Fatalf("call %d: StatusCode() %d, Response().StatusCode %d, FromCache %v",
						i, nm.StatusCode(), nm.Response().StatusCode, nm.Info().FromCache)
				}
			}
			if bodies[0] == "" || bodies[1] != bodies[0] || bodies[2] != bodies[0] {
				t.Fatalf("bodies %q: the revalidated calls must read as the first", bodies)
			}
			if target.want != "" && bodies[0] != target.want {
				t.Fatalf("body %q", bodies[0])
			}
			// Decode works on it, and returns what the first call stored.
			type anyDoc = map[string]any
			v, err := Decode[anyDoc](c.Send(get(t, target.url)))
			if err != nil || len(v) == 0 {
				t.Fatalf("Decode of a *NotModified: %v, %v", v, err)
			}
		})
	}
	// Closing each outcome released the 304s' connections: one was enough.
	if n := conns.opened.Load(); n != 1 || served.Load() != 4 {
		t.Fatalf("%d connections for %d requests; want every 304 to give its connection back", n, served.Load())
	}
}

// ---- 2. Problem() is never nil ----

func TestProblemNeverNil(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/plain":
			http.Error(w, "name taken", http.StatusConflict) // text/plain, as most servers
		case "/empty":
			w.WriteHeader(http.StatusConflict)
		case "/bad-json":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"title":`)
		case "/999":
			w.WriteHeader(999)
		}
	}))
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	for _, path := range []string{"/plain", "/empty", "/bad-json"} {
		out, err := c.Send(get(t, srv.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		o, ok := out.(*Conflict)
		if !ok {
			t.Fatalf("%s: %T", path, out)
		}
		// The README's first example.
		p := o.Problem()
		if p.Detail != "" || p.Type != "about:blank" || p.Status != 409 || p.Title != "Conflict" {
			t.Errorf("%s: Problem() = %+v; want RFC 9457 §4.2.1's about:blank reading", path, p)
		}
	}
	out, err := c.Send(get(t, srv.URL+"/999"))
	if err != nil {
		t.Fatal(err)
	}
	if p := out.(*Nonstandard).Problem(); p.Status != 999 || p.Title != "status code 999" {
		t.Errorf("999: %+v; want the reason phrase the server sent as the title", p)
	}
	jf := &JobError{State: StateFailed}
	if p := jf.Problem(); p == nil || p.Title != "Job failed" {
		t.Errorf("JobError without a reported error: %+v", p)
	}
}

// ---- 3. Zero values and nil inputs never panic ----

func TestZeroClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"z"`)
		io.WriteString(w, "zero")
	}))
	var c Client
	t.Cleanup(c.CloseIdleConnections)
	for range 2 { // the second is revalidated: the zero Client has the default cache
		out, body := sendRead(t, &c, get(t, srv.URL))
		if body != "zero" {
			t.Fatalf("%T %q", out, body)
		}
	}
	resp, body := doRead(t, &c, get(t, srv.URL))
	if resp.StatusCode != 200 || body != "zero" {
		t.Fatalf("Do: %d %q", resp.StatusCode, body)
	}
	// Defaults, as New() gives them: retries on (the backoff's waits on
	// synctest's clock).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	synctest.Test(t, func(t *testing.T) {
		var refused Client
		defer refused.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		_, err := refused.Send(req)
		var re *RequestError
		if !errors.As(err, &re) || re.Attempts != 4 || re.Waited < 200*time.Millisecond {
			t.Fatalf("zero Client on a refused port: %v; want 4 attempts and the default backoff, as with New()", err)
		}
	})
}

func TestNilInputs(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	var re *RequestError
	if _, err := c.Send(nil); !errors.As(err, &re) || !errors.Is(err, errNilRequest) {
		t.Errorf("Send(nil): %v", err)
	}
	if _, err := c.Do(nil); !errors.As(err, &re) || !errors.Is(err, errNilRequest) {
		t.Errorf("Do(nil): %v", err)
	}
	if _, err := c.Send(&http.Request{Method: "GET"}); !errors.As(err, &re) || !errors.Is(err, errNilRequest) {
		t.Errorf("Send without URL: %v", err)
	}
	if out, err := Classify(nil); err == nil || out != nil {
		t.Errorf("Classify(nil) = %v, %v", out, err)
	}
	if _, err := Decode[int](nil, nil); !errors.Is(err, ErrNoResult) {
		t.Errorf("Decode(nil, nil): %v", err)
	}
}

// TestZeroOutcomes calls every method of the Outcome interface, and a
// failure's Error, Problem and Body, on the zero value of every kind.
func TestZeroOutcomes(t *testing.T) {
	t.Parallel()
	kinds := []Outcome{
		&OK{}, &Created{}, &Accepted{}, &NoContent{}, &PartialContent{}, &Informational{},
		&MultipleChoices{}, &Redirect{}, &NotModified{},
		&ClientError{}, &BadRequest{}, &Unauthorized{}, &Forbidden{}, &NotFound{}, &MethodNotAllowed{},
		&NotAcceptable{}, &Conflict{}, &Gone{}, &PreconditionFailed{}, &URITooLong{},
		&RangeNotSatisfiable{}, &PreconditionRequired{}, &TooManyRequests{},
		&ServerError{}, &NotImplemented{}, &ServiceUnavailable{}, &Nonstandard{}, &JobError{},
	}
	for _, out := range kinds {
		t.Run(fmt.Sprintf("%T", out), func(t *testing.T) {
			_ = out.StatusCode()
			_ = out.Response()
			_ = out.Info()
			_ = out.APIStatus()
			err := out.Err()
			if err := out.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := out.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			f, failure := out.(interface {
				error
				Problem() *Problem
				Body() []byte
			})
			if !failure {
				if err != nil {
					t.Errorf("Err() = %v on a success kind", err)
				}
				return
			}
			if err == nil || err.Error() == "" || f.Error() == "" {
				t.Errorf("failure kind: Err() = %v", err)
			}
			if f.Problem() == nil {
				t.Error("Problem() is nil")
			}
			_ = f.Body()
		})
	}
}

// TestZeroValuesBeyondOutcome: the other values a user can build by hand
// answer with errors, not panics.
func TestZeroValuesBeyondOutcome(t *testing.T) {
	t.Parallel()
	for part, err := range (&PartialContent{}).Parts() {
		if part != nil || err == nil {
			t.Fatalf("zero PartialContent's Parts: %v, %v", part, err)
		}
	}
	var p Poller
	if _, err := p.Poll(context.Background()); err == nil {
		t.Error("zero Poller's Poll: no error")
	}
	if _, err := p.Wait(context.Background()); err == nil {
		t.Error("zero Poller's Wait: no error")
	}
	if _, err := p.ResumeToken(); err == nil {
		t.Error("zero Poller's ResumeToken: no error")
	}
	c := newTestClient(t)
	u, _ := url.Parse("http://127.0.0.1:1/ops/1")
	if p, err := c.NewPoller(&Accepted{Monitor: u, MonitorFrom: "Location"}, nil); err != nil || p == nil {
		t.Fatalf("NewPoller of a hand-built Accepted: %v", err)
	}
	if _, err := c.NewPoller(&Accepted{}, nil); !errors.Is(err, ErrNoMonitor) {
		t.Fatalf("NewPoller of a zero Accepted: %v", err)
	}
	if _, err := newTestClient(t, WithCache((*MemoryStore)(nil))).Send(&http.Request{}); err == nil {
		t.Fatal("no error for a request without URL")
	}
}

// ---- 4. Decode is bounded ----

// TestDecodeGzipBomb serves an endless gzip stream of JSON whitespace (a
// few KiB on the wire per MiB inflated), which net/http decompresses
// transparently. Decode stops at its cap with an error naming it, and the
// process allocates about what the cap allows. Not parallel: it measures
// the process's allocations.
func TestDecodeGzipBomb(t *testing.T) {
	var wire atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		cw := &countingWriter{w: w, n: &wire}
		zw, _ := gzip.NewWriterLevel(cw, gzip.BestCompression)
		spaces := bytes.Repeat([]byte(" "), 1<<20)
		for range 1024 { // 1 GiB inflated, unless the client stops reading
			if _, err := zw.Write(spaces); err != nil {
				return
			}
		}
		zw.Close()
	}))
	c := newTestClient(t)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode[map[string]any](c.Send(get(t, srv.URL)))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "16777216 bytes") {
		t.Fatalf("err %v; want ErrBodyTooLarge naming the 16 MiB cap", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MiB while decoding; %d KiB compressed on the wire", float64(alloc)/(1<<20), wire.Load()>>10)
	if alloc > 80<<20 {
		t.Fatalf("allocated %d MiB for a 16 MiB cap", alloc>>20)
	}

	// The cap can be raised (or lifted), and a body within it decodes.
	big := `{"pad":"` + strings.Repeat("x", 17<<20) + `"}`
	bigSrv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	}))
	if _, err := Decode[map[string]string](c.Send(get(t, bigSrv.URL))); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("17 MiB with the default cap: %v", err)
	}
	raised := newTestClient(t, WithMaxDecodeBody(32<<20))
	if v, err := Decode[map[string]string](raised.Send(get(t, bigSrv.URL))); err != nil || len(v["pad"]) != 17<<20 {
		t.Fatalf("17 MiB with a 32 MiB cap: %v", err)
	}
	// A body of exactly the cap is within it.
	exact := newTestClient(t, WithMaxDecodeBody(int64(len(big))))
	if _, err := Decode[map[string]string](exact.Send(get(t, bigSrv.URL))); err != nil {
		t.Fatalf("a body of exactly the cap: %v", err)
	}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func TestDecodeNoContent(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/205" {
			w.WriteHeader(http.StatusResetContent)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	c := newTestClient(t)
	for _, path := range []string{"/204", "/205"} {
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+path, nil)
		v, err := Decode[struct{ ID int }](c.Send(req))
		if err != nil || v.ID != 0 {
			t.Errorf("DELETE → %s: %+v, %v; want the zero value and no error", path, v, err)
		}
	}
}

// ---- 5. No secret in any error text or log line ----

// TestNoSecretInErrorsOrLogs tries each path that used to print a URL's
// userinfo, query or fragment.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	secrets := []string{"PASS", "tok3n", "frag"}
	check := func(t *testing.T, what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q: %s", what, s, text)
			}
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/userinfo":
			w.Header().Set("Location", "http://u:PASS@127.0.0.1:1/x?token=tok3n#frag")
			w.WriteHeader(http.StatusFound)
		case "/control":
			// Go's server sends it; Go's client refuses the line, and its
			// error quotes it.
			w.Header()["Location"] = []string{"http://u:PASS@h/x?token=tok3n\x01"}
			w.WriteHeader(http.StatusFound)
		case "/etag":
			w.Header().Set("ETag", `"e"`)
			io.WriteString(w, "stored")
		case "/bad-host":
			w.Header().Set("Location", "http://u:PASS@h h/x?token=tok3n#frag")
			w.WriteHeader(http.StatusFound)
		case "/bad-escape":
			w.Header().Set("Location", "http://u:PASS@h:99999x/?token=tok3n")
			w.WriteHeader(http.StatusFound)
		case "/monitor":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"statusUrl":"http://u:PASS@h:99999x/?token=tok3n"}`)
		case "/deprecated":
			w.Header().Set("Deprecation", "true")
			w.Header().Set("Link", `<https://docs.test/dep?token=tok3n>; rel="deprecation"`)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	c := newTestClient(t, WithLogger(logger), WithRetryPolicy(fastRetry(2)))
	ctx := context.Background()

	_, err := c.Download(ctx, "http://u:PASS@h/%zz?token=tok3n#frag", &memWriterAt{}, nil)
	if err == nil {
		t.Fatal("Download of an invalid URL: no error")
	}
	check(t, "Download error", err.Error())

	bad := newTestClient(t, WithBaseURL("http://u:PASS@h:99999x/?token=tok3n"))
	_, err = bad.Send(get(t, "/x"))
	if err == nil {
		t.Fatal("invalid base URL: no error")
	}
	check(t, "WithBaseURL error", err.Error())

	for _, path := range []string{"/userinfo", "/bad-host", "/bad-escape"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path+"?token=tok3n#frag", nil)
		req.URL.User = nil
		_, err := c.Send(req)
		if !errors.Is(err, ErrBadLocation) {
			t.Fatalf("%s: %v, want ErrBadLocation", path, err)
		}
		check(t, path+" error", err.Error())
	}

	_, err = c.Send(get(t, srv.URL+"/control"))
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("/control: %v", err)
	}
	check(t, "/control error", err.Error())

	// A store that fails: its Debug log line names the key, a URL.
	failing := newTestClient(t, WithLogger(logger), WithCache(failingStore{}))
	sendRead(t, failing, get(t, srv.URL+"/etag?token=tok3n"))

	out, err := c.Send(get(t, srv.URL+"/monitor"))
	if err != nil {
		t.Fatal(err)
	}
	a := out.(*Accepted)
	if !errors.Is(a.MonitorErr, ErrBadMonitor) {
		t.Fatalf("MonitorErr %v", a.MonitorErr)
	}
	check(t, "MonitorErr", a.MonitorErr.Error())
	_, err = a.Wait(ctx, nil)
	check(t, "Wait error", err.Error())

	// A well-formed token naming a URL that does not parse.
	_, err = c.ResumePoller(encodeToken(`{"monitor":"http://u:PASS@h:99999x/?token=tok3n","from":"Location","origin":"","polls":0}`), nil)
	if !errors.Is(err, ErrBadResumeToken) {
		t.Fatalf("ResumePoller: %v", err)
	}
	check(t, "resume token error", err.Error())

	sendRead(t, c, get(t, srv.URL+"/deprecated?token=tok3n"))
	sendRead(t, c, get(t, srv.URL+"/503?token=tok3n"))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://u:PASS@" + ln.Addr().String() + "/?token=tok3n#frag"
	ln.Close()
	if _, err := c.Send(get(t, refused)); err == nil {
		t.Fatal("refused port: no error")
	} else {
		check(t, "transport error", err.Error())
	}
	if !strings.Contains(logs.String(), "deprecated API endpoint") || !strings.Contains(logs.String(), "request failed") ||
		!strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "cache store failed") {
		t.Fatalf("the logs lack the lines this test checks:\n%s", logs.String())
	}
	check(t, "logs", logs.String())
}

// failingStore is a Store whose every call fails.
type failingStore struct{}

func (failingStore) Get(context.Context, string, string) (*Entry, error) {
	return nil, errors.New("store down")
}
func (failingStore) Put(context.Context, string, *Entry) error { return errors.New("store down") }
func (failingStore) Delete(context.Context, string) error      { return errors.New("store down") }
func (failingStore) MaxEntryBytes() int64                      { return 1 << 20 }

// ---- 6. A Location's query is percent-encoded as Fetch does ----

// TestLocationQueryEncodedAsFetch: a Go server answers 400 to a request
// line with a raw space; Fetch sends q=a%20b&r=%C3%A4. The same for a
// monitor URL and a Link target.
func TestLocationQueryEncodedAsFetch(t *testing.T) {
	t.Parallel()
	const raw = "q=a b&r=ä&s=\"<>'&t=%41"
	const want = "q=a%20b&r=%C3%A4&s=%22%3C%3E%27&t=%41"
	const linkRaw, linkWant = "q=a b&r=ä", "q=a%20b&r=%C3%A4" // '<', '>' and '"' end a Link target
	var seen atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			w.Header().Set("Location", "/next?"+raw)
			w.WriteHeader(http.StatusFound)
		case "/job":
			w.Header().Set("Operation-Location", "/status?"+raw)
			w.WriteHeader(http.StatusAccepted)
		case "/status":
			seen.Store(r.URL.RawQuery)
			io.WriteString(w, `{"status":"succeeded"}`)
		case "/pages":
			if r.URL.RawQuery == "" {
				w.Header().Set("Link", "</pages?"+linkRaw+`>; rel="next"`)
			} else {
				seen.Store(r.URL.RawQuery)
			}
		case "/next":
			seen.Store(r.URL.RawQuery)
		}
	}))
	c := newTestClient(t)
	out, err := c.Send(get(t, srv.URL+"/redirect"))
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if out.StatusCode() != 200 || seen.Load() != want {
		t.Fatalf("redirect: %d, server saw %q; want %q", out.StatusCode(), seen.Load(), want)
	}

	seen.Store("")
	out, err = c.Send(get(t, srv.URL+"/job"))
	if err != nil {
		t.Fatal(err)
	}
	if a := out.(*Accepted); a.Monitor.RawQuery != want {
		t.Fatalf("Monitor query %q", a.Monitor.RawQuery)
	}
	res, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	if seen.Load() != want {
		t.Fatalf("poll: server saw %q; want %q", seen.Load(), want)
	}

	seen.Store("")
	for page, err := range c.LinkPages(get(t, srv.URL+"/pages")) {
		if err != nil {
			t.Fatal(err)
		}
		_ = page
	}
	if seen.Load() != linkWant {
		t.Fatalf("next page: server saw %q; want %q", seen.Load(), linkWant)
	}
	if got := httpsyntax.EncodeQuery("a=%zz&b=é"); got != "a=%zz&b=%C3%A9" {
		t.Fatalf("encodeQuery kept %q", got)
	}
}

// ---- 7. One error contract ----

// TestSendErrorContract: every failure of Send and Do is a *RequestError
// whose text says each thing once and whose chain keeps the cause.
func TestSendErrorContract(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	}))
	c := newTestClient(t, WithRetryPolicy(fastRetry(3)))
	type call func(*http.Request) error
	send := func(r *http.Request) error { _, err := c.Send(r); return err }
	do := func(r *http.Request) error { _, err := c.Do(r); return err }
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String() + "/x"
	ln.Close()
	badBase := newTestClient(t, WithBaseURL("::not a url"))
	status1000 := newTestClient(t, WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 1000, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})))

	for _, tt := range []struct {
		name  string
		calls []call
		req   func() *http.Request
		is    error
		text  string
	}{
		{"redirect loop", []call{send, do}, func() *http.Request { return get(t, srv.URL+"/loop") }, ErrRedirectLoop,
			"GET " + srv.URL + "/loop: semhttp: redirect loop: -302-> " + srv.URL + "/loop -302-> " + srv.URL + "/loop"},
		{"refused", []call{send, do}, func() *http.Request { return get(t, refused) }, nil,
			"GET " + refused + " (3 attempts): dial tcp " + refused[len("http://"):len(refused)-2] + ": connect: connection refused"},
		{"nil request", []call{send, do}, func() *http.Request { return nil }, errNilRequest, "semhttp: nil request or URL"},
		{"bad base URL", []call{
			func(r *http.Request) error { _, err := badBase.Send(r); return err },
			func(r *http.Request) error { _, err := badBase.Do(r); return err },
		}, func() *http.Request { return get(t, "/x") }, nil, ""},
		{"status 1000", []call{
			func(r *http.Request) error { _, err := status1000.Send(r); return err },
			func(r *http.Request) error { _, err := status1000.Do(r); return err },
		}, func() *http.Request { return get(t, "http://127.0.0.1:1/x") }, ErrBadStatus,
			"GET http://127.0.0.1:1/x: semhttp: status code is not three digits: 1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i, call := range tt.calls {
				err := call(tt.req())
				var re *RequestError
				if !errors.As(err, &re) {
					t.Fatalf("call %d: %T %v; want a *RequestError", i, err, err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("call %d: %v does not match %v", i, err, tt.is)
				}
				msg := err.Error()
				if tt.text != "" && msg != tt.text {
					t.Errorf("call %d:\n got  %q\n want %q", i, msg, tt.text)
				}
				if n := strings.Count(msg, "semhttp:"); n > 1 {
					t.Errorf("call %d: %q says semhttp: %d times", i, msg, n)
				}
			}
		})
	}
	// The cause keeps its type: a refused connection is a *net.OpError.
	_, err := c.Send(get(t, refused))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" {
		t.Fatalf("cause of a refused connection: %v", err)
	}
}

// ---- 8. Small ones ----

// TestDownloadLastModifiedBesideETag: nginx sends a strong ETag and a
// Last-Modified; the result reports both.
func TestDownloadLastModifiedBesideETag(t *testing.T) {
	t.Parallel()
	mod := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"nginx-1"`)
		http.ServeContent(w, r, "", mod, strings.NewReader("file"))
	}))
	c := newTestClient(t)
	res, err := c.Download(context.Background(), srv.URL, &memWriterAt{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ETag != `"nginx-1"` || !res.LastModified.Equal(mod) {
		t.Fatalf("ETag %q, LastModified %v; want both", res.ETag, res.LastModified)
	}
}

func TestNonstandardErrorText(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	u := rawServer(t, "HTTP/1.1 999 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	out, err := c.Send(get(t, u+"/"))
	if err != nil {
		t.Fatal(err)
	}
	msg := out.Err().Error()
	if strings.HasSuffix(msg, " ") || !strings.HasSuffix(msg, ": 999") {
		t.Fatalf("%q: want it to end with the code, no trailing space", msg)
	}
}
