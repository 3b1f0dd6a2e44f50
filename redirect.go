package semhttp

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// redirect.go owns the redirect engine: 301/302/303/307/308 rules, body
// replay, credential stripping across origins, the hop limit and loop
// detection, and the memory of permanent redirects.
//
// net/http's own following is off (client.go's CheckRedirect returns
// http.ErrUseLastResponse); follow below sends each hop through send
// (retry.go), so every hop is a full attempt with retries.

// Sentinel errors of the redirect engine. A refused redirect comes back from
// [Client.Send] and [Client.Do] as a *[RequestError] wrapping a
// *[RedirectError] that wraps one of these, so errors.Is works on the error
// returned by Send.
var (
	// ErrTooManyRedirects ends a chain longer than the hop limit
	// ([WithMaxRedirects], default [DefaultMaxRedirects]).
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
	// body was sent once, to the first URL, and nowhere else.
	ErrBodyNotReplayable = errors.New("semhttp: request body cannot be replayed for the redirect")
)

// DefaultMaxRedirects is how many redirects one call follows by default.
// The next one ends the call with [ErrTooManyRedirects].
const DefaultMaxRedirects = 10

// DefaultRedirectMemory is how many permanent redirects (301, 308) a Client
// remembers by default; the least recently used is forgotten first.
const DefaultRedirectMemory = 1024

// drainLimit bounds how much of an intermediate 3xx body is read so that
// its connection can be reused; a longer body closes the connection.
const drainLimit = 4 << 10

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
// the URL it names. [FollowAll], [FollowSameOrigin] and [FollowNone] are
// ready-made; wrap them to add rules.
type RedirectPolicy func(ctx context.Context, hop Hop, via []Hop) bool

// FollowAll follows every redirect. It is the default policy.
func FollowAll(context.Context, Hop, []Hop) bool { return true }

// FollowSameOrigin follows only redirects whose Location has the same
// origin (scheme, host and port) as the URL that answered.
func FollowSameOrigin(_ context.Context, hop Hop, _ []Hop) bool {
	return hop.Location != nil && SameOrigin(hop.URL, hop.Location)
}

// FollowNone follows no redirect: every 3xx comes back to the caller.
func FollowNone(context.Context, Hop, []Hop) bool { return false }

// SameOrigin reports whether a and b have the same origin in the sense of
// RFC 6454 and the Fetch standard: the same scheme, host (compared
// case-insensitively) and port, an absent port standing for the scheme's
// default (80 for http, 443 for https). Nil URLs are never the same origin.
func SameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
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

// WithRedirectPolicy sets which redirects are followed. Nil, the default,
// means [FollowAll].
func WithRedirectPolicy(p RedirectPolicy) Option {
	return func(c *config) { c.redirect.policy = p }
}

// WithMaxRedirects sets how many redirects one call follows (remembered
// permanent redirects included); the next ends the call with
// [ErrTooManyRedirects]. Zero or negative means [DefaultMaxRedirects]; to
// follow none, use [WithRedirectPolicy]([FollowNone]).
func WithMaxRedirects(n int) Option {
	return func(c *config) { c.redirect.max = n }
}

// WithCredentialHeaders names request headers that carry credentials (an
// API-key header, say) so that they are dropped, like Authorization, Cookie
// and Proxy-Authorization always are, when a redirect leaves the origin of
// the request. Names are case-insensitive; calls add up.
func WithCredentialHeaders(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			if n = strings.TrimSpace(n); n != "" {
				c.redirect.credentials = append(c.redirect.credentials, http.CanonicalHeaderKey(n))
			}
		}
	}
}

// WithInsecureRedirects allows redirects from https to http, which are
// refused with [ErrInsecureRedirect] by default. Credentials are still
// dropped on such a hop, since the origin changes.
func WithInsecureRedirects() Option {
	return func(c *config) { c.redirect.insecure = true }
}

// WithRedirectMemory sets how many permanent redirects (308, and 301 for
// GET and HEAD) the Client remembers, so that later requests to the old URL
// go straight to the new one. Zero means [DefaultRedirectMemory]; negative
// turns the memory off. A 301 or 308 carrying Cache-Control no-store or
// no-cache is not remembered.
func WithRedirectMemory(n int) Option {
	return func(c *config) { c.redirect.memSize = n }
}

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
		r.policy = FollowAll
	}
	if r.max <= 0 {
		r.max = DefaultMaxRedirects
	}
	if r.memSize == 0 {
		r.memSize = DefaultRedirectMemory
	}
	if r.memSize > 0 {
		r.memory = newRedirectMemory(r.memSize)
	}
	creds := []string{"Authorization", "Cookie", "Proxy-Authorization"}
	for _, n := range r.credentials {
		if !containsString(creds, n) {
			creds = append(creds, n)
		}
	}
	r.credentials = creds
	return r
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
			sb.WriteString(redact(h.Location))
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
		resp, err := c.send(send, ch.body, x)
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

// hiddenLocation holds a redirect's Location while the response passes
// through the inner http.Client. The space makes it a name no server can
// send (it is not a token), so nothing else ever lands there.
const hiddenLocation = "Semhttp hidden Location"

// hideLocation moves the Location of a 301/302/303/307/308 out of sight of
// net/http's http.Client, which semhttp uses with redirects off. Even then
// http.Client parses the Location before consulting CheckRedirect (an
// unparseable one becomes its own error, with the body closed) and, for
// 307/308, calls the request's GetBody and drops the new body. Without a
// Location it returns the response as it is, and follow decides.
func hideLocation(resp *http.Response) {
	if resp == nil || !isRedirect(resp.StatusCode) {
		return
	}
	if v, ok := resp.Header["Location"]; ok {
		delete(resp.Header, "Location")
		resp.Header[hiddenLocation] = v
	}
}

