package semhttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the cache as an RFC 9111 private cache (with RFC 5861 and RFC
// 8246), each naming the section it checks. Time is the client's clock,
// moved by hand (no sleeps); servers are httptest servers whose Date is
// the real clock, so the client's clock starts there.

// clock is a Client clock that tests move forward: it stands still at
// base (set once, before use) plus the offset, so that a slow machine's
// real time does not age what the test stores.
type clock struct {
	base   time.Time
	offset atomic.Int64
}

func (c *clock) now() time.Time          { return c.base.Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) set(d time.Duration)     { c.offset.Store(int64(d)) }
func newClockClient(t *testing.T, opts ...Option) (*Client, *clock) {
	t.Helper()
	c := newTestClient(t, opts...)
	k := &clock{base: time.Now()}
	c.clock = k.now
	t.Cleanup(c.refreshing.wg.Wait) // background revalidations end before goleak looks
	return c, k
}

// origin answers GET with the header fields of its current script and
// counts what reaches it; If-None-Match equal to its ETag gets a 304.
type origin struct {
	clock  *clock // dates its answers, when set
	mu     sync.Mutex
	code   int
	header http.Header
	body   string
	hits   int
	conds  int // requests that carried If-None-Match or If-Modified-Since
	srv    *httptest.Server
}

func newOrigin(t *testing.T, code int, body string, kv ...string) *origin {
	t.Helper()
	o := &origin{}
	o.set(code, body, kv...)
	o.srv = newServer(t, o)
	return o
}

func (o *origin) set(code int, body string, kv ...string) {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	o.mu.Lock()
	o.code, o.header, o.body = code, h, body
	o.mu.Unlock()
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.hits++
	inm := r.Header.Get("If-None-Match")
	if inm != "" || r.Header.Get("If-Modified-Since") != "" {
		o.conds++
	}
	code, body := o.code, o.body
	for k, vs := range o.header {
		w.Header()[k] = vs
	}
	tag, clk := o.header.Get("ETag"), o.clock
	o.mu.Unlock()
	if clk != nil && len(w.Header()["Date"]) == 0 {
		w.Header().Set("Date", clk.now().UTC().Format(http.TimeFormat))
	}
	if r.Method == http.MethodGet && tag != "" && inm == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(code)
	io.WriteString(w, body)
}

func (o *origin) counts() (hits, conds int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits, o.conds
}

// fetch GETs u through c with header kv, reads the body, and returns the
// outcome (closed) and the body.
func fetch(t *testing.T, c *Client, u string, kv ...string) (Outcome, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	out, err := c.Send(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer out.Close()
	b, _ := io.ReadAll(out.Response().Body)
	return out, string(b)
}

// wantHits fails unless the origin has seen hits requests in all.
func (o *origin) wantHits(t *testing.T, hits int, why string) {
	t.Helper()
	if got, _ := o.counts(); got != hits {
		t.Fatalf("%s: %d requests reached the origin, want %d", why, got, hits)
	}
}

// §4.2.1, §4.2.3: max-age makes a stored response fresh; a fresh one is
// served without the origin, as its own kind, with its age; once stale it
// is revalidated.
func TestCacheFreshMaxAge(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, `{"a":1}`, "Cache-Control", "max-age=300", "ETag", `"1"`, "Content-Type", "application/json")
	c, k := newClockClient(t)
	o.mu.Lock()
	o.clock = k
	o.mu.Unlock()
	fetch(t, c, o.srv.URL)
	k.advance(100 * time.Second)
	out, body := fetch(t, c, o.srv.URL)
	o.wantHits(t, 1, "a fresh response")
	info := out.Info()
	if _, ok := out.(*OK); !ok || body != `{"a":1}` || !info.FromCache || info.Stale || info.Attempts != 0 {
		t.Fatalf("fresh hit: %T %q %+v", out, body, info)
	}
	if info.Age < 99*time.Second || info.Age > 102*time.Second {
		t.Fatalf("age %v, want about 100s", info.Age)
	}
	h := out.Response().Header
	if h.Get(CacheHeader) != "fresh" || h.Get("Age") == "" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("header of a fresh hit: %v", h)
	}
	// Do hands a doer the stored response with its Age (§5.1).
	req, _ := http.NewRequest(http.MethodGet, o.srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if age, _ := strconv.Atoi(resp.Header.Get("Age")); resp.StatusCode != 200 || age < 99 {
		t.Fatalf("Do: %d, Age %q", resp.StatusCode, resp.Header.Get("Age"))
	}
	o.wantHits(t, 1, "Do of a fresh response")
	// Stale: revalidated, and the 304 makes it fresh again (§4.3.4).
	k.advance(250 * time.Second)
	if out, _ := fetch(t, c, o.srv.URL); out.StatusCode() != http.StatusNotModified || !out.Info().FromCache {
		t.Fatalf("stale: %T %d, want *NotModified", out, out.StatusCode())
	}
	fetch(t, c, o.srv.URL)
	o.wantHits(t, 2, "after a 304 freshened it")
}

// §4.2.1: Expires − Date is the lifetime; §4.2.3: a Date far in the past
// makes the response old on arrival (apparent_age), and an Age field adds
// to its age.
func TestCacheFreshExpiresDateAge(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		name     string
		kv       []string
		freshFor time.Duration // fresh at +freshFor−5s, stale at +freshFor+5s
	}{
		{"Expires", []string{"Date", date(0), "Expires", date(60 * time.Second)}, 60 * time.Second},
		{"Date in the past", []string{"Date", date(-30 * time.Second), "Expires", date(60 * time.Second)}, 60 * time.Second},
		{"Age", []string{"Cache-Control", "max-age=60", "Age", "40"}, 20 * time.Second},
		{"max-age wins over Expires", []string{"Cache-Control", "max-age=30", "Expires", date(time.Hour)}, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, 200, "x", tc.kv...)
			c, k := newClockClient(t)
			k.base = now // the table's dates are from now
			fetch(t, c, o.srv.URL)
			k.set(tc.freshFor - 5*time.Second)
			fetch(t, c, o.srv.URL)
			o.wantHits(t, 1, "still fresh")
			k.set(tc.freshFor + 5*time.Second)
			fetch(t, c, o.srv.URL)
			o.wantHits(t, 2, "stale")
		})
	}
	// An invalid Expires is in the past (§5.3); so is one before Date.
	for _, exp := range []string{"0", "tomorrow", date(-time.Minute)} {
		o := newOrigin(t, 200, "x", "Date", date(0), "Expires", exp)
		c, _ := newClockClient(t)
		fetch(t, c, o.srv.URL)
		fetch(t, c, o.srv.URL)
		o.wantHits(t, 2, "Expires "+exp)
	}
}

