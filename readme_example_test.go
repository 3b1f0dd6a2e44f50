package semhttp_test

// Every ```go block of README.md is in a function of this file (or of an
// example module's test), word for word; TestREADMESnippets checks that,
// and the compiler checks the code. The Example functions run the
// snippets against servers on 127.0.0.1.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
)

// The README's first example, as it stands.
func readmeShortExample(ctx context.Context, api string, body io.Reader) error {
	c := semhttp.New()

	req, _ := http.NewRequestWithContext(ctx, "POST", api+"/users", body)
	out, err := c.Send(req)
	if err != nil {
		return err // no usable response: transport failure after retries, cancelled context
	}
	defer out.Close()

	switch o := out.(type) {
	case *semhttp.Created:
		fmt.Println("new user at", o.Location) // absolute, resolved against the request URL
	case *semhttp.Conflict:
		fmt.Println("taken:", o.Problem().Title) // "Conflict" when the body is not problem+json
	case *semhttp.TooManyRequests:
		fmt.Println("slow down for", o.RetryAfter)
	default:
		return out.Err() // nil for success kinds; the outcome itself for failures
	}
	return nil
}

// conflictServer answers every request 409, with problem details or, as
// most servers do, with text/plain.
func conflictServer(problemJSON bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problemJSON {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"title":"Name taken","detail":"ada is taken"}`)
			return
		}
		http.Error(w, "ada is taken", http.StatusConflict)
	}))
}

// The README's first example against a 409 with problem details and a 409
// in text/plain: Problem() is never nil, so both print.
func Example_readmeConflict() {
	for _, problemJSON := range []bool{true, false} {
		srv := conflictServer(problemJSON)
		err := readmeShortExample(context.Background(), srv.URL, strings.NewReader(`{"name":"ada"}`))
		fmt.Println("error:", err)
		srv.Close()
	}
	// Output:
	// taken: Name taken
	// error: <nil>
	// taken: Conflict
	// error: <nil>
}

type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func readmeDecode(c *semhttp.Client, req *http.Request) error {
	user, err := semhttp.Decode[User](c.Send(req)) // a 404 comes back as a *semhttp.NotFound error
	var nf *semhttp.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("no user: %s", nf.Problem().Title)
	}
	if err != nil {
		return err
	}
	fmt.Println("user:", user.Name)
	return nil
}

// Decode against a user, a 404 with problem details and a 404 in
// text/plain.
func Example_readmeDecode() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/users/1":
			io.WriteString(w, `{"id":1,"name":"Ada"}`)
		case "/users/2":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"title":"No such user"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	for _, id := range []string{"1", "2", "3"} {
		req, _ := http.NewRequest("GET", srv.URL+"/users/"+id, nil)
		if err := readmeDecode(c, req); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// user: Ada
	// no user: No such user
	// no user: Not Found
}

func readmeUnderLoad(c *semhttp.Client, req *http.Request) error {
	out, err := c.Send(req)
	if errors.Is(err, semhttp.ErrThrottled) {
		return err // the origin asked to hold off longer than this call can wait: nothing was sent
	}
	if err != nil {
		return err
	}
	defer out.Close()
	if rl, ok := out.RateLimit(); ok && rl.Remaining >= 0 && rl.Remaining < 10 {
		log.Printf("%d requests left until %v", rl.Remaining, rl.Reset)
	}
	return nil
}

// The README's load snippet: a 429 with Retry-After holds the origin off
// for a call that cannot wait that long.
func Example_readmeUnderLoad() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL+"/search", nil)
	fmt.Println(readmeUnderLoad(c, req)) // 120 s is over MaxRetryAfter: the 429 is the outcome
	req, _ = http.NewRequest("GET", srv.URL+"/search", nil)
	err := readmeUnderLoad(c, req)
	fmt.Println(errors.Is(err, semhttp.ErrThrottled))
	// Output:
	// <nil>
	// true
}

func readmeRetry() *semhttp.Client {
	c := semhttp.New(
		semhttp.WithRetryPolicy(semhttp.RetryPolicy{
			MaxAttempts:   5,                // default 4; 1 turns retries off
			MaxRetryAfter: 30 * time.Second, // a longer Retry-After returns the outcome at once
			OnRetry:       func(e semhttp.RetryEvent) { log.Printf("retry %d in %v", e.Attempt, e.Wait) },
		}),
		semhttp.WithIdempotencyKeys(), // POST/PATCH get a random Idempotency-Key, the same on every attempt
	)
	return c
}

func readmeRedirects(req *http.Request) error {
	c := semhttp.New(
		semhttp.WithRedirectPolicy(semhttp.FollowSameOrigin), // or FollowNone, or your own func; nil follows all
		semhttp.WithCredentialHeaders("X-Api-Key"),
	)
	out, err := c.Send(req)
	var re *semhttp.RedirectError
	if errors.As(err, &re) {
		for _, h := range re.Hops {
			fmt.Println(h.StatusCode, h.URL, "->", h.Location)
		}
	}
	if err != nil {
		return err
	}
	defer out.Close()
	if r, ok := out.(*semhttp.Redirect); ok { // not followed by the policy
		fmt.Println("moved to", r.Location, "permanent:", r.Permanent, "method kept:", r.MethodKept)
	}
	c.CloseIdleConnections()
	return nil
}

type Report struct {
	Rows int `json:"rows"`
}

func readmeAsync(ctx context.Context, c *semhttp.Client, api string, body io.Reader) error {
	req, _ := http.NewRequest("POST", api+"/reports", body)
	req.Header.Set("Prefer", "respond-async") // ask for a 202 rather than a held connection (RFC 7240)
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	if a, ok := out.(*semhttp.Accepted); ok {
		out, err = a.Wait(ctx, &semhttp.PollOptions{Progress: func(p semhttp.Progress) {
			fmt.Printf("%s %.0f%%\n", p.State, p.Percent) // -1 when the API gives no percent
		}})
	}
	report, err := semhttp.Decode[Report](out, err) // a failed job comes back as *semhttp.JobError
	if err != nil {
		return err
	}
	fmt.Println("rows:", report.Rows)
	return nil
}

// The README's async example against a job that runs for one poll.
func Example_readmeAsync() {
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		switch r.URL.Path {
		case "/reports":
			w.Header().Set("Operation-Location", "/operations/1")
			w.WriteHeader(http.StatusAccepted)
		case "/operations/1":
			polls++
			if polls == 1 {
				io.WriteString(w, `{"status":"running","percentComplete":40}`)
				return
			}
			io.WriteString(w, `{"status":"succeeded","resourceLocation":"/reports/1"}`)
		case "/reports/1":
			io.WriteString(w, `{"rows":3}`)
		}
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	if err := readmeAsync(context.Background(), c, srv.URL, strings.NewReader(`{}`)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// running 40%
	// succeeded 100%
	// rows: 3
}

type Cluster struct {
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func readmeOperation(ctx context.Context, c *semhttp.Client, api string, spec any) error {
	req, _ := semhttp.NewJSONRequest(ctx, "PUT", api+"/clusters/east", spec)
	out, err := c.Send(req) // 201 Created, Azure-AsyncOperation, provisioningState "Creating"
	if err != nil {
		return err
	}
	defer out.Close()
	p, err := c.NewPoller(out, nil)
	if err != nil {
		return err
	}
	cluster, err := semhttp.Decode[Cluster](p.Wait(ctx)) // the GET of /clusters/east once provisioned
	if err != nil {
		return err
	}
	fmt.Println(cluster.Properties.ProvisioningState)
	return nil
}

// The README's PUT operation: a 201 whose monitor says Succeeded at once.
func Example_readmeOperation() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "PUT":
			w.Header().Set("Azure-AsyncOperation", "/operations/1")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"properties":{"provisioningState":"Creating"}}`)
		case r.URL.Path == "/operations/1":
			io.WriteString(w, `{"status":"Succeeded"}`)
		default:
			io.WriteString(w, `{"properties":{"provisioningState":"Succeeded"}}`)
		}
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	if err := readmeOperation(context.Background(), c, srv.URL, map[string]int{"nodes": 3}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Succeeded
}

