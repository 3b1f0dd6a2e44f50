package semhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Outcome is what a response means. Every status code maps to exactly one
// concrete kind (see the table in the package documentation); callers
// usually switch on the type:
//
//	switch o := out.(type) {
//	case *semhttp.Created:
//		fmt.Println("new resource at", o.Location)
//	case *semhttp.Conflict:
//		fmt.Println("conflict:", o.Problem().Detail)
//	}
//
// Body ownership: success kinds (*OK, *Created, *Accepted, *PartialContent,
// *NotModified, *Informational) keep the response body open and streaming;
// the caller reads it and must Close the outcome. Failure kinds have already
// read at most [DefaultMaxErrorBody] bytes of the body and closed it, so they
// never hold a connection; Close on them is a no-op. Close is safe to call
// twice on every kind.
type Outcome interface {
	// StatusCode is the final response's status code, as sent.
	StatusCode() int
	// Response is the final response. Its Body is open on success kinds and
	// holds the captured (capped) bytes on failure kinds.
	Response() *http.Response
	// Err is nil on success and redirection kinds; on failure kinds it is
	// the outcome itself, so errors.As(out.Err(), &notFound) works.
	Err() error
	// Close releases the body. It is safe to call twice.
	Close() error
	// Info reports how the outcome was reached: attempts, time waited
	// between them, redirect hops.
	Info() Info
	// API reports the response's Deprecation (RFC 9745) and Sunset
	// (RFC 8594) signals, parsed on first use.
	API() APIStatus

	// core seals the interface: only this package's kinds are outcomes,
	// so it can grow without breaking anyone.
	core() *base
}

// Info describes how an outcome was reached.
type Info struct {
	// Attempts is the number of requests sent for the final hop (1 when the
	// first try succeeded). Zero for outcomes built by [Classify].
	Attempts int
	// TotalAttempts counts requests across every hop of a redirect chain.
	TotalAttempts int
	// Waited is the total time slept between attempts (retry backoff and
	// Retry-After on 3xx), across all hops.
	Waited time.Duration
	// Hops lists the redirects that were followed, in order. Empty when the
	// first response was final.
	Hops []Hop
	// FromCache is true when the outcome was answered from the client's
	// cache (a 304 revalidation).
	FromCache bool
}

// Hop is one redirect that was followed: the status that caused it and the
// URL that answered with it.
type Hop struct {
	StatusCode int
	Method     string
	URL        *url.URL
	Location   *url.URL
	// Remembered is true when the redirect came from the client's memory
	// of permanent redirects (301, 308): no request was sent to URL.
	Remembered bool
}

// DefaultMaxErrorBody is how many bytes of a failure response's body are
// read and kept (64 KiB). The rest is discarded with the connection.
const DefaultMaxErrorBody = 64 << 10

// ErrInvalidStatus reports a status code that is not three digits (below 0
// or above 999). net/http's HTTP/2 client passes any integer through; such a
// response is a protocol error, not an outcome.
var ErrInvalidStatus = errors.New("semhttp: status code is not three digits")

// ErrNoResult is returned by [Decode] for outcomes that carry no result to
// decode: 1xx, 202 (wait for the job first), 204/205, unfollowed 3xx and a
// 304 with no cached representation.
var ErrNoResult = errors.New("semhttp: outcome carries no result to decode")

// base holds what every outcome has. Its methods answer on the zero value
// too (an outcome a test builds by hand): StatusCode 0, Response nil.
type base struct {
	resp   *http.Response
	info   Info
	client *Client // the Client that sent the request; nil for Classify
	api    *APIStatus
	closed bool
}

// StatusCode is the response's status code, or 0 for an outcome without a
// response.
func (b *base) StatusCode() int {
	if b.resp == nil {
		return 0
	}
	return b.resp.StatusCode
}

// Response is the final response; nil for an outcome without one.
func (b *base) Response() *http.Response { return b.resp }

// Err is nil: the kinds that embed base alone are not failures.
func (b *base) Err() error { return nil }

// Info reports how the outcome was reached.
func (b *base) Info() Info { return b.info }

// Close releases the response body. It is safe to call twice.
func (b *base) Close() error {
	if b.closed || b.resp == nil || b.resp.Body == nil {
		b.closed = true
		return nil
	}
	b.closed = true
	return b.resp.Body.Close()
}