// §4.2.2: Last-Modified and no explicit lifetime give a heuristic one, a
// tenth of the time since the modification, for heuristically cacheable
// codes only.
func TestCacheHeuristicFreshness(t *testing.T) {
	t.Parallel()
	lm := time.Now().UTC().Add(-10 * time.Hour).Format(http.TimeFormat)
	o := newOrigin(t, 200, "x", "Last-Modified", lm)
	c, k := newClockClient(t)
	fetch(t, c, o.srv.URL)
	k.set(50 * time.Minute) // a tenth of 10h is 1h
	fetch(t, c, o.srv.URL)
	o.wantHits(t, 1, "within the heuristic hour")
	k.set(70 * time.Minute)
	fetch(t, c, o.srv.URL)
	o.wantHits(t, 2, "past it")
	// 201 is not heuristically cacheable: no lifetime, nothing stored.
	o2 := newOrigin(t, 201, "x", "Last-Modified", lm)
	c2, _ := newClockClient(t)
	fetch(t, c2, o2.srv.URL)
	fetch(t, c2, o2.srv.URL)
	o2.wantHits(t, 2, "201 with Last-Modified only")
}

// §3, §5.2.2.10: what a private cache stores — cacheable codes with a
// lifetime, other codes only with explicit freshness, not s-maxage alone.
func TestCacheWhatIsStored(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		code   int
		kv     []string
		stored bool
	}{
		{"404 with max-age", 404, []string{"Cache-Control", "max-age=60"}, true},
		{"410 with max-age", 410, []string{"Cache-Control", "max-age=60"}, true},
		{"204 with max-age", 204, []string{"Cache-Control", "max-age=60"}, true},
		{"200 without validator, with max-age", 200, []string{"Cache-Control", "max-age=60"}, true},
		{"private", 200, []string{"Cache-Control", "private, max-age=60"}, true},
		{"403 with max-age (explicit)", 403, []string{"Cache-Control", "max-age=60"}, true},
		{"403 without explicit freshness", 403, []string{"ETag", `"x"`}, false},
		{"s-maxage is for shared caches", 200, []string{"Cache-Control", "s-maxage=60"}, false},
		{"no-store", 200, []string{"Cache-Control", "max-age=60, no-store"}, false},
		{"Vary: *", 200, []string{"Cache-Control", "max-age=60", "Vary", "*"}, false},
		{"nothing to reuse", 200, nil, false},
		{"500 with max-age", 500, []string{"Cache-Control", "max-age=60"}, true},
		// §5.2.2.3: must-understand lets a cache that implements the status
		// code ignore no-store, and forbids storing any other.
		{"must-understand, no-store, 200", 200, []string{"Cache-Control", "max-age=60, must-understand, no-store"}, true},
		{"must-understand, 299", 299, []string{"Cache-Control", "max-age=60, must-understand"}, false},
		{"200 with Content-Range (no meaning there)", 200, []string{"Cache-Control", "max-age=60", "Content-Range", "bytes 0-3/4"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, tc.code, "body", tc.kv...)
			c, _ := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			fetch(t, c, o.srv.URL)
			out, body := fetch(t, c, o.srv.URL)
			hits := 2
			if tc.stored {
				hits = 1
				if !out.Info().FromCache || out.StatusCode() != tc.code || (tc.code != 204 && body != "body") {
					t.Fatalf("stored %d answered %T %d %q %+v", tc.code, out, out.StatusCode(), body, out.Info())
				}
			}
			o.wantHits(t, hits, tc.name)
		})
	}
}

