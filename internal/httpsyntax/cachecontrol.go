package httpsyntax

import (
	"net/http"
	"strings"
	"time"
)

// CacheControl holds the Cache-Control directives (RFC 9111 §5.2, RFC
// 5861, RFC 8246) of a request or a response that a private cache acts
// on. Directive names are case-insensitive; unknown directives are
// ignored (§5.2.3).
type CacheControl struct {
	NoStore, NoCache, MustRevalidate, Public, Private, Immutable, OnlyIfCached, MustUnderstand bool

	// MaxAge, MaxStale, MinFresh, StaleWhileRevalidate, StaleIfError are
	// the delta-seconds arguments, valid when the matching Has flag is set.
	// A value too large to represent is 2^31 seconds (§1.2.2).
	MaxAge, MaxStale, MinFresh, StaleWhileRevalidate, StaleIfError time.Duration

	HasMaxAge, HasMaxStale, HasMinFresh, HasStaleWhileRevalidate, HasStaleIfError bool

	// BadMaxAge reports a max-age with an argument that is not
	// delta-seconds, or given twice with different values: the response
	// is to be treated as stale (§4.2.1).
	BadMaxAge bool

	// NoCacheFields holds the field names of no-cache="..." (§5.2.2.4),
	// comma-separated as sent: the response may be reused without
	// revalidation, but not with those fields. NoCache is the unqualified
	// directive, or a qualified one whose argument is not a list of field
	// names.
	NoCacheFields string
}

// NoCacheListed returns the canonical names of NoCacheFields, or nil.
func (cc *CacheControl) NoCacheListed() map[string]bool {
	if cc.NoCacheFields == "" {
		return nil
	}
	return fieldNames(nil, cc.NoCacheFields)
}

// maxDelta is the largest delta-seconds a cache must represent (§1.2.2).
const maxDelta = (1 << 31) * time.Second

// ParseCacheControl reads every Cache-Control field line of h. A
// max-stale without an argument accepts any staleness (MaxStale is then
// maxDelta). private with a field-name list counts as private (it limits
// shared caches only).
func ParseCacheControl(h http.Header) CacheControl {
	var cc CacheControl
	for _, v := range h["Cache-Control"] {
		for i := SkipListSep(v, 0); i < len(v); i = SkipListSep(v, i) {
			name, j := ReadToken(v, i)
			if name == "" {
				i = SkipElement(v, i)
				continue
			}
			arg, hasArg := "", false
			if k := SkipOWS(v, j); k > j && k < len(v) && v[k] == '=' {
				// "max-age =60": no whitespace around '=' in the grammar
				// (§5.2); the argument is invalid (for max-age, stale).
				hasArg, j = true, k+1
			} else if j < len(v) && v[j] == '=' {
				j++
				hasArg = true
				if j < len(v) && v[j] == '"' {
					q, next, ok := ReadQuoted(v, j)
					if !ok {
						next = len(v)
					}
					arg, j = q, next
				} else {
					arg, j = ReadToken(v, j)
				}
			}
			cc.set(strings.ToLower(name), arg, hasArg)
			i = SkipElement(v, j)
		}
	}
	return cc
}

func (cc *CacheControl) set(name, arg string, hasArg bool) {
	switch name {
	case "no-store":
		cc.NoStore = true
	case "no-cache":
		switch {
		case !hasArg || !isFieldList(arg):
			cc.NoCache = true
		case cc.NoCacheFields == "":
			cc.NoCacheFields = arg
		default:
			cc.NoCacheFields += ", " + arg
		}
	case "must-revalidate", "proxy-revalidate":
		// proxy-revalidate is for shared caches; honouring it here only
		// makes a private cache more careful.
		cc.MustRevalidate = true
	case "public":
		cc.Public = true
	case "private":
		cc.Private = true
	case "immutable":
		cc.Immutable = true
	case "only-if-cached":
		cc.OnlyIfCached = true
	case "must-understand":
		cc.MustUnderstand = true
	case "max-age":
		d, ok := delta(arg)
		switch {
		case !ok:
			cc.BadMaxAge = true
		case cc.HasMaxAge && cc.MaxAge != d:
			cc.BadMaxAge = true // two different lifetimes: trust neither
		}
		if ok && !cc.HasMaxAge {
			cc.MaxAge, cc.HasMaxAge = d, true
		}
	case "max-stale":
		if !hasArg {
			cc.MaxStale, cc.HasMaxStale = maxDelta, true
		} else if d, ok := delta(arg); ok && !cc.HasMaxStale {
			cc.MaxStale, cc.HasMaxStale = d, true
		}
	case "min-fresh":
		if d, ok := delta(arg); ok && !cc.HasMinFresh {
			cc.MinFresh, cc.HasMinFresh = d, true
		}
	case "stale-while-revalidate":
		if d, ok := delta(arg); ok && !cc.HasStaleWhileRevalidate {
			cc.StaleWhileRevalidate, cc.HasStaleWhileRevalidate = d, true
		}
	case "stale-if-error":
		if d, ok := delta(arg); ok && !cc.HasStaleIfError {
			cc.StaleIfError, cc.HasStaleIfError = d, true
		}
	}
}

// delta parses delta-seconds (§1.2.2): digits only, clamped at 2^31 s.
func delta(s string) (time.Duration, bool) {
	n, ok, overflow := Digits(s)
	if !ok {
		return 0, false
	}
	if overflow || n >= int64(maxDelta/time.Second) {
		return maxDelta, true
	}
	return time.Duration(n) * time.Second, true
}

// isFieldList reports whether s is a non-empty comma-separated list of
// field names.
func isFieldList(s string) bool {
	n := 0
	for name := range strings.SplitSeq(s, ",") {
		if name = strings.Trim(name, " \t"); name != "" {
			if !IsToken(name) {
				return false
			}
			n++
		}
	}
	return n > 0
}
