// Package workload holds what the benchmarks and the whole-process memory
// programs share: the loopback server's routes and the client set-ups of
// every peer, configured the same way everywhere.
package workload

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Routes of the loopback server.
const (
	PathJSON    = "/widgets/42"           // GET: 200, small JSON
	PathFresh   = "/widgets/42/cacheable" // GET: PathJSON's JSON, max-age=300, an ETag, Vary: Accept-Encoding; 304 to a matching If-None-Match
	PathItems   = "/items"                // POST: 201 + Location, small JSON
	PathBlob    = "/blob"                 // GET ?size=N: 200 with N bytes (Content-Length set)
	PathUpload  = "/upload"               // PUT or POST: body read to the end, 201 + Location
	PathETag    = "/doc"                  // GET: 100 KiB with an ETag; 304 to a matching If-None-Match
	PathNoValid = "/doc-plain"            // GET: the same 100 KiB without validators (never cacheable)
	PathJobs    = "/jobs"                 // POST: 202 + Location /jobs/{id}; GET /jobs/{id}: 202 … 200
	PathStats   = "/_stats"               // GET: the counters as JSON (Stats), for a server in another process
)

// JSONPayload is the body of PathJSON.
const JSONPayload = `{"id":42,"name":"sprocket","tags":["a","b","c"],"active":true}`

// FreshETag is PathFresh's strong validator.
const FreshETag = `"widget-42-v1"`

// FreshMaxAge is PathFresh's Cache-Control: a response a cache may answer
// from storage for five minutes without asking the server.
const FreshMaxAge = "max-age=300"

// CreatedPayload is the body of a 201 from PathItems.
const CreatedPayload = `{"id":42,"name":"sprocket"}`

// RequestPayload is the body clients POST to PathItems.
const RequestPayload = `{"name":"sprocket","tags":["a","b","c"]}`

// DocSize is the size of PathETag's representation.
const DocSize = 100 << 10

// DocETag is PathETag's strong validator.
const DocETag = `"doc-v1"`

// JobPolls is how many GETs of a job's monitor it takes to see it done:
// JobPolls-1 answers of 202 (Retry-After: 0), then 200.
const JobPolls = 3

// Server is the handler of the loopback server, with counters the
// benchmarks read to prove what went over the wire.
type Server struct {
	mux  *http.ServeMux
	blob []byte // 1 MiB pattern written repeatedly for PathBlob
	doc  []byte

	// DocBodyBytes counts body bytes PathETag and PathNoValid sent.
	DocBodyBytes atomic.Int64
	// Conditional counts requests to PathETag that carried If-None-Match.
	Conditional atomic.Int64
	// UploadBytes counts body bytes received by PathUpload.
	UploadBytes atomic.Int64
	// FreshRequests counts requests that reached PathFresh, conditional or
	// not: a cache's fresh hit adds none.
	FreshRequests atomic.Int64

	jobsMu sync.Mutex
	jobs   map[int64]int // id → monitor GETs left before done
	jobID  atomic.Int64
}

// NewServer returns the handler. It allocates 1 MiB + 100 KiB of patterns
// once, so that serving never allocates per byte.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), jobs: make(map[int64]int)}
	s.blob = make([]byte, 1<<20)
	for i := range s.blob {
		s.blob[i] = byte('a' + i%26)
	}
	s.doc = s.blob[:DocSize]
	s.mux.HandleFunc("GET "+PathJSON, s.getJSON)
	s.mux.HandleFunc("GET "+PathFresh, s.getFresh)
	s.mux.HandleFunc("POST "+PathItems, s.postItem)
	s.mux.HandleFunc("GET "+PathBlob, s.getBlob)
	s.mux.HandleFunc("PUT "+PathUpload, s.upload)
	s.mux.HandleFunc("POST "+PathUpload, s.upload)
	s.mux.HandleFunc("GET "+PathETag, s.getDoc)
	s.mux.HandleFunc("GET "+PathNoValid, s.getDoc)
	s.mux.HandleFunc("POST "+PathJobs, s.postJob)
	s.mux.HandleFunc("GET "+PathJobs+"/{id}", s.getJob)
	s.mux.HandleFunc("GET "+PathStats, s.getStats)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) getJSON(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	io.WriteString(w, JSONPayload)
}