// A stored 404 answers as a *NotFound (the stored response's kind).
func TestCacheStoredNotFoundKind(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 404, `{"title":"no such user"}`, "Cache-Control", "max-age=60", "Content-Type", "application/problem+json")
	c, _ := newClockClient(t)
	fetch(t, c, o.srv.URL)
	out, _ := fetch(t, c, o.srv.URL)
	var nf *NotFound
	if !errors.As(out.Err(), &nf) || !out.Info().FromCache || nf.Problem().Title != "no such user" {
		t.Fatalf("stored 404: %T %v %+v", out, out.Err(), out.Info())
	}
}

// §5.2.2.4 no-cache: every use is validated first.
func TestCacheResponseNoCache(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"no-cache, max-age=600", `no-cache="Set-Cookie", no-cache, max-age=600`, `no-cache="", max-age=600`} {
		o := newOrigin(t, 200, "x", "Cache-Control", cc, "ETag", `"n"`)
		c, _ := newClockClient(t)
		fetch(t, c, o.srv.URL)
		out, body := fetch(t, c, o.srv.URL)
		if _, conds := o.counts(); conds != 1 || out.StatusCode() != 304 || body != "x" {
			t.Fatalf("%s: %T %q, %d conditional requests", cc, out, body, conds)
		}
	}
}

