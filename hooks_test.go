package semhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookRecorder is a Hooks observer that records every call and every request
// its transport saw, with the call each request ran in.
type hookRecorder struct {
	mu    sync.Mutex
	calls []*recordedCall
}

type recordedCall struct {
	op, url string
	parent  *recordedCall // the call in whose context this one started
	sent    []string      // METHOD path of each request on the wire
	ended   int
	status  int
	info    Info
	out     Outcome
	err     error
}

type callKey struct{}

func (r *hookRecorder) hooks() Hooks {
	return Hooks{
		Call: func(ctx context.Context, op string, req *http.Request) (context.Context, func(*http.Response, Info, Outcome, error)) {
			rc := &recordedCall{op: op, url: req.URL.String()}
			rc.parent, _ = ctx.Value(callKey{}).(*recordedCall)
			r.mu.Lock()
			r.calls = append(r.calls, rc)
			r.mu.Unlock()
			return context.WithValue(ctx, callKey{}, rc), func(resp *http.Response, info Info, out Outcome, err error) {
				r.mu.Lock()
				defer r.mu.Unlock()
				rc.ended++
				if resp != nil {
					rc.status = resp.StatusCode
				}
				rc.info, rc.out, rc.err = info, out, err
			}
		},
		Transport: func(base http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				rc, _ := req.Context().Value(callKey{}).(*recordedCall)
				r.mu.Lock()
				if rc != nil {
					rc.sent = append(rc.sent, req.Method+" "+req.URL.Path)
				}
				r.mu.Unlock()
				if rc == nil {
					return nil, errors.New("a request outside any call")
				}
				return base.RoundTrip(req)
			})
		},
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// A call answered 503, then 307, then 200 is one call whose context every
// attempt and hop carries: three requests on the wire under it, and its
// end sees the 200 and how it was reached.
func TestHooksCallSeesEveryAttemptAndHop(t *testing.T) {
	var n atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			http.Redirect(w, r, "/there", http.StatusTemporaryRedirect)
		default:
			io.WriteString(w, "ok")
		}
	}))
	rec := &hookRecorder{}
	c := New(WithHooks(rec.hooks()), WithCache(nil), WithRetryPolicy(RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	defer c.CloseIdleConnections()
	out, err := c.Send(mustRequest(t, http.MethodGet, srv.URL+"/here"))
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if len(rec.calls) != 1 {
		t.Fatalf("%d calls, want 1", len(rec.calls))
	}
	rc := rec.calls[0]
	if rc.op != "send" || rc.ended != 1 || rc.status != 200 || rc.out != out || rc.err != nil {
		t.Fatalf("call %+v", rc)
	}
	if got := strings.Join(rc.sent, ", "); got != "GET /here, GET /here, GET /there" {
		t.Fatalf("requests under the call: %s", got)
	}
	if rc.info.TotalAttempts != 3 || len(rc.info.Hops) != 1 {
		t.Fatalf("info %+v", rc.info)
	}
}

// Do's calls are "do"; a failed call ends with its error; a fresh cache
// hit is a call that sends nothing.
func TestHooksDoErrorAndFreshHit(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "ok")
	}))
	rec := &hookRecorder{}
	c := New(WithHooks(rec.hooks()), WithRetryPolicy(RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	defer c.CloseIdleConnections()
	for range 2 {
		resp, err := c.Do(mustRequest(t, http.MethodGet, srv.URL+"/doc"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_, err := c.Do(mustRequest(t, http.MethodGet, "http://127.0.0.1:1/refused"))
	if err == nil {
		t.Fatal("no error from a refused connection")
	}
	if len(rec.calls) != 3 {
		t.Fatalf("%d calls, want 3", len(rec.calls))
	}
	miss, hit, failed := rec.calls[0], rec.calls[1], rec.calls[2]
	if miss.op != "do" || len(miss.sent) != 1 || miss.info.FromCache || miss.out != nil {
		t.Fatalf("first call %+v", miss)
	}
	if len(hit.sent) != 0 || !hit.info.FromCache || hit.status != 200 || hit.ended != 1 {
		t.Fatalf("fresh hit %+v", hit)
	}
	var rerr *RequestError
	if failed.ended != 1 || !errors.As(failed.err, &rerr) || failed.status != 0 || len(failed.sent) == 0 {
		t.Fatalf("failed call %+v", failed)
	}
	// A failed call's info tells of the requests sent for it.
	if failed.info.TotalAttempts != len(failed.sent) || failed.info.Attempts != rerr.Attempts {
		t.Fatalf("failed call's info %+v after %d requests", failed.info, len(failed.sent))
	}
}

// A job's Wait is one "wait" call with each poll a "poll" call inside it.
func TestHooksWaitHoldsItsPolls(t *testing.T) {
	var polls atomic.Int64
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jobs":
			w.Header().Set("Location", "/jobs/1")
			w.WriteHeader(http.StatusAccepted)
		case "/jobs/1":
			if polls.Add(1) < 3 {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			io.WriteString(w, `{"done":true}`)
		}
	}))
	rec := &hookRecorder{}
	c := New(WithHooks(rec.hooks()))
	defer c.CloseIdleConnections()
	out, err := c.Send(mustRequest(t, http.MethodPost, srv.URL+"/jobs"))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := out.(*Accepted)
	if !ok {
		t.Fatalf("%T", out)
	}
	res, err := a.Wait(context.Background(), fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	var ops []string
	for _, rc := range rec.calls {
		ops = append(ops, rc.op)
	}
	if got := strings.Join(ops, " "); got != "send wait poll poll poll" {
		t.Fatalf("calls: %s", got)
	}
	wait := rec.calls[1]
	if wait.url != srv.URL+"/jobs/1" || wait.ended != 1 || wait.out != res || len(wait.sent) != 0 {
		t.Fatalf("wait call %+v", wait)
	}
	for _, rc := range rec.calls[2:] {
		if rc.parent != wait || len(rc.sent) != 1 || rc.ended != 1 {
			t.Fatalf("poll call %+v, parent %p, want %p", rc, rc.parent, wait)
		}
	}
}

// Without hooks nothing changes, and a Transport hook returning nil is a
// configuration error every call reports.
func TestHooksNilTransportIsAnError(t *testing.T) {
	c := New(WithHooks(Hooks{Transport: func(http.RoundTripper) http.RoundTripper { return nil }}))
	_, err := c.Send(mustRequest(t, http.MethodGet, "http://127.0.0.1:1/"))
	if err == nil || !strings.Contains(err.Error(), "Hooks.Transport") {
		t.Fatalf("err = %v", err)
	}
}

// With WithBaseURL, a call of a relative request is seen by its absolute
// URL, the one it is sent to.
func TestHooksCallSeesTheResolvedURL(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	rec := &hookRecorder{}
	c := New(WithHooks(rec.hooks()), WithBaseURL(srv.URL+"/api/"))
	defer c.CloseIdleConnections()
	req := mustRequest(t, http.MethodGet, "users/1")
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if req.URL.IsAbs() {
		t.Fatal("the caller's request was changed")
	}
	if len(rec.calls) != 1 || rec.calls[0].url != srv.URL+"/api/users/1" {
		t.Fatalf("calls %+v", rec.calls)
	}
	if got := strings.Join(rec.calls[0].sent, ", "); got != "GET /api/users/1" {
		t.Fatalf("requests under the call: %s", got)
	}
}

// A GET that Do revalidated (a 304 to the client's validators, answered
// with the stored 200) ends with Info.FromCache, as through Send.
func TestHooksDoRevalidatedIsFromCache(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "ok")
	}))
	rec := &hookRecorder{}
	c := New(WithHooks(rec.hooks()))
	defer c.CloseIdleConnections()
	for range 2 {
		resp, err := c.Do(mustRequest(t, http.MethodGet, srv.URL+"/doc"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if len(rec.calls) != 2 {
		t.Fatalf("%d calls", len(rec.calls))
	}
	if rc := rec.calls[1]; rc.status != http.StatusOK || !rc.info.FromCache || len(rc.sent) != 1 {
		t.Fatalf("revalidated call %+v", rc)
	}
}

// A stale-while-revalidate refresh is a "refresh" call, in the context of
// the call that served the stale response.
func TestHooksRefreshIsItsOwnOp(t *testing.T) {
	o := newOrigin(t, 200, "v1", "Cache-Control", "max-age=60, stale-while-revalidate=600", "ETag", `"1"`)
	rec := &hookRecorder{}
	c, k := newClockClient(t, WithHooks(rec.hooks()))
	fetch(t, c, o.srv.URL)
	k.set(120 * time.Second)
	fetch(t, c, o.srv.URL)
	c.refreshing.wg.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var ops []string
	for _, rc := range rec.calls {
		ops = append(ops, rc.op)
	}
	if got := strings.Join(ops, " "); got != "send send refresh" {
		t.Fatalf("calls: %s", got)
	}
	if r := rec.calls[2]; r.parent != rec.calls[1] || len(r.sent) != 1 || r.ended != 1 {
		t.Fatalf("refresh %+v, parent %p, want %p", r, r.parent, rec.calls[1])
	}
}