// API reports the Deprecation (RFC 9745) and Sunset (RFC 8594) signals the
// response carried. It is the zero APIStatus when there were none.
func (b *base) API() APIStatus {
	if b.resp == nil {
		return APIStatus{}
	}
	if b.api == nil {
		s := ParseAPIStatus(b.resp.Header, requestURL(b.resp))
		b.api = &s
	}
	return *b.api
}

func (b *base) core() *base { return b }

// maxDecode is the cap Decode puts on the body (see WithMaxDecodeBody).
func (b *base) maxDecode() int64 {
	if b.client != nil {
		return b.client.maxDecode
	}
	return defaultMaxDecode
}

// OK is a 200, 203 or any unlisted 2xx: the body is the result.
type OK struct{ base }

// Created is a 201. Location names the new resource.
type Created struct {
	base
	// Location is the new resource's absolute URL, resolved against the
	// final request URL (RFC 3986 §5). When the response had no Location it
	// is the request's target URI (RFC 9110 §15.3.2) and LocationAssumed is
	// true. It is nil when the header could not be parsed; LocationRaw and
	// LocationErr then say what was sent and why it was refused.
	Location        *url.URL
	LocationAssumed bool
	LocationRaw     string
	LocationErr     error
}

// NoContent is a 204 or 205: success without a body. Reset is true for 205
// (the client should reset its document view).
type NoContent struct {
	base
	Reset bool
}

// Informational is a 1xx that arrived as the final response: 101 Switching
// Protocols (whose body is the upgraded connection), or an interim code that
// an HTTP/2 peer ended the stream with.
type Informational struct{ base }

// MultipleChoices is a 300 or an unlisted 3xx. It is never followed
// automatically: Location is the server's preferred choice (nil when
// absent) and Alternatives the links with rel="alternate" (RFC 8288).
type MultipleChoices struct {
	base
	Location     *url.URL
	Alternatives []*url.URL
}

// Redirect is a 301, 302, 303, 307 or 308 that was not followed (the
// redirect policy said no, or Location was missing).
type Redirect struct {
	base
	// Location is the target, resolved against the request URL; nil when
	// the header was absent or unparseable (LocationErr says which).
	Location    *url.URL
	LocationErr error
	// Permanent is true for 301 and 308.
	Permanent bool
	// MethodKept is true for 307 and 308, which must be followed with the
	// same method and body.
	MethodKept bool
}

// failure is the common part of every failure kind: captured body, problem
// details, and the error text.
type failure struct {
	base
	self      error
	body      []byte
	truncated bool
	bodyErr   error
	problem   *Problem
}

// Err returns the outcome itself, as an error. (On a failure kind's zero
// value, which has no outcome to return, it is a generic error.)
func (f *failure) Err() error {
	if f.self != nil {
		return f.self
	}
	return f
}

// Close is a no-op: failure kinds closed their body when they were built.
func (f *failure) Close() error { f.closed = true; return nil }

// Body returns the captured bytes of the response body (at most the
// client's error-body cap).
func (f *failure) Body() []byte { return f.body }

// BodyTruncated reports whether the body was longer than the cap.
func (f *failure) BodyTruncated() bool { return f.truncated }

// BodyErr is the error that cut the capture short (say
// io.ErrUnexpectedEOF when the server sent less than its Content-Length),
// or nil when the body was read to its end or to the cap.
func (f *failure) BodyErr() error { return f.bodyErr }

// Problem returns the RFC 9457 problem details of the response. It is
// never nil: when the body was not application/problem+json (or not a
// JSON object), it is the reading RFC 9457 §4.2.1 gives such a response —
// Type "about:blank", Status the status code, Title its reason phrase
// ("Not Found"), the rest empty.
func (f *failure) Problem() *Problem {
	if f.problem != nil {
		return f.problem
	}
	return blankProblem(f.resp)
}

// blankProblem is the about:blank problem of resp (RFC 9457 §4.2.1): the
// status code and its recommended reason phrase, or the phrase the server
// sent for a code that has none.
func blankProblem(resp *http.Response) *Problem {
	p := &Problem{Type: "about:blank"}
	if resp != nil {
		p.Status = resp.StatusCode
		if p.Title = http.StatusText(resp.StatusCode); p.Title == "" {
			p.Title = reasonPhrase(resp)
		}
	}
	return p
}

