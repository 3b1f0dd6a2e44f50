package semhttp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mixedServer serves the four kinds of work of TestConcurrentMixedWork.
type mixedServer struct {
	mu    sync.Mutex
	flaky map[string]bool // flaky path already failed once
	polls map[string]int
}

func (m *mixedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch parts[0] {
	case "flaky": // 503 once, then 200
		m.mu.Lock()
		failed := m.flaky[r.URL.Path]
		m.flaky[r.URL.Path] = true
		m.mu.Unlock()
		if !failed {
			w.Header().Set("Retry-After-Ms", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "flaky-"+parts[1])
	case "old": // 308 to /new, method and body kept
		w.Header().Set("Location", "/new/"+parts[1])
		w.WriteHeader(http.StatusPermanentRedirect)
	case "new":
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, b)
	case "etag": // cacheable: 304 when revalidated
		tag := `"v` + parts[1] + `"`
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "etag-"+parts[1])
	case "job": // POST /job/i → 202; GET /job/i/status twice running, then 303
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/job/"+parts[1]+"/status")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		m.mu.Lock()
		m.polls[parts[1]]++
		n := m.polls[parts[1]]
		m.mu.Unlock()
		if n < 3 {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"running"}`)
			return
		}
		w.Header().Set("Location", "/result/"+parts[1])
		w.WriteHeader(http.StatusSeeOther)
	case "result":
		io.WriteString(w, "result-"+parts[1])
	default:
		http.NotFound(w, r)
	}
}

// TestConcurrentMixedWork shares one Client between 200 goroutines doing
// retries, redirects, cache revalidations and job polls at once (run with
// -race), and checks every result.
func TestConcurrentMixedWork(t *testing.T) {
	srv := newServer(t, &mixedServer{flaky: map[string]bool{}, polls: map[string]int{}})
	c := newTestClient(t, WithRetryPolicy(fastRetry(4)))
	ctx := context.Background()
	read := func(out Outcome) string {
		defer out.Close()
		b, _ := io.ReadAll(out.Response().Body)
		return string(b)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 200; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := strconv.Itoa(g / 4)
			var want, got string
			switch g % 4 {
			case 0:
				want = "flaky-" + i
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/flaky/"+i, nil)
				out, err := c.Send(req)
				if err != nil {
					errs <- err
					return
				}
				if out.Info().Attempts != 2 {
					errs <- fmt.Errorf("flaky %s: %d attempts", i, out.Info().Attempts)
				}
				got = read(out)
			case 1:
				want = "PUT body-" + i
				req, _ := http.NewRequest(http.MethodPut, srv.URL+"/old/"+i, strings.NewReader("body-"+i))
				out, err := c.Send(req)
				if err != nil {
					errs <- err
					return
				}
				got = read(out)
			case 2:
				want = "etag-" + i
				for k := 0; k < 3; k++ {
					req, _ := http.NewRequest(http.MethodGet, srv.URL+"/etag/"+i, nil)
					out, err := c.Send(req)
					if err != nil {
						errs <- err
						return
					}
					if _, ok := out.(*NotModified); k > 0 && !ok {
						errs <- fmt.Errorf("etag %s: read %d was %T, want a revalidation", i, k, out)
					}
					if got = read(out); got != want {
						break
					}
				}
			case 3:
				want = "result-" + i
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/job/"+i, nil)
				out, err := c.Send(req)
				if err != nil {
					errs <- err
					return
				}
				a, ok := out.(*Accepted)
				if !ok {
					errs <- fmt.Errorf("job %s: %T", i, out)
					return
				}
				res, err := a.Wait(ctx, &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
				if err != nil {
					errs <- err
					return
				}
				got = read(res)
			}
			if got != want {
				errs <- fmt.Errorf("goroutine %d: got %q, want %q", g, got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEveryKindReleasesItsConnection sends one request per outcome kind and
// closes each outcome without reading its body: every connection must be
// back in the pool or closed, and Close twice is safe.
func TestEveryKindReleasesItsConnection(t *testing.T) {
	var cc connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.Trim(r.URL.Path, "/"))
		if code == 200 {
			w.Write(make([]byte, 1<<20)) // a body too big to drain quietly
			return
		}
		statusHandler(w, r)
	}))
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithRedirectPolicy(FollowNone), WithCache(nil))
	codes := []int{200, 201, 202, 204, 206, 299, 300, 301, 304, 307, 400, 401, 404, 405, 409, 410, 412, 416,
		418, 428, 429, 500, 501, 503, 599, 600, 999}
	for _, code := range codes {
		out, err := c.Send(statusRequest(srv.URL, code))
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Errorf("%d: Close: %v", code, err)
		}
		if err := out.Close(); err != nil {
			t.Errorf("%d: second Close: %v", code, err)
		}
	}
	// Connections whose bodies were not read are closed; the rest idle in
	// the pool. Either way at most one stays open (the pooled one).
	deadline := time.Now().Add(5 * time.Second)
	for cc.open.Load() > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := cc.open.Load(); n > 1 {
		t.Errorf("%d connections still open after %d outcomes were closed", n, len(codes))
	}
}
