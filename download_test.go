package semhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// patternPeriod is prime, so a stream shifted by any offset below it reads
// different bytes: a resume at the wrong position cannot go unnoticed.
const patternPeriod = 1_000_003

var patternTable = sync.OnceValue(func() []byte {
	b := make([]byte, patternPeriod)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
})

// pattern is a seekable representation of size bytes, different for each
// version.
type pattern struct {
	size, off int64
	version   int64
}

func newPattern(size, version int64) *pattern { return &pattern{size: size, version: version} }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off)]
	t := patternTable()
	n := 0
	for n < len(b) {
		i := (p.off + int64(n) + p.version*7919) % patternPeriod
		n += copy(b[n:], t[i:])
	}
	p.off += int64(n)
	return n, nil
}

func (p *pattern) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += p.off
	case io.SeekEnd:
		off += p.size
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	p.off = off
	return off, nil
}

func patternSum(size, version int64) [32]byte {
	h := sha256.New()
	io.Copy(h, newPattern(size, version))
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// reqInfo is what the file server saw of one request.
type reqInfo struct{ Range, IfRange string }

func (r reqInfo) String() string { return r.Range + "|" + r.IfRange }

// fileServer serves a pattern through http.ServeContent, so Range,
// If-Range and multipart behave as in net/http. It can cut every response
// off after dropEvery bytes, and a hook can answer a request itself.
type fileServer struct {
	mu        sync.Mutex
	size      int64
	version   int64
	etag      string    // sent when not empty
	modtime   time.Time // Last-Modified when not zero
	dropEvery int64
	reqs      []reqInfo
	// hook, when set, sees request n (from 0) first; returning true means
	// it answered.
	hook func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, reqInfo{r.Header.Get("Range"), r.Header.Get("If-Range")})
	hook := s.hook
	s.mu.Unlock()
	if hook != nil && hook(s, n, w, r) {
		return
	}
	s.mu.Lock()
	size, version, etag, modtime, drop := s.size, s.version, s.etag, s.modtime, s.dropEvery
	s.mu.Unlock()
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if drop > 0 {
		w = &dropper{ResponseWriter: w, left: drop}
	}
	http.ServeContent(w, r, "", modtime, newPattern(size, version))
}

func (s *fileServer) requests() []reqInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]reqInfo(nil), s.reqs...)
}

func (s *fileServer) set(version int64, etag string) {
	s.mu.Lock()
	s.version, s.etag = version, etag
	s.mu.Unlock()
}

// dropper cuts the connection once left bytes of body were written.
type dropper struct {
	http.ResponseWriter
	left int64
}

func (d *dropper) Write(p []byte) (int, error) {
	if int64(len(p)) <= d.left {
		d.left -= int64(len(p))
		return d.ResponseWriter.Write(p)
	}
	d.ResponseWriter.Write(p[:d.left])
	d.ResponseWriter.(http.Flusher).Flush()
	panic(http.ErrAbortHandler) // the server closes the connection
}

// fastRetries keeps retry and stall waits in milliseconds.
func fastRetries(attempts int) Option {
	return WithRetryPolicy(RetryPolicy{MaxAttempts: attempts, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
}

// memWriterAt is an in-memory io.WriterAt, safe for parallel segments.
type memWriterAt struct {
	mu  sync.Mutex
	buf []byte
}

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(m.buf)) {
		m.buf = append(m.buf, make([]byte, end-int64(len(m.buf)))...)
	}
	return copy(m.buf[off:], p), nil
}

func (m *memWriterAt) sum() [32]byte { return sha256.Sum256(m.buf) }

func fileSum(t *testing.T, path string) ([32]byte, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	h.Sum(s[:0])
	return s, n
}

const mib = 1 << 20

