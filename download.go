package semhttp

// download.go owns resumable downloads: continuing after a dropped
// connection with Range + If-Range, restarting when the representation
// changed, progress, and parallel segments.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/semhttp/semhttp/internal/httpsyntax"
	"golang.org/x/sync/errgroup"
)

// ErrDownloadStalled reports a download that failed to make progress
// too many times in a row (see DownloadOptions.MaxStalls). It wraps the
// last failure.
var ErrDownloadStalled = errors.New("semhttp: download stalled")

// ErrTooManyRestarts reports a download that had to start over from zero
// more often than DownloadOptions.MaxRestarts allows: the representation kept
// changing, or it could not be continued (no validator, or Range ignored)
// and kept breaking off.
var ErrTooManyRestarts = errors.New("semhttp: download restarted too many times")

// DownloadOptions configure [Client.Download]. A zero field means the
// default its comment gives; nil means every default.
type DownloadOptions struct {
	// Progress, when set, is called after each write with the bytes of the
	// representation written so far and its complete length (-1 while
	// unknown). Calls are serialized, also with parallel segments; written
	// falls back to 0 when the download restarts because the
	// representation changed. It should return quickly.
	Progress func(written, total int64)
	// Segments downloads with up to that many parallel range requests, for
	// servers that throttle each connection. It takes effect only when the
	// server answers "Range: bytes=0-" with a 206 that states the complete
	// length and a validator (strong ETag or Last-Modified) to check that
	// the segments belong together (RFC 9110 §15.3.7.3); otherwise the
	// download continues as one stream. Segments are at least 1 MiB. Zero
	// or one means one stream.
	Segments int
	// Header is added to every request of the download (Authorization,
	// say). Range and If-Range are set by Download; Accept-Encoding
	// defaults to "identity", so that byte positions are those of the bytes
	// written.
	Header http.Header
	// BufferSize is the size of each stream's read buffer; memory use is
	// one buffer per stream, whatever the size of the download. Zero means
	// 256 KiB.
	BufferSize int
	// MaxStalls is how many times in a row a stream may fail without
	// writing a byte (a transport error after the client's retries, a 5xx
	// that survived them, a connection dropped before any body byte, a
	// body that ended early) before Download gives up with
	// [ErrDownloadStalled]. Between such failures it waits by the client's
	// backoff; an interruption after progress resets the count and resumes
	// at once. Zero means 5; negative means none (the first failure ends
	// the download).
	MaxStalls int
	// MaxRestarts is how many times the download may start over from
	// zero before it fails with [ErrTooManyRestarts]: when the
	// representation changed (a 200 to If-Range, or a 206 with another
	// ETag), or when an interrupted stream cannot be continued because the
	// server sent no validator or ignores Range. Zero means 3; negative
	// means never.
	MaxRestarts int
}

// downloadConfig is DownloadOptions with the defaults filled in.
type downloadConfig struct {
	progress    func(written, total int64)
	segments    int
	header      http.Header
	bufSize     int
	maxStalls   int
	maxRestarts int
}

// defaultDownloadBuffer is DownloadOptions.BufferSize's default (256 KiB).
const defaultDownloadBuffer = 256 << 10

func resolveDownloadConfig(o *DownloadOptions) downloadConfig {
	var c downloadConfig
	if o != nil {
		c = downloadConfig{progress: o.Progress, segments: o.Segments, header: o.Header.Clone(),
			bufSize: o.BufferSize, maxStalls: o.MaxStalls, maxRestarts: o.MaxRestarts}
	}
	if c.bufSize <= 0 {
		c.bufSize = defaultDownloadBuffer
	}
	switch {
	case c.maxStalls == 0:
		c.maxStalls = 5
	case c.maxStalls < 0:
		c.maxStalls = 0
	}
	if c.maxRestarts == 0 {
		c.maxRestarts = 3
	}
	if c.segments < 1 {
		c.segments = 1
	}
	return c
}