func readmeRequests(ctx context.Context, c *semhttp.Client, api, requestID string) error {
	var out semhttp.Outcome
	ctx = semhttp.WithRequestOptions(ctx, semhttp.RequestOptions{
		RetryPolicy: &semhttp.RetryPolicy{MaxAttempts: 1}, // this call is not retried
		Header:      http.Header{"X-Request-Id": {requestID}},
		Outcome:     &out, // Do records the call's outcome here
	})
	req, err := semhttp.NewJSONRequest(ctx, "POST", api+"/users", User{Name: "Ada"}) // replayable JSON body
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("%d; outcome %T\n", resp.StatusCode, out)
	return nil
}

// The README's per-call settings against a server that answers 503 once:
// the call is not retried, carries its header, and records its outcome.
func Example_readmeRequests() {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		b, _ := io.ReadAll(r.Body)
		fmt.Println(r.Header.Get("X-Request-Id"), r.Header.Get("Content-Type"), string(b))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	if err := readmeRequests(context.Background(), c, srv.URL, "r-1"); err != nil {
		fmt.Println(err)
	}
	fmt.Println("calls:", calls)
	// Output:
	// r-1 application/json {"id":0,"name":"Ada"}
	// 503; outcome *semhttp.ServiceUnavailable
	// calls: 1
}

