package semhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends requests through the semhttp pipeline: retries, redirects,
// revalidation, and classification into outcomes. A Client is safe for
// concurrent use; build one with [New] and share it. The zero Client is
// usable too, with the defaults New gives (as net/http's zero Client is).
type Client struct {
	once         sync.Once    // configures the client: New's options, or the defaults
	hc           *http.Client // net/http with redirects off and a pool-preserving transport
	pool         http.RoundTripper
	logger       *slog.Logger
	retry        retryConfig
	idemKeys     bool
	maxErrorBody int64
	maxDecode    int64 // Decode's cap; <= 0: none
	redirect     redirectConfig
	deprecated   onceSet
	retriers     sync.Pool   // *retrier
	base         *url.URL    // WithBaseURL
	baseErr      error       // an invalid WithBaseURL, reported by every call
	headers      [][2]string // WithHeader defaults, canonical keys
	cache        cacheConfig
}

// Option configures a Client in [New].
type Option func(*config)

type config struct {
	httpClient     *http.Client
	transport      http.RoundTripper
	logger         *slog.Logger
	retry          RetryPolicy
	idemKeys       bool
	maxErrorBody   int64
	maxDecode      int64
	attemptTimeout time.Duration
	redirect       redirectConfig
	baseURL        string
	headers        [][2]string
	cache          cacheOptions
}

// WithHTTPClient takes the transport, cookie jar and timeout from hc. hc is
// never modified and its CheckRedirect is not used: semhttp follows
// redirects itself. Nil means a transport of semhttp's own (see [New]).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithTransport sets the RoundTripper every attempt goes through. Nil means
// semhttp's default transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) { c.transport = rt }
}

// WithLogger routes semhttp's logs to l: retries at Debug, requests that fail for good and deprecated endpoints at Warn.
// URLs are logged without userinfo, query or fragment. Nil, the default,
// means no logging at all: semhttp never prints by itself, and
// go-retryablehttp's own logger is always off (its messages would show
// URL queries).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRetryPolicy sets the retry policy. The zero RetryPolicy is the
// default policy; see its fields.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithIdempotencyKeys adds a random Idempotency-Key to every POST and PATCH
// that has none, so that they become safe to retry
// (draft-ietf-httpapi-idempotency-key-header). The same key is sent on every
// attempt and redirect hop of one call. It is off by default.
func WithIdempotencyKeys() Option {
	return func(c *config) { c.idemKeys = true }
}

// WithMaxErrorBody sets how many bytes of a failure response's body are
// captured. Zero or negative means [DefaultMaxErrorBody] (64 KiB).
func WithMaxErrorBody(n int64) Option {
	return func(c *config) { c.maxErrorBody = n }
}

// WithMaxDecodeBody sets how many bytes of a body [Decode] reads, counted
// after decompression: a longer body fails with [ErrBodyTooLarge] instead
// of filling memory (a small gzip bomb inflates to gigabytes). Zero means
// 16 MiB, the default; negative means no limit.
func WithMaxDecodeBody(n int64) Option {
	return func(c *config) { c.maxDecode = n }
}

// WithAttemptTimeout bounds each attempt, from sending the request to the
// end of reading the response body (it sets http.Client.Timeout on the
// inner client). Zero, the default, means no per-attempt limit; use the
// request's context for an overall deadline.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) { c.attemptTimeout = d }
}

// WithBaseURL resolves requests whose URL is relative (no scheme and
// host, as in http.NewRequest("GET", "/users/1", nil)) against base, per
// RFC 3986 §5 — so a base of "https://api.example.com/v2/" and a request
// for "users/1" go to https://api.example.com/v2/users/1. An invalid base
// makes every call fail with an error naming it. Empty means none.
func WithBaseURL(base string) Option {
	return func(c *config) { c.baseURL = base }
}

// WithHeader sets a header sent with every request that does not already
// have it (say an API version or an Accept). Repeat it for more headers.
func WithHeader(key, value string) Option {
	return func(c *config) { c.headers = append(c.headers, [2]string{http.CanonicalHeaderKey(key), value}) }
}

// WithUserAgent sets the User-Agent sent with requests that have none.
func WithUserAgent(ua string) Option { return WithHeader("User-Agent", ua) }

