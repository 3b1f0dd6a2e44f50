package semhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Compile-time proof that *Client is the doer generated clients want. The
// interfaces are declared here as the generators declare them, so no
// generator is needed.
type (
	// oapiHTTPRequestDoer is oapi-codegen's HttpRequestDoer.
	oapiHTTPRequestDoer interface {
		Do(req *http.Request) (*http.Response, error)
	}
	// ogenHTClient is ogen's ht.Client.
	ogenHTClient interface {
		Do(r *http.Request) (*http.Response, error)
	}
)

var (
	_ oapiHTTPRequestDoer = (*Client)(nil)
	_ ogenHTClient        = (*Client)(nil)
)

// statusHandler answers /{code} with that code and the headers a real
// server would send for it.
func statusHandler(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(strings.Trim(r.URL.Path, "/"))
	if err != nil {
		http.Error(w, "bad code", http.StatusTeapot)
		return
	}
	h := w.Header()
	switch code {
	case 201:
		h.Set("Location", "/things/42")
	case 202, 429, 503:
		h.Set("Retry-After", "7")
	case 401:
		h.Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token"`)
	case 405:
		h.Set("Allow", "GET, HEAD")
	case 416:
		h.Set("Content-Range", "bytes */1234")
	case 300:
		h.Set("Location", "/choices/json")
		h.Add("Link", `</choices/json>; rel="alternate"; type="application/json", </choices/xml>; rel="alternate"`)
		h.Add("Link", `</help>; rel="help"`)
	case 206:
		h.Set("Content-Range", "bytes 0-4/10")
		h.Set("Content-Length", "5")
		w.WriteHeader(code)
		io.WriteString(w, "hello")
		return
	case 409:
		h.Set("Content-Type", "application/problem+json")
		w.WriteHeader(code)
		io.WriteString(w, `{"type":"/probs/dup","title":"Duplicate","status":409,"detail":"name taken","name":"x"}`)
		return
	}
	w.WriteHeader(code)
	if code != 204 && code != 205 && code != 304 {
		fmt.Fprintf(w, "body of %d", code)
	}
}

// TestClassifyEveryStatus serves every status named in DESIGN.md's outcome
// table, plus unlisted and nonstandard codes, and checks the kind and the
// fields it carries.
// statusRequest asks statusHandler for code. Each request carries
// credentials of its own: the Retry-After of a 429 or 503 holds off the
// origin for those credentials only (the Client's gate), not for the
// codes asked next.
func statusRequest(base string, code int) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, base+"/"+strconv.Itoa(code), nil)
	req.Header.Set("Authorization", "Bearer status-"+strconv.Itoa(code))
	return req
}

