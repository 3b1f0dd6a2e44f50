package semhttp

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends requests through the semhttp pipeline: retries
// (retry.go), redirects (redirect.go), revalidation (cache.go), and
// classification into outcomes (outcome.go). A Client is safe for
// concurrent use; build one with [New] and share it.
type Client struct {
	hc           *http.Client // net/http with redirects off and a pool-preserving transport
	pool         http.RoundTripper
	rlog         any // go-retryablehttp logger: nil or a *slog.Logger
	logger       *slog.Logger
	retry        retryConfig
	idemKeys     bool
	maxErrorBody int64
	redirect     redirectConfig
	deprecated   onceSet
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
	attemptTimeout time.Duration
	redirect       redirectConfig
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

// WithLogger routes semhttp's logs (retries, deprecated endpoints, and
// go-retryablehttp's own messages) to l. Nil, the default, means no logging
// at all: semhttp never prints by itself.
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

// WithAttemptTimeout bounds each attempt, from sending the request to the
// end of reading the response body (it sets http.Client.Timeout on the
// inner client). Zero, the default, means no per-attempt limit; use the
// request's context for an overall deadline.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) { c.attemptTimeout = d }
}

// New returns a Client. With no options it uses its own http.Transport
// (a clone of http.DefaultTransport keeping up to 64 idle connections per
// host, so parallel callers reuse connections), the default
// [RetryPolicy], redirects followed per RFC 9110, and no logging.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
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
	c := &Client{
		pool:         rt,
		logger:       cfg.logger,
		retry:        cfg.retry.resolved(),
		idemKeys:     cfg.idemKeys,
		maxErrorBody: cfg.maxErrorBody,
		redirect:     cfg.redirect.resolved(),
		cache:        cfg.cache.resolved(),
	}
	if c.maxErrorBody <= 0 {
		c.maxErrorBody = DefaultMaxErrorBody
	}
	if cfg.logger != nil {
		c.rlog = cfg.logger // *slog.Logger is a retryablehttp.LeveledLogger
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
	return c
}

func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return t
}

// poolKeeper is a RoundTripper without CloseIdleConnections.
type poolKeeper struct{ rt http.RoundTripper }

func (p poolKeeper) RoundTrip(r *http.Request) (*http.Response, error) { return p.rt.RoundTrip(r) }

// CloseIdleConnections closes the idle connections of the client's
// transport, like http.Client.CloseIdleConnections.
func (c *Client) CloseIdleConnections() {
	if ci, ok := c.pool.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Do sends req through the full pipeline (retries, redirects,
// revalidation) and returns the final response as net/http would: any
// status is a response, not an error, and the caller must close its body.
// The error is for calls that got no usable response (see [RequestError]).
// Like http.Client.Do, Do closes req.Body. Do satisfies the doer interfaces
// of generated clients (oapi-codegen's HttpRequestDoer, ogen's ht.Client).
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, x, err := c.exchange(req)
	if err != nil {
		return nil, err
	}
	return c.cacheDo(resp, x)
}

// Send sends req through the full pipeline and returns what the final
// response means. The error is for calls that got no usable response: a
// transport failure after the retries, a refused redirect, a cancelled
// context (see [RequestError]), or a status that is not three digits
// ([ErrInvalidStatus]). A 404 is not an error of Send: it is *NotFound.
// Like http.Client.Do, Send closes req.Body.
func (c *Client) Send(req *http.Request) (Outcome, error) {
	resp, x, err := c.exchange(req)
	if err != nil {
		return nil, err
	}
	out, err := classify(resp, x.info(), c.maxErrorBody)
	if err == nil {
		cacheOutcome(out, x)
	}
	return out, err
}

// exchange is the state of one call across its hops.
type exchange struct {
	attempts     int
	lastAttempts int
	waited       time.Duration
	hops         []Hop
	cache        cacheCall
}

func (x *exchange) info() Info {
	return Info{Attempts: x.lastAttempts, TotalAttempts: x.attempts, Waited: x.waited, Hops: x.hops}
}

// ErrNilRequest is returned for a nil request or one without a URL.
var ErrNilRequest = errors.New("semhttp: nil request or URL")

func (c *Client) exchange(req *http.Request) (*http.Response, *exchange, error) {
	if req == nil || req.URL == nil {
		return nil, nil, ErrNilRequest
	}
	x := &exchange{}
	if c.idemKeys && (req.Method == http.MethodPost || req.Method == http.MethodPatch) &&
		req.Header.Get("Idempotency-Key") == "" {
		r2 := new(http.Request)
		*r2 = *req
		r2.Header = req.Header.Clone()
		if r2.Header == nil {
			r2.Header = make(http.Header)
		}
		r2.Header.Set("Idempotency-Key", newIdempotencyKey())
		req = r2
	}
	req = c.cacheBefore(req, x)
	resp, err := c.follow(req, x)
	if err != nil {
		return nil, nil, &RequestError{
			Method: req.Method, URL: redact(req.URL),
			Attempts: x.attempts, Waited: x.waited, Err: err,
		}
	}
	if c.logger != nil && len(resp.Header["Deprecation"]) > 0 {
		c.noteDeprecated(resp)
	}
	return c.cacheAfter(resp, x), x, nil
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
		attrs = append(attrs, "link", l.String())
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
