package semhttp

// Tests for retries that never make an outage worse: the retry budget,
// the per-origin gate, rate-limit fields, Retry-After as a minimum.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// storm sends n GETs at once through c and returns how many ended in a
// 200 and how many requests the server saw.
func storm(t *testing.T, c *Client, url string, n int, arrivals *atomic.Int64) (ok int) {
	t.Helper()
	var wg sync.WaitGroup
	var oks atomic.Int64
	for range n {
		wg.Go(func() {
			out, err := c.Send(get(t, url))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, out.Response().Body)
			out.Close()
			if out.StatusCode() == 200 {
				oks.Add(1)
			}
		})
	}
	wg.Wait()
	return int(oks.Load())
}

// TestRetryBudgetStorm: 200 goroutines share one Client against a server
// that answers every request 503 (Retry-After: 0): with the budget the
// server sees at most 1.3 requests per call (4 without it). Against a
// server that fails every second request, the retries still rescue most
// of the calls that failed at first.
func TestRetryBudgetStorm(t *testing.T) {
	t.Parallel()
	var all, half atomic.Int64
	allDown := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all.Add(1)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	halfDown := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if half.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	policy := RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond} // 4 attempts, the default budget

	c := newTestClient(t, WithRetryPolicy(policy))
	storm(t, c, allDown.URL, 200, &all)
	t.Logf("all 503: %d arrivals for 200 calls", all.Load())
	if n := all.Load(); n > 260 {
		t.Fatalf("all 503: the server saw %d requests for 200 calls (%.2f×), want at most 1.3×", n, float64(n)/200)
	}

	c = newTestClient(t, WithRetryPolicy(policy))
	oks := storm(t, c, halfDown.URL, 200, &half)
	t.Logf("half 503: %d of 200 calls ended 200, %d arrivals", oks, half.Load())
	if oks < 150 {
		t.Fatalf("half 503: %d of 200 calls succeeded; the retries must rescue most of the ~100 that failed at first", oks)
	}

	// Without the budget, the same storm is the outage times the attempts.
	all.Store(0)
	off := policy
	off.BudgetRatio = -1
	storm(t, newTestClient(t, WithRetryPolicy(off)), allDown.URL, 200, &all)
	if n := all.Load(); n != 800 {
		t.Fatalf("without the budget: %d arrivals, want 800 (this test must see the difference)", n)
	}
}

// TestRetryBudgetRefusalIsVisible: a refused retry shows in OnRetry, in
// Info and in the log.
func TestRetryBudgetRefusalIsVisible(t *testing.T) {
	t.Parallel()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	var logs strings.Builder
	var mu sync.Mutex
	var refused atomic.Int64
	c := newTestClient(t, WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithRetryPolicy(RetryPolicy{
			InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, BudgetFloor: 2,
			OnRetry: func(e RetryEvent) {
				if e.Refused {
					refused.Add(1)
				}
			},
		}))
	out, body := sendRead(t, c, get(t, srv.URL))
	// The floor holds two retries: the third is refused.
	if out.StatusCode() != 502 || out.Info().Attempts != 3 || !out.Info().RetryRefused || refused.Load() != 1 || body != "" {
		t.Fatalf("%d after %d attempts, RetryRefused %v, %d refused events", out.StatusCode(), out.Info().Attempts, out.Info().RetryRefused, refused.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "retry refused by the retry budget") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestRetryBudgetAccounts checks the budget's arithmetic on synctest's
// clock: successes earn, the floor refills per second up to its size, at
// most 100 retries are banked.
func TestRetryBudgetAccounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := RetryPolicy{BudgetRatio: 0.5, BudgetFloor: 2}.resolved()
		b := newRetryBudget(&p)
		spent := func() (n int) {
			for b.spend() {
				n++
			}
			return n
		}
		if n := spent(); n != 2 {
			t.Fatalf("a fresh budget allowed %d retries, want the floor of 2", n)
		}
		for range 6 {
			b.earn()
		}
		if n := spent(); n != 3 {
			t.Fatalf("6 successes at 0.5 paid for %d retries, want 3", n)
		}
		time.Sleep(500 * time.Millisecond)
		if n := spent(); n != 1 {
			t.Fatalf("half a second refilled %d, want 1", n)
		}
		time.Sleep(10 * time.Second)
		if n := spent(); n != 2 {
			t.Fatalf("ten seconds refilled %d, want the floor's size, 2", n)
		}
		for range 1000 {
			b.earn()
		}
		if n := spent(); n != maxBanked {
			t.Fatalf("1000 successes banked %d retries, want %d", n, maxBanked)
		}
		off := RetryPolicy{BudgetRatio: -1}.resolved()
		b = newRetryBudget(&off)
		for i := range 1000 {
			if !b.spend() {
				t.Fatalf("a budget that is off refused retry %d", i)
			}
		}
	})
}

