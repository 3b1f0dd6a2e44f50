package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
)

// Costs of the connection pool as the work grows (issue 21, items 1 and
// 5), against servers in this process on 127.0.0.1 (BENCH_SERVER does not
// apply): new connections per request as one client round-robins over
// more origins, and new connections per poll as more jobs on one host are
// polled at once.

// origins serves h on n listeners of 127.0.0.1, an origin each; opened
// counts the connections they accepted.
func origins(tb testing.TB, n int, h http.Handler) (urls []string, opened *atomic.Int64) {
	tb.Helper()
	opened = new(atomic.Int64)
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		wg.Go(func() { srv.Serve(l) })
		urls = append(urls, "http://"+l.Addr().String()+"/")
	}
	return urls, opened
}

// BenchmarkRoundRobinOrigins is a GET of a small body through semhttp.New(),
// the origins taken in turn: origins=n distinct origins, one pass over them
// made untimed first. conns/op is the new connections per request: 0 while
// the pool keeps a connection to every origin, 1 when each request dials
// (and leaves a socket in TIME_WAIT).
func BenchmarkRoundRobinOrigins(b *testing.B) {
	all, opened := origins(b, 1000, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	for _, n := range []int{1, 64, 256, 257, 512, 1000} {
		b.Run("origins="+strconv.Itoa(n), func(b *testing.B) {
			c := semhttp.New()
			defer c.CloseIdleConnections()
			urls := all[:n]
			get := func(u string) {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				out, err := c.Send(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, out.Response().Body)
				out.Close()
			}
			for _, u := range urls {
				get(u)
			}
			before := opened.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				get(urls[i%n])
			}
			b.StopTimer()
			b.ReportMetric(float64(opened.Load()-before)/float64(b.N), "conns/op")
		})
	}
}

// TestPollersOneHost submits jobs to one host (64 at a time) and then waits
// for them all at once with Accepted.Wait; the host answers each job's
// POST and its first two polls with 202 and Retry-After: 1, then 200:
// every job is polled three times. It reports, for each number of jobs,
// the new connections per poll and how long the polling took. POLLERS
// sets the numbers of jobs (a comma-separated list; 1000 by default),
// POLL_LATENCY a time the host takes to answer each poll (none by
// default), as a distant server would:
//
//	POLLERS=100,1000,10000 go test -run TestPollersOneHost -v
//	POLL_LATENCY=200ms POLLERS=2000 go test -run TestPollersOneHost -v
//
// Real time (3.5 to 6 s per number) on real sockets: the machine's load
// moves the figures. With the server in this process on 2 cores, 10,000
// jobs (10,000 polls a second) saturate the machine.
func TestPollersOneHost(t *testing.T) {
	counts := []int{1000}
	if v := os.Getenv("POLLERS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("POLLERS=%s: %q is not a count", v, f)
			}
			counts = append(counts, n)
		}
	}
	for _, jobs := range counts {
		perPoll, took := pollJobs(t, jobs, 3)
		t.Logf("%d jobs, %d polls: %.3f new connections per poll; polling took %v", jobs, 3*jobs, perPoll, took.Round(time.Millisecond))
	}
}

// pollJobs runs jobs jobs of running polls each against a server of its
// own and returns the new connections per poll.
func pollJobs(t *testing.T, jobs, running int) (perPoll float64, took time.Duration) {
	latency, _ := time.ParseDuration(os.Getenv("POLL_LATENCY"))
	var polled sync.Map // job path → *atomic.Int64
	urls, opened := origins(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/jobs/"+r.URL.Query().Get("id"))
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		time.Sleep(latency)
		v, _ := polled.LoadOrStore(r.URL.Path, new(atomic.Int64))
		if v.(*atomic.Int64).Add(1) < int64(running) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		io.WriteString(w, `{"done":true}`)
	}))
	c := semhttp.New()
	defer c.CloseIdleConnections()
	// The jobs are submitted by 64 goroutines (the per-host pool), so that
	// submitting them does not storm the server with connections; then
	// they are all waited on at once, with the same Retry-After.
	accepted := make([]*semhttp.Accepted, jobs)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < jobs; i = int(next.Add(1)) - 1 {
				req, _ := http.NewRequest(http.MethodPost, urls[0]+"jobs?id="+strconv.Itoa(i), nil)
				out, err := c.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				a, ok := out.(*semhttp.Accepted)
				if !ok {
					t.Errorf("POST: %T", out)
					out.Close()
					return
				}
				accepted[i] = a
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	before := opened.Load()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, a := range accepted {
		wg.Go(func() {
			res, err := a.Wait(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Response().Body)
			res.Close()
		})
	}
	wg.Wait()
	took = time.Since(start)
	return float64(opened.Load()-before) / float64(jobs*running), took
}
