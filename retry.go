package semhttp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-retryablehttp"
)

// RetryPolicy says how many times, and how long apart, a request is tried.
// The zero value of every field means its default, given in its comment.
// Waits come from a backoff/v4 ExponentialBackOff built fresh for each call
// (its state is not shared between requests), unless the server sent
// Retry-After, which wins up to MaxRetryAfter.
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
	// is returned at once instead of sleeping. Zero means 1m.
	MaxRetryAfter time.Duration
	// Decide makes the retry decision for each response or transport
	// error. Nil means [DefaultRetryDecider]. Whatever it says, a body that
	// cannot be replayed is never sent twice, and the limits above hold.
	Decide RetryDecider
	// OnRetry, when set, is called before each wait.
	OnRetry func(RetryEvent)
}

// RetryDecider decides whether to try again after resp (or err, when no
// response arrived) for req. Wrap [DefaultRetryDecider] to adjust it.
type RetryDecider func(ctx context.Context, req *http.Request, resp *http.Response, err error) bool

// RetryEvent describes a retry about to happen.
type RetryEvent struct {
	Request  *http.Request
	Attempt  int           // the attempt that just failed, from 1
	Wait     time.Duration // how long the client will sleep before the next
	Response *http.Response
	Err      error
}

// ErrNotSent marks a transport error that happened before any byte of the
// request was written (connection refused, DNS failure, a reset while
// connecting). Such a request is safe to retry whatever its method;
// [DefaultRetryDecider] checks for it with errors.Is.
var ErrNotSent = errors.New("semhttp: request was not sent")

type notSentError struct{ err error }

