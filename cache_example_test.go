package semhttp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/semhttp/semhttp"
)

// A second GET of the same URL is revalidated: the client adds
// If-None-Match, the server answers 304 without a body, and the outcome
// reads as the representation the client stored the first time.
func ExampleNotModified() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(`{"name":"gopher"}`))
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()

	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		out, err := c.Send(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(out.Response().Body) // the same code for both kinds
		switch out.(type) {
		case *semhttp.OK:
			fmt.Println(out.StatusCode(), string(body))
		case *semhttp.NotModified:
			fmt.Println(out.StatusCode(), "from cache:", out.Info().FromCache, string(body))
		}
		out.Close()
	}
	// Output:
	// 200 {"name":"gopher"}
	// 304 from cache: true {"name":"gopher"}
}

// With conditional writes, a PUT carries If-Match with the ETag of the
// last read; if someone changed the resource since, the server refuses
// with 412 instead of losing their update.
func ExampleWithConditionalWrites() {
	etag := `"v1"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			if r.Header.Get("If-Match") != etag {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("ETag", etag)
		io.WriteString(w, "document")
	}))
	defer srv.Close()
	c := semhttp.New(semhttp.WithConditionalWrites())
	defer c.CloseIdleConnections()

	get, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(get)
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(io.Discard, resp.Body) // read to the end: now it is stored
	resp.Body.Close()
	etag = `"v2"` // someone else wrote meanwhile

	put, _ := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader([]byte("mine")))
	out, err := c.Send(put)
	if err != nil {
		fmt.Println(err)
		return
	}
	var pf *semhttp.PreconditionFailed
	fmt.Println("lost update prevented:", errors.As(out.Err(), &pf))
	// Output:
	// lost update prevented: true
}
