package httpsyntax

import (
	"net/http"
	"testing"
	"time"
)

// RFC 9111 §5.2 (grammar), §1.2.2 (delta-seconds), §4.2.1 (invalid or
// repeated freshness information): how Cache-Control field lines read.
func TestParseCacheControl(t *testing.T) {
	const maxD = (1 << 31) * time.Second
	for _, tc := range []struct {
		lines []string
		want  CacheControl
	}{
		{[]string{"max-age=60"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true}},
		{[]string{`max-age="60"`}, CacheControl{MaxAge: time.Minute, HasMaxAge: true}},
		{[]string{"MAX-AGE=60, Public"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true, Public: true}},
		{[]string{"max-age=060"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true}},
		// §5.2: no whitespace around '='; an invalid argument: stale.
		{[]string{"max-age =60"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age= 60"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age = 60"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age=60.0"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age=-1"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age=a60"}, CacheControl{BadMaxAge: true}},
		{[]string{"max-age"}, CacheControl{BadMaxAge: true}},
		{[]string{`max-age="6`}, CacheControl{BadMaxAge: true}},
		// §4.2.1: two different lifetimes: neither is trusted.
		{[]string{"max-age=60, max-age=30"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true, BadMaxAge: true}},
		{[]string{"max-age=60", "max-age=30"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true, BadMaxAge: true}},
		{[]string{"max-age=60", "max-age=60"}, CacheControl{MaxAge: time.Minute, HasMaxAge: true}},
		// §1.2.2: too large to represent is 2^31 seconds.
		{[]string{"max-age=2147483648"}, CacheControl{MaxAge: maxD, HasMaxAge: true}},
		{[]string{"max-age=99999999999999999999999999"}, CacheControl{MaxAge: maxD, HasMaxAge: true}},
		{[]string{"max-stale"}, CacheControl{MaxStale: maxD, HasMaxStale: true}},
		{[]string{"max-stale=x"}, CacheControl{}},
		{[]string{"min-fresh=5, stale-if-error=7, stale-while-revalidate=9"}, CacheControl{
			MinFresh: 5 * time.Second, HasMinFresh: true, StaleIfError: 7 * time.Second, HasStaleIfError: true,
			StaleWhileRevalidate: 9 * time.Second, HasStaleWhileRevalidate: true}},
		// Unknown directives, and their quoted arguments, are skipped.
		{[]string{`foo="max-age=60, no-store", no-cache`}, CacheControl{NoCache: true}},
		{[]string{`,, ,no-store,,`}, CacheControl{NoStore: true}},
		{[]string{`=, "x", no-store`}, CacheControl{NoStore: true}},
		{[]string{"proxy-revalidate, immutable, only-if-cached, private"}, CacheControl{MustRevalidate: true, Immutable: true, OnlyIfCached: true, Private: true}},
		// §5.2.2.4: no-cache with field names; any other argument is the
		// unqualified directive.
		{[]string{`no-cache="Set-Cookie, a"`}, CacheControl{NoCacheFields: "Set-Cookie, a"}},
		{[]string{`no-cache=a`, `no-cache="b"`}, CacheControl{NoCacheFields: "a, b"}},
		{[]string{`no-cache="a", no-cache`}, CacheControl{NoCache: true, NoCacheFields: "a"}},
		{[]string{`no-cache=""`}, CacheControl{NoCache: true}},
		{[]string{`no-cache=", ,"`}, CacheControl{NoCache: true}},
		{[]string{`no-cache="a b"`}, CacheControl{NoCache: true}},
		{[]string{"no-store, must-understand"}, CacheControl{NoStore: true, MustUnderstand: true}},
	} {
		got := ParseCacheControl(http.Header{"Cache-Control": tc.lines})
		if got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.lines, got, tc.want)
		}
	}
}
