package semhttp

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file parses the response header fields that outcomes expose:
// Link (RFC 8288), WWW-Authenticate (RFC 9110 §11.6.1), Allow (RFC 9110
// §10.2.1), Deprecation (RFC 9745) and Sunset (RFC 8594).
//
// The parsers never fail: a malformed list element is skipped and the rest
// are kept, and the amount of output is bounded (see [MaxLinks]), so a
// hostile header can neither panic them nor make them allocate without
// bound. The raw values stay available in the response's Header.

// MaxLinks is the most link-values [ParseLinks] returns for one response;
// later ones are ignored.
const MaxLinks = 256

// maxParams bounds the parameters kept per link-value or challenge; later
// ones are ignored.
const maxParams = 64

// Link is one link-value of a Link header (RFC 8288 §3).
type Link struct {
	// URL is the target as written (a URI reference, not yet resolved).
	// It is never nil in a Link returned by [ParseLinks].
	URL *url.URL
	// Rel holds the relation types, lower-cased. It is empty when the
	// link-value had no rel parameter.
	Rel []string
	// Params holds the other parameters by lower-cased name (anchor, title,
	// type, hreflang, ...), quoted-string values unescaped. A parameter
	// without a value maps to "". When a name repeats, the first occurrence
	// wins (RFC 8288 §3.4.1). Extended parameters such as title* are kept
	// under their own name, undecoded.
	Params map[string]string
}

// HasRel reports whether l has the relation type rel (case-insensitive,
// RFC 8288 §2.1).
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rel {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// Param returns the value of the parameter name (case-insensitive), or ""
// when it is absent. Param("rel") returns the relation types joined by a
// space.
func (l Link) Param(name string) string {
	name = strings.ToLower(name)
	if name == "rel" {
		return strings.Join(l.Rel, " ")
	}
	return l.Params[name]
}

// ParseLinks parses every Link header value in h, in order. Several
// link-values may share a field line (comma-separated) and several field
// lines may be present. Malformed link-values are skipped; the rest are
// kept. At most [MaxLinks] links are returned. The result is nil when there
// is no valid link.
func ParseLinks(h http.Header) []Link {
	var links []Link
	for _, v := range h.Values("Link") {
		links = parseLinkValue(links, v)
		if len(links) >= MaxLinks {
			break
		}
	}
	return links
}

// parseLinkValue appends the link-values of one field line to links.
func parseLinkValue(links []Link, s string) []Link {
	i := 0
	for i < len(s) && len(links) < MaxLinks {
		i = skipListSep(s, i)
		if i >= len(s) {
			break
		}
		l, next, ok := parseLink(s, i)
		if ok {
			links = append(links, l)
			i = next
			continue
		}
		if next < 0 { // no closing '>' or quote: nothing more can be parsed
			break
		}
		i = skipElement(s, next)
	}
	return links
}

// parseLink parses one link-value starting at s[i]. On success it returns
// the index just after it (at a ',' or the end). On failure it returns
// ok=false and the index to resume scanning from for the next ',' (or -1
// when the rest of s cannot hold a link-value).
func parseLink(s string, i int) (l Link, next int, ok bool) {
	if s[i] != '<' {
		return Link{}, i, false
	}
	end := strings.IndexByte(s[i+1:], '>')
	if end < 0 {
		return Link{}, -1, false
	}
	target := strings.Trim(s[i+1:i+1+end], " \t")
	i += end + 2
	u, err := url.Parse(target)
	if err != nil {
		return Link{}, i, false
	}
	u.RawQuery = encodeQuery(u.RawQuery) // as for Location (see encodeQuery)
	l = Link{URL: u}
	relSeen := false
	nparams := 0
	for {
		i = skipOWS(s, i)
		if i >= len(s) || s[i] == ',' {
			return l, i, true
		}
		if s[i] != ';' {
			return Link{}, i, false
		}
		i = skipOWS(s, i+1)
		if i >= len(s) || s[i] == ',' || s[i] == ';' {
			continue // empty parameter, e.g. a trailing ';'
		}
		name, j := readToken(s, i)
		if name == "" {
			return Link{}, i, false
		}
		i = skipOWS(s, j)
		value := ""
		if i < len(s) && s[i] == '=' {
			i = skipOWS(s, i+1)
			var vok bool
			value, i, vok = readParamValue(s, i)
			if !vok {
				return Link{}, i, false
			}
		}
		name = strings.ToLower(name)
		nparams++
		if nparams > maxParams {
			continue
		}
		switch {
		case name == "rel":
			if !relSeen { // RFC 8288 §3.3: later rel parameters are ignored
				relSeen = true
				l.Rel = splitRel(value)
			}
		default:
			if l.Params == nil {
				l.Params = make(map[string]string)
			}
			if _, dup := l.Params[name]; !dup {
				l.Params[name] = value
			}
		}
	}
}

// readParamValue reads a parameter value at s[i]: a quoted-string
// (unescaped) or, leniently as RFC 8288 Appendix B.3 does, everything up to
// the next ';' or ',' with trailing whitespace removed. On failure (an
// unterminated quoted-string) it returns ok=false and -1.
func readParamValue(s string, i int) (value string, next int, ok bool) {
	if i < len(s) && s[i] == '"' {
		v, j, ok := readQuoted(s, i)
		if !ok {
			return "", -1, false
		}
		return v, j, true
	}
	j := i
	for j < len(s) && s[j] != ';' && s[j] != ',' {
		if s[j] == '"' { // a quote inside an unquoted value
			return "", j, false
		}
		j++
	}
	return strings.TrimRight(s[i:j], " \t"), j, true
}

// splitRel splits a rel value into lower-cased relation types.
func splitRel(v string) []string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return nil
	}
	for k := range f {
		f[k] = strings.ToLower(f[k])
	}
	return f
}

