package semhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// accepted.go owns the 202's outcome: finding its status monitor in the
// headers or the body, checking it, and Wait.
//
// Security choices, stated once for every async file:
//   - A monitor (or final-resource link) must be an absolute http or https
//     URL without userinfo or control characters, and may not downgrade an
//     https request to http. Anything else is refused ([ErrBadMonitor]).
//   - A monitor on another origin than the request is allowed (status
//     services often live on another host), but none of the original
//     request's headers travel there: Authorization, Cookie, API-key
//     headers and the rest are copied only to the request's own origin
//     (scheme, host and port). The same rule applies to PollOptions.Header,
//     and to the final-resource GET.
//   - Resume tokens hold URLs (whose query may carry a signature) but never
//     headers: a process that resumes a poller supplies its own credentials.

// ErrNoMonitor reports a 202 that named no monitor: no Operation-Location,
// Azure-AsyncOperation, Location or Content-Location header and no link in
// its body. Such a job cannot be polled.
var ErrNoMonitor = errors.New("semhttp: 202 Accepted names no status monitor")

// ErrBadMonitor reports a monitor or final-resource URL that was refused:
// not http or https, relative, with userinfo or control characters, or an
// https → http downgrade.
var ErrBadMonitor = errors.New("semhttp: refused monitor URL")

// Monitor sources: where a 202's monitor URL was found. They are the values
// of [Accepted.MonitorFrom].
const (
	fromOperationLocation   = "Operation-Location"
	fromAzureAsyncOperation = "Azure-AsyncOperation"
	fromLocation            = "Location"
	fromContentLocation     = "Content-Location"
	fromBody                = "body"
)

// monitorHeaders is the order in which a 202's headers are searched: the
// name (a MonitorFrom value) and its canonical form, the key of
// http.Header.
var monitorHeaders = [...]struct{ name, key string }{
	// Azure-AsyncOperation first, as azcore reads them: ARM's header wins
	// when a service sends both.
	{fromAzureAsyncOperation, "Azure-Asyncoperation"},
	{fromOperationLocation, "Operation-Location"},
	{fromLocation, "Location"},
	{fromContentLocation, "Content-Location"},
}

// maxStatusBody is how many bytes of a monitor answer (or a 202 body) are
// read to interpret it (1 MiB). A longer body is not parsed as a status
// document; when it is the result, it is handed on whole, streaming.
const maxStatusBody = 1 << 20

func newAccepted(b base, polling bool) *Accepted {
	a := &Accepted{base: b, unsettled: true}
	if !polling {
		// A poll's 202 is only a step, its body the poller's to read as a
		// status document: it is settled if it becomes a result.
		a.settle()
	}
	return a
}

// settle classifies the 202 as Send returns it. Classifying must not
// block on a body that may never end: the body is read now only when its
// length is known and small. Such a body is kept in memory and its
// connection given back at once, so that a 202 nobody waits on or closes
// does not hold a connection.
func (a *Accepted) settle() {
	if !a.unsettled {
		return
	}
	a.unsettled = false
	resp := a.resp
	a.RetryAfter, a.retryHint = retryAfter(resp)
	n := resp.ContentLength
	peek := n >= 0 && n <= maxStatusBody
	if peek {
		keepBody(resp)
	}
	a.Monitor, a.MonitorFrom, a.MonitorErr = findMonitor(resp, peek)
	a.bodyLater = !peek && a.Monitor == nil && errors.Is(a.MonitorErr, ErrNoMonitor) &&
		!errors.Is(a.MonitorErr, ErrBadMonitor) && isJSONType(httpsyntax.HeaderValue(resp.Header, "Content-Type"))
}

// resolveMonitor looks for a monitor in a body that newAccepted left
// unread.
func (a *Accepted) resolveMonitor() {
	if a.bodyLater {
		a.bodyLater = false
		a.Monitor, a.MonitorFrom, a.MonitorErr = findMonitor(a.resp, true)
	}
}