// restoreLocation undoes hideLocation. retry.go's CheckRetry hook calls it
// first thing for every response, as soon as the inner http.Client returns,
// so no decider, hook or caller of send ever sees the hidden name.
func restoreLocation(resp *http.Response) {
	if resp == nil || !isRedirect(resp.StatusCode) {
		return
	}
	if v, ok := resp.Header[hiddenLocation]; ok {
		delete(resp.Header, hiddenLocation)
		resp.Header["Location"] = v
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
	if !ch.policy()(cur.Context(), hop, via) {
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
	maxWait := c.retry.MaxRetryAfter
	if o := ch.x.opts; o != nil && o.retry != nil {
		maxWait = o.retry.MaxRetryAfter
	}
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
		resp.StatusCode == http.StatusMovedPermanently) && !noStore(resp.Header) {
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
	if !SameOrigin(cur.URL, loc) {
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

// policy is the call's redirect policy: a [RedirectsFor] request option,
// else the client's.
func (ch *chain) policy() RedirectPolicy {
	if o := ch.x.opts; o != nil && o.redirect != nil {
		return o.redirect
	}
	return ch.c.redirect.policy
}

// RedirectsFor sets the redirect policy of one call, instead of the
// client's (see [WithRequestOptions]). The limits no policy can lift still
// hold.
func RedirectsFor(p RedirectPolicy) RequestOption {
	return func(o *requestOptions) { o.redirect = p }
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
		if ch.visited(loc) || rc.checkTarget(cur.URL, loc) != nil || !ch.policy()(cur.Context(), hop, via) {
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
// (RFC 9110 §10.2.3). It fails at once, with an error matching
// context.DeadlineExceeded, when the wait would end past the deadline, and
// ends early when ctx is done.
func (ch *chain) sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("semhttp: redirect asks to wait %v (Retry-After), past the deadline: %w", d, context.DeadlineExceeded)
	}
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		ch.x.waited += d
		return nil
	case <-ctx.Done():
		ch.x.waited += time.Since(start)
		return ctx.Err()
	}
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
		return nil, false, fmt.Errorf("%w: credentials (userinfo) in %q", ErrBadLocation, redact(loc))
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
		return fmt.Errorf("%w: no host in %q", ErrBadLocation, redact(to))
	}
	if from.Scheme == "https" && to.Scheme == "http" && !r.insecure {
		return fmt.Errorf("%w: %s", ErrInsecureRedirect, redact(to))
	}
	return nil
}

// noStore reports whether a redirect's Cache-Control forbids remembering
// it (no-store or no-cache).
func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
			if strings.EqualFold(name, "no-store") || strings.EqualFold(name, "no-cache") {
				return true
			}
		}
	}
	return false
}

// present reports whether the source stands for a body at all.
func (b *bodySource) present() bool { return b.getBody != nil || b.seeker != nil || b.read != nil }

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

// drainClose reads at most drainLimit bytes of body, so that a short
// redirect body leaves its connection reusable, and closes it.
func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}

// memKey is the identity of a URL for the memory and loop detection: the
// URL without userinfo and fragment (neither is sent as part of the target).
// memoryKey is what a remembered redirect is filed under: the old URL
// (without userinfo and fragment) and the hash of the credentials the
// request carried, so that what one user was redirected to is never
// applied to another user's request.
type memoryKey struct {
	url       url.URL
	partition string
}

func memKey(u *url.URL, partition string) memoryKey {
	if u == nil {
		return memoryKey{partition: partition}
	}
	k := *u
	k.User = nil
	k.Fragment, k.RawFragment = "", ""
	return memoryKey{url: k, partition: partition}
}

// redirectMemory remembers permanent redirects, bounded, least recently
// used forgotten first. It is safe for concurrent use.
type redirectMemory struct {
	size atomic.Int64 // entries, read without the lock on the no-redirect path
	mu   sync.Mutex
	max  int
	ll   list.List // of *memEntry, most recent first
	m    map[memoryKey]*list.Element
}

type memEntry struct {
	from        memoryKey // the old URL and credentials
	to          url.URL   // the new URL, without userinfo
	code        int
	ownFragment bool
}

func newRedirectMemory(max int) *redirectMemory {
	return &redirectMemory{max: max, m: make(map[memoryKey]*list.Element)}
}

func (m *redirectMemory) get(u *url.URL, partition string) (memEntry, bool) {
	k := memKey(u, partition)
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.m[k]
	if !ok {
		return memEntry{}, false
	}
	m.ll.MoveToFront(el)
	return *el.Value.(*memEntry), true
}

func (m *redirectMemory) put(from *url.URL, partition string, to *url.URL, code int, ownFragment bool) {
	e := &memEntry{from: memKey(from, partition), to: *to, code: code, ownFragment: ownFragment}
	e.to.User = nil
	if !ownFragment {
		e.to.Fragment, e.to.RawFragment = "", ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.m[e.from]; ok {
		el.Value = e
		m.ll.MoveToFront(el)
		return
	}
	m.m[e.from] = m.ll.PushFront(e)
	for m.ll.Len() > m.max {
		old := m.ll.Back()
		m.ll.Remove(old)
		delete(m.m, old.Value.(*memEntry).from)
	}
	m.size.Store(int64(m.ll.Len()))
}

// target is the remembered new URL for a request to cur: cur's userinfo
// is kept only on the same origin (as a relative Location would), and
// cur's fragment is inherited unless the Location had its own.
func (e *memEntry) target(cur *url.URL) *url.URL {
	t := e.to
	if SameOrigin(cur, &t) {
		t.User = cur.User
	}
	if !e.ownFragment {
		t.Fragment, t.RawFragment = cur.Fragment, cur.RawFragment
	}
	return &t
}
