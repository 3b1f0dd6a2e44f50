package semhttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fastPoll keeps real-server tests quick: backoff of a millisecond or two
// when the monitor sends no Retry-After.
// fastPoll polls every millisecond or two.
func fastPoll() *PollOptions {
	return &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
}

// jobServer is a scripted async API: POST /jobs answers with accept; every
// GET on the monitor path answers with the next step of script (the last
// step repeats). Other paths are served by extra.
type jobServer struct {
	t       testing.TB
	srv     *httptest.Server
	accept  func(w http.ResponseWriter, r *http.Request)
	monitor string
	script  []func(w http.ResponseWriter, r *http.Request)
	extra   map[string]http.HandlerFunc

	mu     sync.Mutex
	polls  int
	extraN map[string]int
	seen   []http.Header // headers of each monitor request
}

func newJobServer(t testing.TB, accept func(w http.ResponseWriter, r *http.Request), monitor string,
	script ...func(w http.ResponseWriter, r *http.Request)) *jobServer {
	t.Helper()
	js := &jobServer{t: t, accept: accept, monitor: monitor, script: script,
		extra: map[string]http.HandlerFunc{}, extraN: map[string]int{}}
	js.srv = newServer(t, js)
	return js
}

func (js *jobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/jobs":
		js.accept(w, r)
	case r.URL.Path == js.monitor:
		js.mu.Lock()
		i := js.polls
		js.polls++
		js.seen = append(js.seen, r.Header.Clone())
		js.mu.Unlock()
		if i >= len(js.script) {
			i = len(js.script) - 1
		}
		js.script[i](w, r)
	default:
		h, ok := js.extra[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		js.mu.Lock()
		js.extraN[r.URL.Path]++
		js.mu.Unlock()
		h(w, r)
	}
}

func (js *jobServer) pollCount() int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.polls
}

func (js *jobServer) extraCount(path string) int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.extraN[path]
}

// start POSTs /jobs and returns the *Accepted.
func (js *jobServer) start(c *Client) *Accepted {
	js.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, js.srv.URL+"/jobs", strings.NewReader(`{"job":1}`))
	req.Header.Set("Authorization", "Bearer secret-token")
	out, err := c.Send(req)
	if err != nil {
		js.t.Fatal(err)
	}
	a, ok := out.(*Accepted)
	if !ok {
		out.Close()
		js.t.Fatalf("POST /jobs: got %T, want *Accepted", out)
	}
	return a
}

// answer returns a script step writing code, headers (name, value pairs)
// and body.
func answer(code int, body string, kv ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		if body != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func readAll(t testing.TB, out Outcome) string {
	t.Helper()
	defer out.Close()
	b, err := io.ReadAll(out.Response().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAsyncLocationPolled(t *testing.T) {
	t.Parallel()
	var cc connCounter
	js := &jobServer{t: t, monitor: "/jobs/1", extra: map[string]http.HandlerFunc{}, extraN: map[string]int{}}
	js.accept = answer(http.StatusAccepted, "accepted, see Location", "Location", "/jobs/1", "Content-Type", "text/plain")
	js.script = []func(http.ResponseWriter, *http.Request){
		answer(http.StatusAccepted, "<p>still working</p>", "Content-Type", "text/html"),
		answer(http.StatusAccepted, "<p>still working</p>", "Content-Type", "text/html"),
		answer(http.StatusOK, `{"id":1,"name":"report"}`),
	}
	srv := httptest.NewUnstartedServer(js)
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	js.srv = srv

	c := newTestClient(t)
	a := js.start(c)
	if a.MonitorFrom != fromLocation || a.Monitor.String() != srv.URL+"/jobs/1" {
		t.Fatalf("monitor %v from %q", a.Monitor, a.MonitorFrom)
	}
	out, err := a.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*OK); !ok {
		t.Fatalf("got %T, want *OK", out)
	}
	if got := readAll(t, out); got != `{"id":1,"name":"report"}` {
		t.Fatalf("result body %q", got)
	}
	if n := js.pollCount(); n != 3 {
		t.Fatalf("monitor polled %d times, want 3", n)
	}
	// Every intermediate body was drained and closed: one connection served
	// the POST and all three polls.
	if n := cc.opened.Load(); n != 1 {
		t.Fatalf("%d connections opened, want 1 (an intermediate body was held)", n)
	}
}

func TestAsyncOperationLocationFinalGET(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		// A POST whose 202 has no Location: the status document's
		// resourceLocation is the result (Microsoft's guidelines).
		answer(http.StatusAccepted, "", "Operation-Location", "/ops/7"),
		"/ops/7",
		answer(http.StatusOK, `{"id":"7","status":"NotStarted"}`),
		answer(http.StatusOK, `{"id":"7","status":"Running","percentComplete":40}`),
		answer(http.StatusOK, `{"id":"7","status":"Succeeded","resourceLocation":"/things/7"}`),
	)
	js.extra["/things/7"] = answer(http.StatusOK, `{"thing":7}`)
	var seen []Progress
	c := newTestClient(t)
	a := js.start(c)
	if a.MonitorFrom != fromOperationLocation {
		t.Fatalf("monitor from %q, want Operation-Location first", a.MonitorFrom)
	}
	out, err := a.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != `{"thing":7}` {
		t.Fatalf("result %q", got)
	}
	if n := js.extraCount("/things/7"); n != 1 {
		t.Fatalf("final resource fetched %d times", n)
	}
	if len(seen) != 3 {
		t.Fatalf("progress called %d times: %+v", len(seen), seen)
	}
	want := []struct {
		state   JobState
		status  string
		percent float64
	}{{StateRunning, "NotStarted", -1}, {StateRunning, "Running", 40}, {StateSucceeded, "Succeeded", 100}}
	for i, w := range want {
		if g := seen[i]; g.State != w.state || g.Status != w.status || g.Percent != w.percent || g.Poll != i+1 {
			t.Errorf("progress %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestAsyncSucceededUsesAcceptedLocation(t *testing.T) {
	t.Parallel()
	// Azure's POST pattern: the status document has no link; the result is
	// at the 202's Location.
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Azure-AsyncOperation", "/ops/1", "Location", "/results/1"),
		"/ops/1",
		answer(http.StatusOK, `{"status":"InProgress"}`),
		answer(http.StatusOK, `{"status":"Succeeded"}`),
	)
	js.extra["/results/1"] = answer(http.StatusOK, `{"result":true}`)
	c := newTestClient(t)
	out, err := js.start(c).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != `{"result":true}` {
		t.Fatalf("result %q", got)
	}
}

func TestAsyncJSONAPI(t *testing.T) {
	t.Parallel()
	const vnd = "application/vnd.api+json"
	job := func(status string) string {
		attrs := `{}`
		if status != "" {
			attrs = `{"status":"` + status + `"}`
		}
		return `{"data":{"type":"queue-jobs","id":"5234","attributes":` + attrs + `,"links":{"self":"/photos/queue-jobs/5234"}}}`
	}
	js := newJobServer(t,
		answer(http.StatusAccepted, job("Pending"), "Content-Type", vnd, "Content-Location", "/photos/queue-jobs/5234"),
		"/photos/queue-jobs/5234",
		answer(http.StatusOK, job("Pending"), "Content-Type", vnd, "Retry-After", "0"),
		// No status at all: a JSON:API job resource still means pending.
		answer(http.StatusOK, job(""), "Content-Type", vnd, "Retry-After", "0"),
		answer(http.StatusSeeOther, "", "Location", "/photos/4577"),
	)
	js.extra["/photos/4577"] = answer(http.StatusOK, `{"data":{"type":"photos","id":"4577"}}`, "Content-Type", vnd)
	c := newTestClient(t)
	a := js.start(c)
	if a.MonitorFrom != fromContentLocation {
		t.Fatalf("monitor from %q", a.MonitorFrom)
	}
	// The 202's body stays readable after monitor discovery.
	if b, _ := io.ReadAll(a.Response().Body); !strings.Contains(string(b), "queue-jobs") {
		t.Fatalf("202 body lost: %q", b)
	}
	out, err := a.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); !strings.Contains(got, `"id":"4577"`) {
		t.Fatalf("result %q", got)
	}
	if n := js.pollCount(); n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
	if n := js.extraCount("/photos/4577"); n != 1 {
		t.Fatalf("final photo fetched %d times", n)
	}
}

func TestAsyncDoneWithResponse(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, `{"name":"operations/42","done":false}`, "Location", "/v1/operations/42"),
		"/v1/operations/42",
		answer(http.StatusOK, `{"name":"operations/42","done":false,"metadata":{"progressPercent":30}}`),
		answer(http.StatusOK, `{"name":"operations/42","done":true,"response":{"@type":"Thing","id":"t1"}}`),
	)
	var percents []float64
	c := newTestClient(t)
	out, err := js.start(c).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Progress: func(p Progress) { percents = append(percents, p.Percent) }})
	if err != nil {
		t.Fatal(err)
	}
	type thing struct{ ID string }
	got, err := Decode[thing](out, nil)
	if err != nil || got.ID != "t1" {
		t.Fatalf("Decode = %+v, %v; want the response member", got, err)
	}
	if fmt.Sprint(percents) != "[30 100]" {
		t.Fatalf("percents %v", percents)
	}
}

