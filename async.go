package semhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
)

// async.go owns 202 handling: monitor discovery, the Poller, status
// interpretation and resume tokens.
//
// Security choices, stated once:
//   - A monitor (or final-resource link) must be an absolute http or https
//     URL without userinfo or control characters, and may not downgrade an
//     https request to http. Anything else is refused ([ErrBadMonitor]).
//   - A monitor on another origin than the request is allowed (status
//     services often live on another host), but none of the original
//     request's headers travel there: Authorization, Cookie, API-key
//     headers and the rest are copied only to the request's own origin
//     (scheme, host and port). The same rule applies to headers given with
//     [WithPollHeader], and to the final-resource GET.
//   - Resume tokens hold URLs (whose query may carry a signature) but never
//     headers: a process that resumes a poller supplies its own credentials.

// Monitor sources: where a 202's monitor URL was found. They are the values
// of [Accepted.MonitorFrom].
const (
	FromOperationLocation   = "Operation-Location"
	FromAzureAsyncOperation = "Azure-AsyncOperation"
	FromLocation            = "Location"
	FromContentLocation     = "Content-Location"
	FromBody                = "body"
)

// monitorHeaders is the order in which a 202's headers are searched: the
// name (a MonitorFrom value) and its canonical form, the key of
// http.Header.
var monitorHeaders = [...]struct{ name, key string }{
	{FromOperationLocation, "Operation-Location"},
	{FromAzureAsyncOperation, "Azure-Asyncoperation"},
	{FromLocation, "Location"},
	{FromContentLocation, "Content-Location"},
}

// MaxStatusBody is how many bytes of a monitor answer (or a 202 body) are
// read to interpret it (1 MiB). A longer body is not parsed as a status
// document; when it is the result, it is handed on whole, streaming.
const MaxStatusBody = 1 << 20

// ErrNoMonitor reports a 202 that named no monitor: no Operation-Location,
// Azure-AsyncOperation, Location or Content-Location header and no link in
// its body. Such a job cannot be polled.
var ErrNoMonitor = errors.New("semhttp: 202 Accepted names no status monitor")

// ErrBadMonitor reports a monitor or final-resource URL that was refused:
// not http or https, relative, with userinfo or control characters, or an
// https → http downgrade.
var ErrBadMonitor = errors.New("semhttp: refused monitor URL")

// ErrPollBudget reports that a Poller used up its budget (see
// [WithPollBudget]) before the job ended.
var ErrPollBudget = errors.New("semhttp: poll budget exhausted")

// ErrBadResumeToken reports a resume token that is corrupt, of an unknown
// version, or names URLs that would be refused.
var ErrBadResumeToken = errors.New("semhttp: invalid resume token")

// ErrNotDone is returned by [Poller.Result] and [Poller.ResumeToken]:
// the former before the job has ended, the latter after.
var ErrNotDone = errors.New("semhttp: poller state does not allow this")

// ErrNoClient is returned by [Accepted.Poller] and [Accepted.Wait] for a
// 202 that no Client received (an outcome built by [Classify]); poll it
// with [Client.NewPoller].
var ErrNoClient = errors.New("semhttp: 202 was not received by a Client; use Client.NewPoller")

// ErrMonitorAnswer reports a monitor answer the status interpreter did not
// understand, such as a 400 or 401 or an unfollowed 307. It is fatal to
// the poll; the job itself may still be running.
var ErrMonitorAnswer = errors.New("semhttp: unexpected answer from the status monitor")

// Accepted is a 202: the request was accepted for processing, which has
// not finished. Monitor is where its status can be polled; [Accepted.Wait]
// polls it until the job ends.
type Accepted struct {
	base
	// Monitor is the absolute URL of the status monitor, nil when the 202
	// named none or only refused ones (MonitorErr then says why). A monitor
	// named only in a body of unknown length (chunked) is looked for when
	// Poller or Wait is first called, not by Send, which never waits on a
	// body; until then Monitor is nil and MonitorErr
	// wraps [ErrNoMonitor].
	Monitor *url.URL
	// MonitorFrom says where Monitor was found: one of FromOperationLocation,
	// FromAzureAsyncOperation, FromLocation, FromContentLocation or FromBody.
	MonitorFrom string
	// MonitorErr is why no monitor could be used: it wraps [ErrNoMonitor]
	// or [ErrBadMonitor]. Nil when Monitor is set.
	MonitorErr error
	// RetryAfter is the server's hint for the first poll (zero when absent).
	RetryAfter time.Duration

	bodyLater bool // the body may name the monitor but was not read yet
}

func newAccepted(b base, polling bool) *Accepted {
	a := &Accepted{base: b, RetryAfter: retryAfterOf(b.resp)}
	// Classifying must not block on a body that may never end: read it
	// now only when its length is known and small (and not for a poll,
	// whose body the poller reads as a status document).
	n := b.resp.ContentLength
	peek := n >= 0 && n <= MaxStatusBody && !polling
	a.Monitor, a.MonitorFrom, a.MonitorErr = findMonitor(b.resp, peek)
	a.bodyLater = !peek && a.Monitor == nil && errors.Is(a.MonitorErr, ErrNoMonitor) &&
		!errors.Is(a.MonitorErr, ErrBadMonitor) && isJSONType(headerValue(b.resp.Header, "Content-Type"))
	return a
}

// settle makes an *Accepted classified for a poll (body unread) what Send
// returns: a JSON body of known, small length is searched for the monitor.
func (a *Accepted) settle() {
	if n := a.resp.ContentLength; n >= 0 && n <= MaxStatusBody {
		a.resolveMonitor()
	}
}

