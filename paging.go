package semhttp

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// paging.go walks collections: over a range unit (RangePages) and along
// Link rel="next" (LinkPages).

// ErrPagingLoop reports a Link rel="next" that points back to a page
// already fetched in the same iteration.
var ErrPagingLoop = errors.New("semhttp: pagination loops")

// ErrRangeIgnored reports a 200 (the whole representation) where a page
// of a range was expected, after earlier pages were served as ranges.
var ErrRangeIgnored = errors.New("semhttp: server ignored the Range")

// RangePages fetches a collection in pages over a range unit, as
// "unit=0-(size-1)", "unit=size-(2·size-1)", ... (for example
// items=0-24, items=25-49, ...), until the complete length the server
// states in Content-Range is reached. Each page is req cloned (with its
// context, and so its [RequestOptions]) with a Range header, sent through
// the client's pipeline (so it is retried and redirected like any request).
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
//     once, as *OK, with [OK.RangeIgnored] true (a 200 to a later page is
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
// size must be positive and unit a token (RFC 9110 §14.1); otherwise the
// first and only yield is an error.
func (c *Client) RangePages(req *http.Request, unit string, size int64) iter.Seq2[Outcome, error] {
	c.init()
	return func(yield func(Outcome, error) bool) {
		if size <= 0 || !httpsyntax.IsToken(unit) {
			yield(nil, fmt.Errorf("semhttp: RangePages needs a positive page size and a token unit, not %d and %q", size, unit))
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
			r, err := pageRequest(req, req.URL)
			if err != nil {
				yield(nil, err)
				return
			}
			r.Header.Set("Range", unit+"="+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(last, 10))
			out, err := c.send(r, &followUp{})
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
// a page has none. Every request goes through the client's pipeline, with
// req's context (and so its [RequestOptions]).
//
// Each yielded outcome's body is open while the loop body runs and is
// closed by the iterator when the loop body returns: read it inside the
// loop. A failure outcome is yielded with its Err and ends the iteration;
// so does a transport error (nil outcome). A next link that is not http
// or https, that goes from https to http, or that returns to a page
// already fetched ends it with an error ([ErrPagingLoop] for the last).
// Authorization, Proxy-Authorization and Cookie are not sent to a next
// page on another origin than req's.
//
// Loops are detected in memory that does not grow with the pages walked,
// so a loop is not always caught on its first return: a page that links
// to itself ends the iteration at once, but a longer loop may be walked
// around again, its pages fetched and yielded again, before
// [ErrPagingLoop]. If the first link back to a page already fetched comes
// after n pages, the error comes after at most 3n pages (fewer than 2n of
// them repeats). Pages are told apart by their resolved URL.
func (c *Client) LinkPages(req *http.Request) iter.Seq2[Outcome, error] {
	c.init()
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
		loop := newPageLoop(origin.String())
		// Pages are read fresh (not revalidated from the cache: a 304 would
		// hide the Link to the next page), and never record into the
		// caller's RequestOptions.Outcome.
		fu := &followUp{noCache: true}
		r, err := pageRequest(req, req.URL)
		for err == nil {
			var out Outcome
			out, err = c.send(r, fu)
			if err != nil {
				break
			}
			if e := out.Err(); e != nil {
				yield(out, e)
				return
			}
			next := out.Link("next")
			more := yield(out, nil)
			out.Close()
			if !more || next == nil {
				return
			}
			switch {
			case next.Scheme != "http" && next.Scheme != "https":
				err = fmt.Errorf("semhttp: next page %s is not http(s)", httpsyntax.Redact(next))
			case cur.Scheme == "https" && next.Scheme == "http":
				err = fmt.Errorf("semhttp: next page %s downgrades https to http", httpsyntax.Redact(next))
			default:
				if loop.repeats(next.String()) {
					err = fmt.Errorf("%w: %s", ErrPagingLoop, httpsyntax.Redact(next))
					break
				}
				foreign := !httpsyntax.SameOrigin(origin, next)
				fu = &followUp{noCache: true, foreign: foreign}
				r, err = pageRequest(req, next)
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

// pageLoop tells, in constant memory, whether a walk along next links
// comes back to a page it has fetched. It keeps two URLs: the last page's
// and a checkpoint, a page fetched earlier, which moves forward to the
// page reached after 1, 2, 4, 8, ... more pages (Brent's cycle detection:
// R. P. Brent, "An improved Monte Carlo factorization algorithm", BIT 20,
// 1980). A URL equal to either is a page fetched again.
//
// Bound: let page μ be the first one linked to again, λ pages later (the
// first link back comes after n = μ+λ pages, x_0 ... x_{n-1}, and
// x_n = x_μ). The checkpoint is page 2^k-1 for the k-th power; once
// 2^k-1 ≥ μ it is in the loop, and once also 2^k ≥ λ, the λ-th page after
// it is it again and still compared with it. So the loop is reported at
// page 2^k-1+λ for the least such k (or earlier, by the last page's URL),
// which is at most max(2μ+λ, 3λ-3) ≤ 3n-2 pages fetched.
type pageLoop struct {
	last, checkpoint string
	power, steps     int
}

// newPageLoop starts a walk at the page with URL first.
func newPageLoop(first string) pageLoop {
	return pageLoop{last: first, checkpoint: first, power: 1}
}

// repeats reports whether the page with URL next, linked from the last
// page, repeats a page fetched before; if not, next becomes the last page.
func (l *pageLoop) repeats(next string) bool {
	if next == l.last || next == l.checkpoint {
		return true
	}
	l.last = next
	if l.steps++; l.steps == l.power {
		l.checkpoint, l.power, l.steps = next, 2*l.power, 0
	}
	return false
}

func pageTemplateOK(req *http.Request) error {
	if req == nil || req.URL == nil {
		return errNilRequest
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return ErrBodyNotReplayable
	}
	return nil
}

// pageRequest clones the template for one page at u.
func pageRequest(tmpl *http.Request, u *url.URL) (*http.Request, error) {
	r := tmpl.Clone(tmpl.Context())
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
