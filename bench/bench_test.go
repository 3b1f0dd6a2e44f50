package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/bench/internal/workload"
)

// Notes that hold for every benchmark here:
//   - By default the server runs in the same process on 127.0.0.1
//     (httptest), so B/op and allocs/op include the server's share. That
//     share is the same for every client of a workload, so differences
//     between clients are the clients' own.
//   - With BENCH_SERVER set to a base URL (run.sh does that: cmd/rss-server
//     pinned to one CPU, the benchmarks to the other), the server is that
//     process: B/op, allocs/op and peak-heap-MiB are then the client's
//     alone, and the server's counters are read from its PathStats.
//   - Each sub-benchmark builds its own client (its own transport) and
//     makes one untimed call first, so dialing is not measured and the call
//     is checked before timing starts.
//   - Clients are configured as internal/workload/clients.go says.

var sizeMiB = flag.Int("mib", envInt("BENCH_MIB", 64), "download and upload size in MiB (env BENCH_MIB)")

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Client sets per workload (see workload.Clients).
var (
	basicClients    = workload.BasicClients
	parallelClients = workload.ParallelClients
	downloadClients = workload.DownloadClients
	uploadClients   = workload.UploadClients
)

// server is the workload server of a benchmark: in this process, or the
// one at BENCH_SERVER, whose counters are read through workload.PathStats.
type server struct {
	local  *workload.Server // nil for an external server
	base   string
	client *http.Client // reads an external server's counters
}