func readmeHTTPClient(api string, corporateCAs *x509.CertPool, instrument func(http.RoundTripper) http.RoundTripper) error {
	c := semhttp.New(
		semhttp.WithTLSConfig(&tls.Config{RootCAs: corporateCAs}), // a private CA, client certificates
		semhttp.WithTransportWrapper(instrument),                  // e.g. a metrics wrapper (OpenTelemetry: semhttpotel)
	)
	hc := c.HTTPClient() // an *http.Client: retries, redirects and the cache, for any SDK
	resp, err := hc.Get(api + "/users/1")
	if err != nil {
		return err // a *url.Error wrapping the *semhttp.RequestError
	}
	defer resp.Body.Close()
	defer c.CloseIdleConnections() // reaches the transport under the wrapper
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	return nil
}

// The README's *http.Client against a TLS server with its own CA, through
// a wrapper that counts requests.
func Example_readmeHTTPClient() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":1}`)
	}))
	defer srv.Close()
	cas := x509.NewCertPool()
	cas.AddCert(srv.Certificate())
	n := 0
	count := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) { n++; return rt.RoundTrip(r) })
	}
	if err := readmeHTTPClient(srv.URL, cas, count); err != nil {
		fmt.Println(err)
	}
	fmt.Println("requests through the wrapper:", n)
	// Output:
	// 200 {"id":1}
	// requests through the wrapper: 1
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func readmeCache(c *semhttp.Client, req *http.Request) error {
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	defer out.Close()
	body, err := io.ReadAll(out.Response().Body) // the same code for *OK and *NotModified
	if err != nil {
		return err
	}
	if _, ok := out.(*semhttp.NotModified); ok {
		// 304: body is the stored 200, its headers freshened by the 304 (RFC 9111 §4.3.4)
		fmt.Println("unchanged:", out.Info().FromCache, len(body))
	}
	return nil
}

// The README's cache example, twice against a server that revalidates.
func Example_readmeCache() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("twelve bytes"))
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if err := readmeCache(c, req); err != nil {
			fmt.Println(err)
		}
	}
	// Output: unchanged: true 12
}

func readmeCacheInfo(c *semhttp.Client, req *http.Request) error {
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	defer out.Close()
	body, err := io.ReadAll(out.Response().Body) // a body is stored once it was read to the end
	if err != nil {
		return err
	}
	if info := out.Info(); info.FromCache { // fresh, or stale where the server allowed it
		fmt.Println(out.Response().Header.Get(semhttp.CacheHeader), info.Stale, info.OriginErr, len(body))
	}
	return nil
}

// The README's fresh-hit example: the first GET reaches the server, the
// second is answered from memory (max-age=60), and the server sees one
// request.
func Example_readmeCacheInfo() {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, `{"id":1}`)
	}))
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if err := readmeCacheInfo(c, req); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("requests the server saw:", hits.Load())
	// Output:
	// fresh false <nil> 8
	// requests the server saw: 1
}

type Widget struct {
	Name string `json:"name"`
}

func readmeConditionalWrites(get, put *http.Request) error {
	c := semhttp.New(semhttp.WithConditionalWrites())              // PUT/PATCH/DELETE carry If-Match with the ETag last read
	if _, err := semhttp.Decode[Widget](c.Send(get)); err != nil { // the read: its ETag is stored
		return err
	}
	out, err := c.Send(put)
	if err != nil {
		return err
	}
	defer out.Close()
	var pf *semhttp.PreconditionFailed
	if errors.As(out.Err(), &pf) {
		fmt.Println("changed since the read: read again, merge, retry")
	}
	return nil
}