// getFresh serves JSONPayload as a response any cache may reuse for five
// minutes (max-age=300), with an ETag so that it can be revalidated after.
//
// It also says Vary: Accept-Encoding, as JSON APIs commonly do. The
// benchmark's peer needs it: bartventer/httpcache v0.9.0 stores a response
// without Vary under the same key as its list of the URL's variants, which
// overwrites it, so that without a Vary it never answers from storage.
func (s *Server) getFresh(w http.ResponseWriter, r *http.Request) {
	s.FreshRequests.Add(1)
	h := w.Header()
	h["Cache-Control"] = []string{FreshMaxAge}
	h["Etag"] = []string{FreshETag}
	h["Vary"] = []string{"Accept-Encoding"}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, FreshETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = []string{"application/json"}
	io.WriteString(w, JSONPayload)
}

func (s *Server) postItem(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Location"] = []string{"/items/42"}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, CreatedPayload)
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "size: want a byte count", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/octet-stream"}
	h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	for n > 0 {
		chunk := s.blob
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		n -= int64(len(chunk))
	}
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	s.UploadBytes.Add(n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Location"] = []string{"/files/1"}
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"size":%d}`, n)
}

func (s *Server) getDoc(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.URL.Path == PathETag {
		h["Etag"] = []string{DocETag}
		h["Cache-Control"] = []string{"no-cache"} // always revalidate
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			s.Conditional.Add(1)
			if etagMatch(inm, DocETag) {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	h["Content-Type"] = []string{"application/octet-stream"}
	h["Content-Length"] = []string{strconv.Itoa(len(s.doc))}
	// Counted before writing: the client may have read the body before a
	// count taken after Write would land.
	s.DocBodyBytes.Add(int64(len(s.doc)))
	w.Write(s.doc)
}

// etagMatch is If-None-Match's weak comparison (RFC 9110 §13.1.2), enough
// for this server's one validator.
func etagMatch(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

func (s *Server) postJob(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	id := s.jobID.Add(1)
	s.jobsMu.Lock()
	s.jobs[id] = JobPolls
	s.jobsMu.Unlock()
	h := w.Header()
	h["Location"] = []string{PathJobs + "/" + strconv.FormatInt(id, 10)}
	h["Retry-After"] = []string{"0"}
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"running"}`)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	s.jobsMu.Lock()
	left, ok := s.jobs[id]
	if ok {
		left--
		if left <= 0 {
			delete(s.jobs, id)
		} else {
			s.jobs[id] = left
		}
	}
	s.jobsMu.Unlock()
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	switch {
	case !ok:
		http.NotFound(w, r)
	case left > 0:
		h["Retry-After"] = []string{"0"}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"running"}`)
	default:
		io.WriteString(w, `{"status":"succeeded","result":{"id":42}}`)
	}
}

// JobsPending reports how many jobs have not been polled to completion.
func (s *Server) JobsPending() int {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	return len(s.jobs)
}

// Stats is a snapshot of the server's counters, as PathStats serves them.
type Stats struct {
	DocBodyBytes int64 `json:"doc_body_bytes"`
	Conditional  int64 `json:"conditional"`
	UploadBytes  int64 `json:"upload_bytes"`
	JobsPending  int   `json:"jobs_pending"`
	// FreshRequests counts requests to PathFresh.
	FreshRequests int64 `json:"fresh_requests"`
}

// Stats returns the counters now.
func (s *Server) Stats() Stats {
	return Stats{
		DocBodyBytes:  s.DocBodyBytes.Load(),
		Conditional:   s.Conditional.Load(),
		UploadBytes:   s.UploadBytes.Load(),
		JobsPending:   s.JobsPending(),
		FreshRequests: s.FreshRequests.Load(),
	}
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = []string{"application/json"}
	json.NewEncoder(w).Encode(s.Stats())
}