// New returns a Client. With no options it uses its own http.Transport
// (a clone of http.DefaultTransport keeping up to 64 idle connections per
// host, so parallel callers reuse connections, and refusing response
// headers over 1 MiB), the default [RetryPolicy], redirects followed per
// RFC 9110, a private in-memory cache, and no logging.
//
// New cannot fail: an option with an invalid value (a [WithBaseURL] that
// does not parse) makes every call of the Client fail with an error that
// names it.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	c := &Client{}
	c.once.Do(func() { c.configure(&cfg) })
	return c
}

// init gives a zero Client the defaults of New(), once; it is a no-op for
// a Client built by New.
func (c *Client) init() { c.once.Do(c.configureDefaults) }

func (c *Client) configureDefaults() { c.configure(&config{}) }

// configure sets the client up from cfg. It runs once per Client.
func (c *Client) configure(cfg *config) {
	rt := cfg.transport
	var jar http.CookieJar
	timeout := cfg.attemptTimeout
	if hc := cfg.httpClient; hc != nil {
		if rt == nil {
			rt = hc.Transport
		}
		jar = hc.Jar
		if timeout == 0 {
			timeout = hc.Timeout
		}
	}
	if rt == nil {
		rt = defaultTransport()
	}
	c.pool = rt
	c.logger = cfg.logger
	c.retry = cfg.retry.resolved()
	c.idemKeys = cfg.idemKeys
	c.maxErrorBody = cfg.maxErrorBody
	if c.maxErrorBody <= 0 {
		c.maxErrorBody = DefaultMaxErrorBody
	}
	c.maxDecode = cfg.maxDecode
	if c.maxDecode == 0 {
		c.maxDecode = defaultMaxDecode
	}
	c.redirect = cfg.redirect.resolved()
	c.cache = cfg.cache.resolved()
	c.headers = cfg.headers
	if cfg.baseURL != "" {
		u, err := url.Parse(cfg.baseURL)
		switch {
		case err != nil:
			c.baseErr = fmt.Errorf("semhttp: invalid base URL %q: %w", redactRaw(cfg.baseURL), unwrapURLError(err))
		case !u.IsAbs() || u.Host == "":
			c.baseErr = fmt.Errorf("semhttp: base URL %q is not absolute", redact(u))
		default:
			c.base = u
		}
	}
	c.hc = &http.Client{
		// go-retryablehttp calls CloseIdleConnections on its http.Client on
		// failure paths; poolKeeper hides that method so one failed request
		// does not flush the pool for every other request.
		Transport:     poolKeeper{rt},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Jar:           jar,
		Timeout:       timeout,
	}
}

func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.MaxResponseHeaderBytes = 1 << 20 // a server that sends headers forever is cut off at 1 MiB
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// poolKeeper is a RoundTripper without CloseIdleConnections. It also hides
// the Location of redirects from the inner http.Client (see hideLocation).
type poolKeeper struct{ rt http.RoundTripper }

func (p poolKeeper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.rt.RoundTrip(r)
	hideLocation(resp)
	return resp, err
}