// §5.2.1: the request's directives.
func TestCacheRequestDirectives(t *testing.T) {
	t.Parallel()
	type step struct {
		at        time.Duration
		kv        []string
		origin    bool // the request reaches the origin
		stale     bool
		code      int // the outcome's status code, when not 200/304
		onlyCache bool
	}
	for _, tc := range []struct {
		name  string
		cc    string
		steps []step
	}{
		{"no-cache", "max-age=600", []step{{at: 10 * time.Second, kv: []string{"Cache-Control", "no-cache"}, origin: true}}},
		{"Pragma: no-cache", "max-age=600", []step{{at: 10 * time.Second, kv: []string{"Pragma", "no-cache"}, origin: true}}},
		{"max-age", "max-age=600", []step{
			{at: 10 * time.Second, kv: []string{"Cache-Control", "max-age=60"}},
			{at: 100 * time.Second, kv: []string{"Cache-Control", "max-age=60"}, origin: true},
		}},
		{"min-fresh", "max-age=600", []step{
			{at: 100 * time.Second, kv: []string{"Cache-Control", "min-fresh=300"}},
			{at: 400 * time.Second, kv: []string{"Cache-Control", "min-fresh=300"}, origin: true},
		}},
		{"max-stale", "max-age=60", []step{
			{at: 100 * time.Second, kv: []string{"Cache-Control", "max-stale=60"}, stale: true},
			{at: 200 * time.Second, kv: []string{"Cache-Control", "max-stale=60"}, origin: true},
			{at: 10000 * time.Second, kv: []string{"Cache-Control", "max-stale"}, stale: true},
		}},
		{"max-stale and must-revalidate", "max-age=60, must-revalidate", []step{
			{at: 100 * time.Second, kv: []string{"Cache-Control", "max-stale"}, origin: true},
		}},
		{"only-if-cached", "max-age=60", []step{
			{at: 10 * time.Second, kv: []string{"Cache-Control", "only-if-cached"}},
			{at: 100 * time.Second, kv: []string{"Cache-Control", "only-if-cached"}, code: 504, onlyCache: true},
			{at: 100 * time.Second, kv: []string{"Cache-Control", "only-if-cached, max-stale=100"}, stale: true},
			// The caller's own precondition is not evaluated from storage:
			// a 504 then, and still nothing sent (§5.2.1.7).
			{at: 10 * time.Second, kv: []string{"Cache-Control", "only-if-cached", "If-None-Match", `"x"`}, code: 504, onlyCache: true},
			// Nor is a Range request answered, nor one with no-store.
			{at: 10 * time.Second, kv: []string{"Cache-Control", "only-if-cached", "Range", "bytes=0-1"}, code: 504, onlyCache: true},
			{at: 10 * time.Second, kv: []string{"Cache-Control", "only-if-cached, no-store"}, code: 504, onlyCache: true},
		}},
		{"immutable and a reload", "max-age=600, immutable", []step{
			{at: 10 * time.Second, kv: []string{"Cache-Control", "max-age=0"}},
			{at: 10 * time.Second, kv: []string{"Cache-Control", "no-cache"}, origin: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t, 200, "x", "Cache-Control", tc.cc, "ETag", `"d"`)
			c, k := newClockClient(t)
			fetch(t, c, o.srv.URL)
			hits := 1
			for i, s := range tc.steps {
				k.set(s.at)
				out, _ := fetch(t, c, o.srv.URL, s.kv...)
				if s.origin {
					hits++
				}
				o.wantHits(t, hits, tc.name+" step "+strconv.Itoa(i))
				code := s.code
				if code == 0 && out.StatusCode() == 304 {
					code = 304
				} else if code == 0 {
					code = 200
				}
				if out.StatusCode() != code || out.Info().Stale != s.stale {
					t.Fatalf("step %d: %T %d stale %v, want %d stale %v", i, out, out.StatusCode(), out.Info().Stale, code, s.stale)
				}
				if s.onlyCache && out.Response().Header.Get(CacheHeader) != "only-if-cached" {
					t.Fatalf("step %d: the 504 does not say only-if-cached", i)
				}
			}
		})
	}
	// only-if-cached with nothing stored: a 504, and nothing sent.
	o := newOrigin(t, 200, "x")
	c, _ := newClockClient(t)
	if out, _ := fetch(t, c, o.srv.URL, "Cache-Control", "only-if-cached"); out.StatusCode() != 504 {
		t.Fatalf("only-if-cached, nothing stored: %d", out.StatusCode())
	}
	o.wantHits(t, 0, "only-if-cached")
}

