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
// through c: the job of a 202 with a monitor (or, for a GET or HEAD, with
// none: the same request is sent again until it is not answered 202); a
// 200 or 201 that names an Azure-AsyncOperation or Operation-Location,
// unless its body (read for its provisioningState, or an AIP-151 done)
// says the operation already ended; a PUT or PATCH answered 200 or 201
// whose provisioningState is still in progress (the resource's URL is
// polled). For any other outcome, nothing is running: the Poller is
// already done, and its result is out itself (or a *[JobError] when out's
// body says the operation failed or was canceled). [Accepted.Wait] is the
// short way for a 202.
//
// It fails with an error wrapping [ErrNoMonitor] for a 202 to a request
// that is not safe to repeat that names no monitor (and for an outcome
// built by hand without a response or monitor), with [ErrBadMonitor] when
// the monitor named was refused, and with the read error when the 200 or
// 201's body was cut short. To read a 200 or 201's status, NewPoller reads
// its JSON body when its length is known and at most 1 MiB (a body of
// unknown length is not waited on: a monitor is then polled, and a
// resource is taken as it is) and puts it back whole: the outcome's body
// stays the caller's to read and close; closing it after the Poller
// returned it as its result is harmless.
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
	if r := requestOf(resp); r != nil {
		p.header = forwardable(r.Header)
		p.st.Method = methodOf(r)
		p.orig = cloneURL(reqURL)
		if p.orig != nil {
			p.orig.User, p.orig.Fragment, p.orig.RawFragment = nil, "", ""
		}
		p.origin = p.orig // compared as an origin only (SameOrigin)
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
	p.monitor, p.st.From = monitor, from
	p.monitorSame = httpsyntax.SameOrigin(p.monitor, p.origin)
	if statusMonitor(from) && resp != nil {
		if loc, err := responseLocation(resp); err == nil && loc != nil && checkMonitorURL(loc, reqURL) == nil {
			p.loc = loc
		}
	}
	if a, ok := out.(*Accepted); ok && !a.unsettled {
		p.hint, p.hasHint = a.RetryAfter, a.retryHint || a.RetryAfter > 0
	} else {
		p.hint, p.hasHint = retryAfter(resp)
	}
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
		monitor, from, err := findMonitor(resp, false)
		if !statusMonitor(from) && (len(resp.Header["Operation-Location"]) > 0 || len(resp.Header["Azure-Asyncoperation"]) > 0) {
			// A refused status monitor is not "nothing running".
			return nil, "", fmt.Errorf("%w: the %d's operation monitor", ErrBadMonitor, code)
		}
		status := err == nil && statusMonitor(from)
		resource := (method == http.MethodPut || method == http.MethodPatch) && p.orig != nil
		if !status && !resource {
			break
		}
		// The body is the resource (or an AIP-151 operation): only its
		// provisioningState, or done, says whether the operation ended. It
		// is read only when its length is known and small: NewPoller has
		// no context to end a body that stalls.
		var doc jsonObject
		if n := resp.ContentLength; n > 0 && n <= maxStatusBody && mayBeStatusDocument(httpsyntax.HeaderValue(resp.Header, "Content-Type")) {
			body, ok, rerr := peekBody(resp)
			if rerr != nil {
				return nil, "", fmt.Errorf("semhttp: reading the body of the %d: %w", code, rerr)
			}
			if ok {
				doc = parseObject(body)
			}
		}
		st := readProvisioningState(doc)
		if status && st.word == "" {
			st.readDone(doc)
		}
		state, _ := st.state()
		switch {
		case st.word == "" && !st.done:
			if status {
				return monitor, from, nil // nothing said: the monitor will
			}
		case state == StateRunning && status:
			return monitor, from, nil
		case state == StateRunning:
			return p.orig, fromResource, nil
		default:
			return nil, "", p.endedAt(out, doc, st)
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
	if w, ok := doc.stringMember("provisioningstate"); ok {
		st.word = w
	} else if props := doc.object("properties"); props != nil {
		st.word, _ = props.stringMember("provisioningstate")
		st.holder = props
	}
	return st
}

// forwardable copies the request headers a poll may reuse: everything but
// headers about the request's body, preconditions, preferences and keys.
func forwardable(h http.Header) http.Header {
	var out http.Header
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
		if out == nil {
			out = make(http.Header, len(h))
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