// TestRetryAfterIsAMinimum: a 429 with Retry-After in the past, or 0, is
// retried after the backoff's waits, not four times in a few
// milliseconds.
func TestRetryAfterIsAMinimum(t *testing.T) {
	for _, ra := range []string{"Mon, 01 Jan 1990 00:00:00 GMT", "0"} {
		t.Run(ra, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var at []time.Duration
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					at = append(at, time.Since(start))
					w.Header().Set("Retry-After", ra)
					w.WriteHeader(http.StatusTooManyRequests)
				})
				c := New(WithTransport(handlerTransport{h}), WithRetryPolicy(RetryPolicy{Jitter: -1, BudgetRatio: -1}))
				out, err := c.Send(get(t, "http://api.test/x"))
				if err != nil {
					t.Fatal(err)
				}
				out.Close()
				// The default backoff: 200ms, 400ms, 800ms.
				want := []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond, 1400 * time.Millisecond}
				if fmt.Sprint(at) != fmt.Sprint(want) {
					t.Fatalf("arrivals at %v, want %v", at, want)
				}
			})
		})
	}
}

// gatedServer answers its first request 503 with Retry-After: 2, then
// 200, and records when requests arrive.
type gatedServer struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
	auth  []string
}

func (g *gatedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	n := len(g.at)
	g.at = append(g.at, time.Since(g.start))
	g.auth = append(g.auth, r.Header.Get("Authorization"))
	g.mu.Unlock()
	if n == 0 {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok")
}

func (g *gatedServer) arrivalsBefore(d time.Duration) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, a := range g.at {
		if a < d {
			n++
		}
	}
	return n
}

// TestGateHoldsOffAnOrigin: after a 503 with Retry-After: 2, the 50
// requests the Client starts in the next two seconds wait (not one of
// them reaches the origin) and then all succeed with MaxAttempts: 1; a
// call that cannot wait that long ends at once with ErrThrottled; another
// user's credentials are not held off.
func TestGateHoldsOffAnOrigin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedServer{start: time.Now()}
		c := New(WithTransport(handlerTransport{g}), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		first, err := c.Send(get(t, "http://api.test/a"))
		if err != nil || first.StatusCode() != 503 {
			t.Fatalf("first: %v %v", first, err)
		}
		first.Close()

		time.Sleep(100 * time.Millisecond)
		var wg sync.WaitGroup
		var oks, throttled atomic.Int64
		for i := range 50 {
			wg.Go(func() {
				out, err := c.Send(get(t, "http://api.test/b/"+strconv.Itoa(i)))
				if err != nil {
					t.Error(err)
					return
				}
				out.Close()
				if out.StatusCode() == 200 {
					oks.Add(1)
				}
				if th := out.Info().Throttled; th >= 1800*time.Millisecond && th <= 1900*time.Millisecond && out.Info().Waited == th {
					throttled.Add(1)
				}
			})
		}
		// A call that cannot wait 1.9 s more: at once, nothing sent.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test/c", nil)
		before := time.Now()
		_, err = c.Send(req)
		cancel()
		var re *RequestError
		if !errors.Is(err, ErrThrottled) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &re) || time.Since(before) != 0 {
			t.Fatalf("a call with a 1s deadline: %v after %v", err, time.Since(before))
		}
		req, _ = http.NewRequestWithContext(WithRequestOptions(context.Background(),
			RequestOptions{RetryPolicy: &RetryPolicy{MaxRetryAfter: time.Second}}), http.MethodGet, "http://api.test/d", nil)
		if _, err := c.Send(req); !errors.Is(err, ErrThrottled) {
			t.Fatalf("MaxRetryAfter 1s: %v", err)
		}
		// Another user's quota is their own.
		other := get(t, "http://api.test/e")
		other.Header.Set("Authorization", "Bearer bob")
		if out, err := c.Send(other); err != nil || out.StatusCode() != 200 || out.Info().Throttled != 0 {
			t.Fatalf("another user was held off: %v %v", out, err)
		}
		if n := g.arrivalsBefore(time.Second); n != 2 {
			t.Fatalf("%d requests reached the origin inside the window; want the first and bob's", n)
		}
		wg.Wait()
		if oks.Load() != 50 || throttled.Load() != 50 {
			t.Fatalf("%d of 50 succeeded, %d with ~1.9s in Info().Throttled", oks.Load(), throttled.Load())
		}
		if n := g.arrivalsBefore(2 * time.Second); n != 2 {
			t.Fatalf("%d arrivals before the Retry-After ran out, want 2", n)
		}
	})
}