// Lexing helpers shared by the parsers (RFC 9110 §5.6).

// isTchar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken reports whether s is a non-empty token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// readToken returns the token starting at s[i] ("" when s[i] is not a
// tchar) and the index after it.
func readToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTchar(s[j]) {
		j++
	}
	return s[i:j], j
}

// skipOWS skips spaces and horizontal tabs.
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// skipListSep skips whitespace and empty list elements (RFC 9110 §5.6.1).
func skipListSep(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

// readQuoted reads the quoted-string starting at s[i] (which is '"') and
// returns its unescaped content and the index after the closing quote.
// ok is false when the string is not terminated.
func readQuoted(s string, i int) (v string, next int, ok bool) {
	i++ // opening quote
	start := i
	esc := false
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++ // the escaped octet, whatever it is
		case '"':
			if !esc {
				return s[start:j], j + 1, true
			}
			return unescapeQuoted(s[start:j]), j + 1, true
		}
	}
	return "", -1, false
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

// skipElement skips to just after the next ',' that is not inside a
// quoted-string, or to the end of s.
func skipElement(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ',':
			return i + 1
		case '"':
			_, j, ok := readQuoted(s, i)
			if !ok {
				return len(s)
			}
			i = j
			continue
		}
		i++
	}
	return i
}

// maxChallenges bounds the challenges [ParseChallenges] returns; later
// ones are ignored.
const maxChallenges = 64

// maxAllow bounds the methods [ParseAllow] returns; later ones are ignored.
const maxAllow = 256

// Challenge is one authentication challenge of a WWW-Authenticate (or
// Proxy-Authenticate) header (RFC 9110 §11.3, §11.6.1).
type Challenge struct {
	// Scheme is the auth-scheme as sent (e.g. "Bearer"); compare it with
	// [Challenge.Is], as schemes are case-insensitive.
	Scheme string
	// Token68 is the token68 form of the challenge's data (e.g. the
	// "abc==" of "Negotiate abc=="), or "" when the challenge used
	// auth-params or had none.
	Token68 string
	// Params holds the auth-params by lower-cased name, quoted-string
	// values unescaped. When a name repeats, the first occurrence wins. It
	// is nil when the challenge had no parameters.
	Params map[string]string
}

