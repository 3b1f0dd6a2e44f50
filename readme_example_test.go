package semhttp_test

// Every ```go block of README.md is in a function of this file (or of an
// example module's test), word for word; TestREADMESnippets checks that,
// and the compiler checks the code. The Example functions run the
// snippets against servers on 127.0.0.1.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

func readmeRetry() *semhttp.Client {
	c := semhttp.New(
		semhttp.WithRetryPolicy(semhttp.RetryPolicy{
			MaxAttempts:   5,                // default 4; 1 turns retries off
			MaxRetryAfter: 30 * time.Second, // a longer Retry-After returns the outcome at once
			OnRetry:       func(e semhttp.RetryEvent) { log.Printf("retry %d in %v", e.Attempt, e.Wait) },
		}),
		semhttp.WithIdempotencyKeys(), // POST/PATCH get Idempotency-Key: "<uuid>", same on every attempt
	)
	return c
}

func readmeRedirects(req *http.Request) error {
	c := semhttp.New(
		semhttp.WithRedirectPolicy(semhttp.FollowSameOrigin), // or FollowAll (default), FollowNone, or your own func
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
	semhttp.PreferAsync(req, 0) // Prefer: respond-async (RFC 7240)
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	if a, ok := out.(*semhttp.Accepted); ok {
		out, err = a.Wait(ctx, semhttp.WithProgress(func(p semhttp.Progress) {
			fmt.Printf("%s %.0f%%\n", p.State, p.Percent) // -1 when the API gives no percent
		}))
	}
	report, err := semhttp.Decode[Report](out, err) // a failed job comes back as *semhttp.JobFailed
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

func readmeConditionalWrites(put *http.Request) {
	c := semhttp.New(semhttp.WithConditionalWrites()) // PUT/PATCH/DELETE carry If-Match with the stored ETag
	out, _ := c.Send(put)
	var pf *semhttp.PreconditionFailed
	if errors.As(out.Err(), &pf) {
		// someone changed it: read again, merge, retry
	}
}

func readmeRanges(c *semhttp.Client, url string, dst io.WriterAt) error {
	req, _ := http.NewRequest("GET", url, nil)
	semhttp.SetRange(req, "bytes", semhttp.RangeSpan(0, 99), semhttp.RangeSuffix(100))
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

func readmeDownload(ctx context.Context, c *semhttp.Client) (semhttp.DownloadResult, error) {
	f, _ := os.Create("big.iso")
	res, err := c.Download(ctx, "https://example.com/big.iso", f,
		semhttp.WithDownloadProgress(func(written, total int64) { fmt.Println(written, "/", total) }),
		semhttp.WithDownloadSegments(4)) // parallel ranges, for servers that throttle per connection
	return res, err
}

func readmePages(ctx context.Context, c *semhttp.Client, req *http.Request) {
	for page, err := range c.RangePages(ctx, req, "items", 25) {
		if err != nil {
			break
		}
		_ = page // read page.Response().Body here: it is closed when the loop body returns
	}
	for page, err := range c.LinkPages(ctx, req) {
		if err != nil {
			break
		}
		_ = page
	}
}

func readmeHeaders(resp *http.Response) (time.Duration, bool, []string) {
	for _, l := range semhttp.ParseLinks(resp.Header) { // RFC 8288
		if l.HasRel("next") {
			next := resp.Request.URL.ResolveReference(l.URL)
			_ = next
		}
	}
	for _, ch := range semhttp.ParseChallenges(resp.Header.Values("WWW-Authenticate")) { // RFC 9110 §11.6.1
		if ch.Is("Bearer") {
			fmt.Println(ch.Param("realm"), ch.Param("error"))
		}
	}
	methods := semhttp.ParseAllow(resp.Header.Values("Allow")) // empty, never nil, when absent
	wait, ok := semhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return wait, ok, methods
}

// TestREADMESnippetsRun runs the snippets that have no Example of their
// own against servers on 127.0.0.1, and checks what they did.
func TestREADMESnippetsRun(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky": // 503 once: retried
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/moved":
			http.Redirect(w, r, "http://localhost:1/elsewhere", http.StatusFound)
		case "/doc":
			if r.Method == http.MethodPut {
				if r.Header.Get("If-Match") != `"v2"` {
					w.WriteHeader(http.StatusPreconditionFailed)
				}
				return
			}
			w.Header().Set("ETag", `"v1"`)
			io.WriteString(w, "doc")
		case "/items":
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

	put, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", strings.NewReader("new"))
	readmeConditionalWrites(put) // its client read nothing: no If-Match, and the server refuses

	var dst memFile
	if err := readmeRanges(c, srv.URL+"/file", &dst); err != nil || string(dst.b[:3]) != "012" {
		t.Fatalf("ranges snippet: %v, %q", err, dst.b)
	}

	tls := httptest.NewTLSServer(srv.Config.Handler) // example.com is in its certificate
	defer tls.Close()
	t.Chdir(t.TempDir())
	dl := semhttp.New(semhttp.WithTransport(routeTo(tls)))
	defer dl.CloseIdleConnections()
	if res, err := readmeDownload(ctx, dl); err != nil || res.Size != 300 {
		t.Fatalf("download snippet: %+v, %v", res, err)
	}

	readmePages(ctx, c, get(t, srv.URL+"/items"))

	resp := &http.Response{Header: http.Header{
		"Link":             {`</p2>; rel="next"`},
		"Www-Authenticate": {`Bearer realm="api", error="invalid_token"`},
		"Allow":            {"GET, HEAD"},
		"Retry-After":      {"7"},
	}, Request: get(t, srv.URL)}
	var wait time.Duration
	var methods []string
	stdout = captureStdout(t, func() { wait, _, methods = readmeHeaders(resp) })
	if wait != 7*time.Second || len(methods) != 2 || stdout != "api invalid_token\n" {
		t.Fatalf("headers snippet: %v %q %q", wait, methods, stdout)
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
	for _, pattern := range []string{"*_test.go", "examples/*/*_test.go"} {
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
