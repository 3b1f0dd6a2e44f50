package semhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// redirect.go owns the redirect engine: 301/302/303/307/308 rules, body
// replay, credential stripping across origins, the hop limit and loop
// detection. net/http's own following is off (configure's CheckRedirect
// returns http.ErrUseLastResponse); follow sends each hop through
// attempts, so every hop is a full attempt with retries. Remembered
// permanent redirects are in redirectmemory.go.

// Sentinel errors of the redirect engine. A refused redirect comes back from
// [Client.Send] and [Client.Do] as a *[RequestError] wrapping a
// *[RedirectError] that wraps one of these, so errors.Is works on the error
// returned by Send.
var (
	// ErrTooManyRedirects ends a chain longer than the hop limit
	// ([WithMaxRedirects], default 10).
	ErrTooManyRedirects = errors.New("semhttp: too many redirects")
	// ErrRedirectLoop ends a chain in which the same redirect (same status,
	// method, URL and Location) came back a second time.
	ErrRedirectLoop = errors.New("semhttp: redirect loop")
	// ErrInsecureRedirect refuses a redirect from https to http (see
	// [WithInsecureRedirects]).
	ErrInsecureRedirect = errors.New("semhttp: redirect from https to http refused")
	// ErrBadRedirectScheme refuses a Location whose scheme is not http or
	// https (javascript:, file:, ftp:, data:, ...).
	ErrBadRedirectScheme = errors.New("semhttp: redirect to a scheme other than http or https refused")
	// ErrBodyNotReplayable refuses a redirect that must resend the request
	// body (307, 308, and 301/302 for methods other than POST) when the body
	// cannot be sent again: it has no GetBody and is not an io.Seeker. The
	// body was sent once, to the first URL, and nowhere else. RangePages and
	// LinkPages refuse such a request with it too (they send it more than
	// once).
	ErrBodyNotReplayable = errors.New("semhttp: request body cannot be replayed for the redirect")
)

// defaultMaxRedirects is how many redirects one call follows by default.
// The next one ends the call with [ErrTooManyRedirects].
const defaultMaxRedirects = 10

// RedirectPolicy decides whether a redirect is followed. ctx is the
// request's context. hop is the redirect at hand: the status, the method
// and URL of the request that got it, and its Location resolved against
// that URL (nil when the Location could not be used; following such a hop
// fails with [ErrBadLocation]). via lists the hops already followed in
// this call, oldest first; it must not be modified.
//
// Returning false hands the 3xx back unfollowed: [Client.Send] returns a
// *[Redirect] carrying Location, Permanent and MethodKept, and [Client.Do]
// the response with its body open. Returning true follows it, subject to
// the limits no policy can lift: the hop limit, loop detection, http(s)
// schemes only, no https → http unless [WithInsecureRedirects], and body
// replay.
//
// The policy is also asked before a remembered permanent redirect rewrites
// a request's URL (hop.Remembered is then true); false sends the request to
// the URL it names. Nil means follow every redirect (the default);
// [FollowSameOrigin] and [FollowNone] are ready-made, and wrapping one adds
// rules.
type RedirectPolicy func(ctx context.Context, hop Hop, via []Hop) bool

// followAll follows every redirect: the default policy.
func followAll(context.Context, Hop, []Hop) bool { return true }

// FollowSameOrigin follows only redirects whose Location has the same
// origin (scheme, host and port) as the URL that answered.
func FollowSameOrigin(ctx context.Context, hop Hop, via []Hop) bool {
	return hop.Location != nil && httpsyntax.SameOrigin(hop.URL, hop.Location)
}

// FollowNone follows no redirect: every 3xx comes back to the caller.
func FollowNone(context.Context, Hop, []Hop) bool { return false }

// redirectConfig is the redirect policy of a Client.
type redirectConfig struct {
	policy      RedirectPolicy
	max         int
	memSize     int
	insecure    bool
	credentials []string // canonical names of the headers dropped across origins
	memory      *redirectMemory
}

// resolved fills in defaults. It is called once per New, so the memory it
// allocates belongs to one Client.
func (r redirectConfig) resolved() redirectConfig {
	if r.policy == nil {
		r.policy = followAll
	}
	if r.max <= 0 {
		r.max = defaultMaxRedirects
	}
	if r.memSize == 0 {
		r.memSize = defaultRedirectMemory
	}
	if r.memSize > 0 {
		r.memory = newRedirectMemory(r.memSize)
	}
	creds := []string{"Authorization", "Cookie", "Proxy-Authorization"}
	for _, n := range r.credentials {
		if !slices.Contains(creds, n) {
			creds = append(creds, n)
		}
	}
	r.credentials = creds
	return r
}

