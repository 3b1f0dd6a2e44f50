package semhttp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// attempt.go is all the glue to go-retryablehttp, which runs the attempts
// of each redirect hop (Client.attempts). semhttp keeps every decision of
// its own (retry.go) and uses go-retryablehttp's loop through its hooks,
// bound once to a pooled retrier:
//
//   - CheckRetry (retrier.check) makes the whole decision and computes the
//     wait: the decider, the attempt limit, a body that cannot be replayed,
//     Retry-After with its cap, MaxElapsed and the context's deadline.
//     Backoff (retrier.backoff) only reports that wait, so
//     go-retryablehttp's own Retry-After reading (which ignores the cap and
//     the deadline) is never used. TestRetryAfterAboveCapReturnsAtOnce,
//     TestRetryDoesNotOutliveDeadline.
//   - PrepareRetry (retrier.prepare) gives each attempt a fresh body
//     (GetBody, a seek, or a section of an io.ReaderAt) and the header as it
//     was before a cookie jar wrote into it. TestRetryStreamsFileBody,
//     TestRetryUsesGetBody.
//   - ErrorHandler (retrier.giveUp) returns the last response (a 503 after
//     the retries is an outcome, not go-retryablehttp's "giving up after N
//     attempts" error), and a body-rewind failure as the error.
//     TestRetryMatrix.
//   - Logger is nil: go-retryablehttp's messages would show URL queries;
//     semhttp logs retries itself, redacted (retrier.logAttempt).
//     TestNoSecretInErrorsOrLogs.
//   - poolKeeper hides CloseIdleConnections from go-retryablehttp, which
//     calls it on its http.Client on failure paths and would flush the
//     pool every other request shares. TestFailedRequestKeepsOtherConnections.
//   - hideLocation/restoreLocation: the inner http.Client runs with
//     redirects off, yet it parses a redirect's Location before consulting
//     CheckRedirect (an unparseable one becomes its own error, with the
//     body closed) and calls GetBody for 307/308; poolKeeper renames the
//     header on the way in and check renames it back first thing, so the
//     redirect engine decides about every Location. TestRedirectBadLocations.
//   - The retrier is pooled, so a call allocates neither it nor a
//     go-retryablehttp Client; putRetrier resets it whole.

// retrier holds the state of one hop's attempts. It serves one call at a
// time (it is pooled per Client), and its backoff/v4 schedule — stateful,
// not safe for concurrent use — is built fresh for each call that retries.
type retrier struct {
	rc          retryablehttp.Client // hooks bound to this retrier, once
	retrierCall                      // the state of the call it serves, reset whole
}

// retrierCall is a retrier's state for the attempts of one hop.
type retrierCall struct {
	c       *Client
	rreq    retryablehttp.Request
	log     *slog.Logger
	hdr     http.Header // with a cookie jar: the header before net/http added cookies
	p       *retryConfig
	x       *exchange
	req     *http.Request
	body    *bodySource
	bo      *backoff.ExponentialBackOff
	start   time.Time
	wait    time.Duration
	attempt int
	wrote   *atomic.Bool // for non-idempotent requests: headers were written
	prepErr error
}

// attempts makes the attempts for one hop through go-retryablehttp.
func (c *Client) attempts(req *http.Request, body *bodySource, x *exchange) (*http.Response, error) {
	r := c.getRetrier()
	defer c.putRetrier(r)
	r.c, r.p, r.x, r.req, r.body, r.log = c, x.retryPolicy(c), x, req, body, c.logger
	if err := c.waitGate(req, x); err != nil {
		return nil, err // held off: nothing was sent
	}
	if !Idempotent(req) && req.GetBody == nil && req.Body != nil && req.Body != http.NoBody {
		// To know whether a failed non-idempotent request reached the wire.
		// Without a body, or with GetBody, net/http itself resends a request
		// that found a stale pooled connection before writing anything, and
		// a failed dial is told by its error (see notSent), so only such
		// bodies pay for a trace. The hook holds only this call's flag,
		// never the pooled retrier.
		wrote := new(atomic.Bool)
		r.wrote = wrote
		trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
		r.req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	}
	if c.hc.Jar != nil {
		// net/http adds the jar's cookies to the header of the request it
		// sends; each retry starts again from the header as it was.
		r.hdr = req.Header.Clone()
	}
	if x.start.IsZero() {
		x.start = time.Now() // MaxElapsed counts from the call's first attempt, across hops
	}
	r.start = x.start
	r.rc.RetryMax = r.p.MaxAttempts - 1
	r.rreq = retryablehttp.Request{Request: r.req}
	resp, err := r.rc.Do(&r.rreq)
	x.attempts += r.attempt
	x.lastAttempts = r.attempt
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	return resp, nil
}

// getRetrier takes a retrier from the client's pool. Each pooled retrier
// owns a go-retryablehttp Client whose hooks are bound to it once, so a
// call allocates neither.
func (c *Client) getRetrier() *retrier {
	if r, ok := c.retriers.Get().(*retrier); ok {
		return r
	}
	r := &retrier{}
	r.rc = retryablehttp.Client{
		HTTPClient:   c.hc,
		Logger:       nil, // semhttp logs retries itself, redacted (see check)
		CheckRetry:   r.check,
		Backoff:      r.backoff,
		ErrorHandler: r.giveUp,
		PrepareRetry: r.prepare,
	}
	return r
}

