package httpsyntax

import (
	"math"
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"http://a.example/x", "http://A.example:80/y", true},
		{"https://a.example/x", "https://a.example:443/y", true},
		{"HTTPS://a.example/x", "https://a.example/y?q", true},
		{"http://[::1]:8080/", "http://[::1]:8080/z", true},
		{"http://a.example/x", "https://a.example/x", false},
		{"http://a.example/x", "http://a.example:8080/x", false},
		{"http://a.example/x", "http://b.example/x", false},
		{"ftp://a.example/x", "http://a.example/x", false},
		{"ftp://a.example/x", "ftp://a.example:80/x", false}, // no default port for ftp here
		{"http://127.0.0.1:1/", "http://127.0.0.1:2/", false},
		{"http://127.0.0.1:1/", "http://localhost:1/", false},
		{"http://a.example/", "http://sub.a.example/", false},
		{"http://[::1]:80/", "http://[::1]/", true},
		{"http://u:p@a.example/", "http://a.example/", true},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := SameOrigin(a, b); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v", tc.a, tc.b, got)
		}
		if got := SameOrigin(b, a); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v (not symmetric)", tc.b, tc.a, got)
		}
	}
	if SameOrigin(nil, nil) {
		t.Error("nil URLs are the same origin")
	}
	u, _ := url.Parse("HTTPS://User@Example.COM/p?q")
	if o := Origin(u).String(); o != "https://example.com:443" {
		t.Errorf("Origin = %s", o)
	}
}

func TestRedact(t *testing.T) {
	u, _ := url.Parse("https://u:pw@h.example:8443/a%2Fb/c?token=T#frag")
	if got := Redact(u); got != "https://h.example:8443/a%2Fb/c" {
		t.Errorf("Redact = %q", got)
	}
	for raw, want := range map[string]string{
		"http://u:PASS@h/%zz?token=T#f": "http://h/%zz",
		"http://u:PASS@h:99999x/?t=1":   "http://h:99999x/",
		"u:PASS@h/x":                    "h/x",
		"/relative?q=1":                 "/relative",
		"http://h/a@b":                  "http://h/a@b", // an '@' in the path is not userinfo
	} {
		if got := RedactRaw(raw); got != want {
			t.Errorf("RedactRaw(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestDigits(t *testing.T) {
	for _, tc := range []struct {
		in           string
		n            int64
		ok, overflow bool
	}{
		{"0", 0, true, false},
		{"120", 120, true, false},
		{"9223372036854775807", math.MaxInt64, true, false},
		{"9223372036854775808", math.MaxInt64, true, true},
		{"99999999999999999999999", math.MaxInt64, true, true},
		{"", 0, false, false},
		{"+1", 0, false, false},
		{"-1", 0, false, false},
		{"1.5", 0, false, false},
		{" 1", 0, false, false},
		{"99999999999999999999999x", 0, false, false}, // junk after an overflow is still junk
	} {
		n, ok, of := Digits(tc.in)
		if n != tc.n || ok != tc.ok || of != tc.overflow {
			t.Errorf("Digits(%q) = %d, %v, %v; want %d, %v, %v", tc.in, n, ok, of, tc.n, tc.ok, tc.overflow)
		}
	}
}

func FuzzDigits(f *testing.F) {
	for _, s := range []string{"0", "120", "9223372036854775808", "", "+1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, overflow := Digits(s)
		if !ok && (n != 0 || overflow) {
			t.Fatalf("Digits(%q) = %d, %v, %v", s, n, ok, overflow)
		}
		if ok && (n < 0 || overflow && n != math.MaxInt64) {
			t.Fatalf("Digits(%q) = %d, overflow %v", s, n, overflow)
		}
	})
}
