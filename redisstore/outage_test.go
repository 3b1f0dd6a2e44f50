package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// outage_test.go checks that Redis trouble never fails a request: a Redis
// paused (too slow), killed or full costs a request at most the store's
// timeout, and the sharing resumes by itself when Redis is back.

// slack is what the latency bounds allow on top of the timeout: the tests
// run with -race on a shared machine.
const slack = 400 * time.Millisecond

// TestOutage runs a fleet of two clients through a Redis that is paused,
// resumed, killed and restarted on the same port, with go-redis bounding
// its I/O by the context or not (the store then waits in a goroutine).
func TestOutage(t *testing.T) {
	t.Parallel()
	for _, ctxTimeout := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ctxTimeout), func(t *testing.T) {
			t.Parallel()
			testOutage(t, ctxTimeout)
		})
	}
}

func testOutage(t *testing.T, ctxTimeout bool) {
	srv := startRedis(t)
	o := newOrigin(t)
	const timeout, cooldown = 100 * time.Millisecond, 300 * time.Millisecond
	store := func() *Store {
		rdb := srv.client(t, func(o *redis.Options) { o.ContextTimeoutEnabled = ctxTimeout })
		s := New(rdb, WithTimeout(timeout), WithCooldown(cooldown))
		if s.direct != ctxTimeout {
			t.Fatalf("direct %v with ContextTimeoutEnabled %v", s.direct, ctxTimeout)
		}
		return s
	}
	a, b := newClient(t, store()), newClient(t, store())
	fetch(t, a, o.URL+"/fresh/before")
	if _, how := fetch(t, b, o.URL+"/fresh/before"); how != "fresh" {
		t.Fatalf("not shared before the outage: %q", how)
	}
	// base is what a request to the origin costs without any Redis trouble.
	start := time.Now()
	fetch(t, a, o.URL+"/fresh/base")
	base := time.Since(start)

	// trouble fetches new URLs through a and the one stored before
	// through b while Redis is in trouble: every request succeeds, from
	// the origin, within the timeout (and slack) more than base.
	trouble := func(phase string) {
		t.Helper()
		var worst, total time.Duration
		const n = 30
		for i := range n {
			start := time.Now()
			body, how := fetch(t, a, fmt.Sprintf("%s/fresh/%s-%d", o.URL, phase, i))
			if body != fmt.Sprintf("body of /fresh/%s-%d", phase, i) || how != "" {
				t.Fatalf("%s: %q, %q", phase, body, how)
			}
			d := time.Since(start)
			worst, total = max(worst, d), total+d
			if i%10 == 0 {
				time.Sleep(cooldown) // let the cool-down end: Redis is tried again
			}
		}
		full, _ := o.counts("/fresh/before")
		if body, how := fetch(t, b, o.URL+"/fresh/before"); body != "body of /fresh/before" || how != "" {
			t.Fatalf("%s: b: %q, %q", phase, body, how)
		}
		if now, _ := o.counts("/fresh/before"); now != full+1 {
			t.Fatalf("%s: b was not answered by the origin", phase)
		}
		t.Logf("Redis %s: %d GETs, each %v at most, %v on average (%v without Redis trouble)", phase, n, worst, total/n, base)
		if limit := base + timeout + slack; worst > limit {
			t.Errorf("Redis %s: a GET took %v, more than %v", phase, worst, limit)
		}
	}

	srv.pause()
	trouble("paused")
	srv.resume()
	srv.kill()
	trouble("down")

	// Back, empty, on the same port: sharing resumes by itself.
	srv.restart()
	i := 0
	start = time.Now()
	if !waitFor(20*time.Second, func() bool {
		i++
		u := fmt.Sprintf("%s/fresh/after-%d", o.URL, i)
		fetch(t, a, u)
		_, how := fetch(t, b, u)
		return how == "fresh"
	}) {
		t.Fatal("sharing did not resume after Redis came back")
	}
	t.Logf("shared again %v after the restart (%d tries)", time.Since(start).Round(time.Millisecond), i)
	if full, _ := o.counts(fmt.Sprintf("/fresh/after-%d", i)); full != 1 {
		t.Fatalf("after the restart: origin sent %d 200s for a shared URL", full)
	}
}