// Wait closes the 202's body, polls the job until it ends, and returns the
// final outcome: the result (whose body the caller must close), or a
// *JobError (a failure kind, so out.Err() is non-nil). The error is for
// polling that could not finish: no monitor ([ErrNoMonitor]), the budget
// ([ErrPollBudget]), the context, or a fatal poll error. Everything Wait
// reads, the 202's own body included, is read under ctx.
//
// A 202 that [Client.Send] returned is polled through that Client; one
// that [Classify] built, through a Client with the defaults and no
// connection reuse, so that nothing of it outlives the job.
func (a *Accepted) Wait(ctx context.Context, opts *PollOptions) (Outcome, error) {
	// The 202's body is read (for a monitor) and drained under this ctx:
	// a body that stalls does not outlast it.
	if a.resp != nil && a.resp.Body != nil {
		stop := func() bool { return false }
		if ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() { a.resp.Body.Close() })
		}
		a.resolveMonitor()
		discard(a)
		stop()
		if err := ctx.Err(); err != nil {
			err = fmt.Errorf("semhttp: reading the 202: %w", err)
			if a.Monitor == nil && errors.Is(a.MonitorErr, ErrNoMonitor) {
				// The body that may have named it is gone: say why, to a
				// second Wait too.
				a.MonitorErr = fmt.Errorf("%w (%w)", ErrNoMonitor, err)
			}
			return nil, err
		}
	}
	c := a.client
	if c == nil {
		t := defaultTransport()
		t.DisableKeepAlives = true
		c = New(WithTransport(t))
	}
	p, err := c.NewPoller(a, opts)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// keepBody reads a body of known, small length (resp.ContentLength, at
// most maxStatusBody) into memory and closes the original, giving its
// connection back; what could not be read comes back as the error of the
// last read. A body longer than it said (a response built by hand) is
// read on up to maxStatusBody, and past that left open behind the bytes
// read.
func keepBody(resp *http.Response) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	n := int(resp.ContentLength)
	data := make([]byte, n, n+1)
	k, err := io.ReadFull(resp.Body, data)
	data = data[:k]
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // nothing of a body that has a length
	}
	for m := 0; err == nil && m == 0; {
		m, err = resp.Body.Read(data[k : k+1]) // the end, as it should be?
		if m == 1 {
			more, rerr := io.ReadAll(io.LimitReader(resp.Body, int64(maxStatusBody-k)))
			data, err = append(data[:k+1], more...), rerr
			if err == nil && len(data) > maxStatusBody {
				resp.Body = &replayBody{data: data, rest: resp.Body}
				return
			}
			if err == nil {
				err = io.EOF
			}
		}
	}
	if err == io.EOF {
		err = nil
	}
	resp.Body.Close()
	resp.Body = &replayBody{data: data, err: err}
}

