package semhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// interpret.go reads what a status monitor answers: JobState, the
// StatusInterpreter hook and DefaultStatusInterpreter, with the
// vocabularies of status documents seen in the wild.

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
	// Body holds the body when it is JSON (or untyped) and at most 1 MiB
	// long. Of a longer JSON object it holds the top-level members the
	// default interpreter reads (status, done, error, percent and link
	// members, name, properties, metadata, data) that its first MiB holds
	// whole, up to 64 KiB each: a long succeeded document is then the
	// result, streamed whole. Nil otherwise.
	Body []byte
	// URL is the monitor URL that answered; links are resolved against it.
	URL *url.URL
	// MonitorFrom is where the monitor was found, as Accepted.MonitorFrom
	// says ("Operation-Location", ..., "body"), or "resource" (the URL of
	// a PUT or PATCH whose answer reported a provisioningState in
	// progress) or "request" (a GET answered 202 with no monitor, sent
	// again).
	MonitorFrom string
	// Method is the method of the request that started the operation: with
	// a status monitor it says where the result is (see
	// DefaultStatusInterpreter).
	Method string
	// OriginalURL is the URL of that request (the resource a PUT or PATCH
	// wrote).
	OriginalURL *url.URL
	// Location is the Location header of the response that started the
	// operation, when the monitor came from another header
	// (Operation-Location, Azure-AsyncOperation): where a POST's result is
	// (see DefaultStatusInterpreter).
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

// DefaultStatusInterpreter is the standard reading of monitor answers.
// First, by where the monitor came from (PollResponse.MonitorFrom):
//   - "request" (a GET answered 202 with no monitor, sent again): any
//     answer but a 202 or a 303 is the result, as Send would return it.
//   - "resource" (a PUT or PATCH whose resource reported a
//     provisioningState): 202 is running; a 2xx whose provisioningState
//     (top level or under properties) is Succeeded, or that has none, is
//     the result; Failed or Canceled are a failure; any other
//     provisioningState is running.
//
// Then, for every monitor:
//   - 404 or 410: StateGone.
//   - 303 See Other: StateSucceeded, the result at its Location.
//   - 304 Not Modified (a conditional poll): StateRunning, as before.
//   - 202: StateRunning (status and percent read from the body if any).
//   - other 2xx with a status document — a status (or state,
//     provisioningState, runtimeStatus, ...) member at the top level, under
//     properties or data.attributes (JSON:API), or a boolean done (Google's
//     AIP-151, where done wins: with error it is a failure, else a success
//     whose result is the response member): running words (running,
//     inProgress, pending, queued, accepted, notStarted, ...) keep polling;
//     failed or canceled give a failure carrying the document's error
//     (problem details, an "error" object with code and message, or
//     JSON:API "errors"); succeeded, completed or done:true are success,
//     the result found as below.
//   - other 2xx without a status document: from a status monitor
//     (Operation-Location, Azure-AsyncOperation), which promises one, an
//     error wrapping [ErrMonitorAnswer]; from a JSON:API job
//     (application/vnd.api+json from a Content-Location monitor), running
//     until it answers 303; from any other monitor, the answer is the
//     result. A status word it does not know is running from a status
//     monitor, and "no status document" from any other.
//   - anything else: an error wrapping [ErrMonitorAnswer].
//
// The result of a success, from a status monitor, depends on the method
// that started the operation (Microsoft's REST API guidelines, Azure
// Resource Manager): PUT or PATCH, a GET of the resource written (the
// original URL); DELETE, the status document; any other (POST), a GET of
// the first response's Location when it had one, else of the document's
// resourceLocation, else the document. From any other monitor: the
// document's link (resourceLocation, resultUrl, ..., then the answer's
// Location header), else the document itself.
func DefaultStatusInterpreter(r PollResponse) (PollDecision, error) {
	d := PollDecision{Percent: -1}
	code := r.StatusCode
	switch {
	case code == http.StatusSeeOther:
		loc, err := headerLink(r.Header, "Location", r.URL)
		if err != nil || loc == nil {
			return d, fmt.Errorf("%w: 303 See Other without a usable Location", ErrMonitorAnswer)
		}
		d.State, d.Final = StateSucceeded, loc
		return d, nil
	case r.MonitorFrom == fromRequest:
		if code != http.StatusAccepted {
			d.State, d.Percent = StateSucceeded, 100 // the answer, whatever it is
		}
		return d, nil
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
	case code < 200 || code > 299:
		return d, fmt.Errorf("%w: status %d", ErrMonitorAnswer, code)
	}
	doc := parseObject(r.Body)
	if r.MonitorFrom == fromResource {
		return resourceDecision(d, doc, r)
	}
	st := readStatus(doc)
	d.Status, d.Percent = st.word, st.percent
	if code == http.StatusAccepted {
		return d, nil // StateRunning
	}
	state, known := st.state()
	status := statusMonitor(r.MonitorFrom)
	if !known {
		switch {
		case status && st.word != "":
			return d, nil // an unknown word: StateRunning
		case status && doc == nil:
			return d, fmt.Errorf("%w: status %d without a JSON status document", ErrMonitorAnswer, code)
		case status:
			return d, fmt.Errorf("%w: status %d, the document has no status", ErrMonitorAnswer, code)
		case r.MonitorFrom == fromContentLocation && httpsyntax.MediaType(httpsyntax.HeaderValue(r.Header, "Content-Type")) == "application/vnd.api+json":
			return d, nil // a JSON:API job runs until its 303
		}
		d.State = StateSucceeded // the answer is the result
		return d, nil
	}
	d.State = state
	switch state {
	case StateSucceeded:
		if d.Percent < 0 {
			d.Percent = 100
		}
		if status && r.Method != "" {
			d.Final = resultByMethod(doc, st.holder, r)
		} else {
			d.Final = finalLink(doc, st.holder, r)
		}
		if d.Final == nil && st.done && st.response != nil {
			d.Result = st.response
		}
	case StateFailed, StateCanceled:
		d.Problem = docProblem(doc, r.Header, r.Body, r.URL)
	}
	return d, nil
}

