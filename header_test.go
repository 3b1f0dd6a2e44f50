package semhttp

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	type p = map[string]string
	tests := []struct {
		name  string
		lines []string
		want  []Challenge
	}{
		{
			name:  "RFC 9110 §11.6.1 example",
			lines: []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			want: []Challenge{
				{Scheme: "Newauth", Params: p{"realm": "apps", "type": "1", "title": `Login to "apps"`}},
				{Scheme: "Basic", Params: p{"realm": "simple"}},
			},
		},
		{
			name:  "go-httpbin /basic-auth",
			lines: []string{`Basic realm="Fake Realm"`},
			want:  []Challenge{{Scheme: "Basic", Params: p{"realm": "Fake Realm"}}},
		},
		{
			name:  "RFC 6750 §3 Bearer error",
			lines: []string{`Bearer realm="example", error="invalid_token", error_description="The access token expired"`},
			want: []Challenge{{Scheme: "Bearer", Params: p{"realm": "example", "error": "invalid_token",
				"error_description": "The access token expired"}}},
		},
		{
			name:  "token68, then a challenge with params",
			lines: []string{`Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEF+/a==, NTLM, Basic realm="x"`},
			want: []Challenge{
				{Scheme: "Negotiate", Token68: "YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEF+/a=="},
				{Scheme: "NTLM"},
				{Scheme: "Basic", Params: p{"realm": "x"}},
			},
		},
		{
			name:  "token68 without padding, and a token68 that looks like an empty param",
			lines: []string{`Negotiate abc`, `Foo a=`},
			want:  []Challenge{{Scheme: "Negotiate", Token68: "abc"}, {Scheme: "Foo", Token68: "a="}},
		},
		{
			name:  "schemes without params, scheme case kept, keys lower-cased",
			lines: []string{`Newauth, BASIC REALM="Hi", DIGEST Realm=x, Nonce="n"`},
			want: []Challenge{
				{Scheme: "Newauth"},
				{Scheme: "BASIC", Params: p{"realm": "Hi"}},
				{Scheme: "DIGEST", Params: p{"realm": "x", "nonce": "n"}},
			},
		},
		{
			name: "RFC 7616 Digest across field lines, BWS, quoted commas",
			lines: []string{`Digest realm="http-auth@example.org", qop="auth, auth-int",`,
				`algorithm = SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"`,
				`Basic realm="b"`},
			want: []Challenge{
				{Scheme: "Digest", Params: p{"realm": "http-auth@example.org", "qop": "auth, auth-int",
					"algorithm": "SHA-256", "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"}},
				{Scheme: "Basic", Params: p{"realm": "b"}},
			},
		},
		{
			name:  "GitHub-style unquoted values with non-token characters",
			lines: []string{`Bearer scope=read:user, error=insufficient_scope`},
			want:  []Challenge{{Scheme: "Bearer", Params: p{"scope": "read:user", "error": "insufficient_scope"}}},
		},
		{
			name:  "duplicate param: first wins",
			lines: []string{`Basic realm="a", realm="b"`},
			want:  []Challenge{{Scheme: "Basic", Params: p{"realm": "a"}}},
		},
		{
			name:  "malformed params are dropped, the challenge kept",
			lines: []string{`Basic realm=My Realm, charset="UTF-8", Bearer junk here, error="e", Foo x="y"z`},
			want: []Challenge{
				{Scheme: "Basic", Params: p{"charset": "UTF-8"}},
				{Scheme: "Bearer", Params: p{"error": "e"}},
				{Scheme: "Foo"},
			},
		},
		{
			name:  "params before any scheme and after a token68 are dropped",
			lines: []string{`realm="orphan", Negotiate abc==, realm="x", Basic`},
			want:  []Challenge{{Scheme: "Negotiate", Token68: "abc=="}, {Scheme: "Basic"}},
		},
		{
			name:  "scheme glued to junk is not a challenge",
			lines: []string{`Basic"realm", Bearer/x y, Ok`},
			want:  []Challenge{{Scheme: "Ok"}},
		},
		{
			name:  "unterminated quoted string ends the line only",
			lines: []string{`Basic realm="oops, Bearer`, `Bearer realm="ok"`},
			want:  []Challenge{{Scheme: "Basic"}, {Scheme: "Bearer", Params: p{"realm": "ok"}}},
		},
		{
			name:  "garbage",
			lines: []string{``, `,,,`, `"""`, `=`, `==x`, "\x00\x01", `; ; ;`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseChallenges(tt.lines)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseChallenges(%q)\n got %#v\nwant %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseChallengesBounded(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("Basic, ", 10*64)
	if got := len(parseChallenges([]string{many, "Last"})); got != 64 {
		t.Errorf("got %d challenges, want %d", got, 64)
	}
	var sb strings.Builder
	sb.WriteString("Custom ")
	for i := range 10 * 64 {
		sb.WriteString("p")
		sb.WriteString(strings.Repeat("x", i/26))
		sb.WriteByte(byte('a' + i%26))
		sb.WriteString("=v, ")
	}
	cs := parseChallenges([]string{sb.String()})
	if len(cs) != 1 || len(cs[0].Params) != 64 {
		t.Errorf("got %d challenges, %d params; want 1 with %d", len(cs), len(cs[0].Params), 64)
	}
}

func TestChallengeHasSchemeAndParam(t *testing.T) {
	t.Parallel()
	cs := parseChallenges([]string{`bEaReR Realm="api"`})
	if len(cs) != 1 {
		t.Fatalf("got %d challenges", len(cs))
	}
	c := cs[0]
	if !c.HasScheme("Bearer") || !c.HasScheme("BEARER") || c.HasScheme("Basic") {
		t.Errorf("Is gives wrong answers for scheme %q", c.Scheme)
	}
	if c.Param("REALM") != "api" || c.Param("nope") != "" {
		t.Errorf("Param: realm=%q nope=%q", c.Param("REALM"), c.Param("nope"))
	}
}

// TestParseChallengesHTTPBin parses the 401 challenges go-httpbin sends.
func TestParseChallengesHTTPBin(t *testing.T) {
	t.Parallel()
	srv := newHTTPBin(t)
	c := newTestClient(t)
	for path, want := range map[string]Challenge{
		"/basic-auth/u/p": {Scheme: "Basic", Params: map[string]string{"realm": "Fake Realm"}},
		"/status/401":     {Scheme: "Basic", Params: map[string]string{"realm": "Fake Realm"}},
		"/bearer":         {Scheme: "Bearer"},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		got := parseChallenges(resp.Header.Values("WWW-Authenticate"))
		if len(got) != 1 || !got[0].HasScheme(want.Scheme) || got[0].Param("realm") != want.Param("realm") {
			t.Errorf("%s: %q parsed as %#v, want %#v", path, resp.Header.Values("WWW-Authenticate"), got, want)
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
		`Negotiate abc==, NTLM, Bearer realm="x", error="invalid_token"`,
		`Digest realm="r", qop="auth, auth-int", algorithm = SHA-256`,
		`Basic realm="oops`,
		`Basic"x", =, Foo a=, Bar a==b`,
		"\x00 \x7f,\t",
	} {
		f.Add(s, `realm="next line"`)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		cs := parseChallenges([]string{a, b})
		if len(cs) > 64 {
			t.Fatalf("%d challenges > %d", len(cs), 64)
		}
		for _, c := range cs {
			if !httpsyntax.IsToken(c.Scheme) {
				t.Fatalf("scheme %q is not a token", c.Scheme)
			}
			if !c.HasScheme(strings.ToUpper(c.Scheme)) {
				t.Fatalf("Is(%q) false for its own scheme", c.Scheme)
			}
			if c.Token68 != "" && c.Params != nil {
				t.Fatalf("challenge with both token68 and params: %#v", c)
			}
			if len(c.Params) > 64 {
				t.Fatalf("%d params > %d", len(c.Params), 64)
			}
			for k := range c.Params {
				if !httpsyntax.IsToken(k) || k != strings.ToLower(k) {
					t.Fatalf("bad param name %q", k)
				}
			}
		}
	})
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"absent", nil, []string{}},
		{"empty value (allowed by RFC 9110 §10.2.1)", []string{""}, []string{}},
		{"go-httpbin GET /post", []string{"POST"}, []string{"POST"}},
		{"Go 1.22 ServeMux", []string{"GET, HEAD"}, []string{"GET", "HEAD"}},
		{"several lines, odd spacing, empty members", []string{" GET ,,\tPUT", ", , DELETE,"}, []string{"GET", "PUT", "DELETE"}},
		{"extension methods and case kept", []string{"PROPFIND, get, M-SEARCH"}, []string{"PROPFIND", "get", "M-SEARCH"}},
		{"non-tokens dropped", []string{`GET, "POST", PUT PATCH, DEL/ETE, ` + "OPT\x00IONS, HEAD"}, []string{"GET", "HEAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseAllow(tt.lines)
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAllow(%q) = %#v, want %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseAllowBounded(t *testing.T) {
	t.Parallel()
	if got := len(parseAllow([]string{strings.Repeat("GET,", 10*maxAllow)})); got != maxAllow {
		t.Errorf("got %d methods, want %d", got, maxAllow)
	}
}

// TestParseAllowHTTPBin reads the Allow of a real 405.
func TestParseAllowHTTPBin(t *testing.T) {
	t.Parallel()
	srv := newHTTPBin(t)
	c := newTestClient(t)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/post", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := parseAllow(resp.Header.Values("Allow"))
	if !reflect.DeepEqual(got, []string{"POST"}) {
		t.Errorf("Allow %q parsed as %q", resp.Header.Values("Allow"), got)
	}
}

func FuzzParseAllow(f *testing.F) {
	f.Add("GET, HEAD", "POST")
	f.Add(",, ,\t", "")
	f.Add(`"GET", PUT PATCH`, "M-SEARCH,\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		got := parseAllow([]string{a, b})
		if got == nil || len(got) > maxAllow {
			t.Fatalf("ParseAllow returned nil or %d members", len(got))
		}
		for _, m := range got {
			if !httpsyntax.IsToken(m) {
				t.Fatalf("member %q is not a token", m)
			}
			if !strings.Contains(a, m) && !strings.Contains(b, m) {
				t.Fatalf("member %q is not in the input", m)
			}
		}
	})
}

func TestParseAPIStatus(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://api.example.com/v1/users/7?x=1")
	mustURL := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	d := func(s string) time.Time {
		tm, err := http.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	tests := []struct {
		name string
		h    http.Header
		want APIStatus
	}{
		{"none", http.Header{}, APIStatus{}},
		{
			name: "RFC 9745 §2.2 example with links and sunset",
			h: http.Header{
				"Deprecation": {"@1688169599"},
				"Sunset":      {"Sun, 30 Jun 2024 23:59:59 GMT"},
				"Link": {`<https://developer.example.com/deprecation>; rel="deprecation"; type="text/html"`,
					`</policies/sunset>; rel="sunset"`},
			},
			want: APIStatus{
				Deprecated:       true,
				DeprecatedAt:     time.Unix(1688169599, 0).UTC(),
				Sunset:           d("Sun, 30 Jun 2024 23:59:59 GMT"),
				DeprecationLinks: []*url.URL{mustURL("https://developer.example.com/deprecation")},
				SunsetLinks:      []*url.URL{mustURL("https://api.example.com/policies/sunset")},
			},
		},
		{
			name: "sf-date with parameters, relative link",
			h:    http.Header{"Deprecation": {" @1688169599;reason=x "}, "Link": {`<../docs>; rel=Deprecation`}},
			want: APIStatus{Deprecated: true, DeprecatedAt: time.Unix(1688169599, 0).UTC(),
				DeprecationLinks: []*url.URL{mustURL("https://api.example.com/v1/docs")}},
		},
		{"legacy true", http.Header{"Deprecation": {"true"}}, APIStatus{Deprecated: true}},
		{"sf boolean", http.Header{"Deprecation": {"?1"}}, APIStatus{Deprecated: true}},
		{"explicit false", http.Header{"Deprecation": {"false"}}, APIStatus{}},
		{
			name: "old draft HTTP-date, RFC 850 Sunset",
			h:    http.Header{"Deprecation": {"Sun, 11 Nov 2018 23:59:59 GMT"}, "Sunset": {"Sunday, 11-Nov-18 23:59:59 GMT"}},
			want: APIStatus{Deprecated: true, DeprecatedAt: d("Sun, 11 Nov 2018 23:59:59 GMT"),
				Sunset: d("Sun, 11 Nov 2018 23:59:59 GMT")},
		},
		{
			name: "invalid values are ignored; the first valid line wins",
			h: http.Header{
				"Deprecation": {"@12x", "@1234567890123456", "yes", "@-1", "@5"},
				"Sunset":      {"tomorrow", "1700000000", "Wed, 01 Jan 2031 00:00:00 GMT", "Thu, 01 Jan 2032 00:00:00 GMT"},
			},
			want: APIStatus{Deprecated: true, DeprecatedAt: time.Unix(-1, 0).UTC(),
				Sunset: d("Wed, 01 Jan 2031 00:00:00 GMT")},
		},
		{"only garbage", http.Header{"Deprecation": {"@", "soon"}, "Sunset": {""}}, APIStatus{}},
		{
			name: "one link with both relations, other links ignored",
			h:    http.Header{"Link": {`</next>; rel=next, </p>; rel="sunset deprecation"`}},
			want: APIStatus{DeprecationLinks: []*url.URL{mustURL("https://api.example.com/p")},
				SunsetLinks: []*url.URL{mustURL("https://api.example.com/p")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseAPIStatus(tt.h, base)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseAPIStatus(%q)\n got %+v\nwant %+v", tt.h, got, tt.want)
			}
		})
	}
}

func TestParseAPIStatusNilBase(t *testing.T) {
	t.Parallel()
	s := parseAPIStatus(http.Header{"Link": {`</docs>; rel=deprecation`}}, nil)
	if len(s.DeprecationLinks) != 1 || s.DeprecationLinks[0].String() != "/docs" {
		t.Errorf("links = %v, want the reference as sent", s.DeprecationLinks)
	}
}

func TestAPIStatusDeprecatedNow(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	future := APIStatus{Deprecated: true, DeprecatedAt: at}
	if future.DeprecatedNow(at.Add(-time.Second)) {
		t.Error("deprecated before its date")
	}
	if !future.DeprecatedNow(at) || !future.DeprecatedNow(at.Add(time.Hour)) {
		t.Error("not deprecated at or after its date")
	}
	if !(APIStatus{Deprecated: true}).DeprecatedNow(time.Time{}) {
		t.Error("undated deprecation not in effect")
	}
	if (APIStatus{DeprecatedAt: at}).DeprecatedNow(at) {
		t.Error("deprecated without Deprecated")
	}
}

func FuzzParseAPIStatus(f *testing.F) {
	f.Add("@1688169599", "Sun, 30 Jun 2024 23:59:59 GMT", `</d>; rel="deprecation sunset"`)
	f.Add("true", "Sunday, 11-Nov-18 23:59:59 GMT", `<https://x/>; rel=sunset`)
	f.Add("@-999999999999999;a=b", "Sun Nov  6 08:49:37 1994", `<::>; rel=deprecation`)
	f.Add("Sun, 11 Nov 2018 23:59:59 GMT", "garbage", "garbage")
	base, _ := url.Parse("https://api.example.com/v1/x")
	f.Fuzz(func(t *testing.T, dep, sunset, link string) {
		h := http.Header{"Deprecation": {dep}, "Sunset": {sunset}, "Link": {link}}
		s := parseAPIStatus(h, base)
		if !s.DeprecatedAt.IsZero() && !s.Deprecated {
			t.Fatal("DeprecatedAt set without Deprecated")
		}
		if s.DeprecatedAt.Location() != time.UTC || s.Sunset.Location() != time.UTC {
			t.Fatal("times not in UTC")
		}
		for _, u := range append(s.DeprecationLinks, s.SunsetLinks...) {
			if u == nil || !u.IsAbs() {
				t.Fatalf("link %v not resolved to an absolute URL", u)
			}
		}
		if len(s.DeprecationLinks)+len(s.SunsetLinks) > 2*httpsyntax.MaxLinks {
			t.Fatal("too many links")
		}
	})
}

func TestMonitorHeaderKeysAreCanonical(t *testing.T) {
	for _, mh := range monitorHeaders {
		if k := http.CanonicalHeaderKey(mh.name); k != mh.key {
			t.Errorf("monitorHeaders: %q is stored as %q, want %q", mh.name, mh.key, k)
		}
	}
}
