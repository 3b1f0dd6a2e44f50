package semhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
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
	// long; nil otherwise.
	Body []byte
	// URL is the monitor URL that answered; links are resolved against it.
	URL *url.URL
	// MonitorFrom is where the monitor was found, as Accepted.MonitorFrom
	// says ("Operation-Location", ..., "body").
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
	jsonAPIJob := r.MonitorFrom == fromContentLocation && httpsyntax.MediaType(httpsyntax.HeaderValue(r.Header, "Content-Type")) == "application/vnd.api+json"
	doc := parseObject(r.Body)
	st := readStatus(doc)
	d.Status, d.Percent = st.word, st.percent
	if code == http.StatusAccepted {
		return d, nil // StateRunning
	}
	state, known := st.state()
	if !known {
		statusMonitor := r.MonitorFrom == fromOperationLocation || r.MonitorFrom == fromAzureAsyncOperation
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

// jsonObject is a JSON object with case- and punctuation-insensitive
// member lookup.
type jsonObject map[string]json.RawMessage

// parseObject parses body as a JSON object; nil when it is not one. Member
// names are normalized; when two normalize alike the first in sorted order
// of the original names wins, so lookups are deterministic.
func parseObject(body []byte) jsonObject {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
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

// jsonString decodes raw when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
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
