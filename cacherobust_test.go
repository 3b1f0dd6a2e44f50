package semhttp

import (
	"net/http"
	"testing"
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
