package semhttp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// retry.go owns the retry policy: which failures are retried for which
// methods (DefaultRetryDecider), Retry-After, the backoff schedule and
// idempotency keys. The attempts themselves run in attempt.go.

// RetryPolicy says how many times, and how long apart, a request is tried.
// The zero value of every field means its default, given in its comment.
// Waits come from a backoff/v4 ExponentialBackOff built fresh for each call
// (its state is not shared between requests); a server's Retry-After is a
// minimum: the wait is the longer of it and the backoff's, up to
// MaxRetryAfter. A budget shared by the whole Client keeps retries from
// multiplying an outage (BudgetRatio, BudgetFloor).
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, the first included.
	// Zero means 4; 1 turns retries off.
	MaxAttempts int
	// InitialInterval is the first backoff wait. Zero means 200ms.
	InitialInterval time.Duration
	// MaxInterval caps one backoff wait. Zero means 10s.
	MaxInterval time.Duration
	// Multiplier grows the interval after each wait. Zero means 2.
	Multiplier float64
	// Jitter is backoff/v4's randomization factor: each wait is drawn from
	// [interval·(1−Jitter), interval·(1+Jitter)]. Zero means 0.5; a
	// negative value means no jitter.
	Jitter float64
	// MaxElapsed bounds the time from the first try to the start of the
	// last one; a wait that would end past it is not taken. Zero means 2m.
	MaxElapsed time.Duration
	// MaxRetryAfter caps the server's Retry-After: a longer request ends the
	// retries and the outcome (say *TooManyRequests, with its RetryAfter)
	// is returned at once instead of sleeping. It caps as well the wait for
	// an origin that asked the Client to hold off (see [ErrThrottled]).
	// Zero means 1m.
	MaxRetryAfter time.Duration
	// BudgetRatio is how many retries each successful response pays for.
	// Every request of the Client shares one budget: a retry spends from
	// it, a response that is not retried (a success, a 404) refills it by
	// BudgetRatio, and at most 100 retries are banked. When most answers
	// are failures the Client so stops multiplying them: a storm of 503s
	// costs the server little more than one request per call, while with
	// half the answers failing most calls are still rescued. Zero means
	// 0.75 (three retries for every four successes); negative turns the
	// budget off.
	// The budget is the Client's: a RetryPolicy given for one call
	// ([RequestOptions]) can turn it off for its call, not change it.
	BudgetRatio float64
	// BudgetFloor is how many retries per second the budget allows whatever
	// the successes (and at most that many at once), so that a lone caller,
	// or a Client that has just started, still gets its retries. Zero means
	// 10; negative means none.
	BudgetFloor int
	// Decide makes the retry decision for each response or transport
	// error. Nil means [DefaultRetryDecider]. Whatever it says, a body that
	// cannot be replayed is never sent twice, and the limits above hold.
	Decide RetryDecider
	// OnRetry, when set, is called before each wait, and when the budget
	// refuses a retry (RetryEvent.Refused).
	OnRetry func(RetryEvent)
}

// RetryDecider decides whether to try again after resp (or err, when no
// response arrived) for req. Wrap [DefaultRetryDecider] to adjust it.
type RetryDecider func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool

// RetryEvent describes a retry about to happen, or one the budget refused.
type RetryEvent struct {
	Request  *http.Request
	Attempt  int           // the attempt that just failed, from 1
	Wait     time.Duration // how long the client will sleep before the next
	Response *http.Response
	Err      error
	// Refused is true when the Client's retry budget refused this retry
	// (see RetryPolicy.BudgetRatio): no wait follows, and the call ends
	// with Response or Err.
	Refused bool
}

// ErrNotSent marks a transport error that happened before any byte of the
// request was written (connection refused, DNS failure, a reset while
// connecting). Such a request is safe to retry whatever its method;
// [DefaultRetryDecider] checks for it with errors.Is.
var ErrNotSent = errors.New("semhttp: request was not sent")

type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }

func (e *notSentError) Unwrap() error { return e.err }

func (e *notSentError) Is(target error) bool { return target == ErrNotSent }

// DefaultRetryDecider is the standard policy (RFC 9110 §9.2.2, §15):
//   - 408, 425, 429 and 503 (the server did not process the request):
//     retried for any method;
//   - 500, 502, 504, any other 5xx and nonstandard codes (000–099,
//     600–999): retried for idempotent requests — GET, HEAD, OPTIONS,
//     TRACE, PUT, DELETE, or any request with an Idempotency-Key header;
//   - 501, 505, codes that are not three digits and every other status:
//     not retried;
//   - transport errors: retried when the request was not sent (see
//     [ErrNotSent]) whatever the method, otherwise only for idempotent
//     requests; TLS certificate errors and the peer's TLS alerts, malformed
//     URLs, refused redirects
//     and context cancellation are never retried.
func DefaultRetryDecider(ctx context.Context, req *http.Request, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		if !retryableTransportError(err) {
			return false
		}
		return errors.Is(err, ErrNotSent) || Idempotent(req)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly,
		code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported,
		code < 0, code > 999: // not three digits: a protocol error (ErrBadStatus)
		return false
	case code >= 500 || code < 100:
		return Idempotent(req)
	}
	return false
}