// resolveMonitor looks for a monitor in a body that newAccepted left
// unread.
func (a *Accepted) resolveMonitor() {
	if a.bodyLater {
		a.bodyLater = false
		a.Monitor, a.MonitorFrom, a.MonitorErr = findMonitor(a.resp, true)
	}
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
	if peek && isJSONType(headerValue(resp.Header, "Content-Type")) {
		if body, ok := peekBody(resp); ok {
			if u, err := MonitorLink(body, reqURL); u != nil || err != nil {
				if err == nil {
					err = checkMonitorURL(u, reqURL)
				}
				if err == nil {
					return u, FromBody, nil
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

// MonitorLink finds a status monitor link in a JSON body: a string member
// named like statusUrl, operationLocation, statusQueryGetUri, monitor, href,
// link or location, at the top level or under data, links, _links or
// data.links (HAL's {"href": ...} objects included). The link is resolved
// against base. It returns nil, nil when there is none, and an error for a
// link that is present but unusable.
func MonitorLink(body []byte, base *url.URL) (*url.URL, error) {
	doc := parseObject(body)
	if doc == nil {
		return nil, nil
	}
	data := doc.object("data")
	for _, o := range [...]jsonObject{doc, doc.object("links"), doc.object("_links"), data, data.object("links")} {
		// The best-ranked member that holds a link: one pass over the
		// object's (few) members rather than a lookup per known name.
		best, bestRank, bestLink := "", len(bodyLinkRank), ""
		for name, raw := range o {
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
	if o := parseObject(raw); o != nil {
		if s, ok := jsonString(o["href"]); ok {
			return s, s != ""
		}
	}
	return "", false
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
		return fmt.Errorf("%w: userinfo in %s", ErrBadMonitor, redact(u))
	case from != nil && from.Scheme == "https" && u.Scheme == "http":
		return fmt.Errorf("%w: https to http downgrade to %s", ErrBadMonitor, redact(u))
	}
	s := u.String()
	if len(s) > 8<<10 {
		return fmt.Errorf("%w: %d bytes long", ErrBadMonitor, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: control character", ErrBadMonitor)
		}
	}
	return nil
}

// peekBody reads up to MaxStatusBody+1 bytes of resp.Body and puts every
// byte back, so the body stays whole for whoever reads it next. ok is
// false when the body is longer than MaxStatusBody (or empty or unreadable).
func peekBody(resp *http.Response) ([]byte, bool) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxStatusBody+1))
	resp.Body = &replayBody{data: data, rest: resp.Body}
	return data, err == nil && len(data) > 0 && len(data) <= MaxStatusBody
}

// replayBody serves peeked bytes then the rest of the original body.
type replayBody struct {
	data []byte
	rest io.ReadCloser
}

func (r *replayBody) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	return r.rest.Read(p)
}

func (r *replayBody) Close() error { return r.rest.Close() }

// mayBeStatusDocument reports whether a monitor answer's body is worth
// reading as a status document: JSON, untyped, or text/plain (which
// servers that forget the Content-Type get from Go's sniffing).
func mayBeStatusDocument(ct string) bool {
	if ct == "" || isJSONType(ct) {
		return true
	}
	return mediaTypeOf(ct) == "text/plain"
}

func isJSONType(ct string) bool {
	mt := mediaTypeOf(ct)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// PreferAsync asks the server to answer req with 202 Accepted rather than
// hold the connection while it works (RFC 7240 §4.1, Prefer:
// respond-async). A positive wait adds "wait=N" (§4.3, whole seconds,
// rounded up): the server may still answer synchronously within that time.
// Other Prefer values already on req are kept. The server is free to
// ignore the preference; [Client.Send] returns whatever it answered.
func PreferAsync(req *http.Request, wait time.Duration) {
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	v := "respond-async"
	if wait > 0 {
		secs := int64(math.Ceil(wait.Seconds()))
		v += ", wait=" + strconv.FormatInt(secs, 10)
	}
	req.Header.Add("Prefer", v)
}

// JobState is where an asynchronous job stands. The zero value is
// StateRunning.
type JobState int

// Job states.
const (
	// StateRunning: not finished; keep polling.
	StateRunning JobState = iota
	// StateSucceeded: finished; the result is the final resource.
	StateSucceeded
	// StateFailed: finished with an error.
	StateFailed
	// StateCanceled: canceled before it finished.
	StateCanceled
	// StateGone: the monitor answered 404 or 410; the job is unknown.
	StateGone
)

func (s JobState) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StateCanceled:
		return "canceled"
	case StateGone:
		return "gone"
	}
	return "JobState(" + strconv.Itoa(int(s)) + ")"
}

// Terminal reports whether the job has ended.
func (s JobState) Terminal() bool { return s != StateRunning }

// PollResponse is one answer of a status monitor, as a [StatusInterpreter]
// sees it.
type PollResponse struct {
	StatusCode int
	Header     http.Header
	// Body holds the body when it is JSON (or untyped) and at most
	// MaxStatusBody bytes long; nil otherwise.
	Body []byte
	// URL is the monitor URL that answered; links are resolved against it.
	URL *url.URL
	// MonitorFrom is where the monitor was found (FromLocation, ...).
	MonitorFrom string
	// Location is the 202's Location header when the monitor came from
	// another header (Operation-Location, Azure-AsyncOperation): where the
	// final resource is when a status document gives no link of its own.
	Location *url.URL
}

// PollDecision is what a [StatusInterpreter] concludes from one answer.
type PollDecision struct {
	// State is where the job stands.
	State JobState
	// Status is the status as the server spelled it ("InProgress"), empty
	// when the answer had none.
	Status string
	// Percent is the progress in percent (0–100), or -1 when unknown.
	Percent float64
	// Final, on StateSucceeded, is the final resource to GET; that GET's
	// outcome is the result. Nil means the answer itself is the result.
	Final *url.URL
	// Result, on StateSucceeded without Final, replaces the answer's body
	// as the result (for example the "response" member of a done:true
	// operation). Nil keeps the body as it came.
	Result json.RawMessage
	// Problem, on StateFailed, StateCanceled or StateGone, is the error the
	// server reported, when it reported one.
	Problem *Problem
}

// StatusInterpreter decides what a monitor answer means. It is called for
// every answer except 408, 429, 5xx and nonstandard codes, which the Poller
// treats as transient (it polls again). An error ends the poll with an
// error wrapping it. Wrap [DefaultStatusInterpreter] to teach it an unusual
// API; it must be a pure function of its input.
type StatusInterpreter func(PollResponse) (PollDecision, error)

// Status words, normalized (lower case, without '_', '-' or spaces).
var (
	runningWords = map[string]bool{
		"running": true, "inprogress": true, "pending": true, "queued": true, "accepted": true,
		"notstarted": true, "started": true, "processing": true, "waiting": true, "scheduled": true,
		"submitted": true, "creating": true, "updating": true, "deleting": true,
		"provisioning": true, "initializing": true, "canceling": true, "cancelling": true,
		"continuedasnew": true,
	}
	succeededWords = map[string]bool{
		"succeeded": true, "success": true, "successful": true, "completed": true,
		"complete": true, "done": true, "finished": true,
	}
	failedWords = map[string]bool{
		"failed": true, "failure": true, "error": true, "errored": true, "faulted": true,
		"timedout": true,
	}
	canceledWords = map[string]bool{
		"canceled": true, "cancelled": true, "aborted": true, "terminated": true,
	}
)

var (
	statusNames  = []string{"status", "state", "provisioningstate", "jobstatus", "operationstatus", "runtimestatus"}
	percentNames = []string{"percentcomplete", "percentcompleted", "percentdone", "progresspercent", "percentage", "percent", "progress", "completionpercentage"}
	finalNames   = []string{"resourcelocation", "resourceurl", "resourceuri", "resultlocation", "resulturl", "resulturi", "resultlink", "resulthref", "output", "result"}
)

// DefaultStatusInterpreter is the standard reading of monitor answers:
//   - 404 or 410: StateGone.
//   - 303 See Other: StateSucceeded, the result at its Location.
//   - 304 Not Modified (a conditional poll): StateRunning, as before.
//   - 202: StateRunning (status and percent read from the body if any).
//   - other 2xx with a status document — a status (or state,
//     provisioningState, runtimeStatus, ...) member at the top level, under
//     properties or data.attributes (JSON:API), or a boolean done: running
//     words (running, inProgress, pending, queued, accepted, notStarted, ...)
//     keep polling; succeeded, completed or done:true mean success, the
//     result at the document's link (resourceLocation, resultUrl, ...,
//     the answer's Location header, or the 202's Location) or else the
//     document itself (the "response" member for done:true); failed or
//     canceled give a failure carrying the document's error (problem
//     details, an "error" object, or JSON:API "errors").
//   - other 2xx without a status document: the answer is the result,
//     except a JSON:API job (application/vnd.api+json from a
//     Content-Location monitor), which stays running until it answers 303.
//     A status word it does not know counts as running when the monitor is
//     a status monitor (Operation-Location, Azure-AsyncOperation) and as
//     "no status document" otherwise.
//   - anything else: an error wrapping [ErrMonitorAnswer].
func DefaultStatusInterpreter(r PollResponse) (PollDecision, error) {
	d := PollDecision{Percent: -1}
	code := r.StatusCode
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		d.State = StateGone
		if doc := parseObject(r.Body); doc != nil {
			d.Problem = docProblem(doc, r.Header, r.Body, r.URL)
		}
		return d, nil
	case code == http.StatusNotModified:
		// A conditional poll: nothing changed since the last answer, which
		// said running (else polling would have stopped).
		return d, nil
	case code == http.StatusSeeOther:
		loc, err := headerLink(r.Header, "Location", r.URL)
		if err != nil || loc == nil {
			return d, fmt.Errorf("%w: 303 See Other without a usable Location", ErrMonitorAnswer)
		}
		d.State, d.Final = StateSucceeded, loc
		return d, nil
	case code < 200 || code > 299:
		return d, fmt.Errorf("%w: status %d", ErrMonitorAnswer, code)
	}
	jsonAPIJob := r.MonitorFrom == FromContentLocation && mediaType(r.Header) == "application/vnd.api+json"
	doc := parseObject(r.Body)
	st := readStatus(doc)
	d.Status, d.Percent = st.word, st.percent
	if code == http.StatusAccepted {
		return d, nil // StateRunning
	}
	state, known := st.state()
	if !known {
		statusMonitor := r.MonitorFrom == FromOperationLocation || r.MonitorFrom == FromAzureAsyncOperation
		if jsonAPIJob || (st.word != "" && statusMonitor) {
			return d, nil // StateRunning
		}
		d.State = StateSucceeded // the answer is the result
		return d, nil
	}
	d.State = state
	switch state {
	case StateSucceeded:
		d.Final = finalLink(doc, st.holder, r)
		if d.Final == nil && st.done && st.response != nil {
			d.Result = st.response
		}
		if d.Percent < 0 {
			d.Percent = 100
		}
	case StateFailed, StateCanceled:
		d.Problem = docProblem(doc, r.Header, r.Body, r.URL)
	}
	return d, nil
}

