package semhttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// client.go owns the Client: its construction, the two entry points (Do
// and Send), and the pipeline's spine, exchange, which lists the stages
// of a call in order.

// Client sends requests through the semhttp pipeline: retries, redirects,
// revalidation, and classification into outcomes. A Client is safe for
// concurrent use; build one with [New] and share it. The zero Client is
// usable too, with the defaults New gives (as net/http's zero Client is).
type Client struct {
	once         sync.Once         // configures the client: New's options, or the defaults
	hc           *http.Client      // net/http with redirects off and a pool-preserving transport
	pool         http.RoundTripper // the transport under any WithTransportWrapper (or an *ownTransport): its idle connections are closed
	logger       *slog.Logger
	retry        retryConfig
	idemKeys     bool
	maxErrorBody int64
	maxDecode    int64 // Decode's cap; <= 0: none
	redirect     redirectConfig
	deprecated   onceSet
	retriers     sync.Pool   // *retrier
	base         *url.URL    // WithBaseURL
	configErr    error       // an invalid option (WithBaseURL, WithTLSConfig), reported by every call
	headers      [][2]string // WithHeader defaults, canonical keys
	cache        cacheConfig
	budget       *retryBudget     // shared by every request (RetryPolicy.BudgetRatio)
	gate         gate             // origins that asked to be held off
	refreshing   refreshing       // background revalidations (stale-while-revalidate)
	clock        func() time.Time // the cache's clock; nil: time.Now (tests set it)
	hooks        Hooks            // WithHooks
}

// refreshing tracks the background revalidations of a Client.
type refreshing struct {
	mu   sync.Mutex
	keys map[string]bool // key and variant being revalidated
	wg   sync.WaitGroup
}

// now is the cache's clock.
func (c *Client) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

// New returns a Client. With no options it uses its own http.Transport, the
// default [RetryPolicy], redirects followed per RFC 9110, a private
// in-memory cache, and no logging.
//
// The transport is a clone of http.DefaultTransport that keeps up to 4096
// idle connections in all (a quarter of the process's limit on open files
// when that is lower, never under 256), and a quarter of those per host
// (never under 64), so that parallel callers, the polls of many jobs, and
// clients of many origins reuse connections; and that refuses response
// headers over 1 MiB. Once 4096 origins have
// refused it a connection or closed theirs, it is replaced by a fresh
// clone, so that what net/http remembers of each (about 630 B, which
// nothing else frees) does not pile up in a long-running process: the old
// one finishes its requests, cutting none, and is dropped.
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
	switch {
	case rt == nil:
		// semhttp's own, which wraps (and renews) itself.
		t := defaultTransport()
		if cfg.tlsConfig != nil {
			t.TLSClientConfig = cfg.tlsConfig.Clone()
		}
		own, err := newOwnTransport(t, cfg.wrap)
		c.configErr = err
		c.pool, rt = own, own
	default:
		if cfg.tlsConfig != nil {
			c.configErr = errors.New("semhttp: WithTLSConfig configures semhttp's own transport; with WithTransport or WithHTTPClient, set the TLS configuration on that transport")
		}
		c.pool = rt
		if cfg.wrap != nil {
			if rt = cfg.wrap(rt); rt == nil {
				c.configErr = errors.Join(c.configErr, errNilWrapped)
				rt = c.pool
			}
		}
	}
	if cfg.hooks.Transport != nil {
		if wrapped := cfg.hooks.Transport(rt); wrapped != nil {
			rt = wrapped
		} else {
			c.configErr = errors.Join(c.configErr, errors.New("semhttp: Hooks.Transport returned a nil RoundTripper"))
		}
	}
	c.hooks = cfg.hooks
	c.logger = cfg.logger
	c.retry = cfg.retry.resolved()
	c.budget = newRetryBudget(&c.retry)
	c.idemKeys = cfg.idemKeys
	c.maxErrorBody = cfg.maxErrorBody
	if c.maxErrorBody <= 0 {
		c.maxErrorBody = defaultMaxErrorBody
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
			err = fmt.Errorf("semhttp: invalid base URL %q: %w", httpsyntax.RedactRaw(cfg.baseURL), causeOf(err))
		case !u.IsAbs() || u.Host == "":
			err = fmt.Errorf("semhttp: base URL %q is not absolute", httpsyntax.Redact(u))
		default:
			c.base = u
		}
		c.configErr = errors.Join(c.configErr, err)
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

// CloseIdleConnections closes the idle connections of the client's
// transport, like http.Client.CloseIdleConnections. It reaches the
// transport under a [WithTransportWrapper] (otelhttp's transport, say,
// has no such method), and, for a transport given with [WithTransport],
// the first one down its chain of Unwrap() http.RoundTripper methods that
// has it.
func (c *Client) CloseIdleConnections() {
	c.init()
	rt := c.pool
	for range 16 { // a chain of wrappers, bounded
		if ci, ok := rt.(interface{ CloseIdleConnections() }); ok {
			ci.CloseIdleConnections()
			return
		}
		u, ok := rt.(interface{ Unwrap() http.RoundTripper })
		if !ok {
			return
		}
		if rt = u.Unwrap(); rt == nil {
			return
		}
	}
}