func TestAsyncDoneWithError(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/v1/operations/9"),
		"/v1/operations/9",
		answer(http.StatusOK, `{"done":true,"error":{"code":8,"message":"quota exhausted","status":"RESOURCE_EXHAUSTED"}}`),
	)
	out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var jf *JobError
	if !errors.As(out.Err(), &jf) || jf.State != StateFailed {
		t.Fatalf("got %T %v, want *JobError", out, out.Err())
	}
	if p := jf.Problem(); p == nil || p.Title != "8" || p.Detail != "quota exhausted" {
		t.Fatalf("problem %+v", jf.Problem())
	}
}

func TestAsyncFailedWithProblem(t *testing.T) {
	t.Parallel()
	t.Run("error object", func(t *testing.T) {
		t.Parallel()
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Operation-Location", "/ops/1"),
			"/ops/1",
			answer(http.StatusOK, `{"status":"Running"}`),
			answer(http.StatusOK, `{"status":"Failed","error":{"code":"QuotaExceeded","message":"no room left","target":"disk"}}`),
		)
		out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		jf, ok := out.(*JobError)
		if !ok {
			t.Fatalf("got %T, want *JobError", out)
		}
		if out.Err() != jf || jf.State != StateFailed || jf.Status != "Failed" {
			t.Fatalf("state %v status %q err %v", jf.State, jf.Status, out.Err())
		}
		p := jf.Problem()
		if p == nil || p.Title != "QuotaExceeded" || p.Detail != "no room left" {
			t.Fatalf("problem %+v", p)
		}
		var target string
		if !p.Extension("target", &target) || target != "disk" {
			t.Fatalf("extension target = %q", target)
		}
		if !strings.Contains(jf.Error(), "QuotaExceeded") || !strings.Contains(jf.Error(), "no room left") {
			t.Fatalf("error text %q", jf.Error())
		}
		if _, err := Decode[map[string]any](out, nil); !errors.As(err, &jf) {
			t.Fatalf("Decode error %v, want the *JobError", err)
		}
		if !strings.Contains(string(jf.Body()), "QuotaExceeded") {
			t.Fatalf("body %q", jf.Body())
		}
	})
	t.Run("problem+json document", func(t *testing.T) {
		t.Parallel()
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Location", "/jobs/2"),
			"/jobs/2",
			answer(http.StatusOK, `{"status":"failed","type":"/probs/credit","title":"Out of credit","detail":"balance 30, cost 50"}`,
				"Content-Type", "application/problem+json"),
		)
		out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var jf *JobError
		if !errors.As(out.Err(), &jf) {
			t.Fatalf("got %T", out)
		}
		if p := jf.Problem(); p == nil || p.Title != "Out of credit" || p.Type != js.srv.URL+"/probs/credit" {
			t.Fatalf("problem %+v", p)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Location", "/jobs/3"),
			"/jobs/3",
			answer(http.StatusOK, `{"state":"CANCELLED"}`),
		)
		out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var jf *JobError
		if !errors.As(out.Err(), &jf) || jf.State != StateCanceled {
			t.Fatalf("got %T %v", out, out.Err())
		}
	})
}

func TestAsyncMonitorGone(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			js := newJobServer(t,
				answer(http.StatusAccepted, "", "Location", "/jobs/1"),
				"/jobs/1",
				answer(http.StatusAccepted, ""),
				answer(code, `{"title":"no such job"}`, "Content-Type", "application/problem+json"),
			)
			out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var jf *JobError
			if !errors.As(out.Err(), &jf) || jf.State != StateGone || out.StatusCode() != code {
				t.Fatalf("got %T %v", out, out.Err())
			}
			if jf.Problem() == nil || jf.Problem().Title != "no such job" {
				t.Fatalf("problem %+v", jf.Problem())
			}
			if code == http.StatusGone {
				var g *Gone
				if !errors.As(out.Err(), &g) {
					t.Fatal("410 job does not unwrap to *Gone")
				}
			} else {
				var nf *NotFound
				if !errors.As(out.Err(), &nf) {
					t.Fatal("404 job does not unwrap to *NotFound")
				}
			}
			if n := js.pollCount(); n != 2 {
				t.Fatalf("polled %d times", n)
			}
		})
	}
}

