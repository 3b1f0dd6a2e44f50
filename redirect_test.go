package semhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// recorded is what a test server saw of one request.
type recorded struct {
	Method        string
	Path          string
	Sum           string // hex SHA-256 of the body
	Len           int64  // body bytes read
	ContentLength int64
	Header        http.Header
}

// recorder is a scripted test server: /redirect?code=N&to=URL answers N
// with Location URL (and, when given, ra → Retry-After, ms →
// Retry-After-Ms, cc → Cache-Control, noloc → no Location); anything else
// answers 200 "ok". Every request is recorded, body hashed.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []recorded
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = newServer(t, rec)
	return rec
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, _ := io.Copy(h, r.Body)
	rec.mu.Lock()
	rec.hits = append(rec.hits, recorded{
		Method: r.Method, Path: r.URL.Path, Sum: hex.EncodeToString(h.Sum(nil)), Len: n,
		ContentLength: r.ContentLength, Header: r.Header.Clone(),
	})
	rec.mu.Unlock()
	q := r.URL.Query()
	if strings.HasPrefix(r.URL.Path, "/redirect") {
		code, _ := strconv.Atoi(q.Get("code"))
		if q.Get("noloc") == "" {
			w.Header().Set("Location", q.Get("to"))
		}
		for k, p := range map[string]string{"ra": "Retry-After", "ms": "Retry-After-Ms", "cc": "Cache-Control"} {
			if v := q.Get(k); v != "" {
				w.Header().Set(p, v)
			}
		}
		w.WriteHeader(code)
		io.WriteString(w, "redirecting")
		return
	}
	io.WriteString(w, "ok")
}

// url returns a redirect URL on this server: code to target.
func (rec *recorder) redirect(code int, to string, extra ...string) string {
	v := url.Values{"code": {strconv.Itoa(code)}, "to": {to}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return rec.srv.URL + "/redirect?" + v.Encode()
}

// at returns the requests recorded for path.
func (rec *recorder) at(path string) []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []recorded
	for _, h := range rec.hits {
		if h.Path == path {
			out = append(out, h)
		}
	}
	return out
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	redirectCodes   = []int{301, 302, 303, 307, 308}
	redirectMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
)

// wantHop is the rule under test, written out cell by cell (RFC 9110
// §15.4, Fetch HTTP-redirect fetch step 12): the method at the target and
// whether the body arrives there.
func wantHop(code int, method string) (string, bool) {
	switch {
	case code == 303 && method == "HEAD":
		return "HEAD", false
	case code == 303:
		return "GET", false
	case (code == 301 || code == 302) && method == "POST":
		return "GET", false
	}
	return method, true
}

// bodyHeaderNames are set on every table request and must vanish exactly
// when the body does.
var bodyHeaderNames = []string{"Content-Type", "Content-Language", "Content-Location", "Content-Encoding"}

// runMatrix sends every code × method cell through a redirect to a
// recording target, with bodies from newBody, and checks the rule.
func runMatrix(t *testing.T, newBody func(t *testing.T) (io.Reader, string, int64)) {
	rec := newRecorder(t)
	c := newTestClient(t)
	for _, code := range redirectCodes {
		for _, method := range redirectMethods {
			t.Run(fmt.Sprintf("%d/%s", code, method), func(t *testing.T) {
				target := fmt.Sprintf("/to/%d/%s", code, method)
				body, bodySum, bodyLen := newBody(t)
				req, err := http.NewRequest(method, rec.redirect(code, target), body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/octet-stream")
				req.Header.Set("Content-Language", "en")
				req.Header.Set("Content-Location", "/doc")
				req.Header.Set("Content-Encoding", "identity")
				req.Header.Set("X-Custom", "kept")
				out, err := c.Send(req)
				if err != nil {
					t.Fatal(err)
				}
				out.Close()
				if _, ok := out.(*OK); !ok {
					t.Fatalf("outcome %T, want *OK", out)
				}
				hits := rec.at(target)
				if len(hits) != 1 {
					t.Fatalf("target hit %d times, want 1", len(hits))
				}
				got := hits[0]
				wantMethod, wantBody := wantHop(code, method)
				if got.Method != wantMethod {
					t.Errorf("method at target %s, want %s", got.Method, wantMethod)
				}
				if wantBody {
					if got.Sum != bodySum || got.Len != bodyLen {
						t.Errorf("body at target: %d bytes (sum %.8s), want %d bytes (sum %.8s)", got.Len, got.Sum, bodyLen, bodySum)
					}
				} else if got.Len != 0 || got.ContentLength > 0 {
					t.Errorf("body at target: %d bytes (Content-Length %d), want none", got.Len, got.ContentLength)
				}
				for _, k := range bodyHeaderNames {
					if has := got.Header.Get(k) != ""; has != wantBody {
						t.Errorf("%s at target: present=%v, want %v", k, has, wantBody)
					}
				}
				if got.Header.Get("X-Custom") != "kept" {
					t.Errorf("X-Custom dropped")
				}
				hops := out.Info().Hops
				if len(hops) != 1 || hops[0].StatusCode != code || hops[0].Method != method ||
					hops[0].Location == nil || hops[0].Location.Path != target {
					t.Errorf("hops = %+v", hops)
				}
				if req.Method != method || req.Header.Get("Content-Type") == "" {
					t.Errorf("caller's request modified: %s %v", req.Method, req.Header)
				}
			})
		}
	}
}

func TestRedirectMatrixBytes(t *testing.T) {
	t.Parallel()
	payload := randomBytes(t, 64<<10)
	runMatrix(t, func(t *testing.T) (io.Reader, string, int64) {
		return bytes.NewReader(payload), sum(payload), int64(len(payload))
	})
}

// TestRedirectMatrixFile streams a 5 MiB *os.File (no GetBody): 307/308
// (and 301/302 for methods other than POST) re-read it by seeking.
func TestRedirectMatrixFile(t *testing.T) {
	t.Parallel()
	payload := randomBytes(t, 5<<20)
	path := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(path, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	runMatrix(t, func(t *testing.T) (io.Reader, string, int64) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f, sum(payload), int64(len(payload))
	})
}

// countingFile counts reads and seeks on a file, to prove a replayed body
// is read again from the file rather than from a copy in memory.
type countingFile struct {
	f     *os.File
	read  atomic.Int64
	seeks atomic.Int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingFile) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekCurrent {
		c.seeks.Add(1)
	}
	return c.f.Seek(off, whence)
}

