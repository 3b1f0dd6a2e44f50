package semhttp

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// range.go owns partial content: Content-Range parsing, the 206 outcome's
// single range and multipart/byteranges parts, and 416. Paging is in
// paging.go, resumable downloads in download.go.

// ErrBadContentRange reports a Content-Range that is malformed or
// contradicts itself or the response (RFC 9110 §14.4): last < first,
// last ≥ complete length, a body whose length differs from the range, a
// 206 without Content-Range, or a part of multipart/byteranges without
// one, or a multipart/byteranges body without a boundary or with a framing
// error. Such content must not be recombined with anything.
var ErrBadContentRange = errors.New("semhttp: bad Content-Range")

// parsePos parses 1*DIGIT into a non-negative int64, refusing signs,
// spaces and values above math.MaxInt64 (no overflow, RFC 9110 §14.1.1).
func parsePos(v string) (int64, bool) {
	n, ok, overflow := httpsyntax.Digits(v)
	return n, ok && !overflow
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
// unsatisfied-range and for the zero ContentRange (no range: Unit "").
func (cr ContentRange) Length() int64 {
	if cr.Unsatisfied() || cr.Unit == "" {
		return 0
	}
	return cr.Last - cr.First + 1
}

func (cr ContentRange) isBytes() bool { return strings.EqualFold(cr.Unit, "bytes") }

// String renders cr as a Content-Range header value ("" for the zero
// ContentRange).
func (cr ContentRange) String() string {
	if cr.Unit == "" {
		return ""
	}
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

// parseContentRange parses a Content-Range value strictly per RFC 9110
// §14.4:
//
//	Content-Range = range-unit SP ( incl-range "/" ( complete-length / "*" ) / "*/" complete-length )
//
// Exactly one space follows the unit, positions are plain digits, and the
// range must be consistent: last ≥ first and, when the complete length is
// known, last < complete. Violations are errors wrapping
// [ErrBadContentRange].
func parseContentRange(v string) (ContentRange, error) {
	bad := func(why string) (ContentRange, error) {
		return ContentRange{}, fmt.Errorf("%w: %q: %s", ErrBadContentRange, v, why)
	}
	s := strings.Trim(v, " \t")
	unit, rest, ok := strings.Cut(s, " ")
	if !ok {
		return bad("no space after the unit")
	}
	if !httpsyntax.IsToken(unit) {
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
	cr, err := parseContentRange(s)
	if err != nil || !cr.Unsatisfied() {
		return -1
	}
	return cr.Complete
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
			p.ContentRangeErr = fmt.Errorf("%w: no boundary parameter", ErrBadContentRange)
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
	cr, err := parseContentRange(vals[0])
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

func (f *badRangeBody) Close() error { return f.rc.Close() }

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
// [ErrBadContentRange] or [ErrBadContentRange] and stops. Breaking out early
// is fine; the outcome must still be closed. Parts can be iterated once.
func (p *PartialContent) Parts() iter.Seq2[*Part, error] {
	return func(yield func(*Part, error) bool) {
		if p.ContentRangeErr != nil {
			yield(nil, p.ContentRangeErr)
			return
		}
		if p.resp == nil || p.resp.Body == nil {
			yield(nil, fmt.Errorf("%w: no body", ErrBadContentRange))
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
					yield(nil, fmt.Errorf("%w: no parts", ErrBadContentRange))
				}
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("%w: part %d: %w", ErrBadContentRange, i+1, err))
				return
			}
			cr, err := parseContentRange(mp.Header.Get("Content-Range"))
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
