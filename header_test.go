package semhttp

import (
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// linkView is a comparable rendering of a Link for table tests.
type linkView struct {
	URL    string
	Rel    []string
	Params map[string]string
}

func viewLinks(ls []Link) []linkView {
	var out []linkView
	for _, l := range ls {
		out = append(out, linkView{URL: l.URL.String(), Rel: l.Rel, Params: l.Params})
	}
	return out
}

func TestParseLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []linkView
	}{
		{
			name: "GitHub pagination",
			lines: []string{`<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", ` +
				`<https://api.github.com/repositories/1300192/issues?page=4>; rel="next", ` +
				`<https://api.github.com/repositories/1300192/issues?page=515>; rel="last", ` +
				`<https://api.github.com/repositories/1300192/issues?page=1>; rel="first"`},
			want: []linkView{
				{URL: "https://api.github.com/repositories/1300192/issues?page=2", Rel: []string{"prev"}},
				{URL: "https://api.github.com/repositories/1300192/issues?page=4", Rel: []string{"next"}},
				{URL: "https://api.github.com/repositories/1300192/issues?page=515", Rel: []string{"last"}},
				{URL: "https://api.github.com/repositories/1300192/issues?page=1", Rel: []string{"first"}},
			},
		},
		{
			name:  "RFC 8288 §3.5 first example",
			lines: []string{`<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"`},
			want: []linkView{{URL: "http://example.com/TheBook/chapter2", Rel: []string{"previous"},
				Params: map[string]string{"title": "previous chapter"}}},
		},
		{
			name:  "RFC 8288 §3.5 root with unquoted rel",
			lines: []string{`</>; rel="http://example.net/foo"`},
			want:  []linkView{{URL: "/", Rel: []string{"http://example.net/foo"}}},
		},
		{
			name:  "RFC 8288 §3.5 anchor",
			lines: []string{`</terms>; rel="copyright"; anchor="#foo"`},
			want: []linkView{{URL: "/terms", Rel: []string{"copyright"},
				Params: map[string]string{"anchor": "#foo"}}},
		},
		{
			name: "RFC 8288 §3.5 title* kept raw",
			lines: []string{`</TheBook/chapter2>; rel="previous"; title*=UTF-8'de'letztes%20Kapitel, ` +
				`</TheBook/chapter4>; rel="next"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel`},
			want: []linkView{
				{URL: "/TheBook/chapter2", Rel: []string{"previous"},
					Params: map[string]string{"title*": "UTF-8'de'letztes%20Kapitel"}},
				{URL: "/TheBook/chapter4", Rel: []string{"next"},
					Params: map[string]string{"title*": "UTF-8'de'n%c3%a4chstes%20Kapitel"}},
			},
		},
		{
			name:  "RFC 8288 §3.5 several relation types, mixed case",
			lines: []string{`<http://example.org/>; rel="START http://example.net/relation/other"`},
			want: []linkView{{URL: "http://example.org/",
				Rel: []string{"start", "http://example.net/relation/other"}}},
		},
		{
			name:  "several field lines",
			lines: []string{`</a>; rel=next`, `</b>; rel=prev, </c>; rel=last`},
			want: []linkView{
				{URL: "/a", Rel: []string{"next"}},
				{URL: "/b", Rel: []string{"prev"}},
				{URL: "/c", Rel: []string{"last"}},
			},
		},
		{
			name:  "commas inside the target and inside quoted strings",
			lines: []string{`</a,b?x=1,2>; rel="next"; title="one, two; three", </c>; rel=prev`},
			want: []linkView{
				{URL: "/a,b?x=1,2", Rel: []string{"next"}, Params: map[string]string{"title": "one, two; three"}},
				{URL: "/c", Rel: []string{"prev"}},
			},
		},
		{
			name:  "backslash escapes",
			lines: []string{`</a>; rel=next; title="say \"hi\" \\ bye"`},
			want: []linkView{{URL: "/a", Rel: []string{"next"},
				Params: map[string]string{"title": `say "hi" \ bye`}}},
		},
		{
			name:  "duplicate rel: first wins; duplicate title: first wins",
			lines: []string{`</a>; rel=next; rel=prev; title=one; title=two`},
			want: []linkView{{URL: "/a", Rel: []string{"next"},
				Params: map[string]string{"title": "one"}}},
		},
		{
			name:  "parameter names are case-insensitive, valueless parameters and BWS",
			lines: []string{`</a> ;REL = "Next" ; Type = text/html;crossorigin;`},
			want: []linkView{{URL: "/a", Rel: []string{"next"},
				Params: map[string]string{"type": "text/html", "crossorigin": ""}}},
		},
		{
			name:  "no rel, empty target, empty list elements",
			lines: []string{`, ,<>,, </x>; title=t ,`},
			want: []linkView{
				{URL: ""},
				{URL: "/x", Params: map[string]string{"title": "t"}},
			},
		},
		{
			name:  "malformed link-values are skipped",
			lines: []string{`http://no-brackets; rel=next, </ok1>; rel=a, </bad> junk, </ok2>; rel=b, </bad2>; ="x", </ok3>; rel=c`},
			want: []linkView{
				{URL: "/ok1", Rel: []string{"a"}},
				{URL: "/ok2", Rel: []string{"b"}},
				{URL: "/ok3", Rel: []string{"c"}},
			},
		},
		{
			name:  "junk after a quoted string, then a good link",
			lines: []string{`</bad>; title="x"y, </ok>; rel=next`},
			want:  []linkView{{URL: "/ok", Rel: []string{"next"}}},
		},
		{
			name:  "bad URL is skipped",
			lines: []string{"<http://[::1/a>; rel=next, <http://x/\x7f>; rel=a, </ok>; rel=b"},
			want:  []linkView{{URL: "/ok", Rel: []string{"b"}}},
		},
		{
			name:  "unterminated target ends the line, not the header",
			lines: []string{`</a>; rel=next, </b; rel=prev`, `</c>; rel=last`},
			want: []linkView{
				{URL: "/a", Rel: []string{"next"}},
				{URL: "/c", Rel: []string{"last"}},
			},
		},
		{
			name:  "unterminated quoted string swallows the rest of its line",
			lines: []string{`</a>; rel=next, </b>; title="oops, </c>; rel=last`},
			want:  []linkView{{URL: "/a", Rel: []string{"next"}}},
		},
		{
			name:  "garbage",
			lines: []string{`;;;`, `>>><<<`, `"""`, ``, `=`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Link": tt.lines}
			got := viewLinks(ParseLinks(h))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLinks(%q)\n got %#v\nwant %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseLinksBounded(t *testing.T) {
	t.Parallel()
	one := `</p>; rel=next`
	h := http.Header{"Link": {strings.Repeat(one+", ", 1000)}}
	for range 10 {
		h.Add("Link", one)
	}
	if got := len(ParseLinks(h)); got != MaxLinks {
		t.Errorf("got %d links, want MaxLinks = %d", got, MaxLinks)
	}

	var sb strings.Builder
	sb.WriteString("</p>")
	for i := range 10 * maxParams {
		sb.WriteString("; p")
		sb.WriteString(strings.Repeat("x", i%7+1))
		sb.WriteString(string(rune('a' + i%26)))
		sb.WriteString("=v")
	}
	sb.WriteString(`; rel=next`)
	ls := ParseLinks(http.Header{"Link": {sb.String()}})
	if len(ls) != 1 {
		t.Fatalf("got %d links, want 1", len(ls))
	}
	if n := len(ls[0].Params); n > maxParams {
		t.Errorf("kept %d params, want at most %d", n, maxParams)
	}
}

func TestLinkHasRelAndParam(t *testing.T) {
	t.Parallel()
	ls := ParseLinks(http.Header{"Link": {`</x>; rel="Alternate NEXT"; Title="T"; type=text/html`}})
	if len(ls) != 1 {
		t.Fatalf("got %d links", len(ls))
	}
	l := ls[0]
	for _, rel := range []string{"alternate", "ALTERNATE", "next", "Next"} {
		if !l.HasRel(rel) {
			t.Errorf("HasRel(%q) = false, want true", rel)
		}
	}
	if l.HasRel("prev") || l.HasRel("") {
		t.Error("HasRel matched a relation type that is not there")
	}
	if got := l.Param("TITLE"); got != "T" {
		t.Errorf("Param(TITLE) = %q", got)
	}
	if got := l.Param("rel"); got != "alternate next" {
		t.Errorf("Param(rel) = %q", got)
	}
	if got := l.Param("missing"); got != "" {
		t.Errorf("Param(missing) = %q", got)
	}
	if (Link{}).HasRel("next") {
		t.Error("zero Link has a rel")
	}
}

// TestParseLinksHTTPBin reads a Link header from a real server: go-httpbin
// echoes query pairs as response headers.
func TestParseLinksHTTPBin(t *testing.T) {
	t.Parallel()
	srv := newHTTPBin(t)
	c := newTestClient(t)
	q := url.Values{"Link": {`<` + srv.URL + `/page/2>; rel="next", </page/9>; rel="last"`}}
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/response-headers?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ls := ParseLinks(resp.Header)
	if len(ls) != 2 || !ls[0].HasRel("next") || !ls[1].HasRel("last") {
		t.Fatalf("links = %#v", viewLinks(ls))
	}
	if got, want := ls[0].URL.String(), srv.URL+"/page/2"; got != want {
		t.Errorf("next = %q, want %q", got, want)
	}
	if got := ls[1].URL.String(); got != "/page/9" {
		t.Errorf("last = %q, want the unresolved reference /page/9", got)
	}
}

func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`<https://api.github.com/repositories/1300192/issues?page=4>; rel="next", <https://api.github.com/repositories/1300192/issues?page=515>; rel="last"`,
		`</TheBook/chapter2>; rel="previous"; title*=UTF-8'de'letztes%20Kapitel`,
		`</a,b>; rel="next prev"; title="x, \"y\""; anchor=#z`,
		`</a>; rel=next; rel=prev, junk, </b`,
		`</a>; title="unterminated`,
		`<>;;;,,`,
		"\x00<\x7f>",
	} {
		f.Add(s, "</second>; rel=next")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ls := ParseLinks(http.Header{"Link": {a, b}})
		if len(ls) > MaxLinks {
			t.Fatalf("%d links > MaxLinks", len(ls))
		}
		for _, l := range ls {
			if l.URL == nil {
				t.Fatal("link with nil URL")
			}
			if len(l.Params) > maxParams {
				t.Fatalf("%d params > maxParams", len(l.Params))
			}
			for _, r := range l.Rel {
				if r == "" || r != strings.ToLower(r) || strings.ContainsAny(r, " \t") {
					t.Fatalf("bad relation type %q", r)
				}
				if !l.HasRel(strings.ToUpper(r)) {
					t.Fatalf("HasRel(%q) false for its own rel", r)
				}
			}
			for k := range l.Params {
				if k == "rel" || k != strings.ToLower(k) || !isToken(k) {
					t.Fatalf("bad param name %q", k)
				}
			}
		}
		// Each line parses on its own the same way as within the header,
		// except that the header-wide bound may cut the second line short.
		la := ParseLinks(http.Header{"Link": {a}})
		if len(la) > len(ls) {
			t.Fatalf("first line alone gives %d links, header gives %d", len(la), len(ls))
		}
	})
}

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
			got := ParseChallenges(tt.lines)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenges(%q)\n got %#v\nwant %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseChallengesBounded(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("Basic, ", 10*maxChallenges)
	if got := len(ParseChallenges([]string{many, "Last"})); got != maxChallenges {
		t.Errorf("got %d challenges, want %d", got, maxChallenges)
	}
	var sb strings.Builder
	sb.WriteString("Custom ")
	for i := range 10 * maxParams {
		sb.WriteString("p")
		sb.WriteString(strings.Repeat("x", i/26))
		sb.WriteByte(byte('a' + i%26))
		sb.WriteString("=v, ")
	}
	cs := ParseChallenges([]string{sb.String()})
	if len(cs) != 1 || len(cs[0].Params) != maxParams {
		t.Errorf("got %d challenges, %d params; want 1 with %d", len(cs), len(cs[0].Params), maxParams)
	}
}

