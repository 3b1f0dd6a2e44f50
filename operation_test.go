package semhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The shapes of long-running operations that real APIs send, each served
// by an httptest server speaking that dialect as the Microsoft REST API
// Guidelines, Azure Resource Manager's async rules, Google's AIP-151 and
// GitHub's REST API describe it, and each waited on twice: by a Poller
// built from the first answer, and by a Poller resumed from its token in
// another Client.

// apiServer answers "METHOD /path" with the next step of that route's
// script (the last step repeats) and counts the requests per route.
type apiServer struct {
	t      testing.TB
	url    string
	routes map[string][]http.HandlerFunc

	mu   sync.Mutex
	hits map[string]int
}

func newAPIServer(t testing.TB, routes map[string][]http.HandlerFunc) *apiServer {
	t.Helper()
	s := &apiServer{t: t, routes: routes, hits: map[string]int{}}
	s.url = newServer(t, s).URL
	return s
}

func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	i := s.hits[key] // counted whether routed or not
	s.hits[key]++
	s.mu.Unlock()
	script, ok := s.routes[key]
	if !ok {
		http.Error(w, "no route "+key, http.StatusMethodNotAllowed)
		return
	}
	script[min(i, len(script)-1)](w, r)
}

func (s *apiServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

// send makes the request that starts the operation.
func (s *apiServer) send(c *Client, method, path, body string) Outcome {
	s.t.Helper()
	var req *http.Request
	if body != "" {
		req, _ = NewJSONRequest(context.Background(), method, s.url+path, jsonText(body))
	} else {
		req, _ = http.NewRequest(method, s.url+path, nil)
	}
	out, err := c.Send(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// jsonText is a JSON document that marshals as itself.
type jsonText string

func (j jsonText) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// eachWay runs check on the result of waiting for the operation that
// start's outcome stands for: once through NewPoller, once through a
// Poller resumed in a fresh Client from the token taken before any poll.
// start is called once per way, against a fresh server from setup.
func eachWay(t *testing.T, setup func(t *testing.T) (*apiServer, func(*Client) Outcome),
	check func(t *testing.T, s *apiServer, out Outcome, err error)) {
	for _, way := range []string{"direct", "resumed"} {
		t.Run(way, func(t *testing.T) {
			s, start := setup(t)
			c := newTestClient(t)
			first := start(c)
			p, err := c.NewPoller(first, fastPoll())
			if err != nil {
				t.Fatalf("NewPoller(%T): %v", first, err)
			}
			if way == "resumed" {
				token, err := p.ResumeToken()
				if err != nil {
					t.Fatalf("ResumeToken: %v", err)
				}
				p, err = newTestClient(t).ResumePoller(token, fastPoll())
				if err != nil {
					t.Fatalf("ResumePoller: %v", err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := p.Wait(ctx)
			check(t, s, out, err)
			if out != nil {
				out.Close()
			}
		})
	}
}

func wantBody(t *testing.T, out Outcome, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got := readAll(t, out); got != want {
		t.Fatalf("result %T %q, want %q", out, got, want)
	}
}

// Shape 1 and 3: Microsoft's long-running create — PUT answered 201 with
// Azure-AsyncOperation, the resource reporting provisioningState Creating.
// The status monitor says when; the result is a GET of the resource put.
func TestOperationPut201AzureAsyncOperation(t *testing.T) {
	t.Parallel()
	eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PUT /things/1": {answer(http.StatusCreated, `{"id":"1","properties":{"provisioningState":"Creating"}}`,
				"Azure-AsyncOperation", "/ops/1?api-version=2", "Retry-After", "0")},
			"GET /ops/1": {
				answer(http.StatusOK, `{"id":"1","status":"InProgress"}`),
				answer(http.StatusOK, `{"id":"1","status":"Succeeded"}`),
			},
			"GET /things/1": {answer(http.StatusOK, `{"id":"1","properties":{"provisioningState":"Succeeded"}}`)},
		})
		return s, func(c *Client) Outcome {
			out := s.send(c, http.MethodPut, "/things/1", `{"properties":{}}`)
			if _, ok := out.(*Created); !ok {
				t.Fatalf("PUT: got %T, want *Created (a running create keeps its kind)", out)
			}
			return out
		}
	}, func(t *testing.T, s *apiServer, out Outcome, err error) {
		wantBody(t, out, err, `{"id":"1","properties":{"provisioningState":"Succeeded"}}`)
		if n := s.count("GET /ops/1"); n != 2 {
			t.Errorf("monitor polled %d times, want 2", n)
		}
		if n := s.count("GET /things/1"); n != 1 {
			t.Errorf("resource fetched %d times, want 1", n)
		}
	})
}

