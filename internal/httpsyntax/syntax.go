// Package httpsyntax holds the lexical rules of HTTP fields (RFC 9110 §5.6)
// and the URL mechanics semhttp applies everywhere: tokens, quoted strings,
// lists, digits, media types, Cache-Control directives, hop-by-hop fields,
// origins, redaction and the query encoding of the URL standard. Its parsers
// never panic and never allocate without bound; every one is fuzzed.
package httpsyntax

import (
	"math"
	"strings"
)

// IsTchar reports whether c is a tchar (RFC 9110 §5.6.2).
func IsTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// IsToken reports whether s is a non-empty token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTchar(s[i]) {
			return false
		}
	}
	return true
}

// ReadToken returns the token starting at s[i] ("" when s[i] is not a
// tchar) and the index after it.
func ReadToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && IsTchar(s[j]) {
		j++
	}
	return s[i:j], j
}

// SkipOWS skips spaces and horizontal tabs.
func SkipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// SkipListSep skips whitespace and empty list elements (RFC 9110 §5.6.1).
func SkipListSep(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

// ReadQuoted reads the quoted-string starting at s[i] (which is '"') and
// returns its unescaped content and the index after the closing quote.
// ok is false when the string is not terminated.
func ReadQuoted(s string, i int) (v string, next int, ok bool) {
	next = skipQuoted(s, i)
	if next < 0 {
		return "", -1, false
	}
	v = s[i+1 : next-1]
	if strings.IndexByte(v, '\\') >= 0 {
		v = unescapeQuoted(v)
	}
	return v, next, true
}

// skipQuoted returns the index after the quoted-string starting at s[i]
// (which is '"'), or -1 when it is not terminated. Unlike ReadQuoted, it
// never allocates: it is how what is not kept is skipped.
func skipQuoted(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++ // the escaped octet, whatever it is
		case '"':
			return j + 1
		}
	}
	return -1
}

// unescapeQuoted removes quoted-pair backslashes.
func unescapeQuoted(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// SkipElement skips to just after the next ',' that is not inside a
// quoted-string, or to the end of s.
func SkipElement(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ',':
			return i + 1
		case '"':
			j := skipQuoted(s, i)
			if j < 0 {
				return len(s)
			}
			i = j
			continue
		}
		i++
	}
	return i
}

// Digits parses 1*DIGIT. ok is false when s is empty or holds anything
// but ASCII digits (signs, spaces, dots). A value above math.MaxInt64 sets
// overflow and gives math.MaxInt64, so callers choose between refusing and
// clamping it. It is the one decimal parser: Retry-After, Content-Range and
// structured-field integers all use it.
func Digits(s string) (n int64, ok, overflow bool) {
	if s == "" {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false, false
		}
		d := int64(c - '0')
		if overflow || n > (math.MaxInt64-d)/10 {
			overflow = true
			continue // keep scanning: the rest must be digits too
		}
		n = n*10 + d
	}
	if overflow {
		return math.MaxInt64, true, true
	}
	return n, true, false
}

// MediaType returns the media type of a Content-Type value, lower case and
// without parameters, or "" when it is not type "/" subtype made of tokens
// (RFC 9110 §8.3.1). Unlike mime.ParseMediaType it neither parses nor
// judges the parameters, so it allocates nothing for a lower-case value and
// a malformed parameter does not hide the type (as Fetch's MIME sniffing
// does).
func MediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	typ, sub, ok := strings.Cut(ct, "/")
	if !ok || !IsToken(typ) || !IsToken(sub) {
		return ""
	}
	return strings.ToLower(ct)
}