func TestChallengeIsAndParam(t *testing.T) {
	t.Parallel()
	cs := ParseChallenges([]string{`bEaReR Realm="api"`})
	if len(cs) != 1 {
		t.Fatalf("got %d challenges", len(cs))
	}
	c := cs[0]
	if !c.Is("Bearer") || !c.Is("BEARER") || c.Is("Basic") {
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
		got := ParseChallenges(resp.Header.Values("WWW-Authenticate"))
		if len(got) != 1 || !got[0].Is(want.Scheme) || got[0].Param("realm") != want.Param("realm") {
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
		cs := ParseChallenges([]string{a, b})
		if len(cs) > maxChallenges {
			t.Fatalf("%d challenges > %d", len(cs), maxChallenges)
		}
		for _, c := range cs {
			if !isToken(c.Scheme) {
				t.Fatalf("scheme %q is not a token", c.Scheme)
			}
			if !c.Is(strings.ToUpper(c.Scheme)) {
				t.Fatalf("Is(%q) false for its own scheme", c.Scheme)
			}
			if c.Token68 != "" && c.Params != nil {
				t.Fatalf("challenge with both token68 and params: %#v", c)
			}
			if len(c.Params) > maxParams {
				t.Fatalf("%d params > %d", len(c.Params), maxParams)
			}
			for k := range c.Params {
				if !isToken(k) || k != strings.ToLower(k) {
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
			got := ParseAllow(tt.lines)
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseAllow(%q) = %#v, want %#v", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseAllowBounded(t *testing.T) {
	t.Parallel()
	if got := len(ParseAllow([]string{strings.Repeat("GET,", 10*maxAllow)})); got != maxAllow {
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
	got := ParseAllow(resp.Header.Values("Allow"))
	if !reflect.DeepEqual(got, []string{"POST"}) {
		t.Errorf("Allow %q parsed as %q", resp.Header.Values("Allow"), got)
	}
}

func FuzzParseAllow(f *testing.F) {
	f.Add("GET, HEAD", "POST")
	f.Add(",, ,\t", "")
	f.Add(`"GET", PUT PATCH`, "M-SEARCH,\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		got := ParseAllow([]string{a, b})
		if got == nil || len(got) > maxAllow {
			t.Fatalf("ParseAllow returned nil or %d members", len(got))
		}
		for _, m := range got {
			if !isToken(m) {
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
			got := ParseAPIStatus(tt.h, base)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseAPIStatus(%q)\n got %+v\nwant %+v", tt.h, got, tt.want)
			}
		})
	}
}

func TestParseAPIStatusNilBase(t *testing.T) {
	t.Parallel()
	s := ParseAPIStatus(http.Header{"Link": {`</docs>; rel=deprecation`}}, nil)
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
		s := ParseAPIStatus(h, base)
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
		if len(s.DeprecationLinks)+len(s.SunsetLinks) > 2*MaxLinks {
			t.Fatal("too many links")
		}
	})
}

func TestMediaTypeOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"application/json", "application/json"},
		{"Application/JSON; charset=utf-8", "application/json"},
		{" application/problem+json ;charset=utf-8", "application/problem+json"},
		{"application/json; =broken", "application/json"}, // the type still counts
		{"text/plain", "text/plain"},
		{"", ""},
		{"json", ""},
		{"application/", ""},
		{"/json", ""},
		{"application/json/x", ""},
		{"appli cation/json", ""},
		{"application/js\x00n", ""},
	} {
		if got := mediaTypeOf(tc.in); got != tc.want {
			t.Errorf("mediaTypeOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMediaTypeOf checks the allocation-free media type against
// mime.ParseMediaType: wherever both accept a value they name the same
// type, and where only the standard library accepts it, the type holds a
// character RFC 9110 does not allow in a token (mime follows RFC 1521,
// which allows '{', '}' and a few more).
func FuzzMediaTypeOf(f *testing.F) {
	for _, s := range []string{"application/json", "Text/Plain; charset=\"x\"", "a/b;c", "application/problem+json ; a=b", "x/y; =z", "ü/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		got := mediaTypeOf(ct)
		if got != "" && (got != strings.ToLower(got) || !strings.Contains(got, "/")) {
			t.Fatalf("mediaTypeOf(%q) = %q: not a lower-case type/subtype", ct, got)
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "/") {
			return
		}
		typ, sub, _ := strings.Cut(mt, "/")
		if got == "" && isToken(typ) && isToken(sub) || got != "" && got != mt {
			t.Fatalf("mediaTypeOf(%q) = %q; mime.ParseMediaType says %q", ct, got, mt)
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