// HTTPClient returns an *http.Client whose requests run c's whole
// pipeline — retries, redirects, the cache — for code that takes an
// *http.Client or an http.RoundTripper: go-github's NewClient, oauth2's
// Transport base, any SDK. Its Transport calls [Client.Do]; it follows no
// redirect itself (semhttp did, per its policy; an unfollowed 3xx is
// returned as it is); its CloseIdleConnections reaches c's. Errors come
// back as net/http's *url.Error wrapping the *[RequestError]. Each call
// returns a new *http.Client; they all share c.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     roundTripper{c},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// roundTripper is the http.RoundTripper of HTTPClient. Unlike the
// RoundTripper contract's plain transport, it retries, follows redirects
// and answers from the cache: the whole pipeline, as go-retryablehttp's
// StandardClient does.
type roundTripper struct{ c *Client }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return rt.c.Do(req) }

func (rt roundTripper) CloseIdleConnections() { rt.c.CloseIdleConnections() }

// Do sends req through the full pipeline (retries, redirects,
// revalidation) and returns the final response as net/http would: any
// status is a response, not an error, and the caller must close its body.
// A GET the client revalidated comes back as the stored 200 (marked with
// [CacheHeader]), never as a 304 the caller did not ask for. Any returned
// error is a *[RequestError]: there was no usable response. Like
// http.Client.Do, Do closes req.Body. Do satisfies the doer interfaces of
// generated clients (oapi-codegen's HttpRequestDoer, ogen's ht.Client).
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	var end callEnd
	if c.init(); c.hooks.Call != nil {
		req, end = c.observe(req, "do")
	}
	resp, x, err := c.exchange(req, nil)
	if err != nil {
		if end != nil {
			end(nil, x.failedInfo(), nil, err)
		}
		return nil, err
	}
	var out Outcome
	if dst := x.capture(); dst != nil {
		out = c.outcome(resp, x)
		*dst = out
	}
	if end != nil {
		end(resp, x.info(), out, nil)
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
	return c.send(req, nil)
}

// send is Send for the caller's requests (fu nil) and for the requests the
// library makes on their behalf.
func (c *Client) send(req *http.Request, fu *followUp) (Outcome, error) {
	var end callEnd
	if c.init(); c.hooks.Call != nil {
		req, end = c.observe(req, opOf(fu))
	}
	resp, x, err := c.exchange(req, fu)
	if err != nil {
		if end != nil {
			end(nil, x.failedInfo(), nil, err)
		}
		return nil, err
	}
	out := c.outcome(resp, x)
	if dst := x.capture(); dst != nil {
		*dst = out
	}
	if end != nil {
		end(resp, out.Info(), out, nil)
	}
	return out, nil
}

// capture is where the call's outcome is recorded (RequestOptions.Outcome),
// or nil: never for a follow-up.
func (x *exchange) capture() *Outcome {
	if x.fu != nil || x.opts == nil {
		return nil
	}
	return x.opts.capture
}

// outcome classifies the final response of x.
func (c *Client) outcome(resp *http.Response, x *exchange) Outcome {
	info := x.info()
	if x.revalidated {
		return &NotModified{base{resp: resp, info: info, client: c}}
	}
	out := classify(resp, info, c.maxErrorBody, x.fu != nil && x.fu.polling)
	out.core().client = c // so that an *Accepted polls through c, and Decode knows c's limit
	return out
}

// exchange is the state of one call across its hops.
type exchange struct {
	opts         *callOptions // RequestOptions from the context, or nil
	fu           *followUp    // set for a request the library makes itself
	start        time.Time    // the first attempt, for RetryPolicy.MaxElapsed
	attempts     int
	lastAttempts int
	waited       time.Duration
	hops         []Hop
	cache        cacheCall
	body         bodySource // the request body of the current chain (follow)
	revalidated  bool       // the response is the stored one a 304 selected
	throttled    time.Duration
	retryRefused bool
}

func (x *exchange) info() Info {
	return Info{Attempts: x.lastAttempts, TotalAttempts: x.attempts, Waited: x.waited, Hops: x.hops,
		Throttled: x.throttled, RetryRefused: x.retryRefused,
		FromCache: x.cache.hit != nil || x.revalidated, Age: x.cache.age, Stale: x.cache.stale, OriginErr: x.cache.originErr}
}

// failedInfo is what the hooks' end of a failed call is told of its
// requests: the counts, the waits, the redirects followed and whether the
// retry budget refused a retry (zero when nothing was sent; x is nil then).
func (x *exchange) failedInfo() Info {
	if x == nil {
		return Info{}
	}
	return Info{Attempts: x.lastAttempts, TotalAttempts: x.attempts, Waited: x.waited, Hops: x.hops,
		Throttled: x.throttled, RetryRefused: x.retryRefused}
}

