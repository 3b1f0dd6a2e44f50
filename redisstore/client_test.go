package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
)

// client_test.go runs semhttp Clients on the Redis store, several of them
// on one Redis as several processes would be, against an httptest origin
// that counts what reaches it.

// origin is an httptest server of a few resources, counting full
// responses (200) and 304s per path:
//
//   - /fresh/...: max-age=3600 and an ETag: reused without asking;
//   - /reval/...: no-cache and an ETag: revalidated each time (304);
//   - /vary/...: max-age=3600, Vary: Accept-Language, a body per language;
//   - /private/...: private, max-age=3600, a body naming the Authorization.
//
// A POST to any path answers 204 (and invalidates it in the client).
type origin struct {
	*httptest.Server
	mu   sync.Mutex
	full map[string]int
	not  map[string]int
}

func newOrigin(tb testing.TB) *origin {
	o := &origin{full: map[string]int{}, not: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	tb.Cleanup(o.Close)
	return o
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body := "body of " + p
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	switch {
	case strings.HasPrefix(p, "/fresh/"):
		h.Set("Cache-Control", "max-age=3600")
	case strings.HasPrefix(p, "/reval/"):
		h.Set("Cache-Control", "no-cache")
	case strings.HasPrefix(p, "/vary/"):
		h.Set("Cache-Control", "max-age=3600")
		h.Set("Vary", "Accept-Language")
		body += " in " + r.Header.Get("Accept-Language")
	case strings.HasPrefix(p, "/private/"):
		h.Set("Cache-Control", "private, max-age=3600")
		body += " for " + r.Header.Get("Authorization")
	default:
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, len(body))
	h.Set("Etag", etag)
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Header.Get("If-None-Match") == etag {
		o.not[p]++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	o.full[p]++
	io.WriteString(w, body)
}

// counts returns the number of 200s and 304s path was answered with.
func (o *origin) counts(path string) (full, notModified int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.full[path], o.not[path]
}

// newClient returns a semhttp Client on s, its idle connections closed
// when tb ends.
func newClient(tb testing.TB, s semhttp.Store, opts ...semhttp.Option) *semhttp.Client {
	c := semhttp.New(append([]semhttp.Option{semhttp.WithCache(s)}, opts...)...)
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// fetch GETs url with the header fields given as name, value pairs and
// returns the body and how the cache answered (its Semhttp-Cache field,
// "" when the origin did).
func fetch(tb testing.TB, c *semhttp.Client, url string, header ...string) (body, cached string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b), resp.Header.Get(semhttp.CacheHeader)
}

// TestClientsShareTheCache runs two Clients, each with a Store of its own
// on one Redis (two processes of a fleet): what one fetched answers the
// other.
func TestClientsShareTheCache(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	o := newOrigin(t)
	a := newClient(t, New(srv.client(t)))
	b := newClient(t, New(srv.client(t)))

	for _, p := range []string{"/fresh/1", "/reval/1"} {
		if body, how := fetch(t, a, o.URL+p); body != "body of "+p || how != "" {
			t.Fatalf("A %s: %q, %q", p, body, how)
		}
	}
	if body, how := fetch(t, b, o.URL+"/fresh/1"); body != "body of /fresh/1" || how != "fresh" {
		t.Fatalf("B /fresh/1: %q, cache %q; want fresh from A's", body, how)
	}
	if body, how := fetch(t, b, o.URL+"/reval/1"); body != "body of /reval/1" || how != "revalidated" {
		t.Fatalf("B /reval/1: %q, cache %q; want revalidated", body, how)
	}
	if full, not := o.counts("/fresh/1"); full != 1 || not != 0 {
		t.Errorf("/fresh/1: origin sent %d 200s and %d 304s, want 1 and 0", full, not)
	}
	if full, not := o.counts("/reval/1"); full != 1 || not != 1 {
		t.Errorf("/reval/1: origin sent %d 200s and %d 304s, want 1 and 1", full, not)
	}

	// Vary: each language is its own entry, shared by both clients.
	if body, _ := fetch(t, a, o.URL+"/vary/1", "Accept-Language", "en"); body != "body of /vary/1 in en" {
		t.Fatalf("A en: %q", body)
	}
	if body, how := fetch(t, b, o.URL+"/vary/1", "Accept-Language", "de"); body != "body of /vary/1 in de" || how != "" {
		t.Fatalf("B de: %q, cache %q; want the origin's", body, how)
	}
	if body, how := fetch(t, b, o.URL+"/vary/1", "Accept-Language", "en"); body != "body of /vary/1 in en" || how != "fresh" {
		t.Fatalf("B en: %q, cache %q; want A's, fresh", body, how)
	}
	if body, how := fetch(t, a, o.URL+"/vary/1", "Accept-Language", "de"); body != "body of /vary/1 in de" || how != "fresh" {
		t.Fatalf("A de: %q, cache %q; want B's, fresh", body, how)
	}
	if full, _ := o.counts("/vary/1"); full != 2 {
		t.Errorf("/vary/1: origin sent %d 200s, want 2", full)
	}

	// A POST through B invalidates what A stored.
	req, _ := http.NewRequest(http.MethodPost, o.URL+"/fresh/1", strings.NewReader("x"))
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, how := fetch(t, a, o.URL+"/fresh/1"); how != "" {
		t.Fatalf("after B's POST, A's GET answered from the cache (%q)", how)
	}
	if full, _ := o.counts("/fresh/1"); full != 2 {
		t.Errorf("/fresh/1 after the POST: origin sent %d 200s, want 2", full)
	}
}

// TestClientsCredentialPartition checks that a response fetched with one
// user's credentials never answers another user's request, in whichever
// process of the fleet, and always answers the same user's.
func TestClientsCredentialPartition(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	o := newOrigin(t)
	rdb := srv.client(t)
	a := newClient(t, New(rdb))
	b := newClient(t, New(srv.client(t)))
	alice := newClient(t, New(srv.client(t)), semhttp.WithHeader("Authorization", "Bearer alice"))
	u := o.URL + "/private/doc"

	if body, how := fetch(t, a, u, "Authorization", "Bearer alice"); body != "body of /private/doc for Bearer alice" || how != "" {
		t.Fatalf("alice on A: %q, %q", body, how)
	}
	if body, how := fetch(t, b, u, "Authorization", "Bearer bob"); body != "body of /private/doc for Bearer bob" || how != "" {
		t.Fatalf("bob on B: %q, cache %q; want his own, from the origin", body, how)
	}
	if body, how := fetch(t, b, u); body != "body of /private/doc for " || how != "" {
		t.Fatalf("anonymous on B: %q, cache %q; want the origin's", body, how)
	}
	for name, c := range map[string]*semhttp.Client{"B": b, "alice's client": alice} {
		var header []string
		if c == b {
			header = []string{"Authorization", "Bearer alice"}
		}
		if body, how := fetch(t, c, u, header...); body != "body of /private/doc for Bearer alice" || how != "fresh" {
			t.Fatalf("alice on %s: %q, cache %q; want hers, fresh", name, body, how)
		}
	}
	if body, how := fetch(t, a, u, "Authorization", "Bearer bob"); body != "body of /private/doc for Bearer bob" || how != "fresh" {
		t.Fatalf("bob on A: %q, cache %q; want his, fresh", body, how)
	}
	if full, _ := o.counts("/private/doc"); full != 3 {
		t.Errorf("origin sent %d 200s, want 3 (alice, bob, anonymous)", full)
	}
	// Three partitions: three entries and one generation in Redis, and no
	// credential in any key or value.
	keys, _ := rdb.Keys(context.Background(), "*").Result()
	if len(keys) != 4 {
		t.Errorf("keys %q, want 4", keys)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ":g") {
			continue
		}
		v, _ := rdb.Get(context.Background(), k).Result()
		e, key, err := decode(v[tokenLen:])
		if err != nil {
			t.Fatal(err)
		}
		if all := fmt.Sprint(k, key, e.Variant, e.URL, e.Header); strings.Contains(all, "alice") || strings.Contains(all, "bob") {
			t.Errorf("a credential in Redis: %s", all)
		}
	}
}

// TestClientStoreErrorsAreMisses runs a Client on a Redis that is not
// there: every request goes to the origin and succeeds, and the client
// logs the store's failures at Debug.
func TestClientStoreErrorsAreMisses(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + fmt.Sprint(freePort(t)), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, New(rdb), semhttp.WithLogger(logger))
	for range 3 {
		for _, p := range []string{"/fresh/e", "/reval/e"} {
			if body, how := fetch(t, c, o.URL+p); body != "body of "+p || how != "" {
				t.Fatalf("%s: %q, %q", p, body, how)
			}
		}
	}
	if full, _ := o.counts("/fresh/e"); full != 3 {
		t.Errorf("/fresh/e: %d 200s, want 3", full)
	}
	if got := logs.String(); !strings.Contains(got, "cache store failed") {
		t.Errorf("no store failure logged:\n%s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond every 20 ms until it holds or d passed.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
