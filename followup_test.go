package semhttp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Requests the library makes on the caller's behalf — polls, next pages,
// downloads — keep the client's default credentials at home, skip the
// cache, and do not touch the caller's CaptureOutcome.

func TestFollowUpsKeepDefaultCredentialsHome(t *testing.T) {
	var leaked atomic.Int64
	other := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
			leaked.Add(1)
		}
		switch r.URL.Path {
		case "/op":
			io.WriteString(w, `{"status":"succeeded"}`)
		default:
			io.WriteString(w, `[2]`)
		}
	}))
	var home atomic.Int64
	api := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer client-secret" && r.Header.Get("X-Api-Key") == "k" {
			home.Add(1)
		}
		switch r.URL.Path {
		case "/jobs":
			w.Header().Set("Operation-Location", other.URL+"/op")
			w.WriteHeader(http.StatusAccepted)
		case "/list":
			w.Header().Set("Link", "<"+other.URL+"/list?page=2>; rel=\"next\"")
			io.WriteString(w, `[1]`)
		}
	}))
	c := newTestClient(t, WithHeader("Authorization", "Bearer client-secret"), WithHeader("X-Api-Key", "k"),
		WithCredentialHeaders("X-Api-Key"))
	req, _ := http.NewRequest(http.MethodPost, api.URL+"/jobs", nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, api.URL+"/list", nil)
	pages := 0
	for _, err := range c.LinkPages(req) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
	}
	if pages != 2 || home.Load() != 2 || leaked.Load() != 0 {
		t.Fatalf("pages %d, credentials at home %d, leaked to the other origin %d", pages, home.Load(), leaked.Load())
	}
}

func TestFollowUpsBypassTheCache(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"same"`)
		if r.Header.Get("If-None-Match") == `"same"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		switch r.URL.Path {
		case "/jobs":
			w.Header().Del("ETag")
			w.Header().Set("Location", "/jobs/1")
			w.WriteHeader(http.StatusAccepted)
		case "/jobs/1":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"succeeded"}`)
		case "/list":
			if r.URL.Query().Get("page") == "" {
				w.Header().Set("Link", `</list?page=2>; rel="next"`)
			}
			io.WriteString(w, "page")
		}
	}))
	c := newTestClient(t)
	for i := 0; i < 2; i++ { // the second job poller and the second pass used to see 304s
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		res, err := out.(*Accepted).Wait(context.Background(), &PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxPolls: 3})
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		res.Close()
		req, _ = http.NewRequest(http.MethodGet, srv.URL+"/list", nil)
		pages := 0
		for page, err := range c.LinkPages(req) {
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(page.Response().Body); string(b) != "page" {
				t.Fatalf("pass %d: page %d is %T with body %q", i, pages, page, b)
			}
			pages++
		}
		if pages != 2 {
			t.Fatalf("pass %d: %d pages", i, pages)
		}
	}
}

func TestFollowUpsLeaveCaptureAlone(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Unix(1e9, 0), strings.NewReader(strings.Repeat("x", 3<<20)))
	}))
	c := newTestClient(t)
	var out Outcome
	ctx := WithRequestOptions(context.Background(), RequestOptions{Outcome: &out})
	var dst memWriterAt
	if _, err := c.Download(ctx, srv.URL, &dst, &DownloadOptions{Segments: 3}); err != nil {
		t.Fatal(err)
	}
	if out != nil {
		t.Fatalf("Download wrote %T into the caller's capture", out)
	}
}