func TestClassifyEveryStatus(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(statusHandler))
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))

	tests := []struct {
		code    int
		kind    string
		failure bool
		check   func(t *testing.T, o Outcome)
	}{
		{200, "*semhttp.OK", false, nil},
		{203, "*semhttp.OK", false, nil},
		{299, "*semhttp.OK", false, nil},
		{201, "*semhttp.Created", false, func(t *testing.T, o Outcome) {
			cr := o.(*Created)
			if want := srv.URL + "/things/42"; cr.Location == nil || cr.Location.String() != want || cr.LocationAssumed {
				t.Errorf("Location = %v (assumed %v), want %s", cr.Location, cr.LocationAssumed, want)
			}
		}},
		{202, "*semhttp.Accepted", false, func(t *testing.T, o Outcome) {
			if ra := o.(*Accepted).RetryAfter; ra != 7*time.Second {
				t.Errorf("RetryAfter = %v", ra)
			}
		}},
		{204, "*semhttp.NoContent", false, func(t *testing.T, o Outcome) {
			if o.(*NoContent).Reset {
				t.Error("204 reported as reset")
			}
		}},
		{205, "*semhttp.NoContent", false, func(t *testing.T, o Outcome) {
			if !o.(*NoContent).Reset {
				t.Error("205 not reported as reset")
			}
		}},
		{206, "*semhttp.PartialContent", false, nil},
		{300, "*semhttp.MultipleChoices", false, func(t *testing.T, o Outcome) {
			mc := o.(*MultipleChoices)
			if mc.Location == nil || mc.Location.String() != srv.URL+"/choices/json" {
				t.Errorf("Location = %v", mc.Location)
			}
			if len(mc.Alternatives) != 2 || mc.Alternatives[0].String() != srv.URL+"/choices/json" ||
				mc.Alternatives[1].String() != srv.URL+"/choices/xml" {
				t.Errorf("Alternatives = %v", mc.Alternatives)
			}
		}},
		{399, "*semhttp.MultipleChoices", false, nil},
		{301, "*semhttp.Redirect", false, func(t *testing.T, o Outcome) {
			r := o.(*Redirect)
			if !r.Permanent || r.MethodKept || r.Location != nil {
				t.Errorf("301: %+v", r)
			}
		}},
		{302, "*semhttp.Redirect", false, nil},
		{303, "*semhttp.Redirect", false, nil},
		{307, "*semhttp.Redirect", false, func(t *testing.T, o Outcome) {
			if r := o.(*Redirect); r.Permanent || !r.MethodKept {
				t.Errorf("307: %+v", r)
			}
		}},
		{308, "*semhttp.Redirect", false, func(t *testing.T, o Outcome) {
			if r := o.(*Redirect); !r.Permanent || !r.MethodKept {
				t.Errorf("308: %+v", r)
			}
		}},
		{304, "*semhttp.NotModified", false, nil},
		{400, "*semhttp.BadRequest", true, nil},
		{401, "*semhttp.Unauthorized", true, func(t *testing.T, o Outcome) {
			ch := o.(*Unauthorized).Challenges
			if len(ch) != 1 || !ch[0].HasScheme("bearer") || ch[0].Param("realm") != "api" || ch[0].Param("error") != "invalid_token" {
				t.Errorf("Challenges = %+v", ch)
			}
		}},
		{403, "*semhttp.Forbidden", true, nil},
		{404, "*semhttp.NotFound", true, nil},
		{405, "*semhttp.MethodNotAllowed", true, func(t *testing.T, o Outcome) {
			if a := o.(*MethodNotAllowed).Allow; len(a) != 2 || a[0] != "GET" || a[1] != "HEAD" {
				t.Errorf("Allow = %q", a)
			}
		}},
		{406, "*semhttp.NotAcceptable", true, nil},
		{409, "*semhttp.Conflict", true, func(t *testing.T, o Outcome) {
			p := o.(*Conflict).Problem()
			if p == nil || p.Title != "Duplicate" || p.Detail != "name taken" || p.Status != 409 ||
				p.Type != srv.URL+"/probs/dup" {
				t.Fatalf("problem = %+v", p)
			}
			var name string
			if !p.Extension("name", &name) || name != "x" {
				t.Errorf("extension name = %q", name)
			}
		}},
		{410, "*semhttp.Gone", true, nil},
		{412, "*semhttp.PreconditionFailed", true, nil},
		{414, "*semhttp.URITooLong", true, nil},
		{416, "*semhttp.RangeNotSatisfiable", true, nil},
		{418, "*semhttp.ClientError", true, nil},
		{428, "*semhttp.PreconditionRequired", true, nil},
		{429, "*semhttp.TooManyRequests", true, func(t *testing.T, o Outcome) {
			if ra := o.(*TooManyRequests).RetryAfter; ra != 7*time.Second {
				t.Errorf("RetryAfter = %v", ra)
			}
		}},
		{499, "*semhttp.ClientError", true, nil},
		{500, "*semhttp.ServerError", true, nil},
		{501, "*semhttp.NotImplemented", true, nil},
		{502, "*semhttp.ServerError", true, nil},
		{503, "*semhttp.ServiceUnavailable", true, func(t *testing.T, o Outcome) {
			if ra := o.(*ServiceUnavailable).RetryAfter; ra != 7*time.Second {
				t.Errorf("RetryAfter = %v", ra)
			}
		}},
		{504, "*semhttp.ServerError", true, nil},
		{599, "*semhttp.ServerError", true, nil},
		{600, "*semhttp.Nonstandard", true, nil},
		{799, "*semhttp.Nonstandard", true, nil},
		{999, "*semhttp.Nonstandard", true, func(t *testing.T, o Outcome) {
			ns := o.(*Nonstandard)
			if ns.Code != 999 || ns.Reason != "status code 999" {
				t.Errorf("Nonstandard = %d %q", ns.Code, ns.Reason)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			out, err := c.Send(statusRequest(srv.URL, tt.code))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if got := fmt.Sprintf("%T", out); got != tt.kind {
				t.Fatalf("kind = %s, want %s", got, tt.kind)
			}
			if out.StatusCode() != tt.code {
				t.Errorf("StatusCode = %d", out.StatusCode())
			}
			if info := out.Info(); info.Attempts != 1 {
				t.Errorf("Attempts = %d, want 1", info.Attempts)
			}
			assertClass(t, out, tt.failure)
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// assertClass checks Err and the class errors a failure unwraps to.
func assertClass(t *testing.T, out Outcome, failure bool) {
	t.Helper()
	err := out.Err()
	if !failure {
		if err != nil {
			t.Fatalf("success kind has Err %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("failure kind has nil Err")
	}
	if err != out.(error) {
		t.Errorf("Err() is not the outcome itself")
	}
	code := out.StatusCode()
	var ce *ClientError
	var se *ServerError
	isClient, isServer := errors.As(err, &ce), errors.As(err, &se)
	switch {
	case code >= 400 && code < 500:
		if !isClient || isServer {
			t.Errorf("%d: errors.As ClientError=%v ServerError=%v", code, isClient, isServer)
		}
	default: // 5xx and nonstandard are handled as server errors
		if isClient || !isServer {
			t.Errorf("%d: errors.As ClientError=%v ServerError=%v", code, isClient, isServer)
		}
	}
	if !strings.Contains(err.Error(), strconv.Itoa(code)) {
		t.Errorf("error text %q lacks the code", err.Error())
	}
}

// rawServer answers every connection with the given bytes, then closes it:
// Go's own server refuses to write codes like 099 or 000.
func rawServer(t *testing.T, response string) string {
	t.Helper()
	return newFaultServer(t, func(conn net.Conn, _ *http.Request) { io.WriteString(conn, response) }).URL()
}

func TestClassifyRawStatusLines(t *testing.T) {
	tests := []struct {
		line    string
		kind    string
		code    int
		wantErr error
	}{
		{"HTTP/1.1 099 Odd", "*semhttp.Nonstandard", 99, nil},
		{"HTTP/1.1 000 Zero", "*semhttp.Nonstandard", 0, nil},
		{"HTTP/1.1 001 One", "*semhttp.Nonstandard", 1, nil},
		{"HTTP/1.1 999 Foo", "*semhttp.Nonstandard", 999, nil},
		{"HTTP/1.1 600", "*semhttp.Nonstandard", 600, nil},
		{"HTTP/1.1 101 Switching Protocols", "*semhttp.Informational", 101, nil},
	}
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			u := rawServer(t, tt.line+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			req, _ := http.NewRequest(http.MethodGet, u+"/", nil)
			out, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if got := fmt.Sprintf("%T", out); got != tt.kind || out.StatusCode() != tt.code {
				t.Fatalf("got %s %d, want %s %d", got, out.StatusCode(), tt.kind, tt.code)
			}
			if ns, ok := out.(*Nonstandard); ok {
				if ns.Code != tt.code {
					t.Errorf("Code = %d", ns.Code)
				}
				assertClass(t, out, true)
			}
		})
	}
}

func TestClassifyRejectsCodesThatAreNotThreeDigits(t *testing.T) {
	for _, code := range []int{1000, -1, 12345} {
		body := &closeCounter{Reader: strings.NewReader("x")}
		resp := &http.Response{StatusCode: code, Body: body, Header: http.Header{},
			Request: httptest.NewRequest(http.MethodGet, "http://example.test/x", nil)}
		out, err := Classify(resp)
		if out != nil || !errors.Is(err, ErrBadStatus) {
			t.Errorf("%d: got %v, %v; want ErrBadStatus", code, out, err)
		}
		if body.closes != 1 {
			t.Errorf("%d: body closed %d times", code, body.closes)
		}
	}
	// And over the wire: Go's HTTP/1 client itself refuses 1000.
	u := rawServer(t, "HTTP/1.1 1000 Big\r\nContent-Length: 0\r\n\r\n")
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if out, err := c.Send(req); err == nil {
		t.Fatalf("1000 gave outcome %T", out)
	}
}

type closeCounter struct {
	io.Reader
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

// TestCreatedLocationRFC3986 resolves Location with the RFC 3986 §5.4
// examples against the request URL.
func TestCreatedLocationRFC3986(t *testing.T) {
	const base = "http://a/b/c/d;p?q"
	vectors := map[string]string{
		// §5.4.1 normal examples
		"g:h": "g:h", "g": "http://a/b/c/g", "./g": "http://a/b/c/g", "g/": "http://a/b/c/g/",
		"/g": "http://a/g", "//g": "http://g", "?y": "http://a/b/c/d;p?y", "g?y": "http://a/b/c/g?y",
		"#s": "http://a/b/c/d;p?q#s", "g#s": "http://a/b/c/g#s", "g?y#s": "http://a/b/c/g?y#s",
		";x": "http://a/b/c/;x", "g;x": "http://a/b/c/g;x", "g;x?y#s": "http://a/b/c/g;x?y#s",
		".": "http://a/b/c/", "./": "http://a/b/c/", "..": "http://a/b/", "../": "http://a/b/",
		"../g": "http://a/b/g", "../..": "http://a/", "../../": "http://a/", "../../g": "http://a/g",
		// §5.4.2 abnormal examples
		"../../../g": "http://a/g", "../../../../g": "http://a/g", "/./g": "http://a/g",
		"/../g": "http://a/g", "g.": "http://a/b/c/g.", ".g": "http://a/b/c/.g",
		"g..": "http://a/b/c/g..", "..g": "http://a/b/c/..g", "./../g": "http://a/b/g",
		"./g/.": "http://a/b/c/g/", "g/./h": "http://a/b/c/g/h", "g/../h": "http://a/b/c/h",
		"g;x=1/./y": "http://a/b/c/g;x=1/y", "g;x=1/../y": "http://a/b/c/y",
		"g?y/./x": "http://a/b/c/g?y/./x", "g?y/../x": "http://a/b/c/g?y/../x",
		"g#s/./x": "http://a/b/c/g#s/./x", "g#s/../x": "http://a/b/c/g#s/../x",
	}
	for ref, want := range vectors {
		out := classifyFake(t, 201, base, http.Header{"Location": {ref}})
		cr := out.(*Created)
		if cr.Location == nil || cr.Location.String() != want {
			t.Errorf("Location %q: got %v, want %s", ref, cr.Location, want)
		}
		if cr.LocationRaw != ref || cr.LocationAssumed || cr.LocationErr != nil {
			t.Errorf("Location %q: raw %q assumed %v err %v", ref, cr.LocationRaw, cr.LocationAssumed, cr.LocationErr)
		}
	}
}

func TestCreatedLocationAbsentAndGarbage(t *testing.T) {
	out := classifyFake(t, 201, "http://api.test/things?x=1", nil).(*Created)
	if !out.LocationAssumed || out.Location.String() != "http://api.test/things?x=1" {
		t.Errorf("absent: %v assumed=%v", out.Location, out.LocationAssumed)
	}
	for _, raw := range []string{"http://[::1", "/a\x7fb", "%zz", "  "} {
		cr := classifyFake(t, 201, "http://api.test/things", http.Header{"Location": {raw}}).(*Created)
		if cr.Location != nil || cr.LocationRaw != raw || !errors.Is(cr.LocationErr, ErrBadLocation) {
			t.Errorf("%q: Location %v raw %q err %v", raw, cr.Location, cr.LocationRaw, cr.LocationErr)
		}
	}
	// Over the wire, after the request: the base is the request URL.
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "../users/7")
		w.WriteHeader(http.StatusCreated)
	}))
	c := newTestClient(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/teams/3", strings.NewReader("{}"))
	o, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got := o.(*Created).Location.String(); got != srv.URL+"/v1/users/7" {
		t.Errorf("Location = %s", got)
	}
}

func classifyFake(t *testing.T, code int, reqURL string, h http.Header) Outcome {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		t.Fatal(err)
	}
	resp := &http.Response{StatusCode: code, Header: h, Body: http.NoBody,
		Request: &http.Request{Method: http.MethodPost, URL: u}}
	out, err := Classify(resp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProblemDetails(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        *Problem
	}{
		{"full", "application/problem+json; charset=utf-8",
			`{"type":"https://ex.test/probs/out-of-credit","title":"You do not have enough credit.","status":403,"detail":"Your current balance is 30, but that costs 50.","instance":"/account/12345/msgs/abc","balance":30}`,
			&Problem{Type: "https://ex.test/probs/out-of-credit", Title: "You do not have enough credit.", Status: 403,
				Detail: "Your current balance is 30, but that costs 50.", Instance: "http://api.test/account/12345/msgs/abc"}},
		{"defaults and wrong member types ignored", "application/problem+json",
			`{"title":7,"status":"403","detail":["x"],"type":false}`,
			&Problem{Type: "about:blank"}},
		{"not problem+json", "application/json", `{"title":"x"}`, &Problem{Type: "about:blank", Title: "Forbidden", Status: 403}},
		{"invalid json", "application/problem+json", `{"title":`, &Problem{Type: "about:blank", Title: "Forbidden", Status: 403}},
		{"json but not an object", "application/problem+json", `["title"]`, &Problem{Type: "about:blank", Title: "Forbidden", Status: 403}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: 403, Header: http.Header{"Content-Type": {tt.contentType}},
				Body:    io.NopCloser(strings.NewReader(tt.body)),
				Request: httptest.NewRequest(http.MethodGet, "http://api.test/account/12345", nil)}
			out, err := Classify(resp)
			if err != nil {
				t.Fatal(err)
			}
			f := out.(*Forbidden)
			if string(f.Body()) != tt.body {
				t.Errorf("Body = %q", f.Body())
			}
			// The captured bytes are put back for callers of Do.
			if b, _ := io.ReadAll(f.Response().Body); string(b) != tt.body {
				t.Errorf("Response().Body = %q", b)
			}
			// Never nil: without problem+json, RFC 9457 §4.2.1's reading.
			got := f.Problem()
			if got.Type != tt.want.Type || got.Title != tt.want.Title || got.Status != tt.want.Status ||
				got.Detail != tt.want.Detail || got.Instance != tt.want.Instance {
				t.Errorf("Problem = %+v, want %+v", got, tt.want)
			}
			if strings.Contains(tt.body, "balance") {
				var bal int
				if !got.Extension("balance", &bal) || bal != 30 {
					t.Errorf("balance extension = %d", bal)
				}
				if !strings.Contains(f.Error(), "You do not have enough credit.") {
					t.Errorf("Error() = %q lacks the title", f.Error())
				}
			}
		})
	}
}