// countHook counts the commands a go-redis client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestCooldown checks the circuit breaker: after a call failed for want of
// Redis the store leaves Redis alone for the cool-down, then tries again;
// errors Redis replies with, and a caller giving up, do not count.
func TestCooldown(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	rdb := srv.client(t)
	hook := &countHook{}
	rdb.AddHook(hook)
	const cooldown = 500 * time.Millisecond
	s := New(rdb, WithCooldown(cooldown))
	ctx := context.Background()
	const key = "GET http://example.com/cb"
	put := func() error { return s.Put(ctx, key, entryFor(key, "p\n", "cb")) }
	if err := put(); err != nil {
		t.Fatal(err)
	}

	// A full Redis refuses writes (OOM): a reply, not an outage.
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	const key2 = "GET http://example.com/cb2"
	if err := s.Put(ctx, key2, entryFor(key2, "p\n", "cb")); err == nil || !isReply(err) {
		t.Fatalf("Put to a full Redis: %v, want OOM", err)
	}
	if err := put(); err == nil || !isReply(err) {
		t.Fatalf("Put over an entry in a full Redis: %v, want OOM", err)
	}
	if e, err := s.Get(ctx, key, "p\n"); err != nil || e == nil {
		t.Fatalf("Get after an OOM: %v, %v; want the entry", e, err)
	}
	rdb.ConfigSet(ctx, "maxmemory", "0")

	// A caller who gave up is not an outage either.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(canceled, key, "p\n"); err == nil {
		t.Fatal("Get with a canceled context succeeded")
	}
	if e, err := s.Get(ctx, key, "p\n"); err != nil || e == nil {
		t.Fatalf("Get after a canceled one: %v, %v", e, err)
	}

	srv.kill()
	start := time.Now()
	if _, err := s.Get(ctx, key, "p\n"); err == nil {
		t.Fatal("Get from a dead Redis succeeded")
	}
	first := time.Since(start)
	sent := hook.n.Load()
	start = time.Now()
	for range 100 {
		if _, err := s.Get(ctx, key, "p\n"); !errors.Is(err, errCooldown) {
			t.Fatalf("during the cool-down: %v", err)
		}
		if err := put(); !errors.Is(err, errCooldown) {
			t.Fatalf("during the cool-down: %v", err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, errCooldown) {
			t.Fatalf("during the cool-down: %v", err)
		}
	}
	skipped := time.Since(start) / 300
	if n := hook.n.Load(); n != sent {
		t.Fatalf("%d commands sent during the cool-down", n-sent)
	}
	t.Logf("dead Redis: the failing Get took %v, those skipped during the cool-down %v each", first, skipped)

	// When the cool-down ends, one call tries Redis; the others still skip.
	time.Sleep(cooldown)
	sent = hook.n.Load()
	var wg sync.WaitGroup
	var skippedNow atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := s.Get(ctx, key, "p\n"); errors.Is(err, errCooldown) {
				skippedNow.Add(1)
			}
		})
	}
	wg.Wait()
	if n := hook.n.Load() - sent; n != 1 || skippedNow.Load() != 19 {
		t.Fatalf("after the cool-down, %d calls tried Redis and %d skipped it, want 1 and 19", n, skippedNow.Load())
	}

	srv.restart()
	time.Sleep(cooldown)
	if !waitFor(10*time.Second, func() bool { return put() == nil }) {
		t.Fatal("the store did not use Redis again after the cool-down")
	}
	if e, err := s.Get(ctx, key, "p\n"); err != nil || e == nil || string(e.Body) != "cb" {
		t.Fatalf("after the restart: %v, %v", e, err)
	}
}

// TestSilentRedis checks that, with go-redis not bounding
// its reads by the context, a Redis that accepts connections and never
// answers costs each call the timeout only.
func TestSilentRedis(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: l.Addr().String(), ReadTimeout: 2 * time.Second, Protocol: 2, DisableIdentity: true})
	const timeout = 50 * time.Millisecond
	s := New(rdb, WithTimeout(timeout), WithCooldown(time.Hour))
	start := time.Now()
	_, err = s.Get(context.Background(), "GET http://x/", "p\n")
	d := time.Since(start)
	if err == nil || d > timeout+slack {
		t.Fatalf("Get from a Redis that never answers: %v after %v", err, d)
	}
	// The store's own goroutine ends when go-redis gives up (ReadTimeout).
	rdb.Close()
	l.Close()
	for c := range accepted {
		c.Close()
	}
}

// TestFullRedis runs clients on a Redis out of memory (maxmemory, no
// eviction): it refuses every write, the requests go to the origin and
// succeed, and what was stored before still answers, without cool-down.
func TestFullRedis(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	o := newOrigin(t)
	rdb := srv.client(t)
	a := newClient(t, New(rdb))
	b := newClient(t, New(srv.client(t)))
	fetch(t, a, o.URL+"/fresh/stored")
	if err := rdb.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := fmt.Sprintf("/fresh/full-%d", i)
		fetch(t, a, o.URL+p)
		if body, how := fetch(t, b, o.URL+p); body != "body of "+p || how != "" {
			t.Fatalf("%s on a full Redis: %q, %q; want the origin's", p, body, how)
		}
		if _, how := fetch(t, b, o.URL+"/fresh/stored"); how != "fresh" {
			t.Fatalf("stored before Redis was full: %q, want fresh", how)
		}
	}
	if full, _ := o.counts("/fresh/stored"); full != 1 {
		t.Errorf("/fresh/stored: %d 200s, want 1", full)
	}
}