// Shape 1: a monitor header on a 200 whose body already says the operation
// ended: nothing to poll.
func TestOperationMonitorOnFinished200(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		state      JobState
	}{
		{"succeeded", `{"properties":{"provisioningState":"Succeeded"}}`, StateSucceeded},
		{"failed", `{"provisioningState":"Failed","error":{"code":"Conflict","message":"name taken"}}`, StateFailed},
		{"AIP-151 done", `{"name":"operations/1","done":true,"response":{"id":1}}`, StateSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"PATCH /things/1": {answer(http.StatusOK, tc.body, "Operation-Location", "/ops/1")},
			})
			c := newTestClient(t)
			p, err := c.NewPoller(s.send(c, http.MethodPatch, "/things/1", `{}`), fastPoll())
			if err != nil || !p.Done() {
				t.Fatalf("NewPoller: done %v, %v; want a done Poller", p != nil && p.Done(), err)
			}
			out, err := p.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			var je *JobError
			switch tc.state {
			case StateSucceeded:
				if got := readAll(t, out); got != tc.body {
					t.Fatalf("result %q", got)
				}
			case StateFailed:
				if !errors.As(out.Err(), &je) || je.Problem() == nil || je.Problem().Detail != "name taken" {
					t.Fatalf("result %T %v, want a *JobError with the body's error", out, out.Err())
				}
			}
			if n := s.count("GET /ops/1"); n != 0 {
				t.Fatalf("monitor polled %d times; the body said the operation ended", n)
			}
		})
	}
}

// The first answer's body is the resource: its own "status" says nothing
// about the operation (azcore reads only provisioningState there), and a
// body cut short is an error, not a finished operation.
func TestOperationFirstBodyIsTheResource(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"properties":{"status":"Failed","provisioningState":"Creating"}}`,
		`{"status":"Completed","properties":{"provisioningState":"Updating"}}`,
		`{"status":"Failed"}`,
	} {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PUT /things/1": {answer(http.StatusCreated, body, "Azure-AsyncOperation", "/ops/1")},
			"GET /ops/1":    {answer(http.StatusOK, `{"status":"Succeeded"}`)},
			"GET /things/1": {answer(http.StatusOK, `{"ok":true}`)},
		})
		c := newTestClient(t)
		p, err := c.NewPoller(s.send(c, http.MethodPut, "/things/1", `{}`), fastPoll())
		if err != nil || p.Done() {
			t.Fatalf("%s: NewPoller done %v, %v; want a running operation", body, p != nil && p.Done(), err)
		}
		out, err := p.Wait(context.Background())
		wantBody(t, out, err, `{"ok":true}`)
	}
	t.Run("cut short", func(t *testing.T) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PUT /things/1": {func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte(`{"provisioningState":"Creat`))
			}},
		})
		c := newTestClient(t)
		out := s.send(c, http.MethodPut, "/things/1", `{}`)
		defer out.Close()
		if p, err := c.NewPoller(out, nil); err == nil {
			t.Fatalf("NewPoller of a body cut short: done %v, no error", p.Done())
		}
	})
	t.Run("stalled body", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PUT /things/1": {func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Operation-Location", "/ops/1")
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(`{"provisioningState":`))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}},
			"GET /ops/1": {answer(http.StatusOK, `{"status":"Running"}`)},
		})
		c := newTestClient(t)
		out := s.send(c, http.MethodPut, "/things/1", `{}`)
		defer out.Close()
		done := make(chan error, 1)
		go func() { _, err := c.NewPoller(out, nil); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("NewPoller is blocked on a body that stalls")
		}
	})
}

// A 201 whose status monitor is refused (userinfo, a downgrade) is not a
// finished operation: NewPoller says why it cannot poll.
func TestOperationRefusedMonitorOn201(t *testing.T) {
	t.Parallel()
	s := newAPIServer(t, map[string][]http.HandlerFunc{
		"PUT /things/1": {answer(http.StatusCreated, `{}`, "Operation-Location", "http://user:pw@127.0.0.1:1/ops/1",
			"Location", "/things/1")},
	})
	c := newTestClient(t)
	out := s.send(c, http.MethodPut, "/things/1", `{}`)
	defer out.Close()
	if _, err := c.NewPoller(out, nil); !errors.Is(err, ErrBadMonitor) || strings.Contains(err.Error(), "pw") {
		t.Fatalf("NewPoller = %v, want ErrBadMonitor without the secret", err)
	}
}