// TestFailureBodyIsCapped serves a 10 MiB error body: only the cap is read.
func TestFailureBodyIsCapped(t *testing.T) {
	var written int64
	var mu sync.Mutex
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for i := 0; i < 320; i++ { // 10 MiB
			n, err := w.Write(chunk)
			mu.Lock()
			written += int64(n)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}))
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	se := out.(*ServerError)
	if len(se.Body()) != defaultMaxErrorBody || !se.BodyTruncated() {
		t.Fatalf("captured %d bytes, truncated=%v", len(se.Body()), se.BodyTruncated())
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	srv.Close() // waits for the handler: it must have stopped early
	mu.Lock()
	defer mu.Unlock()
	if written >= 10<<20 {
		t.Errorf("server wrote all %d bytes: the client read past its cap", written)
	}
}

// TestFailureKindsReleaseConnections checks that checking a failure kind
// leaves no connection open: one keep-alive connection serves them all.
func TestFailureKindsReleaseConnections(t *testing.T) {
	var cc connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(statusHandler))
	cc.track(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	codes := []int{400, 401, 403, 404, 405, 409, 410, 412, 416, 418, 428, 429, 500, 501, 503, 600, 999}
	for _, code := range codes {
		out, err := c.Send(statusRequest(srv.URL, code))
		if err != nil {
			t.Fatal(err)
		}
		if out.Err() == nil {
			t.Fatalf("%d: not a failure", code)
		}
		// No Close: failure kinds must already have released the body.
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("%d failure outcomes opened %d connections, want 1 (reused)", len(codes), n)
	}
}