// putRetrier clears the per-call state and returns r to the pool.
func (c *Client) putRetrier(r *retrier) {
	r.retrierCall = retrierCall{}
	c.retriers.Put(r)
}

// check is go-retryablehttp's CheckRetry: it decides and, when retrying,
// computes the wait (so that backoff only reports it).
func (r *retrier) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	restoreLocation(resp) // first look at resp after the inner http.Client
	r.attempt++
	if resp != nil {
		r.c.noteHoldOff(r.req, resp)
	}
	if err != nil && !errors.Is(err, ErrNotSent) && r.notSent(err) {
		err = &notSentError{err}
	}
	if !r.p.decide(ctx, r.req, resp, err) {
		if err == nil {
			r.c.budget.earn() // an answer that needs no retry: the origin works
		}
		return false, nil
	}
	if r.attempt >= r.p.MaxAttempts {
		return false, nil
	}
	if r.body.touched() && !r.body.replayable() {
		return false, nil // a plain io.Reader is sent once
	}
	wait, ok := r.nextWait(ctx, resp)
	if !ok {
		return false, nil
	}
	if r.p.BudgetRatio > 0 && !r.c.budget.spend() {
		r.x.retryRefused = true
		if r.log != nil {
			r.logAttempt("semhttp: retry refused by the retry budget", resp, err)
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(RetryEvent{Request: r.req, Attempt: r.attempt, Response: resp, Err: err, Refused: true})
		}
		return false, nil
	}
	r.wait = wait
	if r.log != nil {
		r.logAttempt("semhttp: retrying", resp, err, "wait", wait)
	}
	if r.p.OnRetry != nil {
		r.p.OnRetry(RetryEvent{Request: r.req, Attempt: r.attempt, Wait: wait, Response: resp, Err: err})
	}
	r.x.waited += wait
	return true, nil
}

// notSent reports whether a failed attempt wrote nothing: the trace says
// so when there is one; otherwise only a failed dial (connection refused,
// DNS, dial timeout) is known not to have sent anything.
func (r *retrier) notSent(err error) bool {
	if r.wrote != nil {
		return !r.wrote.Load()
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// nextWait is the next backoff interval, or the response's Retry-After
// when that is longer (refused above the cap): Retry-After is a minimum,
// so that "Retry-After: 0" or a date in the past does not make a burst of
// tries. False means stop.
func (r *retrier) nextWait(ctx context.Context, resp *http.Response) (time.Duration, bool) {
	if r.bo == nil {
		r.bo = r.p.newBackOff()
	}
	wait := r.bo.NextBackOff()
	if wait == backoff.Stop {
		return 0, false
	}
	if ra, ok := retryAfter(resp); ok {
		if ra > r.p.MaxRetryAfter {
			return 0, false
		}
		wait = max(wait, ra)
	}
	now := time.Now()
	if now.Sub(r.start)+wait > r.p.MaxElapsed {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
		return 0, false // the next try could not start before the deadline
	}
	return wait, true
}

// logAttempt logs the outcome of an attempt at Debug, without secrets.
func (r *retrier) logAttempt(msg string, resp *http.Response, err error, kv ...any) {
	attrs := []any{"method", methodOf(r.req), "url", httpsyntax.Redact(r.req.URL), "attempt", r.attempt}
	if resp != nil {
		attrs = append(attrs, "status", resp.StatusCode)
	}
	if err != nil {
		attrs = append(attrs, "error", redactError(err))
	}
	r.log.Debug(msg, append(attrs, kv...)...)
}

// redactError renders err with the URL of a net/http *url.Error stripped
// of userinfo, query and fragment.
func redactError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return ue.Op + " " + strconv.Quote(httpsyntax.Redact(u)) + ": " + causeOf(ue.Err).Error()
		}
		return ue.Op + ": " + causeOf(ue.Err).Error()
	}
	return causeOf(err).Error()
}

func (r *retrier) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return r.wait
}

func (r *retrier) prepare(req *http.Request) error {
	if r.wrote != nil {
		// A late WroteHeaders of the last attempt can only set it again,
		// which errs on the safe side (no retry).
		r.wrote.Store(false)
	}
	if r.hdr != nil {
		req.Header = r.hdr.Clone()
	}
	r.req = req
	if err := r.body.rewind(req); err != nil {
		r.prepErr = err
		return err
	}
	return nil
}

// giveUp is go-retryablehttp's ErrorHandler: it keeps the last response (a
// 503 after the retries is an outcome, not an error) and wraps errors with
// the attempt count.
func (r *retrier) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err == nil && r.prepErr == nil {
		return resp, nil
	}
	if r.prepErr != nil {
		err = r.prepErr
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return nil, err
}

// poolKeeper is a RoundTripper without CloseIdleConnections. It also hides
// the Location of redirects from the inner http.Client (see hideLocation).
type poolKeeper struct{ rt http.RoundTripper }

func (p poolKeeper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.rt.RoundTrip(r)
	hideLocation(resp)
	return resp, err
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

// restoreLocation undoes hideLocation. The CheckRetry hook (check) calls it
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