// resourceDecision reads a resource polled for its provisioningState.
func resourceDecision(d PollDecision, doc jsonObject, r PollResponse) (PollDecision, error) {
	st := readProvisioningState(doc)
	d.Status = st.word
	if r.StatusCode == http.StatusAccepted {
		return d, nil
	}
	state, known := st.state()
	switch {
	case st.word == "":
		state = StateSucceeded // a 204, or a resource that does not say
	case !known:
		state = StateRunning // a state of its own ("Migrating"): not terminal
	}
	d.State = state
	switch state {
	case StateSucceeded:
		d.Percent = 100
	case StateFailed, StateCanceled:
		d.Problem = docProblem(doc, r.Header, r.Body, r.URL)
	}
	return d, nil
}

// resultByMethod is where a status monitor's success puts the result, by
// the method that started the operation; nil means the document.
func resultByMethod(doc, holder jsonObject, r PollResponse) *url.URL {
	switch r.Method {
	case http.MethodPut, http.MethodPatch:
		if r.OriginalURL != nil && r.OriginalURL.IsAbs() {
			return cloneURL(r.OriginalURL)
		}
		return nil
	case http.MethodDelete:
		return nil
	}
	if r.Location != nil && r.Location.IsAbs() {
		return cloneURL(r.Location)
	}
	for _, o := range [...]jsonObject{holder, doc} {
		if raw, ok := o.get("resourcelocation"); ok { // (a nil holder has none)
			if s, ok := linkString(raw); ok {
				if u, err := parseReference(r.URL, s); err == nil && u.IsAbs() {
					return u
				}
			}
		}
	}
	return nil
}

// docStatus is what readStatus found.
type docStatus struct {
	word     string          // the status as spelled
	done     bool            // a boolean done member was found
	doneVal  bool            // its value
	errored  bool            // beside done:true, a non-null "error"
	response json.RawMessage // beside done:true, the "response" member
	percent  float64
	holder   jsonObject // the object holding the status, when not the document
}

func (s docStatus) state() (JobState, bool) {
	w := normalize(s.word)
	if s.done {
		// Google's AIP-151: done is the truth; error or a failed word on a
		// done operation is a failure.
		switch {
		case !s.doneVal:
			return StateRunning, true
		case s.errored || failedWords[w]:
			return StateFailed, true
		case canceledWords[w]:
			return StateCanceled, true
		}
		return StateSucceeded, true
	}
	if s.word != "" {
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
	}
	return StateRunning, false
}

