package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

// The benchmarks of semhttp's private HTTP cache (issue 18).

// Clients of BenchmarkFreshHit, raw first (the floor: no cache).
const nameHTTPCache = "bartventer-httpcache"

var freshClients = []string{workload.NameRaw, nameHTTPCache, workload.NameSemhttpSend, workload.NameSemhttpDo}

// freshGetter returns the GET of one BenchmarkFreshHit client, which reads
// and checks the answer (200 with workload.JSONPayload's length), and the
// function that closes its idle connections.
func freshGetter(name string) (get func(url string) error, closeIdle func(), err error) {
	do := func(d interface {
		Do(*http.Request) (*http.Response, error)
	}) func(string) error {
		return func(u string) error {
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			resp, err := d.Do(req)
			if err != nil {
				return err
			}
			return readJSON(resp.StatusCode, resp.Body)
		}
	}
	switch name {
	case workload.NameRaw:
		hc := workload.Raw()
		return do(hc), hc.CloseIdleConnections, nil
	case nameHTTPCache:
		hc, upstream := workload.HTTPCache()
		return do(hc), upstream.CloseIdleConnections, nil
	case workload.NameSemhttpDo:
		c := workload.Semhttp()
		return do(c), c.CloseIdleConnections, nil
	case workload.NameSemhttpSend:
		c := workload.Semhttp()
		return func(u string) error {
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			out, err := c.Send(req)
			if err != nil {
				return err
			}
			switch out.(type) {
			case *semhttp.OK, *semhttp.NotModified: // NotModified: revalidated, Response is the stored 200
				return readJSON(out.Response().StatusCode, out.Response().Body)
			}
			out.Close()
			return fmt.Errorf("got %T, want *OK or *NotModified", out)
		}, c.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("no fresh-hit client %q", name)
}

// readJSON reads body to the end, closes it, and checks that it was a 200
// with workload.JSONPayload's length.
func readJSON(code int, body io.ReadCloser) error {
	n, err := io.Copy(io.Discard, body)
	body.Close()
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("status %d, want 200", code)
	case n != int64(len(workload.JSONPayload)):
		return fmt.Errorf("read %d body bytes, want %d", n, len(workload.JSONPayload))
	}
	return nil
}

// BenchmarkFreshHit is a GET of workload.PathFresh, the small JSON document
// of BenchmarkGet200 served with Cache-Control: max-age=300 and an ETag,
// read to the end and its length checked (issue 18: a fresh hit costs no
// network, at most 0.10× raw net/http's GET and no more than
// bartventer/httpcache's hit).
//
//   - client=raw: net/http without a cache, every GET goes to the server
//     (the baseline);
//   - client=bartventer-httpcache: an http.Client on bartventer/httpcache's
//     transport, in-memory backend (see internal/workload/clients.go);
//   - client=semhttp-Send, semhttp-Do: semhttp.New() with its default cache.
//
// Each client makes one untimed GET that fills its cache, then loop's
// checked call and b.N timed ones. server-req/op is the number of requests
// that reached the server per call of the loop (b.N+1 of them): 1 for raw,
// 0 for a cache that answers from storage. A cache that revalidates each
// time shows 1 (a 304).
func BenchmarkFreshHit(b *testing.B) {
	srv, base := startServer(b)
	u := base + workload.PathFresh
	for _, name := range freshClients {
		b.Run("client="+name, func(b *testing.B) {
			get, closeIdle, err := freshGetter(name)
			if err != nil {
				b.Fatal(err)
			}
			defer closeIdle()
			if err := get(u); err != nil { // fills the cache
				b.Fatal(err)
			}
			before := srv.stats(b).FreshRequests
			loop(b, func() error { return get(u) })
			b.StopTimer()
			b.ReportMetric(float64(srv.stats(b).FreshRequests-before)/float64(b.N+1), "server-req/op")
		})
	}
}

// entryCounts are the numbers of entries BenchmarkCacheEntriesUnderOneURL
// stores under its one URL.
var entryCounts = []int{1, 100, 1000, 10000, 50000}

// meServer is /me of BenchmarkCacheEntriesUnderOneURL: each user
// (Authorization: Bearer user-<i>) has a representation of its own, a small
// JSON document with the strong ETag "user-<i>-v1" and Cache-Control:
// no-cache (stored, but revalidated on every use: no max-age, and no
// heuristic freshness either). A GET with the user's ETag in If-None-Match
// is answered 304, any other 200; a POST is answered 204 (a successful
// unsafe request, which invalidates the cache's responses for /me).
type meServer struct {
	notModified, full, posts atomic.Int64
}

func userName(i int) string { return "user-" + strconv.Itoa(i) }

func meBody(user string) string { return `{"user":"` + user + `","plan":"pro"}` }