// docStatus is what readStatus found.
type docStatus struct {
	word     string          // the status as spelled
	done     bool            // a boolean done member was found
	doneVal  bool            // its value
	response json.RawMessage // the "response" member beside done
	percent  float64
	holder   jsonObject // the object holding the status
}

func (s docStatus) state() (JobState, bool) {
	if s.word != "" {
		w := normalize(s.word)
		switch {
		case runningWords[w]:
			return StateRunning, true
		case succeededWords[w]:
			return StateSucceeded, true
		case failedWords[w]:
			return StateFailed, true
		case canceledWords[w]:
			return StateCanceled, true
		}
		return StateRunning, false
	}
	if s.done {
		if s.doneVal {
			return StateSucceeded, true // an error member is checked by the caller
		}
		return StateRunning, true
	}
	return StateRunning, false
}

// readStatus finds the status word, done flag and percent in doc.
func readStatus(doc jsonObject) docStatus {
	st := docStatus{percent: -1}
	if doc == nil {
		return st
	}
	holders := []jsonObject{doc, doc.object("properties"), doc.object("data").object("attributes"), doc.object("metadata")}
	for _, o := range holders {
		if o == nil {
			continue
		}
		if st.word == "" {
			for _, name := range statusNames {
				if w, ok := o.stringMember(name); ok {
					st.word, st.holder = w, o
					break
				}
				// "status": {"state": "RUNNING"} style.
				if inner := o.object(name); inner != nil {
					for _, n2 := range []string{"state", "status", "phase"} {
						if w, ok := inner.stringMember(n2); ok {
							st.word, st.holder = w, o
							break
						}
					}
				}
				if st.word != "" {
					break
				}
			}
		}
		if st.percent < 0 {
			st.percent = o.percent()
		}
	}
	if raw, ok := doc.get("done"); ok {
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			st.done, st.doneVal = true, b
			if b {
				if resp, ok := doc.get("response"); ok && !isNull(resp) {
					st.response = resp
				}
				if e, ok := doc.get("error"); ok && !isNull(e) && st.word == "" {
					st.word = "failed"
					st.holder = doc
				}
			}
		}
	}
	if st.holder == nil {
		st.holder = doc
	}
	return st
}

func (o jsonObject) percent() float64 {
	for _, name := range percentNames {
		raw, ok := o.get(name)
		if !ok {
			continue
		}
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				continue
			}
			s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				continue
			}
			f = v
		}
		if f >= 0 && f <= 100 && !math.IsNaN(f) {
			return f
		}
	}
	return -1
}

// finalLink is where a succeeded status document says the result is.
func finalLink(doc, holder jsonObject, r PollResponse) *url.URL {
	for _, o := range []jsonObject{holder, doc, doc.object("links"), doc.object("_links"), doc.object("data").object("links")} {
		for _, name := range finalNames {
			raw, ok := o.get(name)
			if !ok {
				continue
			}
			if s, ok := linkString(raw); ok {
				if u, err := parseReference(r.URL, s); err == nil && u.IsAbs() {
					return u
				}
			}
		}
	}
	if u, err := headerLink(r.Header, "Location", r.URL); err == nil && u != nil {
		return u
	}
	if r.Location != nil && r.Location.IsAbs() {
		u := *r.Location
		return &u
	}
	return nil
}

