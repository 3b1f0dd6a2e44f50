package httpsyntax

import (
	"net/http"
	"net/textproto"
	"strings"
)

// HeaderValue is h.Get(key) for a key already in canonical form: it skips
// the canonicalization, which shows on the hot paths of every request.
func HeaderValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// HasDirective reports whether one of h's Cache-Control fields holds one
// of the directives names (compared case-insensitively, arguments
// ignored).
func HasDirective(h http.Header, names ...string) bool {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d, _, _ = strings.Cut(d, "=")
			d = strings.Trim(d, " \t")
			for _, name := range names {
				if strings.EqualFold(d, name) {
					return true
				}
			}
		}
	}
	return false
}

// HopByHop reports whether the canonical field name k is a hop-by-hop
// field, which a cache does not store (RFC 9111 §3.1).
func HopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authentication-Info", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// ConnectionListed returns the canonical names listed in h's Connection.
func ConnectionListed(h http.Header) map[string]bool {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	var m map[string]bool
	for _, v := range vs {
		m = fieldNames(m, v)
	}
	return m
}

// fieldNames adds to m (made when nil) the canonical names of the
// comma-separated list v, and returns it.
func fieldNames(m map[string]bool, v string) map[string]bool {
	if m == nil {
		m = make(map[string]bool)
	}
	for name := range strings.SplitSeq(v, ",") {
		if name = strings.Trim(name, " \t"); name != "" {
			m[textproto.CanonicalMIMEHeaderKey(name)] = true
		}
	}
	return m
}