// Shape 2: Azure Resource Manager's PUT answered 200 with no monitor and a
// provisioningState still in progress: the resource's own URL is polled.
func TestOperationProvisioningState(t *testing.T) {
	t.Parallel()
	eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PUT /vms/1": {answer(http.StatusOK, `{"name":"vm1","properties":{"provisioningState":"Updating"}}`)},
			"GET /vms/1": {
				// A resource's "status" describes the resource, not the
				// operation: it is not read.
				answer(http.StatusOK, `{"name":"vm1","status":"Succeeded","properties":{"provisioningState":"Updating"}}`),
				answer(http.StatusOK, `{"name":"vm1","properties":{"provisioningState":"Migrating"}}`),
				answer(http.StatusOK, `{"name":"vm1","properties":{"provisioningState":"Succeeded"}}`),
			},
		})
		return s, func(c *Client) Outcome {
			out := s.send(c, http.MethodPut, "/vms/1", `{}`)
			if a, ok := out.(*OK); !ok {
				t.Fatalf("PUT: got %T", a)
			}
			return out
		}
	}, func(t *testing.T, s *apiServer, out Outcome, err error) {
		wantBody(t, out, err, `{"name":"vm1","properties":{"provisioningState":"Succeeded"}}`)
		if n := s.count("GET /vms/1"); n != 3 {
			t.Errorf("resource polled %d times, want 3", n)
		}
	})
}

func TestOperationProvisioningFailed(t *testing.T) {
	t.Parallel()
	eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"PATCH /dbs/1": {answer(http.StatusCreated, `{"provisioningState":"Accepted"}`)},
			"GET /dbs/1": {answer(http.StatusOK,
				`{"provisioningState":"Failed","error":{"code":"QuotaExceeded","message":"no cores left"}}`)},
		})
		return s, func(c *Client) Outcome { return s.send(c, http.MethodPatch, "/dbs/1", `{}`) }
	}, func(t *testing.T, s *apiServer, out Outcome, err error) {
		if err != nil {
			t.Fatal(err)
		}
		var je *JobError
		if !errors.As(out.Err(), &je) || je.State != StateFailed || je.Status != "Failed" {
			t.Fatalf("got %T %v, want a failed *JobError", out, out.Err())
		}
		if p := je.Problem(); p == nil || p.Title != "QuotaExceeded" || p.Detail != "no cores left" {
			t.Fatalf("problem %+v", je.Problem())
		}
	})
}

// Nothing is running: a PUT answered 200 without a provisioningState (or
// a GET answered 200) gives a Poller that is already done.
func TestOperationNothingRunning(t *testing.T) {
	t.Parallel()
	s := newAPIServer(t, map[string][]http.HandlerFunc{
		"PUT /a":  {answer(http.StatusOK, `{"status":"Running"}`)}, // a VM's own status
		"GET /b":  {answer(http.StatusOK, `{"provisioningState":"Creating"}`)},
		"POST /c": {answer(http.StatusNoContent, "")},
	})
	c := newTestClient(t)
	for _, r := range [][2]string{{"PUT", "/a"}, {"GET", "/b"}, {"POST", "/c"}} {
		out := s.send(c, r[0], r[1], "")
		p, err := c.NewPoller(out, nil)
		if err != nil || !p.Done() {
			t.Fatalf("%v: NewPoller %v, %v; want a done Poller", r, p, err)
		}
		if res, err := p.Result(); err != nil || res != out {
			t.Fatalf("%v: Result %v, %v; want the outcome itself", r, res, err)
		}
		out.Close()
	}
	if n := s.count("GET /a") + s.count("GET /b") + s.count("GET /c"); n != 1 {
		t.Fatalf("%d GETs, want 1 (the first); no operation was running", n)
	}
}