func readmeRanges(c *semhttp.Client, url string, dst io.WriterAt) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", "bytes=0-99,-100") // the first and the last 100 bytes
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	defer out.Close()
	if pc, ok := out.(*semhttp.PartialContent); ok {
		for part, err := range pc.Parts() { // multipart/byteranges, streamed in the server's order
			if err != nil {
				return err
			}
			io.Copy(io.NewOffsetWriter(dst, part.ContentRange.First), part)
		}
	}
	return nil
}

func readmeDownload(ctx context.Context, c *semhttp.Client) error {
	f, err := os.Create("big.iso")
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := c.Download(ctx, "https://example.com/big.iso", f, &semhttp.DownloadOptions{
		Progress: func(written, total int64) { fmt.Println(written, "/", total) },
		Segments: 4, // parallel ranges, for servers that throttle per connection
	})
	if err != nil {
		return err
	}
	fmt.Println("downloaded", res.Size)
	return nil
}

func readmePages(c *semhttp.Client, req *http.Request) error {
	for page, err := range c.RangePages(req, "items", 25) {
		if err != nil {
			return err
		}
		b, err := io.ReadAll(page.Response().Body) // open here; closed when the loop body returns
		if err != nil {
			return err
		}
		fmt.Println(page.StatusCode(), len(b))
	}
	for page, err := range c.LinkPages(req) {
		if err != nil {
			return err
		}
		fmt.Println(page.StatusCode(), "next:", page.Link("next"))
	}
	return nil
}

func readmeHeaders(resp *http.Response) error {
	out, err := semhttp.Classify(resp) // any response: from Do, or from another client
	if err != nil {
		return err
	}
	defer out.Close()
	switch o := out.(type) {
	case *semhttp.Unauthorized:
		for _, ch := range o.Challenges { // WWW-Authenticate, RFC 9110 §11.6.1
			if ch.HasScheme("Bearer") {
				fmt.Println(ch.Param("realm"), ch.Param("error"))
			}
		}
	case *semhttp.MethodNotAllowed:
		fmt.Println("allowed:", o.Allow) // empty, never nil, when the server sent no Allow
	}
	if d := out.APIStatus(); d.DeprecatedNow(time.Now()) {
		fmt.Println("deprecated; sunset", d.Sunset, "see", d.DeprecationLinks)
	}
	wait, ok := semhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	fmt.Println(wait, ok)
	return nil
}

// TestREADMESnippetsRun runs the snippets that have no Example of their
// own against servers on 127.0.0.1, and checks what they did.
func TestREADMESnippetsRun(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	var ifMatch atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky": // 503 once: retried
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/moved":
			http.Redirect(w, r, "http://localhost:1/elsewhere", http.StatusFound)
		case "/doc":
			// Someone else writes between the read and the PUT: the
			// current ETag is "v2" by then.
			if r.Method == http.MethodPut {
				ifMatch.Store(r.Header.Get("If-Match"))
				if r.Header.Get("If-Match") != `"v2"` {
					w.WriteHeader(http.StatusPreconditionFailed)
				}
				return
			}
			w.Header().Set("ETag", `"v1"`)
			io.WriteString(w, `{"name":"sprocket"}`)
		case "/items":
			if r.Header.Get("Range") == "" { // LinkPages: two pages
				if r.URL.Query().Get("p") == "" {
					w.Header().Set("Link", `</items?p=2>; rel="next"`)
				}
				return
			}
			w.Header().Set("Content-Range", "items 0-0/1")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "[1]")
		default:
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(strings.Repeat("0123456789", 30)))
		}
	}))
	defer srv.Close()

	c := readmeRetry()
	defer c.CloseIdleConnections()
	out, err := c.Send(get(t, srv.URL+"/flaky"))
	if err != nil || out.StatusCode() != 200 || out.Info().Attempts != 2 {
		t.Fatalf("retry snippet: %v, %v", out, err)
	}
	out.Close()

	stdout := captureStdout(t, func() { err = readmeRedirects(get(t, srv.URL+"/moved")) })
	if err != nil || !strings.Contains(stdout, "moved to http://localhost:1/elsewhere permanent: false method kept: false") {
		t.Fatalf("redirect snippet printed %q", stdout)
	}

	put, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", strings.NewReader(`{"name":"cog"}`))
	stdout = captureStdout(t, func() { err = readmeConditionalWrites(get(t, srv.URL+"/doc"), put) })
	if err != nil || ifMatch.Load() != `"v1"` || stdout != "changed since the read: read again, merge, retry\n" {
		t.Fatalf("conditional-writes snippet: %v, If-Match %v, printed %q", err, ifMatch.Load(), stdout)
	}

	var dst memFile
	if err := readmeRanges(c, srv.URL+"/file", &dst); err != nil || string(dst.b[:3]) != "012" {
		t.Fatalf("ranges snippet: %v, %q", err, dst.b)
	}

	tls := httptest.NewTLSServer(srv.Config.Handler) // example.com is in its certificate
	defer tls.Close()
	t.Chdir(t.TempDir())
	dl := semhttp.New(semhttp.WithTransport(routeTo(tls)))
	defer dl.CloseIdleConnections()
	stdout = captureStdout(t, func() { err = readmeDownload(ctx, dl) })
	if err != nil || !strings.HasSuffix(stdout, "300 / 300\ndownloaded 300\n") {
		t.Fatalf("download snippet: %v, printed %q", err, stdout)
	}
	if b, err := os.ReadFile("big.iso"); err != nil || len(b) != 300 {
		t.Fatalf("big.iso: %d bytes, %v", len(b), err)
	}

	stdout = captureStdout(t, func() { err = readmePages(c, get(t, srv.URL+"/items")) })
	if want := "206 3\n200 next: " + srv.URL + "/items?p=2\n200 next: <nil>\n"; err != nil || stdout != want {
		t.Fatalf("pages snippet: %v, printed %q, want %q", err, stdout, want)
	}

	resp := &http.Response{StatusCode: 401, Header: http.Header{
		"Www-Authenticate": {`Bearer realm="api", error="invalid_token"`},
		"Deprecation":      {"@1688169599"},
		"Link":             {`<https://docs.test/v2>; rel="deprecation"`},
		"Retry-After":      {"7"},
	}, Body: http.NoBody, Request: get(t, srv.URL)}
	stdout = captureStdout(t, func() { err = readmeHeaders(resp) })
	if err != nil || stdout != "api invalid_token\ndeprecated; sunset 0001-01-01 00:00:00 +0000 UTC see [https://docs.test/v2]\n7s true\n" {
		t.Fatalf("headers snippet: %v %q", err, stdout)
	}
}