// CloseIdleConnections closes the idle connections of the client's
// transport, like http.Client.CloseIdleConnections.
func (c *Client) CloseIdleConnections() {
	c.init()
	if ci, ok := c.pool.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Do sends req through the full pipeline (retries, redirects,
// revalidation) and returns the final response as net/http would: any
// status is a response, not an error, and the caller must close its body.
// A GET the client revalidated comes back as the stored 200 (marked with
// [CacheHeader]), never as a 304 the caller did not ask for. Any returned
// error is a *[RequestError]: there was no usable response. Like
// http.Client.Do, Do closes req.Body. Do satisfies the doer interfaces of
// generated clients (oapi-codegen's HttpRequestDoer, ogen's ht.Client).
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, x, err := c.exchange(req)
	if err != nil {
		return nil, err
	}
	if x.opts != nil && x.opts.capture != nil {
		*x.opts.capture = c.outcome(resp, x)
	}
	return resp, nil
}

// Send sends req through the full pipeline and returns what the final
// response means. Any returned error is a *[RequestError]: the call got no
// usable response (a transport failure after the retries, a refused
// redirect, a cancelled context, a status that is not three digits). A 404
// is not an error of Send: it is *NotFound. Like http.Client.Do, Send
// closes req.Body.
//
// Most callers want Send, or [Decode] around it:
//
//	user, err := semhttp.Decode[User](c.Send(req))
func (c *Client) Send(req *http.Request) (Outcome, error) {
	resp, x, err := c.exchange(req)
	if err != nil {
		return nil, err
	}
	out := c.outcome(resp, x)
	if x.opts != nil && x.opts.capture != nil {
		*x.opts.capture = out
	}
	return out, nil
}

// outcome classifies the final response of x.
func (c *Client) outcome(resp *http.Response, x *exchange) Outcome {
	info := x.info()
	if x.revalidated {
		info.FromCache = true
		return &NotModified{base{resp: resp, info: info, client: c}}
	}
	out := classify(resp, info, c.maxErrorBody, x.opts != nil && x.opts.polling)
	out.core().client = c // so that an *Accepted polls through c, and Decode knows c's limit
	return out
}

// exchange is the state of one call across its hops.
type exchange struct {
	opts         *requestOptions // per-request options from the context, or nil
	start        time.Time       // the first attempt, for RetryPolicy.MaxElapsed
	attempts     int
	lastAttempts int
	waited       time.Duration
	hops         []Hop
	cache        cacheCall
	body         bodySource // the request body of the current chain (follow)
	revalidated  bool       // the response is the stored one a 304 selected
}

func (x *exchange) info() Info {
	return Info{Attempts: x.lastAttempts, TotalAttempts: x.attempts, Waited: x.waited, Hops: x.hops}
}

// ErrNilRequest is the cause of the *RequestError for a nil request or one
// without a URL.
var ErrNilRequest = errors.New("semhttp: nil request or URL")

// exchange runs the pipeline for req. Its error is always a *RequestError.
//
// The stages, in order:
//
//	own                base URL, default headers, Idempotency-Key     client.go
//	cacheBefore        validators (GET) or If-Match (writes)           cache.go
//	follow             the redirect chain, hop by hop                  redirect.go
//	  send             the attempts of one hop (go-retryablehttp)      retry.go
//	cacheAfter         store a 200, freshen on 304, invalidate         cache.go
//	cacheRevalidated   a 304 to the client's validators → stored 200   cache.go
//
// Send and Do then classify the response into its Outcome (outcome.go).
func (c *Client) exchange(req *http.Request) (*http.Response, *exchange, error) {
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close() // like http.Client.Do, on every path
		}
		rerr := &RequestError{Err: ErrNilRequest}
		if req != nil {
			rerr.Method = methodOf(req)
		}
		return nil, nil, rerr
	}
	c.init()
	if c.baseErr != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, nil, &RequestError{Method: methodOf(req), URL: redact(req.URL), Err: c.baseErr}
	}
	x := &exchange{}
	if ro, ok := req.Context().Value(requestOptionsKey{}).(*requestOptions); ok {
		x.opts = ro
	}
	req = c.own(req, x.opts)
	req = c.cacheBefore(req, x)
	resp, err := c.follow(req, x)
	if err == nil {
		err = checkStatus(resp)
	}
	if err == nil {
		if c.logger != nil && len(resp.Header["Deprecation"]) > 0 {
			c.noteDeprecated(resp)
		}
		resp = c.cacheAfter(resp, x)
		resp, x.revalidated, err = c.cacheRevalidated(resp, x)
	}
	if err != nil {
		err = unwrapURLError(err)
		if c.logger != nil {
			c.logger.Warn("semhttp: request failed", "method", methodOf(req), "url", redact(req.URL),
				"attempts", x.attempts, "error", err.Error())
		}
		return nil, nil, &RequestError{
			Method: methodOf(req), URL: redact(req.URL),
			Attempts: x.lastAttempts, Waited: x.waited, Err: err,
		}
	}
	return resp, x, nil
}

// unwrapURLError drops net/http's *url.Error around err: it repeats the
// method and the URL (with its query) that RequestError already names,
// redacted. What it wraps stays in the chain.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok && ue.Err != nil {
		return ue.Err
	}
	return err
}

