package httpsyntax

import (
	"net/url"
	"strings"
)

// SameOrigin reports whether a and b have the same origin in the sense of
// RFC 6454 and the Fetch standard: the same scheme and host (compared
// case-insensitively) and port, an absent port standing for the scheme's
// default (80 for http, 443 for https). Nil URLs are never the same origin.
// It is the one origin comparison: redirects, cache invalidation, polls and
// pages all use it.
func SameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	if a.Scheme == b.Scheme && a.Host == b.Host {
		return true // spelled alike: nothing to compare further
	}
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		Port(a) == Port(b)
}

// Port is u's port, or the default port of its scheme (80 for http, 443
// for https), or "" for another scheme without one.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// Origin returns scheme://host:port of u, lower case, the port explicit.
func Origin(u *url.URL) *url.URL {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := Port(u)
	if port == "" {
		port = "80"
	}
	return &url.URL{Scheme: strings.ToLower(u.Scheme), Host: host + ":" + port}
}

// Redact renders u without userinfo, query or fragment, for errors and
// logs.
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return cp.String()
}

// RedactRaw is Redact for a URL that does not parse: the text before any
// query or fragment, without what looks like userinfo (anything up to an
// '@' in the authority).
func RedactRaw(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	start := 0
	if i := strings.Index(raw, "//"); i >= 0 {
		start = i + 2
	}
	end := len(raw)
	if i := strings.IndexByte(raw[start:], '/'); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndexByte(raw[start:end], '@'); at >= 0 {
		raw = raw[:start] + raw[start+at+1:]
	}
	return raw
}

// EncodeQuery percent-encodes the bytes of a query that may not appear
// in a request line, as the URL standard's parser (which Fetch, and so
// every browser, applies to Location) does for http(s) URLs: controls,
// space, '"', '#', '<', '>', the apostrophe and every byte above 0x7E,
// which spells non-ASCII as its UTF-8 bytes ("ä" becomes "%C3%A4").
// Escapes already there are kept, malformed ones too. Go's url.Parse keeps
// the query as sent, and its client writes it into the request line as it
// is, where a raw space makes a Go server answer 400.
func EncodeQuery(q string) string {
	n := 0
	for i := 0; i < len(q); i++ {
		if queryByteEscaped(q[i]) {
			n++
		}
	}
	if n == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		if c := q[i]; queryByteEscaped(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// queryByteEscaped is the URL standard's special-query percent-encode set.
func queryByteEscaped(c byte) bool {
	return c <= ' ' || c > '~' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\''
}