func (c *countingFile) Close() error { return c.f.Close() }

// TestRedirectFileNotBuffered: a 308 re-sends a 5 MiB file body by seeking
// back to where it started (here 1 MiB in) and reading it again; the whole
// call allocates far less than the body.
func TestRedirectFileNotBuffered(t *testing.T) {
	const size, start = 5 << 20, 1 << 20
	payload := randomBytes(t, size)
	path := filepath.Join(t.TempDir(), "body.bin")
	if err := os.WriteFile(path, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t)
	c := newTestClient(t)

	t.Run("counting", func(t *testing.T) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		cf := &countingFile{f: f}
		req, _ := http.NewRequest("POST", rec.redirect(308, "/to/counting"), cf)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		hits := rec.at("/to/counting")
		if len(hits) != 1 || hits[0].Len != size-start || hits[0].Sum != sum(payload[start:]) {
			t.Fatalf("target got %+v, want the %d bytes after the offset", hits, size-start)
		}
		if got := cf.read.Load(); got != 2*(size-start) {
			t.Errorf("file read %d bytes, want %d (twice, once per hop)", got, 2*(size-start))
		}
		if cf.seeks.Load() < 1 {
			t.Errorf("file never seeked back")
		}
		if _, err := f.Seek(0, io.SeekCurrent); err == nil {
			t.Errorf("body not closed at the end of the call")
		}
	})

	t.Run("allocations", func(t *testing.T) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", rec.redirect(307, "/to/alloc"), f)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		out, err := c.Send(req)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if hits := rec.at("/to/alloc"); len(hits) != 1 || hits[0].Sum != sum(payload) {
			t.Fatalf("target got %+v", hits)
		}
		// Both ends run in this process, so this bounds client and server
		// together; one buffered copy of the body alone would be 5 MiB.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 3<<20 {
			t.Errorf("call allocated %d bytes for a %d byte body sent twice: buffered?", grew, size)
		}
	})
}

// onlyReader hides every method but Read, so the body is not replayable.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestRedirectBodyNotReplayable(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := newTestClient(t)
	payload := []byte("stream body, readable once")
	for _, tc := range []struct {
		code   int
		method string
		ok     bool // followed (the body is not needed at the target)
	}{
		{307, "POST", false}, {308, "PUT", false}, {308, "POST", false},
		{301, "PUT", false}, {302, "PATCH", false},
		{303, "POST", true}, {301, "POST", true}, {302, "POST", true},
	} {
		t.Run(fmt.Sprintf("%d/%s", tc.code, tc.method), func(t *testing.T) {
			target := fmt.Sprintf("/to/once/%d/%s", tc.code, tc.method)
			req, _ := http.NewRequest(tc.method, rec.redirect(tc.code, target), onlyReader{bytes.NewReader(payload)})
			out, err := c.Send(req)
			hits := rec.at(target)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				out.Close()
				if len(hits) != 1 || hits[0].Method != "GET" || hits[0].Len != 0 {
					t.Fatalf("target got %+v, want one GET without body", hits)
				}
				return
			}
			if !errors.Is(err, ErrBodyNotReplayable) {
				t.Fatalf("err = %v, want ErrBodyNotReplayable", err)
			}
			var re *RedirectError
			if !errors.As(err, &re) || len(re.Hops) != 1 || re.Hops[0].StatusCode != tc.code {
				t.Fatalf("RedirectError = %+v", re)
			}
			if len(hits) != 0 {
				t.Fatalf("body sent to the target too: %+v", hits)
			}
		})
	}
}

// credentialHeaders are set on every cross-origin request.
var credentialHeaders = map[string]string{
	"Authorization":       "Bearer secret",
	"Cookie":              "session=secret",
	"Proxy-Authorization": "Basic c2VjcmV0",
	"X-Api-Key":           "secret",
}

func credReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range credentialHeaders {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Other", "kept")
	return req
}

func TestRedirectCrossOriginCredentials(t *testing.T) {
	t.Parallel()
	a, b := newRecorder(t), newRecorder(t) // two ports: two origins
	c := newTestClient(t, WithCredentialHeaders("x-api-key"))

	send := func(t *testing.T, req *http.Request) Outcome {
		t.Helper()
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		return out
	}
	checkCreds := func(t *testing.T, h recorded, want bool) {
		t.Helper()
		for k, v := range credentialHeaders {
			if got := h.Header.Get(k); (got == v) != want {
				t.Errorf("%s at %s = %q, want present=%v", k, h.Path, got, want)
			}
		}
		if h.Header.Get("X-Other") != "kept" {
			t.Errorf("X-Other dropped at %s", h.Path)
		}
	}

	t.Run("across", func(t *testing.T) {
		req := credReq(t, "GET", a.redirect(302, b.srv.URL+"/land/across"))
		send(t, req)
		hits := b.at("/land/across")
		if len(hits) != 1 {
			t.Fatalf("hits %d", len(hits))
		}
		checkCreds(t, hits[0], false)
		for k, v := range credentialHeaders {
			if req.Header.Get(k) != v {
				t.Errorf("caller's %s modified", k)
			}
		}
	})
	t.Run("within", func(t *testing.T) {
		send(t, credReq(t, "GET", a.redirect(307, a.srv.URL+"/land/within")))
		hits := a.at("/land/within")
		if len(hits) != 1 {
			t.Fatalf("hits %d", len(hits))
		}
		checkCreds(t, hits[0], true)
	})
	t.Run("back", func(t *testing.T) {
		// a → b → a: once dropped, they stay dropped.
		send(t, credReq(t, "GET", a.redirect(302, b.redirect(302, a.srv.URL+"/land/back"))))
		hits := a.at("/land/back")
		if len(hits) != 1 {
			t.Fatalf("hits %d", len(hits))
		}
		checkCreds(t, hits[0], false)
	})
	t.Run("unregistered", func(t *testing.T) {
		// Without WithCredentialHeaders an API-key header is an ordinary
		// header and travels.
		c2 := newTestClient(t)
		out, err := c2.Send(credReq(t, "GET", a.redirect(302, b.srv.URL+"/land/unregistered")))
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		hits := b.at("/land/unregistered")
		if len(hits) != 1 || hits[0].Header.Get("X-Api-Key") != "secret" || hits[0].Header.Get("Authorization") != "" {
			t.Fatalf("hits %+v", hits)
		}
	})
}

func TestRedirectHTTPSToHTTP(t *testing.T) {
	t.Parallel()
	plain := newRecorder(t)
	var tlsHits atomic.Int64
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tlsHits.Add(1)
		http.Redirect(w, r, plain.srv.URL+"/land", http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)

	t.Run("refused", func(t *testing.T) {
		c := newTestClient(t, WithTransport(tlsSrv.Client().Transport))
		req := credReq(t, "GET", tlsSrv.URL+"/start")
		_, err := c.Send(req)
		if !errors.Is(err, ErrInsecureRedirect) {
			t.Fatalf("err = %v, want ErrInsecureRedirect", err)
		}
		var re *RedirectError
		if !errors.As(err, &re) || len(re.Hops) != 1 || re.Hops[0].Location.Scheme != "http" {
			t.Fatalf("RedirectError %+v", re)
		}
		if n := len(plain.at("/land")); n != 0 {
			t.Fatalf("http server hit %d times", n)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		c := newTestClient(t, WithTransport(tlsSrv.Client().Transport), WithInsecureRedirects())
		out, err := c.Send(credReq(t, "GET", tlsSrv.URL+"/start"))
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		hits := plain.at("/land")
		if len(hits) != 1 || hits[0].Header.Get("Authorization") != "" || hits[0].Header.Get("Cookie") != "" {
			t.Fatalf("hits %+v: want one, without credentials (origin changed)", hits)
		}
	})
}

func TestRedirectBadLocations(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := newTestClient(t)
	for _, tc := range []struct {
		loc  string
		want error
		in   string // the error names this
	}{
		{"javascript:alert(1)", ErrBadRedirectScheme, "javascript"},
		{"file:///etc/passwd", ErrBadRedirectScheme, "file"},
		{"ftp://127.0.0.1/x", ErrBadRedirectScheme, "ftp"},
		{"data:text/html,hi", ErrBadRedirectScheme, "data"},
		{"http://[::1", ErrBadLocation, "http://[::1"},
		{"http://%zz/", ErrBadLocation, "%zz"},
		{"http:no-host", ErrBadLocation, "no host"},
		{"http://user:hunter2@127.0.0.1/x", ErrBadLocation, "userinfo"},
	} {
		t.Run(tc.loc, func(t *testing.T) {
			_, err := c.Send(credReq(t, "GET", rec.redirect(302, tc.loc)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.in) {
				t.Errorf("error %q does not name %q", err, tc.in)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %q", err)
			}
			var re *RedirectError
			if !errors.As(err, &re) || len(re.Hops) != 1 {
				t.Fatalf("RedirectError %+v", re)
			}
		})
	}
	t.Run("FollowNone returns it", func(t *testing.T) {
		c := newTestClient(t, WithRedirectPolicy(FollowNone))
		out, err := c.Send(credReq(t, "GET", rec.redirect(302, "javascript:alert(1)")))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		r, ok := out.(*Redirect)
		if !ok || r.Location == nil || r.Location.Scheme != "javascript" {
			t.Fatalf("outcome %T %+v", out, out)
		}
	})
}

// roundTripFunc is a transport for what no real server can send (CR or LF
// inside a Location value cannot cross HTTP/1's wire or net/http's parser).
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedirectControlCharsInLocation(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"/a\r\nSet-Cookie: x=1", "/a\nb", "/a\rb", "/a\x00b", "/a\tb"} {
		var calls atomic.Int64
		c := newTestClient(t, WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return &http.Response{
				StatusCode: 302, Status: "302 Found", Header: http.Header{"Location": {loc}},
				Body: http.NoBody, Request: r, ProtoMajor: 1, ProtoMinor: 1,
			}, nil
		})))
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1/start", nil)
		_, err := c.Send(req)
		if !errors.Is(err, ErrBadLocation) {
			t.Errorf("%q: err = %v, want ErrBadLocation", loc, err)
		}
		if calls.Load() != 1 {
			t.Errorf("%q: %d requests, want 1", loc, calls.Load())
		}
	}
}

func TestRedirectLoopAndLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := map[string]int{}
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			next := map[string]string{"a": "b", "b": "c", "c": "a"}[strings.TrimPrefix(r.URL.Path, "/loop/")]
			w.Header().Set("Location", "/loop/"+next)
			w.WriteHeader(http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
			if n == 0 {
				io.WriteString(w, "end")
				return
			}
			w.Header().Set("Location", "/chain/"+strconv.Itoa(n-1))
			w.WriteHeader(http.StatusMovedPermanently)
		}
	}))
	c := newTestClient(t, WithRedirectMemory(-1))
	get := func(path string) (Outcome, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		return c.Send(req)
	}

	t.Run("loop of 3", func(t *testing.T) {
		_, err := get("/loop/a")
		if !errors.Is(err, ErrRedirectLoop) {
			t.Fatalf("err = %v, want ErrRedirectLoop", err)
		}
		var re *RedirectError
		if !errors.As(err, &re) {
			t.Fatal("no *RedirectError")
		}
		var chain []string
		for _, h := range re.Hops {
			chain = append(chain, h.URL.Path+">"+h.Location.Path)
		}
		if got := strings.Join(chain, " "); got != "/loop/a>/loop/b /loop/b>/loop/c /loop/c>/loop/a /loop/a>/loop/b" {
			t.Fatalf("chain %s", got)
		}
		for _, p := range []string{"/loop/a", "/loop/b", "/loop/c"} {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not list %s", err, p)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if hits["/loop/a"] != 2 || hits["/loop/b"] != 1 || hits["/loop/c"] != 1 {
			t.Errorf("hits %v", hits)
		}
	})
	t.Run("10 hops followed", func(t *testing.T) {
		out, err := get("/chain/10")
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if n := len(out.Info().Hops); n != 10 {
			t.Fatalf("%d hops, want 10", n)
		}
	})
	t.Run("11 hops refused", func(t *testing.T) {
		_, err := get("/chain/11")
		if !errors.Is(err, ErrTooManyRedirects) {
			t.Fatalf("err = %v, want ErrTooManyRedirects", err)
		}
		var re *RedirectError
		if !errors.As(err, &re) || len(re.Hops) != 11 {
			t.Fatalf("RedirectError %+v", re)
		}
		for i, h := range re.Hops {
			if want := "/chain/" + strconv.Itoa(11-i); h.URL.Path != want {
				t.Errorf("hop %d from %s, want %s", i, h.URL.Path, want)
			}
		}
		if !strings.Contains(err.Error(), "/chain/11") || !strings.Contains(err.Error(), "/chain/0") {
			t.Errorf("error %q does not list the chain", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if hits["/chain/0"] != 1 { // only the 10-hop run reached the end
			t.Errorf("/chain/0 hit %d times", hits["/chain/0"])
		}
	})
	t.Run("WithMaxRedirects", func(t *testing.T) {
		c := newTestClient(t, WithMaxRedirects(2))
		req, _ := http.NewRequest("GET", srv.URL+"/chain/3", nil)
		_, err := c.Send(req)
		var re *RedirectError
		if !errors.Is(err, ErrTooManyRedirects) || !errors.As(err, &re) || len(re.Hops) != 3 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRedirectHTTPBin(t *testing.T) {
	t.Parallel()
	srv := newHTTPBin(t)
	c := newTestClient(t)

	t.Run("redirect/10", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/redirect/10", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		hops := out.Info().Hops
		if len(hops) != 10 || out.Response().Request.URL.Path != "/get" {
			t.Fatalf("%d hops, final %s", len(hops), out.Response().Request.URL)
		}
		if hops[0].URL.Path != "/redirect/10" || hops[9].Location.Path != "/get" || hops[3].StatusCode != 302 {
			t.Errorf("hops %+v", hops)
		}
	})
	t.Run("redirect/11", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/redirect/11", nil)
		_, err := c.Send(req)
		if !errors.Is(err, ErrTooManyRedirects) {
			t.Fatalf("err = %v", err)
		}
	})
	// A few cells of the matrix against a real peer: /anything echoes the
	// method and body it got.
	for _, tc := range []struct {
		code   int
		method string
	}{
		{301, "POST"}, {301, "PUT"}, {302, "DELETE"}, {302, "POST"}, {303, "PATCH"},
		{307, "POST"}, {308, "PUT"}, {308, "PATCH"},
	} {
		t.Run(fmt.Sprintf("redirect-to/%d/%s", tc.code, tc.method), func(t *testing.T) {
			u := srv.URL + "/redirect-to?" + url.Values{"url": {"/anything"}, "status_code": {strconv.Itoa(tc.code)}}.Encode()
			req, _ := http.NewRequest(tc.method, u, strings.NewReader(`{"n":1}`))
			req.Header.Set("Content-Type", "application/json")
			got, err := Decode[struct {
				Method  string      `json:"method"`
				Data    string      `json:"data"`
				Headers http.Header `json:"headers"`
			}](c.Send(req))
			if err != nil {
				t.Fatal(err)
			}
			wantMethod, wantBody := wantHop(tc.code, tc.method)
			if got.Method != wantMethod {
				t.Errorf("method %s, want %s", got.Method, wantMethod)
			}
			if wantBody != (got.Data == `{"n":1}`) || (!wantBody && got.Data != "") {
				t.Errorf("data %q, want body=%v", got.Data, wantBody)
			}
			if wantBody != (got.Headers.Get("Content-Type") == "application/json") {
				t.Errorf("Content-Type %q, want present=%v", got.Headers.Get("Content-Type"), wantBody)
			}
		})
	}
}

func TestRedirectMemory(t *testing.T) {
	t.Parallel()

	t.Run("308 remembered", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t)
		payload := []byte("same body twice")
		old := rec.redirect(308, "/new")
		for i := range 3 {
			req, _ := http.NewRequest("POST", old, bytes.NewReader(payload))
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
			hops := out.Info().Hops
			if len(hops) != 1 || hops[0].Remembered != (i > 0) || hops[0].StatusCode != 308 {
				t.Errorf("call %d: hops %+v", i, hops)
			}
		}
		if n := len(rec.at("/redirect")); n != 1 {
			t.Errorf("old URL hit %d times, want 1", n)
		}
		news := rec.at("/new")
		if len(news) != 3 {
			t.Fatalf("new URL hit %d times, want 3", len(news))
		}
		for _, h := range news {
			if h.Method != "POST" || h.Sum != sum(payload) {
				t.Errorf("new URL got %s %.8s", h.Method, h.Sum)
			}
		}
		// The memory belongs to the Client.
		c2 := newTestClient(t)
		req, _ := http.NewRequest("POST", old, bytes.NewReader(payload))
		out, err := c2.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if n := len(rec.at("/redirect")); n != 2 {
			t.Errorf("another client: old URL hit %d times in all, want 2", n)
		}
	})

	t.Run("301 only for GET and HEAD", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t)
		old := rec.redirect(301, "/new")
		do := func(method string) {
			req, _ := http.NewRequest(method, old, nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		do("GET")  // learns
		do("GET")  // remembered
		do("HEAD") // remembered
		do("POST") // not: a 301 turns POST into GET, so the old URL must answer
		if n := len(rec.at("/redirect")); n != 2 {
			t.Errorf("old URL hit %d times, want 2 (first GET, POST)", n)
		}
	})

	t.Run("no-store not remembered", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t)
		old := rec.redirect(308, "/new", "cc", "no-store")
		for range 2 {
			req, _ := http.NewRequest("GET", old, nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		if n := len(rec.at("/redirect")); n != 2 {
			t.Errorf("old URL hit %d times, want 2", n)
		}
	})

	t.Run("off", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, WithRedirectMemory(-1))
		for range 2 {
			req, _ := http.NewRequest("GET", rec.redirect(308, "/new"), nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		if n := len(rec.at("/redirect")); n != 2 {
			t.Errorf("old URL hit %d times, want 2", n)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, WithRedirectMemory(2))
		get := func(to string) {
			req, _ := http.NewRequest("GET", rec.redirect(308, to), nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		get("/n1")
		get("/n2")
		get("/n3") // forgets /n1's redirect, the least recently used
		get("/n3")
		get("/n1")
		if n := len(rec.at("/redirect")); n != 4 {
			t.Errorf("old URLs hit %d times, want 4", n)
		}
	})

	t.Run("cross origin strips credentials", func(t *testing.T) {
		a, b := newRecorder(t), newRecorder(t)
		c := newTestClient(t)
		old := a.redirect(308, b.srv.URL+"/new")
		for range 2 {
			out, err := c.Send(credReq(t, "GET", old))
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		hits := b.at("/new")
		if len(hits) != 2 || len(a.at("/redirect")) != 1 {
			t.Fatalf("new %d, old %d", len(hits), len(a.at("/redirect")))
		}
		for _, h := range hits {
			if h.Header.Get("Authorization") != "" || h.Header.Get("Cookie") != "" || h.Header.Get("X-Other") != "kept" {
				t.Errorf("headers at the new origin: %v", h.Header)
			}
		}
		// Same origin: credentials stay.
		same := a.redirect(308, "/same")
		for range 2 {
			out, err := c.Send(credReq(t, "GET", same))
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
		for _, h := range a.at("/same") {
			if h.Header.Get("Authorization") != "Bearer secret" {
				t.Errorf("Authorization dropped on the same origin")
			}
		}
	})

	t.Run("transitive", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t)
		second := rec.redirect(308, "/final")
		first := rec.redirect(308, second)
		for range 2 {
			req, _ := http.NewRequest("GET", first, nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
			if n := len(out.Info().Hops); n != 2 {
				t.Errorf("%d hops, want 2", n)
			}
		}
		if n := len(rec.at("/redirect")); n != 2 {
			t.Errorf("redirects hit %d times, want 2 (first call only)", n)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		rec := newRecorder(t)
		c := newTestClient(t, WithRedirectMemory(8))
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", rec.redirect(308, "/n"+strconv.Itoa(i%12)), nil)
				out, err := c.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				out.Close()
			})
		}
		wg.Wait()
		if n := c.redirect.memory.size.Load(); n > 8 {
			t.Errorf("memory holds %d entries, bound 8", n)
		}
	})
}

func TestRedirectPolicies(t *testing.T) {
	t.Parallel()
	a, b := newRecorder(t), newRecorder(t)

	t.Run("FollowNone", func(t *testing.T) {
		c := newTestClient(t, WithRedirectPolicy(FollowNone))
		for _, code := range redirectCodes {
			req, _ := http.NewRequest("GET", a.redirect(code, "/none"), nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Close()
			r, ok := out.(*Redirect)
			if !ok {
				t.Fatalf("%d: outcome %T", code, out)
			}
			if r.Location == nil || r.Location.String() != a.srv.URL+"/none" ||
				r.Permanent != (code == 301 || code == 308) || r.MethodKept != (code == 307 || code == 308) {
				t.Errorf("%d: %+v", code, r)
			}
		}
		if n := len(a.at("/none")); n != 0 {
			t.Errorf("followed %d times", n)
		}
	})
	t.Run("FollowSameOrigin", func(t *testing.T) {
		c := newTestClient(t, WithRedirectPolicy(FollowSameOrigin))
		req, _ := http.NewRequest("GET", a.redirect(302, "/same"), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if _, ok := out.(*OK); !ok || len(a.at("/same")) != 1 {
			t.Fatalf("same origin not followed: %T", out)
		}
		req, _ = http.NewRequest("GET", a.redirect(302, b.srv.URL+"/other"), nil)
		out, err = c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if r, ok := out.(*Redirect); !ok || r.Location.Host != b.srv.Listener.Addr().String() || len(b.at("/other")) != 0 {
			t.Fatalf("cross origin followed: %T", out)
		}
	})
	t.Run("custom", func(t *testing.T) {
		var seen []string
		c := newTestClient(t, WithRedirectPolicy(func(ctx context.Context, hop Hop, via []Hop) bool {
			seen = append(seen, fmt.Sprintf("%d:%d", hop.StatusCode, len(via)))
			return len(via) < 1 && true
		}))
		req, _ := http.NewRequest("GET", a.redirect(307, a.redirect(308, "/custom")), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if _, ok := out.(*Redirect); !ok || strings.Join(seen, ",") != "307:0,308:1" {
			t.Fatalf("outcome %T, policy saw %v", out, seen)
		}
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := newTestClient(t)
	send := func(u string) Outcome {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		return out
	}
	if r, ok := send(rec.redirect(302, "/x", "noloc", "1")).(*Redirect); !ok || r.Location != nil || r.LocationErr != nil {
		t.Errorf("302 without Location: %T %+v", r, r)
	}
	if _, ok := send(rec.redirect(300, "/x300")).(*MultipleChoices); !ok || len(rec.at("/x300")) != 0 {
		t.Errorf("300 followed")
	}
	if _, ok := send(rec.redirect(304, "/x304")).(*NotModified); !ok || len(rec.at("/x304")) != 0 {
		t.Errorf("304 followed")
	}
	if out := send(rec.redirect(399, "/x399")); out.StatusCode() != 399 || len(rec.at("/x399")) != 0 {
		t.Errorf("399 followed")
	}
}

func TestRedirectRetryAfter(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := newTestClient(t)

	t.Run("waited", func(t *testing.T) {
		req, _ := http.NewRequest("GET", rec.redirect(307, "/after-wait", "ms", "30"), nil)
		start := time.Now()
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if el := time.Since(start); el < 30*time.Millisecond {
			t.Errorf("followed after %v, want ≥ 30ms", el)
		}
		if w := out.Info().Waited; w < 30*time.Millisecond {
			t.Errorf("Waited %v, want ≥ 30ms", w)
		}
		if len(rec.at("/after-wait")) != 1 {
			t.Error("not followed")
		}
	})
	t.Run("zero", func(t *testing.T) {
		req, _ := http.NewRequest("GET", rec.redirect(302, "/after-zero", "ra", "0"), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if len(rec.at("/after-zero")) != 1 || out.Info().Waited != 0 {
			t.Errorf("waited %v", out.Info().Waited)
		}
	})
	t.Run("above the cap", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", rec.redirect(307, "/after-cap", "ra", "3600"), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if _, ok := out.(*Redirect); !ok || len(rec.at("/after-cap")) != 0 {
			t.Fatalf("outcome %T", out)
		}
		b, _ := io.ReadAll(out.Response().Body)
		if string(b) != "redirecting" {
			t.Errorf("unfollowed redirect body %q", b)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", rec.redirect(307, "/after-cancel", "ra", "30"), nil)
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Send(req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("wait ended %v after the start", el)
		}
		if len(rec.at("/after-cancel")) != 0 {
			t.Error("followed after cancel")
		}
	})
	t.Run("past the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", rec.redirect(307, "/after-deadline", "ra", "30"), nil)
		start := time.Now()
		_, err := c.Send(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("failed after %v, want at once", el)
		}
	})
}

func TestRedirectConnectionReuse(t *testing.T) {
	t.Parallel()
	var cc connCounter
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n == 0 {
			io.WriteString(w, "end")
			return
		}
		w.Header().Set("Location", "/"+strconv.Itoa(n-1))
		w.WriteHeader(http.StatusFound)
		w.Write(bytes.Repeat([]byte("x"), 2<<10)) // a body to drain
	}))
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t)
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL+"/5", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, out.Response().Body)
		out.Close()
	}
	if n := hits.Load(); n != 18 {
		t.Errorf("%d requests, want 18", n)
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("%d connections for 3 chains of 5 redirects, want 1", n)
	}
}