func TestAsyncMonitor503(t *testing.T) {
	t.Parallel()
	t.Run("retried by the client", func(t *testing.T) {
		t.Parallel()
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Location", "/jobs/1"),
			"/jobs/1",
			answer(http.StatusServiceUnavailable, "busy", "Retry-After", "0"),
			answer(http.StatusOK, `{"ok":1}`),
		)
		var steps []Progress
		out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Progress: func(p Progress) { steps = append(steps, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, out) != `{"ok":1}` || js.pollCount() != 2 {
			t.Fatalf("polls %d", js.pollCount())
		}
		if len(steps) != 1 || out.Info().Attempts != 2 {
			t.Fatalf("steps %+v attempts %d: the 503 should be retried inside one poll", steps, out.Info().Attempts)
		}
	})
	t.Run("seen by the poller", func(t *testing.T) {
		t.Parallel()
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Location", "/jobs/1"),
			"/jobs/1",
			answer(http.StatusServiceUnavailable, "busy", "Retry-After", "0"),
			answer(http.StatusBadGateway, "bad gateway"),
			answer(http.StatusOK, `{"ok":1}`),
		)
		var steps []Progress
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		out, err := js.start(c).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Progress: func(p Progress) { steps = append(steps, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, out) != `{"ok":1}` || len(steps) != 3 {
			t.Fatalf("steps %+v", steps)
		}
		var su *ServiceUnavailable
		if !errors.As(steps[0].Err, &su) || steps[0].State != StateRunning || steps[1].StatusCode != 502 {
			t.Fatalf("transient steps %+v", steps[:2])
		}
	})
	t.Run("transport error", func(t *testing.T) {
		t.Parallel()
		var drops atomic.Int32
		js := newJobServer(t,
			answer(http.StatusAccepted, "", "Location", "/jobs/1"),
			"/jobs/1",
			func(w http.ResponseWriter, r *http.Request) {
				drops.Add(1)
				panic(http.ErrAbortHandler) // the connection is cut
			},
			// net/http itself resends a GET once when a reused connection
			// breaks; the second cut reaches the poller.
			func(w http.ResponseWriter, r *http.Request) {
				drops.Add(1)
				panic(http.ErrAbortHandler)
			},
			answer(http.StatusOK, `{"ok":1}`),
		)
		js.srv.Config.ErrorLog = quietLog()
		c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		var steps []Progress
		out, err := js.start(c).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Progress: func(p Progress) { steps = append(steps, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, out) != `{"ok":1}` || drops.Load() != 2 || steps[0].Err == nil || steps[0].StatusCode != 0 {
			t.Fatalf("steps %+v", steps)
		}
		var re *RequestError
		if !errors.As(steps[0].Err, &re) {
			t.Fatalf("transient error %T, want *RequestError", steps[0].Err)
		}
	})
}

func TestAsyncBudget(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/forever"),
		"/jobs/forever",
		answer(http.StatusOK, `{"status":"running"}`, "Retry-After", "0"),
	)
	c := newTestClient(t)
	a := js.start(c)
	p, err := c.NewPoller(a, &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxPolls: 5})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Wait(context.Background())
	if !errors.Is(err, ErrPollBudget) {
		t.Fatalf("err = %v, want ErrPollBudget", err)
	}
	if n := js.pollCount(); n != 5 {
		t.Fatalf("polled %d times, want exactly the budget of 5", n)
	}
	if _, err := p.Poll(context.Background()); !errors.Is(err, ErrPollBudget) {
		t.Fatalf("Poll past the budget: %v", err)
	}
	if _, err := p.Result(); !errors.Is(err, ErrNotDone) {
		t.Fatalf("Result of a running job: %v", err)
	}
	// The job can still be handed on.
	if _, err := p.ResumeToken(); err != nil {
		t.Fatal(err)
	}
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// handlerTransport serves requests in-process, so that tests in a
// synctest bubble have no network goroutines.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// TestAsyncRetryAfterHonouredExactly: each poll waits the last answer's
// Retry-After, never less, plus a random part of up to as long again (at
// most 1s). (README.md names it; it is to be renamed with its row there,
// to TestAsyncRetryAfterIsTheLeastWait.)
func TestAsyncRetryAfterHonouredExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		hints := []string{"2", "3", "", "7"} // "" : no hint, the backoff decides
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/jobs/1")
				w.Header().Set("Retry-After", "5")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			mu.Lock()
			n := len(at)
			at = append(at, time.Since(start))
			mu.Unlock()
			if n < len(hints) {
				if hints[n] != "" {
					w.Header().Set("Retry-After", hints[n])
				}
				w.WriteHeader(http.StatusAccepted)
				return
			}
			io.WriteString(w, "done")
		})
		c := New(WithTransport(handlerTransport{h}))
		req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		// A fixed backoff (no jitter is not configurable; bounds are checked).
		res, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: 10 * time.Second, MaxInterval: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res.Close()
		if len(at) != 5 {
			t.Fatalf("%d polls, want 5: %v", len(at), at)
		}
		// 202 says 5s; then 2s, 3s, backoff (10s ± 20%), 7s: each
		// Retry-After waited to at most 1s more.
		waits := []time.Duration{at[0], at[1] - at[0], at[2] - at[1], at[3] - at[2], at[4] - at[3]}
		for i, ra := range []time.Duration{5 * time.Second, 2 * time.Second, 3 * time.Second, 0, 7 * time.Second} {
			if ra == 0 {
				if w := waits[i]; w < 8*time.Second || w > 12*time.Second {
					t.Fatalf("backoff wait %v outside 10s±20%%", w)
				}
				continue
			}
			if w := waits[i]; w < ra || w > ra+time.Second {
				t.Fatalf("wait %d of %v after Retry-After %v; want %v to %v (all polls: %v)", i+1, w, ra, ra, ra+time.Second, at)
			}
		}
	})
}

func TestAsyncBudgetTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var polls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/jobs/1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			polls.Add(1)
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusAccepted)
		})
		c := New(WithTransport(handlerTransport{h}))
		req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs", nil)
		out, _ := c.Send(req)
		start := time.Now()
		_, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: time.Second, MaxInterval: time.Second, MaxTime: 5 * time.Minute})
		if !errors.Is(err, ErrPollBudget) {
			t.Fatalf("err = %v", err)
		}
		// Polls at ~1s, 61s, 121s, 181s, 241s; the next would be at 301s,
		// past 5m, so Wait gives up at once instead of sleeping.
		if n := polls.Load(); n != 5 {
			t.Fatalf("%d polls", n)
		}
		if el := time.Since(start); el > 250*time.Second {
			t.Fatalf("Wait slept to %v before giving up", el)
		}
	})
}

func TestAsyncContextCancelMidWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var polls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/jobs/1")
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			polls.Add(1)
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusAccepted)
		})
		c := New(WithTransport(handlerTransport{h}))
		req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs", nil)
		out, _ := c.Send(req)
		p, err := c.NewPoller(out.(*Accepted), &PollOptions{MaxTime: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		time.AfterFunc(90*time.Second, cancel)
		_, err = p.Wait(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el != 90*time.Second {
			t.Fatalf("Wait returned after %v, want at the cancel (90s)", el)
		}
		if polls.Load() != 1 {
			t.Fatalf("%d polls", polls.Load())
		}
		// A deadline that the next wait cannot meet fails at once.
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
		defer cancel2()
		start = time.Now()
		_, err = p.Wait(ctx2)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 0 {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		if polls.Load() != 1 {
			t.Fatal("polled past the deadline")
		}
	})
}

func TestAsyncResumeInAnotherClient(t *testing.T) {
	t.Parallel()
	var badAuth atomic.Int32
	requireAuth := func(next func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer secret-token" {
				badAuth.Add(1)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next(w, r)
		}
	}
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Operation-Location", "/ops/1", "Retry-After", "0"),
		"/ops/1",
		requireAuth(answer(http.StatusOK, `{"status":"Running","percentComplete":10}`, "Retry-After", "0")),
		requireAuth(answer(http.StatusOK, `{"status":"Running","percentComplete":20}`, "Retry-After", "0")),
		requireAuth(answer(http.StatusOK, `{"status":"Running","percentComplete":60}`, "Retry-After", "0")),
		requireAuth(answer(http.StatusOK, `{"status":"Succeeded","resourceLocation":"/things/1"}`)),
	)
	js.extra["/things/1"] = requireAuth(answer(http.StatusOK, `{"thing":1}`))

	// Process one: polls twice, then hands the job on.
	c1 := newTestClient(t)
	p1, err := c1.NewPoller(js.start(c1), fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p1.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	token, err := p1.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[3])
	if strings.Contains(token+string(raw), "secret-token") {
		t.Fatal("the token carries the Authorization header")
	}

	// Process two: its own Client, its own credentials.
	c2 := newTestClient(t)
	var seen []Progress
	p2, err := c2.ResumePoller(token, &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Header: http.Header{"Authorization": {"Bearer secret-token"}}, Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p2.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != `{"thing":1}` {
		t.Fatalf("result %q", got)
	}
	if badAuth.Load() != 0 {
		t.Fatalf("%d polls without credentials", badAuth.Load())
	}
	if js.pollCount() != 4 || len(seen) != 2 || seen[0].Poll != 3 || seen[0].Percent != 60 {
		t.Fatalf("polls %d, progress %+v", js.pollCount(), seen)
	}
	if _, err := p2.ResumeToken(); !errors.Is(err, ErrJobEnded) || errors.Is(err, ErrNotDone) {
		t.Fatalf("token of an ended job: %v", err)
	}

	// A token taken in the final phase resumes there: the resource is
	// fetched without polling the monitor again.
	js2 := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/2"),
		"/jobs/2",
		answer(http.StatusSeeOther, "", "Location", "/results/2"),
	)
	calls := 0
	js2.extra["/results/2"] = func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "result 2")
	}
	c3 := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	p3, _ := c3.NewPoller(js2.start(c3), fastPoll())
	pr, err := p3.Poll(context.Background())
	if err != nil || pr.Err == nil || p3.Done() {
		t.Fatalf("progress %+v err %v done %v: the final GET should have failed transiently", pr, err, p3.Done())
	}
	token, _ = p3.ResumeToken()
	p4, err := newTestClient(t).ResumePoller(token, &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out, err = p4.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != "result 2" || js2.pollCount() != 1 {
		t.Fatalf("result %q after %d monitor polls", got, js2.pollCount())
	}
}

// encodeToken builds a token around an arbitrary payload with a valid
// checksum, to reach the validation behind it.
func encodeToken(payload string) string {
	return "semhttp.poll.1." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(payload))), 16)
}

func TestAsyncCorruptTokens(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	good := encodeToken(`{"monitor":"https://api.test/ops/1","from":"Operation-Location","origin":"https://api.test:443","polls":3}`)
	if _, err := c.ResumePoller(good, nil); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	flipped := []byte(good)
	flipped[len("semhttp.poll.1.")+10] ^= 0x01
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not a token",
		"other version":    strings.Replace(good, "semhttp.poll.1.", "semhttp.poll.2.", 1),
		"truncated":        good[:len(good)-12],
		"flipped bit":      string(flipped),
		"bad base64":       "semhttp.poll.1.!!!!.0",
		"no checksum":      strings.Join(strings.Split(good, ".")[:4], "."),
		"bad checksum":     good[:strings.LastIndex(good, ".")] + ".zzzz",
		"huge":             "semhttp.poll.1." + strings.Repeat("A", 64<<10) + ".0",
		"not json":         encodeToken(`monitor=x`),
		"unknown field":    encodeToken(`{"monitor":"https://a.test/x","from":"Location","evil":1}`),
		"trailing json":    encodeToken(`{"monitor":"https://a.test/x","from":"Location"}{}`),
		"no monitor":       encodeToken(`{"from":"Location"}`),
		"relative monitor": encodeToken(`{"monitor":"/ops/1","from":"Location"}`),
		"file scheme":      encodeToken(`{"monitor":"file:///etc/passwd","from":"Location"}`),
		"userinfo":         encodeToken(`{"monitor":"https://u:p@a.test/x","from":"Location"}`),
		"crlf":             encodeToken(`{"monitor":"https://a.test/x\r\nHost: evil","from":"Location"}`),
		"downgrade":        encodeToken(`{"monitor":"http://a.test/x","from":"Location","origin":"https://a.test:443"}`),
		"bad source":       encodeToken(`{"monitor":"https://a.test/x","from":"Cookie"}`),
		"bad final":        encodeToken(`{"monitor":"https://a.test/x","from":"Location","final":"javascript:alert(1)"}`),
		"negative polls":   encodeToken(`{"monitor":"https://a.test/x","from":"Location","polls":-1}`),
		"origin with path": encodeToken(`{"monitor":"https://a.test/x","from":"Location","origin":"https://a.test/p"}`),
	}
	for name, tok := range cases {
		p, err := c.ResumePoller(tok, nil)
		if !errors.Is(err, ErrBadResumeToken) || p != nil {
			t.Errorf("%s: ResumePoller = %v, %v; want ErrBadResumeToken", name, p, err)
		}
	}
}

func TestAsyncNoMonitor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kv   []string
		body string
		want error
	}{
		{"nothing", nil, "", ErrNoMonitor},
		{"json body without link", []string{"Content-Type", "application/json"}, `{"status":"queued"}`, ErrNoMonitor},
		{"userinfo", []string{"Location", "http://user:pw@127.0.0.1/x"}, "", ErrBadMonitor},
		{"ftp", []string{"Operation-Location", "ftp://127.0.0.1/x"}, "", ErrBadMonitor},
		{"two Locations", []string{"Location", "/a", "Location", "/b"}, "", ErrBadMonitor},
		{"crlf in body link", []string{"Content-Type", "application/json"}, `{"statusUrl":"/x\r\nSet-Cookie: a=b"}`, ErrBadMonitor},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			js := newJobServer(t, answer(http.StatusAccepted, tc.body, tc.kv...), "/unused", answer(200, ""))
			a := js.start(newTestClient(t))
			if a.Monitor != nil || !errors.Is(a.MonitorErr, tc.want) {
				t.Fatalf("Monitor %v, MonitorErr %v; want %v", a.Monitor, a.MonitorErr, tc.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := a.Wait(ctx, nil); !errors.Is(err, tc.want) {
				t.Fatalf("Wait = %v, want %v", err, tc.want)
			}
			if js.pollCount() != 0 {
				t.Fatal("something was polled")
			}
		})
	}
}