// DownloadResult describes a finished (or failed) download.
type DownloadResult struct {
	// Size is the number of bytes of the representation written to dst.
	// On success it is the complete length.
	Size int64
	// ContentType is the representation's media type, as sent.
	ContentType string
	// ETag is the strong entity tag used for If-Range, or "" (weak tags
	// cannot be used).
	ETag string
	// LastModified is the Last-Modified date, or the zero time.
	LastModified time.Time
	// Requests counts the exchanges made (each may have had several
	// attempts inside the client's retries).
	Requests int
	// Resumes counts requests that continued an interrupted stream with
	// Range and If-Range.
	Resumes int
	// Restarts counts the times the download started over from zero (see
	// DownloadOptions.MaxRestarts).
	Restarts int
	// Segments is the number of parallel streams of the last run (1 for
	// a single stream).
	Segments int
}

// Download fetches rawURL into dst, resuming when it is interrupted, and
// returns when dst holds the complete representation, byte for byte.
//
// Every request goes through [Client.Send], so each one is retried and
// redirected by the client's policy. On top of that, when a response body
// breaks off (a dropped connection, an attempt timeout) or a request fails
// even after the retries, Download continues from the last byte written
// with "Range: bytes=N-" and If-Range carrying the first response's strong
// ETag, else its Last-Modified. If the representation changed meanwhile
// (the server answers 200 to the If-Range, or a 206 with another ETag),
// it starts again from zero. Without any validator a continuation cannot be
// checked, so an interrupted download starts again from zero.
//
// The body is streamed through one fixed buffer per stream
// (DownloadOptions.BufferSize, 256 KiB by default): memory use does not depend
// on the size of the download.
//
// dst receives WriteAt calls at increasing offsets for each stream (from
// several goroutines with DownloadOptions.Segments); it must not be used
// by others until Download returns. When dst has a Truncate(int64) error
// method, as *os.File does, it is truncated to the complete length at the
// end, so a file that held something longer is left exact.
//
// The error is a failure outcome's error (e.g. *NotFound) when the server
// refuses, a wrapped [ErrBadContentRange] when a 206 does not fit what was
// asked, [ErrDownloadStalled], [ErrTooManyRestarts], a write error
// from dst, or the context's error. The result reports what was done in
// every case.
func (c *Client) Download(ctx context.Context, rawURL string, dst io.WriterAt, opts *DownloadOptions) (DownloadResult, error) {
	c.init()
	cfg := resolveDownloadConfig(opts)
	u, err := url.Parse(rawURL)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("semhttp: download URL %q: %w", httpsyntax.RedactRaw(rawURL), causeOf(err))
	}
	if dst == nil {
		return DownloadResult{}, errors.New("semhttp: download destination is nil")
	}
	d := &download{c: c, cfg: &cfg, url: u, dst: dst, total: -1}
	for {
		err := d.run(ctx)
		if !errors.Is(err, errChanged) {
			if err == nil {
				if t, ok := dst.(interface{ Truncate(int64) error }); ok {
					if terr := t.Truncate(d.written.Load()); terr != nil {
						err = fmt.Errorf("semhttp: truncating download destination: %w", terr)
					}
				}
			}
			return d.result(), err
		}
		if err := d.restart(); err != nil {
			return d.result(), err
		}
	}
}

// errChanged is returned by a segment that found the representation
// changed; Download starts over.
var errChanged = errors.New("semhttp: representation changed")

// download is the state of one Download call.
type download struct {
	c   *Client
	cfg *downloadConfig
	url *url.URL
	dst io.WriterAt

	// Set by the first response of a run; read-only while segments run.
	total    int64 // complete length, -1 unknown
	etag     string
	lastMod  string
	ctype    string
	segments int

	written  atomic.Int64
	requests atomic.Int64
	resumes  atomic.Int64
	restarts int
	progMu   sync.Mutex
}

func (d *download) result() DownloadResult {
	r := DownloadResult{
		Size: d.written.Load(), ContentType: d.ctype, ETag: d.etag,
		Requests: int(d.requests.Load()), Resumes: int(d.resumes.Load()),
		Restarts: d.restarts, Segments: max(d.segments, 1),
	}
	if d.lastMod != "" {
		r.LastModified, _ = http.ParseTime(d.lastMod)
	}
	return r
}

