package semhttp

// range.go owns partial content: Range request helpers, Content-Range
// parsing, 206 and multipart/byteranges, 416, and range-unit and Link
// paging. Resumable downloads are in download.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalidRange reports a range request that cannot be written or parsed:
// a negative position, first > last, a zero-length suffix, an empty or
// non-token unit, no range-specs, or a malformed Range header value.
var ErrInvalidRange = errors.New("semhttp: invalid range")

// ErrBadContentRange reports a Content-Range that is malformed or
// contradicts itself or the response (RFC 9110 §14.4): last < first,
// last ≥ complete length, a body whose length differs from the range, a
// 206 without Content-Range, or a part of multipart/byteranges without
// one. Such content must not be recombined with anything.
var ErrBadContentRange = errors.New("semhttp: bad Content-Range")

// ErrBadMultipart reports a multipart/byteranges 206 that cannot be read:
// no boundary, or a framing error in the body.
var ErrBadMultipart = errors.New("semhttp: bad multipart/byteranges")

// RangeSpec is one range-spec of a Range header (RFC 9110 §14.1.1): an
// int-range "first-last" or "first-", or a suffix-range "-n". Build one
// with [RangeSpan], [RangeFrom] or [RangeSuffix]. The zero RangeSpec is
// "0-", the whole representation.
type RangeSpec struct {
	first, last int64 // last is meaningful when hasLast
	hasLast     bool
	suffix      bool // "-first": the last first units
}

// RangeSpan is the int-range first-last: positions first through last,
// inclusive, counted from 0.
func RangeSpan(first, last int64) RangeSpec {
	return RangeSpec{first: first, last: last, hasLast: true}
}

// RangeFrom is the open int-range "first-": from position first to the end.
func RangeFrom(first int64) RangeSpec { return RangeSpec{first: first} }

// RangeSuffix is the suffix-range "-n": the last n units (the whole
// representation when it is shorter than n).
func RangeSuffix(n int64) RangeSpec { return RangeSpec{first: n, suffix: true} }

// First returns the first position, or -1 for a suffix range.
func (s RangeSpec) First() int64 {
	if s.suffix {
		return -1
	}
	return s.first
}

// Last returns the last position, or -1 for an open or suffix range.
func (s RangeSpec) Last() int64 {
	if !s.hasLast || s.suffix {
		return -1
	}
	return s.last
}

// SuffixLength returns n for the suffix range "-n", or -1 for an int-range.
func (s RangeSpec) SuffixLength() int64 {
	if !s.suffix {
		return -1
	}
	return s.first
}

// Valid reports whether s can be sent: no negative position, first ≤ last,
// and a suffix length above zero.
func (s RangeSpec) Valid() bool { return s.check() == nil }

func (s RangeSpec) check() error {
	switch {
	case s.suffix && s.first <= 0:
		return fmt.Errorf("%w: suffix length %d must be positive", ErrInvalidRange, s.first)
	case s.first < 0:
		return fmt.Errorf("%w: negative first position %d", ErrInvalidRange, s.first)
	case s.hasLast && !s.suffix && s.last < s.first:
		return fmt.Errorf("%w: last position %d before first %d", ErrInvalidRange, s.last, s.first)
	}
	return nil
}

// String renders s as it appears in a Range header ("0-99", "100-", "-500").
// It does not validate s.
func (s RangeSpec) String() string {
	switch {
	case s.suffix:
		return "-" + strconv.FormatInt(s.first, 10)
	case s.hasLast:
		return strconv.FormatInt(s.first, 10) + "-" + strconv.FormatInt(s.last, 10)
	default:
		return strconv.FormatInt(s.first, 10) + "-"
	}
}