// headerLink parses the single value of header h, resolved against base.
func headerLink(h http.Header, name string, base *url.URL) (*url.URL, error) {
	vals := h.Values(name)
	if len(vals) != 1 {
		return nil, nil
	}
	u, err := parseReference(base, vals[0])
	if err != nil || !u.IsAbs() {
		return nil, err
	}
	return u, nil
}

// docProblem extracts the error a document reports: the document itself
// when it is problem details, else its "error" member (an object with
// code and message, or a string), else the first of JSON:API "errors".
func docProblem(doc jsonObject, h http.Header, body []byte, base *url.URL) *Problem {
	if isProblemJSON(headerValue(h, "Content-Type")) {
		return ParseProblem(body, base)
	}
	for _, o := range []jsonObject{doc, doc.object("properties")} {
		raw, ok := o.get("error")
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return &Problem{Type: "about:blank", Detail: s}
		}
		if p := ParseProblem(raw, base); p != nil {
			fillFromCodeMessage(p)
			return p
		}
	}
	if raw, ok := doc.get("errors"); ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			if p := ParseProblem(list[0], base); p != nil {
				fillFromCodeMessage(p)
				return p
			}
		}
	}
	if _, hasTitle := doc.get("title"); hasTitle {
		if _, hasDetail := doc.get("detail"); hasDetail {
			return ParseProblem(body, base)
		}
	}
	return nil
}

// fillFromCodeMessage maps the common {"code", "message"} error shape onto
// Title and Detail when those are empty.
func fillFromCodeMessage(p *Problem) {
	if p.Title == "" {
		var s string
		if p.Extension("code", &s) {
			p.Title = s
		} else {
			var n json.Number
			if p.Extension("code", &n) {
				p.Title = n.String()
			}
		}
	}
	if p.Detail == "" {
		var s string
		if p.Extension("message", &s) {
			p.Detail = s
		}
	}
}

// jsonObject is a JSON object with case- and punctuation-insensitive
// member lookup.
type jsonObject map[string]json.RawMessage

// parseObject parses body as a JSON object; nil when it is not one. Member
// names are normalized; when two normalize alike the first in sorted order
// of the original names wins, so lookups are deterministic.
func parseObject(body []byte) jsonObject {
	m := splitObject(body)
	if m == nil {
		return nil
	}
	same := true
	for k := range m {
		if !isNormalized(k) {
			same = false
			break
		}
	}
	if same {
		return jsonObject(m) // names like "status": nothing to rename
	}
	o := make(jsonObject, len(m))
	for k, v := range m {
		o[normalize(k)] = v
	}
	if len(o) == len(m) {
		return o // no two names normalize alike: order does not matter
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	clear(o)
	for _, k := range keys {
		n := normalize(k)
		if _, dup := o[n]; !dup {
			o[n] = m[k]
		}
	}
	return o
}

// splitObject is json.Unmarshal(body, &map[string]json.RawMessage{}) —
// the same members (a repeated name keeps its last value), nil for
// anything that is not a JSON object — for the status documents read on
// every poll, at a fraction of the cost: after json.Valid, one pass cuts the
// members out, the values are sub-slices of body (so body must not change
// afterwards) and only names with escapes or non-ASCII go through
// encoding/json.
func splitObject(body []byte) map[string]json.RawMessage {
	i := skipJSONSpace(body, 0)
	if i >= len(body) || body[i] != '{' || !json.Valid(body) {
		return nil
	}
	m := make(map[string]json.RawMessage)
	i = skipJSONSpace(body, i+1)
	if body[i] == '}' {
		return m
	}
	for {
		// body is valid JSON: a name, ':', a value, then ',' or '}'.
		end := jsonValueEnd(body, i)
		name := jsonName(body[i:end])
		i = skipJSONSpace(body, end)
		i = skipJSONSpace(body, i+1) // ':'
		end = jsonValueEnd(body, i)
		m[name] = body[i:end:end]
		i = skipJSONSpace(body, end)
		if body[i] == '}' {
			return m
		}
		i = skipJSONSpace(body, i+1) // ','
	}
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonValueEnd returns the index just after the valid JSON value starting
// at b[i].
func jsonValueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; ; i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = jsonValueEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++ // a number, true, false or null
	}
	return i
}

// jsonName decodes the quoted member name q.
func jsonName(q []byte) string {
	for _, c := range q {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			json.Unmarshal(q, &s) // valid: unescapes, and replaces bad UTF-8 as encoding/json does
			return s
		}
	}
	return string(q[1 : len(q)-1])
}

// jsonString is json.Unmarshal(raw, &s) for a value that should be a
// string, without encoding/json's error allocation for one that is not,
// nor its reflection for one without escapes.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	return jsonName(raw), json.Valid(raw)
}

func (o jsonObject) get(normName string) (json.RawMessage, bool) {
	if o == nil {
		return nil, false
	}
	raw, ok := o[normName]
	return raw, ok
}

func (o jsonObject) object(normName string) jsonObject {
	raw, ok := o.get(normName)
	if !ok {
		return nil
	}
	return parseObject(raw)
}

