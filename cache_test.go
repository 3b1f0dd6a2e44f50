package semhttp

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// ---- helpers ----

// countingConn counts the bytes the client reads from the wire. Counting on
// the client side is race-free: a byte is counted before it is handed to
// the response.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingTransport is an http.Transport whose connections count the bytes
// they read into n.
func countingTransport(n *atomic.Int64) *http.Transport {
	d := &net.Dialer{}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c, n: n}, nil
		},
	}
}

// resource is a test origin for one URL: GET through http.ServeContent (so
// preconditions are evaluated exactly as net/http does), PUT/DELETE with
// If-Match checked by strong comparison. It records each request's header.
type resource struct {
	mu             sync.Mutex
	body           []byte
	etag           string // as sent, e.g. `"v1"`; empty: none
	mod            time.Time
	extra          http.Header // added to every response
	requireIfMatch bool        // writes without If-Match get 428
	reqs           []http.Header
	codes          []int
}

func (r *resource) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req.Header.Clone())
	rec := &codeRecorder{ResponseWriter: w}
	for k, vs := range r.extra {
		w.Header()[k] = vs
	}
	if r.etag != "" {
		w.Header().Set("ETag", r.etag)
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		http.ServeContent(rec, req, "", r.mod, bytes.NewReader(r.body))
	case http.MethodPut, http.MethodDelete:
		im := req.Header.Get("If-Match")
		switch {
		case im == "" && r.requireIfMatch:
			rec.WriteHeader(http.StatusPreconditionRequired)
		case im != "" && (strings.HasPrefix(r.etag, "W/") || im != r.etag):
			rec.WriteHeader(http.StatusPreconditionFailed)
		default:
			b, _ := io.ReadAll(req.Body)
			r.body = b
			r.etag = fmt.Sprintf(`"v%d"`, len(r.reqs))
			w.Header().Set("ETag", r.etag)
			rec.WriteHeader(http.StatusNoContent)
		}
	default:
		rec.WriteHeader(http.StatusMethodNotAllowed)
	}
	r.codes = append(r.codes, rec.code)
}

func (r *resource) set(body, etag string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.body, r.etag = []byte(body), etag
}

// last returns the header of the last request and the code it got.
func (r *resource) last() (http.Header, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1], r.codes[len(r.codes)-1]
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(p)
}

func get(t testing.TB, url string, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return req
}

// sendRead sends req and reads the body of the outcome to the end, as
// generic code would: a *NotModified reads as its representation.
func sendRead(t testing.TB, c *Client, req *http.Request) (Outcome, string) {
	t.Helper()
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	b, err := io.ReadAll(out.Response().Body)
	if err != nil {
		t.Fatal(err)
	}
	return out, string(b)
}

func doRead(t testing.TB, c *Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// ---- revalidation round trips ----

func TestCacheETagRevalidation(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("e", 10<<10)
	res := &resource{body: []byte(body), etag: `"v1"`}
	srv := newServer(t, res)
	var wire atomic.Int64
	c := newTestClient(t, WithTransport(countingTransport(&wire)))

	out, got := sendRead(t, c, get(t, srv.URL))
	if _, ok := out.(*OK); !ok || got != body {
		t.Fatalf("first GET: %T, %d bytes", out, len(got))
	}
	full := wire.Swap(0)
	if h, _ := res.last(); h.Get("If-None-Match") != "" {
		t.Fatalf("first GET sent If-None-Match %q", h.Get("If-None-Match"))
	}

	out, got = sendRead(t, c, get(t, srv.URL))
	nm, ok := out.(*NotModified)
	if !ok {
		t.Fatalf("second GET: %T, want *NotModified", out)
	}
	h, code := res.last()
	if h.Get("If-None-Match") != `"v1"` || code != http.StatusNotModified {
		t.Fatalf("server saw If-None-Match %q and answered %d", h.Get("If-None-Match"), code)
	}
	if got != body || !nm.Info().FromCache || nm.Response().Header.Get(CacheHeader) != "revalidated" {
		t.Fatalf("cached body %d bytes, FromCache %v, %s %q", len(got), nm.Info().FromCache,
			CacheHeader, nm.Response().Header.Get(CacheHeader))
	}
	revalidated := wire.Swap(0)
	t.Logf("wire bytes: full 200 = %d, 304 = %d", full, revalidated)
	if full < int64(len(body)) || revalidated >= 1024 {
		t.Fatalf("wire bytes: full %d, revalidated %d; the 304 must carry no body", full, revalidated)
	}

	// The resource changes: the stale ETag gets a 200, which replaces it.
	res.set("second version", `"v2"`)
	out, got = sendRead(t, c, get(t, srv.URL))
	if _, ok := out.(*OK); !ok || got != "second version" {
		t.Fatalf("after change: %T %q", out, got)
	}
	out, got = sendRead(t, c, get(t, srv.URL))
	if _, ok := out.(*NotModified); !ok || got != "second version" {
		t.Fatalf("after change, revalidated: %T %q", out, got)
	}
	if h, _ := res.last(); h.Get("If-None-Match") != `"v2"` {
		t.Fatalf("If-None-Match %q, want the new tag only", h.Get("If-None-Match"))
	}
}

func TestCacheLastModifiedRevalidation(t *testing.T) {
	t.Parallel()
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	// no-cache: without it, Last-Modified alone gives a heuristic
	// lifetime (RFC 9111 §4.2.2) and the next GET would not be sent.
	res := &resource{body: []byte(strings.Repeat("m", 4096)), mod: mod, extra: http.Header{"Cache-Control": {"no-cache"}}}
	srv := newServer(t, res)
	var wire atomic.Int64
	c := newTestClient(t, WithTransport(countingTransport(&wire)))

	sendRead(t, c, get(t, srv.URL))
	wire.Store(0)
	out, got := sendRead(t, c, get(t, srv.URL))
	if _, ok := out.(*NotModified); !ok || got != string(res.body) {
		t.Fatalf("%T with %d bytes, want *NotModified with the stored body", out, len(got))
	}
	h, _ := res.last()
	if h.Get("If-Modified-Since") != mod.Format(http.TimeFormat) || h.Get("If-None-Match") != "" {
		t.Fatalf("validators sent: IMS %q INM %q", h.Get("If-Modified-Since"), h.Get("If-None-Match"))
	}
	if n := wire.Load(); n >= 1024 {
		t.Fatalf("304 read %d bytes from the wire", n)
	}
	// Modified later: a full response.
	res.mu.Lock()
	res.mod, res.body = mod.Add(time.Hour), []byte("newer")
	res.mu.Unlock()
	if out, got := sendRead(t, c, get(t, srv.URL)); out.StatusCode() != 200 || got != "newer" {
		t.Fatalf("after modification: %d %q", out.StatusCode(), got)
	}
}

// TestCacheVary stores one response per Accept value (RFC 9111 §4.1), the
// values normalized, and revalidates each with its own ETag; a request
// whose Accept matches no stored response is not made conditional.
func TestCacheVary(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var inms []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inms = append(inms, r.Header.Get("If-None-Match"))
		mu.Unlock()
		tag, body := `"j1"`, `{"v":1}`
		if strings.TrimSpace(r.Header.Get("Accept")) == "application/xml" {
			tag, body = `"x1"`, `<v>1</v>`
		}
		w.Header().Set("Vary", "Accept")
		w.Header().Set("ETag", tag)
		if strings.Contains(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, body)
	}))
	store := &MemoryStore{}
	c := newTestClient(t, WithCache(store))
	lastINM := func() string { mu.Lock(); defer mu.Unlock(); return inms[len(inms)-1] }

	if _, got := sendRead(t, c, get(t, srv.URL, "Accept", "application/json")); got != `{"v":1}` {
		t.Fatalf("json: %q", got)
	}
	out, got := sendRead(t, c, get(t, srv.URL, "Accept", "application/xml"))
	if out.StatusCode() != 200 || got != `<v>1</v>` || lastINM() != "" {
		t.Fatalf("xml: %d %q, If-None-Match %q (no stored response matched)", out.StatusCode(), got, lastINM())
	}
	if store.Len() != 3 {
		t.Fatalf("%d entries stored, want one per Accept value and the Vary index", store.Len())
	}
	for _, tc := range []struct{ accept, body, tag string }{
		{"application/json", `{"v":1}`, `"j1"`},
		{"application/xml", `<v>1</v>`, `"x1"`},
		{"  application/xml ", `<v>1</v>`, `"x1"`}, // whitespace is normalized
	} {
		out, got := sendRead(t, c, get(t, srv.URL, "Accept", tc.accept))
		if _, ok := out.(*NotModified); !ok || got != tc.body || lastINM() != tc.tag {
			t.Fatalf("Accept %q: %T %q, If-None-Match %q", tc.accept, out, got, lastINM())
		}
	}
	// A third Accept value matches no stored response: a plain GET.
	out, got = sendRead(t, c, get(t, srv.URL, "Accept", "*/*"))
	if _, ok := out.(*OK); !ok || got != `{"v":1}` || lastINM() != "" {
		t.Fatalf("Accept */*: %T %q, If-None-Match %q", out, got, lastINM())
	}
}

