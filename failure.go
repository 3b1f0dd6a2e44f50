package semhttp

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// failure.go declares the failure kinds: every 4xx and 5xx kind,
// *Nonstandard and *JobError, and what they share (the captured body,
// problem details, the error text). errors.As finds the class of any kind
// through the As methods of ClientError and ServerError.

// failure is the common part of every failure kind: captured body, problem
// details, and the error text.
type failure struct {
	base
	self      error
	body      []byte
	truncated bool
	bodyErr   error
	problem   *Problem
}

// Err returns the outcome itself, as an error. (On a failure kind's zero
// value, which has no outcome to return, it is a generic error.)
func (f *failure) Err() error {
	if f.self != nil {
		return f.self
	}
	return f
}

// Close is a no-op: failure kinds closed their body when they were built.
func (f *failure) Close() error { f.closed = true; return nil }

// Body returns the captured bytes of the response body (at most the
// client's error-body cap).
func (f *failure) Body() []byte { return f.body }

// BodyTruncated reports whether the body was longer than the cap.
func (f *failure) BodyTruncated() bool { return f.truncated }

// BodyErr is the error that cut the capture short (say
// io.ErrUnexpectedEOF when the server sent less than its Content-Length),
// or nil when the body was read to its end or to the cap.
func (f *failure) BodyErr() error { return f.bodyErr }

// Problem returns the RFC 9457 problem details of the response. It is
// never nil: when the body was not application/problem+json (or not a
// JSON object), it is the reading RFC 9457 §4.2.1 gives such a response —
// Type "about:blank", Status the status code, Title its reason phrase
// ("Not Found"), the rest empty.
func (f *failure) Problem() *Problem {
	if f.problem != nil {
		return f.problem
	}
	return blankProblem(f.resp)
}

// Error describes the failure: method, URL (without credentials or query),
// status, and the problem title and detail when the server sent them.
func (f *failure) Error() string {
	var sb strings.Builder
	sb.WriteString("semhttp: ")
	if f.resp == nil {
		sb.WriteString("failure outcome without a response")
		return sb.String()
	}
	if r := f.resp.Request; r != nil && r.URL != nil {
		sb.WriteString(methodOf(r))
		sb.WriteByte(' ')
		sb.WriteString(httpsyntax.Redact(r.URL))
		sb.WriteString(": ")
	}
	sb.WriteString(statusLine(f.resp))
	if p := f.problem; p != nil {
		if p.Title != "" {
			sb.WriteString(": ")
			sb.WriteString(p.Title)
		}
		if p.Detail != "" {
			sb.WriteString(": ")
			sb.WriteString(p.Detail)
		}
	}
	return sb.String()
}

// blankProblem is the about:blank problem of resp (RFC 9457 §4.2.1): the
// status code and its recommended reason phrase, or the phrase the server
// sent for a code that has none.
func blankProblem(resp *http.Response) *Problem {
	p := &Problem{Type: "about:blank"}
	if resp != nil {
		p.Status = resp.StatusCode
		if p.Title = http.StatusText(resp.StatusCode); p.Title == "" {
			p.Title = reasonPhrase(resp)
		}
	}
	return p
}

// ClientError is an unlisted 4xx, handled as 400 (RFC 9110 §15). Every
// listed 4xx kind embeds a ClientError, and errors.As(err,
// new(*semhttp.ClientError)) matches any 4xx.
type ClientError struct{ failure }

// As lets errors.As(err, &clientErr) match every 4xx kind, whose
// ClientError it sets. It is promoted into each 4xx kind, which is a
// ClientError (as Go's embedding says): *NotFound, *Conflict, and the rest.
func (e *ClientError) As(target any) bool {
	if t, ok := target.(**ClientError); ok {
		*t = e
		return true
	}
	return false
}

// ServerError is a 500, 502, 504 or unlisted 5xx. Every 5xx kind and
// *Nonstandard embed a ServerError, and errors.As(err,
// new(*semhttp.ServerError)) matches any of them.
type ServerError struct{ failure }

// As lets errors.As(err, &serverErr) match every 5xx kind and
// *Nonstandard, whose ServerError it sets.
func (e *ServerError) As(target any) bool {
	if t, ok := target.(**ServerError); ok {
		*t = e
		return true
	}
	return false
}

// BadRequest is a 400.
type BadRequest struct{ ClientError }

// Unauthorized is a 401. Challenges are its parsed WWW-Authenticate values.
type Unauthorized struct {
	ClientError
	Challenges []Challenge
}

// Forbidden is a 403.
type Forbidden struct{ ClientError }

// NotFound is a 404.
type NotFound struct{ ClientError }

// MethodNotAllowed is a 405. Allow lists the methods the server named; it
// is empty (not an error) when the server sent no Allow header, as nginx does.
type MethodNotAllowed struct {
	ClientError
	Allow []string
}

// NotAcceptable is a 406.
type NotAcceptable struct{ ClientError }

// Conflict is a 409.
type Conflict struct{ ClientError }

// Gone is a 410.
type Gone struct{ ClientError }

// PreconditionFailed is a 412: a conditional request's validator no longer
// matches (someone else changed the resource).
type PreconditionFailed struct{ ClientError }

// URITooLong is a 414.
type URITooLong struct{ ClientError }

// RangeNotSatisfiable is a 416. CompleteLength is the representation length
// from "Content-Range: */N", or -1 when the server did not send it.
type RangeNotSatisfiable struct {
	ClientError
	CompleteLength int64
}

// PreconditionRequired is a 428: the server wants the request conditional.
type PreconditionRequired struct{ ClientError }

// TooManyRequests is a 429. RetryAfter is the server's requested wait (zero
// when absent or invalid).
type TooManyRequests struct {
	ClientError
	RetryAfter time.Duration
}

// NotImplemented is a 501: permanent, never retried.
type NotImplemented struct{ ServerError }

// ServiceUnavailable is a 503. RetryAfter is the server's requested wait
// (zero when absent or invalid).
type ServiceUnavailable struct {
	ServerError
	RetryAfter time.Duration
}

// Nonstandard is a status outside 100–599 but still three digits (000–099,
// 600–999). RFC 9110 §15 says to handle it as a 5xx, so it is a
// *ServerError to errors.As and is never a success.
type Nonstandard struct {
	ServerError
	// Code is the raw code; Reason the reason phrase the server sent.
	Code   int
	Reason string
}

// JobError is the outcome of a job that ended badly: its status document
// said failed or canceled (State StateFailed or StateCanceled), or its
// monitor answered 404 or 410 (StateGone). It is a failure kind: Err
// returns it, Problem returns the error the server reported, Body the
// captured document. For StateGone it unwraps to the monitor's *NotFound or
// *Gone, so errors.As(err, new(*semhttp.Gone)) works too.
type JobError struct {
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
func (e *JobError) Error() string {
	var sb strings.Builder
	sb.WriteString("semhttp: async job ")
	sb.WriteString(e.State.String())
	if e.Status != "" && normalize(e.Status) != e.State.String() {
		sb.WriteString(" (" + e.Status + ")")
	}
	if e.Monitor != nil {
		sb.WriteString(" at " + httpsyntax.Redact(e.Monitor))
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
func (e *JobError) Problem() *Problem {
	if e.problem != nil || e.State == StateGone {
		return e.failure.Problem()
	}
	return &Problem{Type: "about:blank", Title: "Job " + e.State.String()}
}

// Unwrap returns the monitor's own failure outcome for StateGone, else nil.
func (e *JobError) Unwrap() error { return e.cause }
