package redisstore

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
)

// bench_test.go measures a lookup and a fresh hit with the Redis store next
// to semhttp.MemoryStore, on the same entry:
//
//	go test -run '^$' -bench . -benchmem
//
// store=redis is a go-redis client with its default options (the store
// waits for each call in a goroutine of its own to bound it);
// store=redis-ctxtimeout one built with ContextTimeoutEnabled (no
// goroutine). Redis is a local redis-server on loopback: the figures are
// a round trip on one machine, a floor for a network. The stores' timeout
// is a second: a loaded machine would otherwise turn a slow lookup into a
// miss, which the benchmark reports as a failure.

// benchStores returns the stores compared, the Redis ones on srv.
func benchStores(b *testing.B, srv *redisServer) []struct {
	name  string
	store semhttp.Store
} {
	return []struct {
		name  string
		store semhttp.Store
	}{
		{"memory", &semhttp.MemoryStore{}},
		{"redis", New(srv.client(b), WithTimeout(time.Second))},
		{"redis-ctxtimeout", New(srv.client(b, func(o *redis.Options) { o.ContextTimeoutEnabled = true }), WithTimeout(time.Second))},
	}
}

// BenchmarkGet is Store.Get of a stored entry: a JSON response of 1 KiB
// or 16 KiB with a typical header.
func BenchmarkGet(b *testing.B) {
	srv := startRedis(b)
	ctx := context.Background()
	const key = "GET https://api.example.com/v1/widgets/42"
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}} {
		e := sampleEntry(size.n)
		for _, st := range benchStores(b, srv) {
			b.Run("body="+size.name+"/store="+st.name, func(b *testing.B) {
				if err := st.store.Put(ctx, key, e); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					got, err := st.store.Get(ctx, key, e.Variant)
					if err != nil || got == nil || len(got.Body) != size.n {
						b.Fatalf("Get: %v, %v", got, err)
					}
				}
			})
		}
	}
}

// BenchmarkPut is Store.Put of the 1 KiB entry of BenchmarkGet.
func BenchmarkPut(b *testing.B) {
	srv := startRedis(b)
	ctx := context.Background()
	const key = "GET https://api.example.com/v1/widgets/42"
	e := sampleEntry(1 << 10)
	for _, st := range benchStores(b, srv) {
		b.Run("store="+st.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := st.store.Put(ctx, key, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFreshHit is a GET through a semhttp Client of a 1 KiB JSON
// document served with Cache-Control: max-age=300 and an ETag, answered
// from the store (server-req/op is 0), its body read to the end.
func BenchmarkFreshHit(b *testing.B) {
	srv := startRedis(b)
	body := `{"items":[` + strings.Repeat(`{"id":1234,"name":"widget"},`, 36) + `{}]}`
	var requests atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Etag", `"v1"`)
		io.WriteString(w, body)
	}))
	defer origin.Close()
	for _, st := range benchStores(b, srv) {
		b.Run("store="+st.name, func(b *testing.B) {
			c := semhttp.New(semhttp.WithCache(st.store))
			defer c.CloseIdleConnections()
			get := func() string {
				req, _ := http.NewRequest(http.MethodGet, origin.URL+"/doc", nil)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(len(body)) {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				return resp.Header.Get(semhttp.CacheHeader)
			}
			get() // stores it
			if how := get(); how != "fresh" {
				b.Fatalf("not a fresh hit: %q", how)
			}
			before := requests.Load()
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(requests.Load()-before)/float64(b.N), "server-req/op")
		})
	}
}