// TestRedirectCookieJar: with a jar, net/http adds the jar's cookies to
// the header of each request it sends; every hop must still start from the
// caller's headers, so no cookie arrives twice.
func TestRedirectCookieJar(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var cookies []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "jar", Value: "1", Path: "/"})
			http.Redirect(w, r, "/step", http.StatusFound)
		case "/step":
			http.Redirect(w, r, "/home", http.StatusFound)
		default:
			mu.Lock()
			cookies = append(cookies, r.Header.Values("Cookie")...)
			mu.Unlock()
		}
	}))
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "pre", Value: "1", Path: "/"}})
	c := newTestClient(t, WithHTTPClient(&http.Client{Jar: jar}))
	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.Header.Set("Cookie", "mine=1")
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(cookies, "; ")
	for _, c := range []string{"mine=1", "pre=1", "jar=1"} {
		if strings.Count(all, c) != 1 {
			t.Errorf("cookies at /home: %q, want %s once", all, c)
		}
	}
}

func TestRedirectFragment(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	c := newTestClient(t)
	for _, tc := range []struct{ loc, want string }{
		{"/land", "orig"},     // inherited (RFC 9110 §10.2.2)
		{"/land#own", "own"},  // its own
		{"?code=200", "orig"}, // query-only reference
		{"//" + rec.srv.Listener.Addr().String() + "/land", "orig"},
	} {
		req, _ := http.NewRequest("GET", rec.redirect(302, tc.loc)+"#orig", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if h := out.Info().Hops; len(h) != 1 || h[0].Location.Fragment != tc.want {
			t.Errorf("%s: hops %+v, want fragment %q", tc.loc, h, tc.want)
		}
	}
}

func TestRedirectMemoryTarget(t *testing.T) {
	t.Parallel()
	m := newRedirectMemory(4)
	from, _ := url.Parse("http://a.example/old")
	to, _ := url.Parse("http://u:p@a.example/new")
	m.put(from, "", to, 308, false)
	other, _ := url.Parse("http://b.example/x")
	m.put(other, "", from, 308, true)

	cur, _ := url.Parse("http://me:pw@a.example/old#frag")
	e, ok := m.get(cur, "")
	if !ok {
		t.Fatal("not found by a URL with other userinfo and a fragment")
	}
	got := e.target(cur)
	if got.String() != "http://me:pw@a.example/new#frag" {
		t.Errorf("target %s: want the caller's userinfo and fragment, not the stored ones", got)
	}
	// Cross origin: no userinfo travels.
	e.to.Host = "c.example"
	if got := e.target(cur); got.User != nil {
		t.Errorf("userinfo sent to another origin: %s", got)
	}
}

func TestRedirectErrorMessage(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL { v, _ := url.Parse(s); return v }
	e := &RedirectError{Err: ErrRedirectLoop, Hops: []Hop{
		{StatusCode: 302, Method: "GET", URL: u("http://u:secret@h/a?token=1"), Location: u("http://h/b")},
		{StatusCode: 301, Method: "GET", URL: u("http://h/b"), Location: nil},
	}}
	// The chain goes on from the request's URL, which the RequestError
	// around it names once.
	want := "semhttp: redirect loop: -302-> http://h/b -301-> (unusable Location)"
	if e.Error() != want {
		t.Errorf("got  %q\nwant %q", e.Error(), want)
	}
	re := &RequestError{Method: "GET", URL: "http://h/a", Attempts: 1, Err: e}
	if want := "GET http://h/a: " + want; re.Error() != want {
		t.Errorf("got  %q\nwant %q", re.Error(), want)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", e), ErrRedirectLoop) {
		t.Error("errors.Is through RedirectError")
	}
}

func FuzzRedirectTarget(f *testing.F) {
	for _, s := range [][2]string{
		{"http://a.example/x/y?q#f", "/z"},
		{"https://a.example/", "http://b.example/"},
		{"http://a.example/", "javascript:alert(1)"},
		{"http://a.example/", "//b.example:8080/p#g"},
		{"http://u:p@a.example/", "../up"},
		{"http://a.example/", "http://user:pass@b.example/"},
		{"http://a.example/", "http://[::1"},
		{"http://a.example/", "/a\r\nb"},
		{"http://a.example/", "http:opaque"},
		{"http://a.example/", "?only=query"},
		{"http://a.example/", "#"},
		{"http://a.example/", "HTTPS://B.EXAMPLE/%2e%2e/x"},
	} {
		f.Add(s[0], s[1])
	}
	rc := redirectConfig{}.resolved()
	f.Fuzz(func(t *testing.T, base, raw string) {
		b, err := url.Parse(base)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
			return
		}
		loc, own, err := redirectTarget(b, []string{raw})
		if err != nil {
			if !errors.Is(err, ErrBadLocation) {
				t.Fatalf("error %v does not wrap ErrBadLocation", err)
			}
			return
		}
		if !own && loc.Fragment != b.Fragment {
			t.Fatalf("fragment %q not inherited from %q", loc.Fragment, b.Fragment)
		}
		if loc.User != nil && loc.User != b.User {
			t.Fatalf("userinfo %v from the Location %q accepted", loc.User, raw)
		}
		if err := rc.checkTarget(b, loc); err != nil {
			if !errors.Is(err, ErrBadRedirectScheme) && !errors.Is(err, ErrBadLocation) && !errors.Is(err, ErrInsecureRedirect) {
				t.Fatalf("checkTarget error %v", err)
			}
			return
		}
		if loc.Scheme != "http" && loc.Scheme != "https" {
			t.Fatalf("scheme %q accepted", loc.Scheme)
		}
		if loc.Hostname() == "" {
			t.Fatalf("no host accepted: %q", raw)
		}
		if b.Scheme == "https" && loc.Scheme == "http" {
			t.Fatalf("https → http accepted")
		}
		for _, c := range []byte(loc.String()) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control character in %q", loc.String())
			}
		}
	})
}

