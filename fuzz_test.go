package semhttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzClassify feeds arbitrary status codes, headers and bodies to the
// classifier: it must never panic, must refuse codes that are not three
// digits, must never call a code outside 200–299 a success, and must close
// the body of every failure kind.
func FuzzClassify(f *testing.F) {
	seeds := []struct {
		code   int
		header string
		body   string
	}{
		{200, "Content-Type: application/json", `{"a":1}`},
		{201, "Location: ../x", ""},
		{201, "Location: http://[::1", ""},
		{202, "Operation-Location: /ops/1\nRetry-After: 5", `{"status":"running"}`},
		{206, "Content-Range: bytes 0-4/10\nContent-Length: 5", "hello"},
		{300, `Link: </a>; rel="alternate", <b>; rel=alternate`, ""},
		{301, "Location: javascript:alert(1)", ""},
		{304, "ETag: \"x\"", ""},
		{401, `WWW-Authenticate: Basic realm="x", Bearer error="invalid_token"`, ""},
		{405, "Allow: GET, ,HEAD, b@d", ""},
		{409, "Content-Type: application/problem+json", `{"type":"/p","title":7,"status":"x","extra":[1]}`},
		{416, "Content-Range: bytes */99999999999999999999", ""},
		{429, "Retry-After: 99999999999", ""},
		{503, "Retry-After: Sun, 06 Nov 1994 08:49:37 GMT\nRetry-After-Ms: 12", ""},
		{999, "Deprecation: @1688169599\nSunset: garbage", "legacy"},
		{0, "", ""}, {99, "", ""}, {1000, "", ""}, {-1, "", ""},
	}
	for _, s := range seeds {
		f.Add(s.code, s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, code int, rawHeader string, body []byte) {
		h := http.Header{}
		for _, line := range strings.Split(rawHeader, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k != "" {
				h.Add(k, strings.TrimSpace(v))
			}
		}
		cc := &closeCounter{Reader: bytes.NewReader(body)}
		u, _ := url.Parse("http://api.test/a/b?q=1")
		resp := &http.Response{StatusCode: code, Status: fmt.Sprint(code, " Fuzz"), Header: h, Body: cc,
			Request: &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}}
		out, err := Classify(resp)
		if code < 0 || code > 999 {
			if err == nil || !errors.Is(err, ErrBadStatus) || cc.closes == 0 {
				t.Fatalf("code %d: got %v, %v", code, out, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("code %d: %v", code, err)
		}
		if out.StatusCode() != code {
			t.Fatalf("StatusCode %d, want %d", out.StatusCode(), code)
		}
		_ = out.APIStatus()
		_ = out.Info()
		failure := out.Err() != nil
		switch {
		case code >= 400 || code < 100:
			if !failure || cc.closes == 0 {
				t.Fatalf("code %d: failure=%v closes=%d", code, failure, cc.closes)
			}
			if len(out.(interface{ Body() []byte }).Body()) > defaultMaxErrorBody {
				t.Fatalf("captured more than the cap")
			}
			_ = out.Err().Error()
		default:
			if failure {
				t.Fatalf("code %d classified as failure %T", code, out)
			}
			io.Copy(io.Discard, io.LimitReader(out.Response().Body, 1<<20))
		}
		if err := out.Close(); err != nil && failure {
			t.Fatalf("Close: %v", err)
		}
		out.Close()
	})
}

// FuzzParseProblem: any bytes, no panic; a parsed problem has a type.
func FuzzParseProblem(f *testing.F) {
	for _, s := range []string{`{"type":"https://ex.test/p","title":"t","status":403,"detail":"d","instance":"/i"}`,
		`{"title":7,"status":"403"}`, `{}`, `[]`, `null`, `{"status":1e400}`, `{"type":"%zz"}`, "\xff"} {
		f.Add([]byte(s))
	}
	base, _ := url.Parse("http://api.test/x")
	f.Fuzz(func(t *testing.T, body []byte) {
		p := ParseProblem(body, base)
		if p != nil && p.Type == "" {
			t.Fatalf("problem without a type: %+v", p)
		}
		if p != nil && (p.Status < 0 || p.Status > 999) {
			t.Fatalf("status %d", p.Status)
		}
	})
}