// Shape 3: DELETE. With a Location monitor (Azure's 202 + Location), the
// monitor's 204 ends it; with a status monitor, the status document is the
// result even when the 202 also had a Location: there is nothing to GET.
func TestOperationDelete(t *testing.T) {
	t.Parallel()
	t.Run("Location", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"DELETE /things/1": {answer(http.StatusAccepted, "", "Location", "/ops/d1")},
				"GET /ops/d1":      {answer(http.StatusAccepted, ""), answer(http.StatusNoContent, "")},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodDelete, "/things/1", "") }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := out.(*NoContent); !ok {
				t.Fatalf("result %T, want *NoContent", out)
			}
			if n := s.count("GET /ops/d1"); n != 2 {
				t.Errorf("monitor polled %d times, want 2", n)
			}
		})
	})
	t.Run("Azure-AsyncOperation", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"DELETE /things/1": {answer(http.StatusAccepted, "", "Azure-AsyncOperation", "/ops/d2", "Location", "/things/1/result")},
				"GET /ops/d2":      {answer(http.StatusOK, `{"status":"Deleting"}`), answer(http.StatusOK, `{"status":"Succeeded"}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodDelete, "/things/1", "") }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			wantBody(t, out, err, `{"status":"Succeeded"}`)
			if n := s.count("GET /things/1/result") + s.count("GET /things/1"); n != 0 {
				t.Errorf("%d final GETs after a DELETE", n)
			}
		})
	})
}

// Shape 3: POST. The 202's Location wins over the document's
// resourceLocation; without either the status document is the result.
func TestOperationPostResult(t *testing.T) {
	t.Parallel()
	t.Run("Location first", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /export":   {answer(http.StatusAccepted, "", "Operation-Location", "/ops/p1", "Location", "/exports/1")},
				"GET /ops/p1":    {answer(http.StatusOK, `{"status":"Succeeded","resourceLocation":"/elsewhere"}`)},
				"GET /exports/1": {answer(http.StatusOK, `{"export":1}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/export", `{}`) }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			wantBody(t, out, err, `{"export":1}`)
		})
	})
	t.Run("document", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /analyze": {answer(http.StatusAccepted, "", "Operation-Location", "/ops/p2")},
				"GET /ops/p2":   {answer(http.StatusOK, `{"status":"succeeded","analyzeResult":{"pages":3}}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/analyze", `{}`) }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			wantBody(t, out, err, `{"status":"succeeded","analyzeResult":{"pages":3}}`)
		})
	})
}

// Shape 4: a monitor's 202 naming a new monitor moves polling there.
func TestOperationMonitorMoves(t *testing.T) {
	t.Parallel()
	t.Run("Location", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /jobs":   {answer(http.StatusAccepted, "", "Location", "/queue/1")},
				"GET /queue/1": {answer(http.StatusAccepted, "", "Location", "/jobs/1")},
				"GET /jobs/1":  {answer(http.StatusAccepted, ""), answer(http.StatusOK, `{"done":"yes"}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/jobs", `{}`) }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			wantBody(t, out, err, `{"done":"yes"}`)
			if n := s.count("GET /queue/1"); n != 1 {
				t.Errorf("old monitor polled %d times after it moved, want 1", n)
			}
		})
	})
	t.Run("Operation-Location", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /jobs": {answer(http.StatusAccepted, "", "Operation-Location", "/ops/a")},
				"GET /ops/a": {answer(http.StatusAccepted, `{"status":"Running"}`, "Operation-Location", "/ops/b", "Location", "/not-a-monitor")},
				"GET /ops/b": {answer(http.StatusOK, `{"status":"Succeeded"}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/jobs", `{}`) }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			wantBody(t, out, err, `{"status":"Succeeded"}`)
			if n := s.count("GET /ops/a"); n != 1 {
				t.Errorf("old monitor polled %d times after it moved, want 1", n)
			}
		})
	})
}

// Shape 5: a status monitor must answer a status document.
func TestOperationStrictStatusDocuments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, from string
		answer     http.HandlerFunc
		wantErr    bool
	}{
		{"no status", "Operation-Location", answer(http.StatusOK, `{"id":"1"}`), true},
		{"invalid JSON", "Azure-AsyncOperation", answer(http.StatusOK, `{"status":"Succeeded"`), true},
		{"not JSON", "Operation-Location", answer(http.StatusOK, `done`, "Content-Type", "text/plain"), true},
		{"204", "Operation-Location", answer(http.StatusNoContent, ""), true},
		{"Location's 200 is the result", "Location", answer(http.StatusOK, `{"id":"1"}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /jobs": {answer(http.StatusAccepted, "", tc.from, "/ops/1")},
				"GET /ops/1": {tc.answer},
			})
			c := newTestClient(t)
			out, err := c.NewPoller(s.send(c, http.MethodPost, "/jobs", `{}`), fastPoll())
			if err != nil {
				t.Fatal(err)
			}
			res, err := out.Wait(context.Background())
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				res.Close()
				return
			}
			if !errors.Is(err, ErrMonitorAnswer) {
				t.Fatalf("Wait = %T, %v; want ErrMonitorAnswer", res, err)
			}
		})
	}
}

// Shape 6: GitHub's statistics: a GET answered 202 with no monitor means
// "computing, ask again": the same GET is sent again until it is not 202.
// A POST answered that way has nothing to poll.
func TestOperationGet202WithoutMonitor(t *testing.T) {
	t.Parallel()
	eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"GET /repos/o/r/stats/contributors": {
				answer(http.StatusAccepted, `{}`),
				answer(http.StatusAccepted, `{}`),
				answer(http.StatusOK, `[{"total":135}]`),
			},
		})
		return s, func(c *Client) Outcome {
			out := s.send(c, http.MethodGet, "/repos/o/r/stats/contributors", "")
			if a, ok := out.(*Accepted); !ok || a.Monitor != nil {
				t.Fatalf("got %T, want an *Accepted without a monitor", out)
			}
			return out
		}
	}, func(t *testing.T, s *apiServer, out Outcome, err error) {
		wantBody(t, out, err, `[{"total":135}]`)
		if _, ok := out.(*OK); !ok {
			t.Errorf("result %T, want *OK", out)
		}
		if n := s.count("GET /repos/o/r/stats/contributors"); n != 3 {
			t.Errorf("GET sent %d times, want 3", n)
		}
	})
	t.Run("POST has nothing to poll", func(t *testing.T) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{"POST /x": {answer(http.StatusAccepted, `{}`)}})
		c := newTestClient(t)
		if _, err := c.NewPoller(s.send(c, http.MethodPost, "/x", `{}`), nil); !errors.Is(err, ErrNoMonitor) {
			t.Fatalf("NewPoller = %v, want ErrNoMonitor", err)
		}
	})
}

