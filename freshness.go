package semhttp

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// freshness.go applies RFC 9111 §4.2 and RFC 5861 for the cache: how long
// a stored response is fresh and how old it is, what a request's
// directives and the response's allow the cache to serve without the
// origin (fresh, or stale while it revalidates), and what it may serve
// when the origin fails.

// maxHeuristic caps a heuristic freshness lifetime (§4.2.2 leaves the cap
// to the cache; a day is what browsers use for the 10 % rule's long tail).
const maxHeuristic = 24 * time.Hour

// heuristicallyCacheable reports the status codes RFC 9110 §15.1 defines
// as heuristically cacheable: stored and given a heuristic lifetime without
// explicit freshness.
func heuristicallyCacheable(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// mayStore reports whether a response with status code and directives cc
// may be stored: not with no-store (§5.2.2.5), unless it has
// must-understand and the cache implements the status code, which then
// decides alone (§5.2.2.3).
func mayStore(cc httpsyntax.CacheControl, code int) bool {
	if cc.MustUnderstand {
		return understoodStatus(code)
	}
	return !cc.NoStore
}

// understoodStatus reports the status codes whose caching rules the cache
// implements (RFC 9111 §5.2.2.3): those RFC 9110 §15 defines, but 206,
// which it does not store.
func understoodStatus(code int) bool {
	switch {
	case code >= 200 && code <= 205, code >= 300 && code <= 305, code == 307, code == 308,
		code >= 400 && code <= 417, code == 421, code == 422, code == 426, code >= 500 && code <= 505:
		return true
	}
	return false
}

// maxDelta is the largest delta-seconds (§1.2.2). It caps a lifetime from
// Expires (as it does max-age), so that Entry.FreshUntil stays a date a
// store can keep, and the Age field sent.
const maxDelta = (1 << 31) * time.Second

// dateOf is h's Date, or at when it has none valid (RFC 9110 §6.6.1: a
// recipient dates a response it receives without one).
func dateOf(h http.Header, at time.Time) time.Time {
	if vs := h["Date"]; len(vs) > 0 {
		if d, err := http.ParseTime(vs[0]); err == nil {
			return d
		}
	}
	return at
}

// lifetime is the freshness lifetime of a response (§4.2.1): max-age,
// else Expires − Date, else the heuristic of §4.2.2 for the codes that
// allow it. s-maxage is for shared caches and not read. Zero means stale
// at once: no-cache, an invalid max-age or Expires, or no lifetime at all.
func lifetime(h http.Header, cc httpsyntax.CacheControl, code int, received time.Time) time.Duration {
	switch {
	case cc.NoCache, cc.BadMaxAge:
		return 0
	case cc.HasMaxAge:
		return cc.MaxAge
	}
	date := dateOf(h, received)
	if vs := h["Expires"]; len(vs) > 0 {
		exp, err := http.ParseTime(vs[0])
		if err != nil || slices.ContainsFunc(vs[1:], func(v string) bool { return v != vs[0] }) {
			// An invalid Expires is a time in the past (§5.3); two
			// different ones make the response stale (§4.2.1).
			return 0
		}
		return min(max(0, exp.Sub(date)), maxDelta)
	}
	if heuristicallyCacheable(code) || cc.Public {
		if vs := h["Last-Modified"]; len(vs) == 1 {
			if lm, err := http.ParseTime(vs[0]); err == nil && date.After(lm) {
				return min(date.Sub(lm)/10, maxHeuristic)
			}
		}
	}
	return 0
}

// initialAge is corrected_initial_age (§4.2.3) of a response to a request
// sent at sent and received at received. valid is false when the response
// has an Age that is not one delta-seconds — a list ("0, 0"), several
// field lines, a sign, a fraction, a parameter —: its age is then not
// known, and the caller treats the response as stale. §5.1 would take the
// first member of a list and ignore an invalid value, which can make fresh
// a response a shared cache on the path had long held; the reading here is
// the conservative one §4.2.1 encourages for invalid freshness
// information (and the cache test suite asks for).
func initialAge(h http.Header, sent, received time.Time) (age time.Duration, valid bool) {
	apparent := max(0, received.Sub(dateOf(h, received)))
	var ageValue time.Duration
	valid = true
	if vs := h["Age"]; len(vs) > 0 {
		// Digits clamps a huge value at MaxInt64; 2^31 s is the most a
		// cache needs to represent (§1.2.2).
		n, ok, _ := httpsyntax.Digits(vs[0])
		valid = ok && len(vs) == 1
		if valid {
			ageValue = time.Duration(min(n, int64(maxDelta/time.Second))) * time.Second
		}
	}
	corrected := ageValue + max(0, received.Sub(sent))
	return max(apparent, corrected), valid
}

// currentAge is e's age at now (§4.2.3). It saturates at the largest
// Duration (§1.2.2: a calculation that overflows gives the greatest value),
// and an entry with a negative Age — none this package stores, but a Store
// may return anything — is that old: stale.
func currentAge(e *Entry, now time.Time) time.Duration {
	const maxAge = time.Duration(math.MaxInt64)
	resident := max(0, now.Sub(e.Stored)) // Sub saturates too
	if e.Age < 0 || e.Age > maxAge-resident {
		return maxAge
	}
	return e.Age + resident
}

// freshFor is e's freshness lifetime, never negative.
func freshFor(e *Entry) time.Duration { return max(0, e.Lifetime) }

// How a stored response may answer a request without the origin.
const (
	mustValidate      = iota // ask the origin
	serveFresh               // fresh, and the request accepts it
	serveStale               // stale, and the request accepts it (max-stale)
	serveStaleRefresh        // stale within stale-while-revalidate: serve, revalidate in the background
)

// reuse decides how e may answer a request with directives rq at now
// (§4.2, §4.2.4, §5.2.1, RFC 5861 §3, RFC 8246), and its current age.
func reuse(e *Entry, rq httpsyntax.CacheControl, now time.Time) (int, time.Duration) {
	age := currentAge(e, now)
	if rq.NoCache {
		return mustValidate, age
	}
	life := freshFor(e)
	if age < life {
		ok := !rq.HasMinFresh || life-age >= rq.MinFresh
		if ok && rq.HasMaxAge && age > rq.MaxAge {
			// A fresh immutable response is not revalidated for a reload
			// (max-age=0), only for no-cache (RFC 8246 §2).
			ok = httpsyntax.ParseCacheControl(e.Header).Immutable
		}
		if ok {
			return serveFresh, age
		}
		return mustValidate, age
	}
	rc := httpsyntax.ParseCacheControl(e.Header)
	if rc.MustRevalidate || rc.NoCache || rq.HasMinFresh ||
		rq.HasMaxAge && (age > rq.MaxAge || !rq.HasMaxStale) {
		// §4.2.4: no stale response; §5.2.1.1: max-age without max-stale
		// wants none either.
		return mustValidate, age
	}
	stale := age - life
	switch {
	case rq.HasMaxStale && stale <= rq.MaxStale:
		return serveStale, age
	case rc.HasStaleWhileRevalidate && stale <= rc.StaleWhileRevalidate:
		return serveStaleRefresh, age
	}
	return mustValidate, age
}

// staleOnError reports whether e may answer, stale, a request with
// directives rq whose origin failed (RFC 5861 §4: stale-if-error of the
// response or the request, or the request's max-stale).
func staleOnError(e *Entry, rq httpsyntax.CacheControl, now time.Time) bool {
	if e == nil || e.StatusCode == 0 || rq.NoCache {
		return false
	}
	rc := httpsyntax.ParseCacheControl(e.Header)
	if rc.MustRevalidate || rc.NoCache {
		return false
	}
	stale := currentAge(e, now) - freshFor(e)
	return rc.HasStaleIfError && stale <= rc.StaleIfError ||
		rq.HasStaleIfError && stale <= rq.StaleIfError ||
		rq.HasMaxStale && stale <= rq.MaxStale
}

// originFailed reports the answers RFC 5861 §4 counts as an error of the
// origin: 500, 502, 503, 504.
func originFailed(code int) bool {
	switch code {
	case 500, 502, 503, 504:
		return true
	}
	return false
}

// Values of CacheHeader on a response the cache answered.
const (
	cacheFresh       = "fresh"
	cacheStale       = "stale"
	cacheRevalidated = "revalidated"
)

// storedResponse builds the response e stands for, as an answer to req at
// the given age, marked with CacheHeader mark and an Age field (RFC 9111
// §5.1). Its header is a copy: the caller may change it.
func storedResponse(e *Entry, req *http.Request, age time.Duration, mark string) *http.Response {
	h := make(http.Header, len(e.Header)+2)
	for k, vs := range e.Header {
		h[k] = vs[:len(vs):len(vs)] // an append makes a copy
	}
	h["Age"] = []string{strconv.FormatInt(int64(min(age, maxDelta)/time.Second), 10)}
	h[CacheHeader] = []string{mark}
	var body io.ReadCloser = http.NoBody
	if len(e.Body) > 0 {
		body = io.NopCloser(bytes.NewReader(e.Body))
	}
	return &http.Response{
		Status:        statusText(e.StatusCode),
		StatusCode:    e.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
}

// statusText is "200 OK", as net/http spells a status line.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// onlyIfCached is the 504 a request with only-if-cached gets when nothing
// stored satisfies it (RFC 9111 §5.2.1.7).
func onlyIfCached(req *http.Request) *http.Response {
	return &http.Response{
		Status: "504 Gateway Timeout", StatusCode: http.StatusGatewayTimeout,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{CacheHeader: {"only-if-cached"}},
		Body:    http.NoBody,
		Request: req,
	}
}

// refresh revalidates, in the background, the stored response that
// stale-while-revalidate let the cache serve (RFC 5861 §3): the request
// is sent again, without the caller's deadline, and its answer stored as
// any other. One refresh per key and variant runs at a time; each ends
// within refreshTimeout.
func (c *Client) refresh(req *http.Request, key, variant string) {
	id := key + "\x00" + variant
	c.refreshing.mu.Lock()
	if c.refreshing.keys == nil {
		c.refreshing.keys = make(map[string]bool)
	}
	if c.refreshing.keys[id] {
		c.refreshing.mu.Unlock()
		return
	}
	c.refreshing.keys[id] = true
	c.refreshing.wg.Add(1)
	c.refreshing.mu.Unlock()
	go func() {
		defer func() {
			c.refreshing.mu.Lock()
			delete(c.refreshing.keys, id)
			c.refreshing.mu.Unlock()
			c.refreshing.wg.Done()
		}()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), refreshTimeout)
		defer cancel()
		r2 := req.Clone(ctx)
		r2.Body, r2.GetBody = nil, nil
		out, err := c.send(r2, &followUp{refresh: true})
		if err != nil {
			return
		}
		// Read to the end: the cache stores a body once it is whole.
		if b := out.Response().Body; b != nil {
			_, _ = io.CopyN(io.Discard, b, c.cache.maxEntry+1)
		}
		out.Close()
	}()
}

// refreshTimeout bounds a background revalidation.
const refreshTimeout = 30 * time.Second