func TestDownloadResumesAfterDrops(t *testing.T) {
	t.Parallel()
	const size = 32 * mib
	fs := &fileServer{size: size, etag: `"v1"`, dropEvery: mib}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	path := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last, calls int64
	var mono = true
	res, err := c.Download(context.Background(), srv.URL+"/file", f, &DownloadOptions{Progress: func(written, total int64) {
		if written < last || total != size {
			mono = false
		}
		last = written
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum, n := fileSum(t, path); n != size || sum != patternSum(size, 0) {
		t.Fatalf("file differs from the source (%d bytes)", n)
	}
	if res.Size != size || res.ETag != `"v1"` || res.Resumes != 31 || res.Restarts != 0 || res.Requests != 32 || res.Segments != 1 {
		t.Fatalf("result %+v", res)
	}
	reqs := fs.requests()
	if reqs[0] != (reqInfo{}) {
		t.Fatalf("first request %v", reqs[0])
	}
	for i, r := range reqs[1:] {
		want := reqInfo{fmt.Sprintf("bytes=%d-", (i+1)*mib), `"v1"`}
		if r != want {
			t.Fatalf("request %d: %v, want %v", i+1, r, want)
		}
	}
	if !mono || last != size || calls < 32 {
		t.Fatalf("progress: monotonic %v, last %d, %d calls", mono, last, calls)
	}
}

func TestDownloadLastModifiedValidator(t *testing.T) {
	t.Parallel()
	const size = 4 * mib
	mod := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	fs := &fileServer{size: size, modtime: mod, dropEvery: mib + 12345}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 0) || !res.LastModified.Equal(mod) || res.ETag != "" || res.Resumes != 3 {
		t.Fatalf("result %+v", res)
	}
	if r := fs.requests()[1]; r.Range != "bytes="+strconv.Itoa(mib+12345)+"-" || r.IfRange != mod.Format(http.TimeFormat) {
		t.Fatalf("resume request %v", r)
	}
}

func TestDownloadRepresentationChanged(t *testing.T) {
	t.Parallel()
	const size = 8 * mib
	fs := &fileServer{size: size, etag: `"v1"`, dropEvery: mib}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 3 {
			s.set(2, `"v2"`) // replaced while the client was away
		}
		return false
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(dst.buf) != size || dst.sum() != patternSum(size, 2) {
		t.Fatal("content is not the new representation")
	}
	if res.Restarts != 1 || res.ETag != `"v2"` {
		t.Fatalf("result %+v", res)
	}
	reqs := fs.requests()
	if reqs[3] != (reqInfo{"bytes=3145728-", `"v1"`}) || reqs[4] != (reqInfo{"bytes=1048576-", `"v2"`}) {
		t.Fatalf("requests %v", reqs)
	}
}

// A broken server that ignores If-Range but honours Range: the 206 of the
// new representation carries another ETag and must not be spliced.
func TestDownloadNeverSplicesAnotherETag(t *testing.T) {
	t.Parallel()
	const size = 3 * mib
	fs := &fileServer{size: size, etag: `"v1"`, dropEvery: mib}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			s.set(2, `"v2"`)
			s.mu.Lock()
			s.dropEvery = 0
			s.mu.Unlock()
		}
		r.Header.Del("If-Range")
		return false
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 2) || res.Restarts != 1 {
		t.Fatalf("spliced or not restarted: %+v", res)
	}
	if r := fs.requests()[2]; r.Range != "" {
		t.Fatalf("after the ETag change the client should start over with a plain GET, sent %v", r)
	}
}

func TestDownloadWithoutValidatorStartsOver(t *testing.T) {
	t.Parallel()
	const size = 2 * mib
	fs := &fileServer{size: size, dropEvery: mib}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			s.mu.Lock()
			s.dropEvery = 0
			s.mu.Unlock()
		}
		return false
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 0) || res.Restarts != 1 || res.Resumes != 0 {
		t.Fatalf("result %+v", res)
	}
	if reqs := fs.requests(); len(reqs) != 2 || reqs[1] != (reqInfo{}) {
		t.Fatalf("requests %v", reqs)
	}
	// With restarts forbidden, the same situation is an error.
	fs2 := &fileServer{size: size, dropEvery: mib}
	srv2 := newServer(t, fs2)
	_, err = c.Download(context.Background(), srv2.URL, &memWriterAt{}, &DownloadOptions{MaxRestarts: -1})
	if !errors.Is(err, ErrTooManyRestarts) {
		t.Fatalf("err %v", err)
	}
}