// FormatRange returns the Range header value unit=spec,spec,... (RFC 9110
// §14.2), for example FormatRange("bytes", RangeSpan(0, 99), RangeSuffix(10))
// is "bytes=0-99,-10" and FormatRange("items", RangeSpan(0, 24)) is
// "items=0-24". The error wraps [ErrInvalidRange] for an invalid spec, no
// specs, or a unit that is not an RFC 9110 token.
func FormatRange(unit string, specs ...RangeSpec) (string, error) {
	if !isToken(unit) {
		return "", fmt.Errorf("%w: unit %q is not a token", ErrInvalidRange, unit)
	}
	if len(specs) == 0 {
		return "", fmt.Errorf("%w: no range-spec", ErrInvalidRange)
	}
	var sb strings.Builder
	sb.WriteString(unit)
	sb.WriteByte('=')
	for i, s := range specs {
		if err := s.check(); err != nil {
			return "", err
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(s.String())
	}
	return sb.String(), nil
}

// SetRange sets req's Range header to FormatRange(unit, specs...). Use
// "bytes" as the unit for byte ranges. req is left unchanged on error.
func SetRange(req *http.Request, unit string, specs ...RangeSpec) error {
	v, err := FormatRange(unit, specs...)
	if err != nil {
		return err
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("Range", v)
	return nil
}

// ParseRange parses a Range header value (RFC 9110 §14.2) into its unit
// and int-range or suffix-range specs. Whitespace is allowed around each
// spec, and empty list elements are skipped (RFC 9110 §5.6.1). The unit is
// returned as sent; compare it case-insensitively. Other-range specs of
// extension units, numbers beyond int64 and invalid specs are errors
// wrapping [ErrInvalidRange].
func ParseRange(v string) (unit string, specs []RangeSpec, err error) {
	u, set, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok {
		return "", nil, fmt.Errorf("%w: %q has no '='", ErrInvalidRange, v)
	}
	if !isToken(u) {
		return "", nil, fmt.Errorf("%w: unit %q is not a token", ErrInvalidRange, u)
	}
	for elem := range strings.SplitSeq(set, ",") {
		elem = strings.Trim(elem, " \t")
		if elem == "" {
			continue
		}
		s, err := parseRangeSpec(elem)
		if err != nil {
			return "", nil, err
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		return "", nil, fmt.Errorf("%w: %q has no range-spec", ErrInvalidRange, v)
	}
	return u, specs, nil
}

func parseRangeSpec(elem string) (RangeSpec, error) {
	a, b, ok := strings.Cut(elem, "-")
	if !ok {
		return RangeSpec{}, fmt.Errorf("%w: range-spec %q has no '-'", ErrInvalidRange, elem)
	}
	var s RangeSpec
	if a == "" {
		n, ok := parsePos(b)
		if !ok {
			return s, fmt.Errorf("%w: bad suffix-range %q", ErrInvalidRange, elem)
		}
		s = RangeSuffix(n)
	} else {
		first, ok := parsePos(a)
		if !ok {
			return s, fmt.Errorf("%w: bad first position in %q", ErrInvalidRange, elem)
		}
		s = RangeFrom(first)
		if b != "" {
			last, ok := parsePos(b)
			if !ok {
				return s, fmt.Errorf("%w: bad last position in %q", ErrInvalidRange, elem)
			}
			s = RangeSpan(first, last)
		}
	}
	return s, s.check()
}

// parsePos parses 1*DIGIT into a non-negative int64, refusing signs,
// spaces and values above math.MaxInt64 (no overflow, RFC 9110 §14.1.1).
func parsePos(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// ContentRange is a parsed Content-Range header (RFC 9110 §14.4): either a
// range "unit first-last/complete" (complete may be unknown, "*") or, on a
// 416, an unsatisfied-range "unit */complete", where First and Last are -1.
type ContentRange struct {
	// Unit is the range unit as sent, e.g. "bytes" or "items".
	Unit string
	// First and Last are the inclusive positions of the enclosed range;
	// both -1 for an unsatisfied-range.
	First int64
	Last  int64
	// Complete is the complete length, or -1 when the server sent "*".
	Complete int64
}

// Unsatisfied reports whether cr is the unsatisfied-range form "*/N".
func (cr ContentRange) Unsatisfied() bool { return cr.First < 0 }

// Length is the number of units in the range (Last-First+1), or 0 for an
// unsatisfied-range.
func (cr ContentRange) Length() int64 {
	if cr.Unsatisfied() {
		return 0
	}
	return cr.Last - cr.First + 1
}

func (cr ContentRange) isBytes() bool { return strings.EqualFold(cr.Unit, "bytes") }

// String renders cr as a Content-Range header value.
func (cr ContentRange) String() string {
	complete := "*"
	if cr.Complete >= 0 {
		complete = strconv.FormatInt(cr.Complete, 10)
	}
	if cr.Unsatisfied() {
		return cr.Unit + " */" + complete
	}
	return cr.Unit + " " + strconv.FormatInt(cr.First, 10) + "-" +
		strconv.FormatInt(cr.Last, 10) + "/" + complete
}

// ParseContentRange parses a Content-Range value strictly per RFC 9110
// §14.4:
//
//	Content-Range = range-unit SP ( incl-range "/" ( complete-length / "*" ) / "*/" complete-length )
//
// Exactly one space follows the unit, positions are plain digits, and the
// range must be consistent: last ≥ first and, when the complete length is
// known, last < complete. Violations are errors wrapping
// [ErrBadContentRange].
func ParseContentRange(v string) (ContentRange, error) {
	bad := func(why string) (ContentRange, error) {
		return ContentRange{}, fmt.Errorf("%w: %q: %s", ErrBadContentRange, v, why)
	}
	s := strings.Trim(v, " \t")
	unit, rest, ok := strings.Cut(s, " ")
	if !ok {
		return bad("no space after the unit")
	}
	if !isToken(unit) {
		return bad("unit is not a token")
	}
	rng, complete, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no '/'")
	}
	cr := ContentRange{Unit: unit, First: -1, Last: -1, Complete: -1}
	if complete != "*" {
		n, ok := parsePos(complete)
		if !ok {
			return bad("complete length is not a number")
		}
		cr.Complete = n
	}
	if rng == "*" {
		if cr.Complete < 0 {
			return bad("unsatisfied-range needs a complete length")
		}
		return cr, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return bad("range has no '-'")
	}
	first, ok1 := parsePos(a)
	last, ok2 := parsePos(b)
	if !ok1 || !ok2 {
		return bad("positions are not numbers")
	}
	if last < first {
		return bad("last position before first")
	}
	if last-first == math.MaxInt64 {
		return bad("range length overflows") // last-first+1 would wrap
	}
	if cr.Complete >= 0 && last >= cr.Complete {
		return bad("last position not below the complete length")
	}
	cr.First, cr.Last = first, last
	return cr, nil
}

// unsatisfiedLength returns N from "unit */N" (the Content-Range a 416
// should carry), or -1 when the value is absent or of another form.
func unsatisfiedLength(s string) int64 {
	cr, err := ParseContentRange(s)
	if err != nil || !cr.Unsatisfied() {
		return -1
	}
	return cr.Complete
}

// PartialContent is a 206: the body holds one range of the representation
// (ContentRange says which), or several as multipart/byteranges
// (Multipart is true; read them with [PartialContent.Parts]).
//
// For a single range the Content-Range is checked when the outcome is
// built: it must parse (see [ParseContentRange]), be a satisfied range,
// and, for the bytes unit, agree with Content-Length. When it does not, ContentRangeErr says why
// and every Read of the body fails with it, so a bad slice is never
// consumed by mistake. When the length is not known in advance the body is
// counted as it is read, and a bytes body shorter or longer than the range
// fails with [ErrBadContentRange] instead of io.EOF. Other units (items)
// say nothing about the body's length in bytes.
type PartialContent struct {
	base
	// ContentRange is the range the body holds; zero when Multipart.
	ContentRange ContentRange
	// ContentRangeErr is why the response's range is unusable (wraps
	// ErrBadContentRange or ErrBadMultipart); nil when it is fine.
	ContentRangeErr error
	// Multipart is true for a multipart/byteranges body.
	Multipart bool
	boundary  string
}

func newPartialContent(b base) *PartialContent {
	p := &PartialContent{base: b}
	resp := b.resp
	h := resp.Header
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil &&
		(mt == "multipart/byteranges" || mt == "multipart/x-byteranges") {
		p.Multipart = true
		p.boundary = params["boundary"]
		if p.boundary == "" {
			p.ContentRangeErr = fmt.Errorf("%w: no boundary parameter", ErrBadMultipart)
		}
		return p
	}
	p.ContentRangeErr = p.checkSingle()
	switch {
	case resp.Body == nil:
	case p.ContentRangeErr != nil:
		resp.Body = &badRangeBody{rc: resp.Body, err: p.ContentRangeErr}
	case resp.ContentLength < 0 && !resp.Uncompressed && p.ContentRange.isBytes():
		resp.Body = &rangeCountedBody{rc: resp.Body, left: p.ContentRange.Length(), cr: p.ContentRange}
	}
	return p
}

// checkSingle parses and validates the Content-Range of a single-part 206.
func (p *PartialContent) checkSingle() error {
	resp := p.resp
	vals := resp.Header.Values("Content-Range")
	switch len(vals) {
	case 0:
		return fmt.Errorf("%w: 206 without Content-Range", ErrBadContentRange)
	case 1:
	default:
		return fmt.Errorf("%w: %d Content-Range headers", ErrBadContentRange, len(vals))
	}
	cr, err := ParseContentRange(vals[0])
	if err != nil {
		return err
	}
	if cr.Unsatisfied() {
		return fmt.Errorf("%w: 206 with unsatisfied-range %q", ErrBadContentRange, vals[0])
	}
	if n := resp.ContentLength; n >= 0 && !resp.Uncompressed && cr.isBytes() && n != cr.Length() &&
		(resp.Request == nil || resp.Request.Method != http.MethodHead || n != 0) {
		return fmt.Errorf("%w: %q encloses %d units but Content-Length is %d",
			ErrBadContentRange, vals[0], cr.Length(), n)
	}
	p.ContentRange = cr
	return nil
}

// badRangeBody fails every Read with err; Close closes the real body.
type badRangeBody struct {
	rc  io.ReadCloser
	err error
}

func (f *badRangeBody) Read([]byte) (int, error) { return 0, f.err }
func (f *badRangeBody) Close() error             { return f.rc.Close() }

// rangeCountedBody checks that exactly left bytes arrive before EOF.
type rangeCountedBody struct {
	rc   io.ReadCloser
	left int64
	cr   ContentRange
	err  error
}

func (c *rangeCountedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.rc.Read(p)
	if int64(n) > c.left {
		n = int(max(c.left, 0)) // never a negative count, whatever the range said
		c.left = 0
		c.err = fmt.Errorf("%w: body longer than %q", ErrBadContentRange, c.cr.String())
		return n, c.err
	}
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		c.err = fmt.Errorf("%w: body ended %d bytes short of %q", ErrBadContentRange, c.left, c.cr.String())
		return n, c.err
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

func (c *rangeCountedBody) Close() error { return c.rc.Close() }

// Part is one part of a 206: its headers, its Content-Range and a
// streaming reader over its bytes. It is valid until the iteration that
// produced it moves on. For the bytes unit, reading to the end fails with
// [ErrBadContentRange] when the part's length does not match its
// Content-Range.
type Part struct {
	// Header holds the part's own header fields (for a single-range 206,
	// the response's).
	Header textproto.MIMEHeader
	// ContentType is the part's media type, as sent.
	ContentType string
	// ContentRange is the range of the representation this part holds.
	ContentRange ContentRange
	r            io.Reader
}

// Read reads the part's bytes.
func (p *Part) Read(b []byte) (int, error) { return p.r.Read(b) }

// Parts iterates over the ranges of the 206, in the order the server sent
// them (which need not be the order asked for, RFC 9110 §15.3.7.2).
// A single-range 206 yields one part, the body. A multipart/byteranges 206
// is read part by part, streaming (nothing is buffered beyond a part's
// headers); each part must carry a valid Content-Range and all parts must
// agree on the complete length, or the iteration yields an error wrapping
// [ErrBadContentRange] or [ErrBadMultipart] and stops. Breaking out early
// is fine; the outcome must still be closed. Parts can be iterated once.
func (p *PartialContent) Parts() iter.Seq2[*Part, error] {
	return func(yield func(*Part, error) bool) {
		if p.ContentRangeErr != nil {
			yield(nil, p.ContentRangeErr)
			return
		}
		if !p.Multipart {
			h := textproto.MIMEHeader(p.resp.Header)
			yield(&Part{Header: h, ContentType: h.Get("Content-Type"),
				ContentRange: p.ContentRange, r: p.resp.Body}, nil)
			return
		}
		mr := multipart.NewReader(p.resp.Body, p.boundary)
		complete := int64(-2) // not yet seen
		for i := 0; ; i++ {
			mp, err := mr.NextRawPart()
			if err == io.EOF {
				if i == 0 {
					yield(nil, fmt.Errorf("%w: no parts", ErrBadMultipart))
				}
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("%w: part %d: %w", ErrBadMultipart, i+1, err))
				return
			}
			cr, err := ParseContentRange(mp.Header.Get("Content-Range"))
			if err == nil && cr.Unsatisfied() {
				err = fmt.Errorf("%w: part with unsatisfied-range", ErrBadContentRange)
			}
			if err == nil && complete != -2 && cr.Complete != complete {
				err = fmt.Errorf("%w: parts disagree on the complete length (%d, %d)",
					ErrBadContentRange, complete, cr.Complete)
			}
			if err != nil {
				yield(nil, fmt.Errorf("part %d: %w", i+1, err))
				return
			}
			complete = cr.Complete
			var r io.Reader = mp
			if cr.isBytes() {
				r = &rangeCountedBody{rc: io.NopCloser(mp), left: cr.Length(), cr: cr}
			}
			part := &Part{Header: mp.Header, ContentType: mp.Header.Get("Content-Type"), ContentRange: cr, r: r}
			if !yield(part, nil) {
				return
			}
		}
	}
}

// RangeIgnored reports whether out is a 200 to a request that carried a
// Range header: the server ignored the range (as it may, RFC 9110 §14.2,
// or because an If-Range did not match) and the body is the complete
// representation, not the slice that was asked for.
func RangeIgnored(out Outcome) bool {
	if out == nil || out.StatusCode() != http.StatusOK {
		return false
	}
	resp := out.Response()
	return resp != nil && resp.Request != nil && resp.Request.Header.Get("Range") != ""
}

// ErrPagingLoop reports a Link rel="next" that points back to a page
// already fetched in the same iteration.
var ErrPagingLoop = errors.New("semhttp: pagination loops")

// ErrRangeIgnored reports a 200 (the whole representation) where a page
// of a range was expected, after earlier pages were served as ranges.
var ErrRangeIgnored = errors.New("semhttp: server ignored the Range")

// ErrPageRequest reports a template request that the pagers cannot send
// more than once: it has a body without GetBody.
var ErrPageRequest = errors.New("semhttp: paging needs a request whose body can be replayed")

// RangePages fetches a collection in pages over a range unit, as
// "unit=0-(size-1)", "unit=size-(2·size-1)", ... (for example
// items=0-24, items=25-49, ...), until the complete length the server
// states in Content-Range is reached. Each page is req cloned with ctx and
// a Range header, sent through [Client.Send] (so it is retried and
// redirected like any request).
//
// Each yielded outcome is usually a *PartialContent whose ContentRange
// says which units it holds. Its body is open while the loop body runs and
// is closed by the iterator when the loop body returns: read it inside
// the loop. Breaking out of the loop is fine.
//
// The iteration ends:
//   - after the page whose range reaches the complete length;
//   - after a 200 to the first page: the server ignored the Range (nginx
//     does for unknown units) and sent the whole collection; it is yielded
//     once, as *OK, with [RangeIgnored] true (a 200 to a later page is
//     yielded with an error wrapping [ErrRangeIgnored]);
//   - without a page for "416, Content-Range: unit */0" (an empty
//     collection), or for a 416 past the end when the server did not
//     state the complete length ("unit a-b/*");
//   - with an error: a transport error (nil outcome), a failure outcome
//     (yielded with its Err, e.g. a *RangeNotSatisfiable without
//     Content-Range, as Go's http.ServeContent answers unknown units), or
//     a 206 whose Content-Range is bad, multipart, of another unit or not
//     starting where the page was asked to (wrapping [ErrBadContentRange]).
//
// size must be positive and unit a token; otherwise the first and only
// yield is an error wrapping [ErrInvalidRange].
func (c *Client) RangePages(ctx context.Context, req *http.Request, unit string, size int64) iter.Seq2[Outcome, error] {
	return func(yield func(Outcome, error) bool) {
		if size <= 0 || !isToken(unit) {
			yield(nil, fmt.Errorf("%w: page size %d, unit %q", ErrInvalidRange, size, unit))
			return
		}
		if err := pageTemplateOK(req); err != nil {
			yield(nil, err)
			return
		}
		for start := int64(0); ; {
			last := start + size - 1
			if last < start { // overflow
				last = math.MaxInt64
			}
			r, err := pageRequest(followUp(ctx, false), req, req.URL)
			if err != nil {
				yield(nil, err)
				return
			}
			r.Header.Set("Range", unit+"="+RangeSpan(start, last).String())
			out, err := c.Send(r)
			if err != nil {
				yield(nil, err)
				return
			}
			next, done, err := nextRangePage(out, unit, start)
			if err == nil && out.StatusCode() == http.StatusRequestedRangeNotSatisfiable {
				out.Close()
				return // an empty collection, or past the end of an unknown length
			}
			more := yield(out, err)
			out.Close()
			if !more || err != nil || done {
				return
			}
			start = next
		}
	}
}

// nextRangePage interprets one page's outcome: where the next page starts,
// whether this was the last one, or what is wrong with it.
func nextRangePage(out Outcome, unit string, start int64) (next int64, done bool, err error) {
	switch o := out.(type) {
	case *PartialContent:
		if o.ContentRangeErr != nil {
			return 0, true, o.ContentRangeErr
		}
		if o.Multipart {
			return 0, true, fmt.Errorf("%w: multipart answer to a single range", ErrBadContentRange)
		}
		cr := o.ContentRange
		if !strings.EqualFold(cr.Unit, unit) {
			return 0, true, fmt.Errorf("%w: asked for %s, got %q", ErrBadContentRange, unit, cr.String())
		}
		if cr.First != start {
			return 0, true, fmt.Errorf("%w: asked for %s from %d, got %q", ErrBadContentRange, unit, start, cr.String())
		}
		if cr.Last == math.MaxInt64 || cr.Complete >= 0 && cr.Last+1 >= cr.Complete {
			return cr.Last, true, nil
		}
		return cr.Last + 1, false, nil
	case *OK:
		if start > 0 {
			return 0, true, fmt.Errorf("%w: 200 to %s=%d-, after ranged pages", ErrRangeIgnored, unit, start)
		}
		return 0, true, nil
	case *RangeNotSatisfiable:
		n := o.CompleteLength
		if n == 0 || start > 0 && (n < 0 || n <= start) {
			return 0, true, nil // empty collection, or the end of an unknown length
		}
		return 0, true, o
	}
	if e := out.Err(); e != nil {
		return 0, true, e
	}
	return 0, true, fmt.Errorf("semhttp: unexpected %s to a range request", statusLine(out.Response()))
}

// LinkPages follows Link: <...>; rel="next" (RFC 8288) from page to page:
// it sends req, yields the outcome, and sends a GET to the next link of
// each page (resolved against that page's URL, with req's headers) until
// a page has none. Every request goes through [Client.Send].
//
// Each yielded outcome's body is open while the loop body runs and is
// closed by the iterator when the loop body returns: read it inside the
// loop. A failure outcome is yielded with its Err and ends the iteration;
// so does a transport error (nil outcome). A next link that is not http
// or https, that goes from https to http, or that returns to a page
// already seen ends it with an error ([ErrPagingLoop] for the last).
// Authorization, Proxy-Authorization and Cookie are not sent to a next
// page on another origin than req's.
func (c *Client) LinkPages(ctx context.Context, req *http.Request) iter.Seq2[Outcome, error] {
	return func(yield func(Outcome, error) bool) {
		if err := pageTemplateOK(req); err != nil {
			yield(nil, err)
			return
		}
		// The origin pages are compared with: the first page's absolute URL
		// (resolved against WithBaseURL when the template is relative).
		origin := req.URL
		if c.base != nil && !origin.IsAbs() {
			origin = c.base.ResolveReference(origin)
		}
		cur := origin
		seen := make(map[string]struct{})
		// Pages are read fresh (not revalidated from the cache: a 304 would
		// hide the Link to the next page), and never record into the
		// caller's CaptureOutcome.
		r, err := pageRequest(followUp(ctx, false, BypassCache()), req, req.URL)
		for err == nil {
			seen[cur.String()] = struct{}{}
			var out Outcome
			out, err = c.Send(r)
			if err != nil {
				break
			}
			if e := out.Err(); e != nil {
				yield(out, e)
				return
			}
			next := nextLink(out.Response())
			more := yield(out, nil)
			out.Close()
			if !more || next == nil {
				return
			}
			switch {
			case next.Scheme != "http" && next.Scheme != "https":
				err = fmt.Errorf("semhttp: next page %s is not http(s)", redact(next))
			case cur.Scheme == "https" && next.Scheme == "http":
				err = fmt.Errorf("semhttp: next page %s downgrades https to http", redact(next))
			default:
				if _, dup := seen[next.String()]; dup {
					err = fmt.Errorf("%w: %s", ErrPagingLoop, redact(next))
					break
				}
				foreign := !pageSameOrigin(origin, next)
				r, err = pageRequest(followUp(ctx, foreign, BypassCache()), req, next)
				if err == nil {
					r.Method = http.MethodGet
					r.Body, r.GetBody, r.ContentLength = nil, nil, 0
					if foreign {
						for _, k := range c.redirect.credentials {
							r.Header.Del(k)
						}
					}
					cur = next
				}
			}
		}
		yield(nil, err)
	}
}

// nextLink returns the resolved target of the first rel="next" link.
func nextLink(resp *http.Response) *url.URL {
	for _, l := range ParseLinks(resp.Header) {
		if l.HasRel("next") && l.URL != nil {
			return resolve(requestURL(resp), l.URL)
		}
	}
	return nil
}

func pageTemplateOK(req *http.Request) error {
	if req == nil || req.URL == nil {
		return ErrNilRequest
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return ErrPageRequest
	}
	return nil
}

// pageRequest clones the template for one page at u.
func pageRequest(ctx context.Context, tmpl *http.Request, u *url.URL) (*http.Request, error) {
	r := tmpl.Clone(ctx)
	if u != tmpl.URL {
		r.URL = u
		r.Host = ""
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	if tmpl.GetBody != nil {
		body, err := tmpl.GetBody()
		if err != nil {
			return nil, fmt.Errorf("semhttp: GetBody: %w", err)
		}
		r.Body = body
	}
	return r, nil
}

// pageSameOrigin compares scheme, host and port (default ports made
// explicit).
func pageSameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