// startServer starts an in-process server, or returns the external one
// BENCH_SERVER names after checking that it answers workload.PathStats.
func startServer(tb testing.TB) (*server, string) {
	if base := strings.TrimRight(os.Getenv("BENCH_SERVER"), "/"); base != "" {
		// A transport of its own, so that reading counters never touches
		// a benchmarked client's pool.
		tr := &http.Transport{}
		tb.Cleanup(tr.CloseIdleConnections)
		s := &server{base: base, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
		if _, err := s.fetch(); err != nil {
			tb.Fatalf("BENCH_SERVER=%s (bench/cmd/rss-server is such a server): %v", base, err)
		}
		return s, base
	}
	s := workload.NewServer()
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return &server{local: s, base: ts.URL}, ts.URL
}

// stats returns the server's counters now. For an external server that is
// an HTTP request: benchmarks stop their timer before reading it after the
// timed loop.
func (s *server) stats(tb testing.TB) workload.Stats {
	tb.Helper()
	if s.local != nil {
		return s.local.Stats()
	}
	st, err := s.fetch()
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func (s *server) fetch() (workload.Stats, error) {
	var st workload.Stats
	resp, err := s.client.Get(s.base + workload.PathStats)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", workload.PathStats, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("GET %s: %v", workload.PathStats, err)
	}
	return st, nil
}

// forEach runs bench as sub-benchmark client=NAME for each name, with a
// fresh runner whose idle connections are closed afterwards.
func forEach(b *testing.B, names []string, bench func(b *testing.B, r workload.Runner)) {
	for _, name := range names {
		b.Run("client="+name, func(b *testing.B) {
			r, err := workload.NewRunner(name)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			bench(b, r)
		})
	}
}

// loop warms up with one checked call, then times b.N calls.
func loop(b *testing.B, call func() error) {
	if err := call(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
}

// Requesters is the number of concurrent requesters of BenchmarkParallel64.
const Requesters = 64

// concurrent makes b.N calls from Requesters goroutines, after an untimed
// round of 2×Requesters calls that fills the client's pool as far as it
// keeps connections. ns/op is wall time per request: its inverse is the
// throughput.
func concurrent(b *testing.B, call func() error) {
	if err := fanOut(2*Requesters, call); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	err := fanOut(b.N, call)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
}

// fanOut makes n calls from Requesters goroutines and returns the first
// error.
func fanOut(n int, call func() error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range Requesters {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && first.Load() == nil {
				if err := call(); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// BenchmarkGet200 is a GET answered 200 with a small JSON body, read to the
// end (resty reads it into resp.Body(), as it always does).
func BenchmarkGet200(b *testing.B) {
	_, base := startServer(b)
	forEach(b, basicClients, func(b *testing.B, r workload.Runner) {
		loop(b, func() error { return r.GetJSON(base) })
	})
}

// BenchmarkPost201 is a POST of a small JSON body answered 201 with a
// Location (resolved to an absolute URL by every client) and a small body.
func BenchmarkPost201(b *testing.B) {
	_, base := startServer(b)
	forEach(b, basicClients, func(b *testing.B, r workload.Runner) {
		loop(b, func() error { return r.PostCreate(base) })
	})
}

// BenchmarkParallel64 is BenchmarkGet200 from 64 concurrent requesters
// sharing one client. Each peer runs on its default pool and on the pool
// semhttp.New() builds (-pool64), since the default pools keep only 2–3
// idle connections per host; semhttp runs on its default configuration.
func BenchmarkParallel64(b *testing.B) {
	_, base := startServer(b)
	forEach(b, parallelClients, func(b *testing.B, r workload.Runner) {
		concurrent(b, func() error { return r.GetJSON(base) })
	})
}

// BenchmarkDownload is a GET of -mib MiB (64 by default) consumed as a
// stream into io.Discard; resty's default reads it into memory, and
// resty-stream uses SetDoNotParseResponse to stream it.
func BenchmarkDownload(b *testing.B) {
	_, base := startServer(b)
	size := int64(*sizeMiB) << 20
	forEach(b, downloadClients, func(b *testing.B, r workload.Runner) {
		b.SetBytes(size)
		defer peakHeap(b)()
		loop(b, func() error { return r.Download(base, size) })
	})
}

// BenchmarkUpload is a PUT of a -mib MiB file (64 by default) opened for
// each call and handed to the client as an *os.File with its length (raw
// and semhttp set req.ContentLength, go-retryablehttp's request too).
// resty v2 reads any io.Reader body into memory before sending it (to
// build GetBody), and no setting avoids that: its B/op shows it.
func BenchmarkUpload(b *testing.B) {
	srv, base := startServer(b)
	size := int64(*sizeMiB) << 20
	path := makeFile(b, size)
	forEach(b, uploadClients, func(b *testing.B, r workload.Runner) {
		b.SetBytes(size)
		before := srv.stats(b).UploadBytes
		stop := peakHeap(b)
		loop(b, func() error { return r.Upload(base, path, size) })
		b.StopTimer()
		stop()
		if got, want := srv.stats(b).UploadBytes-before, size*int64(b.N+1); got != want {
			b.Fatalf("server received %d bytes, want %d", got, want)
		}
	})
}

// peakHeap samples the live heap every millisecond until the returned
// function is called, which reports the highest value seen as
// peak-heap-MiB. It is the in-process view of issue 3's "peak memory of
// the upload" (the server's share included, the same for every client);
// cmd/rss-* measure whole processes.
func peakHeap(b *testing.B) (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	var peak atomic.Uint64
	peak.Store(read())
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	}
}

// makeFile writes a file of size bytes in a temporary directory.
func makeFile(tb testing.TB, size int64) string {
	path := filepath.Join(tb.TempDir(), "upload.bin")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:n]); err != nil {
			tb.Fatal(err)
		}
		left -= n
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkRevalidate compares a full 200 of a 100 KiB representation
// (kind=full-200, from a URL without validators) with its revalidation
// answered 304 (kind=304: If-None-Match set by the caller, as every client
// needs today). body-B/op is what the server wrote as body per call: 0
// proves the 304 transfers no body.
//
// kind=304/client=semhttp-cache-* measures the target of issue 10:
// semhttp's own cache revalidating and handing back the stored
// representation (PathETag has no lifetime, so every use revalidates).
func BenchmarkRevalidate(b *testing.B) {
	srv, base := startServer(b)
	body := func(b *testing.B, before int64) {
		b.StopTimer()
		b.ReportMetric(float64(srv.stats(b).DocBodyBytes-before)/float64(b.N+1), "body-B/op")
	}
	b.Run("kind=full-200", func(b *testing.B) {
		forEach(b, basicClients, func(b *testing.B, r workload.Runner) {
			before := srv.stats(b).DocBodyBytes
			loop(b, func() error { return wantCode(r.GetDoc(base+workload.PathNoValid, ""))(200) })
			body(b, before)
		})
	})
	b.Run("kind=304", func(b *testing.B) {
		forEach(b, basicClients, func(b *testing.B, r workload.Runner) {
			before := srv.stats(b).DocBodyBytes
			loop(b, func() error { return wantCode(r.GetDoc(base+workload.PathETag, workload.DocETag))(304) })
			body(b, before)
		})
		b.Run("client=semhttp-cache-Send", func(b *testing.B) {
			benchCachedSend(b, srv, base)
		})
		b.Run("client=semhttp-cache-Do", func(b *testing.B) {
			benchCachedDo(b, srv, base)
		})
	})
}

func wantCode(code int, err error) func(int) error {
	return func(want int) error {
		if err != nil {
			return err
		}
		if code != want {
			return fmt.Errorf("status %d, want %d", code, want)
		}
		return nil
	}
}

// primeCache GETs PathETag twice with c.Do and fails b unless the second
// GET carried If-None-Match, i.e. unless semhttp revalidated by itself.
func primeCache(b *testing.B, c *semhttp.Client, srv *server, base string) {
	for i := range 2 {
		before := srv.stats(b).Conditional
		req, _ := http.NewRequest(http.MethodGet, base+workload.PathETag, nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i == 1 && srv.stats(b).Conditional == before {
			b.Fatal("the second GET of a URL with an ETag did not carry If-None-Match: semhttp's cache did not revalidate")
		}
	}
}

// benchCachedSend: Send of a cached GET, answered 304, returns *NotModified
// whose response, the stored representation, is read to the end (what a
// caller of the cache gets back).
func benchCachedSend(b *testing.B, srv *server, base string) {
	c := semhttp.New()
	defer c.CloseIdleConnections()
	primeCache(b, c, srv, base)
	before := srv.stats(b).DocBodyBytes
	loop(b, func() error {
		req, err := http.NewRequest(http.MethodGet, base+workload.PathETag, nil)
		if err != nil {
			return err
		}
		out, err := c.Send(req)
		if err != nil {
			return err
		}
		nm, ok := out.(*semhttp.NotModified)
		if !ok {
			out.Close()
			return fmt.Errorf("got %T, want *NotModified", out)
		}
		if nm.Response().StatusCode != http.StatusOK {
			nm.Close()
			return fmt.Errorf("*NotModified without the cached representation")
		}
		n, err := io.Copy(io.Discard, nm.Response().Body)
		nm.Close()
		if err == nil && n != workload.DocSize {
			err = fmt.Errorf("cached body: %d bytes, want %d", n, workload.DocSize)
		}
		return err
	})
	b.StopTimer()
	b.ReportMetric(float64(srv.stats(b).DocBodyBytes-before)/float64(b.N+1), "body-B/op")
}

// benchCachedDo: Do of a cached GET hands the doer the stored 200 (DESIGN:
// "Do hands a doer caller the stored 200 when the validators were the
// client's own").
func benchCachedDo(b *testing.B, srv *server, base string) {
	c := semhttp.New()
	defer c.CloseIdleConnections()
	primeCache(b, c, srv, base)
	before := srv.stats(b).DocBodyBytes
	loop(b, func() error {
		req, err := http.NewRequest(http.MethodGet, base+workload.PathETag, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && (resp.StatusCode != 200 || n != workload.DocSize) {
			err = fmt.Errorf("got %d with %d bytes, want the stored 200 with %d", resp.StatusCode, n, workload.DocSize)
		}
		return err
	})
	b.StopTimer()
	b.ReportMetric(float64(srv.stats(b).DocBodyBytes-before)/float64(b.N+1), "body-B/op")
}

// BenchmarkPollJob is a POST answered 202 + Location, then GETs of the
// monitor (202 with Retry-After: 0, twice) until it answers 200: 4
// requests per op. Every client runs the same hand-written poll loop;
// semhttp-Send reads Monitor and RetryAfter from *Accepted.
//
// client=semhttp-Poller is semhttp's own Poller (Accepted.Wait) on the
// same job.
func BenchmarkPollJob(b *testing.B) {
	srv, base := startServer(b)
	forEach(b, basicClients, func(b *testing.B, r workload.Runner) {
		loop(b, func() error { return r.PollJob(base) })
		b.StopTimer()
		if n := srv.stats(b).JobsPending; n != 0 {
			b.Fatalf("%d jobs left unfinished", n)
		}
	})
	forEach(b, []string{workload.NameSemhttpPoller}, func(b *testing.B, r workload.Runner) {
		loop(b, func() error { return r.PollJob(base) })
		b.StopTimer()
		if n := srv.stats(b).JobsPending; n != 0 {
			b.Fatalf("%d jobs left unfinished", n)
		}
	})
}
