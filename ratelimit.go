package semhttp

import (
	"net/http"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// ratelimit.go reads the rate-limit fields servers send: RateLimit and
// RateLimit-Policy (IETF httpapi draft), the RateLimit-Limit/-Remaining/
// -Reset of its earlier versions, and the X-RateLimit-* fields of GitHub
// and many others. A Client holds off an origin whose limit is exhausted
// until it resets (see throttle.go).

// RateLimit is what a response says of the client's rate limit.
type RateLimit struct {
	// Limit is the number of requests allowed in a window, or -1 when the
	// response did not say.
	Limit int64
	// Remaining is the number of requests left in the current window, or
	// -1 when the response did not say. At 0 the Client holds requests to
	// the origin until Reset.
	Remaining int64
	// Reset is when the window resets, or the zero time when the response
	// did not say.
	Reset time.Time
	// Policy is the RateLimit-Policy field as sent (`"default";q=100;w=60`),
	// or "".
	Policy string
}

// parseRateLimit reads h's rate-limit fields, measuring relative resets
// from now. The IETF fields win over the X- ones, field by field; ok is
// false when there is none. Values that do not parse are ignored.
func parseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	rl := RateLimit{Limit: -1, Remaining: -1}
	found := false
	// The draft's structured field: `"default";r=50;t=30` (r remaining, t
	// seconds to the reset), or the older `limit=100, remaining=50,
	// reset=30`.
	if v := httpsyntax.HeaderValue(h, "Ratelimit"); v != "" {
		for _, kv := range rateLimitParams(v) {
			if n, ok := rateLimitNumber(kv[1]); ok {
				switch kv[0] {
				case "r", "remaining":
					rl.Remaining, found = n, true
				case "t", "reset":
					rl.Reset, found = now.Add(time.Duration(n)*time.Second), true
				case "limit":
					rl.Limit, found = n, true
				}
			}
		}
	}
	if v := httpsyntax.HeaderValue(h, "Ratelimit-Policy"); v != "" {
		rl.Policy, found = v, true
		for _, kv := range rateLimitParams(v) {
			if n, ok := rateLimitNumber(kv[1]); ok && kv[0] == "q" && rl.Limit < 0 {
				rl.Limit = n
			}
		}
	}
	for _, prefix := range [...]string{"Ratelimit-", "X-Ratelimit-"} {
		if n, ok := rateLimitNumber(httpsyntax.HeaderValue(h, prefix+"Limit")); ok && rl.Limit < 0 {
			rl.Limit, found = n, true
		}
		if n, ok := rateLimitNumber(httpsyntax.HeaderValue(h, prefix+"Remaining")); ok && rl.Remaining < 0 {
			rl.Remaining, found = n, true
		}
		if t, ok := rateLimitReset(httpsyntax.HeaderValue(h, prefix+"Reset"), now); ok && rl.Reset.IsZero() {
			rl.Reset, found = t, true
		}
	}
	return rl, found
}

// maxRateLimitParams bounds the parameters read from one field.
const maxRateLimitParams = 32

// rateLimitParams returns the name=value parameters of a field value,
// names lower-cased, whether ';' (structured-field parameters) or ','
// (a dictionary) separates them. The first list member's win.
func rateLimitParams(v string) [][2]string {
	var out [][2]string
	for part := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ';' || r == ',' }) {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		out = append(out, [2]string{strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)})
		if len(out) == maxRateLimitParams {
			break
		}
	}
	return out
}

// rateLimitNumber reads a count: the leading 1*DIGIT of v, so that
// "100, 100;w=60" (an old draft's limit with its policy) reads 100.
func rateLimitNumber(v string) (int64, bool) {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, ok, overflow := httpsyntax.Digits(v[:end])
	return n, ok && !overflow
}

// rateLimitReset reads a reset: seconds from now (RateLimit-Reset, and
// most X-RateLimit-Reset), or a Unix time in seconds (GitHub) or
// milliseconds, told apart by size (3·10⁸ seconds would be a wait of 9.5
// years, 10¹² a date in 33658); a fraction is ignored.
func rateLimitReset(v string, now time.Time) (time.Time, bool) {
	v, _, _ = strings.Cut(strings.TrimSpace(v), ".")
	n, ok, overflow := httpsyntax.Digits(v)
	switch {
	case !ok || overflow:
		return time.Time{}, false
	case n >= 1e12: // Unix milliseconds
		return time.UnixMilli(n), n < 1e15
	case n >= 3e8: // Unix seconds (from 1979 on): not a wait of 9.5 years
		return time.Unix(n, 0), true
	}
	return now.Add(time.Duration(n) * time.Second), true
}