// Idempotent reports whether req may be sent twice with the same effect:
// its method is idempotent (RFC 9110 §9.2.2) or it carries an
// Idempotency-Key header.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return httpsyntax.HeaderValue(req.Header, "Idempotency-Key") != ""
}

// retryableTransportError reports whether err is a network failure worth
// another try. It allows known-transient failures rather than denying
// known-permanent ones, so unknown errors are not retried.
func retryableTransportError(err error) bool {
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		alert       tls.AlertError
		opErr       *net.OpError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &recordErr), errors.As(err, &alert):
		return false
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// A TLS alert from the peer ("bad certificate", "certificate
		// required", "protocol version"): it refused us and will again.
		return false
	case errors.Is(err, ErrNotSent):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	}
	if isTimeout(err) {
		return true
	}
	return errors.As(err, &opErr)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ParseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): either
// delay-seconds (1*DIGIT; "+120", "1.5", "-5" and "120s" are invalid) or an
// HTTP-date in any of the three formats http.ParseTime accepts, measured
// from now. Dates in the past give 0. Values too large for a Duration are
// clamped to the largest Duration instead of overflowing.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseDigits(v, time.Second); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// parseDigits parses 1*DIGIT as a count of unit, clamping at the largest
// Duration.
func parseDigits(v string, unit time.Duration) (time.Duration, bool) {
	n, ok, _ := httpsyntax.Digits(v)
	if !ok {
		return 0, false
	}
	if n > math.MaxInt64/int64(unit) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(n) * unit, true
}

// retryAfterOf returns the wait a response asks for, from retry-after-ms,
// x-ms-retry-after-ms (milliseconds, as some APIs send) or Retry-After.
// Dates are measured from the response's Date header when it has a valid
// one (immune to local clock skew), else from the local clock.
func retryAfterOf(resp *http.Response) time.Duration {
	d, _ := retryAfter(resp)
	return d
}

func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	h := resp.Header
	for _, k := range [...]string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := httpsyntax.HeaderValue(h, k); v != "" {
			if d, ok := parseDigits(strings.TrimSpace(v), time.Millisecond); ok {
				return d, true
			}
		}
	}
	v := strings.TrimSpace(httpsyntax.HeaderValue(h, "Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := parseDigits(v, time.Second); ok {
		return d, true // delta-seconds: no clock involved
	}
	now := time.Now()
	if date, err := http.ParseTime(httpsyntax.HeaderValue(h, "Date")); err == nil {
		now = date
	}
	return ParseRetryAfter(v, now)
}

// retryConfig is a RetryPolicy with its defaults filled in.
type retryConfig struct {
	RetryPolicy
	decide RetryDecider
}

func (p RetryPolicy) resolved() retryConfig {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = 200 * time.Millisecond
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 10 * time.Second
	}
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = p.InitialInterval
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = 0.5
	case p.Jitter < 0:
		p.Jitter = 0
	case p.Jitter > 1:
		p.Jitter = 1
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = time.Minute
	}
	switch {
	case p.BudgetRatio == 0:
		p.BudgetRatio = 0.75
	case p.BudgetRatio < 0:
		p.BudgetRatio = -1
	}
	switch {
	case p.BudgetFloor == 0:
		p.BudgetFloor = 10
	case p.BudgetFloor < 0:
		p.BudgetFloor = 0
	}
	d := p.Decide
	if d == nil {
		d = DefaultRetryDecider
	}
	return retryConfig{RetryPolicy: p, decide: d}
}

// newBackOff builds the wait schedule for one logical request.
func (p *retryConfig) newBackOff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
	)
}

// newIdempotencyKey returns a random key (crypto/rand.Text: 26
// characters, 130 bits) as an RFC 8941 sf-string, quoted, as
// draft-ietf-httpapi-idempotency-key-header asks: "a UUID or a similar
// random identifier".
func newIdempotencyKey() string {
	return `"` + rand.Text() + `"`
}

// sleep waits d. It fails at once, with an error matching
// context.DeadlineExceeded, when the wait would end past ctx's deadline
// (the next step could not start in time), and returns ctx's error when
// ctx ends first. It is the one wait outside go-retryablehttp's loop:
// a redirect's Retry-After, the time between polls, a stalled download.
func sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("semhttp: a wait of %v would end past the context's deadline: %w", d, context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
