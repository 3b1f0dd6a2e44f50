package semhttp

import (
	"context"
	"net/http"
)

// hooks.go holds what an observer (tracing, metrics) is told about a
// Client's work: Hooks, WithHooks, and where the calls start and end.

// Hooks let an observer see a Client's work: each logical call, and each
// request it puts on the wire. The module
// github.com/semhttp/semhttp/semhttpotel builds them for OpenTelemetry
// (a span per call with a child per attempt, and metrics); [WithHooks]
// installs them. Both fields may be nil.
type Hooks struct {
	// Call is called as a logical call starts, on the goroutine that makes it:
	//
	//   - "send" and "do": a call of [Client.Send] or [Client.Do] (also
	//     through [Client.HTTPClient]); "send" too for each request the
	//     Client makes on its own for a caller: pages, download ranges;
	//   - "refresh": a background revalidation (stale-while-revalidate),
	//     on a goroutine of its own, in the context of the call that
	//     served the stale response;
	//   - "poll": one poll of a job's monitor or result;
	//   - "wait": a [Poller.Wait] (and so [Accepted.Wait]) as a whole, its
	//     polls inside it; req is a GET of the monitor.
	//
	// The call runs in the context Call returns (nil: ctx), so that every
	// request sent for it carries that context: a span started by Call is
	// the parent of what Transport starts. end is called once when the call
	// ends (nil: not at all): resp is the final response and info how it
	// was reached; out is the [Outcome] for "send", "poll" and "wait", and
	// nil for "do" unless [RequestOptions].Outcome asked for it (Do does not
	// classify; the kind follows from resp.StatusCode, see [Classify]); err
	// is the call's error, with resp and out nil and info telling only of
	// the requests sent (Attempts, TotalAttempts, Waited, Hops, Throttled,
	// RetryRefused; zero when none was). An observer must not read or
	// close resp.Body: the caller owns it.
	Call func(ctx context.Context, op string, req *http.Request) (_ context.Context, end func(resp *http.Response, info Info, out Outcome, err error))
	// Transport wraps the transport, outside any [WithTransportWrapper]:
	// every attempt and every redirect hop goes through what it returns,
	// with the context Call returned. A fresh cache hit sends nothing.
	Transport func(base http.RoundTripper) http.RoundTripper
}

// WithHooks installs h (see [Hooks]); the last WithHooks given wins.
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = h }
}

// callEnd is the end function Hooks.Call returned, or nil.
type callEnd = func(resp *http.Response, info Info, out Outcome, err error)

// observe starts the hooks' call op for req: it returns the request to
// send, in the context Call returned, and the function that ends the call
// (nil for a request that cannot be sent). Callers check c.hooks.Call
// first (after c.init), so that a Client without hooks pays that check
// only.
func (c *Client) observe(req *http.Request, op string) (*http.Request, callEnd) {
	if req == nil || req.URL == nil {
		return req, nil
	}
	view := req
	if c.base != nil && !req.URL.IsAbs() {
		// The observer sees the URL the request goes to (as own
		// resolves it), not a relative reference.
		view = new(http.Request)
		*view = *req
		c.resolveBase(view)
	}
	ctx, end := c.hooks.Call(req.Context(), op, view)
	if ctx != nil && ctx != req.Context() {
		req = req.WithContext(ctx)
	}
	return req, end
}

// opOf names the hooks' op of a call of send.
func opOf(fu *followUp) string {
	switch {
	case fu == nil:
		return "send"
	case fu.polling:
		return "poll"
	case fu.refresh:
		return "refresh"
	}
	return "send"
}
