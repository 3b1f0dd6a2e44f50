package semhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// conditional.go owns entity tags (RFC 9110 §8.8.3), their strong and weak
// comparison (§8.8.3.2), and conditional writes: If-Match with the ETag the
// client's cache holds, so that a write based on an outdated read becomes
// *PreconditionFailed instead of a lost update (§13.1.1).

// entityTag is an entity tag (RFC 9110 §8.8.3): an opaque string, optionally
// marked weak (W/"...").
type entityTag struct {
	// Weak is true for W/"..." tags.
	Weak bool
	// Opaque is the tag without its quotes and W/ prefix.
	Opaque string
}

// errBadETag reports a value that is not an entity-tag: the quotes are
// missing, W/ is not upper-case, or a character is not allowed.
var errBadETag = errors.New("semhttp: malformed entity tag")

// parseETag parses one entity-tag: `"xyz"` or `W/"xyz"`, surrounded by
// optional whitespace. Unquoted values (such as go-httpbin's /range tags)
// and lower-case `w/` are refused, as RFC 9110 §8.8.3 requires.
func parseETag(s string) (entityTag, error) {
	s = strings.Trim(s, " \t")
	var e entityTag
	raw := s
	if strings.HasPrefix(s, "W/") {
		e.Weak = true
		s = s[2:]
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return entityTag{}, fmt.Errorf("%w: %q", errBadETag, raw)
	}
	s = s[1 : len(s)-1]
	for i := 0; i < len(s); i++ {
		// etagc = %x21 / %x23-7E / obs-text
		if c := s[i]; c < 0x21 || c == '"' || c == 0x7f {
			return entityTag{}, fmt.Errorf("%w: %q", errBadETag, raw)
		}
	}
	e.Opaque = s
	return e, nil
}

// String renders the tag as sent on the wire: `"xyz"` or `W/"xyz"`.
func (e entityTag) String() string {
	if e.Weak {
		return `W/"` + e.Opaque + `"`
	}
	return `"` + e.Opaque + `"`
}

// StrongMatch reports whether e and o match under strong comparison
// (RFC 9110 §8.8.3.2): neither is weak and the opaque tags are equal. It is
// the comparison of If-Match and If-Range.
func (e entityTag) StrongMatch(o entityTag) bool {
	return !e.Weak && !o.Weak && e.Opaque == o.Opaque
}

// WeakMatch reports whether e and o match under weak comparison: the
// opaque tags are equal, whatever their W/ prefixes. It is the comparison
// of If-None-Match.
func (e entityTag) WeakMatch(o entityTag) bool { return e.Opaque == o.Opaque }

// responseETag returns the entityTag of h, if it has exactly one valid one.
func responseETag(h http.Header) (entityTag, bool) {
	vs := h["Etag"]
	if len(vs) != 1 {
		return entityTag{}, false
	}
	e, err := parseETag(vs[0])
	return e, err == nil
}

// IfMatch returns req made conditional on the representation the client's
// cache holds for its URL, as [WithConditionalWrites] does for every write:
// a shallow copy with If-Match (the stored strong entityTag) or
// If-Unmodified-Since (the stored Last-Modified). It reports false, and
// returns req itself, when nothing usable is stored or req already carries
// a precondition. The stored responses are those of GETs with the same
// credentials (Authorization, Cookie) as req.
func (c *Client) IfMatch(req *http.Request) (*http.Request, bool) {
	c.init()
	if req == nil || req.URL == nil || c.cache.store == nil || hasWritePrecondition(req.Header) {
		return req, false
	}
	key, ok := cacheKey(req.URL)
	if !ok {
		return req, false
	}
	return conditionalWrite(req, c.cacheLookup(req.Context(), key, requestPartition(req, c.redirect.credentials), req.Header))
}

func hasWritePrecondition(h http.Header) bool {
	return len(h["If-Match"]) > 0 || len(h["If-None-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0
}

// conditionalWrite adds If-Match or If-Unmodified-Since from the stored
// response e.
func conditionalWrite(req *http.Request, e *Entry) (*http.Request, bool) {
	if e == nil {
		return req, false
	}
	var name, value string
	if t, ok := responseETag(e.Header); ok && !t.Weak {
		name, value = "If-Match", t.String()
	} else if lm, ok := cacheLastModified(e.Header); ok {
		name, value = "If-Unmodified-Since", lm
	} else {
		return req, false
	}
	r2 := cacheShallow(req)
	r2.Header.Set(name, value)
	return r2, true
}

// cacheShallow returns a shallow copy of req with its own header map.
func cacheShallow(req *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *req
	r2.Header = req.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header)
	}
	return r2
}