// own applies the client's request defaults — base URL, default headers,
// an idempotency key — to a shallow copy of req, leaving the caller's
// request and header map untouched. It returns req itself when there is
// nothing to apply.
func (c *Client) own(req *http.Request, ro *requestOptions) *http.Request {
	needURL := c.base != nil && !req.URL.IsAbs()
	needKey := c.idemKeys && (req.Method == http.MethodPost || req.Method == http.MethodPatch) &&
		headerValue(req.Header, "Idempotency-Key") == ""
	noCreds := ro != nil && ro.foreign
	needHeader := false
	for _, kv := range c.headers {
		if _, ok := req.Header[kv[0]]; !ok && !(noCreds && c.isCredential(kv[0])) {
			needHeader = true
			break
		}
	}
	if !needURL && !needKey && !needHeader {
		return req
	}
	r2 := new(http.Request)
	*r2 = *req
	if needURL {
		r2.URL = c.base.ResolveReference(req.URL)
		r2.Host = ""
	}
	if needKey || needHeader {
		r2.Header = req.Header.Clone()
		if r2.Header == nil {
			r2.Header = make(http.Header)
		}
		for _, kv := range c.headers {
			if _, ok := r2.Header[kv[0]]; !ok && !(noCreds && c.isCredential(kv[0])) {
				r2.Header[kv[0]] = []string{kv[1]}
			}
		}
		if needKey {
			r2.Header.Set("Idempotency-Key", newIdempotencyKey())
		}
	}
	return r2
}

// noteDeprecated logs a deprecated endpoint the first time it is seen.
func (c *Client) noteDeprecated(resp *http.Response) {
	r := resp.Request
	if r == nil || r.URL == nil {
		return
	}
	key := r.Method + " " + redact(r.URL)
	if !c.deprecated.add(key) {
		return
	}
	s := ParseAPIStatus(resp.Header, r.URL)
	attrs := []any{"method", r.Method, "url", redact(r.URL)}
	if !s.DeprecatedAt.IsZero() {
		attrs = append(attrs, "deprecated_at", s.DeprecatedAt)
	}
	if !s.Sunset.IsZero() {
		attrs = append(attrs, "sunset", s.Sunset)
	}
	for _, l := range s.DeprecationLinks {
		attrs = append(attrs, "link", redact(l))
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

// RequestOption configures one call. Attach options to the request's
// context with [WithRequestOptions]; this is how code that only holds an
// *http.Request — a generated client calling Do — reaches per-call
// settings.
type RequestOption func(*requestOptions)

type requestOptions struct {
	retry    *retryConfig
	capture  *Outcome
	redirect RedirectPolicy
	noCache  bool
	foreign  bool // a follow-up request to a server-chosen origin: no default credentials
	polling  bool // a poll: an *Accepted leaves its body for the poller to read
}

type requestOptionsKey struct{}

// WithRequestOptions returns a context carrying opts for the calls made
// with it. Options given to an inner call add to (and override) those of
// an outer one.
func WithRequestOptions(ctx context.Context, opts ...RequestOption) context.Context {
	ro := inheritedOptions(ctx)
	for _, o := range opts {
		if o != nil {
			o(ro)
		}
	}
	return context.WithValue(ctx, requestOptionsKey{}, ro)
}

// RetryFor sets the retry policy of one call, instead of the client's.
func RetryFor(p RetryPolicy) RequestOption {
	rc := p.resolved()
	return func(o *requestOptions) { o.retry = &rc }
}

// CaptureOutcome stores the call's Outcome in *dst, for callers of Do that
// also want the meaning — an SDK built on a generated client, say. The
// outcome shares the response: on success kinds its body is the one Do
// returns; on failure kinds the captured bytes are also put back as the
// response body, so Do's caller can still decode them.
func CaptureOutcome(dst *Outcome) RequestOption {
	return func(o *requestOptions) { o.capture = dst }
}

// followUp derives the context of a request the library makes on the
// caller's behalf — a poll, a next page, a download segment. It never
// records into the caller's CaptureOutcome, and when foreign (the target
// was chosen by a server and is not the caller's origin) the client's
// WithHeader defaults that are credentials are not added.
func followUp(ctx context.Context, foreign bool, opts ...RequestOption) context.Context {
	opts = append(opts, func(o *requestOptions) {
		o.capture = nil
		o.foreign = foreign
	})
	return WithRequestOptions(ctx, opts...)
}

// inheritedOptions returns a copy of the options ctx carries (zero when
// none), for a derived context to change.
func inheritedOptions(ctx context.Context) *requestOptions {
	ro := &requestOptions{}
	if prev, ok := ctx.Value(requestOptionsKey{}).(*requestOptions); ok {
		*ro = *prev
	}
	return ro
}

// isCredential reports whether the header named key (canonical) is one
// that never crosses origins.
func (c *Client) isCredential(key string) bool {
	return containsString(c.redirect.credentials, key)
}
