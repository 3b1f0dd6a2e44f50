package semhttp

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// header.go reads the response fields that outcomes expose:
// WWW-Authenticate (RFC 9110 §11.6.1), Allow (RFC 9110 §10.2.1),
// Deprecation (RFC 9745) and Sunset (RFC 8594), and logs deprecated
// endpoints once. The lexing is internal/httpsyntax's. The readers never
// fail: a malformed list element is skipped, the rest kept, and the output
// is bounded. The raw values stay in the response's Header.

// Challenge is one authentication challenge of a WWW-Authenticate (or
// Proxy-Authenticate) header (RFC 9110 §11.3, §11.6.1).
type Challenge struct {
	// Scheme is the auth-scheme as sent (e.g. "Bearer"); compare it with
	// [Challenge.HasScheme], as schemes are case-insensitive.
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

// HasScheme reports whether c's scheme is scheme, ignoring case.
func (c Challenge) HasScheme(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// Param returns the auth-param name (case-insensitive), or "" when absent.
// Param("realm") is the protection space.
func (c Challenge) Param(name string) string { return c.Params[strings.ToLower(name)] }

// parseChallenges parses WWW-Authenticate (or Proxy-Authenticate) field
// values into challenges, in order (see httpsyntax.ParseChallenges): at
// most 64, each with at most 64 parameters; nil when there is none.
func parseChallenges(values []string) []Challenge {
	cs := httpsyntax.ParseChallenges(values)
	if cs == nil {
		return nil
	}
	out := make([]Challenge, len(cs))
	for i, c := range cs {
		out[i] = Challenge(c)
	}
	return out
}

// maxAllow bounds the methods parseAllow returns; later ones are ignored.
const maxAllow = 256

// parseAllow parses Allow field values (RFC 9110 §10.2.1) into method
// names, in order and case as sent. Members are trimmed; empty members and
// members that are not tokens are skipped; at most 256 are returned. An
// absent or empty Allow gives an empty, non-nil slice: the resource allows
// no method, or the server did not say (as nginx and go-httpbin's
// /status/405 do).
func parseAllow(values []string) []string {
	out := []string{}
	for _, v := range values {
		for m := range strings.SplitSeq(v, ",") {
			if len(out) == maxAllow {
				return out
			}
			if m = strings.Trim(m, " \t"); httpsyntax.IsToken(m) {
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

// parseAPIStatus reads the Deprecation and Sunset fields of h and the Link
// relations "deprecation" and "sunset", resolving link targets against
// base (the request URL; nil leaves them as sent).
//
// Deprecation is read as RFC 9745 defines it, a structured-field Date
// ("@1688169599"), and also in the forms of earlier drafts still seen in
// the wild: "true" (deprecated, date unknown) and an HTTP-date. "false",
// "?0" and values that are none of these are ignored. Sunset is an
// HTTP-date in any of the three formats of RFC 9110 §5.6.7. When a field
// repeats, the first valid line wins.
func parseAPIStatus(h http.Header, base *url.URL) APIStatus {
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
	for _, l := range httpsyntax.ParseLinks(h) {
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
	if len(s) > 15 {
		return 0, false
	}
	n, ok, _ := httpsyntax.Digits(s)
	if neg {
		n = -n
	}
	return n, ok
}

// noteDeprecated logs a deprecated endpoint the first time it is seen.
func (c *Client) noteDeprecated(resp *http.Response) {
	r := resp.Request
	if r == nil || r.URL == nil {
		return
	}
	key := r.Method + " " + httpsyntax.Redact(r.URL)
	if !c.deprecated.add(key) {
		return
	}
	s := parseAPIStatus(resp.Header, r.URL)
	attrs := []any{"method", r.Method, "url", httpsyntax.Redact(r.URL)}
	if !s.DeprecatedAt.IsZero() {
		attrs = append(attrs, "deprecated_at", s.DeprecatedAt)
	}
	if !s.Sunset.IsZero() {
		attrs = append(attrs, "sunset", s.Sunset)
	}
	for _, l := range s.DeprecationLinks {
		attrs = append(attrs, "link", httpsyntax.Redact(l))
	}
	c.logger.Warn("semhttp: deprecated API endpoint", attrs...)
}

// onceSet remembers up to maxOnceSet keys; add reports whether key is new.
// Past the bound, keys are no longer remembered and add reports false, so
// the log cannot grow without limit on URLs with IDs in them.
type onceSet struct {
	m sync.Map
	n atomic.Int64
}

const maxOnceSet = 4096

func (s *onceSet) add(key string) bool {
	if _, ok := s.m.Load(key); ok {
		return false
	}
	if s.n.Load() >= maxOnceSet {
		return false
	}
	if _, loaded := s.m.LoadOrStore(key, struct{}{}); loaded {
		return false
	}
	s.n.Add(1)
	return true
}