func TestAsyncMonitorDiscovery(t *testing.T) {
	t.Parallel()
	reqURL, _ := url.Parse("https://api.test/v1/jobs")
	mk := func(kv []string, body string) *http.Response {
		h := make(http.Header)
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return &http.Response{StatusCode: 202, Header: h, Body: io.NopCloser(strings.NewReader(body)),
			Request: &http.Request{Method: "POST", URL: reqURL}}
	}
	cases := []struct {
		kv         []string
		body, want string
		from       string
	}{
		{[]string{"Location", "/l", "Content-Location", "/cl", "Azure-AsyncOperation", "/az", "Operation-Location", "/op"}, "", "https://api.test/az", fromAzureAsyncOperation},
		{[]string{"Location", "/l", "Content-Location", "/cl", "Operation-Location", "/op"}, "", "https://api.test/op", fromOperationLocation},
		{[]string{"Location", "/l", "Content-Location", "/cl"}, "", "https://api.test/l", fromLocation},
		{[]string{"Content-Location", "status/1"}, "", "https://api.test/v1/status/1", fromContentLocation},
		// A refused header falls through to the next usable one.
		{[]string{"Operation-Location", "http://api.test/downgrade", "Location", "/l"}, "", "https://api.test/l", fromLocation},
		{[]string{"Content-Type", "application/json"}, `{"id":1,"statusUrl":"/s/1"}`, "https://api.test/s/1", fromBody},
		{[]string{"Content-Type", "application/json"}, `{"statusQueryGetUri":"https://fn.test/rt/1?code=x","sendEventPostUri":"/e"}`, "https://fn.test/rt/1?code=x", fromBody},
		{[]string{"Content-Type", "application/hal+json"}, `{"_links":{"self":{"href":"/jobs/9"}}}`, "https://api.test/jobs/9", fromBody},
		{[]string{"Content-Type", "application/vnd.api+json"}, `{"data":{"id":"1","links":{"self":"/queue/1"}}}`, "https://api.test/queue/1", fromBody},
		{[]string{"Content-Type", "application/json"}, `{"links":{"status":"/st"},"href":"/h"}`, "https://api.test/h", fromBody},
	}
	for i, tc := range cases {
		resp := mk(tc.kv, tc.body)
		a := newAccepted(base{resp: resp}, false)
		if a.Monitor == nil || a.Monitor.String() != tc.want || a.MonitorFrom != tc.from {
			t.Errorf("case %d: monitor %v from %q (err %v), want %s from %s", i, a.Monitor, a.MonitorFrom, a.MonitorErr, tc.want, tc.from)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != tc.body {
			t.Errorf("case %d: body after discovery %q", i, b)
		}
	}
}

func TestAsyncUnknownStatusWord(t *testing.T) {
	t.Parallel()
	// From a Location monitor, a resource with a status of its own is the
	// result; from a status monitor, an unknown word means still running.
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/accounts/1"),
		"/accounts/1",
		answer(http.StatusOK, `{"id":1,"status":"active"}`),
	)
	out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != `{"id":1,"status":"active"}` {
		t.Fatalf("result %q", got)
	}
	js2 := newJobServer(t,
		answer(http.StatusAccepted, "", "Operation-Location", "/ops/1"),
		"/ops/1",
		answer(http.StatusOK, `{"status":"Migrating"}`),
		answer(http.StatusOK, `{"status":"Succeeded"}`),
	)
	out, err = js2.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != `{"status":"Succeeded"}` || js2.pollCount() != 2 {
		t.Fatalf("result %q after %d polls", got, js2.pollCount())
	}
}

func TestAsyncCustomInterpreter(t *testing.T) {
	t.Parallel()
	// An API that says "phase": "baking" / "served".
	interp := func(r PollResponse) (PollDecision, error) {
		var doc struct{ Phase string }
		_ = json.Unmarshal(r.Body, &doc)
		switch doc.Phase {
		case "baking":
			return PollDecision{State: StateRunning, Status: doc.Phase, Percent: -1}, nil
		case "served":
			return PollDecision{State: StateSucceeded, Status: doc.Phase, Percent: 100}, nil
		}
		return DefaultStatusInterpreter(r)
	}
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/pizza/1"),
		"/pizza/1",
		answer(http.StatusOK, `{"phase":"baking"}`),
		answer(http.StatusOK, `{"phase":"baking"}`),
		answer(http.StatusOK, `{"phase":"served","pizza":"margherita"}`),
	)
	out, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Interpret: interp})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); !strings.Contains(got, "margherita") || js.pollCount() != 3 {
		t.Fatalf("result %q after %d polls", got, js.pollCount())
	}
}

func TestAsyncMonitorRefusesPoll(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/1"),
		"/jobs/1",
		answer(http.StatusUnauthorized, `{"title":"token expired"}`, "Content-Type", "application/problem+json", "WWW-Authenticate", `Bearer realm="x"`),
	)
	_, err := js.start(newTestClient(t)).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	var ua *Unauthorized
	if !errors.Is(err, ErrMonitorAnswer) || !errors.As(err, &ua) {
		t.Fatalf("err = %v, want ErrMonitorAnswer wrapping *Unauthorized", err)
	}
}