// TestRedirectLocationVisible: the Location is hidden from net/http's
// inner Client only; the retry decider and the caller see it as sent.
func TestRedirectLocationVisible(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t)
	var seen atomic.Value
	c := newTestClient(t, WithRedirectPolicy(FollowNone), WithRetryPolicy(RetryPolicy{
		Decide: func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
			if resp != nil {
				seen.Store(resp.Header.Get("Location"))
			}
			return DefaultRetryDecider(ctx, req, resp, err)
		},
	}))
	req, _ := http.NewRequest("GET", rec.redirect(307, "/visible"), nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if got, _ := seen.Load().(string); got != "/visible" {
		t.Errorf("decider saw Location %q", got)
	}
	h := out.Response().Header
	if h.Get("Location") != "/visible" || len(h) == 0 || h[hiddenLocation] != nil {
		t.Errorf("response header %v", h)
	}
}

func ExampleWithRedirectPolicy() {
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := New(WithRedirectPolicy(FollowNone))
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/old", strings.NewReader(`{"n":1}`))
	out, err := c.Send(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer out.Close()
	if r, ok := out.(*Redirect); ok {
		fmt.Println(r.StatusCode(), r.Location.Path, "permanent:", r.Permanent, "method kept:", r.MethodKept)
	}
	// Output: 308 /new permanent: true method kept: true
}

func ExampleRedirectError() {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/a", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := New()
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a", nil)
	_, err := c.Send(req)
	var re *RedirectError
	if errors.As(err, &re) && errors.Is(err, ErrRedirectLoop) {
		for _, h := range re.Hops {
			fmt.Println(h.StatusCode, h.URL.Path, "->", h.Location.Path)
		}
	}
	// Output:
	// 302 /a -> /b
	// 302 /b -> /a
	// 302 /a -> /b
}

// TestRedirectMemoryPerCredentials: what one user was permanently
// redirected to is never applied to another user's request.
func TestRedirectMemoryPerCredentials(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/me":
			user := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.Header().Set("Location", "/users/"+user)
			w.WriteHeader(http.StatusPermanentRedirect)
		default:
			io.WriteString(w, "profile of "+strings.TrimPrefix(r.URL.Path, "/users/"))
		}
	}))
	c := newTestClient(t, WithCache(nil))
	get := func(user string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+user)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		b, _ := io.ReadAll(out.Response().Body)
		return string(b)
	}
	for _, user := range []string{"alice", "bob", "alice", "bob"} {
		if got := get(user); got != "profile of "+user {
			t.Fatalf("%s got %q", user, got)
		}
	}
}
