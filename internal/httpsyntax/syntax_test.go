package httpsyntax

import (
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
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
	srv := httptest.NewServer(httpbin.New())
	t.Cleanup(srv.Close)
	c := srv.Client()
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

// malformedLinks is a Link field of n copies of one malformed link-value.
func malformedLinks(bad string, n int) http.Header {
	return http.Header{"Link": {strings.Repeat(bad+", ", n-1) + bad}}
}

// Malformed link-values count toward MaxLinks like well-formed ones
// (issue 21, item 4): a Link field of 100,000 of them does the work of
// MaxLinks, not of 100,000. The work is told by allocations: each of these
// malformed values allocates while it is parsed (the URL, or the error of
// parsing it), so a parser that read all of them would allocate 100 times
// more for 100,000 values than for 1,000. (Before, it did: only valid
// links counted, and the client's 1 MiB header limit holds some 174,000
// values "<%zz>,", 3 allocations each.)
func TestParseLinksMalformedCount(t *testing.T) {
	for _, bad := range []string{
		`<%zz>`,              // the target is not a URI reference
		`</a> junk`,          // junk after the target
		`</a>; rel=next; =x`, // a parameter without a name
		`</a>; t="x"y`,       // junk after a quoted-string
	} {
		small, large := malformedLinks(bad, 1000), malformedLinks(bad, 100_000)
		if ls := ParseLinks(large); ls != nil {
			t.Fatalf("%s: %d links from malformed values", bad, len(ls))
		}
		a1k := testing.AllocsPerRun(5, func() { ParseLinks(small) })
		a100k := testing.AllocsPerRun(5, func() { ParseLinks(large) })
		t.Logf("%-18s allocations for 1,000 malformed values: %.0f; for 100,000: %.0f", bad, a1k, a100k)
		if a100k > a1k || a1k > 4*MaxLinks {
			t.Errorf("%s: allocations grow with the malformed values: %.0f for 1,000, %.0f for 100,000 (MaxLinks %d)", bad, a1k, a100k, MaxLinks)
		}
	}
	// The limit counts values, not links: a valid link after MaxLinks
	// malformed values is not read; one before them is.
	h := malformedLinks("junk", MaxLinks)
	h.Add("Link", "</late>; rel=next")
	if ls := ParseLinks(h); ls != nil {
		t.Errorf("a link after MaxLinks malformed values was read: %v", viewLinks(ls))
	}
	h = http.Header{"Link": {"</early>; rel=next"}}
	h.Add("Link", malformedLinks("junk", 100_000)["Link"][0])
	if ls := ParseLinks(h); len(ls) != 1 || ls[0].URL.Path != "/early" {
		t.Errorf("got %v, want the one link before the malformed values", viewLinks(ls))
	}
}

// What a link-value holds past what is kept is skipped without
// allocating: quoted-strings with escapes in a malformed value (skipped to
// its end), and parameters past maxParams (Uppercase names, escaped
// values) of a valid one. Before, each allocated as it was unescaped or
// lower-cased and then dropped: within one link-value, the MaxLinks
// bound does not help.
func TestParseLinksSkipsWithoutAllocating(t *testing.T) {
	allocs := func(h http.Header) float64 {
		return testing.AllocsPerRun(5, func() { ParseLinks(h) })
	}
	// A malformed value: not a '<' first, then quoted-strings with escapes.
	malformed := func(n int) http.Header {
		return http.Header{"Link": {"junk" + strings.Repeat(` "\""`, n) + ", </ok>; rel=next"}}
	}
	// A valid value with n parameters past maxParams.
	params := func(n int) http.Header {
		var sb strings.Builder
		sb.WriteString("</ok>; rel=next")
		for i := range maxParams + n {
			fmt.Fprintf(&sb, `; P%d="\%d"`, i, i)
		}
		return http.Header{"Link": {sb.String()}}
	}
	for _, c := range []struct {
		what string
		h    func(int) http.Header
	}{{"malformed value with escaped quoted-strings", malformed}, {"parameters past maxParams", params}} {
		if ls := ParseLinks(c.h(10_000)); len(ls) != 1 || ls[0].URL.Path != "/ok" || !ls[0].HasRel("next") {
			t.Fatalf("%s: got %v", c.what, viewLinks(ls))
		}
		a10, a10k := allocs(c.h(10)), allocs(c.h(10_000))
		t.Logf("%s: %.0f allocations with 10, %.0f with 10,000", c.what, a10, a10k)
		if a10k > a10 {
			t.Errorf("%s: allocations grow with what is skipped: %.0f with 10, %.0f with 10,000", c.what, a10, a10k)
		}
	}
}

// BenchmarkParseLinksMalformed parses a Link field of n malformed values:
// its time stays flat from 1,000 to 100,000 once they count toward
// MaxLinks ("x" allocates nothing, so only the time tells the work).
func BenchmarkParseLinksMalformed(b *testing.B) {
	for _, bad := range []string{"x", "<%zz>"} {
		for _, n := range []int{1000, 100_000} {
			h := malformedLinks(bad, n)
			b.Run(fmt.Sprintf("%s/%d", bad, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ParseLinks(h)
				}
			})
		}
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
				// Case-insensitive as RFC 8288 §2.1.1 compares relation
				// types: ASCII letters (a non-ASCII "ı" upper-cases to an
				// "I" that does not fold back to it).
				upper := strings.Map(func(c rune) rune {
					if 'a' <= c && c <= 'z' {
						return c - 'a' + 'A'
					}
					return c
				}, r)
				if !l.HasRel(upper) {
					t.Fatalf("HasRel(%q) false for its own rel", r)
				}
			}
			for k := range l.Params {
				if k == "rel" || k != strings.ToLower(k) || !IsToken(k) {
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

func TestMediaType(t *testing.T) {
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
		if got := MediaType(tc.in); got != tc.want {
			t.Errorf("MediaType(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMediaType checks the allocation-free media type against
// mime.ParseMediaType: wherever both accept a value they name the same
// type, and where only the standard library accepts it, the type holds a
// character RFC 9110 does not allow in a token (mime follows RFC 1521,
// which allows '{', '}' and a few more).
func FuzzMediaType(f *testing.F) {
	for _, s := range []string{"application/json", "Text/Plain; charset=\"x\"", "a/b;c", "application/problem+json ; a=b", "x/y; =z", "ü/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		got := MediaType(ct)
		if got != "" && (got != strings.ToLower(got) || !strings.Contains(got, "/")) {
			t.Fatalf("MediaType(%q) = %q: not a lower-case type/subtype", ct, got)
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "/") {
			return
		}
		typ, sub, _ := strings.Cut(mt, "/")
		if got == "" && IsToken(typ) && IsToken(sub) || got != "" && got != mt {
			t.Fatalf("MediaType(%q) = %q; mime.ParseMediaType says %q", ct, got, mt)
		}
	})
}