func TestCacheVaryStarNotStored(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte("x"), etag: `"s"`, extra: http.Header{"Vary": {"Accept, *"}}}
	srv := newServer(t, res)
	store := &MemoryStore{}
	c := newTestClient(t, WithCache(store))
	sendRead(t, c, get(t, srv.URL))
	sendRead(t, c, get(t, srv.URL))
	if h, _ := res.last(); h.Get("If-None-Match") != "" || store.Len() != 0 {
		t.Fatalf("Vary: * stored (%d entries, INM %q)", store.Len(), h.Get("If-None-Match"))
	}
}

func TestCacheNoStore(t *testing.T) {
	t.Parallel()
	t.Run("response", func(t *testing.T) {
		t.Parallel()
		res := &resource{body: []byte("secret"), etag: `"n"`, extra: http.Header{"Cache-Control": {"private, No-Store"}}}
		srv := newServer(t, res)
		store := &MemoryStore{}
		c := newTestClient(t, WithCache(store))
		sendRead(t, c, get(t, srv.URL))
		resp, _ := doRead(t, c, get(t, srv.URL))
		if h, _ := res.last(); h.Get("If-None-Match") != "" || store.Len() != 0 || resp.StatusCode != 200 {
			t.Fatalf("no-store response was stored: %d entries, INM %q", store.Len(), h.Get("If-None-Match"))
		}
		if _, wrapped := resp.Body.(*cacheBody); wrapped {
			t.Fatal("a no-store response body was wrapped")
		}
	})
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		res := &resource{body: []byte("x"), etag: `"n"`}
		srv := newServer(t, res)
		store := &MemoryStore{}
		c := newTestClient(t, WithCache(store))
		sendRead(t, c, get(t, srv.URL, "Cache-Control", "no-store"))
		sendRead(t, c, get(t, srv.URL))
		if h, _ := res.last(); h.Get("If-None-Match") != "" {
			t.Fatalf("a response to a no-store request was stored (INM %q)", h.Get("If-None-Match"))
		}
		// Stored now (the plain GET); a no-store request neither uses nor
		// stores it.
		sendRead(t, c, get(t, srv.URL, "Cache-Control", "no-store"))
		if h, _ := res.last(); h.Get("If-None-Match") != "" {
			t.Fatalf("no-store request was made conditional (INM %q)", h.Get("If-None-Match"))
		}
	})
}

// ---- bodies: only complete ones are kept ----