func (o jsonObject) stringMember(normName string) (string, bool) {
	raw, ok := o.get(normName)
	if !ok {
		return "", false
	}
	s, ok := jsonString(raw)
	if !ok || strings.TrimSpace(s) == "" {
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// normalize lower-cases s and drops '_', '-', '.' and spaces.
func normalize(s string) string {
	if isNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == ' ' || c == '.':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isNormalized(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '_' || c == '-' || c == ' ' || c == '.' || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

func mediaType(h http.Header) string { return mediaTypeOf(headerValue(h, "Content-Type")) }

// JobFailed is the outcome of a job that ended badly: its status document
// said failed or canceled (State StateFailed or StateCanceled), or its
// monitor answered 404 or 410 (StateGone). It is a failure kind: Err
// returns it, Problem returns the error the server reported, Body the
// captured document. For StateGone it unwraps to the monitor's *NotFound or
// *Gone, so errors.As(err, new(*semhttp.Gone)) works too.
type JobFailed struct {
	failure
	// State is StateFailed, StateCanceled or StateGone.
	State JobState
	// Status is the status as the server spelled it ("Failed").
	Status string
	// Monitor is the monitor URL that reported it.
	Monitor *url.URL
	cause   error
}

// Error describes the failed job.
func (e *JobFailed) Error() string {
	var sb strings.Builder
	sb.WriteString("semhttp: async job ")
	sb.WriteString(e.State.String())
	if e.Status != "" && normalize(e.Status) != e.State.String() {
		sb.WriteString(" (" + e.Status + ")")
	}
	if e.Monitor != nil {
		sb.WriteString(" at " + redact(e.Monitor))
	}
	if p := e.problem; p != nil {
		if p.Title != "" {
			sb.WriteString(": " + p.Title)
		}
		if p.Detail != "" {
			sb.WriteString(": " + p.Detail)
		}
	}
	return sb.String()
}

// Problem returns the error the server reported for the job. It is never
// nil: when the server reported none it has Type "about:blank" and a Title
// naming the state ("Job failed"); for StateGone, the monitor's 404 or 410.
func (e *JobFailed) Problem() *Problem {
	if e.problem != nil || e.State == StateGone {
		return e.failure.Problem()
	}
	return &Problem{Type: "about:blank", Title: "Job " + e.State.String()}
}

// Unwrap returns the monitor's own failure outcome for StateGone, else nil.
func (e *JobFailed) Unwrap() error { return e.cause }

// Progress is what one poll learned. The progress callback (see
// [WithProgress]) sees one per poll.
type Progress struct {
	// State is where the job stands after this poll.
	State JobState
	// Status is the status as the server spelled it, empty when none.
	Status string
	// Percent is the progress in percent (0–100), or -1 when unknown.
	Percent float64
	// StatusCode is the monitor's answer (0 after a transport error).
	StatusCode int
	// Poll counts the polls of this job, from 1, across resumed pollers.
	Poll int
	// RetryAfter is the server's hint for the next poll; zero when absent.
	RetryAfter time.Duration
	// Err is a transient failure of this poll (a 5xx or a transport error
	// after the client's retries); polling goes on.
	Err error
}

// PollOption configures a [Poller].
type PollOption func(*pollConfig)

type pollConfig struct {
	initial, max time.Duration
	maxPolls     int
	maxTime      time.Duration
	interpret    StatusInterpreter
	progress     func(Progress)
	header       http.Header
}

// Poll defaults: see WithPollInterval and WithPollBudget.
const (
	DefaultPollInterval    = time.Second
	DefaultMaxPollInterval = 30 * time.Second
	DefaultPollTime        = time.Hour
)

// WithPollInterval sets the backoff between polls when the monitor sends
// no Retry-After: a backoff/v4 exponential schedule starting at initial
// (zero means 1s), growing 1.5× per poll with ±20% jitter, capped at max
// (zero means 30s). A Retry-After on an answer always wins, exactly.
func WithPollInterval(initial, max time.Duration) PollOption {
	return func(c *pollConfig) { c.initial, c.max = initial, max }
}

// WithPollBudget bounds one Poller: at most maxPolls polls (zero or
// negative: no limit) and at most maxTime from its creation (zero: 1h;
// negative: no limit). A poll, or a wait, that would exceed the budget
// fails at once with an error wrapping [ErrPollBudget]. The budget is per
// Poller: a Poller resumed from a token starts a fresh one.
func WithPollBudget(maxPolls int, maxTime time.Duration) PollOption {
	return func(c *pollConfig) { c.maxPolls, c.maxTime = maxPolls, maxTime }
}

// WithStatusInterpreter replaces [DefaultStatusInterpreter]. Nil means the
// default.
func WithStatusInterpreter(f StatusInterpreter) PollOption {
	return func(c *pollConfig) { c.interpret = f }
}

// WithProgress calls f after every poll, from the goroutine that polls.
// f must not call the Poller's Poll or Wait (it may call ResumeToken).
func WithProgress(f func(Progress)) PollOption {
	return func(c *pollConfig) { c.progress = f }
}

// WithPollHeader adds headers to every poll and to the final-resource GET,
// for example the Authorization a resumed poller needs. Like the original
// request's headers, they are sent only to the origin of the request that
// got the 202.
func WithPollHeader(h http.Header) PollOption {
	return func(c *pollConfig) { c.header = h.Clone() }
}

func resolvePollConfig(opts []PollOption) pollConfig {
	var c pollConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.initial <= 0 {
		c.initial = DefaultPollInterval
	}
	if c.max <= 0 {
		c.max = DefaultMaxPollInterval
	}
	if c.max < c.initial {
		c.max = c.initial
	}
	if c.maxTime == 0 {
		c.maxTime = DefaultPollTime
	}
	if c.interpret == nil {
		c.interpret = DefaultStatusInterpreter
	}
	return c
}

// pollState is what a resume token carries.
type pollState struct {
	Monitor  string `json:"monitor"`
	From     string `json:"from"`
	Origin   string `json:"origin"`             // scheme://host:port of the request that got the 202
	Location string `json:"location,omitempty"` // the 202's Location, when the monitor is another header
	Final    string `json:"final,omitempty"`    // set once the result is to be fetched from there
	Polls    int    `json:"polls"`
	WaitMS   int64  `json:"wait_ms,omitempty"` // the last Retry-After, for the next poll
	HasWait  bool   `json:"has_wait,omitempty"`
}

// Poller polls one asynchronous job. Most callers want [Poller.Wait];
// [Poller.Poll] is one step, for callers that schedule polls themselves.
// A Poller is safe for concurrent use; polls are serialized.
type Poller struct {
	c       *Client
	cfg     pollConfig
	header  http.Header // the original request's forwardable headers
	origin  *url.URL
	monitor *url.URL
	loc     *url.URL
	started time.Time
	// monitorSame: the monitor is on the origin of the job's request (so
	// polls carry its headers).
	monitorSame bool

	step sync.Mutex // serializes Poll

	mu    sync.Mutex // guards the rest
	st    pollState
	final *url.URL
	polls int // this Poller's polls (budget)
	// The schedule: the last answer came at lastAt, with the Retry-After
	// hint (when hasHint); due, once drawn, is when the next poll is due.
	// An interrupted wait keeps due, so waiting again does not poll early.
	lastAt  time.Time
	hint    time.Duration
	hasHint bool
	due     time.Time
	dueSet  bool
	gen     int // counts completed polls
	bo      *backoff.ExponentialBackOff
	last    Progress
	done    bool
	result  Outcome
}

// Poller returns a Poller for the job. It fails with an error wrapping
// [ErrNoMonitor] or [ErrBadMonitor] when the 202 gave nothing to poll. The
// 202's body stays the caller's to close. Outcomes built by [Classify] have
// no client: use [Client.NewPoller] for those.
func (a *Accepted) Poller(opts ...PollOption) (*Poller, error) {
	if a.client == nil {
		return nil, ErrNoClient
	}
	return a.base.client.NewPoller(a, opts...)
}

// Wait closes the 202's body, polls the job until it ends, and returns the
// final outcome: the result (whose body the caller must close), or a
// *JobFailed (a failure kind, so out.Err() is non-nil). The error is for
// polling that could not finish: no monitor ([ErrNoMonitor]), the budget
// ([ErrPollBudget]), the context, or a fatal poll error.
func (a *Accepted) Wait(ctx context.Context, opts ...PollOption) (Outcome, error) {
	a.resolveMonitor()
	discard(a)
	p, err := a.Poller(opts...)
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// NewPoller returns a Poller for a, polled through c.
func (c *Client) NewPoller(a *Accepted, opts ...PollOption) (*Poller, error) {
	if a == nil {
		return nil, ErrNoMonitor
	}
	a.resolveMonitor()
	if a.Monitor == nil {
		err := a.MonitorErr
		if err == nil {
			err = ErrNoMonitor
		}
		return nil, err
	}
	reqURL := requestURL(a.resp)
	if err := checkMonitorURL(a.Monitor, reqURL); err != nil {
		return nil, err
	}
	p := &Poller{c: c, cfg: resolvePollConfig(opts), monitor: a.Monitor, started: time.Now()}
	p.st = pollState{Monitor: a.Monitor.String(), From: a.MonitorFrom}
	if reqURL != nil {
		p.origin = originOf(reqURL)
		p.st.Origin = p.origin.String()
	}
	p.monitorSame = sameOrigin(p.monitor, p.origin)
	if r := a.resp.Request; r != nil {
		p.header = forwardable(r.Header)
	}
	if a.MonitorFrom == FromOperationLocation || a.MonitorFrom == FromAzureAsyncOperation {
		if loc, err := responseLocation(a.resp); err == nil && loc != nil && checkMonitorURL(loc, reqURL) == nil {
			p.loc = loc
			p.st.Location = loc.String()
		}
	}
	p.lastAt = p.started
	p.hint, p.hasHint = retryAfter(a.resp)
	return p, nil
}

// originOf returns scheme://host[:port] of u, lower-cased, default ports
// made explicit.
func originOf(u *url.URL) *url.URL {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		if u.Scheme == "https" {
			port = "443"
		} else {
			port = "80"
		}
	}
	h := host
	if strings.Contains(host, ":") {
		h = "[" + host + "]"
	}
	return &url.URL{Scheme: strings.ToLower(u.Scheme), Host: h + ":" + port}
}

func sameOrigin(u, origin *url.URL) bool {
	if u == nil || origin == nil {
		return false
	}
	o := originOf(u)
	return o.Scheme == origin.Scheme && o.Host == origin.Host
}

// forwardable copies the request headers a poll may reuse: everything but
// headers about the request's body, preconditions, preferences and keys.
func forwardable(h http.Header) http.Header {
	out := make(http.Header)
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if strings.HasPrefix(ck, "Content-") || strings.HasPrefix(ck, "If-") {
			continue
		}
		switch ck {
		case "Idempotency-Key", "Prefer", "Range", "Expect", "Transfer-Encoding", "Trailer",
			"Connection", "Upgrade", "Te", "Host", "Digest", "Repr-Digest", "Keep-Alive":
			continue
		}
		out[ck] = append([]string(nil), v...)
	}
	return out
}

// ResumePoller rebuilds a Poller from a token made by
// [Poller.ResumeToken], possibly in another process. Headers of the
// original request are not in the token: pass them with [WithPollHeader].
// A corrupt or unknown token gives an error wrapping [ErrBadResumeToken].
func (c *Client) ResumePoller(token string, opts ...PollOption) (*Poller, error) {
	st, err := decodeResumeToken(token)
	if err != nil {
		return nil, err
	}
	p := &Poller{c: c, cfg: resolvePollConfig(opts), st: st, started: time.Now()}
	p.monitor, _ = url.Parse(st.Monitor)
	if st.Origin != "" {
		p.origin, _ = url.Parse(st.Origin)
	}
	p.monitorSame = sameOrigin(p.monitor, p.origin)
	if st.Location != "" {
		p.loc, _ = url.Parse(st.Location)
	}
	if st.Final != "" {
		p.final, _ = url.Parse(st.Final)
	}
	p.lastAt = p.started
	p.hint, p.hasHint = time.Duration(st.WaitMS)*time.Millisecond, st.HasWait
	p.st.WaitMS, p.st.HasWait = 0, false
	return p, nil
}

const (
	tokenPrefix   = "semhttp.poll."
	tokenVersion  = "1"
	maxTokenBytes = 32 << 10
)

// ResumeToken returns a token from which [Client.ResumePoller] rebuilds
// this Poller, in this process or another. It is printable ASCII, versioned
// and checksummed. It holds the monitor URL, whose query may carry a
// signature: store it as you would a credential. It fails with
// [ErrNotDone]'s wrapper once the job has ended.
func (p *Poller) ResumeToken() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return "", fmt.Errorf("%w: the job has ended; there is nothing to resume", ErrNotDone)
	}
	st := p.st
	var due time.Time
	switch {
	case p.dueSet:
		due = p.due
	case p.hasHint:
		due = p.lastAt.Add(p.hint)
	}
	if !due.IsZero() {
		// What is left of the wait, so the resumed poller does not poll early.
		st.WaitMS, st.HasWait = max(0, time.Until(due).Milliseconds()), true
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return tokenPrefix + tokenVersion + "." + base64.RawURLEncoding.EncodeToString(payload) +
		"." + strconv.FormatUint(uint64(crc32.ChecksumIEEE(payload)), 16), nil
}

func decodeResumeToken(token string) (pollState, error) {
	var st pollState
	bad := func(format string, a ...any) (pollState, error) {
		return pollState{}, fmt.Errorf("%w: "+format, append([]any{ErrBadResumeToken}, a...)...)
	}
	if len(token) > maxTokenBytes {
		return bad("%d bytes long", len(token))
	}
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return bad("not a semhttp poll token")
	}
	version, rest, ok := strings.Cut(rest, ".")
	if !ok {
		return bad("truncated")
	}
	if version != tokenVersion {
		return bad("unsupported version %q", version)
	}
	body, sum, ok := strings.Cut(rest, ".")
	if !ok {
		return bad("truncated")
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return bad("payload: %w", err)
	}
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil || len(sum) > 8 || uint32(want) != crc32.ChecksumIEEE(payload) {
		return bad("checksum mismatch")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return bad("payload: %w", err)
	}
	if dec.More() {
		return bad("trailing data")
	}
	var origin *url.URL
	if st.Origin != "" {
		u, err := url.Parse(st.Origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return bad("origin %q", redactRaw(st.Origin))
		}
		origin = u
	}
	for _, f := range []struct{ name, v string }{{"monitor", st.Monitor}, {"location", st.Location}, {"final", st.Final}} {
		if f.v == "" && f.name != "monitor" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil {
			return bad("%s %q: %w", f.name, redactRaw(f.v), unwrapURLError(err))
		}
		if err = checkMonitorURL(u, origin); err != nil {
			return bad("%s: %w", f.name, err)
		}
	}
	switch st.From {
	case FromOperationLocation, FromAzureAsyncOperation, FromLocation, FromContentLocation, FromBody:
	default:
		return bad("monitor source %q", st.From)
	}
	if st.Polls < 0 || st.WaitMS < 0 || st.WaitMS > math.MaxInt64/int64(time.Millisecond) {
		return bad("negative or oversized counter")
	}
	return st, nil
}

// Done reports whether the job has ended (successfully or not).
func (p *Poller) Done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Result returns the final outcome once [Poller.Done] is true (see
// [Poller.Wait] for what it can be), else an error wrapping [ErrNotDone].
// The result's body is the caller's to read and close, once.
func (p *Poller) Result() (Outcome, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		return nil, fmt.Errorf("%w: the job is still running", ErrNotDone)
	}
	return p.result, nil
}

// Wait polls until the job ends and returns [Poller.Result]. Before each
// poll it waits for the last answer's Retry-After (the 202's, for the first
// poll) exactly, else for the next backoff interval (see
// [WithPollInterval]). The context ends a wait at once; a wait that would
// end past the context's deadline, or past the poll budget, fails at once
// (errors matching context.DeadlineExceeded or [ErrPollBudget]). After such
// an error the Poller can still give a [Poller.ResumeToken].
func (p *Poller) Wait(ctx context.Context) (Outcome, error) {
	for {
		if p.Done() {
			return p.Result()
		}
		d := p.nextWait()
		if err := p.budget(d); err != nil {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
			return nil, fmt.Errorf("semhttp: next poll in %v is past the context deadline: %w", d, context.DeadlineExceeded)
		}
		gen := p.generation()
		if err := sleepCtx(ctx, d); err != nil {
			return nil, err
		}
		p.step.Lock()
		if p.generation() != gen {
			// Another goroutine polled while this one slept: the schedule
			// moved, so wait again rather than poll early.
			p.step.Unlock()
			continue
		}
		_, err := p.pollLocked(ctx)
		p.step.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

func (p *Poller) generation() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
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

// nextWait is how long until the next poll is due: the last answer's
// Retry-After, else the next backoff step, counted from the last answer.
func (p *Poller) nextWait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dueSet {
		d := p.hint
		if !p.hasHint {
			d = p.nextBackOff()
		}
		p.due, p.dueSet = p.lastAt.Add(d), true
	}
	return max(0, time.Until(p.due))
}

func (p *Poller) nextBackOff() time.Duration {
	if p.bo == nil {
		p.bo = backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(p.cfg.initial),
			backoff.WithMaxInterval(p.cfg.max),
			backoff.WithMultiplier(1.5),
			backoff.WithRandomizationFactor(0.2),
			backoff.WithMaxElapsedTime(0), // the poll budget ends polling, not backoff
		)
	}
	return p.bo.NextBackOff()
}

// budget fails when a poll after waiting d would exceed the budget.
func (p *Poller) budget(d time.Duration) error {
	p.mu.Lock()
	polls := p.polls
	p.mu.Unlock()
	if p.cfg.maxPolls > 0 && polls >= p.cfg.maxPolls {
		return fmt.Errorf("%w: %d polls made, the job is still running", ErrPollBudget, polls)
	}
	if p.cfg.maxTime > 0 {
		if el := time.Since(p.started) + d; el > p.cfg.maxTime {
			return fmt.Errorf("%w: the next poll would be %v after the start, past %v",
				ErrPollBudget, el.Round(time.Millisecond), p.cfg.maxTime)
		}
	}
	return nil
}

// Poll makes one poll now (no waiting) and reports what it learned. When
// the job has succeeded and the result is elsewhere, the same call fetches
// it. Once the job has ended, Poll returns the last Progress without
// sending anything. Transient failures (5xx, 429, transport errors after the
// client's retries) are not errors: they are reported in Progress.Err and
// the next poll tries again. The error is for what polling cannot get past:
// the context, the budget, an answer the interpreter refused, a refused
// link.
func (p *Poller) Poll(ctx context.Context) (Progress, error) {
	p.step.Lock()
	defer p.step.Unlock()
	return p.pollLocked(ctx)
}

// pollLocked is Poll with p.step held.
func (p *Poller) pollLocked(ctx context.Context) (Progress, error) {
	p.mu.Lock()
	if p.done {
		pr := p.last
		p.mu.Unlock()
		return pr, nil
	}
	final := p.final
	p.mu.Unlock()
	if err := p.budget(0); err != nil {
		return Progress{State: StateRunning, Percent: -1}, err
	}
	p.mu.Lock()
	p.polls++
	p.st.Polls++
	pr := step{Progress: Progress{State: StateRunning, Percent: -1, Poll: p.st.Polls}}
	p.mu.Unlock()

	var err error
	if final != nil {
		pr.State = StateSucceeded
		pr, err = p.fetchFinal(ctx, final, pr)
	} else {
		pr, err = p.pollMonitor(ctx, pr)
	}
	if err != nil {
		return pr.Progress, err
	}
	p.mu.Lock()
	p.gen++
	p.last = pr.Progress
	p.lastAt = time.Now()
	p.hint, p.hasHint = pr.RetryAfter, pr.hint
	p.dueSet = false
	p.mu.Unlock()
	if p.cfg.progress != nil {
		p.cfg.progress(pr.Progress)
	}
	return pr.Progress, nil
}

// step is a Progress with whether the answer carried a Retry-After (which
// may be zero).
type step struct {
	Progress
	hint bool
}

// noSeeOther follows every redirect but a 303: a monitor's 303 See Other
// marks the job done, and the poller fetches the result itself so that it
// knows (and can resume) which phase a failure happened in.
func noSeeOther(_ context.Context, hop Hop, _ []Hop) bool {
	return hop.StatusCode != http.StatusSeeOther
}

// pollContext is followUp(ctx, foreign, BypassCache()), with
// RedirectsFor(noSeeOther) when monitor, for the poller's requests, set
// without closures (it runs on every poll); it also marks the requests as
// polls, so that classifying their 202s leaves the body to the poller.
func pollContext(ctx context.Context, foreign, monitor bool) context.Context {
	ro := inheritedOptions(ctx)
	ro.capture, ro.foreign, ro.noCache, ro.polling = nil, foreign, true, true
	if monitor {
		ro.redirect = noSeeOther
	}
	return context.WithValue(ctx, requestOptionsKey{}, ro)
}

func (p *Poller) get(ctx context.Context, target *url.URL) (Outcome, error) {
	// Polls bypass the cache (a 304 would hide a finished job's status
	// from a second poller) and never record into a CaptureOutcome; on
	// another origin the client's default credential headers stay home.
	same := p.monitorSame
	if target != p.monitor {
		same = sameOrigin(target, p.origin)
	}
	ctx = pollContext(ctx, !same, target == p.monitor)
	// The URL was parsed and checked once (checkMonitorURL): the request
	// gets a copy of it rather than a round trip through its string.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMonitor, err)
	}
	u := *target
	u.Host = strings.TrimSuffix(u.Host, ":") // as NewRequest does: "h:" is "h"
	req.URL, req.Host = &u, u.Host
	if same {
		for k, v := range p.header {
			req.Header[k] = append([]string(nil), v...)
		}
		for k, v := range p.cfg.header {
			req.Header[k] = append([]string(nil), v...)
		}
	}
	return p.c.Send(req)
}