// Error describes the failure: method, URL (without credentials or query),
// status, and the problem title and detail when the server sent them.
func (f *failure) Error() string {
	var sb strings.Builder
	sb.WriteString("semhttp: ")
	if f.resp == nil {
		sb.WriteString("failure outcome without a response")
		return sb.String()
	}
	if r := f.resp.Request; r != nil && r.URL != nil {
		sb.WriteString(methodOf(r))
		sb.WriteByte(' ')
		sb.WriteString(redact(r.URL))
		sb.WriteString(": ")
	}
	sb.WriteString(statusLine(f.resp))
	if p := f.problem; p != nil {
		if p.Title != "" {
			sb.WriteString(": ")
			sb.WriteString(p.Title)
		}
		if p.Detail != "" {
			sb.WriteString(": ")
			sb.WriteString(p.Detail)
		}
	}
	return sb.String()
}

// ClientError is an unlisted 4xx, handled as 400 (RFC 9110 §15). Every
// listed 4xx kind unwraps to its ClientError, so
// errors.As(err, new(*semhttp.ClientError)) matches any 4xx.
type ClientError struct{ failure }

// ServerError is a 500, 502, 504 or unlisted 5xx. Every 5xx kind and
// *Nonstandard unwrap to their ServerError.
type ServerError struct{ failure }

// BadRequest is a 400.
type BadRequest struct{ ClientError }

// Unauthorized is a 401. Challenges are its parsed WWW-Authenticate values.
type Unauthorized struct {
	ClientError
	Challenges []Challenge
}

// Forbidden is a 403.
type Forbidden struct{ ClientError }

// NotFound is a 404.
type NotFound struct{ ClientError }

// MethodNotAllowed is a 405. Allow lists the methods the server named; it
// is empty (not an error) when the server sent no Allow header, as nginx does.
type MethodNotAllowed struct {
	ClientError
	Allow []string
}

// NotAcceptable is a 406.
type NotAcceptable struct{ ClientError }

// Conflict is a 409.
type Conflict struct{ ClientError }

// Gone is a 410.
type Gone struct{ ClientError }

// PreconditionFailed is a 412: a conditional request's validator no longer
// matches (someone else changed the resource).
type PreconditionFailed struct{ ClientError }

// URITooLong is a 414.
type URITooLong struct{ ClientError }

// RangeNotSatisfiable is a 416. CompleteLength is the representation length
// from "Content-Range: */N", or -1 when the server did not send it.
type RangeNotSatisfiable struct {
	ClientError
	CompleteLength int64
}

// PreconditionRequired is a 428: the server wants the request conditional.
type PreconditionRequired struct{ ClientError }

// TooManyRequests is a 429. RetryAfter is the server's requested wait (zero
// when absent or invalid).
type TooManyRequests struct {
	ClientError
	RetryAfter time.Duration
}

// NotImplemented is a 501: permanent, never retried.
type NotImplemented struct{ ServerError }

// ServiceUnavailable is a 503. RetryAfter is the server's requested wait
// (zero when absent or invalid).
type ServiceUnavailable struct {
	ServerError
	RetryAfter time.Duration
}

// Nonstandard is a status outside 100–599 but still three digits (000–099,
// 600–999). RFC 9110 §15 says to handle it as a 5xx, so it unwraps to a
// *ServerError and is never a success.
type Nonstandard struct {
	ServerError
	// Code is the raw code; Reason the reason phrase the server sent.
	Code   int
	Reason string
}

// Unwrap methods let errors.As find the class error.

// Unwrap returns the class error.
func (e *BadRequest) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *Unauthorized) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *Forbidden) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *NotFound) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *MethodNotAllowed) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *NotAcceptable) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *Conflict) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *Gone) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *PreconditionFailed) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *URITooLong) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *RangeNotSatisfiable) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *PreconditionRequired) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *TooManyRequests) Unwrap() error { return &e.ClientError }

// Unwrap returns the class error.
func (e *NotImplemented) Unwrap() error { return &e.ServerError }

// Unwrap returns the class error.
func (e *ServiceUnavailable) Unwrap() error { return &e.ServerError }

// Unwrap returns the class error.
func (e *Nonstandard) Unwrap() error { return &e.ServerError }

