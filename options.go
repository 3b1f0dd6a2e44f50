package semhttp

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// options.go holds every option of New, in one place: the transport, the
// limits, the request defaults, and the retry, redirect and cache
// policies. Each option's comment says what zero means.

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
	tlsConfig      *tls.Config
	wrap           func(http.RoundTripper) http.RoundTripper
	hooks          Hooks
}

// WithHTTPClient takes the transport, cookie jar and timeout from hc. hc is
// never modified and its CheckRedirect is not used: semhttp follows
// redirects itself. Nil means a transport of semhttp's own (see [New]).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithTransport sets the RoundTripper every attempt goes through, instead
// of semhttp's own. Nil means semhttp's own transport (see [New]). To keep
// semhttp's transport and only add to it — tracing, metrics — use
// [WithTransportWrapper]; to change its TLS settings, [WithTLSConfig].
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) { c.transport = rt }
}

// WithTLSConfig sets the TLS configuration of semhttp's own transport: a
// private CA (RootCAs), client certificates, a minimum version, keeping
// the rest of the tuned default (connection pool, timeouts, header limit).
// cfg is cloned; nil means Go's defaults. It cannot be combined with
// [WithTransport] or [WithHTTPClient], whose transport has its own TLS
// settings: every call of such a Client fails with an error that says so.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) { c.tlsConfig = cfg }
}

// WithTransportWrapper wraps the transport (semhttp's own, or the one given
// with [WithTransport]) with wrap: every attempt goes through what wrap
// returns, such as otelhttp.NewTransport(base). The Client keeps the
// transport underneath, so [Client.CloseIdleConnections] reaches it even
// through wrappers that lack that method. When semhttp replaces its own
// transport (see [New]), wrap is called again, with the new one. Nil means
// no wrapper.
func WithTransportWrapper(wrap func(base http.RoundTripper) http.RoundTripper) Option {
	return func(c *config) { c.wrap = wrap }
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
// captured. Zero or negative means 64 KiB.
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

// WithRedirectPolicy sets which redirects are followed. Nil, the default,
// means following every redirect.
func WithRedirectPolicy(p RedirectPolicy) Option {
	return func(c *config) { c.redirect.policy = p }
}

// WithMaxRedirects sets how many redirects one call follows (remembered
// permanent redirects included); the next ends the call with
// [ErrTooManyRedirects]. Zero or negative means 10; to
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
// go straight to the new one. The memory holds at most n entries and n KiB
// of URLs: long Locations crowd out the rest. Zero means 1024 (and 1 MiB);
// negative turns the memory off. A 301 or 308 carrying Cache-Control
// no-store or no-cache is not remembered.
func WithRedirectMemory(n int) Option {
	return func(c *config) { c.redirect.memSize = n }
}

// WithCache sets the store of the Client's private HTTP cache (RFC 9111),
// which answers GETs from fresh stored responses and revalidates stale
// ones (see [Store]). Nil (a nil *MemoryStore too) turns the cache off: no
// response is stored or served from storage, no validator is added, and
// every 304 is the server's, passed through. Without this option every
// Client has its own [MemoryStore] with the default limits (32 MiB in all,
// 1 MiB per body).
//
// The cache is a private cache: responses to requests carrying
// Authorization, Cookie, Proxy-Authorization or a header registered with
// WithCredentialHeaders are stored too, but each set of credentials has
// its own entries (a SHA-256 of the credentials is part of the Variant, so
// no credential is stored), and a request only ever revalidates, and is
// answered with, responses fetched with the same credentials. Cookies a
// cookie jar adds are not seen and do not partition the cache.
func WithCache(s Store) Option {
	return func(c *config) { c.cache.store, c.cache.set = s, true }
}

// WithConditionalWrites makes every PUT, PATCH and DELETE conditional on
// the representation the client last read: when the cache holds a response
// for the target URL (read by a GET through this Client) the request gets
// If-Match with its strong entityTag, or, when it has none, If-Unmodified-Since
// with its Last-Modified. A server where someone else changed the resource
// meanwhile answers 412, which [Client.Send] returns as *PreconditionFailed,
// instead of silently overwriting their change. Requests that already carry
// If-Match, If-None-Match or If-Unmodified-Since are left alone; nothing is
// added when nothing is stored (a server that insists answers 428,
// *PreconditionRequired). Weak ETags are never sent in If-Match: strong
// comparison (RFC 9110 §13.1.1) would always fail. It needs the cache
// (off with WithCache(nil)). Off by default; see [Client.IfMatch] for a
// single request.
func WithConditionalWrites() Option {
	return func(c *config) { c.cache.condWrites = true }
}
