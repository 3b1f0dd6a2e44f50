package semhttp

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// RFC 9111 §4.1: the Vary fields of a request match when their values are
// the same once normalized: list elements trimmed and joined, and the
// case folded where values are case-insensitive (Accept-Language,
// Accept-Encoding, Accept-Charset), not elsewhere (Accept's parameters
// may be case-sensitive).
func TestCacheVariantNormalization(t *testing.T) {
	t.Parallel()
	variant := func(name string, values ...string) string {
		return cacheVariant([]string{name}, http.Header{name: values}, "")
	}
	for _, tc := range []struct {
		name   string
		a, b   []string
		equals bool
	}{
		{"Accept-Language", []string{"en, de"}, []string{"en,de"}, true},
		{"Accept-Language", []string{"en", "de"}, []string{"en, de"}, true},
		{"Accept-Language", []string{"en, DE;Q=0.5"}, []string{"EN, de;q=0.5"}, true},
		{"Accept-Language", []string{"en, de"}, []string{"de, en"}, false}, // the order is the preference
		{"Accept-Encoding", []string{"GZIP, br"}, []string{"gzip,Br"}, true},
		{"Accept", []string{"text/html;level=A"}, []string{"text/html;level=a"}, false},
		{"Foo", []string{""}, nil, false}, // empty is not absent
	} {
		if got := variant(tc.name, tc.a...) == variant(tc.name, tc.b...); got != tc.equals {
			t.Errorf("%s: %q and %q match: %v, want %v", tc.name, tc.a, tc.b, got, tc.equals)
		}
	}
}

// §4.2.3 and §1.2.2: age arithmetic saturates. An entry from a Store with
// a zero Stored, a negative Age or Lifetime, or values near the limits of
// time.Duration is stale, never fresh by an overflow; huge Age, Expires
// and Date values are clamped.
func TestCacheAgeArithmeticSaturates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const maxD = time.Duration(math.MaxInt64)
	var none httpsyntax.CacheControl
	anyStale := httpsyntax.CacheControl{HasMaxStale: true, MaxStale: (1 << 31) * time.Second}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"zero Stored", Entry{Age: time.Second, Lifetime: time.Hour}},
		{"negative Age", Entry{Stored: now, Age: -time.Hour, Lifetime: time.Hour}},
		{"huge Age", Entry{Stored: now.Add(-time.Hour), Age: maxD - time.Second, Lifetime: time.Hour}},
		{"huge negative Age", Entry{Stored: now, Age: math.MinInt64, Lifetime: time.Hour}},
		{"Stored far in the past", Entry{Stored: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Age: time.Hour, Lifetime: 1 << 62}},
	} {
		e := tc.e
		e.StatusCode, e.Header = 200, http.Header{"Cache-Control": {"stale-while-revalidate=60, stale-if-error=60"}}
		if how, age := reuse(&e, none, now); how != mustValidate || age < 0 {
			t.Errorf("%s: reuse = %d, age %v; want it revalidated", tc.name, how, age)
		}
		if staleOnError(&e, none, now) {
			t.Errorf("%s: served stale on error", tc.name)
		}
		if how, _ := reuse(&e, anyStale, now); how == serveFresh {
			t.Errorf("%s: fresh under max-stale", tc.name)
		}
	}
	neg := Entry{StatusCode: 200, Stored: now, Age: 10 * time.Second, Lifetime: math.MinInt64, Header: http.Header{}}
	if how, _ := reuse(&neg, httpsyntax.CacheControl{HasMaxStale: true, MaxStale: time.Second}, now); how != mustValidate {
		t.Errorf("negative Lifetime: reuse = %d under max-stale=1, want it revalidated", how)
	}

	for _, tc := range []struct {
		name string
		h    http.Header
		max  time.Duration
	}{
		{"Age past 2^31", http.Header{"Age": {"99999999999999999999999999"}}, (1<<31)*time.Second + time.Minute},
		{"Date in year 1", http.Header{"Date": {"Mon, 01 Jan 0001 00:00:00 GMT"}}, maxD},
		{"Date in the future", http.Header{"Date": {"Fri, 31 Dec 9999 23:59:59 GMT"}}, time.Minute},
	} {
		age, _ := initialAge(tc.h, now.Add(-time.Minute), now)
		if age < 0 || age > tc.max {
			t.Errorf("initialAge(%s) = %v", tc.name, age)
		}
	}
	for _, exp := range []string{"Fri, 31 Dec 9999 23:59:59 GMT", "Sun, 21 Nov 2286 04:46:39 GMT"} {
		h := http.Header{"Expires": {exp}, "Date": {"Mon, 01 Jan 0001 00:00:00 GMT"}}
		if life := lifetime(h, none, 200, now); life != (1<<31)*time.Second {
			t.Errorf("Expires %s: lifetime %v, want 2^31 s", exp, life)
		}
	}
}

// §4.2.1: "When there is more than one value present for a given directive
// (e.g., two Expires header field lines [...]), either the first occurrence
// should be used or the response should be considered stale": two
// different Expires make it stale, the same one twice does not.
func TestCacheTwoExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date, in1h, in2h := now.Format(http.TimeFormat), now.Add(time.Hour).Format(http.TimeFormat), now.Add(2*time.Hour).Format(http.TimeFormat)
	var cc httpsyntax.CacheControl
	if life := lifetime(http.Header{"Date": {date}, "Expires": {in1h, in2h}}, cc, 200, now); life != 0 {
		t.Errorf("two different Expires: lifetime %v, want 0", life)
	}
	if life := lifetime(http.Header{"Date": {date}, "Expires": {in1h, in1h}}, cc, 200, now); life != time.Hour {
		t.Errorf("the same Expires twice: lifetime %v, want 1h", life)
	}
}