func (s *meServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/me" {
		http.NotFound(w, r)
		return
	}
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || user == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch r.Method {
	case http.MethodGet:
		etag := `"` + user + `-v1"`
		h := w.Header()
		h["Etag"] = []string{etag}
		h["Cache-Control"] = []string{"no-cache"}
		if r.Header.Get("If-None-Match") == etag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.full.Add(1)
		h["Content-Type"] = []string{"application/json"}
		io.WriteString(w, meBody(user))
	case http.MethodPost:
		io.Copy(io.Discard, r.Body)
		s.posts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// entriesFixture is one semhttp.Client whose cache holds n entries under
// the one URL .../me, one per user (credentials), filled once.
type entriesFixture struct {
	n     int
	url   string
	srv   *meServer
	store *semhttp.MemoryStore
	c     *semhttp.Client
}

// newEntriesFixture starts a meServer and fills a client's cache with the
// responses of users 0 … n-1 (one GET each, answered 200 and stored). The
// server and the client's connections are closed when owner ends; tb
// reports failures.
func newEntriesFixture(owner, tb testing.TB, n int) *entriesFixture {
	tb.Helper()
	ms := &meServer{}
	ts := httptest.NewServer(ms)
	owner.Cleanup(ts.Close)
	// Big enough that nothing is evicted: 50,000 entries take a few tens
	// of MiB.
	store := &semhttp.MemoryStore{MaxBytes: 1 << 30}
	f := &entriesFixture{n: n, url: ts.URL + "/me", srv: ms, store: store, c: semhttp.New(semhttp.WithCache(store))}
	owner.Cleanup(f.c.CloseIdleConnections)
	for i := range n {
		if err := f.get(i); err != nil {
			tb.Fatalf("filling entry %d of %d: %v", i, n, err)
		}
	}
	if got := store.Len(); got != n {
		tb.Fatalf("the store holds %d entries after %d users' GETs, want %d", got, n, n)
	}
	if got := ms.full.Load(); got != int64(n) {
		tb.Fatalf("the server answered %d full GETs while filling %d entries", got, n)
	}
	return f
}

func (f *entriesFixture) request(method string, user int) *http.Request {
	req, err := http.NewRequest(method, f.url, nil)
	if err != nil {
		panic(err)
	}
	req.Header["Authorization"] = []string{"Bearer " + userName(user)}
	return req
}

// get GETs /me as user with Send and checks that the answer is that user's
// representation: a 200, or a revalidated *NotModified whose Response is
// the stored 200.
func (f *entriesFixture) get(user int) error {
	out, err := f.c.Send(f.request(http.MethodGet, user))
	if err != nil {
		return err
	}
	switch out.(type) {
	case *semhttp.OK, *semhttp.NotModified:
	default:
		out.Close()
		return fmt.Errorf("GET as %s: got %T, want *OK or *NotModified", userName(user), out)
	}
	resp := out.Response()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if want := meBody(userName(user)); resp.StatusCode != http.StatusOK || string(b) != want {
		return fmt.Errorf("GET as %s: %d %q, want 200 %q", userName(user), resp.StatusCode, b, want)
	}
	return nil
}

// post POSTs to /me as user and checks the 204.
func (f *entriesFixture) post(user int) error {
	out, err := f.c.Send(f.request(http.MethodPost, user))
	if err != nil {
		return err
	}
	out.Close()
	if _, ok := out.(*semhttp.NoContent); !ok {
		return fmt.Errorf("POST as %s: got %T, want *NoContent", userName(user), out)
	}
	return nil
}

// BenchmarkCacheEntriesUnderOneURL measures what one call costs when n
// responses are stored under its URL (issue 18: "flat from 1 to 50,000
// entries under one URL"). One semhttp.Client, on a MemoryStore of 1 GiB
// (nothing is evicted), holds one entry per user under GET /me: each user's
// Authorization: Bearer user-<i> partitions the cache. The fill (n GETs,
// each answered 200 and stored) is done once per n, untimed, and the
// client is shared by both kinds; the server is meServer, in this process
// (BENCH_SERVER does not apply).
//
//   - kind=revalidate: a GET of /me by user i mod n (users in turn), which
//     revalidates that user's entry (If-None-Match, answered 304) and hands
//     back the stored representation: *NotModified from Send, whose body is
//     checked. The benchmark fails unless the server answered every GET of
//     the loop with 304.
//   - kind=invalidate: a POST to /me by user i mod n, answered 204: a
//     successful unsafe request, after which the cache must not answer from
//     the responses stored for /me (RFC 9111 §4.4). Refilling n entries per
//     op would take seconds at 50,000, so the op is the POST alone: then,
//     with the timer stopped, the same user GETs /me once more (one entry
//     stored or revalidated again). entries is the mean number of entries
//     the store held when each POST was sent: ~n when invalidation
//     keeps the entries and marks them (so the next use must revalidate),
//     ~1 when it deletes them all, as today's cache does — then only the
//     first POST of the fill faces n entries, and the curve says nothing
//     about n (cmd/ratios does not judge it).
//
// For kind=revalidate, entries is the number the store held after the
// loop (n). allocs/op are the client's and the in-process server's; the
// server's share does not depend on n.
func BenchmarkCacheEntriesUnderOneURL(b *testing.B) {
	// Filled on first use, by the first sub-benchmark that needs n; the
	// servers stop when the whole benchmark ends.
	top := b
	fixtures := map[int]*entriesFixture{}
	fixture := func(b *testing.B, n int) *entriesFixture {
		f := fixtures[n]
		if f == nil {
			start := time.Now()
			f = newEntriesFixture(top, b, n)
			b.Logf("filled %d entries in %v", n, time.Since(start).Round(time.Millisecond))
			fixtures[n] = f
		}
		return f
	}
	b.Run("kind=revalidate", func(b *testing.B) {
		for _, n := range entryCounts {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				f := fixture(b, n)
				var next int
				before304, before200 := f.srv.notModified.Load(), f.srv.full.Load()
				loop(b, func() error {
					next++
					return f.get(next % n)
				})
				b.StopTimer()
				if got, full := f.srv.notModified.Load()-before304, f.srv.full.Load()-before200; got != int64(b.N+1) || full != 0 {
					b.Fatalf("%d GETs answered 304 and %d answered 200, want all %d answered 304", got, full, b.N+1)
				}
				b.ReportMetric(float64(f.store.Len()), "entries")
			})
		}
	})
	b.Run("kind=invalidate", func(b *testing.B) {
		for _, n := range entryCounts {
			b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
				f := fixture(b, n)
				var next, entries int
				posts := f.srv.posts.Load()
				// The POST, timed; then, untimed, one GET that stores the
				// user's entry again, and the count the next POST faces.
				op := func() error {
					next++
					if err := f.post(next % n); err != nil {
						return err
					}
					b.StopTimer()
					err := f.get(next % n)
					entries = f.store.Len()
					b.StartTimer()
					return err
				}
				if err := op(); err != nil {
					b.Fatal(err)
				}
				var faced int64
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					faced += int64(entries)
					if err := op(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if got := f.srv.posts.Load() - posts; got != int64(b.N+1) {
					b.Fatalf("the server got %d POSTs, want %d", got, b.N+1)
				}
				b.ReportMetric(float64(faced)/float64(b.N), "entries")
			})
		}
	})
}