func TestAsyncCrossOriginHeaders(t *testing.T) {
	t.Parallel()
	// The monitor lives on another origin (another port): none of the
	// request's headers may reach it. The final resource is back on the
	// request's origin, where they are sent.
	var other *httptest.Server
	var otherHeaders http.Header
	js := newJobServer(t, nil, "/unused", answer(200, ""))
	js.accept = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", other.URL+"/status/1")
		w.WriteHeader(http.StatusAccepted)
	}
	js.extra["/things/1"] = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret-token" || r.Header.Get("X-Api-Key") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "thing")
	}
	other = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHeaders = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"succeeded","resultUrl":%q}`, js.srv.URL+"/things/1")
	}))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodPost, js.srv.URL+"/jobs", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=s")
	req.Header.Set("X-Api-Key", "k")
	req.Header.Set("Content-Type", "application/json")
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, Header: http.Header{"X-Extra": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, res); got != "thing" {
		t.Fatalf("result %q", got)
	}
	for _, h := range []string{"Authorization", "Cookie", "X-Api-Key", "X-Extra", "Content-Type"} {
		if v := otherHeaders.Get(h); v != "" {
			t.Errorf("%s: %q sent to the other origin", h, v)
		}
	}
}

func TestAsyncSameOriginHeaders(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/1"),
		"/jobs/1",
		answer(http.StatusOK, "{}"),
	)
	c := newTestClient(t, WithIdempotencyKeys())
	out, err := js.start(c).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	js.mu.Lock()
	h := js.seen[0]
	js.mu.Unlock()
	if h.Get("Authorization") != "Bearer secret-token" {
		t.Fatal("same-origin poll lost Authorization")
	}
	for _, k := range []string{"Idempotency-Key", "Content-Type", "Content-Length"} {
		if h.Get(k) != "" {
			t.Errorf("%s copied to the poll", k)
		}
	}
}

func TestAsyncClassifiedWithoutClient(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/1"),
		"/jobs/1",
		answer(http.StatusOK, "ok"),
	)
	req, _ := http.NewRequest(http.MethodPost, js.srv.URL+"/jobs", nil)
	c := newTestClient(t)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Classify(resp)
	a := out.(*Accepted)
	p, err := c.NewPoller(a, &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	res, err := p.Wait(context.Background())
	if err != nil || readAll(t, res) != "ok" {
		t.Fatalf("err %v", err)
	}
}

func TestAsyncConcurrentPollers(t *testing.T) {
	t.Parallel()
	js := newJobServer(t,
		answer(http.StatusAccepted, "", "Location", "/jobs/1"),
		"/jobs/1",
		answer(http.StatusAccepted, "", "Retry-After", "0"),
		answer(http.StatusAccepted, "", "Retry-After", "0"),
		answer(http.StatusOK, "done"),
	)
	c := newTestClient(t)
	p, err := c.NewPoller(js.start(c), fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]Outcome, 4)
	for i := range results {
		wg.Go(func() {
			out, err := p.Wait(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = out
			_, _ = p.ResumeToken()
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r != results[0] {
			t.Fatal("waiters saw different results")
		}
	}
	if readAll(t, results[0]) != "done" || js.pollCount() != 3 {
		t.Fatalf("%d polls", js.pollCount())
	}
}

func TestDefaultStatusInterpreterTable(t *testing.T) {
	t.Parallel()
	mon, _ := url.Parse("https://api.test/ops/1")
	loc, _ := url.Parse("https://api.test/results/1")
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name    string
		code    int
		h       http.Header
		body    string
		from    string
		state   JobState
		final   string
		percent float64
		wantErr bool
	}{
		{"202 plain", 202, nil, "", fromLocation, StateRunning, "", -1, false},
		{"202 with percent", 202, nil, `{"progress":"45%"}`, fromLocation, StateRunning, "", 45, false},
		{"in_progress spelling", 200, nil, `{"state":"IN_PROGRESS"}`, fromLocation, StateRunning, "", -1, false},
		{"in-progress spelling", 200, nil, `{"Status":"in-progress"}`, fromLocation, StateRunning, "", -1, false},
		{"queued", 200, nil, `{"status":"Queued"}`, fromLocation, StateRunning, "", -1, false},
		{"accepted", 200, nil, `{"status":"accepted"}`, fromLocation, StateRunning, "", -1, false},
		{"notstarted", 200, nil, `{"status":"not_started"}`, fromLocation, StateRunning, "", -1, false},
		{"done false", 200, nil, `{"done":false}`, fromLocation, StateRunning, "", -1, false},
		{"ARM provisioningState", 200, nil, `{"properties":{"provisioningState":"Updating"}}`, fromLocation, StateRunning, "", -1, false},
		{"JSON:API nested", 200, nil, `{"data":{"attributes":{"status":"pending","percentComplete":12.5}}}`, fromLocation, StateRunning, "", 12.5, false},
		{"nested status object", 200, nil, `{"status":{"state":"RUNNING"}}`, fromLocation, StateRunning, "", -1, false},
		{"succeeded with link", 200, nil, `{"status":"Succeeded","resourceLocation":"/things/1"}`, fromOperationLocation, StateSucceeded, "https://api.test/things/1", 100, false},
		{"completed with Location header", 200, hdr("Location", "/things/2"), `{"status":"completed"}`, fromLocation, StateSucceeded, "https://api.test/things/2", 100, false},
		{"succeeded without link", 200, nil, `{"status":"done","value":3}`, fromLocation, StateSucceeded, "", 100, false},
		{"succeeded falls back to 202 Location", 200, nil, `{"status":"Succeeded"}`, fromOperationLocation, StateSucceeded, "https://api.test/results/1", 100, false},
		{"failed", 200, nil, `{"status":"Failed"}`, fromLocation, StateFailed, "", -1, false},
		{"error word", 200, nil, `{"state":"error"}`, fromLocation, StateFailed, "", -1, false},
		{"cancelled", 200, nil, `{"status":"Cancelled"}`, fromLocation, StateCanceled, "", -1, false},
		{"no status document", 200, nil, `{"id":4}`, fromLocation, StateSucceeded, "", -1, false},
		{"204", 204, nil, ``, fromLocation, StateSucceeded, "", -1, false},
		{"201 resource", 201, nil, `{"id":4}`, fromLocation, StateSucceeded, "", -1, false},
		{"JSON:API job without status", 200, hdr("Content-Type", "application/vnd.api+json"), `{"data":{"id":"1"}}`, fromContentLocation, StateRunning, "", -1, false},
		{"vnd.api+json from Location is the result", 200, hdr("Content-Type", "application/vnd.api+json"), `{"data":{"id":"1"}}`, fromLocation, StateSucceeded, "", -1, false},
		{"303", 303, hdr("Location", "/photos/1"), ``, fromContentLocation, StateSucceeded, "https://api.test/photos/1", -1, false},
		{"304 conditional poll", 304, nil, ``, fromLocation, StateRunning, "", -1, false},
		{"303 without Location", 303, nil, ``, fromLocation, StateRunning, "", -1, true},
		{"404", 404, nil, ``, fromLocation, StateGone, "", -1, false},
		{"410", 410, nil, ``, fromLocation, StateGone, "", -1, false},
		{"400", 400, nil, ``, fromLocation, StateRunning, "", -1, true},
		{"307", 307, hdr("Location", "/x"), ``, fromLocation, StateRunning, "", -1, true},
		{"percent out of range ignored", 200, nil, `{"status":"running","percentComplete":250}`, fromLocation, StateRunning, "", -1, false},
		{"not json", 200, nil, `<html>`, fromLocation, StateSucceeded, "", -1, false},
	}
	for _, tc := range cases {
		h := tc.h
		if h == nil {
			h = http.Header{}
		}
		r := PollResponse{StatusCode: tc.code, Header: h, Body: []byte(tc.body), URL: mon, MonitorFrom: tc.from}
		if tc.from == fromOperationLocation {
			r.Location = loc
		}
		d, err := DefaultStatusInterpreter(r)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMonitorAnswer) {
				t.Errorf("%s: err %v does not wrap ErrMonitorAnswer", tc.name, err)
			}
			continue
		}
		final := ""
		if d.Final != nil {
			final = d.Final.String()
		}
		if d.State != tc.state || final != tc.final || d.Percent != tc.percent {
			t.Errorf("%s: got %v final %q percent %v; want %v %q %v", tc.name, d.State, final, d.Percent, tc.state, tc.final, tc.percent)
		}
	}
}

// FuzzStatusInterpreter feeds arbitrary answers to the default interpreter:
// it must not panic, and what it decides must be usable.
func FuzzStatusInterpreter(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"status":"Succeeded","resourceLocation":"/x"}`), uint8(0), "")
	f.Add(200, "application/json", []byte(`{"done":true,"response":{"a":1},"error":null}`), uint8(2), "")
	f.Add(200, "application/vnd.api+json", []byte(`{"data":{"attributes":{"status":"pending","progress":"12%"}}}`), uint8(3), "")
	f.Add(303, "", []byte(nil), uint8(3), "/final")
	f.Add(200, "application/problem+json", []byte(`{"status":"failed","title":"t","detail":"d","type":"/p"}`), uint8(1), "")
	f.Add(200, "application/json", []byte(`{"status":{"state":"RUNNING"},"percentComplete":1e400}`), uint8(0), "")
	f.Add(404, "application/json", []byte(`{"errors":[{"title":"x"}]}`), uint8(2), "")
	f.Add(202, "", []byte(`{"Status":"x","status":"y","STATUS":"z"}`), uint8(4), "\r\n")
	f.Add(200, "application/json", []byte(`{"properties":{"provisioningState":"Migrating"}}`), uint8(5+16), "")
	f.Add(200, "application/json", []byte(`{"status":"Succeeded"}`), uint8(1+8), "")
	f.Add(418, "", []byte(nil), uint8(6+40), "")
	f.Fuzz(func(t *testing.T, code int, ctype string, body []byte, from uint8, location string) {
		mon, _ := url.Parse("https://api.test/ops/1")
		froms := []string{fromOperationLocation, fromAzureAsyncOperation, fromLocation, fromContentLocation, fromBody, fromResource, fromRequest}
		methods := []string{"", http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodGet}
		h := http.Header{"Content-Type": {ctype}}
		if location != "" {
			h.Set("Location", location)
		}
		orig, _ := url.Parse("https://api.test/things/1")
		r := PollResponse{StatusCode: code, Header: h, Body: body, URL: mon, MonitorFrom: froms[int(from)%len(froms)],
			Method: methods[int(from/8)%len(methods)], OriginalURL: orig, Location: orig}
		d, err := DefaultStatusInterpreter(r)
		if err != nil {
			if !errors.Is(err, ErrMonitorAnswer) {
				t.Fatalf("error %v does not wrap ErrMonitorAnswer", err)
			}
			return
		}
		if d.State < StateRunning || d.State > StateGone {
			t.Fatalf("state %v", d.State)
		}
		if d.Percent != -1 && (d.Percent < 0 || d.Percent > 100) {
			t.Fatalf("percent %v", d.Percent)
		}
		if d.Final != nil && (!d.Final.IsAbs() || d.State != StateSucceeded) {
			t.Fatalf("final %v in state %v", d.Final, d.State)
		}
		if d.Result != nil && !json.Valid(d.Result) {
			t.Fatalf("result %q is not JSON", d.Result)
		}
		if code >= 200 && code < 300 && code != 202 && len(body) == 0 && d.State != StateSucceeded {
			if !(r.MonitorFrom == fromContentLocation && strings.Contains(ctype, "vnd.api+json")) {
				// (a status monitor's empty answer is an error, above)
				t.Fatalf("empty %d answer gave %v", code, d.State)
			}
		}
	})
}