func (e *notSentError) Error() string        { return e.err.Error() }
func (e *notSentError) Unwrap() error        { return e.err }
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
//     requests; TLS certificate errors, malformed URLs, refused redirects
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
		code < 0, code > 999: // not three digits: a protocol error (ErrInvalidStatus)
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
	return headerValue(req.Header, "Idempotency-Key") != ""
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
	)
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &recordErr):
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
	var opErr *net.OpError
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
	if v == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-9)/10 {
			n = math.MaxInt64 // keep scanning to validate the rest
			continue
		}
		n = n*10 + uint64(c-'0')
	}
	if n > uint64(math.MaxInt64/int64(unit)) {
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
		if v := headerValue(h, k); v != "" {
			if d, ok := parseDigits(strings.TrimSpace(v), time.Millisecond); ok {
				return d, true
			}
		}
	}
	v := strings.TrimSpace(headerValue(h, "Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := parseDigits(v, time.Second); ok {
		return d, true // delta-seconds: no clock involved
	}
	now := time.Now()
	if date, err := http.ParseTime(headerValue(h, "Date")); err == nil {
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

// RequestError is the error of every call of [Client.Send] and
// [Client.Do] that got no usable response, as *url.Error is net/http's: a
// transport failure after the retries, a cancelled context, a refused
// redirect ([RedirectError]), a nil request ([ErrNilRequest]), an invalid
// [WithBaseURL], a status that is not three digits ([ErrInvalidStatus]).
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

// bodySource replays a request body for each attempt without buffering it.
type bodySource struct {
	getBody func() (io.ReadCloser, error) // from req.GetBody
	seeker  io.ReadSeeker                 // a seekable body
	offset  int64                         // where the seeker started
	at      io.ReaderAt                   // the seeker, when it can also read at an offset
	size    int64                         // bytes from offset (for at), or -1 when unknown
	closer  io.Closer                     // the caller's body, closed when the call ends
	read    *atomic.Bool                  // set when a non-replayable body was read
}

func (b *bodySource) replayable() bool { return b.getBody != nil || b.seeker != nil }

// touched reports whether a non-replayable body has been read.
func (b *bodySource) touched() bool { return b.read != nil && b.read.Load() }

// close closes the caller's body if the transport could not (seekable
// bodies are sent behind a NopCloser so they survive for the next attempt).
func (b *bodySource) close() {
	if b.closer != nil {
		b.closer.Close()
		b.closer = nil
	}
}

// prepareBody makes req's body replayable where it can be and returns the
// request to send (a shallow copy when the body had to be wrapped).
func prepareBody(req *http.Request) (*http.Request, bodySource) {
	var src bodySource
	if req.Body == nil || req.Body == http.NoBody {
		return req, src
	}
	if req.GetBody != nil {
		src.getBody = req.GetBody
		return req, src
	}
	r2 := new(http.Request)
	*r2 = *req
	if s, ok := req.Body.(io.ReadSeeker); ok {
		if off, err := s.Seek(0, io.SeekCurrent); err == nil {
			src.seeker, src.offset, src.closer = s, off, req.Body
			if r2.ContentLength == 0 {
				r2.ContentLength = regularFileRemaining(req.Body, off)
			}
			src.size = -1
			if r2.ContentLength > 0 {
				src.size = r2.ContentLength
			}
			src.at, _ = s.(io.ReaderAt)
			r2.Body = firstAttemptBody(s)
			return r2, src
		}
	}
	src.read, src.closer = new(atomic.Bool), req.Body
	r2.Body = &trackingBody{r: req.Body, read: src.read}
	return r2, src
}

// regularFileRemaining returns the bytes left in a regular file after off,
// or 0 (unknown) for anything else.
func regularFileRemaining(body io.Reader, off int64) int64 {
	st, ok := body.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return 0
	}
	fi, err := st.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() <= off {
		return 0
	}
	return fi.Size() - off
}

// rewind gives req a fresh body for another attempt.
func (b *bodySource) rewind(req *http.Request) error {
	switch {
	case b.getBody != nil:
		body, err := b.getBody()
		if err != nil {
			return fmt.Errorf("semhttp: GetBody: %w", err)
		}
		req.Body = body
	case b.at != nil:
		// Reading at offsets leaves the shared file offset alone, so a
		// previous attempt whose body the transport is still sending (a
		// server that answered before reading it all) cannot disturb this one.
		n := b.size
		if n < 0 {
			n = math.MaxInt64 - b.offset
		}
		req.Body = io.NopCloser(io.NewSectionReader(b.at, b.offset, n))
	case b.seeker != nil:
		if _, err := b.seeker.Seek(b.offset, io.SeekStart); err != nil {
			return fmt.Errorf("semhttp: rewinding body: %w", err)
		}
		req.Body = io.NopCloser(b.seeker)
	}
	return nil
}

// firstAttemptBody is the body the first attempt hands the transport. The
// transport closes it, and the caller's body must outlive that for another
// attempt. An *os.File is handed over as a duplicate descriptor on Linux,
// so that net/http still sees a file and sends it with sendfile (it does
// not see through a NopCloser inside its own wrapper); anything else goes
// behind a NopCloser.
func firstAttemptBody(s io.ReadSeeker) io.ReadCloser {
	if f, ok := s.(*os.File); ok {
		if d, err := dupFile(f); err == nil {
			return d
		}
	}
	return io.NopCloser(s)
}

// trackingBody records that a non-replayable body was read. Its Close is a
// no-op: the transport closes bodies even when a dial failed and nothing
// was read, and the body must survive for that retry; bodySource.close
// closes the caller's body when the call ends.
type trackingBody struct {
	r    io.Reader
	read *atomic.Bool
}

func (t *trackingBody) Read(p []byte) (int, error) {
	t.read.Store(true)
	return t.r.Read(p)
}

func (t *trackingBody) Close() error { return nil }

// retrier holds the state of one hop's attempts. It serves one call at a
// time (it is pooled per Client), and its backoff/v4 schedule — stateful,
// not safe for concurrent use — is built fresh for each call that retries.
type retrier struct {
	rc      retryablehttp.Client // hooks bound to this retrier
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

// send makes the attempts for one hop through go-retryablehttp.
func (c *Client) send(req *http.Request, body *bodySource, x *exchange) (*http.Response, error) {
	r := c.getRetrier()
	defer c.putRetrier(r)
	r.p, r.x, r.req, r.body, r.log = &c.retry, x, req, body, c.logger
	if x.opts != nil && x.opts.retry != nil {
		r.p = x.opts.retry
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
	r.p, r.x, r.req, r.body, r.bo, r.wrote, r.prepErr, r.hdr, r.log = nil, nil, nil, nil, nil, nil, nil, nil, nil
	r.wait, r.attempt = 0, 0
	r.rreq = retryablehttp.Request{}
	c.retriers.Put(r)
}

// check is go-retryablehttp's CheckRetry: it decides and, when retrying,
// computes the wait (so that backoff only reports it).
func (r *retrier) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	restoreLocation(resp) // first look at resp after the inner http.Client (redirect.go)
	r.attempt++
	if err != nil && !errors.Is(err, ErrNotSent) && r.notSent(err) {
		err = &notSentError{err}
	}
	if !r.p.decide(ctx, r.req, resp, err) || r.attempt >= r.p.MaxAttempts {
		return false, nil
	}
	if r.body.touched() && !r.body.replayable() {
		return false, nil // a plain io.Reader is sent once
	}
	wait, ok := r.nextWait(ctx, resp)
	if !ok {
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

// nextWait is Retry-After when the response has one (refused above the
// cap), else the next backoff interval; false means stop.
func (r *retrier) nextWait(ctx context.Context, resp *http.Response) (time.Duration, bool) {
	var wait time.Duration
	if ra, ok := retryAfter(resp); ok {
		if ra > r.p.MaxRetryAfter {
			return 0, false
		}
		wait = ra
	} else {
		if r.bo == nil {
			r.bo = r.p.newBackOff()
		}
		if wait = r.bo.NextBackOff(); wait == backoff.Stop {
			return 0, false
		}
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
	attrs := []any{"method", methodOf(r.req), "url", redact(r.req.URL), "attempt", r.attempt}
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
			return ue.Op + " " + strconv.Quote(redact(u)) + ": " + ue.Err.Error()
		}
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
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

// newIdempotencyKey returns a random UUIDv4 as an RFC 8941 sf-string
// (quoted), as draft-ietf-httpapi-idempotency-key-header requires.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 38)
	out = append(out, '"')
	for i, v := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[v>>4], hex[v&0x0f])
	}
	return string(append(out, '"'))
}