// RFC 5861 §4, RFC 9111 §4.2.4: when the origin fails (5xx, refused,
// timed out) a response within stale-if-error answers, marked stale, the
// failure in Info.OriginErr; past the window, or with must-revalidate,
// the failure is the answer.
func TestCacheStaleIfError(t *testing.T) {
	t.Parallel()
	t.Run("503", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, 200, "good", "Cache-Control", "max-age=60, stale-if-error=600")
		c, k := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		fetch(t, c, o.srv.URL)
		o.set(503, "down")
		k.set(300 * time.Second)
		out, body := fetch(t, c, o.srv.URL)
		info := out.Info()
		var se *ServerError
		if body != "good" || !info.Stale || !info.FromCache || !errors.As(info.OriginErr, &se) || se.StatusCode() != 503 {
			t.Fatalf("within stale-if-error: %T %q %+v", out, body, info)
		}
		if out.Response().Header.Get(CacheHeader) != "stale" {
			t.Fatal("not marked stale")
		}
		k.set(700 * time.Second)
		if out, _ := fetch(t, c, o.srv.URL); out.StatusCode() != 503 {
			t.Fatalf("past the window: %d, want the 503", out.StatusCode())
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, 200, "good", "Cache-Control", "max-age=60, stale-if-error=600")
		c, k := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		fetch(t, c, o.srv.URL)
		o.srv.Close()
		k.set(120 * time.Second)
		out, body := fetch(t, c, o.srv.URL)
		var op *net.OpError
		if body != "good" || !out.Info().Stale || !errors.As(out.Info().OriginErr, &op) {
			t.Fatalf("origin down: %q %+v", body, out.Info())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var slow atomic.Bool
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slow.Load() {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			w.Header().Set("Cache-Control", "max-age=60, stale-if-error=600")
			io.WriteString(w, "good")
		}))
		defer close(release)
		c, k := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithAttemptTimeout(50*time.Millisecond))
		fetch(t, c, srv.URL)
		slow.Store(true)
		k.set(120 * time.Second)
		out, body := fetch(t, c, srv.URL)
		if body != "good" || !out.Info().Stale || out.Info().OriginErr == nil {
			t.Fatalf("origin timed out: %q %+v", body, out.Info())
		}
	})
	t.Run("request max-stale", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, 200, "good", "Cache-Control", "max-age=60")
		c, k := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		fetch(t, c, o.srv.URL)
		o.set(502, "down")
		k.set(100 * time.Second)
		if out, _ := fetch(t, c, o.srv.URL); out.StatusCode() != 502 {
			t.Fatalf("no permission to serve stale: %d, want the 502", out.StatusCode())
		}
		if out, body := fetch(t, c, o.srv.URL, "Cache-Control", "stale-if-error=300"); body != "good" || !out.Info().Stale {
			t.Fatalf("request stale-if-error: %d %q", out.StatusCode(), body)
		}
	})
	t.Run("must-revalidate", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, 200, "good", "Cache-Control", "max-age=60, stale-if-error=600, must-revalidate")
		c, k := newClockClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		fetch(t, c, o.srv.URL)
		o.set(503, "down")
		k.set(100 * time.Second)
		if out, _ := fetch(t, c, o.srv.URL); out.StatusCode() != 503 || out.Info().Stale {
			t.Fatalf("must-revalidate: %d stale %v, want the 503", out.StatusCode(), out.Info().Stale)
		}
	})
	t.Run("caller's context", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t, 200, "good", "Cache-Control", "max-age=60, stale-if-error=600")
		c, k := newClockClient(t)
		fetch(t, c, o.srv.URL)
		k.set(100 * time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.srv.URL, nil)
		if _, err := c.Send(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("a canceled call: %v, want context.Canceled (the caller gave up, the origin did not fail)", err)
		}
	})
}

