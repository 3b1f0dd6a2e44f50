// Package demoapi is a small in-memory REST API used by the semhttp
// examples. It answers with the status codes the seeds recommend for each
// CRUD action: 201 + Location on create, ETag and 304 on read, 409 with
// problem details on a duplicate, 405 + Allow on a wrong method, 204 on
// delete, 410 for a deleted resource, and a few misbehaviours (a transient
// 503, a nonstandard 999) to show what the client does with them.
package demoapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
)

// Widget is the demo resource.
type Widget struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// API is the demo server's state. Its zero value is not usable; call New.
type API struct {
	mu       sync.Mutex
	nextID   int
	widgets  map[int]*Widget
	deleted  map[int]bool
	flaky    map[string]int // path → failures left
	failNext int            // requests left to answer 503
	jobs     map[int]*job
	log      []Exchange
}

type job struct {
	name     string
	polls    int
	widgetID int
}

// Exchange is one request the API answered, as seen on the wire.
type Exchange struct {
	Method      string
	Path        string
	Status      int
	BodyBytes   int64 // response body bytes written
	IfNoneMatch string
}

// New returns an empty API.
func New() *API {
	return &API{nextID: 1, widgets: map[int]*Widget{}, deleted: map[int]bool{}, flaky: map[string]int{},
		jobs: map[int]*job{}}
}

// FailNext makes the next n requests (any route) answer 503 Service
// Unavailable with Retry-After: 0, as an overloaded server would.
func (a *API) FailNext(n int) {
	a.mu.Lock()
	a.failNext = n
	a.mu.Unlock()
}

// Log returns the requests answered so far.
func (a *API) Log() []Exchange {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Exchange(nil), a.log...)
}

type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := a.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		a.mu.Lock()
		fail := a.failNext > 0
		if fail {
			a.failNext--
		}
		a.mu.Unlock()
		if fail {
			io.Copy(io.Discard, r.Body)
			rec.Header().Set("Retry-After", "0")
			problem(rec, http.StatusServiceUnavailable, "Overloaded", "try again")
		} else {
			mux.ServeHTTP(rec, r)
		}
		a.mu.Lock()
		a.log = append(a.log, Exchange{Method: r.Method, Path: r.URL.RequestURI(), Status: rec.status,
			BodyBytes: rec.n, IfNoneMatch: r.Header.Get("If-None-Match")})
		a.mu.Unlock()
	})
}

func (a *API) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widgets", a.list)
	mux.HandleFunc("POST /v1/widgets", func(w http.ResponseWriter, r *http.Request) {
		// The API moved: 308 keeps the method and the body.
		w.Header().Set("Location", "/widgets")
		w.WriteHeader(http.StatusPermanentRedirect)
	})
	mux.HandleFunc("POST /jobs", a.startJob)
	mux.HandleFunc("GET /jobs/{id}", a.pollJob)
	mux.HandleFunc("POST /widgets", a.create)
	mux.HandleFunc("GET /widgets/{id}", a.read)
	mux.HandleFunc("PUT /widgets/{id}", a.update)
	mux.HandleFunc("DELETE /widgets/{id}", a.remove)
	mux.HandleFunc("GET /legacy", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(999) // a status some old gateways invent
		fmt.Fprint(w, "legacy gateway says no")
	})
	mux.HandleFunc("GET /flaky", a.flakyOnce)
	return mux
}

// Start serves a new API on 127.0.0.1 and returns the server; Close it.
func Start() *httptest.Server {
	srv, _ := StartAPI()
	return srv
}