// RedirectError ends a redirect chain the client refused to follow further.
// Hops is the chain: the redirects followed, then the refused one last (its
// Location is nil when the header could not be used). Err is one of
// [ErrTooManyRedirects], [ErrRedirectLoop], [ErrInsecureRedirect],
// [ErrBadRedirectScheme], [ErrBodyNotReplayable] or [ErrBadLocation],
// possibly wrapped with detail; RedirectError unwraps to it.
type RedirectError struct {
	Hops []Hop
	Err  error
}

// Error names the reason and lists the chain from the first request's URL
// on — "semhttp: redirect loop: -302-> https://h/b -302-> https://h/a" —
// which the *RequestError around it names; URLs without userinfo, query or
// fragment.
func (e *RedirectError) Error() string {
	var sb strings.Builder
	if e.Err == nil {
		sb.WriteString("semhttp: redirect refused")
	} else {
		sb.WriteString(e.Err.Error())
	}
	for i, h := range e.Hops {
		if i == 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(" -")
		sb.WriteString(strconv.Itoa(h.StatusCode))
		sb.WriteString("-> ")
		if h.Location == nil {
			sb.WriteString("(unusable Location)")
		} else {
			sb.WriteString(httpsyntax.Redact(h.Location))
		}
	}
	return sb.String()
}

// Unwrap returns the reason.
func (e *RedirectError) Unwrap() error { return e.Err }

// isRedirect reports whether code is one the engine follows. 300 and other
// 3xx are outcomes (*MultipleChoices, *NotModified), never followed.
func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectMethod says how a redirect with status code changes a request
// with method (RFC 9110 §15.4, Fetch "HTTP-redirect fetch" step 12): the
// method of the next request and whether the body is sent again.
//
//	303           → GET without body (HEAD stays HEAD)
//	301, 302      → GET without body for POST; others keep method and body
//	307, 308      → same method, same body
func redirectMethod(code int, method string) (string, bool) {
	switch code {
	case http.StatusSeeOther:
		if method == http.MethodHead {
			return http.MethodHead, false
		}
		return http.MethodGet, false
	case http.StatusMovedPermanently, http.StatusFound:
		if method == http.MethodPost {
			return http.MethodGet, false
		}
	}
	return method, true
}

// bodyHeaders describe a request body (RFC 9110 §15.4, Fetch's
// request-body-header names); they go when the body goes.
var bodyHeaders = [...]string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Language",
	"Content-Location", "Content-Digest", "Repr-Digest", "Digest", "Last-Modified",
}

// chain is the state of one call's redirects.
type chain struct {
	c     *Client
	x     *exchange
	first *http.Request // the request as prepared from the caller's
	cur   *http.Request // the request of the current hop, as built
	body  *bodySource   // the current hop's body: the call's source, or empty once dropped
	hdr   http.Header   // the header template of the next hop, owned by the chain (nil: cur.Header)
}

// follow sends req and follows redirects per the policy. Each hop is a full
// attempt through send (retries apply). The caller's request, its URL and
// its Header map are never modified here (net/http itself adds a cookie
// jar's cookies to the first request's header, as http.Client does).
func (c *Client) follow(req *http.Request, x *exchange) (*http.Response, error) {
	// The body source lives in x, which is on the heap already: one
	// allocation fewer per call than a variable of its own, which would
	// escape through the pooled retrier.
	var r *http.Request
	r, x.body = prepareBody(req)
	defer x.body.close()
	ch := chain{c: c, x: x, first: r, cur: r, body: &x.body}
	jar := c.hc.Jar != nil
	if jar {
		// net/http adds the jar's cookies to the header of the request it
		// sends; later hops start from the headers as the caller gave them.
		ch.hdr = r.Header.Clone()
	}
	if m := c.redirect.memory; m != nil && m.size.Load() > 0 {
		ch.remembered()
	}
	for {
		send := ch.cur
		if jar && send != ch.first {
			send = shallowWithHeader(send, send.Header.Clone())
		}
		resp, err := c.attempts(send, ch.body, x)
		if err != nil {
			return nil, err
		}
		if !isRedirect(resp.StatusCode) {
			return resp, nil
		}
		next, err := ch.next(resp)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return resp, nil
		}
		ch.cur = next
	}
}

func shallowWithHeader(r *http.Request, h http.Header) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = h
	return r2
}

