package semhttp

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// RFC 9111 §4.1: the Vary fields of a request match when their values are
// the same once normalized: list elements trimmed and joined, and the
// case folded where values are case-insensitive (Accept-Language,
// Accept-Encoding, Accept-Charset), not elsewhere (Accept's parameters
// may be case-sensitive).
func TestCacheVariantNormalization(t *testing.T) {
	t.Parallel()
	variant := func(name string, values ...string) string {
		return cacheVariant([]string{name}, http.Header{name: values}, "")
	}
	for _, tc := range []struct {
		name   string
		a, b   []string
		equals bool
	}{
		{"Accept-Language", []string{"en, de"}, []string{"en,de"}, true},
		{"Accept-Language", []string{"en", "de"}, []string{"en, de"}, true},
		{"Accept-Language", []string{"en, DE;Q=0.5"}, []string{"EN, de;q=0.5"}, true},
		{"Accept-Language", []string{"en, de"}, []string{"de, en"}, false}, // the order is the preference
		{"Accept-Encoding", []string{"GZIP, br"}, []string{"gzip,Br"}, true},
		{"Accept", []string{"text/html;level=A"}, []string{"text/html;level=a"}, false},
		{"Foo", []string{""}, nil, false}, // empty is not absent
	} {
		if got := variant(tc.name, tc.a...) == variant(tc.name, tc.b...); got != tc.equals {
			t.Errorf("%s: %q and %q match: %v, want %v", tc.name, tc.a, tc.b, got, tc.equals)
		}
	}
}

// §4.2.3 and §1.2.2: age arithmetic saturates. An entry from a Store with
// a zero Stored, a negative Age or Lifetime, or values near the limits of
// time.Duration is stale, never fresh by an overflow; huge Age, Expires
// and Date values are clamped.
func TestCacheAgeArithmeticSaturates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const maxD = time.Duration(math.MaxInt64)
	var none httpsyntax.CacheControl
	anyStale := httpsyntax.CacheControl{HasMaxStale: true, MaxStale: (1 << 31) * time.Second}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"zero Stored", Entry{Age: time.Second, Lifetime: time.Hour}},
		{"negative Age", Entry{Stored: now, Age: -time.Hour, Lifetime: time.Hour}},
		{"huge Age", Entry{Stored: now.Add(-time.Hour), Age: maxD - time.Second, Lifetime: time.Hour}},
		{"huge negative Age", Entry{Stored: now, Age: math.MinInt64, Lifetime: time.Hour}},
		{"Stored far in the past", Entry{Stored: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Age: time.Hour, Lifetime: 1 << 62}},
	} {
		e := tc.e
		e.StatusCode, e.Header = 200, http.Header{"Cache-Control": {"stale-while-revalidate=60, stale-if-error=60"}}
		if how, age := reuse(&e, none, now); how != mustValidate || age < 0 {
			t.Errorf("%s: reuse = %d, age %v; want it revalidated", tc.name, how, age)
		}
		if staleOnError(&e, none, now) {
			t.Errorf("%s: served stale on error", tc.name)
		}
		if how, _ := reuse(&e, anyStale, now); how == serveFresh {
			t.Errorf("%s: fresh under max-stale", tc.name)
		}
	}
	neg := Entry{StatusCode: 200, Stored: now, Age: 10 * time.Second, Lifetime: math.MinInt64, Header: http.Header{}}
	if how, _ := reuse(&neg, httpsyntax.CacheControl{HasMaxStale: true, MaxStale: time.Second}, now); how != mustValidate {
		t.Errorf("negative Lifetime: reuse = %d under max-stale=1, want it revalidated", how)
	}

	for _, tc := range []struct {
		name string
		h    http.Header
		max  time.Duration
	}{
		{"Age past 2^31", http.Header{"Age": {"99999999999999999999999999"}}, (1<<31)*time.Second + time.Minute},
		{"Date in year 1", http.Header{"Date": {"Mon, 01 Jan 0001 00:00:00 GMT"}}, maxD},
		{"Date in the future", http.Header{"Date": {"Fri, 31 Dec 9999 23:59:59 GMT"}}, time.Minute},
	} {
		age, _ := initialAge(tc.h, now.Add(-time.Minute), now)
		if age < 0 || age > tc.max {
			t.Errorf("initialAge(%s) = %v", tc.name, age)
		}
	}
	for _, exp := range []string{"Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 21 Nov 2286 04:46:39 GMT"} {
		h := http.Header{"Expires": {exp}, "Date": {"Mon, 01 Jan 0001 00:00:00 GMT"}}
		if life := lifetime(h, none, 200, now); life != (1<<31)*time.Second {
			t.Errorf("Expires %s: lifetime %v, want 2^31 s", exp, life)
		}
	}
}