// TestGateFromRateLimitFields: a response whose rate limit has nothing
// remaining holds the origin off until its reset, in each of the fields
// servers send.
func TestGateFromRateLimitFields(t *testing.T) {
	for name, set := range map[string]func(h http.Header, reset time.Time){
		"X-RateLimit epoch (GitHub)": func(h http.Header, reset time.Time) {
			h.Set("X-RateLimit-Limit", "5000")
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		},
		"RateLimit-Reset delta": func(h http.Header, reset time.Time) {
			h.Set("RateLimit-Remaining", "0")
			h.Set("RateLimit-Reset", "3")
		},
		"RateLimit structured": func(h http.Header, reset time.Time) {
			h.Set("RateLimit", `"default";r=0;t=3`)
			h.Set("RateLimit-Policy", `"default";q=100;w=60`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // on a second, for the epoch form
				start := time.Now()
				var at []time.Duration
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					at = append(at, time.Since(start))
					if len(at) == 1 {
						set(w.Header(), start.Add(3*time.Second))
					}
				})
				c := New(WithTransport(handlerTransport{h}))
				for range 2 {
					out, err := c.Send(get(t, "http://api.test/x"))
					if err != nil {
						t.Fatal(err)
					}
					out.Close()
				}
				if len(at) != 2 || at[1] != 3*time.Second {
					t.Fatalf("arrivals at %v; want the second at the reset, 3s", at)
				}
			})
		})
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		h      http.Header
		want   RateLimit
		wantOK bool
	}{
		{"none", http.Header{}, RateLimit{Limit: -1, Remaining: -1}, false},
		{"GitHub", http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"4999"}, "X-Ratelimit-Reset": {"1764590400"}},
			RateLimit{Limit: 5000, Remaining: 4999, Reset: time.Unix(1764590400, 0)}, true},
		{"epoch ms", http.Header{"X-Ratelimit-Reset": {"1764590400123"}},
			RateLimit{Limit: -1, Remaining: -1, Reset: time.UnixMilli(1764590400123)}, true},
		{"delta with fraction", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1.5"}},
			RateLimit{Limit: -1, Remaining: 0, Reset: now.Add(time.Second)}, true},
		{"draft 03", http.Header{"Ratelimit-Limit": {"100, 100;w=60"}, "Ratelimit-Remaining": {"7"}, "Ratelimit-Reset": {"30"}},
			RateLimit{Limit: 100, Remaining: 7, Reset: now.Add(30 * time.Second)}, true},
		{"draft 06", http.Header{"Ratelimit": {"limit=10, remaining=0, reset=5"}},
			RateLimit{Limit: 10, Remaining: 0, Reset: now.Add(5 * time.Second)}, true},
		{"draft 09", http.Header{"Ratelimit": {`"default";r=50;t=30`}, "Ratelimit-Policy": {`"default";q=100;w=60`}},
			RateLimit{Limit: 100, Remaining: 50, Reset: now.Add(30 * time.Second), Policy: `"default";q=100;w=60`}, true},
		{"IETF wins over X-", http.Header{"Ratelimit-Remaining": {"3"}, "X-Ratelimit-Remaining": {"9"}, "X-Ratelimit-Limit": {"10"}},
			RateLimit{Limit: 10, Remaining: 3}, true},
		{"junk ignored", http.Header{"X-Ratelimit-Remaining": {"-1"}, "X-Ratelimit-Reset": {"soon"}, "X-Ratelimit-Limit": {"99999999999999999999"}},
			RateLimit{Limit: -1, Remaining: -1}, false},
	} {
		got, ok := parseRateLimit(tc.h, now)
		if ok != tc.wantOK || got.Limit != tc.want.Limit || got.Remaining != tc.want.Remaining ||
			!got.Reset.Equal(tc.want.Reset) || got.Policy != tc.want.Policy {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
	// Through an outcome.
	out, _ := Classify(&http.Response{StatusCode: 200, Header: http.Header{"X-Ratelimit-Remaining": {"1"}}, Body: http.NoBody})
	if rl, ok := out.RateLimit(); !ok || rl.Remaining != 1 || rl.Limit != -1 {
		t.Errorf("outcome's RateLimit: %+v %v", rl, ok)
	}
}

func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{`"default";r=50;t=30`, "limit=10, remaining=0, reset=5", "100, 100;w=60", "1764590400", "1.5", ";;;=,=", "r=99999999999999999999999"} {
		f.Add(s, s, s)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		h := http.Header{"Ratelimit": {a}, "Ratelimit-Policy": {b}, "X-Ratelimit-Remaining": {c}, "X-Ratelimit-Reset": {c}, "Ratelimit-Limit": {b}}
		rl, ok := parseRateLimit(h, now)
		if rl.Limit < -1 || rl.Remaining < -1 {
			t.Fatalf("%+v", rl)
		}
		if !ok && (rl.Limit != -1 || rl.Remaining != -1 || !rl.Reset.IsZero()) {
			t.Fatalf("not ok, yet %+v", rl)
		}
		if !rl.Reset.IsZero() && (rl.Reset.Year() > 33658 || rl.Reset.Before(time.Unix(0, 0))) {
			t.Fatalf("reset %v", rl.Reset)
		}
	})
}