// TestFreshHit checks every BenchmarkFreshHit client against the workload
// server: the second GET of PathFresh through a cache does not reach the
// server; through raw net/http it does.
func TestFreshHit(t *testing.T) {
	srv, base := startServer(t)
	for _, name := range freshClients {
		t.Run(name, func(t *testing.T) {
			get, closeIdle, err := freshGetter(name)
			if err != nil {
				t.Fatal(err)
			}
			defer closeIdle()
			before := srv.stats(t).FreshRequests
			for i := range 3 {
				if err := get(base + workload.PathFresh); err != nil {
					t.Fatalf("GET %d: %v", i+1, err)
				}
			}
			reqs := srv.stats(t).FreshRequests - before
			switch name {
			case workload.NameRaw:
				if reqs != 3 {
					t.Errorf("3 GETs reached the server %d times, want 3", reqs)
				}
			default: // a cache: the first GET fills it, the others are fresh hits
				if reqs != 1 {
					t.Errorf("3 GETs reached the server %d times, want 1 (the first)", reqs)
				}
			}
		})
	}
	if _, _, err := freshGetter("curl"); err == nil {
		t.Error("freshGetter(curl) succeeded")
	}
}

// TestCacheEntriesUnderOneURL runs both kinds of
// BenchmarkCacheEntriesUnderOneURL's op on a small fixture.
func TestCacheEntriesUnderOneURL(t *testing.T) {
	const n = 5
	f := newEntriesFixture(t, t, n)
	for i := range 2 * n {
		if err := f.get(i % n); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.srv.notModified.Load(); got != 2*n {
		t.Fatalf("%d of %d GETs of stored entries were answered 304", got, 2*n)
	}
	if got := f.store.Len(); got != n {
		t.Fatalf("%d entries after revalidating, want %d", got, n)
	}
	full := f.srv.full.Load()
	if err := f.post(2); err != nil {
		t.Fatal(err)
	}
	if err := f.get(2); err != nil {
		t.Fatal(err)
	}
	// After the POST, the GET must not have been answered from storage
	// without asking: the server saw it, as a 200 or a 304.
	if got := f.srv.full.Load() - full + f.srv.notModified.Load() - 2*n; got != 1 {
		t.Fatalf("the GET after the POST reached the server %d times, want 1", got)
	}
	t.Logf("entries after the POST and one GET: %d of %d", f.store.Len(), n)
}