// Shape 7: AIP-151 operations, where done is the truth.
func TestOperationAIP151(t *testing.T) {
	t.Parallel()
	eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"POST /v1/books:import": {answer(http.StatusAccepted, `{"name":"operations/7","done":false}`, "Location", "/v1/operations/7")},
			"GET /v1/operations/7": {
				answer(http.StatusOK, `{"name":"operations/7","done":false,"metadata":{"state":"RUNNING"}}`),
				// done wins over a metadata state that lags behind.
				answer(http.StatusOK, `{"name":"operations/7","done":true,"metadata":{"state":"RUNNING"},"response":{"imported":12}}`),
			},
		})
		return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/v1/books:import", `{}`) }
	}, func(t *testing.T, s *apiServer, out Outcome, err error) {
		wantBody(t, out, err, `{"imported":12}`)
	})
	// proto3 JSON leaves a false done out: a running operation is a name
	// and metadata.
	t.Run("done left out", func(t *testing.T) {
		for _, from := range []string{"Location", "Operation-Location"} {
			eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
				s := newAPIServer(t, map[string][]http.HandlerFunc{
					"POST /v1/books:import": {answer(http.StatusAccepted, "", from, "/v1/projects/p/operations/9")},
					"GET /v1/projects/p/operations/9": {
						answer(http.StatusOK, `{"name":"projects/p/operations/9","metadata":{"progressPercent":10}}`),
						answer(http.StatusOK, `{"name":"projects/p/operations/9","done":true,"response":{"imported":3}}`),
					},
				})
				return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/v1/books:import", `{}`) }
			}, func(t *testing.T, s *apiServer, out Outcome, err error) {
				wantBody(t, out, err, `{"imported":3}`)
			})
		}
	})
	t.Run("error", func(t *testing.T) {
		eachWay(t, func(t *testing.T) (*apiServer, func(*Client) Outcome) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /v1/books:import": {answer(http.StatusAccepted, "", "Operation-Location", "/v1/operations/8")},
				"GET /v1/operations/8": {answer(http.StatusOK,
					`{"name":"operations/8","done":true,"metadata":{"state":"SUCCEEDED"},"error":{"code":5,"message":"bucket not found"}}`)},
			})
			return s, func(c *Client) Outcome { return s.send(c, http.MethodPost, "/v1/books:import", `{}`) }
		}, func(t *testing.T, s *apiServer, out Outcome, err error) {
			if err != nil {
				t.Fatal(err)
			}
			var je *JobError
			if !errors.As(out.Err(), &je) || je.State != StateFailed {
				t.Fatalf("got %T %v, want a failed *JobError", out, out.Err())
			}
			if p := je.Problem(); p == nil || p.Title != "5" || p.Detail != "bucket not found" {
				t.Fatalf("problem %+v, want code 5 and its message", je.Problem())
			}
		})
	})
}

// Fault: the 202's chunked body stalls; Wait must end with its own
// context, not with the original request's.
func TestOperationWaitObeysItsContextOnAStalled202(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	s := newAPIServer(t, map[string][]http.HandlerFunc{
		"POST /jobs": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/ops/1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"status":`))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}},
		"GET /ops/1": {answer(http.StatusOK, `{}`)},
	})
	c := newTestClient(t)
	a, ok := s.send(c, http.MethodPost, "/jobs", `{}`).(*Accepted)
	if !ok {
		t.Fatal("not a 202")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := a.Wait(ctx, fastPoll())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want its deadline", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("Wait took %v past a 50ms deadline", d)
	}
	// The monitor was in the header: a second Wait polls it.
	if out, err := a.Wait(context.Background(), fastPoll()); err != nil {
		t.Fatalf("second Wait = %v", err)
	} else {
		out.Close()
	}
	// A monitor only the stalled body could name is lost with it: a second
	// Wait says why.
	s2 := newAPIServer(t, map[string][]http.HandlerFunc{
		"POST /jobs": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"statusUrl":`))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}},
	})
	a = s2.send(c, http.MethodPost, "/jobs", `{}`).(*Accepted)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := a.Wait(ctx2, fastPoll()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want its deadline", err)
	}
	if _, err := a.Wait(context.Background(), fastPoll()); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoMonitor) {
		t.Fatalf("second Wait = %v, want ErrNoMonitor with the first one's deadline as the reason", err)
	}
}