// RFC 5861 §3: within stale-while-revalidate a stale response answers at
// once, and one background request revalidates it.
func TestCacheStaleWhileRevalidate(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "v1", "Cache-Control", "max-age=60, stale-while-revalidate=600", "ETag", `"1"`)
	c, k := newClockClient(t)
	o.mu.Lock()
	o.clock = k
	o.mu.Unlock()
	fetch(t, c, o.srv.URL)
	o.set(200, "v2", "Cache-Control", "max-age=60, stale-while-revalidate=600", "ETag", `"2"`)
	k.set(120 * time.Second)
	out, body := fetch(t, c, o.srv.URL)
	if body != "v1" || !out.Info().Stale || out.Info().OriginErr != nil {
		t.Fatalf("stale-while-revalidate: %q %+v", body, out.Info())
	}
	c.refreshing.wg.Wait()
	o.wantHits(t, 2, "one background revalidation")
	if out, body := fetch(t, c, o.srv.URL); body != "v2" || out.Info().Stale || !out.Info().FromCache {
		t.Fatalf("after the refresh: %q %+v", body, out.Info())
	}
	o.wantHits(t, 2, "the refreshed response is fresh")
	// Past the window: revalidated in line.
	k.set(2000 * time.Second)
	if out, body := fetch(t, c, o.srv.URL); body != "v2" || out.StatusCode() != 304 {
		t.Fatalf("past stale-while-revalidate: %d %q", out.StatusCode(), body)
	}
}

// §4.4: a successful unsafe request invalidates the target URI, so a
// fresh response is not served after a write.
func TestCacheInvalidatesFreshAfterWrite(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "v1", "Cache-Control", "max-age=600")
	c, _ := newClockClient(t)
	fetch(t, c, o.srv.URL)
	req, _ := http.NewRequest(http.MethodPost, o.srv.URL, nil)
	if out, err := c.Send(req); err != nil {
		t.Fatal(err)
	} else {
		out.Close()
	}
	fetch(t, c, o.srv.URL)
	o.wantHits(t, 3, "the GET after a POST")
}

// A request with the caller's own validators gets the origin's answer,
// even when a fresh response is stored.
func TestCacheCallerValidatorsPassThrough(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "v1", "Cache-Control", "max-age=600", "ETag", `"1"`)
	c, _ := newClockClient(t)
	fetch(t, c, o.srv.URL)
	out, _ := fetch(t, c, o.srv.URL, "If-None-Match", `"1"`)
	if _, ok := out.(*NotModified); !ok || out.Info().FromCache {
		t.Fatalf("caller's validators: %T %+v, want the server's 304", out, out.Info())
	}
	o.wantHits(t, 2, "the caller's conditional GET")
}

// A response redirects led to is not served from the cache without the
// redirects being followed again: they were not stored.
func TestCacheRedirectedNotServedFresh(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, "/b", http.StatusFound)
	})
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "b")
	})
	srv := newServer(t, mux)
	c, _ := newClockClient(t)
	fetch(t, c, srv.URL+"/a")
	fetch(t, c, srv.URL+"/a")
	if n.Load() != 2 {
		t.Fatalf("the 302 was asked %d times, want 2", n.Load())
	}
}

// The entry stored carries its lifetime and age for a store that expires
// entries itself.
func TestCacheEntryCarriesFreshness(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "x", "Cache-Control", "max-age=300", "Age", "100")
	store := &MemoryStore{}
	c, _ := newClockClient(t, WithCache(store))
	fetch(t, c, o.srv.URL)
	e, _ := store.Get(context.Background(), "GET "+o.srv.URL, "\n")
	if e == nil || e.Lifetime != 300*time.Second || e.Age < 100*time.Second || e.Age > 102*time.Second {
		t.Fatalf("entry %+v", e)
	}
	if left := time.Until(e.FreshUntil()); left < 197*time.Second || left > 201*time.Second {
		t.Fatalf("FreshUntil in %v, want about 200s", left)
	}
}

