package semhttp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
	"github.com/semhttp/semhttp/internal/lru"
)

// throttle.go keeps retries from making an outage worse, for the whole
// Client: the retry budget (retries are paid for by successes, as
// Finagle's RetryBudget and gRPC's retry throttling do) and the per-origin
// gate (no request goes to an origin that asked to be left alone until a
// time, as go-github's rate-limit memory does).

// ErrThrottled reports a call that was not sent: its origin had asked the
// Client to hold off (a 429 or 503 with Retry-After, or a rate limit with
// nothing remaining until a reset) for longer than the call could wait —
// past its context's deadline, or beyond RetryPolicy.MaxRetryAfter. It
// comes wrapped in the call's *RequestError.
var ErrThrottled = errors.New("semhttp: the origin asked to hold off")

// maxBanked is how many retries the budget banks at most.
const maxBanked = 100

// retryBudget is the Client's retry budget, in thousandths of a retry so
// that it runs on atomics: a response that is not retried earns ratio, a
// retry spends one from what was earned, else from the floor, a token
// bucket refilled at floor per second.
type retryBudget struct {
	ratio  int64        // earned per success, in thousandths; 0: the budget is off
	floor  int64        // per second and at most, in thousandths
	earned atomic.Int64 // ≤ maxBanked retries
	spare  atomic.Int64 // floor tokens left at spareAt
	at     atomic.Int64 // UnixNano of the last floor refill
}

func newRetryBudget(p *retryConfig) *retryBudget {
	b := &retryBudget{}
	if p.BudgetRatio > 0 {
		b.ratio = int64(math.Ceil(p.BudgetRatio * 1000))
		b.floor = int64(p.BudgetFloor) * 1000
		b.spare.Store(b.floor)
		b.at.Store(time.Now().UnixNano())
	}
	return b
}

// earn credits a response that was not retried.
func (b *retryBudget) earn() {
	if b.ratio == 0 || b.earned.Load() >= maxBanked*1000 {
		return
	}
	if b.earned.Add(b.ratio) > maxBanked*1000 {
		b.earned.Store(maxBanked * 1000)
	}
}

// spend takes one retry from the budget, and reports whether there was one.
func (b *retryBudget) spend() bool {
	if b.ratio == 0 {
		return true
	}
	for {
		e := b.earned.Load()
		if e < 1000 {
			break
		}
		if b.earned.CompareAndSwap(e, e-1000) {
			return true
		}
	}
	if b.floor == 0 {
		return false
	}
	now := time.Now().UnixNano()
	if last := b.at.Load(); now > last && b.at.CompareAndSwap(last, now) {
		refill := (now - last) / int64(time.Millisecond) * b.floor / 1000 // floor per second, in thousandths
		if s := b.spare.Add(refill); s > b.floor {
			b.spare.Store(b.floor)
		}
	}
	for {
		s := b.spare.Load()
		if s < 1000 {
			return false
		}
		if b.spare.CompareAndSwap(s, s-1000) {
			return true
		}
	}
}

// maxGate bounds how long one answer can hold an origin off.
const maxGate = time.Hour

// maxGates bounds how many origins (with credentials) a Client remembers
// holding it off; the least recently told goes first.
const maxGates = 1024

// gate remembers, per origin and credentials (as the cache partitions its
// entries), until when the origin asked the Client to hold off.
type gate struct {
	active atomic.Int64 // entries, read without the lock: the happy path only loads it
	mu     sync.Mutex
	lru    *lru.Cache[gateKey, time.Time]
}

type gateKey struct{ origin, partition string }

func gateKeyOf(u *url.URL, partition string) gateKey {
	return gateKey{origin: httpsyntax.Origin(u).String(), partition: partition}
}

// closeUntil holds the origin of u off until t (no later than maxGate
// from now; an earlier t than one already set does not shorten it).
func (g *gate) closeUntil(u *url.URL, partition string, t time.Time) {
	if u == nil || u.Host == "" {
		return
	}
	if limit := time.Now().Add(maxGate); t.After(limit) {
		t = limit
	}
	k := gateKeyOf(u, partition)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lru == nil {
		g.lru = lru.New[gateKey, time.Time](maxGates, nil)
	}
	if old, ok := g.lru.Get(k); ok && old.After(t) {
		return
	}
	g.lru.Put(k, t, 1)
	g.active.Store(int64(g.lru.Len()))
}

// until returns how long the origin of u asked to be held off from now,
// or 0.
func (g *gate) until(u *url.URL, partition string) time.Duration {
	if g.active.Load() == 0 || u == nil {
		return 0
	}
	k := gateKeyOf(u, partition)
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.lru.Get(k)
	if !ok {
		return 0
	}
	d := time.Until(t)
	if d <= 0 {
		g.lru.Remove(k)
		g.active.Store(int64(g.lru.Len()))
		return 0
	}
	return d
}

// noteHoldOff closes the gate of req's origin when resp asks the client
// to hold off: a 429 or 503 with a positive Retry-After, or a rate limit
// with nothing remaining until a reset to come.
func (c *Client) noteHoldOff(req *http.Request, resp *http.Response) {
	var until time.Time
	code := resp.StatusCode
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if ra, ok := retryAfter(resp); ok && ra > 0 {
			until = time.Now().Add(ra)
		}
	}
	if h := resp.Header; len(h["Ratelimit"]) > 0 || len(h["Ratelimit-Remaining"]) > 0 || len(h["X-Ratelimit-Remaining"]) > 0 {
		if rl, ok := parseRateLimit(h, time.Now()); ok && rl.Remaining == 0 && rl.Reset.After(until) {
			until = rl.Reset
		}
	}
	if until.IsZero() || !until.After(time.Now()) {
		return
	}
	c.gate.closeUntil(req.URL, requestPartition(req, c.redirect.credentials), until)
}

// waitGate waits until req's origin accepts requests again, counting the
// wait in x, or fails at once with ErrThrottled when the call cannot wait
// that long.
func (c *Client) waitGate(req *http.Request, x *exchange) error {
	if c.gate.active.Load() == 0 {
		return nil
	}
	d := c.gate.until(req.URL, requestPartition(req, c.redirect.credentials))
	if d <= 0 {
		return nil
	}
	if max := x.retryPolicy(c).MaxRetryAfter; d > max {
		return fmt.Errorf("%w for %v more, beyond RetryPolicy.MaxRetryAfter (%v)", ErrThrottled, d.Round(time.Millisecond), max)
	}
	if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("%w for %v more, past the context's deadline (%w)", ErrThrottled, d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	start := time.Now()
	err := sleep(req.Context(), d)
	waited := time.Since(start)
	x.waited += waited
	x.throttled += waited
	return err
}
