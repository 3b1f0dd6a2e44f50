package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
)

// store_test.go checks the Store's contract on a real redis-server: Get,
// Put, Delete, the keys and expiries it writes, and what it does with
// values it did not write.

func entryFor(key, variant string, body string) *semhttp.Entry {
	return &semhttp.Entry{
		Variant: variant, URL: strings.TrimPrefix(key, "GET "), StatusCode: 200,
		Header: http.Header{"Cache-Control": {"max-age=60"}, "Etag": {`"1"`}},
		Body:   []byte(body), Stored: time.Now(), Lifetime: time.Minute,
	}
}

func TestStoreGetPutDelete(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	s := New(srv.client(t))
	ctx := context.Background()
	const key = "GET http://example.com/a"

	if e, err := s.Get(ctx, key, "p\n"); e != nil || err != nil {
		t.Fatalf("empty store: %v, %v", e, err)
	}
	want := sampleEntry(100)
	want.Variant = "p\n"
	if err := s.Put(ctx, key, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, key, "p\n")
	if err != nil || !sameEntry(got, want) {
		t.Fatalf("Get: %+v, %v; want %+v", got, err, want)
	}
	if e, _ := s.Get(ctx, key, "q\n"); e != nil {
		t.Fatalf("another Variant: %+v", e)
	}
	if e, _ := s.Get(ctx, "GET http://example.com/b", "p\n"); e != nil {
		t.Fatalf("another key: %+v", e)
	}

	// Put replaces the entry of its Variant only.
	for i := range 50 {
		if err := s.Put(ctx, key, entryFor(key, fmt.Sprintf("v%d", i), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, key, entryFor(key, "v7", "seven")); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Get(ctx, key, "v7"); e == nil || string(e.Body) != "seven" {
		t.Fatalf("replaced: %+v", e)
	}
	if e, _ := s.Get(ctx, key, "v8"); e == nil || string(e.Body) != "8" {
		t.Fatalf("kept: %+v", e)
	}

	// Delete drops every Variant of the key, and no other key.
	other := "GET http://example.com/other"
	if err := s.Put(ctx, other, entryFor(other, "p\n", "other")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"p\n", "v0", "v7", "v49"} {
		if e, err := s.Get(ctx, key, v); e != nil || err != nil {
			t.Fatalf("deleted %q: %+v, %v", v, e, err)
		}
	}
	if e, _ := s.Get(ctx, other, "p\n"); e == nil {
		t.Fatal("Delete of one key dropped another")
	}
	if err := s.Delete(ctx, "GET http://example.com/never"); err != nil {
		t.Fatal(err)
	}

	// After a Delete a Put starts anew; the old entries stay gone, even
	// those of the same hash slot.
	if err := s.Put(ctx, key, entryFor(key, "v1", "new")); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Get(ctx, key, "v1"); e == nil || string(e.Body) != "new" {
		t.Fatalf("after Delete: %+v", e)
	}
	if e, _ := s.Get(ctx, key, "v2"); e != nil {
		t.Fatalf("an entry from before Delete: %+v", e)
	}

	// Bodies over the limit are refused; the limit is what MaxEntryBytes says.
	small := New(srv.client(t), WithMaxEntryBytes(10))
	if small.MaxEntryBytes() != 10 || s.MaxEntryBytes() != 1<<20 {
		t.Fatalf("MaxEntryBytes %d and %d", small.MaxEntryBytes(), s.MaxEntryBytes())
	}
	if err := small.Put(ctx, key, entryFor(key, "big", "0123456789a")); !errors.Is(err, semhttp.ErrBodyTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if e, _ := small.Get(ctx, key, "big"); e != nil {
		t.Fatal("stored over the limit")
	}
	if err := small.Put(ctx, key, nil); err != nil {
		t.Fatal(err)
	}
}

// TestStoreKeys checks what the store writes in Redis: one value per entry
// under the prefix, the keys of one URL in one hash slot.
func TestStoreKeys(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	rdb := srv.client(t)
	ctx := context.Background()
	s := New(rdb, WithPrefix("app1:"))
	other := New(rdb) // the default prefix: another cache in the same Redis
	const key = "GET http://example.com/{a}?b=}{"
	for _, v := range []string{"p\n", "p\nAccept:json", "q\n"} {
		if err := s.Put(ctx, key, entryFor(key, v, v)); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := other.Get(ctx, key, "p\n"); e != nil {
		t.Fatal("another prefix sees the entry")
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 { // the generation and three entries
		t.Fatalf("keys %q, want 4", keys)
	}
	var tag string
	for _, k := range keys {
		if !strings.HasPrefix(k, "app1:{") {
			t.Fatalf("key %q outside the prefix", k)
		}
		// Redis hashes the text between the first { and the next }.
		k = k[:strings.IndexByte(k, '}')+1]
		if tag != "" && k != tag {
			t.Fatalf("keys %q have several hash tags", keys)
		}
		tag = k
	}
}

// TestStoreCluster runs the store on a one-node Redis Cluster, which
// refuses any command whose keys are in several hash slots.
func TestStoreCluster(t *testing.T) {
	t.Parallel()
	srv := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	ctx := context.Background()
	admin := srv.client(t)
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.addr()}})
	t.Cleanup(func() { rdb.Close() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		state, _ := admin.ClusterInfo(ctx).Result()
		if strings.Contains(state, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ready: %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The client's own view of the slots must be there too.
	if err := rdb.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	// Braces in the prefix make a hash tag of their own, balanced or not.
	for _, prefix := range []string{"", "tenant{7}:", "odd{", "odd}{"} {
		s := New(rdb, WithTimeout(time.Second))
		if prefix != "" {
			s = New(rdb, WithTimeout(time.Second), WithPrefix(prefix))
		}
		const key = "GET http://example.com/c"
		if err := s.Put(ctx, key, entryFor(key, "p\n", "clustered")); err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if e, err := s.Get(ctx, key, "p\n"); err != nil || e == nil || string(e.Body) != "clustered" {
			t.Fatalf("prefix %q: Get: %+v, %v", prefix, e, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if e, err := s.Get(ctx, key, "p\n"); err != nil || e != nil {
			t.Fatalf("prefix %q: after Delete: %+v, %v", prefix, e, err)
		}
	}
	// Without the hash tag, the same MGET is refused: the test can tell.
	if err := rdb.MGet(ctx, "a", "b").Err(); err == nil {
		t.Fatal("a cross-slot MGET passed: the test proves nothing")
	}
}

// TestStoreTTL checks the expiry of entries: freshness left, stale
// windows, and the revalidate TTL for those with a validator.
func TestStoreTTL(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	rdb := srv.client(t)
	ctx := context.Background()
	const reval = time.Hour
	s := New(rdb, WithRevalidateTTL(reval))
	now := time.Now()
	mk := func(life, age time.Duration, stored time.Time, h ...string) *semhttp.Entry {
		hdr := http.Header{}
		for i := 0; i < len(h); i += 2 {
			hdr.Add(h[i], h[i+1])
		}
		return &semhttp.Entry{StatusCode: 200, Header: hdr, Stored: stored, Age: age, Lifetime: life}
	}
	for _, tc := range []struct {
		name string
		e    *semhttp.Entry
		want time.Duration
	}{
		{"max-age", mk(60*time.Second, 0, now), 60 * time.Second},
		{"aged", mk(60*time.Second, 20*time.Second, now.Add(-10*time.Second)), 30 * time.Second},
		{"swr", mk(60*time.Second, 0, now, "Cache-Control", "max-age=60, stale-while-revalidate=30"), 90 * time.Second},
		{"sie", mk(60*time.Second, 0, now, "Cache-Control", `max-age=60, Stale-If-Error="120"`, "Cache-Control", "stale-while-revalidate=5"), 180 * time.Second},
		{"etag", mk(60*time.Second, 0, now, "Etag", `"x"`), 60*time.Second + reval},
		{"no-cache", mk(0, 0, now, "Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT"), reval},
		{"stale on arrival", mk(10*time.Second, time.Minute, now), minTTL},
		{"huge window", mk(0, 0, now, "Cache-Control", "stale-if-error=99999999999999999999999"), maxWindow},
		{"forever", mk(1<<62, 0, now, "Etag", `"x"`), maxWindow + reval},
		{"index", &semhttp.Entry{Header: http.Header{"Vary": {"Accept"}}, Stored: now}, reval},
	} {
		if got := s.ttl(tc.e, now); got != tc.want {
			t.Errorf("%s: ttl %v, want %v", tc.name, got, tc.want)
		}
	}

	// In Redis: the entry's expiry, and its generation's, the longest.
	key := "GET http://example.com/ttl"
	if err := s.Put(ctx, key, mk(60*time.Second, 0, time.Now(), "Cache-Control", "max-age=60")); err != nil {
		t.Fatal(err)
	}
	gk, ek := s.keys(key, "")
	pttl := func(k string) time.Duration {
		d, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := pttl(ek); d < 55*time.Second || d > 60*time.Second {
		t.Fatalf("entry expires in %v, want 60s", d)
	}
	if d := pttl(gk); d < 55*time.Second || d > 60*time.Second {
		t.Fatalf("generation expires in %v, want 60s", d)
	}
	long := mk(0, 0, time.Now(), "Etag", `"e"`)
	long.Variant = "long"
	if err := s.Put(ctx, key, long); err != nil {
		t.Fatal(err)
	}
	if d := pttl(gk); d < reval-5*time.Second {
		t.Fatalf("generation expires in %v, before its entry (%v)", d, reval)
	}
	// An index lives as long as the generation when that is longer.
	s2 := New(rdb, WithRevalidateTTL(time.Minute))
	idx := &semhttp.Entry{Variant: "p\n", Header: http.Header{"Vary": {"Accept"}}, Stored: time.Now()}
	if err := s2.Put(ctx, key, idx); err != nil {
		t.Fatal(err)
	}
	if _, ik := s.keys(key, "p\n"); pttl(ik) < reval-5*time.Second {
		t.Fatalf("index expires in %v, before the entries it leads to", pttl(ik))
	}
}

// TestStoreForeignValues checks that values the store did not write (or
// wrote for another key of the same hash, or in another encoding) are
// misses or errors, never panics or wrong entries.
func TestStoreForeignValues(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	rdb := srv.client(t)
	ctx := context.Background()
	s := New(rdb)
	const key = "GET http://example.com/f"
	if err := s.Put(ctx, key, entryFor(key, "p\n", "mine")); err != nil {
		t.Fatal(err)
	}
	gk, ek := s.keys(key, "p\n")
	gen, err := rdb.Get(ctx, gk).Result()
	if err != nil || len(gen) != tokenLen {
		t.Fatalf("generation %q, %v", gen, err)
	}
	// Garbage after the right token: an error (logged by the client), no entry.
	rdb.Set(ctx, ek, gen+"\x01garbage", time.Minute)
	if e, err := s.Get(ctx, key, "p\n"); e != nil || err == nil {
		t.Fatalf("garbage: %+v, %v", e, err)
	}
	// A valid entry of another key, or Variant, under these Redis keys.
	rdb.Set(ctx, ek, gen+string(encode(nil, "GET http://example.com/g", entryFor(key, "p\n", "x"))), time.Minute)
	if e, err := s.Get(ctx, key, "p\n"); e != nil || err != nil {
		t.Fatalf("another key's entry: %+v, %v", e, err)
	}
	rdb.Set(ctx, ek, gen+string(encode(nil, key, entryFor(key, "q\n", "x"))), time.Minute)
	if e, err := s.Get(ctx, key, "p\n"); e != nil || err != nil {
		t.Fatalf("another Variant's entry: %+v, %v", e, err)
	}
	// Short values, a wrong generation, a hash where a string should be.
	for _, v := range []string{"", "abc", "12345678" + "\x01"} {
		rdb.Set(ctx, ek, v, time.Minute)
		if e, err := s.Get(ctx, key, "p\n"); e != nil || err != nil {
			t.Fatalf("value %q: %+v, %v", v, e, err)
		}
	}
	rdb.Del(ctx, ek)
	rdb.HSet(ctx, ek, "f", "v")
	if e, _ := s.Get(ctx, key, "p\n"); e != nil {
		t.Fatalf("a hash: %+v", e)
	}
	// A Put over a foreign value replaces it.
	if err := s.Put(ctx, key, entryFor(key, "p\n", "again")); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, key, "p\n"); err != nil || e == nil || string(e.Body) != "again" {
		t.Fatalf("after Put: %+v, %v", e, err)
	}
}