// transient reports whether a poll failure should just be polled again.
func transient(out Outcome, err error) bool {
	if err != nil {
		return retryableTransportError(err)
	}
	switch code := out.StatusCode(); {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code == http.StatusTooEarly:
		return true
	case code >= 500 && code != http.StatusNotImplemented, code < 100, code > 599:
		return true
	}
	return false
}

// hopped303 reports whether the client followed a 303 to get out: then out
// is the job's result, whatever its body says.
func hopped303(out Outcome) bool {
	for _, h := range out.Info().Hops {
		if h.StatusCode == http.StatusSeeOther {
			return true
		}
	}
	return false
}

func (p *Poller) pollMonitor(ctx context.Context, pr step) (step, error) {
	out, err := p.get(ctx, p.monitor)
	if err != nil || transient(out, nil) {
		return p.transientStep(ctx, pr, out, err)
	}
	resp := out.Response()
	pr.StatusCode = out.StatusCode()
	pr.RetryAfter, pr.hint = retryAfter(resp)
	if hopped303(out) {
		pr.State, pr.Percent = StateSucceeded, 100
		p.finish(out, pr.Progress)
		return pr, nil
	}
	answered := p.monitor
	if u := requestURL(resp); u != nil {
		answered = u // where the client's redirects led
	}
	in := PollResponse{
		StatusCode: pr.StatusCode, Header: resp.Header, URL: answered,
		MonitorFrom: p.st.From, Location: p.loc,
	}
	if mayBeStatusDocument(headerValue(resp.Header, "Content-Type")) {
		if body, ok := peekBody(resp); ok {
			in.Body = body
		}
	}
	dec, derr := p.cfg.interpret(in)
	if derr != nil {
		discard(out)
		if e := out.Err(); e != nil {
			derr = fmt.Errorf("%w (%w)", derr, e)
		}
		return pr, fmt.Errorf("semhttp: polling %s: %w", redact(p.monitor), derr)
	}
	pr.State, pr.Status, pr.Percent = dec.State, dec.Status, dec.Percent
	if pr.Percent < 0 || pr.Percent > 100 || math.IsNaN(pr.Percent) {
		pr.Percent = -1
	}
	switch dec.State {
	case StateRunning:
		discard(out)
		return pr, nil
	case StateSucceeded:
		if dec.Final != nil {
			discard(out)
			if err := checkMonitorURL(dec.Final, answered); err != nil {
				return pr, err
			}
			p.mu.Lock()
			p.final = dec.Final
			p.st.Final = dec.Final.String()
			p.mu.Unlock()
			return p.fetchFinal(ctx, dec.Final, pr)
		}
		if dec.Result != nil {
			out.Close()
			resp.Body = io.NopCloser(bytes.NewReader(dec.Result))
			resp.ContentLength = int64(len(dec.Result))
			resp.Header = resp.Header.Clone()
			resp.Header.Set("Content-Type", "application/json")
			resp.Header.Del("Content-Length")
			resp.Header.Del("Content-Encoding")
		}
		p.finish(out, pr.Progress)
		return pr, nil
	case StateFailed, StateCanceled, StateGone:
		jf := &JobFailed{State: dec.State, Status: dec.Status, Monitor: p.monitor}
		if dec.State == StateGone {
			jf.cause = out.Err()
		}
		body := in.Body
		if f, ok := out.(interface{ Body() []byte }); ok && body == nil {
			body = f.Body()
		}
		out.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		jf.failure = failure{base: base{resp: resp, info: out.Info()}, self: jf, body: body, problem: dec.Problem}
		p.finish(jf, pr.Progress)
		return pr, nil
	}
	out.Close()
	return pr, fmt.Errorf("semhttp: polling %s: %w: interpreter returned %v", redact(p.monitor), ErrMonitorAnswer, dec.State)
}