// FuzzResumeToken feeds arbitrary tokens to the decoder: no panic, and a
// token it accepts re-encodes to an equivalent one.
func FuzzResumeToken(f *testing.F) {
	f.Add(encodeToken(`{"monitor":"https://api.test/ops/1","from":"Operation-Location","origin":"https://api.test:443","polls":3}`))
	f.Add(encodeToken(`{"monitor":"http://127.0.0.1:8080/x","from":"Location","final":"http://127.0.0.1:8080/y","wait_ms":500,"has_wait":true}`))
	f.Add("semhttp.poll.1.e30.0")
	f.Add("semhttp.poll.9.abc.def")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		st, err := decodeResumeToken(token)
		if err != nil {
			if !errors.Is(err, ErrBadResumeToken) {
				t.Fatalf("error %v does not wrap ErrBadResumeToken", err)
			}
			return
		}
		c := New()
		p, err := c.ResumePoller(token, nil)
		if err != nil {
			t.Fatalf("decoded but not resumable: %v", err)
		}
		again, err := p.ResumeToken()
		if err != nil {
			t.Fatal(err)
		}
		st2, err := decodeResumeToken(again)
		// The remaining wait shrinks with the clock.
		if err == nil && st2.WaitMS <= st.WaitMS && st2.WaitMS >= st.WaitMS-1000 {
			st2.WaitMS = st.WaitMS
		}
		if err != nil || st2 != st {
			t.Fatalf("round trip: %+v vs %+v (%v)", st, st2, err)
		}
	})
}

// FuzzMonitorLink feeds arbitrary 202 bodies to the link finder.
func FuzzMonitorLink(f *testing.F) {
	f.Add([]byte(`{"statusUrl":"/s/1"}`))
	f.Add([]byte(`{"_links":{"self":{"href":"/jobs/9"}}}`))
	f.Add([]byte(`{"data":{"links":{"self":"//evil.test/x"}}}`))
	f.Add([]byte(`{"href":"\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		base, _ := url.Parse("https://api.test/v1/jobs")
		u, err := monitorLink(body, base)
		if err != nil {
			if !errors.Is(err, ErrBadMonitor) || u != nil {
				t.Fatalf("%v, %v", u, err)
			}
			return
		}
		if u != nil && !u.IsAbs() {
			t.Fatalf("relative link %v", u)
		}
	})
}

// ExampleAccepted_Wait starts a job, waits for it with a progress line, and
// decodes the result.
func ExampleAccepted_Wait() {
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Operation-Location", "/operations/1")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/operations/1":
			polls++
			w.Header().Set("Retry-After", "0")
			if polls < 3 {
				fmt.Fprintf(w, `{"status":"Running","percentComplete":%d}`, polls*40)
				return
			}
			fmt.Fprint(w, `{"status":"Succeeded","resourceLocation":"/reports/1"}`)
		case r.URL.Path == "/reports/1":
			fmt.Fprint(w, `{"title":"Quarterly report","pages":12}`)
		}
	}))
	defer srv.Close()
	c := New()
	defer c.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/reports", nil)
	out, err := c.Send(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	accepted, ok := out.(*Accepted)
	if !ok {
		out.Close()
		return
	}
	result, err := accepted.Wait(context.Background(), &PollOptions{Progress: func(p Progress) {
		fmt.Printf("%s %.0f%%\n", p.State, p.Percent)
	}})
	type report struct {
		Title string
		Pages int
	}
	r, err := Decode[report](result, err)
	fmt.Println(r.Title, r.Pages, err)
	// Output:
	// running 40%
	// running 80%
	// succeeded 100%
	// Quarterly report 12 <nil>
}

func TestAsyncConcurrentWaitersKeepTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/jobs/1")
				w.Header().Set("Retry-After", "10")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			mu.Lock()
			at = append(at, time.Since(start))
			n := len(at)
			mu.Unlock()
			if n < 4 {
				w.Header().Set("Retry-After", "10")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			io.WriteString(w, "done")
		})
		c := New(WithTransport(handlerTransport{h}))
		req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs", nil)
		out, _ := c.Send(req)
		p, err := c.NewPoller(out.(*Accepted), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := p.Wait(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		res, _ := p.Result()
		res.Close()
		// Five waiters, one schedule: a poll every 10s (to 11s, spread),
		// none early or extra.
		if len(at) != 4 {
			t.Fatalf("%d polls: %v", len(at), at)
		}
		prev := time.Duration(0)
		for _, a := range at {
			if gap := a - prev; gap < 10*time.Second || gap > 11*time.Second {
				t.Fatalf("polls at %v", at)
			}
			prev = a
		}
	})
}

// TestAsyncSendNeverWaitsOnA202Body: a 202 whose chunked JSON body stalls
// does not hold Send; the monitor it names is found when Wait is called.
func TestAsyncSendNeverWaitsOnA202Body(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jobs":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"statusUrl":"/jobs/1"`)
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, `}`)
		case "/jobs/1":
			io.WriteString(w, "done")
		}
	}))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", nil)
	start := time.Now()
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Send waited %v on the body", el)
	}
	a := out.(*Accepted)
	if a.Monitor != nil {
		t.Fatalf("monitor %v found without reading the body", a.Monitor)
	}
	close(release)
	res, err := a.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, res); got != "done" || a.MonitorFrom != fromBody {
		t.Fatalf("result %q, monitor from %q", got, a.MonitorFrom)
	}
}