// §4.2.1: "When there is more than one value present for a given directive
// (e.g., two Expires header field lines [...]), either the first occurrence
// should be used or the response should be considered stale": two
// different Expires make it stale, the same one twice does not.
func TestCacheTwoExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date, in1h, in2h := now.Format(http.TimeFormat), now.Add(time.Hour).Format(http.TimeFormat), now.Add(2*time.Hour).Format(http.TimeFormat)
	var cc httpsyntax.CacheControl
	if life := lifetime(http.Header{"Date": {date}, "Expires": {in1h, in2h}}, cc, 200, now); life != 0 {
		t.Errorf("two different Expires: lifetime %v, want 0", life)
	}
	if life := lifetime(http.Header{"Date": {date}, "Expires": {in1h, in1h}}, cc, 200, now); life != time.Hour {
		t.Errorf("the same Expires twice: lifetime %v, want 1h", life)
	}
}

// FuzzCacheFreshness feeds arbitrary Cache-Control, Expires, Date, Age and
// Last-Modified values to the freshness computation (RFC 9111 §4.2): it
// never panics, and every duration it computes is within [0, 2^31 s]
// (an age may be larger only when Date says so).
func FuzzCacheFreshness(f *testing.F) {
	for _, s := range [][5]string{
		{"max-age=60", "", "", "", ""},
		{"max-age=99999999999999999999, max-age=1", "0", "", "-1", ""},
		{`no-cache="a, b", stale-while-revalidate=9, max-stale`, "Thu, 01 Jan 1970 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "0, 0", "Sun, 06 Nov 1994 08:49:37 GMT"},
		{`max-age="12`, "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "2147483648", "Fri, 31 Dec 9999 23:59:59 GMT"},
		{"min-fresh=, max-age =1, =,,\"", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "7200;a=b", "garbage"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], 200)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cc, expires, date, age, lm string, code int) {
		h := http.Header{}
		for k, v := range map[string]string{"Cache-Control": cc, "Expires": expires, "Date": date, "Age": age, "Last-Modified": lm} {
			if v != "" {
				h[k] = strings.Split(v, "\n") // several field lines
			}
		}
		c := httpsyntax.ParseCacheControl(h)
		for _, d := range []time.Duration{c.MaxAge, c.MaxStale, c.MinFresh, c.StaleWhileRevalidate, c.StaleIfError} {
			if d < 0 || d > maxDelta {
				t.Fatalf("%q: a directive's argument is %v", cc, d)
			}
		}
		life := lifetime(h, c, code, now)
		a, _ := initialAge(h, now.Add(-time.Second), now)
		if life < 0 || life > maxDelta || a < 0 {
			t.Fatalf("lifetime %v, age %v", life, a)
		}
		e := &Entry{StatusCode: 200, Header: h, Stored: now, Age: a, Lifetime: life}
		for _, at := range []time.Duration{0, time.Hour, 1 << 62} {
			if _, cur := reuse(e, c, now.Add(at)); cur < 0 {
				t.Fatalf("current age %v", cur)
			}
			staleOnError(e, c, now.Add(at))
		}
	})
}

// RFC 5861 §3: concurrent requests served stale-while-revalidate share one
// background revalidation, which ends (goleak checks at exit) once the
// origin answers; then the refreshed response is fresh.
func TestCacheStaleWhileRevalidateConcurrent(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	gate := make(chan struct{})
	var k *clock
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > 1 {
			<-gate // the revalidation waits until every request was served
		}
		w.Header().Set("Date", k.now().UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=600")
		io.WriteString(w, "v"+strconv.FormatInt(hits.Load(), 10))
	}))
	c, clk := newClockClient(t)
	k = clk
	fetch(t, c, srv.URL)
	k.advance(120 * time.Second)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			out, err := c.Send(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(out.Response().Body)
			out.Close()
			if string(b) != "v1" || !out.Info().Stale {
				t.Errorf("within stale-while-revalidate: %q %+v", b, out.Info())
			}
		}()
	}
	wg.Wait()
	close(gate)
	c.refreshing.wg.Wait()
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d requests reached the origin, want the first and one revalidation", n)
	}
	if out, body := fetch(t, c, srv.URL); body != "v2" || out.Info().Stale || !out.Info().FromCache {
		t.Fatalf("after the revalidation: %q %+v", body, out.Info())
	}
}

