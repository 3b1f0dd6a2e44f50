package semhttp

import (
	"net/http"
	"net/url"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// outcome.go declares what a response means: the sealed Outcome
// interface, what every outcome has (base, Info, Hop), and the success
// kinds. The failure kinds are in failure.go; classification, from status
// code to kind, in classify.go.

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
// read at most 64 KiB of the body ([WithMaxErrorBody]) and closed it, so they
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
	// APIStatus reports the response's Deprecation (RFC 9745) and Sunset
	// (RFC 8594) signals, parsed on first use.
	APIStatus() APIStatus
	// RateLimit reports what the response said of the client's rate limit
	// (RateLimit, RateLimit-Policy, X-RateLimit-*); ok is false when it
	// said nothing.
	RateLimit() (rl RateLimit, ok bool)
	// Link returns the target of the response's first Link (RFC 8288)
	// with the relation rel ("next", "last", "alternate", compared
	// case-insensitively), resolved against the request URL; nil when there
	// is none. [Client.LinkPages] follows rel="next" for you.
	Link(rel string) *url.URL

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
	// cache: a stored response served fresh or stale without the origin
	// (the outcome is then the stored response's kind, an *OK or a
	// *NotFound, say; Attempts is 0 unless the origin was tried and
	// failed), or revalidated by a 304 (a *NotModified).
	FromCache bool
	// Age is the age of the stored response that answered (RFC 9111
	// §4.2.3), when FromCache is true.
	Age time.Duration
	// Stale is true when the stored response that answered was past its
	// freshness: stale-while-revalidate (it is being revalidated in the
	// background), stale-if-error or the request's max-stale allowed it.
	Stale bool
	// OriginErr, on a stale answer, is why the origin's was not used: the
	// transport error after the retries, or the 5xx outcome's error. Nil
	// for stale-while-revalidate and max-stale.
	OriginErr error
	// Throttled is the part of Waited spent waiting for an origin that had
	// asked the Client to hold off (a 429 or 503 with Retry-After, or a
	// rate limit with nothing remaining), before sending to it.
	Throttled time.Duration
	// RetryRefused is true when the Client's retry budget refused a retry
	// of the final response: it would have been tried again.
	RetryRefused bool
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

// APIStatus reports the Deprecation (RFC 9745) and Sunset (RFC 8594) signals the
// response carried. It is the zero APIStatus when there were none.
func (b *base) APIStatus() APIStatus {
	if b.resp == nil {
		return APIStatus{}
	}
	if b.api == nil {
		s := parseAPIStatus(b.resp.Header, requestURL(b.resp))
		b.api = &s
	}
	return *b.api
}

func (b *base) core() *base { return b }

// RateLimit reports the response's rate-limit fields, resets measured from
// now.
func (b *base) RateLimit() (RateLimit, bool) {
	if b.resp == nil {
		return RateLimit{Limit: -1, Remaining: -1}, false
	}
	return parseRateLimit(b.resp.Header, time.Now())
}

// Link returns the target of the first Link with the relation rel,
// resolved against the request URL, or nil.
func (b *base) Link(rel string) *url.URL {
	if b.resp == nil || len(b.resp.Header["Link"]) == 0 {
		return nil
	}
	for _, l := range httpsyntax.ParseLinks(b.resp.Header) {
		if l.HasRel(rel) {
			return resolve(requestURL(b.resp), l.URL)
		}
	}
	return nil
}

// maxDecode is the cap Decode puts on the body (see WithMaxDecodeBody).
func (b *base) maxDecode() int64 {
	if b.client != nil {
		return b.client.maxDecode
	}
	return defaultMaxDecode
}

// OK is a 200, 203 or any unlisted 2xx: the body is the result.
type OK struct{ base }

// RangeIgnored reports whether o answers a request that carried a Range
// header: the server ignored the range (as it may, RFC 9110 §14.2, or
// because an If-Range did not match) and the body is the complete
// representation, not the slice that was asked for.
func (o *OK) RangeIgnored() bool {
	r := o.resp
	return r != nil && r.StatusCode == http.StatusOK && r.Request != nil && r.Request.Header.Get("Range") != ""
}

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

// Accepted is a 202: the request was accepted for processing, which has
// not finished. Monitor is where its status can be polled; [Accepted.Wait]
// polls it until the job ends. A GET (or HEAD) answered 202 with no monitor
// ("computing, ask again", as GitHub's statistics answer) can be waited on
// too: the same request is sent again until it is answered otherwise.
//
// A 202 body of known length up to 1 MiB is read when the 202 is
// classified, so that a kept *Accepted does not hold a connection; it
// stays whole for the caller to read.
type Accepted struct {
	base
	// Monitor is the absolute URL of the status monitor, nil when the 202
	// named none or only refused ones (MonitorErr then says why). A monitor
	// named only in a body of unknown length (chunked) is looked for when
	// [Accepted.Wait] or [Client.NewPoller] is first called, not by Send,
	// which never waits on a body; until then Monitor is nil and MonitorErr
	// wraps [ErrNoMonitor].
	Monitor *url.URL
	// MonitorFrom says where Monitor was found: the header's name, the
	// first of "Azure-AsyncOperation", "Operation-Location", "Location" and
	// "Content-Location" that is usable, or "body" for a link in a JSON
	// body.
	MonitorFrom string
	// MonitorErr is why no monitor could be used: it wraps [ErrNoMonitor]
	// or [ErrBadMonitor]. Nil when Monitor is set.
	MonitorErr error
	// RetryAfter is the server's hint for the first poll (zero when absent).
	RetryAfter time.Duration

	bodyLater bool // the body may name the monitor but was not read yet
	unsettled bool // classified for a poll: see settle
	retryHint bool // RetryAfter came from the response (it may be zero)
}

// NoContent is a 204 or 205: success without a body. Reset is true for 205
// (the client should reset its document view).
type NoContent struct {
	base
	Reset bool
}

// PartialContent is a 206: the body holds one range of the representation
// (ContentRange says which), or several as multipart/byteranges
// (Multipart is true; read them with [PartialContent.Parts]).
//
// For a single range the Content-Range is checked when the outcome is
// built: it must parse strictly (RFC 9110 §14.4), be a satisfied range,
// and, for the bytes unit, agree with Content-Length. When it does not,
// ContentRangeErr says why and every Read of the body fails with it, so a
// bad slice is never
// consumed by mistake. When the length is not known in advance the body is
// counted as it is read, and a bytes body shorter or longer than the range
// fails with [ErrBadContentRange] instead of io.EOF. Other units (items)
// say nothing about the body's length in bytes.
type PartialContent struct {
	base
	// ContentRange is the range the body holds. It is the zero
	// ContentRange (Unit "", Length 0) when Multipart: each Part has its
	// own.
	ContentRange ContentRange
	// ContentRangeErr is why the response's range is unusable (it wraps
	// [ErrBadContentRange]); nil when it is fine.
	ContentRangeErr error
	// Multipart is true for a multipart/byteranges body.
	Multipart bool
	boundary  string
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

// NotModified is a 304 Not Modified. It is a success kind (Err is nil)
// and reads like the representation it stands for:
//
// When the client added the validators itself (a plain GET of something
// it had stored), Response is the stored representation freshened with
// the 304's header fields (RFC 9111 §4.3.4): Response().StatusCode is the
// stored 200, its Body reads the stored bytes like an *OK's (Decode works,
// Close releases it), its header carries [CacheHeader] "revalidated", and
// Info().FromCache is true. StatusCode() is 304, what the server answered.
//
// When the request carried its own If-None-Match or If-Modified-Since,
// the 304 is the caller's business: Response is the server's 304, with an
// empty body, and both StatusCode() and Response().StatusCode are 304.
type NotModified struct{ base }

// StatusCode is 304, the status the server answered (Response().StatusCode
// is the stored representation's when the client answered from its cache).
func (o *NotModified) StatusCode() int { return http.StatusNotModified }