// Is reports whether c's scheme is scheme, ignoring case.
func (c Challenge) Is(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// Param returns the auth-param name (case-insensitive), or "" when absent.
// Param("realm") is the protection space.
func (c Challenge) Param(name string) string { return c.Params[strings.ToLower(name)] }

// ParseChallenges parses WWW-Authenticate (or Proxy-Authenticate) field
// values into challenges, in order. The header is a comma-separated list in
// which a comma separates both challenges and the auth-params of one
// challenge; a new challenge starts at a token that is not followed by
// "=". Field lines are treated as if joined by commas, so auth-params on a
// line of their own belong to the challenge before them. Parts that cannot
// be parsed are skipped: an auth-param that is not name=value is dropped
// (the challenge is kept), a scheme followed by anything but a space or a
// comma is dropped. At most 64 challenges are returned, each with at most
// 64 parameters. The result is nil when there is no challenge.
func ParseChallenges(values []string) []Challenge {
	p := challengeParser{cur: -1}
	for _, v := range values {
		if !p.line(v) {
			break
		}
	}
	return p.out
}

// challengeParser holds the state carried across field lines.
type challengeParser struct {
	out []Challenge
	cur int // index in out of the challenge taking auth-params; -1 for none
}

// line parses one field line. It returns false when the challenge bound is
// reached.
func (p *challengeParser) line(s string) bool {
	i := 0
	for {
		i = skipListSep(s, i)
		if i >= len(s) {
			return true
		}
		tok, j := readToken(s, i)
		if tok == "" {
			i = skipElement(s, i)
			continue
		}
		if k := skipOWS(s, j); k < len(s) && s[k] == '=' {
			// An auth-param of the current challenge.
			i = p.param(s, tok, k+1)
			if i < 0 {
				return true
			}
			continue
		}
		// A new auth-scheme.
		if len(p.out) == maxChallenges {
			return false
		}
		if j < len(s) && s[j] != ',' && s[j] != ' ' && s[j] != '\t' {
			p.cur = -1 // e.g. `Basic"x"`: not a challenge
			i = skipElement(s, j)
			continue
		}
		p.out = append(p.out, Challenge{Scheme: tok})
		p.cur = len(p.out) - 1
		i = skipOWS(s, j)
		if i >= len(s) || s[i] == ',' {
			continue
		}
		if t68, next, ok := readToken68(s, i); ok {
			p.out[p.cur].Token68 = t68
			p.cur = -1 // token68 and auth-params do not mix
			i = next
			continue
		}
		name, k := readToken(s, i)
		if k = skipOWS(s, k); name == "" || k >= len(s) || s[k] != '=' {
			i = skipElement(s, i)
			continue
		}
		i = p.param(s, name, k+1)
		if i < 0 {
			return true
		}
	}
}

// param reads the value of the auth-param name, whose '=' ends just before
// s[i], and adds it to the current challenge. It returns the index to go
// on from, or -1 when the rest of the line cannot be parsed.
func (p *challengeParser) param(s, name string, i int) int {
	i = skipOWS(s, i)
	var value string
	if i < len(s) && s[i] == '"' {
		v, next, ok := readQuoted(s, i)
		if !ok {
			return -1
		}
		value, i = v, next
	} else {
		// A token by the grammar; leniently, any run of visible characters
		// other than ',' and '"' (e.g. scope=read:user).
		j := i
		for j < len(s) && s[j] > ' ' && s[j] != ',' && s[j] != '"' && s[j] != 0x7f {
			j++
		}
		if j == i {
			return skipElement(s, i)
		}
		value, i = s[i:j], j
	}
	if i = skipOWS(s, i); i < len(s) && s[i] != ',' {
		return skipElement(s, i)
	}
	if p.cur < 0 {
		return i
	}
	c := &p.out[p.cur]
	if c.Params == nil {
		c.Params = make(map[string]string)
	}
	name = strings.ToLower(name)
	if _, dup := c.Params[name]; !dup && len(c.Params) < maxParams {
		c.Params[name] = value
	}
	return i
}

// readToken68 reads a token68 (RFC 9110 §11.2) at s[i] that makes up the
// rest of the list element: it must be followed by OWS and then ',' or the
// end. Otherwise ok is false (it is an auth-param or junk).
func readToken68(s string, i int) (t68 string, next int, ok bool) {
	j := i
	for j < len(s) && isToken68Char(s[j]) {
		j++
	}
	if j == i {
		return "", i, false
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	k := skipOWS(s, j)
	if k < len(s) && s[k] != ',' {
		return "", i, false
	}
	return s[i:j], k, true
}

func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// ParseAllow parses Allow field values (RFC 9110 §10.2.1) into method
// names, in order and case as sent. Members are trimmed; empty members and
// members that are not tokens are skipped; at most 256 are returned. An
// absent or empty Allow gives an empty, non-nil slice: the resource allows
// no method, or the server did not say (as nginx and go-httpbin's
// /status/405 do).
func ParseAllow(values []string) []string {
	out := []string{}
	for _, v := range values {
		for m := range strings.SplitSeq(v, ",") {
			if len(out) == maxAllow {
				return out
			}
			if m = strings.Trim(m, " \t"); isToken(m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// APIStatus reports the API change signals of a response: the Deprecation
// (RFC 9745) and Sunset (RFC 8594) fields and the links that document them.
// The zero value means the response carried none.
type APIStatus struct {
	// Deprecated is true when the response carried a valid Deprecation
	// field: the resource is deprecated, or will be at DeprecatedAt when
	// that is in the future (see [APIStatus.DeprecatedNow]).
	Deprecated bool
	// DeprecatedAt is when the resource is or will be deprecated, in UTC.
	// It is zero when the server did not say (the legacy value "true").
	DeprecatedAt time.Time
	// Sunset is when the resource is expected to stop responding, or zero
	// when the response had no valid Sunset field.
	Sunset time.Time
	// DeprecationLinks are the Link targets with rel="deprecation"
	// (documentation of the deprecation), resolved against the request URL.
	DeprecationLinks []*url.URL
	// SunsetLinks are the Link targets with rel="sunset" (the sunset
	// policy), resolved against the request URL.
	SunsetLinks []*url.URL
}

// DeprecatedNow reports whether the resource is deprecated at now: the
// server sent Deprecation and its date, if any, is not after now.
func (s APIStatus) DeprecatedNow(now time.Time) bool {
	return s.Deprecated && (s.DeprecatedAt.IsZero() || !now.Before(s.DeprecatedAt))
}

// ParseAPIStatus reads the Deprecation and Sunset fields of h and the Link
// relations "deprecation" and "sunset", resolving link targets against
// base (the request URL; nil leaves them as sent).
//
// Deprecation is read as RFC 9745 defines it, a structured-field Date
// ("@1688169599"), and also in the forms of earlier drafts still seen in
// the wild: "true" (deprecated, date unknown) and an HTTP-date. "false",
// "?0" and values that are none of these are ignored. Sunset is an
// HTTP-date in any of the three formats of RFC 9110 §5.6.7. When a field
// repeats, the first valid line wins.
func ParseAPIStatus(h http.Header, base *url.URL) APIStatus {
	var s APIStatus
	for _, v := range h.Values("Deprecation") {
		if dep, at, ok := parseDeprecation(v); ok {
			s.Deprecated, s.DeprecatedAt = dep, at
			break
		}
	}
	for _, v := range h.Values("Sunset") {
		if t, err := http.ParseTime(strings.Trim(v, " \t")); err == nil {
			s.Sunset = t.UTC()
			break
		}
	}
	if len(h.Values("Link")) == 0 {
		return s
	}
	for _, l := range ParseLinks(h) {
		if l.HasRel("deprecation") {
			s.DeprecationLinks = append(s.DeprecationLinks, resolve(base, l.URL))
		}
		if l.HasRel("sunset") {
			s.SunsetLinks = append(s.SunsetLinks, resolve(base, l.URL))
		}
	}
	return s
}

// parseDeprecation parses one Deprecation field value. ok is false for a
// value that is not understood.
func parseDeprecation(v string) (deprecated bool, at time.Time, ok bool) {
	v = strings.Trim(v, " \t")
	if rest, isDate := strings.CutPrefix(v, "@"); isDate {
		// sf-date = "@" sf-integer, optionally followed by parameters
		// (RFC 9651 §3.3.7), which carry nothing for us.
		num, _, _ := strings.Cut(rest, ";")
		n, ok := parseSFInteger(num)
		if !ok {
			return false, time.Time{}, false
		}
		return true, time.Unix(n, 0).UTC(), true
	}
	switch {
	case strings.EqualFold(v, "true"), v == "?1":
		return true, time.Time{}, true
	case strings.EqualFold(v, "false"), v == "?0":
		return false, time.Time{}, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return true, t.UTC(), true
	}
	return false, time.Time{}, false
}

// parseSFInteger parses a structured-field Integer: an optional '-' and 1
// to 15 digits (RFC 9651 §3.3.1).
func parseSFInteger(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// headerValue is h.Get(key) for a key already in canonical form: it skips
// the canonicalization, which shows on the hot paths of every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// mediaTypeOf returns the media type of a Content-Type value, lower case and
// without parameters, or "" when it is not type "/" subtype made of tokens
// (RFC 9110 §8.3.1). Unlike mime.ParseMediaType it neither parses nor
// judges the parameters, so it allocates nothing for a lower-case value and
// a malformed parameter does not hide the type (as Fetch's MIME sniffing
// does).
func mediaTypeOf(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	typ, sub, ok := strings.Cut(ct, "/")
	if !ok || !isToken(typ) || !isToken(sub) {
		return ""
	}
	return strings.ToLower(ct)
}