// RFC 9111 §4.3.5: a 200 to a HEAD freshens the stored GET response when
// its validators and Content-Length match, and makes it stale when they do
// not; HEAD itself always reaches the origin.
func TestCacheHeadFreshens(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "body", "Cache-Control", "max-age=60", "ETag", `"1"`, "X-V", "1")
	c, k := newClockClient(t)
	o.mu.Lock()
	o.clock = k
	o.mu.Unlock()
	head := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodHead, o.srv.URL, nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if out.Info().FromCache {
			t.Fatal("HEAD answered from the cache")
		}
	}
	fetch(t, c, o.srv.URL)
	k.advance(120 * time.Second)
	o.set(200, "body", "Cache-Control", "max-age=600", "ETag", `"1"`, "X-V", "2")
	head()
	out, body := fetch(t, c, o.srv.URL)
	if !out.Info().FromCache || out.Info().Stale || body != "body" || out.Response().Header.Get("X-V") != "2" {
		t.Fatalf("after a matching HEAD: %q %+v %v", body, out.Info(), out.Response().Header)
	}
	o.wantHits(t, 2, "the GET and the HEAD")
	o.set(200, "new", "Cache-Control", "max-age=600", "ETag", `"2"`)
	head()
	if _, body := fetch(t, c, o.srv.URL); body != "new" {
		t.Fatalf("after a HEAD with another ETag: %q, want the new representation", body)
	}
	o.wantHits(t, 4, "the stored response was made stale")
}

// §5.2.2.4 no-cache with field names: the response is reused, fresh,
// without the fields listed; after a revalidation too.
func TestCacheResponseNoCacheFields(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, 200, "x", "Cache-Control", `no-cache="Set-Cookie, x-token", max-age=60`,
		"Set-Cookie", "a=b", "X-Token", "t", "X-Other", "o", "ETag", `"n"`)
	c, k := newClockClient(t)
	o.mu.Lock()
	o.clock = k
	o.mu.Unlock()
	fetch(t, c, o.srv.URL)
	for _, at := range []time.Duration{0, 120 * time.Second, 10 * time.Second} {
		k.advance(at)
		out, body := fetch(t, c, o.srv.URL)
		h := out.Response().Header
		if body != "x" || !out.Info().FromCache && out.StatusCode() != 304 || h.Get("X-Other") != "o" {
			t.Fatalf("+%v: %T %q %+v %v", at, out, body, out.Info(), h)
		}
		if h.Get("Set-Cookie") != "" || h.Get("X-Token") != "" {
			t.Fatalf("+%v: a field no-cache lists came from storage: %v", at, h)
		}
	}
	o.wantHits(t, 2, "fresh, stale (revalidated), fresh again")
}

// RFC 9111 §3.2, §5.2.2.5: a 304 with no-store answers the request with
// the stored response, freshened, but leaves nothing stored: the next
// request is not conditional. With must-understand (§5.2.2.3), no-store
// does not count for a status code the cache implements.
func TestCacheNotModifiedNoStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cc    string
		conds int
	}{
		{"no-store", 1},
		{"no-store, must-understand, no-cache", 2},
	} {
		o := newOrigin(t, 200, "body", "Cache-Control", "no-cache", "ETag", `"1"`)
		c, _ := newClockClient(t)
		fetch(t, c, o.srv.URL)
		o.set(200, "body", "Cache-Control", tc.cc, "ETag", `"1"`)
		if out, body := fetch(t, c, o.srv.URL); out.StatusCode() != 304 || body != "body" {
			t.Fatalf("%s: revalidated: %T %d %q", tc.cc, out, out.StatusCode(), body)
		}
		fetch(t, c, o.srv.URL)
		if hits, conds := o.counts(); hits != 3 || conds != tc.conds {
			t.Fatalf("%s: %d requests, %d conditional; want 3, %d", tc.cc, hits, conds, tc.conds)
		}
	}
}