// TestRedirectMemoryBytesBound: 32 remembered 308s with 900 KiB Locations
// held 29 MiB; the memory is bounded in bytes too.
func TestRedirectMemoryBytesBound(t *testing.T) {
	t.Parallel()
	m := newRedirectMemory(defaultRedirectMemory)
	long := strings.Repeat("x", 900<<10)
	for i := range 32 {
		from, _ := url.Parse(fmt.Sprintf("http://a.test/%d", i))
		to, _ := url.Parse("http://a.test/" + long + strconv.Itoa(i))
		m.put(from, "", to, http.StatusPermanentRedirect, false)
	}
	if cost := m.lru.Cost(); cost > defaultRedirectMemory*memEntryFloor || m.lru.Len() > 2 {
		t.Fatalf("%d entries costing %d bytes, want at most 1 MiB", m.lru.Len(), cost)
	}
	// Short ones: the count bound holds.
	for i := range 5000 {
		from, _ := url.Parse(fmt.Sprintf("http://a.test/s%d", i))
		to, _ := url.Parse(fmt.Sprintf("http://a.test/t%d", i))
		m.put(from, "", to, http.StatusPermanentRedirect, false)
	}
	if n := m.lru.Len(); n != defaultRedirectMemory {
		t.Fatalf("%d entries, want %d", n, defaultRedirectMemory)
	}
}