// Costs that stay flat as entries pile up under one URL: one shared
// Client GETting /me for many users keeps one entry per credential under
// one key, and Vary adds one per variant (RFC 9111 §4.1). A revalidated
// GET and an invalidating POST allocate the same with 10 entries as with
// 5,000, by credential or by Vary (before: every entry under the key was
// loaded, and a Delete did O(n) work under the store's lock).
func TestCacheCostFlatUnderOneURL(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Vary", "Accept-Language")
		etag := `"me-` + r.Header.Get("Accept-Language") + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, `{"me":true}`)
	})
	// measure fills n entries, each user i (or, with vary, one user's
	// language i) its own, and counts the allocations of a revalidated
	// GET and of a POST followed by the GET that stores again.
	measure := func(n int, vary bool) (get, post float64) {
		c := New(WithTransport(handlerTransport{h}), WithCache(&MemoryStore{MaxBytes: 1 << 30}))
		me := "http://api.test/me"
		do := func(method string, i int) {
			req, _ := http.NewRequest(method, me, nil)
			if vary {
				req.Header.Set("Authorization", "Bearer alice")
				req.Header.Set("Accept-Language", "x-"+strconv.Itoa(i))
			} else {
				req.Header.Set("Authorization", "Bearer user-"+strconv.Itoa(i))
			}
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, out.Response().Body)
			out.Close()
		}
		for i := range n {
			do(http.MethodGet, i)
		}
		get = testing.AllocsPerRun(50, func() { do(http.MethodGet, 1) })
		post = testing.AllocsPerRun(50, func() {
			do(http.MethodPost, 1)
			do(http.MethodGet, 1) // stored again
		})
		return get, post
	}
	for _, vary := range []bool{false, true} {
		g10, p10 := measure(10, vary)
		g5k, p5k := measure(5000, vary)
		what := "users"
		if vary {
			what = "Vary variants"
		}
		if g5k > g10+2 || p5k > p10+2 {
			t.Errorf("allocations grow with the %s under one URL: GET %.0f → %.0f, POST %.0f → %.0f (10 → 5,000)", what, g10, g5k, p10, p5k)
		}
		t.Logf("%s: allocations per revalidated GET %.0f (10), %.0f (5,000); per POST and GET %.0f, %.0f", what, g10, g5k, p10, p5k)
	}
}

// The byte limit counts what an entry holds: a MemoryStore filled with
// small responses holds about its MaxBytes of live heap, not twice it.
func TestMemoryStoreCountsWhatItHolds(t *testing.T) {
	const limit = 8 << 20
	s := &MemoryStore{MaxBytes: limit}
	ctx := context.Background()
	for i := 0; s.Len() == i; i++ {
		// As net/http reads them: common names interned, values and
		// other names allocated per response.
		v := strings.Clone
		h := http.Header{"Content-Type": {v("application/json")}, "Etag": {`"` + strconv.Itoa(i) + `"`},
			"Cache-Control": {v("private, max-age=60")}, "Date": {v("Tue, 01 Dec 2026 08:00:00 GMT")},
			"Vary": {v("Accept-Encoding")}, v("X-Request-Id"): {v("0123456789abcdef")}}
		s.Put(ctx, "GET https://api.example.com/me", &Entry{Variant: "user-" + strconv.Itoa(i) + "\n",
			URL: "https://api.example.com/me", StatusCode: 200, Header: h, Body: make([]byte, 120), Stored: time.Now()})
	}
	n, counted := s.Len(), s.Bytes()
	// What the store holds is what its release gives back.
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(s)
	s = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	live := float64(with.HeapAlloc) - float64(without.HeapAlloc)
	if live > 1.15*limit || live < 0.6*limit {
		t.Fatalf("%d entries counted as %d bytes hold %.0f bytes of heap (%.2f× the limit)", n, counted, live, live/limit)
	}
	t.Logf("%d entries, counted %d bytes, live heap %.0f (%.2f×)", n, counted, live, live/limit)
}
