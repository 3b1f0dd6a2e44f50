package redisstore

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
)

// sampleEntry is a typical stored JSON response with a body of n bytes.
func sampleEntry(n int) *semhttp.Entry {
	return &semhttp.Entry{
		Variant:    "3f1c9a\n",
		URL:        "https://api.example.com/v1/widgets/42",
		StatusCode: 200,
		Header: http.Header{
			"Content-Type":  {"application/json"},
			"Cache-Control": {"max-age=300"},
			"Etag":          {`"v42"`},
			"Date":          {"Mon, 02 Jan 2006 15:04:05 GMT"},
			"Vary":          {"Accept-Encoding"},
			"X-Request-Id":  {"a1b2c3"},
			"Link":          {"</v1/widgets/43>; rel=next", "</v1/widgets/41>; rel=prev"},
		},
		Body:     bytes.Repeat([]byte("x"), n),
		Stored:   time.Unix(1_700_000_000, 123_456_789),
		Age:      2 * time.Second,
		Lifetime: 300 * time.Second,
	}
}

// sameEntry reports whether a and b hold the same data (times compared
// with Equal: a decoded time is in the local zone).
func sameEntry(a, b *semhttp.Entry) bool {
	if a == nil || b == nil {
		return a == b
	}
	a2, b2 := *a, *b
	if !a2.Stored.Equal(b2.Stored) {
		return false
	}
	a2.Stored, b2.Stored = time.Time{}, time.Time{}
	return reflect.DeepEqual(a2, b2)
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]*semhttp.Entry{
		"typical":    sampleEntry(1000),
		"empty":      {},
		"emptyBody":  {StatusCode: 204, Header: http.Header{}, Body: []byte{}},
		"index":      {Variant: "p\n", URL: "http://x/", Header: http.Header{"Vary": {"Accept, Accept-Language"}}, Stored: time.Now()},
		"negative":   {StatusCode: 999, Age: -1, Lifetime: -time.Hour, Stored: time.Unix(-1e12, 5)},
		"zeroTime":   {StatusCode: 200, Body: []byte("b")},
		"nilValues":  {StatusCode: 200, Header: http.Header{"X": nil, "Y": {""}}},
		"bigVariant": {Variant: strings.Repeat("v", 300), Body: make([]byte, 70000)},
	} {
		key := "GET " + e.URL
		b := encode(nil, key, e)
		if len(b) != encodedLen(key, e) {
			t.Errorf("%s: encodedLen %d, encoded %d bytes", name, encodedLen(key, e), len(b))
		}
		got, k, err := decode(string(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k != key {
			t.Errorf("%s: key %q, want %q", name, k, key)
		}
		// A nil value slice comes back empty: the same to http.Header.
		if vs, ok := e.Header["X"]; ok && vs == nil {
			got.Header["X"] = nil
		}
		if !sameEntry(got, e) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", name, got, e)
		}
		if e.Stored.IsZero() && !got.Stored.IsZero() {
			t.Errorf("%s: zero Stored decoded as %v", name, got.Stored)
		}
		// Every prefix of a valid encoding is rejected, so is a trailing byte.
		enc := string(b)
		for i := range enc {
			if _, _, err := decode(enc[:i]); err == nil {
				t.Fatalf("%s: a prefix of %d of %d bytes decoded", name, i, len(b))
			}
		}
		if _, _, err := decode(string(b) + "x"); err == nil {
			t.Errorf("%s: a trailing byte decoded", name)
		}
	}
}

func TestCodecRejects(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]string{
		"empty":       "",
		"version":     "\x02",
		"hugeString":  "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
		"overflow":    "\x01\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
		"status":      "\x01\x00\x00\x00\xe8\x07",
		"nanoseconds": "\x01\x00\x00\x00\xc8\x01\x00\x80\x94\xeb\xdc\x03",
		// 2^40 header fields in a few bytes: refused before allocating.
		"manyFields": "\x01\x00\x00\x00\xc8\x01\x00\x00\x00\x00\x80\x80\x80\x80\x80\x20\x00",
		"dupField":   "\x01\x00\x00\x00\xc8\x01\x00\x00\x00\x00\x03\x02\x01X\x01\x00\x01X\x01\x00\x00",
	} {
		if e, _, err := decode(s); err == nil {
			t.Errorf("%s: decoded %+v", name, e)
		}
	}
}

// FuzzDecode feeds the decoder arbitrary values, as a Redis shared with
// other software (or an older or newer encoding) might hold: it never
// panics, and what it accepts encodes back to something that decodes to
// the same entry.
func FuzzDecode(f *testing.F) {
	f.Add(string(encode(nil, "GET https://a/", sampleEntry(10))))
	f.Add(string(encode(nil, "", &semhttp.Entry{})))
	f.Add(string(encode(nil, "k", &semhttp.Entry{Header: http.Header{"A": {"1", "2"}, "B": {}}, Body: []byte{}})))
	f.Add("\x01")
	f.Add("\x01\x00\x00\x00\xc8\x01\x00\x00\x00\x00\x03\x02\x01X\x01\x00\x01X\x01\x00\x00")
	f.Fuzz(func(t *testing.T, s string) {
		e, key, err := decode(s)
		if err != nil {
			return
		}
		b := encode(nil, key, e)
		if len(b) != encodedLen(key, e) {
			t.Fatalf("encodedLen %d, encoded %d bytes", encodedLen(key, e), len(b))
		}
		e2, key2, err := decode(string(b))
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if key2 != key || !sameEntry(e, e2) {
			t.Fatalf("re-encoding decodes to\n%+v\nwant\n%+v", e2, e)
		}
	})
}