// readStatus finds the status word, done flag and percent in doc. Each
// object is read in one pass over its members, the best-ranked name of
// each kind winning (statusNames, percentNames), so that the cost follows
// the document's size, not the vocabulary's.
func readStatus(doc jsonObject) docStatus {
	st := docStatus{percent: -1}
	if doc == nil {
		return st
	}
	for i, o := range [...]jsonObject{doc, doc.object("properties"), doc.object("data").object("attributes"), doc.object("metadata")} {
		if o == nil {
			continue
		}
		if st.word == "" {
			if st.word = o.statusWord(); st.word != "" && i > 0 {
				st.holder = o
			}
		}
		if st.percent < 0 {
			st.percent = o.percent()
		}
	}
	st.readDone(doc)
	return st
}

// readDone reads Google's AIP-151 operation: a boolean done (with error or
// response beside a true one), or, as proto3 JSON leaves a false done
// out, an operation's name ("operations/..." at its end) without done.
func (st *docStatus) readDone(doc jsonObject) {
	raw, ok := doc.get("done")
	if !ok {
		if name, ok := doc.stringMember("name"); ok && strings.Contains(name, "operations/") && st.word == "" {
			st.done = true // done: false, left out
		}
		return
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return
	}
	st.done, st.doneVal = true, b
	if b {
		if resp, ok := doc.get("response"); ok && !isNull(resp) {
			st.response = resp
		}
		if e, ok := doc.get("error"); ok && !isNull(e) {
			st.errored = true
		}
	}
}

// rank maps each name of a vocabulary to its place in it.
func rank(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

var (
	statusRank  = rank(statusNames)
	percentRank = rank(percentNames)
	finalRank   = rank(finalNames)
)

// statusWord is o's status: the best-ranked status member that is a
// non-blank string, or an object with a state, status or phase string
// ("status": {"state": "RUNNING"}).
func (o jsonObject) statusWord() string {
	best, word := len(statusNames), ""
	for _, m := range o {
		r, ok := statusRank[m.name]
		raw := m.raw
		if !ok || r >= best {
			continue
		}
		w, ok := jsonString(raw)
		if !ok {
			inner := parseObject(raw)
			for _, n2 := range [...]string{"state", "status", "phase"} {
				if w, ok = inner.stringMember(n2); ok {
					break
				}
			}
		}
		if ok && strings.TrimSpace(w) != "" {
			best, word = r, w
		}
	}
	return word
}

// percent is o's best-ranked percent member in 0–100 (a number, or a
// string such as "45%"), else -1.
func (o jsonObject) percent() float64 {
	best, pct := len(percentNames), -1.0
	for _, m := range o {
		r, ok := percentRank[m.name]
		raw := m.raw
		if !ok || r >= best {
			continue
		}
		var f float64
		var err error
		if s, ok := jsonString(raw); ok {
			f, err = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
		} else {
			// A JSON number (doc came through the decoder) parses alike.
			f, err = strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
		}
		if err == nil && f >= 0 && f <= 100 {
			best, pct = r, f
		}
	}
	return pct
}

// finalLink is where a succeeded status document says the result is: the
// best-ranked link of the object holding the status (nil: doc), else of
// doc, else of its links, _links or data.links; else the answer's
// Location header; else the 202's Location.
func finalLink(doc, holder jsonObject, r PollResponse) *url.URL {
	for _, o := range [...]jsonObject{holder, doc, doc.object("links"), doc.object("_links"), doc.object("data").object("links")} {
		best := len(finalNames)
		var link *url.URL
		for _, m := range o {
			rk, ok := finalRank[m.name]
			raw := m.raw
			if !ok || rk >= best {
				continue
			}
			if s, ok := linkString(raw); ok {
				if u, err := parseReference(r.URL, s); err == nil && u.IsAbs() {
					best, link = rk, u
				}
			}
		}
		if link != nil {
			return link
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
	vals := h[name] // name is canonical
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
	if isProblemJSON(httpsyntax.HeaderValue(h, "Content-Type")) {
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