// findMonitor looks for the monitor in the headers, in order, then (when
// peek) in a JSON body. A body it reads is put back whole.
func findMonitor(resp *http.Response, peek bool) (*url.URL, string, error) {
	reqURL := requestURL(resp)
	var firstErr error
	for _, mh := range monitorHeaders {
		h := mh.name
		vals := resp.Header[mh.key]
		if len(vals) == 0 {
			continue
		}
		var u *url.URL
		var err error
		if len(vals) > 1 {
			err = fmt.Errorf("%w: %d %s headers", ErrBadMonitor, len(vals), h)
		} else if u, err = parseReference(reqURL, vals[0]); err == nil {
			err = checkMonitorURL(u, reqURL)
		} else {
			err = fmt.Errorf("%w: %s: %w", ErrBadMonitor, h, err)
		}
		if err == nil {
			return u, h, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if peek && isJSONType(httpsyntax.HeaderValue(resp.Header, "Content-Type")) {
		if body, ok, _ := peekBody(resp); ok {
			if u, err := monitorLink(body, reqURL); u != nil || err != nil {
				if err == nil {
					err = checkMonitorURL(u, reqURL)
				}
				if err == nil {
					return u, fromBody, nil
				}
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	}
	if firstErr != nil {
		return nil, "", firstErr
	}
	return nil, "", ErrNoMonitor
}

// bodyLinkRank ranks the members of a 202 body that may hold the monitor,
// by their normalized names (lower case, no '_' or '-'): the most specific
// first.
var bodyLinkRank = func() map[string]int {
	names := []string{
		"operationlocation", "statusquerygeturi", "statusurl", "statusuri", "statuslink",
		"statushref", "monitorurl", "monitoruri", "monitor", "pollurl", "pollinguri",
		"pollingurl", "href", "link", "self", "location", "url",
	}
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}()

// monitorLink finds a status monitor link in a JSON body: a string member
// named like statusUrl, operationLocation, statusQueryGetUri, monitor, href,
// link or location, at the top level or under data, links, _links or
// data.links (HAL's {"href": ...} objects included). The link is resolved
// against base. It returns nil, nil when there is none, and an error for a
// link that is present but unusable.
func monitorLink(body []byte, base *url.URL) (*url.URL, error) {
	doc := parseObject(body)
	if doc == nil {
		return nil, nil
	}
	data := doc.object("data")
	for _, o := range [...]jsonObject{doc, doc.object("links"), doc.object("_links"), data, data.object("links")} {
		// The best-ranked member that holds a link: one pass over the
		// object's (few) members rather than a lookup per known name.
		best, bestRank, bestLink := "", len(bodyLinkRank), ""
		for _, m := range o {
			name, raw := m.name, m.raw
			rank, known := bodyLinkRank[name]
			if !known || rank >= bestRank {
				continue
			}
			if s, ok := linkString(raw); ok {
				best, bestRank, bestLink = name, rank, s
			}
		}
		if best == "" {
			continue
		}
		u, err := parseReference(base, bestLink)
		if err != nil {
			return nil, fmt.Errorf("%w: body member %q: %w", ErrBadMonitor, best, err)
		}
		return u, nil
	}
	return nil, nil
}

// linkString accepts "url" or {"href": "url"} (HAL, JSON:API link objects).
func linkString(raw json.RawMessage) (string, bool) {
	if s, ok := jsonString(raw); ok {
		return s, s != ""
	}
	if !containsFold(raw, "href") {
		return "", false // not a link object: spare the parse
	}
	if o := parseObject(raw); o != nil {
		if raw, ok := o.get("href"); ok {
			s, _ := jsonString(raw)
			return s, s != ""
		}
	}
	return "", false
}

// containsFold reports whether b contains the lower-case ASCII word w in
// any case.
func containsFold(b []byte, w string) bool {
next:
	for i := 0; i+len(w) <= len(b); i++ {
		for j := 0; j < len(w); j++ {
			if c := b[i+j]; c != w[j] && c+'a'-'A' != w[j] {
				continue next
			}
		}
		return true
	}
	return false
}

// checkMonitorURL refuses URLs the poller must not follow.
func checkMonitorURL(u, from *url.URL) error {
	switch {
	case u == nil:
		return fmt.Errorf("%w: empty", ErrBadMonitor)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: scheme %q", ErrBadMonitor, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("%w: no host", ErrBadMonitor)
	case u.User != nil:
		return fmt.Errorf("%w: userinfo in %s", ErrBadMonitor, httpsyntax.Redact(u))
	case from != nil && from.Scheme == "https" && u.Scheme == "http":
		return fmt.Errorf("%w: https to http downgrade to %s", ErrBadMonitor, httpsyntax.Redact(u))
	}
	// Field by field, without spelling the URL out (a poll checks one).
	n := 0
	for _, part := range [...]string{u.Host, u.Opaque, u.Path, u.RawPath, u.RawQuery, u.Fragment, u.RawFragment} {
		n += len(part)
		for i := 0; i < len(part); i++ {
			if c := part[i]; c < 0x20 || c == 0x7f {
				return fmt.Errorf("%w: control character", ErrBadMonitor)
			}
		}
	}
	if n > 8<<10 {
		return fmt.Errorf("%w: %d bytes long", ErrBadMonitor, n)
	}
	return nil
}

// peekBody reads up to maxStatusBody+1 bytes of resp.Body and puts every
// byte back, so the body stays whole for whoever reads it next. ok is
// false when the body is empty, longer than maxStatusBody, or could not be
// read to its end: err then says why (a reset, a stall to the deadline),
// and the body is what was read followed by that error.
func peekBody(resp *http.Response) (data []byte, ok bool, err error) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil, false, nil
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxStatusBody+1))
	resp.Body = &replayBody{data: data, rest: resp.Body}
	return data, err == nil && len(data) > 0 && len(data) <= maxStatusBody, err
}

// replayBody serves peeked bytes then the rest of the original body.
type replayBody struct {
	data []byte
	rest io.ReadCloser // nil when the body was read to its end (keepBody)
	err  error         // then, how it ended: nil for io.EOF
}

func (r *replayBody) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	switch {
	case r.rest != nil:
		return r.rest.Read(p)
	case r.err != nil:
		return 0, r.err
	}
	return 0, io.EOF
}

func (r *replayBody) Close() error {
	if r.rest == nil {
		return nil
	}
	return r.rest.Close()
}

// mayBeStatusDocument reports whether a monitor answer's body is worth
// reading as a status document: JSON, untyped, or text/plain (which
// servers that forget the Content-Type get from Go's sniffing).
func mayBeStatusDocument(ct string) bool {
	if ct == "" || ct == "application/json" || isJSONType(ct) {
		return true
	}
	return httpsyntax.MediaType(ct) == "text/plain"
}

func isJSONType(ct string) bool {
	if ct == "application/json" {
		return true // as most send it: spare the parse
	}
	mt := httpsyntax.MediaType(ct)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