// errNilRequest is the cause of the *RequestError for a nil request or one
// without a URL: a programmer's error, which needs no sentinel.
var errNilRequest = errors.New("semhttp: nil request or URL")

// exchange runs the pipeline for req. Its error is always a *RequestError,
// with x when the pipeline ran (for the hooks: failedInfo).
//
// The stages, in order:
//
//	own                base URL, default headers, Idempotency-Key     request.go
//	cacheBefore        a stored answer (fresh, or stale as allowed),   cache.go
//	                   else validators (GET) or If-Match (writes)
//	follow             the redirect chain, hop by hop                  redirect.go
//	  attempts         the tries of one hop, through go-retryablehttp  attempt.go
//	cacheOnError       a stored answer when the origin failed and it   cache.go
//	                   may be served stale
//	checkStatus        a status that is not three digits is an error   classify.go
//	cacheAfter         store a 200, freshen on 304, invalidate         cache.go
//	cacheRevalidated   a 304 to the client's validators → stored 200   cache.go
//
// Send and Do then classify the response into its Outcome (classify.go).
func (c *Client) exchange(req *http.Request, fu *followUp) (*http.Response, *exchange, error) {
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close() // like http.Client.Do, on every path
		}
		rerr := &RequestError{Err: errNilRequest}
		if req != nil {
			rerr.Method = methodOf(req)
		}
		return nil, nil, rerr
	}
	c.init()
	if c.configErr != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, nil, &RequestError{Method: methodOf(req), URL: httpsyntax.Redact(req.URL), Err: c.configErr}
	}
	x := &exchange{opts: callOptionsOf(req.Context()), fu: fu}
	req = c.own(req, x)
	req = c.cacheBefore(req, x)
	resp, err := x.cache.hit, error(nil)
	if resp == nil {
		resp, err = c.follow(req, x)
		if x.cache.selected != nil {
			resp, err = c.cacheOnError(req, resp, err, x)
		}
	}
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
		err = causeOf(err)
		if c.logger != nil {
			c.logger.Warn("semhttp: request failed", "method", methodOf(req), "url", httpsyntax.Redact(req.URL),
				"attempts", x.attempts, "error", err.Error())
		}
		return nil, x, &RequestError{
			Method: methodOf(req), URL: httpsyntax.Redact(req.URL),
			Attempts: x.lastAttempts, Waited: x.waited, Err: err,
		}
	}
	return resp, x, nil
}

// RequestError is the error of every call of [Client.Send] and
// [Client.Do] that got no usable response, as *url.Error is net/http's: a
// transport failure after the retries, a cancelled context, a refused
// redirect ([RedirectError]), a nil request, an invalid
// [WithBaseURL], a status that is not three digits ([ErrBadStatus]).
// It unwraps to the cause, so errors.Is(err, context.Canceled) and
// errors.As(err, &netErr) work. Its text names the method and URL once,
// then the cause: "GET https://api.example.com/users (4 attempts): dial
// tcp ...: connection refused".
type RequestError struct {
	// Method is the request's method ("GET" for an empty one).
	Method string
	// URL is the request URL without userinfo, query or fragment.
	URL string
	// Attempts is how many times the last hop was tried (like
	// Info.Attempts): 4 when the default policy gave up on a connection
	// that was refused every time.
	Attempts int
	// Waited is the time slept between attempts, across all hops.
	Waited time.Duration
	// Err is the cause.
	Err error
}

// Error is "METHOD URL: cause", with the attempt count when the last hop
// was tried more than once.
func (e *RequestError) Error() string {
	var sb strings.Builder
	sb.WriteString(e.Method)
	if e.URL != "" {
		sb.WriteByte(' ')
		sb.WriteString(e.URL)
	}
	if e.Attempts > 1 {
		sb.WriteString(" (")
		sb.WriteString(strconv.Itoa(e.Attempts))
		sb.WriteString(" attempts)")
	}
	if sb.Len() > 0 {
		sb.WriteString(": ")
	}
	if e.Err == nil {
		sb.WriteString("semhttp: request failed")
	} else {
		sb.WriteString(e.Err.Error())
	}
	return sb.String()
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// causeOf is what an error of this package wraps for err: net/http's
// *url.Error dropped (it repeats the method and the URL, with its query,
// that RequestError names redacted), and a malformed-response error of
// net/textproto, which quotes the offending header line (a Location with
// userinfo and a token, say), rewritten without that line. What it wraps
// stays in the chain for errors.Is and errors.As.
func causeOf(err error) error {
	if ue, ok := err.(*url.Error); ok && ue.Err != nil {
		err = ue.Err
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		what, _, _ := strings.Cut(string(pe), ":")
		return &withheld{msg: "malformed response (" + what + "; its text is withheld, it may hold secrets)", err: err}
	}
	return err
}

// withheld is an error whose text is not its cause's.
type withheld struct {
	msg string
	err error
}

func (e *withheld) Error() string { return e.msg }
func (e *withheld) Unwrap() error { return e.err }