func TestDownloadServerErrorsAfterRetries(t *testing.T) {
	t.Parallel()
	const size = 2 * mib
	var failing atomic.Int64
	failing.Store(6) // three Sends of two attempts each
	fs := &fileServer{size: size, etag: `"e"`, dropEvery: mib}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			return false // 1 MiB, then the connection drops
		}
		if failing.Add(-1) >= 0 {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		s.mu.Lock()
		s.dropEvery = 0
		s.mu.Unlock()
		return false
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 0) || res.Requests != 5 {
		t.Fatalf("result %+v", res)
	}
	if r := fs.requests()[7]; r != (reqInfo{"bytes=1048576-", `"e"`}) {
		t.Fatalf("resume %v", r)
	}

	t.Run("forever", func(t *testing.T) {
		fs := &fileServer{size: size, etag: `"e"`, dropEvery: mib}
		fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
			if n > 0 {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}
			return false
		}
		srv := newServer(t, fs)
		res, err := c.Download(context.Background(), srv.URL, &memWriterAt{}, &DownloadOptions{MaxStalls: 2})
		var se *ServerError
		if !errors.Is(err, ErrDownloadStalled) || !errors.As(err, &se) || res.Size != mib {
			t.Fatalf("err %v, result %+v", err, res)
		}
		if n := len(fs.requests()); n != 1+3*2 {
			t.Fatalf("%d requests, want 7 (first + 3 Sends of 2 attempts)", n)
		}
	})
}

func TestDownloadSegments(t *testing.T) {
	t.Parallel()
	const size = 16*mib + 5
	fs := &fileServer{size: size, etag: `"seg"`, dropEvery: 3 * mib}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	var calls atomic.Int64
	var last atomic.Int64
	res, err := c.Download(context.Background(), srv.URL, &dst, &DownloadOptions{Segments: 4, Progress: func(w, total int64) { calls.Add(1); last.Store(w) }})
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 0) || res.Segments != 4 || res.Size != size {
		t.Fatalf("result %+v", res)
	}
	if last.Load() != size {
		t.Fatalf("progress ended at %d", last.Load())
	}
	reqs := fs.requests()
	if reqs[0] != (reqInfo{"bytes=0-", ""}) {
		t.Fatalf("first %v", reqs[0])
	}
	seg := (size + 3) / 4
	starts := map[string]bool{}
	for _, r := range reqs[1:] {
		if r.IfRange != `"seg"` {
			t.Fatalf("segment request without If-Range: %v", r)
		}
		starts[r.Range] = true
	}
	for i := 1; i < 4; i++ {
		want := fmt.Sprintf("bytes=%d-%d", i*seg, min((i+1)*seg, size)-1)
		if !starts[want] {
			t.Fatalf("no request %s in %v", want, reqs)
		}
	}
	if res.Resumes == 0 {
		t.Fatal("drops every 3 MiB should have caused resumes")
	}
}

func TestDownloadSegmentsRepresentationChanged(t *testing.T) {
	t.Parallel()
	const size = 8 * mib
	fs := &fileServer{size: size, etag: `"a"`}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 2 {
			s.set(5, `"b"`)
		}
		return false
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(2))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, &DownloadOptions{Segments: 4})
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 5) || res.Restarts != 1 || res.ETag != `"b"` {
		t.Fatalf("result %+v", res)
	}
}

func TestDownloadSegmentsFallBack(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, fastRetries(2))
	t.Run("Range ignored", func(t *testing.T) {
		fs := &fileServer{size: 3 * mib, etag: `"x"`}
		fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
			r.Header.Del("Range")
			return false
		}
		srv := newServer(t, fs)
		var dst memWriterAt
		res, err := c.Download(context.Background(), srv.URL, &dst, &DownloadOptions{Segments: 3})
		if err != nil || dst.sum() != patternSum(3*mib, 0) || res.Segments != 1 || len(fs.requests()) != 1 {
			t.Fatalf("%v %+v", err, res)
		}
	})
	t.Run("httpbin: no usable validator", func(t *testing.T) {
		srv := newHTTPBin(t)
		var dst memWriterAt
		res, err := c.Download(context.Background(), srv.URL+"/range/1024", &dst, &DownloadOptions{Segments: 3})
		if err != nil || string(dst.buf) != httpbinBytes(0, 1023) || res.Segments != 1 || res.ETag != "" {
			t.Fatalf("%v %+v", err, res)
		}
	})
}

func TestDownloadTruncatesLongerFile(t *testing.T) {
	t.Parallel()
	fs := &fileServer{size: 1000, etag: `"t"`}
	srv := newServer(t, fs)
	c := newTestClient(t)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.Download(context.Background(), srv.URL, f, nil); err != nil {
		t.Fatal(err)
	}
	if sum, n := fileSum(t, path); n != 1000 || sum != patternSum(1000, 0) {
		t.Fatalf("file has %d bytes", n)
	}
}