// stubBody serves data, then err (io.EOF when nil), and records Close.
type stubBody struct {
	r      *strings.Reader
	err    error
	closed bool
}

func (b *stubBody) Read(p []byte) (int, error) {
	if n, _ := b.r.Read(p); n > 0 {
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	return 0, io.EOF
}

func (b *stubBody) Close() error { b.closed = true; return nil }

// peekBody reads a status document whatever length the response declares
// (a body cut short by an error is not one), and the body it puts back
// reads the same bytes and closes the original.
func TestPeekBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		length int64
		err    error
		ok     bool
	}{
		{"whole", `{"status":"running"}`, 20, nil, true},
		{"cut short", `{"stat`, 20, io.ErrUnexpectedEOF, false},
		// A hand-built response whose length is wrong is read all the same.
		{"shorter than declared, clean end", `{"a":1}`, 20, nil, true},
		{"longer than declared", `{"status":"running","x":1}`, 20, nil, true},
		{"unknown length", `{"status":"running"}`, -1, nil, true},
		{"over the limit", strings.Repeat(" ", maxStatusBody) + "{}", maxStatusBody + 2, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := &stubBody{r: strings.NewReader(tc.body), err: tc.err}
			resp := &http.Response{Body: sb, ContentLength: tc.length}
			data, ok, rerr := peekBody(resp)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (data %q)", ok, tc.ok, data)
			}
			if rerr != tc.err {
				t.Fatalf("read error %v, want %v", rerr, tc.err)
			}
			if ok && string(data) != tc.body {
				t.Fatalf("data %q, want %q", data, tc.body)
			}
			got, err := io.ReadAll(resp.Body)
			if string(got) != tc.body || err != tc.err {
				t.Fatalf("replayed %d bytes (%v); want the %d bytes, %v", len(got), err, len(tc.body), tc.err)
			}
			resp.Body.Close()
			if !sb.closed {
				t.Fatal("closing the replayed body did not close the original")
			}
		})
	}
}

// A poll's 202 is classified without reading its body (the poller reads
// it once, as a status document); a caller's 202 is searched for a monitor.
func TestAcceptedOfAPollLeavesTheBody(t *testing.T) {
	const body = `{"status":"running","statusUrl":"/ops/1"}`
	mk := func() *http.Response {
		req := httptest.NewRequest(http.MethodGet, "https://api.test/ops/1", nil)
		return &http.Response{StatusCode: 202, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}
	}
	resp := mk()
	orig := resp.Body
	if a := newAccepted(base{resp: resp}, true); a.Monitor != nil || resp.Body != orig {
		t.Fatalf("poll: monitor %v, body replaced: %v", a.Monitor, resp.Body != orig)
	}
	if a := newAccepted(base{resp: mk()}, false); a.Monitor == nil || a.MonitorFrom != fromBody {
		t.Fatalf("caller's 202: monitor %v from %q, want the body's", a.Monitor, a.MonitorFrom)
	}
}

// A job whose result is itself a 202 naming its monitor in a JSON body:
// the *Accepted that Wait returns has found it, as Send's would (the
// poller's own requests leave 202 bodies unread).
func TestWaitResultIsAnAcceptedWithBodyMonitor(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/jobs":
			w.Header().Set("Location", "/ops/1")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusAccepted)
		case "/ops/1":
			io.WriteString(w, `{"status":"succeeded","resourceLocation":"/next"}`)
		case "/next":
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"statusUrl":"/ops/2"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	acc, ok := out.(*Accepted)
	if !ok {
		t.Fatalf("got %T, want *Accepted", out)
	}
	res, err := acc.Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	next, ok := res.(*Accepted)
	if !ok {
		t.Fatalf("result %T, want *Accepted", res)
	}
	if next.Monitor == nil || next.Monitor.Path != "/ops/2" || next.MonitorFrom != fromBody {
		t.Fatalf("result's monitor %v from %q (%v), want /ops/2 from the body", next.Monitor, next.MonitorFrom, next.MonitorErr)
	}
	if b, _ := io.ReadAll(next.Response().Body); string(b) != `{"statusUrl":"/ops/2"}` {
		t.Fatalf("result body %q", b)
	}
}

// spread adds to a Retry-After a random part of up to as long again, at
// most 1s; never less, never an overflow.
func TestSpread(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, time.Nanosecond, 100 * time.Millisecond, time.Second, 10 * time.Second, time.Hour} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := spread(d)
			if got < d || got > d+min(d, time.Second) {
				t.Fatalf("spread(%v) = %v, want %v to %v", d, got, d, d+min(d, time.Second))
			}
			seen[got] = true
		}
		if d >= 100*time.Millisecond && len(seen) < 100 {
			t.Errorf("spread(%v): %d distinct waits in 200", d, len(seen))
		}
	}
	if got := spread(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("spread(MaxInt64) = %v", got)
	}
}

// The spread never costs a poll the budget allows: a Retry-After of 10s
// under a MaxTime of 10s still polls, at 10s.
func TestAsyncSpreadWithinBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at time.Duration
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/jobs/1")
				w.Header().Set("Retry-After", "10")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			at = time.Since(start)
			io.WriteString(w, "done")
		})
		c := New(WithTransport(handlerTransport{h}))
		req, _ := http.NewRequest(http.MethodPost, "http://api.test/jobs", nil)
		out, _ := c.Send(req)
		res, err := out.(*Accepted).Wait(context.Background(), &PollOptions{MaxTime: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res.Close()
		if at != 10*time.Second {
			t.Fatalf("polled at %v, want 10s", at)
		}
	})
}
