package semhttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/semhttp/semhttp"
)

// exampleServer is a tiny API for the examples: POST /users creates, GET
// /users/1 reads, anything else is 404 with problem details.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/users":
			w.Header().Set("Location", "/users/1")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet && r.URL.Path == "/users/1":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":1,"name":"Ada"}`)
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"No such user","detail":"user 2 does not exist"}`)
		}
	}))
}

// Send returns what the response means; a 404 is an outcome, not an error.
func ExampleClient_Send() {
	srv := exampleServer()
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/users", strings.NewReader(`{"name":"Ada"}`))
	out, err := c.Send(req)
	if err != nil {
		fmt.Println("no response:", err)
		return
	}
	defer out.Close()
	created := out.(*semhttp.Created)
	fmt.Println(out.StatusCode(), strings.TrimPrefix(created.Location.String(), srv.URL))
	// Output: 201 /users/1
}

// A type switch over the outcome kinds handles each meaning in one place.
func ExampleOutcome() {
	srv := exampleServer()
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()

	for _, path := range []string{"/users/1", "/users/2"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		out, err := c.Send(req)
		if err != nil {
			fmt.Println("no response:", err)
			continue
		}
		switch o := out.(type) {
		case *semhttp.OK:
			body, _ := io.ReadAll(o.Response().Body)
			fmt.Println("found:", string(body))
		case *semhttp.NotFound:
			fmt.Println("not found:", o.Problem().Detail)
		default:
			fmt.Println("unexpected", o.StatusCode())
		}
		out.Close()
	}
	// Output:
	// found: {"id":1,"name":"Ada"}
	// not found: user 2 does not exist
}

// Decode turns a success into a value and anything else into an error that
// errors.As can inspect.
func ExampleDecode() {
	srv := exampleServer()
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()

	type User struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/1", nil)
	user, err := semhttp.Decode[User](c.Send(req))
	fmt.Println(user.Name, err)

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/users/2", nil)
	_, err = semhttp.Decode[User](c.Send(req))
	var nf *semhttp.NotFound
	fmt.Println(errors.As(err, &nf), nf.Problem().Title)
	// Output:
	// Ada <nil>
	// true No such user
}
