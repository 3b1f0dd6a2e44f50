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
	"net"
	"net/http"
	"net/http/httptest"
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
	mu      sync.Mutex
	nextID  int
	widgets map[int]*Widget
	deleted map[int]bool
	flaky   map[string]int // path → failures left
}

// New returns an empty API.
func New() *API {
	return &API{nextID: 1, widgets: map[int]*Widget{}, deleted: map[int]bool{}, flaky: map[string]int{}}
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
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

// Start serves the API on 127.0.0.1 and returns the server; Close it.
func Start() *httptest.Server {
	srv := httptest.NewUnstartedServer(New().Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv.Listener = ln
	srv.Start()
	return srv
}

func etag(w *Widget) string { return fmt.Sprintf(`"w%d-v%d"`, w.ID, w.Version) }

func problem(w http.ResponseWriter, code int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": title, "status": code, "detail": detail,
	})
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var in Widget
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Name == "" {
		problem(w, http.StatusBadRequest, "Invalid widget", "a widget needs a name")
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
	var in Widget
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Name == "" {
		problem(w, http.StatusBadRequest, "Invalid widget", "a widget needs a name")
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
