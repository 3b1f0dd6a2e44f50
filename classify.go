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

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// classify.go maps every status code to its kind (Classify), builds the
// kinds from a response, and decodes a success's body (Decode).

// ErrBadStatus reports a status code that is not three digits (below 0
// or above 999). net/http's HTTP/2 client passes any integer through; such a
// response is a protocol error, not an outcome.
var ErrBadStatus = errors.New("semhttp: status code is not three digits")

// ErrNoResult is returned by [Decode] for outcomes that carry no result to
// decode: 1xx, 202 (wait for the job first), 204/205, unfollowed 3xx and a
// 304 with no cached representation.
var ErrNoResult = errors.New("semhttp: outcome carries no result to decode")

// ErrBadLocation reports a Location header that could not be used: not a
// URI reference, containing control characters, or not resolvable.
var ErrBadLocation = errors.New("semhttp: unusable Location header")

// ErrBodyTooLarge reports a body over a limit: [Decode]'s (see
// [WithMaxDecodeBody]), or, from [MemoryStore.Put], the store's entry or
// total size.
var ErrBodyTooLarge = errors.New("semhttp: body too large")

// defaultMaxErrorBody is how many bytes of a failure response's body are
// read and kept (64 KiB). The rest is discarded with the connection.
const defaultMaxErrorBody = 64 << 10

// defaultMaxDecode is the decode limit of a Client built without
// WithMaxDecodeBody, and of outcomes built by Classify.
const defaultMaxDecode = 16 << 20

// Classify turns any response into its Outcome, for callers that got the
// response from [Client.Do] or another client. For failure kinds it reads
// at most 64 KiB and closes the body, then puts the
// captured bytes back as resp.Body so the response can still be decoded.
// It returns an error wrapping [ErrBadStatus] (and closes the body) for
// codes that are not three digits.
func Classify(resp *http.Response) (Outcome, error) {
	if resp == nil {
		return nil, errNilResponse
	}
	if err := checkStatus(resp); err != nil {
		return nil, err
	}
	return classify(resp, Info{}, defaultMaxErrorBody, false), nil
}

var errNilResponse = errors.New("semhttp: Classify of a nil response")

// checkStatus refuses a status code that is not three digits, closing the
// body: a protocol error, not an outcome.
func checkStatus(resp *http.Response) error {
	if code := resp.StatusCode; code < 0 || code > 999 {
		if resp.Body != nil {
			resp.Body.Close()
		}
		return fmt.Errorf("%w: %d", ErrBadStatus, code)
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
		for _, l := range httpsyntax.ParseLinks(resp.Header) {
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
		e := &Unauthorized{Challenges: parseChallenges(h.Values("WWW-Authenticate"))}
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
		e := &MethodNotAllowed{Allow: parseAllow(h.Values("Allow"))}
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
	if isProblemJSON(httpsyntax.HeaderValue(resp.Header, "Content-Type")) {
		f.problem = ParseProblem(f.body, requestURL(resp))
	}
}

// readCapped reads at most max bytes from r and reports whether more
// remained. A read error ends the capture with what was read, and is
// returned.
func readCapped(r io.Reader, max int64) ([]byte, bool, error) {
	if max <= 0 {
		max = defaultMaxErrorBody
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if n > max {
		return buf.Bytes()[:max], true, nil
	}
	return buf.Bytes(), false, err
}

func isProblemJSON(contentType string) bool {
	return httpsyntax.MediaType(contentType) == "application/problem+json"
}

func (o *Created) resolveLocation() {
	raw := httpsyntax.HeaderValue(o.resp.Header, "Location")
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
			return nil, fmt.Errorf("%w: control character in %q", ErrBadLocation, httpsyntax.RedactRaw(raw))
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadLocation, httpsyntax.RedactRaw(raw), causeOf(err))
	}
	u.RawQuery = httpsyntax.EncodeQuery(u.RawQuery)
	return resolve(base, u), nil
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
			return 0, fmt.Errorf("%w: over the decode limit of %d bytes (WithMaxDecodeBody raises it)", ErrBodyTooLarge, c.max)
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