type failingWriterAt struct{ after int64 }

var errDiskFull = errors.New("disk full")

func (f *failingWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.after {
		return 0, errDiskFull
	}
	return len(p), nil
}

func TestDownloadErrors(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, fastRetries(2))
	fs := &fileServer{size: 4 * mib, etag: `"w"`}
	srv := newServer(t, fs)
	t.Run("write error", func(t *testing.T) {
		_, err := c.Download(context.Background(), srv.URL, &failingWriterAt{after: mib}, nil)
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		_, err := c.Download(context.Background(), srv.URL, &memWriterAt{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		nf := newServer(t, http.NotFoundHandler())
		_, err = c.Download(context.Background(), nf.URL, &memWriterAt{}, nil)
		if !errors.As(err, new(*NotFound)) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := c.Download(ctx, srv.URL, &memWriterAt{}, &DownloadOptions{BufferSize: 64 << 10, Progress: func(w, _ int64) {
			if w >= mib {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) || res.Size >= 4*mib {
			t.Fatalf("err %v, result %+v", err, res)
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		if _, err := c.Download(context.Background(), "http://[::1", &memWriterAt{}, nil); err == nil {
			t.Fatal("no error")
		}
		if _, err := c.Download(context.Background(), srv.URL, nil, nil); err == nil {
			t.Fatal("no error for a nil destination")
		}
	})
	t.Run("resume answered with the wrong range", func(t *testing.T) {
		fs := &fileServer{size: 2 * mib, etag: `"r"`, dropEvery: mib}
		fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				rawRange(`bytes 0-9/2097152`, 10, "0123456789")(w, r)
				return true
			}
			return false
		}
		srv := newServer(t, fs)
		_, err := c.Download(context.Background(), srv.URL, &memWriterAt{}, nil)
		if !errors.Is(err, ErrBadContentRange) {
			t.Fatalf("err %v", err)
		}
	})
}

// A server without Content-Length that breaks off after the last byte: the
// client resumes at the end and the 416 "*/size" tells it it is done.
func TestDownloadBreakAtTheEnd(t *testing.T) {
	t.Parallel()
	const size = 300_000
	fs := &fileServer{size: size, etag: `"end"`}
	fs.hook = func(s *fileServer, n int, w http.ResponseWriter, r *http.Request) bool {
		if n > 0 {
			return false
		}
		w.Header().Set("ETag", `"end"`)
		io.Copy(w, newPattern(size, 0)) // chunked: no Content-Length
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	srv := newServer(t, fs)
	c := newTestClient(t, fastRetries(1))
	var dst memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dst.sum() != patternSum(size, 0) || res.Size != size {
		t.Fatalf("result %+v", res)
	}
	if r := fs.requests(); len(r) != 2 || r[1].Range != "bytes=300000-" {
		t.Fatalf("requests %v", r)
	}
}

// discardAt is an io.WriterAt that keeps nothing.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// TestDownloadMemoryIndependentOfSize downloads 8 MiB and 64 MiB and
// checks that the bytes allocated do not grow with the size.
func TestDownloadMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 64 MiB stream")
	}
	c := newTestClient(t)
	alloc := func(size int64) uint64 {
		srv := newServer(t, &fileServer{size: size, etag: `"m"`})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := c.Download(context.Background(), srv.URL, discardAt{}, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	patternTable()
	small, large := alloc(8*mib), alloc(64*mib)
	t.Logf("allocated %d KiB for 8 MiB, %d KiB for 64 MiB (client and server)", small>>10, large>>10)
	if large > 2*small+mib {
		t.Fatalf("allocation grows with size: %d bytes for 8 MiB, %d for 64 MiB", small, large)
	}
}

// peakHeap samples the live heap while fn runs and returns its peak.
func peakHeap(fn func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

const benchSize = 256 * mib

// BenchmarkDownload measures Download of a 256 MiB body from a loopback
// ServeContent server against a plain net/http GET + io.Copy of the same
// body. Compare the MB/s of the two; peak-heap-MiB is the live heap of the
// whole process (client and server) at its highest.
func BenchmarkDownload(b *testing.B) {
	patternTable()
	srv := newServer(b, &fileServer{size: benchSize, etag: `"bench"`})
	b.Run("raw-io.Copy", func(b *testing.B) {
		hc := &http.Client{Transport: defaultTransport()}
		defer hc.CloseIdleConnections()
		b.SetBytes(benchSize)
		b.ReportAllocs()
		runtime.GC()
		peak := peakHeap(func() {
			for b.Loop() {
				resp, err := hc.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != benchSize {
					b.Fatal(n, err)
				}
			}
		})
		b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	})
	for _, segs := range []int{1, 4} {
		b.Run("Download/segments="+strconv.Itoa(segs), func(b *testing.B) {
			c := newTestClient(b)
			b.SetBytes(benchSize)
			b.ReportAllocs()
			runtime.GC()
			peak := peakHeap(func() {
				for b.Loop() {
					res, err := c.Download(context.Background(), srv.URL, discardAt{}, &DownloadOptions{Segments: segs})
					if err != nil || res.Size != benchSize {
						b.Fatal(res, err)
					}
				}
			})
			b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
		})
	}
}

// BenchmarkDownloadVsRaw alternates a raw GET + io.Copy, a raw GET +
// io.CopyBuffer with a 256 KiB buffer, and a Download of the same 256 MiB
// body in every iteration, so all see the same machine load, and reports
// each one's throughput and the ratios.
func BenchmarkDownloadVsRaw(b *testing.B) {
	patternTable()
	srv := newServer(b, &fileServer{size: benchSize, etag: `"bench"`})
	hc := &http.Client{Transport: defaultTransport()}
	defer hc.CloseIdleConnections()
	c := newTestClient(b)
	buf := make([]byte, defaultDownloadBuffer)
	get := func(copyFn func(io.Reader) (int64, error)) time.Duration {
		start := time.Now()
		resp, err := hc.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		n, err := copyFn(resp.Body)
		resp.Body.Close()
		if err != nil || n != benchSize {
			b.Fatal(n, err)
		}
		return time.Since(start)
	}
	var raw, raw256, dl []time.Duration
	for b.Loop() {
		raw = append(raw, get(func(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }))
		// The same with Download's buffer size (io.Discard's ReadFrom
		// would use its own 8 KiB buffer, so hide it).
		raw256 = append(raw256, get(func(r io.Reader) (int64, error) {
			return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf)
		}))
		start := time.Now()
		res, err := c.Download(context.Background(), srv.URL, discardAt{}, nil)
		if err != nil || res.Size != benchSize {
			b.Fatal(res, err)
		}
		dl = append(dl, time.Since(start))
	}
	// Medians: one slow iteration on a shared machine should not decide.
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	mbps := func(d time.Duration) float64 { return benchSize / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(median(raw)), "raw-MB/s")
	b.ReportMetric(mbps(median(raw256)), "raw256k-MB/s")
	b.ReportMetric(mbps(median(dl)), "download-MB/s")
	b.ReportMetric(100*median(raw).Seconds()/median(dl).Seconds(), "download-%-of-raw")
	b.ReportMetric(100*median(raw256).Seconds()/median(dl).Seconds(), "download-%-of-raw256k")
}

func ExampleClient_Download() {
	content := strings.Repeat("0123456789", 100_000) // 1 MB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "data.bin", time.Time{}, strings.NewReader(content))
	}))
	defer srv.Close()
	c := New()
	defer c.CloseIdleConnections()

	f, err := os.CreateTemp("", "download-*")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()

	res, err := c.Download(context.Background(), srv.URL+"/data.bin", f, &DownloadOptions{Segments: 2, Progress: func(written, total int64) { /* update a progress bar */ }})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Size, res.ETag, res.Restarts)
	// Output: 1000000 "v1" 0
}

// TestDownloadAfterCachedGet: a URL the client already holds in its cache
// still downloads in full (the download bypasses the cache, so no 304).
func TestDownloadAfterCachedGet(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.bin", time.Unix(1e9, 0), bytes.NewReader(data))
	}))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, out.Response().Body)
	out.Close()
	var buf memWriterAt
	res, err := c.Download(context.Background(), srv.URL, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(data)) || !bytes.Equal(buf.buf, data) {
		t.Fatalf("downloaded %d bytes", res.Size)
	}
}