// fetchFinal GETs the result. A transient failure leaves the Poller in its
// final phase; the next Poll tries again.
func (p *Poller) fetchFinal(ctx context.Context, final *url.URL, pr step) (step, error) {
	out, err := p.get(ctx, final)
	if err != nil || transient(out, nil) {
		return p.transientStep(ctx, pr, out, err)
	}
	pr.State, pr.Percent = StateSucceeded, 100
	p.finish(out, pr.Progress)
	return pr, nil
}

func (p *Poller) transientStep(ctx context.Context, pr step, out Outcome, err error) (step, error) {
	if err != nil {
		if ctx.Err() != nil || !transient(nil, err) {
			return pr, fmt.Errorf("semhttp: polling: %w", err)
		}
		pr.Err = err
		return pr, nil
	}
	discard(out)
	pr.StatusCode = out.StatusCode()
	pr.RetryAfter, pr.hint = retryAfter(out.Response())
	pr.Err = out.Err()
	return pr, nil
}

// discard drains a little of an intermediate answer's body, so that its
// connection can be reused, and closes it.
func discard(out Outcome) {
	if resp := out.Response(); resp != nil && resp.Body != nil {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	}
	out.Close()
}

func (p *Poller) finish(out Outcome, pr Progress) {
	if a, ok := out.(*Accepted); ok {
		// The result is itself a 202, now the caller's: classified as a
		// poll, its body was left unread; look in it as Send would.
		a.settle()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.result, p.last = true, out, pr
}