// routeTo returns srv's transport dialing srv whatever host a URL names.
func routeTo(srv *httptest.Server) http.RoundTripper {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return tr
}

func get(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// captureStdout returns what f printed.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	f()
	os.Stdout = old
	w.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// memFile is an io.WriterAt in memory.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if n := int(off) + len(p); n > len(m.b) {
		m.b = append(m.b, make([]byte, n-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

// TestREADMESnippets checks that every ```go block of README.md appears,
// line for line (indentation aside), in a function of this file or of an
// example module's test files, where the compiler checks it.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, pattern := range []string{"*_test.go", "examples/*/*_test.go", "semhttpotel/*_test.go", "redisstore/*_test.go"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sources = append(sources, strings.Join(normalizedLines(string(b)), "\n"))
		}
	}
	blocks := goBlocks(string(readme))
	if len(blocks) < 10 {
		t.Fatalf("found %d go blocks in README.md", len(blocks))
	}
	for i, block := range blocks {
		want := strings.Join(normalizedLines(block), "\n")
		found := false
		for _, src := range sources {
			if strings.Contains(src, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README go block %d is in no test file:\n%s", i+1, block)
		}
	}
}

// TestREADMENamesRealTests checks that every test, fuzz target and
// example the README names exists in a test file of this module.
func TestREADMENamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, pattern := range []string{"*_test.go", "internal/*/*_test.go", "examples/*/*_test.go", "semhttpotel/*_test.go", "redisstore/*_test.go", "bench/*_test.go"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all.Write(b)
		}
	}
	defined := all.String()
	names := regexp.MustCompile("`((?:Test|Fuzz|Example)[A-Za-z0-9_]+)`").FindAllStringSubmatch(string(readme), -1)
	if len(names) < 40 {
		t.Fatalf("found %d test names in README.md", len(names))
	}
	for _, m := range names {
		if !strings.Contains(defined, "func "+m[1]+"(") {
			t.Errorf("README.md names %s, which no test file defines", m[1])
		}
	}
}

// goBlocks returns the contents of the ```go fences of a Markdown text.
func goBlocks(md string) []string {
	var blocks []string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	return blocks
}

// normalizedLines drops indentation, alignment spaces and blank lines, so
// that gofmt's layout inside a function matches the README's.
func normalizedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