// Fault: a monitor answer cut off mid-body is a failed poll, never the
// result; a stall to the deadline is the deadline.
func TestOperationTruncatedMonitorAnswer(t *testing.T) {
	t.Parallel()
	cut := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"status":"runn`))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset
			}
			conn.Close()
		}
	}
	for _, from := range []string{"Location", "Operation-Location"} {
		t.Run(from, func(t *testing.T) {
			s := newAPIServer(t, map[string][]http.HandlerFunc{
				"POST /jobs": {answer(http.StatusAccepted, "", from, "/ops/1")},
				"GET /ops/1": {cut, answer(http.StatusOK, `{"status":"Succeeded","id":1}`)},
			})
			c := newTestClient(t)
			var errs []error
			opts := fastPoll()
			opts.Progress = func(p Progress) { errs = append(errs, p.Err) }
			p, err := c.NewPoller(s.send(c, http.MethodPost, "/jobs", `{}`), opts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Wait(context.Background())
			wantBody(t, out, err, `{"status":"Succeeded","id":1}`)
			if len(errs) != 2 || errs[0] == nil || errs[1] != nil {
				t.Fatalf("poll errors %v, want the cut answer to be a failed poll", errs)
			}
		})
	}
	t.Run("stall", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		s := newAPIServer(t, map[string][]http.HandlerFunc{
			"POST /jobs": {answer(http.StatusAccepted, "", "Location", "/ops/1")},
			"GET /ops/1": {func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte(`{"status":"runn`))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}},
		})
		c := newTestClient(t)
		p, err := c.NewPoller(s.send(c, http.MethodPost, "/jobs", `{}`), fastPoll())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		out, err := p.Wait(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || out != nil {
			t.Fatalf("Wait = %v, %v; want the deadline, no result", out, err)
		}
	})
}

// Fault: a monitor's Retry-After so long that adding it to the elapsed
// time would wrap negative: with no deadline, the poll budget (1h by
// default) ends polling at once instead of a sleep of centuries.
func TestOperationHugeRetryAfter(t *testing.T) {
	t.Parallel()
	s := newAPIServer(t, map[string][]http.HandlerFunc{
		"POST /jobs": {answer(http.StatusAccepted, "", "Location", "/ops/1")},
		"GET /ops/1": {answer(http.StatusAccepted, "", "Retry-After", "99999999999")},
	})
	c := newTestClient(t)
	p, err := c.NewPoller(s.send(c, http.MethodPost, "/jobs", `{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := p.Wait(context.Background()); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPollBudget) {
			t.Fatalf("Wait = %v, want ErrPollBudget", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait is sleeping on a Retry-After of 3,000 years")
	}
}

// Fault: 202s the caller keeps without Wait or Close must not pin their
// connections: the small body is read when the 202 is classified.
func TestOperationKeptAcceptedReleasesItsConnection(t *testing.T) {
	t.Parallel()
	var cc connCounter
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"id":"` + r.URL.Query().Get("n") + `","status":"Running"}`
		w.Header().Set("Operation-Location", "/ops/"+r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(body))
	})
	srv := httptest.NewUnstartedServer(h)
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t)
	var kept []Outcome
	for i := range 50 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs?n="+strconv.Itoa(i), strings.NewReader(`{}`))
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, out) // neither waited on nor closed
	}
	if n := cc.opened.Load(); n != 1 {
		t.Fatalf("50 kept 202s opened %d connections, want 1", n)
	}
	// The body is still whole for a caller who reads it.
	if got := readAll(t, kept[49]); got != `{"id":"49","status":"Running"}` {
		t.Fatalf("kept body %q", got)
	}
}