// Classify turns any response into its Outcome, for callers that got the
// response from [Client.Do] or another client. For failure kinds it reads
// at most [DefaultMaxErrorBody] bytes and closes the body, then puts the
// captured bytes back as resp.Body so the response can still be decoded.
// It returns an error wrapping [ErrInvalidStatus] (and closes the body) for
// codes that are not three digits.
func Classify(resp *http.Response) (Outcome, error) {
	if resp == nil {
		return nil, errNilResponse
	}
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	return classify(resp, Info{}, DefaultMaxErrorBody, false), nil
}

var errNilResponse = errors.New("semhttp: Classify of a nil response")

// checkStatus refuses a status code that is not three digits, closing the
// body: a protocol error, not an outcome.
func checkStatus(resp *http.Response) error {
	if code := resp.StatusCode; code < 0 || code > 999 {
		if resp.Body != nil {
			resp.Body.Close()
		}
		return fmt.Errorf("%w: %d", ErrInvalidStatus, code)
	}
	return nil
}

// classify builds the outcome for resp. maxBody caps failure-body reads.
// classify is Classify with the call's Info. When polling (a poller's own
// request), an *Accepted does not read its body for a monitor: the poller
// reads it as a status document.
// The status code must be three digits (checkStatus).
func classify(resp *http.Response, info Info, maxBody int64, polling bool) Outcome {
	code := resp.StatusCode
	b := base{resp: resp, info: info}
	switch {
	case code < 100 || code >= 600:
		e := &Nonstandard{Code: code, Reason: reasonPhrase(resp)}
		e.fill(b, e, maxBody)
		return e
	case code < 200:
		return &Informational{base: b}
	case code < 300:
		return classify2xx(b, polling)
	case code < 400:
		return classify3xx(b)
	case code < 500:
		return classify4xx(b, maxBody)
	default:
		return classify5xx(b, maxBody)
	}
}

func classify2xx(b base, polling bool) Outcome {
	switch b.resp.StatusCode {
	case http.StatusCreated:
		o := &Created{base: b}
		o.resolveLocation()
		return o
	case http.StatusAccepted:
		return newAccepted(b, polling)
	case http.StatusNoContent, http.StatusResetContent:
		return &NoContent{base: b, Reset: b.resp.StatusCode == http.StatusResetContent}
	case http.StatusPartialContent:
		return newPartialContent(b)
	default:
		return &OK{base: b}
	}
}

func classify3xx(b base) Outcome {
	resp := b.resp
	switch code := resp.StatusCode; code {
	case http.StatusNotModified:
		return &NotModified{base: b}
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		o := &Redirect{
			base:       b,
			Permanent:  code == http.StatusMovedPermanently || code == http.StatusPermanentRedirect,
			MethodKept: code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect,
		}
		o.Location, o.LocationErr = responseLocation(resp)
		return o
	default:
		o := &MultipleChoices{base: b}
		o.Location, _ = responseLocation(resp)
		base := requestURL(resp)
		for _, l := range ParseLinks(resp.Header) {
			if l.HasRel("alternate") {
				o.Alternatives = append(o.Alternatives, resolve(base, l.URL))
			}
		}
		return o
	}
}