// next decides about the redirect resp to ch.cur. It returns the request
// for the next hop (resp closed), nil when resp is the final answer (resp
// open), or an error (resp closed).
func (ch *chain) next(resp *http.Response) (*http.Request, error) {
	c, cur, rc := ch.c, ch.cur, &ch.c.redirect
	raws := resp.Header.Values("Location")
	if len(raws) == 0 {
		return nil, nil // RFC 9110 §15.4: no Location, nothing to follow
	}
	loc, ownFragment, err := redirectTarget(cur.URL, raws)
	hop := Hop{StatusCode: resp.StatusCode, Method: methodOf(cur), URL: cloneURL(cur.URL), Location: loc}
	via := ch.x.hops[:len(ch.x.hops):len(ch.x.hops)]
	if !ch.x.redirectPolicy(ch.c)(cur.Context(), hop, via) {
		return nil, nil
	}
	if err == nil {
		err = rc.checkTarget(cur.URL, loc)
	}
	switch {
	case err != nil:
	case len(ch.x.hops) >= rc.max:
		err = fmt.Errorf("%w (limit %d)", ErrTooManyRedirects, rc.max)
	case ch.repeated(hop):
		err = ErrRedirectLoop
	}
	method, keepBody := redirectMethod(resp.StatusCode, cur.Method)
	if err == nil && keepBody && ch.body.present() && !ch.body.replayable() {
		err = fmt.Errorf("%w: %d needs the body sent again and it has no GetBody and is not an io.Seeker", ErrBodyNotReplayable, resp.StatusCode)
	}
	if err != nil {
		drainClose(resp.Body)
		return nil, &RedirectError{Hops: append(append([]Hop(nil), ch.x.hops...), hop), Err: err}
	}
	wait, hasWait := retryAfter(resp)
	maxWait := ch.x.retryPolicy(c).MaxRetryAfter
	if hasWait && wait > maxWait {
		return nil, nil // the server asks for longer than we wait: hand the 3xx back
	}
	drainClose(resp.Body)
	if hasWait && wait > 0 {
		if err := ch.sleep(cur.Context(), wait); err != nil {
			return nil, err
		}
	} else if err := cur.Context().Err(); err != nil {
		return nil, err
	}
	next, err := ch.request(resp, loc, method, keepBody)
	if err != nil {
		return nil, err
	}
	if m := rc.memory; m != nil && (resp.StatusCode == http.StatusPermanentRedirect ||
		resp.StatusCode == http.StatusMovedPermanently) && !httpsyntax.HasDirective(resp.Header, "no-store", "no-cache") {
		m.put(cur.URL, requestPartition(cur, rc.credentials), loc, resp.StatusCode, ownFragment)
	}
	ch.x.hops = append(ch.x.hops, hop)
	return next, nil
}

// request builds the next hop's request to loc from ch.cur: method and
// body per the redirect rules, headers cloned from the template with
// credentials dropped when the origin changes (and from then on, since
// each hop starts from the previous hop's headers) and body headers
// dropped with the body. resp is the redirect that caused it, nil for a
// remembered one (whose body has not been sent yet and is kept as it is).
func (ch *chain) request(resp *http.Response, loc *url.URL, method string, keepBody bool) (*http.Request, error) {
	cur := ch.cur
	base := ch.hdr
	if base == nil {
		base = cur.Header
	}
	h := base.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if !httpsyntax.SameOrigin(cur.URL, loc) {
		for _, k := range ch.c.redirect.credentials {
			delete(h, k)
		}
	}
	next := new(http.Request)
	*next = *cur
	next.Method = method
	next.URL = loc
	next.Header = h
	next.Response = resp
	if loc.Host != cur.URL.Host {
		next.Host = "" // a caller's Host override only holds on its own host
	}
	switch {
	case !keepBody:
		next.Body, next.GetBody, next.ContentLength = nil, nil, 0
		next.TransferEncoding, next.Trailer = nil, nil
		for _, k := range bodyHeaders {
			delete(h, k)
		}
		ch.body = &bodySource{} // no body for the rest of the chain
	case resp != nil && ch.body.present():
		if err := ch.body.rewind(next); err != nil {
			return nil, err
		}
	}
	ch.hdr = h
	return next, nil
}