// The default interpreter's readings by monitor source and method, from
// the rules of Microsoft's guidelines, ARM and AIP-151.
func TestDefaultStatusInterpreterShapes(t *testing.T) {
	t.Parallel()
	mon, _ := url.Parse("https://api.test/ops/1")
	orig, _ := url.Parse("https://api.test/things/1")
	loc, _ := url.Parse("https://api.test/results/1")
	const op, azure = fromOperationLocation, fromAzureAsyncOperation
	for _, tc := range []struct {
		name, from, method string
		code               int
		body               string
		location           *url.URL
		state              JobState
		final              string // "" means the answer (or Result) is the result
		wantErr            bool
	}{
		{"PUT: the resource put", op, "PUT", 200, `{"status":"Succeeded","resourceLocation":"/x"}`, loc, StateSucceeded, orig.String(), false},
		{"PATCH: the resource put", azure, "PATCH", 200, `{"status":"Succeeded"}`, nil, StateSucceeded, orig.String(), false},
		{"POST: the 202's Location first", op, "POST", 200, `{"status":"Succeeded","resourceLocation":"/x"}`, loc, StateSucceeded, loc.String(), false},
		{"POST: else resourceLocation", op, "POST", 200, `{"status":"Succeeded","resourceLocation":"/x"}`, nil, StateSucceeded, "https://api.test/x", false},
		{"POST: else the document", op, "POST", 200, `{"status":"Succeeded","resultUrl":"/not-a-rule"}`, nil, StateSucceeded, "", false},
		{"DELETE: the document", azure, "DELETE", 200, `{"status":"Succeeded","resourceLocation":"/x"}`, loc, StateSucceeded, "", false},
		{"status monitor: unknown word runs", op, "POST", 200, `{"status":"Compacting"}`, nil, StateRunning, "", false},
		{"status monitor: no status", op, "POST", 200, `{"id":"1"}`, nil, 0, "", true},
		{"status monitor: invalid JSON", azure, "POST", 200, `{"status":`, nil, 0, "", true},
		{"status monitor: 204", op, "DELETE", 204, ``, nil, 0, "", true},
		{"status monitor: 404 is gone", op, "POST", 404, ``, nil, StateGone, "", false},
		{"AIP-151: done with error", op, "POST", 200, `{"done":true,"error":{"code":5}}`, nil, StateFailed, "", false},
		{"AIP-151: done false runs", op, "POST", 200, `{"done":false,"metadata":{"state":"SUCCEEDED"}}`, nil, StateRunning, "", false},
		{"resource: in progress", fromResource, "PUT", 200, `{"properties":{"provisioningState":"Creating"}}`, nil, StateRunning, "", false},
		{"resource: its own state runs", fromResource, "PUT", 200, `{"provisioningState":"Migrating"}`, nil, StateRunning, "", false},
		{"resource: status is not read", fromResource, "PUT", 200, `{"status":"Failed","provisioningState":"Succeeded"}`, nil, StateSucceeded, "", false},
		{"resource: none is done", fromResource, "PATCH", 200, `{"name":"x"}`, nil, StateSucceeded, "", false},
		{"resource: canceled", fromResource, "PUT", 200, `{"provisioningState":"Canceled"}`, nil, StateCanceled, "", false},
		{"resource: 202 runs", fromResource, "PUT", 202, `{"provisioningState":"Succeeded"}`, nil, StateRunning, "", false},
		{"request: 202 runs", fromRequest, "GET", 202, `{}`, nil, StateRunning, "", false},
		{"request: 200 is the result", fromRequest, "GET", 200, `{"status":"failed"}`, nil, StateSucceeded, "", false},
		{"request: 404 is the result", fromRequest, "GET", 404, ``, nil, StateSucceeded, "", false},
	} {
		r := PollResponse{StatusCode: tc.code, Header: http.Header{}, Body: []byte(tc.body), URL: mon,
			MonitorFrom: tc.from, Method: tc.method, OriginalURL: orig, Location: tc.location}
		d, err := DefaultStatusInterpreter(r)
		if tc.wantErr {
			if !errors.Is(err, ErrMonitorAnswer) {
				t.Errorf("%s: %v, %v; want ErrMonitorAnswer", tc.name, d.State, err)
			}
			continue
		}
		final := ""
		if d.Final != nil {
			final = d.Final.String()
		}
		if err != nil || d.State != tc.state || final != tc.final {
			t.Errorf("%s: %v final %q, %v; want %v final %q", tc.name, d.State, final, err, tc.state, tc.final)
		}
	}
}

// FuzzJSONString checks jsonString's fast path against the decoder: the
// same string, accepted or refused alike.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"Running"`, `"a\"b"`, `"\u00e9t\u00e9"`, "\"\xff\"", "\"a\tb\"", ` "x" `, `"`, `""`, `12`, `{"href":"/x"}`, `"é"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := jsonString(raw)
		var want string
		wantOK := json.Unmarshal(raw, &want) == nil && bytes.HasPrefix(bytes.Trim(raw, " \t\r\n"), []byte(`"`))
		if ok != wantOK || got != want {
			t.Fatalf("jsonString(%q) = %q, %v; the decoder says %q, %v", raw, got, ok, want, wantOK)
		}
	})
}