func TestCacheTruncatedBodyNotStored(t *testing.T) {
	t.Parallel()
	var cut atomic.Bool
	cut.Store(true)
	var inm atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inm.Store(r.Header.Get("If-None-Match"))
		w.Header().Set("ETag", `"t"`)
		w.Header().Set("Content-Length", "1000")
		if cut.Load() {
			w.Write(make([]byte, 500))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}
		w.Write(make([]byte, 1000))
	}))
	store := &MemoryStore{}
	c := newTestClient(t, WithCache(store), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	out, err := c.Send(get(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	n, rerr := io.Copy(io.Discard, out.Response().Body)
	out.Close()
	if rerr == nil {
		t.Fatalf("read %d bytes of a cut body without error", n)
	}
	if store.Len() != 0 {
		t.Fatal("a truncated body was stored")
	}
	cut.Store(false)
	sendRead(t, c, get(t, srv.URL))
	if v := inm.Load(); v != "" {
		t.Fatalf("request after a truncated body carried If-None-Match %q", v)
	}
	if store.Len() != 1 {
		t.Fatal("the complete body was not stored")
	}
}

func TestCacheBodyReadToEnd(t *testing.T) {
	t.Parallel()
	res := &resource{body: bytes.Repeat([]byte("r"), 64<<10), etag: `"r"`}
	srv := newServer(t, res)

	t.Run("closed early", func(t *testing.T) {
		t.Parallel()
		store := &MemoryStore{}
		c := newTestClient(t, WithCache(store))
		resp, err := c.Do(get(t, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(resp.Body, make([]byte, 10))
		resp.Body.Close()
		if store.Len() != 0 {
			t.Fatal("a body closed after 10 bytes was stored")
		}
	})
	t.Run("every byte read, closed before EOF", func(t *testing.T) {
		t.Parallel()
		store := &MemoryStore{}
		// A body that hands over its last byte without io.EOF, as a
		// decoder that stops at the end of a JSON value would see it.
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		var rt roundTripperFunc = func(r *http.Request) (*http.Response, error) {
			resp, err := tr.RoundTrip(r)
			if err == nil {
				resp.Body = noEOFBody{resp.Body}
			}
			return resp, err
		}
		c := newTestClient(t, WithCache(store), WithTransport(rt))
		resp, err := c.Do(get(t, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.ReadFull(resp.Body, make([]byte, len(res.body))); err != nil || n != len(res.body) {
			t.Fatal(n, err)
		}
		resp.Body.Close()
		if store.Len() != 1 {
			t.Fatal("a body read to its Content-Length was not stored")
		}
	})
	t.Run("over the entry limit mid-stream", func(t *testing.T) {
		t.Parallel()
		chunked := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"big"`)
			for range 8 { // chunked: no Content-Length to decide on up front
				w.Write(make([]byte, 1024))
				w.(http.Flusher).Flush()
			}
		}))
		// The store would take the body; the client must stop keeping a
		// copy at the store's entry limit, whatever the store then says.
		store := &smallEntryStore{MemoryStore: &MemoryStore{MaxEntry: 1 << 20}, max: 4096}
		c := newTestClient(t, WithCache(store))
		resp, body := doRead(t, c, get(t, chunked.URL))
		if len(body) != 8192 || resp.ContentLength != -1 {
			t.Fatalf("read %d bytes, Content-Length %d", len(body), resp.ContentLength)
		}
		if store.Len() != 0 {
			t.Fatal("a body over the entry limit was stored")
		}
	})
	t.Run("declared over the entry limit is not wrapped", func(t *testing.T) {
		t.Parallel()
		store := &MemoryStore{MaxEntry: 1024}
		c := newTestClient(t, WithCache(store))
		resp, err := c.Do(get(t, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, wrapped := resp.Body.(*cacheBody); wrapped {
			t.Fatal("a body longer than the entry limit was wrapped")
		}
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noEOFBody withholds io.EOF when it comes with the last bytes.
type noEOFBody struct{ io.ReadCloser }

func (b noEOFBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// smallEntryStore announces a smaller entry limit than it enforces.
type smallEntryStore struct {
	*MemoryStore
	max int64
}

func (s *smallEntryStore) MaxEntryBytes() int64 { return s.max }

// TestCacheFastPath: a response without validators costs no wrapper.
func TestCacheFastPath(t *testing.T) {
	t.Parallel()
	plain := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "no validators")
	}))
	res := &resource{body: []byte("validated"), etag: `"f"`}
	withTag := newServer(t, res)
	c := newTestClient(t)
	resp, err := c.Do(get(t, plain.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, wrapped := resp.Body.(*cacheBody); wrapped {
		t.Fatal("a response without validators was wrapped")
	}
	resp, err = c.Do(get(t, withTag.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, wrapped := resp.Body.(*cacheBody); !wrapped {
		t.Fatal("the default client does not cache: a response with an ETag was not wrapped")
	}
	// WithoutCache turns it all off.
	off := newTestClient(t, WithCache(nil))
	doRead(t, off, get(t, withTag.URL))
	doRead(t, off, get(t, withTag.URL))
	if h, _ := res.last(); h.Get("If-None-Match") != "" {
		t.Fatal("WithoutCache added If-None-Match")
	}
}

// ---- the store ----

func TestMemoryStoreEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	entry := func(n int) *Entry {
		return &Entry{Variant: "\n", StatusCode: 200, Header: http.Header{}, Body: make([]byte, n)}
	}
	one := entry(1000).size() + int64(len("GET a"))
	s := &MemoryStore{MaxBytes: 3 * one, MaxEntry: 2000}
	for _, k := range []string{"GET a", "GET b", "GET c"} {
		if err := s.Put(ctx, k, entry(1000)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 3 || s.Bytes() != 3*one {
		t.Fatalf("Len %d Bytes %d, want 3 and %d", s.Len(), s.Bytes(), 3*one)
	}
	s.Get(ctx, "GET a", "\n") // a is now more recent than b
	s.Put(ctx, "GET d", entry(1000))
	if e, _ := s.Get(ctx, "GET b", "\n"); e != nil {
		t.Fatal("the least recently used entry (b) was not evicted")
	}
	for _, k := range []string{"GET a", "GET c", "GET d"} {
		if e, _ := s.Get(ctx, k, "\n"); e == nil {
			t.Fatalf("%s was evicted", k)
		}
	}
	if s.Bytes() > 3*one {
		t.Fatalf("Bytes %d over the limit %d", s.Bytes(), 3*one)
	}
	// Replacing a variant does not add an entry; another variant does.
	s.Put(ctx, "GET a", entry(10))
	if e, _ := s.Get(ctx, "GET a", "\n"); e == nil || len(e.Body) != 10 {
		t.Fatal("Put did not replace the entry with the same Variant")
	}
	v := entry(10)
	v.Variant = "\nAccept:x"
	s.Put(ctx, "GET a", v)
	if e, _ := s.Get(ctx, "GET a", "\nAccept:x"); e == nil || s.Len() != 4 {
		t.Fatalf("another Variant under one key: %v, %d entries, want 4", e, s.Len())
	}
	if err := s.Put(ctx, "GET e", entry(2001)); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("oversized body: %v, want ErrBodyTooLarge", err)
	}
	if err := (&MemoryStore{MaxBytes: 100}).Put(ctx, "GET f", entry(50)); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("entry larger than the whole store: %v", err)
	}
	s.Delete(ctx, "GET a")
	for _, v := range []string{"\n", "\nAccept:x"} {
		if e, _ := s.Get(ctx, "GET a", v); e != nil {
			t.Fatalf("Delete left the entry of Variant %q", v)
		}
	}
	if s.Len() != 2 {
		t.Fatalf("%d entries after the deleted ones were looked up, want 2 (reclaimed)", s.Len())
	}
	var zero MemoryStore // the zero value works, with the defaults
	if zero.MaxEntryBytes() != defaultCacheMaxEntry || zero.Put(ctx, "GET z", entry(1)) != nil || zero.Len() != 1 {
		t.Fatal("zero MemoryStore is not usable")
	}
}

// TestCacheEvictionThroughClient: at the byte limit the least recently
// used response goes, and is then fetched in full.
func TestCacheEvictionThroughClient(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	res := map[string]*resource{}
	for _, p := range []string{"/a", "/b", "/c"} {
		res[p] = &resource{body: bytes.Repeat([]byte(p[1:]), 3000), etag: `"` + p[1:] + `"`}
		mux.Handle(p, res[p])
	}
	srv := newServer(t, mux)
	store := &MemoryStore{MaxBytes: 9000} // room for two 3000-byte bodies and their headers, not three
	c := newTestClient(t, WithCache(store))
	for _, p := range []string{"/a", "/b", "/c"} {
		sendRead(t, c, get(t, srv.URL+p))
	}
	if store.Len() != 2 || store.Bytes() > 9000 {
		t.Fatalf("Len %d Bytes %d", store.Len(), store.Bytes())
	}
	if out, _ := sendRead(t, c, get(t, srv.URL+"/a")); out.StatusCode() != 200 {
		t.Fatalf("evicted /a: %d, want a full 200", out.StatusCode())
	}
	if out, _ := sendRead(t, c, get(t, srv.URL+"/a")); out.StatusCode() != 304 {
		t.Fatalf("/a stored again: %d, want 304", out.StatusCode())
	}
}

// gobStore stands for a shared store (Redis and the like): entries cross it
// encoded, one hash field per Variant, so nothing is shared by pointer.
type gobStore struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
}

func (s *gobStore) Get(_ context.Context, key, variant string) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key][variant]
	if !ok {
		return nil, nil
	}
	var e Entry
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *gobStore) Put(_ context.Context, key string, e *Entry) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[string][]byte{}
	}
	if s.m[key] == nil {
		s.m[key] = map[string][]byte{}
	}
	s.m[key][e.Variant] = buf.Bytes()
	return nil
}

func (s *gobStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *gobStore) MaxEntryBytes() int64 { return 1 << 20 }

func TestCacheSharedStoreShape(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte("shared"), etag: `"g"`}
	srv := newServer(t, res)
	store := &gobStore{}
	a := newTestClient(t, WithCache(store))
	b := newTestClient(t, WithCache(store))
	sendRead(t, a, get(t, srv.URL))
	out, got := sendRead(t, b, get(t, srv.URL)) // another client, same store
	if _, ok := out.(*NotModified); !ok || got != "shared" {
		t.Fatalf("%T %q", out, got)
	}
}

// ---- concurrency ----

func TestCacheConcurrentGets(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("c", 8<<10)
	res := &resource{body: []byte(body), etag: `"c"`}
	srv := newServer(t, res)
	c := newTestClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, 32*5)
	for range 32 {
		wg.Go(func() {
			for range 5 {
				resp, err := c.Do(get(t, srv.URL))
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != body || resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d, %d bytes, %v", resp.StatusCode, len(b), err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	n304 := 0
	for _, code := range res.codes {
		if code == 304 {
			n304++
		}
	}
	if n304 == 0 {
		t.Fatal("no request was revalidated")
	}
	t.Logf("%d of %d requests answered 304", n304, len(res.codes))
}

// ---- 304 freshening (RFC 9111 §4.3.4, §3.2) ----

func TestCacheNotModifiedFreshensHeaders(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", `"f1"`)
		if r.Header.Get("If-None-Match") == "" {
			h.Set("Content-Type", "text/plain")
			h.Set("X-Version", "1")
			h.Set("Cache-Control", "no-cache") // revalidated every time
			io.WriteString(w, "fresh body")
			return
		}
		// Written raw: net/http's server would drop Content-Length from a
		// 304, and some servers send it.
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(bw, "HTTP/1.1 304 Not Modified\r\nETag: \"f1\"\r\nX-Version: %d\r\n"+
			"Cache-Control: no-cache, max-age=2\r\nContent-Length: 999\r\nConnection: X-Hop\r\nX-Hop: hop\r\n\r\n",
			n.Add(1)+1)
		bw.Flush()
	}))
	store := &MemoryStore{}
	c := newTestClient(t, WithCache(store))
	sendRead(t, c, get(t, srv.URL))
	out, got := sendRead(t, c, get(t, srv.URL))
	nm := out.(*NotModified)
	ch := nm.Response().Header
	if got != "fresh body" || ch.Get("X-Version") != "2" || ch.Get("Cache-Control") != "no-cache, max-age=2" ||
		ch.Get("Content-Type") != "text/plain" || ch.Get("Content-Length") != "10" || ch.Get("X-Hop") != "" {
		t.Fatalf("freshened: body %q, header %v", got, ch)
	}
	// The store holds the freshened header.
	e, _ := store.Get(context.Background(), "GET "+srv.URL, "\n")
	if e == nil || e.Header.Get("X-Version") != "2" || e.Header.Get(CacheHeader) != "" {
		t.Fatalf("stored entry not updated: %v", e)
	}
	// And the next revalidation builds on it.
	out, _ = sendRead(t, c, get(t, srv.URL))
	if v := out.(*NotModified).Response().Header.Get("X-Version"); v != "3" {
		t.Fatalf("X-Version %q after a second 304", v)
	}
}

// TestCacheNotModifiedSelection: a 304 selects the stored response whose
// validators were sent when its ETag matches it — strongly, or weakly for
// a weak one (RFC 9111 §4.3.4, RFC 9110 §8.8.3.2).
func TestCacheNotModifiedSelection(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := func(tag, body string) *Entry {
		return &Entry{Variant: "\n", URL: "http://x/", StatusCode: 200,
			Header: http.Header{"Etag": {tag}}, Body: []byte(body), Stored: now}
	}
	for _, tc := range []struct {
		stored, tag string
		selects     bool
	}{
		{`"s"`, `"s"`, true},       // strong matches strong
		{`"s"`, `W/"s"`, true},     // a weak 304 matches weakly
		{`W/"w"`, `W/"w"`, true},   // weak matches weak
		{`W/"w"`, `"w"`, false},    // a strong tag does not match a weak stored one
		{`"s"`, `"zzz"`, false},    // another tag
		{`"s"`, `unquoted`, false}, // an invalid tag selects nothing
	} {
		store := &MemoryStore{}
		c := New(WithCache(store))
		req, _ := http.NewRequest("GET", "http://x/", nil)
		cs := &cacheCall{on: true, get: true, key: "GET http://x/", selected: e(tc.stored, "body"), added: true, orig: req}
		resp := &http.Response{StatusCode: 304, Header: http.Header{"Etag": {tc.tag}}, Request: req, Body: http.NoBody}
		got := c.revalidated(cs, resp)
		if (got != nil) != tc.selects {
			t.Fatalf("stored %s, 304 %s: selected %v, want %v", tc.stored, tc.tag, got != nil, tc.selects)
		}
		if got != nil {
			if b, _ := io.ReadAll(got.Body); string(b) != "body" || store.Len() != 1 {
				t.Fatalf("stored %s, 304 %s: answered %q, %d stored", tc.stored, tc.tag, b, store.Len())
			}
		}
	}
}

// TestCacheNotModifiedWithoutMatch: a 304 naming a tag the client does not
// hold selects nothing stored (RFC 9111 §4.3.4); the caller asked for no
// 304, so Send and Do alike ask again without validators.
func TestCacheNotModifiedWithoutMatch(t *testing.T) {
	t.Parallel()
	var plain atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.Header().Set("ETag", `"other"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		plain.Add(1)
		w.Header().Set("ETag", `"mine"`)
		io.WriteString(w, "representation")
	}))
	c := newTestClient(t)
	sendRead(t, c, get(t, srv.URL))
	out, body := sendRead(t, c, get(t, srv.URL))
	if _, ok := out.(*OK); !ok || body != "representation" || out.Info().FromCache || plain.Load() != 2 {
		t.Fatalf("Send: %T %q after %d unconditional requests; want the 200 fetched again", out, body, plain.Load())
	}
	resp, body := doRead(t, c, get(t, srv.URL))
	if resp.StatusCode != 200 || body != "representation" || plain.Load() != 3 {
		t.Fatalf("Do: %d %q after %d unconditional requests; want the 200 fetched again", resp.StatusCode, body, plain.Load())
	}
}

// ---- Do and the caller's own conditionals ----

func TestCacheDoTransparency(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte(`{"name":"doer"}`), etag: `"d1"`, extra: http.Header{"Content-Type": {"application/json"}}}
	srv := newServer(t, res)
	c := newTestClient(t)
	doRead(t, c, get(t, srv.URL))
	resp, body := doRead(t, c, get(t, srv.URL))
	if _, code := res.last(); code != 304 {
		t.Fatalf("server answered %d, want 304", code)
	}
	if resp.StatusCode != 200 || body != `{"name":"doer"}` || resp.Header.Get(CacheHeader) != "revalidated" ||
		resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != int64(len(body)) {
		t.Fatalf("Do: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// A captured outcome of Do is the stored 200, marked as from the cache.
	var captured Outcome
	req := get(t, srv.URL)
	req = req.WithContext(WithRequestOptions(req.Context(), RequestOptions{Outcome: &captured}))
	if resp, body := doRead(t, c, req); resp.StatusCode != 200 || body != `{"name":"doer"}` {
		t.Fatalf("Do with capture: %d %q", resp.StatusCode, body)
	}
	if nm, isNM := captured.(*NotModified); !isNM || !nm.Info().FromCache || nm.Response().Header.Get(CacheHeader) == "" {
		t.Fatalf("captured %T, want *NotModified from the cache, as Send returns", captured)
	}
	// Decode through Send works on the cached representation.
	type doc struct{ Name string }
	v, err := Decode[doc](c.Send(get(t, srv.URL)))
	if err != nil || v.Name != "doer" {
		t.Fatalf("Decode: %+v %v", v, err)
	}

	// The caller's own validators: the 304 is theirs, untouched.
	resp, body = doRead(t, c, get(t, srv.URL, "If-None-Match", `"d1"`))
	if resp.StatusCode != 304 || body != "" || resp.Header.Get(CacheHeader) != "" {
		t.Fatalf("caller's conditional GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if h, _ := res.last(); h.Get("If-None-Match") != `"d1"` {
		t.Fatalf("the caller's If-None-Match was changed to %q", h.Get("If-None-Match"))
	}
	out, err := c.Send(get(t, srv.URL, "If-Modified-Since", time.Now().UTC().Format(http.TimeFormat), "If-None-Match", `"d1"`))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if nm, ok := out.(*NotModified); !ok || nm.Response().StatusCode != 304 || nm.StatusCode() != 304 || nm.Info().FromCache {
		t.Fatalf("Send with caller's conditionals: %T %d", out, out.Response().StatusCode)
	}
	if _, err := Decode[map[string]any](out, nil); !errors.Is(err, ErrNoResult) {
		t.Fatalf("Decode of the caller's own 304: %v, want ErrNoResult", err)
	}
}

// TestCacheCredentialsPartition: one caller's stored response never
// revalidates or answers another caller's request.
func TestCacheCredentialsPartition(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte("private"), etag: `"p"`}
	srv := newServer(t, res)
	c := newTestClient(t)
	sendRead(t, c, get(t, srv.URL, "Authorization", "Bearer alice"))
	sendRead(t, c, get(t, srv.URL, "Authorization", "Bearer bob"))
	if h, _ := res.last(); h.Get("If-None-Match") != "" {
		t.Fatal("bob's request carried alice's validator")
	}
	sendRead(t, c, get(t, srv.URL)) // no credentials: a partition of its own
	if h, _ := res.last(); h.Get("If-None-Match") != "" {
		t.Fatal("an anonymous request carried a credentialed validator")
	}
	out, _ := sendRead(t, c, get(t, srv.URL, "Authorization", "Bearer alice"))
	if _, ok := out.(*NotModified); !ok {
		t.Fatalf("alice again: %T, want *NotModified", out)
	}
	alice := get(t, srv.URL, "Authorization", "Bearer alice")
	e := c.cacheLookup(context.Background(), "GET "+srv.URL, requestPartition(alice, c.redirect.credentials), alice.Header)
	if e == nil || strings.Contains(e.Variant, "alice") || strings.Contains(e.Variant, "Bearer") {
		t.Fatalf("alice's entry %v: missing, or its credentials in clear", e)
	}
}

// ---- conditional writes ----

func TestCacheLostUpdatePrevented(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte("v0"), etag: `"v0"`}
	srv := newServer(t, res)
	alice := newTestClient(t, WithConditionalWrites())
	bob := newTestClient(t, WithCache(nil))
	put := func(body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader(body))
		return req
	}
	sendRead(t, alice, get(t, srv.URL)) // alice reads v0
	if out, err := bob.Send(put("bob's")); err != nil || out.StatusCode() != 204 {
		t.Fatalf("bob's unconditional write: %v %v", out, err)
	}
	out, err := alice.Send(put("alice's"))
	if err != nil {
		t.Fatal(err)
	}
	var pf *PreconditionFailed
	if !errors.As(out.Err(), &pf) {
		t.Fatalf("alice's stale write: %T, want *PreconditionFailed", out)
	}
	if h, _ := res.last(); h.Get("If-Match") != `"v0"` {
		t.Fatalf("If-Match %q, want the stored tag", h.Get("If-Match"))
	}
	if res.body2() != "bob's" {
		t.Fatalf("bob's update was lost: %q", res.body2())
	}
	// Alice reads again, then writes on the fresh tag.
	_, got := sendRead(t, alice, get(t, srv.URL))
	if got != "bob's" {
		t.Fatalf("re-read %q", got)
	}
	if out, err := alice.Send(put("alice's")); err != nil || out.StatusCode() != 204 {
		t.Fatalf("alice's write after re-reading: %v %v", out, err)
	}
	// The caller's own precondition is left alone.
	req := put("x")
	req.Header.Set("If-Match", `"mine"`)
	alice.Send(req)
	if h, _ := res.last(); h.Get("If-Match") != `"mine"` {
		t.Fatalf("caller's If-Match replaced by %q", h.Get("If-Match"))
	}
}

func (r *resource) body2() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.body)
}

func TestCachePreconditionRequired(t *testing.T) {
	t.Parallel()
	res := &resource{body: []byte("v0"), etag: `"v0"`, requireIfMatch: true}
	srv := newServer(t, res)
	c := newTestClient(t, WithConditionalWrites())
	req, _ := http.NewRequest(http.MethodDelete, srv.URL, nil)
	out, err := c.Send(req) // nothing read yet: nothing to send
	if err != nil {
		t.Fatal(err)
	}
	var pr *PreconditionRequired
	if !errors.As(out.Err(), &pr) {
		t.Fatalf("%T, want *PreconditionRequired", out)
	}
	sendRead(t, c, get(t, srv.URL))
	req, _ = http.NewRequest(http.MethodDelete, srv.URL, nil)
	if out, err := c.Send(req); err != nil || out.StatusCode() != 204 {
		t.Fatalf("DELETE after reading: %v %v", out, err)
	}
}

func TestCacheIfMatchHelper(t *testing.T) {
	t.Parallel()
	mod := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	strong := &resource{body: []byte("s"), etag: `"s1"`}
	weak := &resource{body: []byte("w"), etag: `W/"w1"`, mod: mod}
	mux := http.NewServeMux()
	mux.Handle("/strong", strong)
	mux.Handle("/weak", weak)
	srv := newServer(t, mux)
	c := newTestClient(t) // no WithConditionalWrites: writes stay as they are
	sendRead(t, c, get(t, srv.URL+"/strong"))
	sendRead(t, c, get(t, srv.URL+"/weak"))

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/strong", nil)
	r2, ok := c.IfMatch(req)
	if !ok || r2.Header.Get("If-Match") != `"s1"` || req.Header.Get("If-Match") != "" {
		t.Fatalf("IfMatch: %v %q (original %q)", ok, r2.Header.Get("If-Match"), req.Header.Get("If-Match"))
	}
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/weak", nil)
	r2, ok = c.IfMatch(req)
	if !ok || r2.Header.Get("If-Match") != "" || r2.Header.Get("If-Unmodified-Since") != mod.Format(http.TimeFormat) {
		t.Fatalf("weak tag: %v %v; want If-Unmodified-Since, never a weak If-Match", ok, r2.Header)
	}
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/never-read", nil)
	if r2, ok := c.IfMatch(req); ok || r2 != req {
		t.Fatal("IfMatch changed a request with nothing stored")
	}
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/strong", nil)
	c.Send(req)
	if h, _ := strong.last(); h.Get("If-Match") != "" {
		t.Fatal("a write was made conditional without WithConditionalWrites")
	}
}

// ---- invalidation (RFC 9111 §4.4) ----

func TestCacheInvalidation(t *testing.T) {
	t.Parallel()
	items := &resource{body: []byte("item"), etag: `"i"`}
	list := &resource{body: []byte("list"), etag: `"l"`}
	mux := http.NewServeMux()
	mux.Handle("/items/1", items)
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			list.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Location", r.URL.Query().Get("loc"))
		w.Header().Set("Content-Location", r.URL.Query().Get("cloc"))
		if r.URL.Query().Has("fail") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	srv := newServer(t, mux)
	store := &MemoryStore{}
	c := newTestClient(t, WithCache(store), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	stored := func(u string) bool { e, _ := store.Get(ctx, "GET "+u, "\n"); return e != nil }
	read := func(u string) {
		sendRead(t, c, get(t, u))
		if !stored(u) {
			t.Fatalf("%s not stored", u)
		}
	}
	send := func(method, u string) {
		req, _ := http.NewRequest(method, u, nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
	}

	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		read(srv.URL + "/items/1")
		send(m, srv.URL+"/items/1")
		if stored(srv.URL + "/items/1") {
			t.Fatalf("%s did not invalidate its target", m)
		}
		if _, got := sendRead(t, c, get(t, srv.URL+"/items/1")); got != items.body2() {
			t.Fatal(got)
		}
		if h, _ := items.last(); h.Get("If-None-Match") != "" {
			t.Fatalf("GET after %s still carried If-None-Match", m)
		}
	}

	// A failed write invalidates nothing.
	read(srv.URL + "/items/")
	send(http.MethodPost, srv.URL+"/items/?fail=1")
	other := "http://other.example/items/1"
	store.Put(ctx, "GET "+other, &Entry{Variant: "\n", Header: http.Header{"Etag": {`"o"`}}, URL: other})
	read(srv.URL + "/items/1")
	send(http.MethodPost, srv.URL+"/items/?fail=1&loc=/items/1")
	if !stored(srv.URL + "/items/1") {
		t.Fatal("a 500 invalidated Location")
	}
	// A 201 invalidates its Location and Content-Location on the same
	// origin only. (Its target here has a query, so /items/ stays.)
	send(http.MethodPost, srv.URL+"/items/?loc=/items/1&cloc="+other)
	if stored(srv.URL+"/items/1") || !stored(other) {
		t.Fatalf("after POST: /items/1 stored %v (want false), other origin stored %v (want true)",
			stored(srv.URL+"/items/1"), stored(other))
	}
	read(srv.URL + "/items/1")
	send(http.MethodPost, srv.URL+"/items/?cloc=/items/1")
	if stored(srv.URL + "/items/1") {
		t.Fatal("Content-Location was not invalidated")
	}
	send(http.MethodPost, srv.URL+"/items/")
	if stored(srv.URL + "/items/") {
		t.Fatal("POST did not invalidate its target")
	}
}

// ---- go-httpbin, the real peer ----

func TestCacheHTTPBin(t *testing.T) {
	t.Parallel()
	srv := newHTTPBin(t)
	t.Run("etag revalidation", func(t *testing.T) {
		t.Parallel()
		var wire atomic.Int64
		c := newTestClient(t, WithTransport(countingTransport(&wire)))
		out, first := sendRead(t, c, get(t, srv.URL+"/etag/abc"))
		if out.StatusCode() != 200 || !strings.Contains(first, `"method": "GET"`) {
			t.Fatalf("%d %q", out.StatusCode(), first)
		}
		full := wire.Swap(0)
		out, got := sendRead(t, c, get(t, srv.URL+"/etag/abc"))
		nm, ok := out.(*NotModified)
		if !ok || got != first || !nm.Info().FromCache {
			t.Fatalf("%T: %q", out, got)
		}
		if n := wire.Load(); n >= full-int64(len(first)) {
			t.Fatalf("304 read %d bytes, the full response %d", n, full)
		}
		// The doer sees the stored 200.
		resp, body := doRead(t, c, get(t, srv.URL+"/etag/abc"))
		if resp.StatusCode != 200 || body != first || resp.Header.Get(CacheHeader) != "revalidated" {
			t.Fatalf("Do: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("conditional write", func(t *testing.T) {
		t.Parallel()
		store := &MemoryStore{}
		c := newTestClient(t, WithCache(store), WithConditionalWrites())
		sendRead(t, c, get(t, srv.URL+"/etag/abc"))
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/etag/abc", nil)
		if out, err := c.Send(req); err != nil || out.StatusCode() != 200 {
			t.Fatalf("PUT with the current tag: %v %v", out, err)
		} else {
			out.Close()
		}
		// A stale read (the server's tag is now something else).
		store.Put(context.Background(), "GET "+srv.URL+"/etag/abc", &Entry{
			Variant: "\n", URL: srv.URL + "/etag/abc", StatusCode: 200,
			Header: http.Header{"Etag": {`"stale"`}}, Stored: time.Now(),
		})
		req, _ = http.NewRequest(http.MethodPut, srv.URL+"/etag/abc", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		var pf *PreconditionFailed
		if !errors.As(out.Err(), &pf) {
			t.Fatalf("stale PUT: %T, want *PreconditionFailed", out)
		}
	})
	t.Run("invalid validators are not used", func(t *testing.T) {
		t.Parallel()
		// /cache answers 304 to any conditional request and sends an
		// unquoted ETag and a non-IMF Last-Modified; /range's ETag is
		// unquoted. Neither is stored, so no bogus 304 is provoked.
		store := &MemoryStore{}
		c := newTestClient(t, WithCache(store))
		for _, p := range []string{"/cache", "/range/100"} {
			for range 2 {
				if out, _ := sendRead(t, c, get(t, srv.URL+p)); out.StatusCode() != 200 {
					t.Fatalf("%s: %d", p, out.StatusCode())
				}
			}
		}
		if store.Len() != 0 {
			t.Fatalf("%d entries stored from invalid validators", store.Len())
		}
	})
}

// ---- parsers ----

func TestETagComparison(t *testing.T) {
	t.Parallel()
	// RFC 9110 §8.8.3.2's table.
	for _, tc := range []struct {
		a, b         string
		strong, weak bool
	}{
		{`W/"1"`, `W/"1"`, false, true},
		{`W/"1"`, `W/"2"`, false, false},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `"1"`, true, true},
	} {
		a, err1 := parseETag(tc.a)
		b, err2 := parseETag(tc.b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a.StrongMatch(b) != tc.strong || a.WeakMatch(b) != tc.weak {
			t.Errorf("%s vs %s: strong %v weak %v", tc.a, tc.b, a.StrongMatch(b), a.WeakMatch(b))
		}
	}
	for _, bad := range []string{``, `abc`, `"abc`, `w/"abc"`, `"a"b"`, "\"a b\"", "\"a\x7f\"", `W/`, `"`} {
		if _, err := parseETag(bad); !errors.Is(err, errBadETag) {
			t.Errorf("parseETag(%q) = %v, want errBadETag", bad, err)
		}
	}
	if e, err := parseETag(` W/"" `); err != nil || !e.Weak || e.Opaque != "" {
		t.Errorf("empty weak tag: %+v %v", e, err)
	}
}

func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `""`, `abc`, `w/"x"`, "\"\x80\xff\"", ` "a" `, `"a", "b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseETag(s)
		if err != nil {
			return
		}
		again, err := parseETag(e.String())
		if err != nil || again != e {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, e, e.String(), again, err)
		}
		if !e.WeakMatch(again) || e.StrongMatch(again) == e.Weak {
			t.Fatalf("%+v does not match itself as it should", e)
		}
	})
}

// FuzzCacheHeaders runs the cache's header parsers (Vary, Cache-Control,
// Connection, the Variant builder) on arbitrary values.
func FuzzCacheHeaders(f *testing.F) {
	f.Add("Accept, accept-encoding", "no-store", "application/json , text/html")
	f.Add("*", "max-age=0, No-Store", "")
	f.Add(" , ,X-A", "private=\"a,b\"", "a,,b")
	f.Fuzz(func(t *testing.T, vary, cc, accept string) {
		h := http.Header{"Vary": {vary}, "Cache-Control": {cc}, "Connection": {vary}}
		names, star := cacheVaryStar(h)
		for _, n := range names {
			if !httpsyntax.IsToken(n) {
				t.Fatalf("bad name %q from %q", n, vary)
			}
		}
		if again, star2 := cacheVaryStar(http.Header{"Vary": {strings.Join(names, ",")}}); star2 ||
			strings.Join(again, ",") != strings.Join(names, ",") {
			t.Fatalf("Vary %q parsed to %q (star %v), which reparses to %q", vary, names, star, again)
		}
		httpsyntax.HasDirective(h, "no-store")
		httpsyntax.ConnectionListed(h)
		req := http.Header{"Accept": {accept}}
		v1 := cacheVariant(names, req, "p")
		v2 := cacheVariant(cacheVary(h), req.Clone(), "p")
		if v1 != v2 || !strings.HasPrefix(v1, "p\n") {
			t.Fatalf("variant not deterministic: %q %q", v1, v2)
		}
		if p := entryPartition(&Entry{Variant: v1}); p != "p" {
			t.Fatalf("partition %q from %q", p, v1)
		}
	})
}

// ---- benchmark ----

// BenchmarkCacheGET compares a GET answered by 304 from the cache with a
// full 200 GET of a 100 KiB body. wire-B/op is what the client read from
// the connection.
func BenchmarkCacheGET(b *testing.B) {
	body := bytes.Repeat([]byte("b"), 100<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"bench"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	defer srv.Close()
	run := func(b *testing.B, opts ...Option) {
		var wire atomic.Int64
		c := New(append(opts, WithTransport(countingTransport(&wire)))...)
		defer c.CloseIdleConnections()
		do := func() {
			resp, err := c.Do(get(b, srv.URL))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != int64(len(body)) {
				b.Fatalf("read %d bytes", n)
			}
		}
		do() // warm the connection and the cache
		wire.Store(0)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			do()
		}
		b.ReportMetric(float64(wire.Load())/float64(b.N), "wire-B/op")
	}
	b.Run("304-from-cache", func(b *testing.B) { run(b) })
	b.Run("200-full", func(b *testing.B) { run(b, WithCache(nil)) })
}

// chunkReader yields data in pieces of at most n bytes, then err.
type chunkReader struct {
	data []byte
	n    int
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// FuzzCacheBody: whatever the chunking, the declared length, the limit
// and where the stream breaks, the tee stores exactly the complete body or
// nothing, and the caller reads the same bytes either way.
func FuzzCacheBody(f *testing.F) {
	f.Add([]byte("hello world"), uint8(3), int16(-1), false, uint16(100), false)
	f.Add([]byte("hello world"), uint8(1), int16(5), true, uint16(100), false)
	f.Add([]byte("hello world"), uint8(4), int16(11), false, uint16(4), true)
	f.Add([]byte(""), uint8(1), int16(0), false, uint16(0), false)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, declared int16, broken bool, max uint16, closeEarly bool) {
		end := io.EOF
		if broken {
			end = io.ErrUnexpectedEOF
		}
		var stored []byte
		commits := 0
		b := &cacheBody{
			rc:     io.NopCloser(&chunkReader{data: data, n: int(chunk) + 1, err: end}),
			max:    int64(max),
			want:   int64(declared),
			commit: func(p []byte) { stored = p; commits++ },
		}
		if declared < 0 {
			b.want = -1
		}
		var got []byte
		var err error
		early := closeEarly && len(data) > 1
		if early {
			got = make([]byte, len(data)/2)
			_, err = io.ReadFull(b, got)
		} else {
			got, err = io.ReadAll(b)
		}
		b.Close()
		b.Close()
		if err != nil && !broken {
			t.Fatalf("read error %v", err)
		}
		if !bytes.Equal(got, data[:len(got)]) {
			t.Fatal("the caller read different bytes")
		}
		// Stored: read to io.EOF with the declared length (if any), or
		// closed after exactly the declared length; never after an error
		// or past the limit.
		n := int64(len(got))
		sawEOF, sawErr := !early && !broken, !early && broken
		complete := n <= int64(max) && !sawErr &&
			(sawEOF && (b.want < 0 || b.want == n) || !sawEOF && b.want >= 0 && b.want == n)
		data = data[:n]
		if commits > 1 {
			t.Fatalf("stored %d times", commits)
		}
		if complete != (commits == 1) {
			t.Fatalf("complete=%v but stored=%v (len %d, want %d, max %d)", complete, commits == 1, len(data), b.want, max)
		}
		if commits == 1 && !bytes.Equal(stored, data) {
			t.Fatalf("stored %q, want %q", stored, data)
		}
	})
}

// BenchmarkCacheFastPath measures what the default cache costs a GET whose
// response carries no validators (compare cache-on with cache-off).
func BenchmarkCacheFastPath(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "no validators here")
	}))
	defer srv.Close()
	run := func(b *testing.B, opts ...Option) {
		c := New(opts...)
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Do(get(b, srv.URL+"/x"))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("cache-on", func(b *testing.B) { run(b) })
	b.Run("cache-off", func(b *testing.B) { run(b, WithCache(nil)) })
}

// TestCacheAcrossRedirects: validators the cache added travel with the
// redirect hops; a 304 only answers with a stored body that came from the
// URL that answered 304, so a redirect whose target changed never gets
// another resource's body.
func TestCacheAcrossRedirects(t *testing.T) {
	t.Parallel()
	var target atomic.Value
	target.Store("/x")
	mux := http.NewServeMux()
	mux.Handle("/new", &resource{body: []byte("new"), etag: `"n1"`})
	mux.Handle("/old", http.RedirectHandler("/new", http.StatusPermanentRedirect))
	mux.Handle("/x", &resource{body: []byte("x body"), etag: `"1"`})
	mux.Handle("/y", &resource{body: []byte("y body"), etag: `"1"`}) // same tag, other resource
	mux.HandleFunc("/moving", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.Load().(string), http.StatusFound)
	})
	srv := newServer(t, mux)
	c := newTestClient(t)

	if _, got := sendRead(t, c, get(t, srv.URL+"/old")); got != "new" {
		t.Fatalf("first GET /old: %q", got)
	}
	out, got := sendRead(t, c, get(t, srv.URL+"/old"))
	if nm, ok := out.(*NotModified); !ok || got != "new" || !nm.Info().FromCache {
		t.Fatalf("second GET /old: %T %q", out, got)
	}

	doRead(t, c, get(t, srv.URL+"/moving")) // stored: /x's body under /moving
	target.Store("/y")
	resp, body := doRead(t, c, get(t, srv.URL+"/moving"))
	if resp.StatusCode != 200 || body != "y body" {
		t.Fatalf("after the redirect target changed: %d %q, want /y's body", resp.StatusCode, body)
	}
}

// TestCachePartitionByRegisteredCredential: tenants told apart by an API-key
// header registered with WithCredentialHeaders never see each other's
// stored responses.
func TestCachePartitionByRegisteredCredential(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")
		if r.Header.Get("If-Modified-Since") != "" {
			w.WriteHeader(http.StatusNotModified) // a lenient server: not modified since then
			return
		}
		io.WriteString(w, "data of "+r.Header.Get("X-Api-Key"))
	}))
	c := newTestClient(t, WithCredentialHeaders("X-Api-Key"))
	for _, tenant := range []string{"A", "B", "A"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
		req.Header.Set("X-Api-Key", tenant)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "data of "+tenant {
			t.Fatalf("tenant %s got %q", tenant, b)
		}
	}
}

// Cookies a jar adds do not partition the cache (WithCache's contract):
// net/http writes them into the header of the request it sends, so the
// partition must be taken before sending.
func TestCacheJarCookiesDoNotPartition(t *testing.T) {
	var inm []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inm = append(inm, r.Header.Get("If-None-Match"))
		if r.Header.Get("Cookie") == "" {
			t.Errorf("request %d without the jar's cookie", len(inm))
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "doc")
	}))
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "s1"}})
	c := newTestClient(t, WithHTTPClient(&http.Client{Jar: jar}))
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/doc", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "doc" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	if len(inm) != 2 || inm[1] != `"v1"` {
		t.Fatalf("If-None-Match sent: %q; want the second request to revalidate", inm)
	}
}