// remembered rewrites ch.cur through the client's memory of permanent
// redirects, hop by hop, as long as the policy and the checks allow; it
// stops quietly (sending what it has) at anything doubtful, since the
// memory may be stale.
func (ch *chain) remembered() {
	rc := &ch.c.redirect
	for len(ch.x.hops) < rc.max {
		cur := ch.cur
		e, ok := rc.memory.get(cur.URL, requestPartition(cur, rc.credentials))
		if !ok {
			return
		}
		if e.code == http.StatusMovedPermanently && !safeRetrieval(cur.Method) {
			return // a 301 would turn POST into GET and keep others: only GET/HEAD may skip it
		}
		loc := e.target(cur.URL)
		hop := Hop{StatusCode: e.code, Method: methodOf(cur), URL: cloneURL(cur.URL), Location: loc, Remembered: true}
		via := ch.x.hops[:len(ch.x.hops):len(ch.x.hops)]
		if ch.visited(loc) || rc.checkTarget(cur.URL, loc) != nil || !ch.x.redirectPolicy(ch.c)(cur.Context(), hop, via) {
			return
		}
		next, err := ch.request(nil, loc, cur.Method, true)
		if err != nil {
			return
		}
		ch.x.hops = append(ch.x.hops, hop)
		ch.cur = next
	}
}

func safeRetrieval(method string) bool {
	return method == "" || method == http.MethodGet || method == http.MethodHead
}

// repeated reports whether hop was already followed in this chain: the
// same status, method, URL and Location twice is a loop. Coming back to a
// URL is not by itself a loop (a login that sets a cookie and redirects
// back is common); getting the same redirect from it again is.
func (ch *chain) repeated(hop Hop) bool {
	for _, h := range ch.x.hops {
		if h.StatusCode == hop.StatusCode && h.Method == hop.Method &&
			memKey(h.URL, "") == memKey(hop.URL, "") && memKey(h.Location, "") == memKey(hop.Location, "") {
			return true
		}
	}
	return false
}

// visited reports whether u is the current URL or one already requested.
func (ch *chain) visited(u *url.URL) bool {
	k := memKey(u, "")
	if memKey(ch.cur.URL, "") == k {
		return true
	}
	for _, h := range ch.x.hops {
		if memKey(h.URL, "") == k {
			return true
		}
	}
	return false
}

// sleep waits d before following a redirect that sent Retry-After
// (RFC 9110 §10.2.3), counting the time waited.
func (ch *chain) sleep(ctx context.Context, d time.Duration) error {
	start := time.Now()
	err := sleep(ctx, d)
	ch.x.waited += time.Since(start)
	if err != nil {
		return fmt.Errorf("semhttp: redirect's Retry-After: %w", err)
	}
	return nil
}

// redirectTarget resolves the Location values of a redirect from base
// (RFC 9110 §10.2.2): exactly one value (or identical repeats), a valid
// URI reference without control characters (CR, LF, ...) and without
// userinfo. A Location without a fragment inherits base's. ownFragment
// reports whether it had one.
func redirectTarget(base *url.URL, raws []string) (loc *url.URL, ownFragment bool, err error) {
	raw := raws[0]
	for _, v := range raws[1:] {
		if v != raw {
			return nil, false, fmt.Errorf("%w: %d different Location headers", ErrBadLocation, len(raws))
		}
	}
	loc, err = parseReference(base, raw)
	if err != nil {
		return nil, false, err
	}
	if ref, _ := url.Parse(raw); ref != nil && ref.User != nil {
		return nil, false, fmt.Errorf("%w: credentials (userinfo) in %q", ErrBadLocation, httpsyntax.Redact(loc))
	}
	ownFragment = strings.IndexByte(raw, '#') >= 0
	if !ownFragment {
		loc.Fragment, loc.RawFragment = base.Fragment, base.RawFragment
	}
	return loc, ownFragment, nil
}

// checkTarget refuses what no policy may follow: schemes other than http
// and https, a URL without host, and https → http unless allowed.
func (r *redirectConfig) checkTarget(from, to *url.URL) error {
	switch to.Scheme {
	case "http", "https":
	default:
		s := to.Scheme
		if len(s) > 32 {
			s = s[:32] + "..."
		}
		return fmt.Errorf("%w: %q", ErrBadRedirectScheme, s)
	}
	if to.Hostname() == "" {
		return fmt.Errorf("%w: no host in %q", ErrBadLocation, httpsyntax.Redact(to))
	}
	if from.Scheme == "https" && to.Scheme == "http" && !r.insecure {
		return fmt.Errorf("%w: %s", ErrInsecureRedirect, httpsyntax.Redact(to))
	}
	return nil
}

func methodOf(r *http.Request) string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

func cloneURL(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	u2 := *u
	if u.User != nil {
		u2.User = new(url.Userinfo)
		*u2.User = *u.User
	}
	return &u2
}