func TestDecode(t *testing.T) {
	type user struct {
		Name string `json:"name"`
	}
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/user":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"name":"ada"}`)
		case "/missing":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"no such user"}`)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/garbage":
			io.WriteString(w, `{"name":`)
		}
	}))
	c := newTestClient(t)
	get := func(p string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		return r
	}
	u, err := Decode[user](c.Send(get("/user")))
	if err != nil || u.Name != "ada" {
		t.Fatalf("Decode = %+v, %v", u, err)
	}
	_, err = Decode[user](c.Send(get("/missing")))
	var nf *NotFound
	if !errors.As(err, &nf) || nf.Problem().Title != "no such user" {
		t.Fatalf("missing: err = %v", err)
	}
	// A 204 is a success without a result: the zero value, no error.
	if u, err := Decode[user](c.Send(get("/empty"))); err != nil || u != (user{}) {
		t.Fatalf("204: %+v, %v; want the zero value and no error", u, err)
	}
	if _, err = Decode[user](c.Send(get("/garbage"))); err == nil || errors.Is(err, ErrNoResult) {
		t.Fatalf("garbage: err = %v", err)
	}
	sendErr := errors.New("boom")
	if _, err = Decode[user](nil, sendErr); err != sendErr {
		t.Fatalf("send error not passed through: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if _, err := c.Send(nil); !errors.Is(err, errNilRequest) {
		t.Errorf("nil request: %v", err)
	}
	// A closed port: connection refused, a RequestError wrapping the cause.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://user:secret@"+addr+"/x?token=abc", nil)
	_, err := c.Send(req)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 1 {
		t.Fatalf("err = %v", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("cause not reachable with errors.As: %v", err)
	}
	if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "token") {
		t.Errorf("error leaks credentials or query: %q", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr, nil)
	if _, err := c.Send(req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestClientLogging checks that retries and failures reach the given
// slog.Logger, without the URL's secrets (go-retryablehttp's own logger,
// which would print the query, stays off).
func TestClientLogging(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	var buf bytes.Buffer
	c := newTestClient(t, WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}))
	req, _ := http.NewRequest(http.MethodGet, "http://user:pw@"+addr+"/x?api_key=SECRET123", nil)
	if _, err := c.Send(req); err == nil {
		t.Fatal("want error")
	}
	logs := buf.String()
	if !strings.Contains(logs, "semhttp: retrying") || !strings.Contains(logs, "semhttp: request failed") {
		t.Errorf("retry and failure not logged: %q", logs)
	}
	if strings.Contains(logs, "SECRET123") || strings.Contains(logs, "pw@") {
		t.Errorf("logs leak secrets: %q", logs)
	}
}

func TestDeprecatedEndpointLoggedOnce(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Deprecation", "@1688169599")
		w.Header().Set("Sunset", "Sun, 30 Jun 2030 23:59:59 GMT")
		io.WriteString(w, "{}")
	}))
	var buf bytes.Buffer
	c := newTestClient(t, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/old?page="+strconv.Itoa(i), nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	if n := strings.Count(buf.String(), "deprecated API endpoint"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "sunset=2030-06-30T23:59:59.000Z") {
		t.Errorf("log lacks the sunset date:\n%s", buf.String())
	}
	// Every outcome exposes the parsed signals.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/old", nil)
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	api := out.APIStatus()
	if !api.Deprecated || api.DeprecatedAt.Unix() != 1688169599 || api.Sunset.Year() != 2030 ||
		!api.DeprecatedNow(time.Now()) {
		t.Errorf("API() = %+v", api)
	}
}

// TestHTTPBinPeer classifies what a real, independent server sends:
// go-httpbin, including its nonstandard weighted-status form.
func TestHTTPBinPeer(t *testing.T) {
	srv := newHTTPBin(t)
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	tests := []struct {
		path string
		kind string
		code int
	}{
		{"/get", "*semhttp.OK", 200},
		{"/status/299", "*semhttp.OK", 299},
		{"/status/201", "*semhttp.Created", 201},
		{"/status/418", "*semhttp.ClientError", 418},
		{"/status/499", "*semhttp.ClientError", 499},
		{"/status/410", "*semhttp.Gone", 410},
		{"/status/599", "*semhttp.ServerError", 599},
		{"/status/405", "*semhttp.MethodNotAllowed", 405},
		{"/status/999:1,200:0", "*semhttp.Nonstandard", 999},
		{"/status/700,700", "*semhttp.Nonstandard", 700},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
		out, err := c.Send(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if got := fmt.Sprintf("%T", out); got != tt.kind || out.StatusCode() != tt.code {
			t.Errorf("%s: got %s %d, want %s %d", tt.path, got, out.StatusCode(), tt.kind, tt.code)
		}
		if m, ok := out.(*MethodNotAllowed); ok && (m.Allow == nil || len(m.Allow) != 0) {
			t.Errorf("405 without Allow: Allow = %#v, want empty", m.Allow)
		}
		if cr, ok := out.(*Created); ok && !cr.LocationAssumed {
			t.Errorf("201 without Location not flagged as assumed")
		}
		out.Close()
	}
}

func TestBaseURLAndDefaultHeaders(t *testing.T) {
	var got atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Path + " " + r.Header.Get("User-Agent") + " " + r.Header.Get("Api-Version"))
	}))
	c := newTestClient(t, WithBaseURL(srv.URL+"/v2/"), WithHeader("User-Agent", "sdk/1.0"), WithHeader("api-version", "7"))
	req, _ := http.NewRequest(http.MethodGet, "users/1", nil)
	req.Header.Set("Api-Version", "8") // the request's own value wins
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if g := got.Load(); g != "/v2/users/1 sdk/1.0 8" {
		t.Errorf("server saw %q", g)
	}
	if req.URL.IsAbs() || req.Header.Get("User-Agent") != "" {
		t.Error("the caller's request was modified")
	}
	// An absolute URL is left alone.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/abs", nil)
	out, _ = c.Send(req)
	out.Close()
	if g := got.Load(); g != "/abs sdk/1.0 7" {
		t.Errorf("server saw %q", g)
	}
	bad := newTestClient(t, WithBaseURL("relative/only"))
	if _, err := bad.Send(req); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("invalid base: %v", err)
	}
}

func TestRequestOptions(t *testing.T) {
	srv, hits := retryAfterServer(t, http.StatusConflict, 1, http.Header{"Content-Type": {"application/problem+json"}})
	c := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	var out Outcome
	ctx := WithRequestOptions(context.Background(), RequestOptions{Outcome: &out})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := out.(*Conflict); !ok || resp.StatusCode != 409 {
		t.Fatalf("captured %T for %d", out, resp.StatusCode)
	}

	// RequestOptions.RetryPolicy overrides the client's policy for one call.
	srv2, hits2 := retryAfterServer(t, http.StatusServiceUnavailable, 2, nil)
	three := fastRetry(3)
	ctx = WithRequestOptions(context.Background(), RequestOptions{RetryPolicy: &three})
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv2.URL, nil)
	o, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, ok := o.(*OK); !ok || hits2.Load() != 3 || hits.Load() != 1 {
		t.Fatalf("got %T after %d hits", o, hits2.Load())
	}
}

// TestEarlyErrorsCloseTheBody: like http.Client.Do, the body is closed on
// every path, even when the call fails before sending anything.
func TestEarlyErrorsCloseTheBody(t *testing.T) {
	c := newTestClient(t, WithBaseURL("not absolute"))
	body := &closeCounter{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "/x", body)
	if _, err := c.Send(req); err == nil || body.closes != 1 {
		t.Fatalf("err %v, body closed %d times", err, body.closes)
	}
}