// FuzzParseObject holds parseObject's splitter equal to a decode through
// encoding/json (then the same normalization).
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{"status":"Running","percentComplete":40}`, ` { "a" : [1,{"b":"}"}] , "A":null } `,
		`{"x":"\"}","x":2}`, `{"St\u0061tus":"ok","status_":1}`, `{}`, `[]`, `{"a":1,}`, "{\"\xff\":1}", `{"a":{"b":{"c":[]}}}`, `"s"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := parseObject(body)
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil || m == nil {
			if got != nil {
				t.Fatalf("parseObject(%q) = %v; the decoder refuses it", body, got)
			}
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := map[string]json.RawMessage{}
		for _, k := range keys {
			if _, dup := want[normalize(k)]; !dup {
				want[normalize(k)] = m[k]
			}
		}
		if len(got) != len(want) {
			t.Fatalf("parseObject(%q) = %q, want %q", body, got, want)
		}
		for k, v := range want {
			if raw, ok := got.get(k); !ok || !bytes.Equal(raw, v) {
				t.Fatalf("parseObject(%q)[%q] = %q, want %q", body, k, raw, v)
			}
		}
	})
}

// keepBody gives the connection back and the bytes to the caller, also
// for a response built by hand whose length is wrong.
func TestKeepBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxStatusBody+100)
	for _, tc := range []struct {
		name, body string
		length     int64
		err        error
		closed     bool
	}{
		{"exact", `{"a":1}`, 7, nil, true},
		{"empty", ``, 0, nil, true},
		{"short of its length", `{"a"`, 7, io.ErrUnexpectedEOF, true},
		{"longer than it says", `{"a":1}`, 0, nil, true},
		{"far longer than it says", big, 2, nil, false},
	} {
		sb := &stubBody{r: strings.NewReader(tc.body)}
		resp := &http.Response{Body: sb, ContentLength: tc.length}
		keepBody(resp)
		if sb.closed != tc.closed {
			t.Errorf("%s: original closed %v, want %v", tc.name, sb.closed, tc.closed)
		}
		got, err := io.ReadAll(resp.Body)
		if string(got) != tc.body || err != tc.err {
			t.Errorf("%s: replayed %d bytes, %v; want %d, %v", tc.name, len(got), err, len(tc.body), tc.err)
		}
		resp.Body.Close()
		if !sb.closed {
			t.Errorf("%s: Close did not close the original", tc.name)
		}
	}
}

// A status document longer than the 1 MiB read for its status (Azure's
// Document Intelligence answers several): its status is read from its
// first members and the document streams on whole as the result.
func TestOperationLongStatusDocument(t *testing.T) {
	t.Parallel()
	pages := `[` + strings.Repeat(`{"lines":["lorem ipsum dolor sit amet"]},`, 60000) + `{}]`
	long := `{"status":"succeeded","createdDateTime":"2026-12-01T00:00:00Z","analyzeResult":{"pages":` + pages + `}}`
	if len(long) < 2*maxStatusBody {
		t.Fatalf("document of %d bytes, want > 2 MiB", len(long))
	}
	runningLong := `{"status":"running","analyzeResult":{"pages":` + pages + `}}`
	s := newAPIServer(t, map[string][]http.HandlerFunc{
		"POST /analyze": {answer(http.StatusAccepted, "", "Operation-Location", "/ops/1")},
		"GET /ops/1":    {answer(http.StatusOK, runningLong), answer(http.StatusOK, long)},
	})
	c := newTestClient(t)
	p, err := c.NewPoller(s.send(c, http.MethodPost, "/analyze", `{}`), fastPoll())
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Wait(context.Background())
	wantBody(t, out, err, long)
	if n := s.count("GET /ops/1"); n != 2 {
		t.Fatalf("monitor polled %d times, want 2 (a long running document is running)", n)
	}
	// Far inside, the status is not found: an error, not a success.
	late := `{"analyzeResult":{"pages":` + pages + `},"status":"succeeded"}`
	s = newAPIServer(t, map[string][]http.HandlerFunc{
		"POST /analyze": {answer(http.StatusAccepted, "", "Operation-Location", "/ops/1")},
		"GET /ops/1":    {answer(http.StatusOK, late)},
	})
	p, _ = c.NewPoller(s.send(c, http.MethodPost, "/analyze", `{}`), fastPoll())
	if _, err := p.Wait(context.Background()); !errors.Is(err, ErrMonitorAnswer) {
		t.Fatalf("Wait = %v, want ErrMonitorAnswer for a status past the first MiB", err)
	}
}

// FuzzPrefixMembers: what a long document's first bytes give the
// interpreter is a JSON object, or nothing.
func FuzzPrefixMembers(f *testing.F) {
	f.Add([]byte(`{"status":"succeeded","analyzeResult":{"pages":[1,2`))
	f.Add([]byte(`{"a":1,"done":true,"error":{"code":5},"x":"`))
	f.Add([]byte(`[1,2,3`))
	f.Fuzz(func(t *testing.T, prefix []byte) {
		if out := prefixMembers(prefix); out != nil && !json.Valid(out) {
			t.Fatalf("prefixMembers(%q) = %q, not JSON", prefix, out)
		}
	})
}
