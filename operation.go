package semhttp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// operation.go tells which outcomes stand for a running operation, in the
// shapes APIs send — a 202 with a monitor, a 200 or 201 with
// Operation-Location or Azure-AsyncOperation (Microsoft's REST API
// guidelines), a PUT or PATCH whose resource reports a provisioningState
// (Azure Resource Manager), a GET answered 202 with no monitor at all
// (GitHub's statistics) — and builds the Poller for it (NewPoller).

// Monitor sources beyond a header's name and "body".
const (
	// fromResource: a PUT or PATCH whose answer reported a provisioningState
	// still in progress; the resource's own URL is polled until it is
	// terminal.
	fromResource = "resource"
	// fromRequest: a GET (or HEAD) answered 202 without a monitor; the same
	// request is sent again until it is answered otherwise.
	fromRequest = "request"
)

// statusMonitor reports whether from names a monitor that must answer a
// status document (Microsoft's Operation-Location, Azure-AsyncOperation).
func statusMonitor(from string) bool {
	return from == fromOperationLocation || from == fromAzureAsyncOperation
}

// NewPoller returns a Poller for the operation that out stands for, polled
// through c: the job of a 202 with a monitor (or, for a GET, with none:
// the same GET is sent again until it is not answered 202); a 200 or 201
// that names an Operation-Location or Azure-AsyncOperation and whose body
// does not already say the operation ended; a PUT or PATCH answered 200 or
// 201 whose body reports a provisioningState still in progress (the
// resource's URL is polled). For any other outcome, nothing is running:
// the Poller is already done, and its result is out itself (or a
// *[JobError] when out's body says the operation failed or was canceled).
// [Accepted.Wait] is the short way for a 202.
//
// It fails with an error wrapping [ErrNoMonitor] or [ErrBadMonitor] when a
// 202 to a request that is not safe to repeat named nothing usable. To
// read a status from a 200 or 201, NewPoller reads up to 1 MiB of its JSON
// body (under the original request's context) and puts it back whole: the
// outcome's body stays the caller's to read and close; closing it after the
// Poller returned it as its result is harmless.
func (c *Client) NewPoller(out Outcome, opts *PollOptions) (*Poller, error) {
	c.init()
	if out == nil {
		return nil, ErrNoMonitor
	}
	if a, ok := out.(*Accepted); out.Response() == nil && (!ok || a.Monitor == nil) {
		return nil, ErrNoMonitor // hand-built, with nothing to poll
	}
	p := &Poller{c: c, cfg: resolvePollConfig(opts), started: time.Now()}
	p.lastAt = p.started
	resp := out.Response()
	reqURL := requestURL(resp)
	if reqURL != nil {
		p.origin = httpsyntax.Origin(reqURL)
		p.st.Origin = p.origin.String()
	}
	if r := requestOf(resp); r != nil {
		p.header = forwardable(r.Header)
		p.st.Method = methodOf(r)
		p.orig = cloneURL(reqURL)
		if p.orig != nil {
			p.orig.User, p.orig.Fragment, p.orig.RawFragment = nil, "", ""
			p.st.Orig = p.orig.String()
		}
	}
	monitor, from, err := p.operationOf(out)
	if err != nil {
		return nil, err
	}
	if monitor == nil {
		return p, nil // done: p.finish has the result
	}
	if err := checkMonitorURL(monitor, reqURL); err != nil {
		return nil, err
	}
	p.monitor, p.st.Monitor, p.st.From = monitor, monitor.String(), from
	p.monitorSame = httpsyntax.SameOrigin(p.monitor, p.origin)
	if statusMonitor(from) && resp != nil {
		if loc, err := responseLocation(resp); err == nil && loc != nil && checkMonitorURL(loc, reqURL) == nil {
			p.loc = loc
			p.st.Location = loc.String()
		}
	}
	p.hint, p.hasHint = retryAfter(resp)
	return p, nil
}

// operationOf finds the monitor of the operation out stands for, and where
// it came from; a nil monitor with a nil error means nothing is running,
// and p is then done.
func (p *Poller) operationOf(out Outcome) (*url.URL, string, error) {
	resp := out.Response()
	method := p.st.Method
	switch o := out.(type) {
	case *Accepted:
		o.resolveMonitor()
		if o.Monitor != nil {
			return o.Monitor, o.MonitorFrom, nil
		}
		if (method == http.MethodGet || method == http.MethodHead) && p.orig != nil &&
			(o.MonitorErr == nil || o.MonitorErr == ErrNoMonitor) {
			return p.orig, fromRequest, nil // "computing, ask again"
		}
		if o.MonitorErr != nil {
			return nil, "", o.MonitorErr
		}
		return nil, "", ErrNoMonitor
	case *OK, *Created:
		code := resp.StatusCode
		if code != http.StatusOK && code != http.StatusCreated {
			break
		}
		var doc jsonObject
		if mayBeStatusDocument(httpsyntax.HeaderValue(resp.Header, "Content-Type")) {
			if body, ok, _ := peekBody(resp); ok {
				doc = parseObject(body)
			}
		}
		monitor, from, err := findMonitor(resp, false)
		if !statusMonitor(from) && (len(resp.Header["Operation-Location"]) > 0 || len(resp.Header["Azure-Asyncoperation"]) > 0) {
			// A refused status monitor is not "nothing running".
			return nil, "", fmt.Errorf("%w: the %d's operation monitor", ErrBadMonitor, code)
		}
		if err == nil && statusMonitor(from) {
			// The body may say the operation already ended.
			st := readStatus(doc)
			if state, known := st.state(); !known || state == StateRunning {
				return monitor, from, nil
			}
			return nil, "", p.endedAt(out, doc, readStatus(doc))
		}
		if (method == http.MethodPut || method == http.MethodPatch) && p.orig != nil {
			if st := readProvisioningState(doc); st.word != "" {
				if state, _ := st.state(); state == StateRunning {
					return p.orig, fromResource, nil
				}
				return nil, "", p.endedAt(out, doc, st)
			}
		}
	}
	p.finish(out, Progress{State: StateSucceeded, Percent: 100, StatusCode: resp.StatusCode})
	return nil, "", nil
}

// endedAt finishes p with out, whose body (doc) says the operation ended:
// out itself when it succeeded, else a *JobError.
func (p *Poller) endedAt(out Outcome, doc jsonObject, st docStatus) error {
	state, _ := st.state()
	pr := Progress{State: state, Status: st.word, Percent: -1, StatusCode: out.StatusCode()}
	if state == StateSucceeded {
		pr.Percent = 100
		p.finish(out, pr)
		return nil
	}
	resp := out.Response()
	body, _, _ := peekBody(resp)
	out.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	je := &JobError{State: state, Status: st.word, Monitor: p.orig}
	je.failure = failure{base: base{resp: resp, info: out.Info()}, self: je, body: body,
		problem: docProblem(doc, resp.Header, body, requestURL(resp))}
	p.finish(je, pr)
	return nil
}

// readProvisioningState finds Azure Resource Manager's provisioningState,
// at the top of a resource or under its properties. It is the only status
// a resource's own body is read for: a "status" member there may describe
// the resource ("Running" for a VM), not the operation.
func readProvisioningState(doc jsonObject) docStatus {
	st := docStatus{percent: -1}
	for _, o := range [...]jsonObject{doc, doc.object("properties")} {
		if w, ok := o.stringMember("provisioningstate"); ok {
			st.word, st.holder = w, o
			return st
		}
	}
	return st
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

func requestOf(resp *http.Response) *http.Request {
	if resp == nil {
		return nil
	}
	return resp.Request
}