// StartAPI is Start that also returns the API, for tests that inject
// failures or read the log.
func StartAPI() (*httptest.Server, *API) {
	a := New()
	srv := httptest.NewUnstartedServer(a.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv.Listener = ln
	srv.Start()
	return srv, a
}

// list answers GET /widgets?page=N&per_page=M in id order, with a Link
// rel="next" to the following page (RFC 8288) while there is one.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 || per > 100 {
		per = 10
	}
	a.mu.Lock()
	ids := make([]int, 0, len(a.widgets))
	for id := range a.widgets {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	items := []*Widget{}
	for i := (page - 1) * per; i < len(ids) && i < page*per; i++ {
		wd := *a.widgets[ids[i]]
		items = append(items, &wd)
	}
	more := page*per < len(ids)
	a.mu.Unlock()
	if more {
		w.Header().Set("Link", fmt.Sprintf(`</widgets?page=%d&per_page=%d>; rel="next"`, page+1, per))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(items)
}

// startJob accepts POST /jobs {"name":...}: 202 with a monitor in Location.
// The job creates the widget after two polls.
func (a *API) startJob(w http.ResponseWriter, r *http.Request) {
	in, ok := readWidget(w, r, "Invalid job")
	if !ok {
		return
	}
	a.mu.Lock()
	id := len(a.jobs) + 1
	a.jobs[id] = &job{name: in.Name}
	a.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("/jobs/%d", id))
	w.Header().Set("Retry-After", "0")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"id":%d,"status":"queued"}`, id)
}

// pollJob is the monitor: running for two polls, then 303 See Other to the
// widget it made.
func (a *API) pollJob(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("id"))
	a.mu.Lock()
	j := a.jobs[id]
	if j == nil {
		a.mu.Unlock()
		problem(w, http.StatusNotFound, "No such job", "")
		return
	}
	j.polls++
	if j.polls > 2 && j.widgetID == 0 {
		wd := &Widget{ID: a.nextID, Name: j.name, Version: 1}
		a.nextID++
		a.widgets[wd.ID] = wd
		j.widgetID = wd.ID
	}
	polls, widgetID := j.polls, j.widgetID
	a.mu.Unlock()
	if widgetID != 0 {
		w.Header().Set("Location", fmt.Sprintf("/widgets/%d", widgetID))
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.Header().Set("Retry-After", "0")
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%d,"status":"running","percentComplete":%d}`, id, polls*40)
}

func etag(w *Widget) string { return fmt.Sprintf(`"w%d-v%d"`, w.ID, w.Version) }

func problem(w http.ResponseWriter, code int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": title, "status": code, "detail": detail,
	})
}

// readWidget decodes a request body (at most 1 MiB) holding a widget with a
// name, answering 400 with problem details when it does not.
func readWidget(w http.ResponseWriter, r *http.Request, title string) (Widget, bool) {
	var in Widget
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Name == "" {
		problem(w, http.StatusBadRequest, title, "a widget needs a name")
		return in, false
	}
	return in, true
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	in, ok := readWidget(w, r, "Invalid widget")
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.widgets {
		if x.Name == in.Name {
			problem(w, http.StatusConflict, "Duplicate widget",
				fmt.Sprintf("a widget named %q already exists at /widgets/%d", in.Name, x.ID))
			return
		}
	}
	wd := &Widget{ID: a.nextID, Name: in.Name, Version: 1}
	a.nextID++
	a.widgets[wd.ID] = wd
	w.Header().Set("Location", "/widgets/"+strconv.Itoa(wd.ID))
	w.Header().Set("ETag", etag(wd))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(wd)
}

// lookup finds the widget of the request, writing 404/410 when there is none.
func (a *API) lookup(w http.ResponseWriter, r *http.Request) *Widget {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		problem(w, http.StatusNotFound, "Not found", "no such widget")
		return nil
	}
	if wd := a.widgets[id]; wd != nil {
		return wd
	}
	if a.deleted[id] {
		problem(w, http.StatusGone, "Widget deleted", fmt.Sprintf("widget %d was deleted", id))
		return nil
	}
	problem(w, http.StatusNotFound, "Not found", fmt.Sprintf("no widget %d", id))
	return nil
}

func (a *API) read(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	wd := a.lookup(w, r)
	if wd == nil {
		return
	}
	tag := etag(wd)
	w.Header().Set("ETag", tag)
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(wd)
}

func (a *API) update(w http.ResponseWriter, r *http.Request) {
	in, ok := readWidget(w, r, "Invalid widget")
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	wd := a.lookup(w, r)
	if wd == nil {
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && im != etag(wd) {
		problem(w, http.StatusPreconditionFailed, "Stale update", "the widget changed since you read it")
		return
	}
	wd.Name = in.Name
	wd.Version++
	w.Header().Set("ETag", etag(wd))
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	wd := a.lookup(w, r)
	if wd == nil {
		return
	}
	delete(a.widgets, wd.ID)
	a.deleted[wd.ID] = true
	w.WriteHeader(http.StatusNoContent)
}

// flakyOnce answers 503 with a tiny Retry-After the first time each
// ?key= is asked for, then 200.
func (a *API) flakyOnce(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	a.mu.Lock()
	left, seen := a.flaky[key]
	if !seen {
		left = 1
	}
	if left > 0 {
		a.flaky[key] = left - 1
	}
	a.mu.Unlock()
	if left > 0 {
		w.Header().Set("Retry-After", "0")
		problem(w, http.StatusServiceUnavailable, "Warming up", "try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"ready"}`)
}