func classify4xx(b base, maxBody int64) Outcome {
	h := b.resp.Header
	switch b.resp.StatusCode {
	case http.StatusBadRequest:
		e := &BadRequest{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusUnauthorized:
		e := &Unauthorized{Challenges: ParseChallenges(h.Values("WWW-Authenticate"))}
		e.fill(b, e, maxBody)
		return e
	case http.StatusForbidden:
		e := &Forbidden{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusNotFound:
		e := &NotFound{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusMethodNotAllowed:
		e := &MethodNotAllowed{Allow: ParseAllow(h.Values("Allow"))}
		e.fill(b, e, maxBody)
		return e
	case http.StatusNotAcceptable:
		e := &NotAcceptable{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusConflict:
		e := &Conflict{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusGone:
		e := &Gone{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusPreconditionFailed:
		e := &PreconditionFailed{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusRequestURITooLong:
		e := &URITooLong{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusRequestedRangeNotSatisfiable:
		e := &RangeNotSatisfiable{CompleteLength: unsatisfiedLength(h.Get("Content-Range"))}
		e.fill(b, e, maxBody)
		return e
	case http.StatusPreconditionRequired:
		e := &PreconditionRequired{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusTooManyRequests:
		e := &TooManyRequests{RetryAfter: retryAfterOf(b.resp)}
		e.fill(b, e, maxBody)
		return e
	default:
		e := &ClientError{}
		e.fill(b, e, maxBody)
		return e
	}
}

func classify5xx(b base, maxBody int64) Outcome {
	switch b.resp.StatusCode {
	case http.StatusNotImplemented:
		e := &NotImplemented{}
		e.fill(b, e, maxBody)
		return e
	case http.StatusServiceUnavailable:
		e := &ServiceUnavailable{RetryAfter: retryAfterOf(b.resp)}
		e.fill(b, e, maxBody)
		return e
	default:
		e := &ServerError{}
		e.fill(b, e, maxBody)
		return e
	}
}

// fill captures at most maxBody bytes of the body, closes it, parses problem
// details, and puts the captured bytes back as the response body.
func (f *failure) fill(b base, self error, maxBody int64) {
	f.base = b
	f.self = self
	resp := b.resp
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	f.body, f.truncated, f.bodyErr = readCapped(resp.Body, maxBody)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(f.body))
	if isProblemJSON(headerValue(resp.Header, "Content-Type")) {
		f.problem = ParseProblem(f.body, requestURL(resp))
	}
}

// readCapped reads at most max bytes from r and reports whether more
// remained. A read error ends the capture with what was read, and is
// returned.
func readCapped(r io.Reader, max int64) ([]byte, bool, error) {
	if max <= 0 {
		max = DefaultMaxErrorBody
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if n > max {
		return buf.Bytes()[:max], true, nil
	}
	return buf.Bytes(), false, err
}

func isProblemJSON(contentType string) bool {
	return mediaTypeOf(contentType) == "application/problem+json"
}

func (o *Created) resolveLocation() {
	raw := headerValue(o.resp.Header, "Location")
	if raw == "" && len(o.resp.Header["Location"]) == 0 {
		if u := requestURL(o.resp); u != nil {
			cp := *u
			o.Location = &cp
		}
		o.LocationAssumed = true
		return
	}
	o.LocationRaw = raw
	o.Location, o.LocationErr = responseLocation(o.resp)
}

// ErrBadLocation reports a Location header that could not be used: not a
// URI reference, containing control characters, or not resolvable.
var ErrBadLocation = errors.New("semhttp: unusable Location header")

// responseLocation parses the response's Location and resolves it against
// the request URL. It returns nil, nil when there is no Location.
func responseLocation(resp *http.Response) (*url.URL, error) {
	vals := resp.Header.Values("Location")
	if len(vals) == 0 {
		return nil, nil
	}
	if len(vals) > 1 {
		return nil, fmt.Errorf("%w: %d Location headers", ErrBadLocation, len(vals))
	}
	return parseReference(requestURL(resp), vals[0])
}

// parseReference parses raw as a URI reference and resolves it against
// base. Control characters and empty values are refused.
func parseReference(base *url.URL, raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadLocation)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("%w: control character in %q", ErrBadLocation, redactRaw(raw))
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadLocation, redactRaw(raw), unwrapURLError(err))
	}
	u.RawQuery = encodeQuery(u.RawQuery)
	return resolve(base, u), nil
}

// encodeQuery percent-encodes the bytes of a query that may not appear
// in a request line, as the URL standard's parser (which Fetch, and so
// every browser, applies to Location) does for http(s) URLs: controls,
// space, '"', '#', '<', '>', the apostrophe and every byte above 0x7E, which spells
// non-ASCII as its UTF-8 bytes ("ä" becomes "%C3%A4"). Escapes already
// there are kept, malformed ones too. Go's url.Parse keeps the query as
// sent, and its client writes it into the request line as it is, where a
// raw space makes a Go server answer 400.
func encodeQuery(q string) string {
	n := 0
	for i := 0; i < len(q); i++ {
		if queryByteEscaped(q[i]) {
			n++
		}
	}
	if n == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		if c := q[i]; queryByteEscaped(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// queryByteEscaped is the URL standard's special-query percent-encode set.
func queryByteEscaped(c byte) bool {
	return c <= ' ' || c > '~' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\''
}

func resolve(base, ref *url.URL) *url.URL {
	if base == nil || ref == nil {
		return ref
	}
	return base.ResolveReference(ref)
}

func requestURL(resp *http.Response) *url.URL {
	if resp == nil || resp.Request == nil {
		return nil
	}
	return resp.Request.URL
}

// redact renders u without userinfo, query or fragment, for errors and logs.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return cp.String()
}

// redactRaw is redact for a URL that does not parse: the text before any
// query or fragment, without what looks like userinfo (anything up to an
// '@' in the authority).
func redactRaw(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	start := 0
	if i := strings.Index(raw, "//"); i >= 0 {
		start = i + 2
	}
	end := len(raw)
	if i := strings.IndexByte(raw[start:], '/'); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndexByte(raw[start:end], '@'); at >= 0 {
		raw = raw[:start] + raw[start+at+1:]
	}
	return raw
}

// statusLine is "404 Not Found" as the server sent it, else with the
// standard reason phrase, else the code alone ("999", never "999 ").
func statusLine(resp *http.Response) string {
	if s := strings.TrimSpace(resp.Status); strings.IndexByte(s, ' ') > 0 {
		return s
	}
	if t := http.StatusText(resp.StatusCode); t != "" {
		return strconv.Itoa(resp.StatusCode) + " " + t
	}
	return strconv.Itoa(resp.StatusCode)
}

// reasonPhrase extracts the reason phrase from resp.Status ("999 Foo" →
// "Foo").
func reasonPhrase(resp *http.Response) string {
	s := resp.Status
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return ""
}

// Decode JSON-decodes a success outcome's body into a T and closes it. It
// passes err through and returns a failure outcome as the error. A 204 or
// 205 decodes to the zero T with a nil error (a DELETE that succeeded is
// not a failure); other outcomes without a result (1xx, 202, an unfollowed
// 3xx, a 304 to the caller's own validators, an empty body) give an error
// wrapping [ErrNoResult]. A *NotModified the client answered from its
// cache decodes the stored representation.
//
// Decode reads at most the client's decode limit (16 MiB unless set with
// [WithMaxDecodeBody]) of the body, counted after decompression; a longer
// body fails with an error wrapping [ErrBodyTooLarge]. Typical use:
//
//	user, err := semhttp.Decode[User](c.Send(req))
func Decode[T any](out Outcome, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if out == nil {
		return v, fmt.Errorf("%w: nil outcome", ErrNoResult)
	}
	defer out.Close()
	if e := out.Err(); e != nil {
		return v, e
	}
	resp := out.Response()
	switch out.(type) {
	case *OK, *Created, *PartialContent:
	case *NotModified:
		if resp == nil || resp.StatusCode == http.StatusNotModified {
			return v, fmt.Errorf("%w: 304 to the request's own validators, nothing stored to decode", ErrNoResult)
		}
	case *NoContent:
		return v, nil
	default:
		if resp == nil {
			return v, fmt.Errorf("%w: %T without a response", ErrNoResult, out)
		}
		return v, fmt.Errorf("%w: %s", ErrNoResult, statusLine(resp))
	}
	if resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		return v, fmt.Errorf("%w: empty body", ErrNoResult)
	}
	body := io.Reader(resp.Body)
	if limit := out.core().maxDecode(); limit > 0 {
		body = &capReader{r: resp.Body, left: limit, max: limit}
	}
	if err := json.NewDecoder(body).Decode(&v); err != nil {
		if errors.Is(err, ErrBodyTooLarge) {
			return v, err
		}
		if err == io.EOF {
			return v, fmt.Errorf("%w: empty body", ErrNoResult)
		}
		return v, fmt.Errorf("semhttp: decoding %s body: %w", statusLine(resp), err)
	}
	return v, nil
}

// defaultMaxDecode is the decode limit of a Client built without
// WithMaxDecodeBody, and of outcomes built by Classify.
const defaultMaxDecode = 16 << 20

// ErrBodyTooLarge is returned by [Decode] for a body longer than the
// client's decode limit (see [WithMaxDecodeBody]).
var ErrBodyTooLarge = errors.New("semhttp: body exceeds the decode limit")

// capReader fails with ErrBodyTooLarge once more than max bytes were read.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		if n, _ := io.ReadFull(c.r, one[:]); n > 0 {
			return 0, fmt.Errorf("%w of %d bytes (WithMaxDecodeBody raises it)", ErrBodyTooLarge, c.max)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
