package semhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// request.go owns what a call knows besides its request: the public
// per-call options (RequestOptions, carried by the request's context so
// that code holding only an *http.Request reaches them), the internal
// flags of the requests the library makes itself (followUp, passed
// explicitly), and the request defaults applied first (own).

// RequestOptions are the settings of one call. Attach them to the
// request's context with [WithRequestOptions]; that is how code that only
// holds an *http.Request (a generated client calling [Client.Do]) reaches
// them. The zero value changes nothing: each field set replaces, for the
// call, the client setting named in its comment.
type RequestOptions struct {
	// RetryPolicy, when not nil, is the call's retry policy instead of the
	// client's ([WithRetryPolicy]).
	RetryPolicy *RetryPolicy
	// RedirectPolicy, when not nil, is the call's redirect policy instead
	// of the client's ([WithRedirectPolicy]). The limits no policy can lift
	// still hold.
	RedirectPolicy RedirectPolicy
	// Header fields are set on the request, replacing its own values for
	// them ([WithHeader] only adds what a request lacks). Like the
	// request's own fields, credentials among them are dropped when a
	// redirect leaves the origin.
	Header http.Header
	// BypassCache makes the call skip the client's cache ([WithCache]): no
	// validators are added, nothing is stored or invalidated.
	BypassCache bool
	// Outcome, when not nil, receives the call's Outcome, for callers of
	// Do that also want the meaning (an SDK on a generated client, say).
	// The outcome shares the response: on success kinds its body is the one
	// Do returns; on failure kinds the captured bytes are also put back as
	// the response body, so Do's caller can still decode them.
	Outcome *Outcome
}

// callOptions are RequestOptions resolved once, as the context carries
// them.
type callOptions struct {
	retry    *retryConfig
	redirect RedirectPolicy
	header   http.Header
	noCache  bool
	capture  *Outcome
}

type callOptionsKey struct{}

// WithRequestOptions returns a context carrying o for the calls made with
// it. Options given to an inner call add to those of an outer one: a field
// set in o replaces the outer value, header fields are merged (o's win).
func WithRequestOptions(ctx context.Context, o RequestOptions) context.Context {
	co := &callOptions{}
	if prev := callOptionsOf(ctx); prev != nil {
		*co = *prev
	}
	if o.RetryPolicy != nil {
		rc := o.RetryPolicy.resolved()
		co.retry = &rc
	}
	if o.RedirectPolicy != nil {
		co.redirect = o.RedirectPolicy
	}
	if len(o.Header) > 0 {
		h := co.header.Clone()
		if h == nil {
			h = make(http.Header, len(o.Header))
		}
		for k, vs := range o.Header {
			h[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
		}
		co.header = h
	}
	co.noCache = co.noCache || o.BypassCache
	if o.Outcome != nil {
		co.capture = o.Outcome
	}
	return context.WithValue(ctx, callOptionsKey{}, co)
}

// callOptionsOf returns the options ctx carries, or nil.
func callOptionsOf(ctx context.Context) *callOptions {
	co, _ := ctx.Value(callOptionsKey{}).(*callOptions)
	return co
}

// followUp marks a request the library makes on the caller's behalf — a
// poll, a next page, a download request — and is passed explicitly (not
// through the context). Such a request never records into the caller's
// RequestOptions.Outcome.
type followUp struct {
	foreign bool // the target was chosen by a server, on another origin: no WithHeader credentials
	polling bool // a poll: an *Accepted leaves its body to the poller, which reads it as a status document
	noCache bool // neither revalidated nor stored: a poll must see the job's state, a page its Link
	monitor bool // a monitor's 303 See Other is the poller's to follow (it knows the job is done)
	refresh bool // a background revalidation: always to the origin, its answer stored
}

// retryPolicy is the call's retry policy: RequestOptions.RetryPolicy, else
// the client's.
func (x *exchange) retryPolicy(c *Client) *retryConfig {
	if x.opts != nil && x.opts.retry != nil {
		return x.opts.retry
	}
	return &c.retry
}

// redirectPolicy is the call's redirect policy.
func (x *exchange) redirectPolicy(c *Client) RedirectPolicy {
	switch {
	case x.fu != nil && x.fu.monitor:
		return noSeeOther
	case x.opts != nil && x.opts.redirect != nil:
		return x.opts.redirect
	}
	return c.redirect.policy
}

// noCache reports whether the call skips the cache.
func (x *exchange) noCache() bool {
	return x.opts != nil && x.opts.noCache || x.fu != nil && x.fu.noCache
}

// resolveBase points r, a relative request, at its URL resolved against
// WithBaseURL.
func (c *Client) resolveBase(r *http.Request) {
	r.URL, r.Host = c.base.ResolveReference(r.URL), ""
}

// own applies the request defaults — base URL, the client's default
// headers, the call's RequestOptions.Header, an idempotency key — to a
// shallow copy of req, leaving the caller's request and header map
// untouched. It returns req itself when there is nothing to apply.
func (c *Client) own(req *http.Request, x *exchange) *http.Request {
	needURL := c.base != nil && !req.URL.IsAbs()
	noCreds := x.fu != nil && x.fu.foreign
	var callHeader http.Header
	if x.opts != nil && !noCreds {
		// On a server-chosen origin, none of the call's headers go (as
		// none of the original request's do).
		callHeader = x.opts.header
	}
	needKey := c.idemKeys && (req.Method == http.MethodPost || req.Method == http.MethodPatch) &&
		httpsyntax.HeaderValue(req.Header, "Idempotency-Key") == "" &&
		httpsyntax.HeaderValue(callHeader, "Idempotency-Key") == ""
	needHeader := len(callHeader) > 0
	for _, kv := range c.headers {
		if needHeader {
			break
		}
		if _, ok := req.Header[kv[0]]; !ok && !(noCreds && c.isCredential(kv[0])) {
			needHeader = true
		}
	}
	if !needURL && !needKey && !needHeader {
		return req
	}
	r2 := new(http.Request)
	*r2 = *req
	if needURL {
		c.resolveBase(r2)
	}
	if needKey || needHeader {
		r2.Header = req.Header.Clone()
		if r2.Header == nil {
			r2.Header = make(http.Header)
		}
		for k, vs := range callHeader {
			r2.Header[k] = slices.Clone(vs)
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

// isCredential reports whether the header named key (canonical) is one
// that never crosses origins.
func (c *Client) isCredential(key string) bool {
	return slices.Contains(c.redirect.credentials, key)
}

// NewJSONRequest returns a request whose body is v encoded as JSON, with
// Content-Type application/json. The body is held as bytes and GetBody is
// set, so retries and 307/308 redirects replay it. It is
// http.NewRequestWithContext otherwise; the error is json.Marshal's or
// NewRequest's.
func NewJSONRequest(ctx context.Context, method, url string, v any) (*http.Request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("semhttp: encoding the request body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