// restart counts a restart and clears what was learned about the
// representation.
func (d *download) restart() error {
	d.restarts++
	if d.cfg.maxRestarts < 0 || d.restarts > d.cfg.maxRestarts {
		return fmt.Errorf("%w: restarted %d times", ErrTooManyRestarts, d.restarts-1)
	}
	d.total, d.etag, d.lastMod, d.ctype = -1, "", "", ""
	d.written.Store(0)
	d.report()
	return nil
}

func (d *download) report() {
	if d.cfg.progress == nil {
		return
	}
	d.progMu.Lock()
	defer d.progMu.Unlock()
	d.cfg.progress(d.written.Load(), d.total)
}

// adopt records the representation's metadata from its first response.
func (d *download) adopt(resp *http.Response, total int64) {
	d.total = total
	d.etag, d.lastMod = "", ""
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") && strings.HasPrefix(et, `"`) {
		d.etag = et
	}
	// Kept also beside a strong ETag (nginx sends both): it is reported in
	// the result; If-Range uses the ETag first (see validator).
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if _, err := http.ParseTime(lm); err == nil {
			d.lastMod = lm
		}
	}
	d.ctype = resp.Header.Get("Content-Type")
}

func (d *download) validator() string {
	if d.etag != "" {
		return d.etag
	}
	return d.lastMod
}

// request builds a GET for bytes first..last (last -1: to the end); first
// 0 and last -1 with rangeAll false is a plain GET.
func (d *download) request(ctx context.Context, first, last int64, rangeAll bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("semhttp: download request: %w", err)
	}
	for k, vs := range d.cfg.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Del("Range")
	req.Header.Del("If-Range")
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	if first > 0 || last >= 0 || rangeAll {
		spec := strconv.FormatInt(first, 10) + "-"
		if last >= 0 {
			spec += strconv.FormatInt(last, 10)
		}
		req.Header.Set("Range", "bytes="+spec)
		if v := d.validator(); v != "" {
			req.Header.Set("If-Range", v)
		}
	}
	return req, nil
}

// run performs one pass: the first request, then one stream or several
// segments. It returns errChanged when the representation changed in a
// way that needs a fresh start.
func (d *download) run(ctx context.Context) error {
	segmented := d.cfg.segments > 1
	req, err := d.request(ctx, 0, -1, segmented)
	if err != nil {
		return err
	}
	d.segments = 1
	out, err := d.send(req)
	if err != nil {
		var re *RequestError
		if ctx.Err() != nil || errors.As(err, &re) && !d.policy(ctx).decide(ctx, req, nil, re.Err) {
			return err
		}
		// Failed even after the client's retries, but worth another try:
		// the stream loop handles that as a stall.
		return d.stream(ctx, &segment{first: 0, last: -1, whole: true}, nil)
	}
	_, partial := out.(*PartialContent)
	switch o := out.(type) {
	case *OK:
		d.adopt(o.resp, o.resp.ContentLength)
	case *PartialContent:
		if o.ContentRangeErr != nil || o.Multipart || o.ContentRange.First != 0 ||
			!strings.EqualFold(o.ContentRange.Unit, "bytes") {
			out.Close()
			return d.badRange(o)
		}
		d.adopt(o.resp, o.ContentRange.Complete)
	case *RangeNotSatisfiable:
		if o.CompleteLength == 0 {
			d.total = 0
			return nil // an empty representation
		}
		return o
	default:
		return d.stream(ctx, &segment{first: 0, last: -1, whole: true}, out)
	}
	n := int64(d.cfg.segments)
	if d.total >= 0 {
		n = min(n, max(1, d.total/(1<<20)))
	}
	if !segmented || !partial || d.total < 0 || d.validator() == "" || n <= 1 {
		return d.stream(ctx, &segment{first: 0, last: -1, whole: true}, out)
	}
	return d.parallel(ctx, out, n)
}

// parallel splits [0, total) into n segments, one goroutine each; the
// first reads the open response. The first failure cancels the others,
// whose errors are its consequences.
func (d *download) parallel(ctx context.Context, first Outcome, n int64) error {
	d.segments = int(n)
	size := (d.total + n - 1) / n
	g, ctx := errgroup.WithContext(ctx)
	for i := int64(0); i < n; i++ {
		seg := &segment{first: i * size, last: min((i+1)*size, d.total) - 1}
		var open Outcome
		if i == 0 {
			open = first
		}
		g.Go(func() error { return d.stream(ctx, seg, open) })
	}
	return g.Wait()
}

// segment is a byte range [first, last] of the representation that one
// stream fills; last -1 means to the end. whole marks the single stream
// over the whole representation, which may start over in place.
type segment struct {
	first, last int64
	next        int64 // next byte to write, from first
	whole       bool
}

// errRefetch tells stream that the whole stream was rewound to zero and
// must request again at once.
var errRefetch = errors.New("semhttp: refetch from zero")

// stream fills seg, resuming after interruptions. out, when not nil, is an
// open response for seg.first.
func (d *download) stream(ctx context.Context, seg *segment, out Outcome) error {
	defer func() {
		if out != nil {
			out.Close()
		}
	}()
	seg.next = seg.first
	buf := make([]byte, d.cfg.bufSize)
	stalls := 0
	var bo *backoff.ExponentialBackOff
	stall := func(cause error) error {
		stalls++
		if stalls > d.cfg.maxStalls {
			return fmt.Errorf("%w: %d failures without progress, the last: %w", ErrDownloadStalled, stalls, cause)
		}
		if bo == nil {
			bo = d.policy(ctx).newBackOff()
		}
		wait := bo.NextBackOff()
		if wait == backoff.Stop {
			return fmt.Errorf("%w: %w", ErrDownloadStalled, cause)
		}
		return sleep(ctx, wait)
	}
	for {
		if seg.last >= 0 && seg.next > seg.last {
			return nil
		}
		if out == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			if seg.whole && seg.next > 0 && d.validator() == "" {
				// Nothing to check a continuation against: start over.
				if err := d.rewind(seg); err != nil {
					return err
				}
			}
			req, err := d.request(ctx, seg.next, seg.last, false)
			if err != nil {
				return err
			}
			if seg.next > seg.first {
				d.resumes.Add(1)
			}
			out, err = d.send(req)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var re *RequestError
				if errors.As(err, &re) && !d.policy(ctx).decide(ctx, req, nil, re.Err) {
					return err
				}
				if err := stall(err); err != nil {
					return err
				}
				continue
			}
		}
		body, err := d.accept(seg, out)
		if err != nil || body == nil {
			out.Close()
			out = nil
		}
		switch {
		case err == errRefetch:
			continue
		case err != nil:
			if errors.As(err, new(*ServerError)) {
				if err := stall(err); err != nil {
					return err
				}
				continue
			}
			return err
		case body == nil: // nothing left (a 416 at the end)
			return nil
		}
		n, rerr := d.copy(ctx, body, seg, buf)
		out.Close()
		out = nil
		switch {
		case rerr == nil: // the body ended cleanly
			if seg.last < 0 && (d.total < 0 || seg.next == d.total) || seg.last >= 0 && seg.next > seg.last {
				return nil
			}
			if n > 0 {
				stalls, bo = 0, nil
			} else if err := stall(fmt.Errorf("the body ended at byte %d, before the announced length", seg.next)); err != nil {
				return err
			}
		case errors.As(rerr, new(*writeError)):
			return rerr
		case ctx.Err() != nil:
			return ctx.Err()
		case n > 0:
			stalls, bo = 0, nil // progress: resume at once
		default:
			if err := stall(rerr); err != nil {
				return err
			}
		}
	}
}

// rewind starts the whole stream over from zero.
func (d *download) rewind(seg *segment) error {
	if err := d.restart(); err != nil {
		return err
	}
	seg.next = 0
	return nil
}

// policy is the retry policy of the call: a RequestOptions.RetryPolicy in
// ctx, else the client's. Its decider and backoff also judge failures that
// survived the client's retries.
func (d *download) policy(ctx context.Context) *retryConfig {
	if co := callOptionsOf(ctx); co != nil && co.retry != nil {
		return co.retry
	}
	return &d.c.retry
}

// send sends one request of the download: not revalidated nor stored (a
// file is not a representation to keep in memory), never recorded into
// the caller's RequestOptions.Outcome.
func (d *download) send(req *http.Request) (Outcome, error) {
	d.requests.Add(1)
	return d.c.send(req, &followUp{noCache: true})
}

// accept checks that out continues seg at seg.next and returns the body to
// copy, or nil when nothing is left.
func (d *download) accept(seg *segment, out Outcome) (io.Reader, error) {
	resp := out.Response()
	switch o := out.(type) {
	case *OK:
		if !seg.whole {
			return nil, errChanged // If-Range did not match
		}
		if seg.next > 0 {
			// The whole representation instead of the rest: it changed
			// (If-Range did not match), or Range is not supported.
			if err := d.rewind(seg); err != nil {
				return nil, err
			}
		}
		d.adopt(resp, resp.ContentLength)
		return resp.Body, nil
	case *PartialContent:
		if o.ContentRangeErr != nil || o.Multipart {
			return nil, d.badRange(o)
		}
		if et := resp.Header.Get("ETag"); d.etag != "" && et != "" && et != d.etag {
			// A 206 of another representation: never splice it.
			if !seg.whole {
				return nil, errChanged
			}
			if err := d.rewind(seg); err != nil {
				return nil, err
			}
			return nil, errRefetch
		}
		cr := o.ContentRange
		if !strings.EqualFold(cr.Unit, "bytes") || cr.First != seg.next ||
			d.total >= 0 && cr.Complete >= 0 && cr.Complete != d.total {
			return nil, fmt.Errorf("%w: asked for bytes %d-, got %q", ErrBadContentRange, seg.next, cr.String())
		}
		if d.total < 0 && cr.Complete >= 0 {
			d.total = cr.Complete
		}
		return resp.Body, nil
	case *RangeNotSatisfiable:
		if seg.next > 0 && o.CompleteLength == seg.next && (d.total < 0 || d.total == seg.next) {
			d.total = seg.next
			return nil, nil // the break came exactly at the end
		}
		return nil, o
	}
	if e := out.Err(); e != nil {
		return nil, e
	}
	return nil, fmt.Errorf("semhttp: download: unexpected %s", statusLine(resp))
}

func (d *download) badRange(o *PartialContent) error {
	if o.ContentRangeErr != nil {
		return o.ContentRangeErr
	}
	return fmt.Errorf("%w: unexpected %q for a download", ErrBadContentRange, o.resp.Header.Get("Content-Range"))
}

// writeError marks an error from dst: it ends the download.
type writeError struct{ err error }

func (e *writeError) Error() string { return "semhttp: writing download: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copy streams body into dst at seg.next (up to seg.last) through buf and
// returns the bytes written. A nil error means the body, or the segment,
// ended cleanly. It stops at the first buffer after ctx is done: the
// transport cancels the body asynchronously, and what the socket already
// holds would otherwise still be read.
func (d *download) copy(ctx context.Context, body io.Reader, seg *segment, buf []byte) (int64, error) {
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		want := len(buf)
		if seg.last >= 0 {
			left := seg.last - seg.next + 1
			if left <= 0 {
				return written, nil
			}
			want = int(min(int64(want), left))
		}
		// Fill the buffer (fewer, larger writes), stopping at the first
		// error: io.EOF is the clean end, anything else a break.
		n := 0
		var rerr error
		for n < want && rerr == nil {
			var m int
			m, rerr = body.Read(buf[n:want])
			n += m
		}
		if n > 0 {
			if _, err := d.dst.WriteAt(buf[:n], seg.next); err != nil {
				return written, &writeError{err}
			}
			seg.next += int64(n)
			written += int64(n)
			d.written.Add(int64(n))
			d.report()
		}
		switch rerr {
		case nil:
		case io.EOF:
			return written, nil
		default:
			return written, rerr
		}
	}
}
