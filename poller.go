package semhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// poller.go owns polling: the Poller, its options and budget, its
// schedule (Retry-After, else backoff/v4), and what each answer makes it
// do. Monitor answers are read by interpret.go; tokens are in resume.go.

// ErrPollBudget reports that a Poller used up its budget (see
// PollOptions.MaxPolls and MaxTime) before the job ended.
var ErrPollBudget = errors.New("semhttp: poll budget exhausted")

// ErrNotDone is returned by [Poller.Result] while the job is still
// running.
var ErrNotDone = errors.New("semhttp: the job is still running")

// ErrJobEnded is returned by [Poller.ResumeToken] once the job has ended:
// there is nothing left to resume.
var ErrJobEnded = errors.New("semhttp: the job has ended")

// ErrMonitorAnswer reports a monitor answer the status interpreter did not
// understand, such as a 400 or 401 or an unfollowed 307. It is fatal to
// the poll; the job itself may still be running.
var ErrMonitorAnswer = errors.New("semhttp: unexpected answer from the status monitor")

// Progress is what one poll learned. The progress callback (see
// PollOptions.Progress) sees one per poll.
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

// PollOptions configure a [Poller]: [Accepted.Wait], [Client.NewPoller],
// [Client.ResumePoller]. A zero field means the default its comment gives
// (negative means "no limit" where one is given); nil means every default.
type PollOptions struct {
	// Interval is the first wait between polls when the monitor sends no
	// Retry-After; a backoff/v4 exponential schedule grows it 1.5× per poll
	// with ±20% jitter. A Retry-After on an answer always wins: the wait is
	// that long, plus a random part of up to as long again, at most 1s (see
	// [Poller.Wait]). Zero means 1s.
	Interval time.Duration
	// MaxInterval caps the wait between polls. Zero means 30s.
	MaxInterval time.Duration
	// MaxPolls bounds the polls of the Poller. Zero, the default, means no
	// bound (MaxTime still ends polling).
	MaxPolls int
	// MaxTime bounds the time from the Poller's creation: a poll, or a
	// wait, that would exceed it fails at once with an error wrapping
	// [ErrPollBudget]. Zero means 1h; negative means no limit. A Poller
	// resumed from a token starts a fresh budget.
	MaxTime time.Duration
	// Interpret reads each monitor answer. Nil means
	// [DefaultStatusInterpreter].
	Interpret StatusInterpreter
	// Progress, when set, is called after every poll, from the goroutine
	// that polls. It must not call the Poller's Poll or Wait (it may call
	// ResumeToken).
	Progress func(Progress)
	// Header is added to every poll and to the final-resource GET (the
	// Authorization a resumed poller needs, say). Like the original
	// request's headers, it is sent only to the origin of the request that
	// started the operation.
	Header http.Header
}

// pollConfig is PollOptions with the defaults filled in.
type pollConfig struct {
	defaultInterpret bool // interpret is DefaultStatusInterpreter
	initial, max     time.Duration
	maxPolls         int
	maxTime          time.Duration
	interpret        StatusInterpreter
	progress         func(Progress)
	header           http.Header
}

// Poll defaults: see PollOptions.
const (
	defaultPollInterval    = time.Second
	defaultMaxPollInterval = 30 * time.Second
	defaultPollBudget      = time.Hour
)

func resolvePollConfig(o *PollOptions) pollConfig {
	var c pollConfig
	if o != nil {
		c = pollConfig{initial: o.Interval, max: o.MaxInterval, maxPolls: o.MaxPolls, maxTime: o.MaxTime,
			interpret: o.Interpret, progress: o.Progress, header: o.Header.Clone()}
	}
	if c.initial <= 0 {
		c.initial = defaultPollInterval
	}
	if c.max <= 0 {
		c.max = defaultMaxPollInterval
	}
	if c.max < c.initial {
		c.max = c.initial
	}
	if c.maxTime == 0 {
		c.maxTime = defaultPollBudget
	}
	if c.interpret == nil {
		c.interpret, c.defaultInterpret = DefaultStatusInterpreter, true
	}
	return c
}

// errZeroPoller is the error of a Poller that no constructor built.
var errZeroPoller = errors.New("semhttp: a Poller must come from Client.NewPoller or Client.ResumePoller")

// Poller polls one asynchronous job. Most callers want [Poller.Wait];
// [Poller.Poll] is one step, for callers that schedule polls themselves.
// Build one with [Client.NewPoller] or [Client.ResumePoller] (the zero
// Poller's methods return an error). A Poller is safe for concurrent use;
// polls are serialized.
type Poller struct {
	c       *Client
	cfg     pollConfig
	header  http.Header // the original request's forwardable headers
	origin  *url.URL
	monitor *url.URL
	loc     *url.URL // the first response's Location, beside a status monitor
	orig    *url.URL // the operation's request URL
	started time.Time
	// monitorSame: the monitor is on the origin of the job's request (so
	// polls carry its headers).
	monitorSame bool

	step sync.Mutex // serializes Poll
	fu   followUp   // the current poll's (get)

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
		return nil, ErrNotDone
	}
	return p.result, nil
}

// Wait polls until the job ends and returns [Poller.Result]. Before each
// poll it waits for the last answer's Retry-After (the 202's, for the first
// poll), else for the next backoff interval (see PollOptions.Interval). A
// Retry-After is a minimum: to it Wait adds a random part of up to as long
// again, at most 1s (Retry-After: 1 waits 1 to 2s, Retry-After: 10 waits
// 10 to 11s), so that pollers of many jobs that got the same Retry-After
// do not all poll at the same instant, and share a few connections. The context ends a wait at once; a wait that would
// end past the context's deadline, or past the poll budget, fails at once
// (errors matching context.DeadlineExceeded or [ErrPollBudget]). After such
// an error the Poller can still give a [Poller.ResumeToken].
func (p *Poller) Wait(ctx context.Context) (out Outcome, err error) {
	if p.c == nil {
		return nil, errZeroPoller
	}
	if p.c.hooks.Call != nil {
		var end callEnd
		ctx, end = p.observeWait(ctx)
		if end != nil {
			defer func() {
				var resp *http.Response
				var info Info
				if out != nil {
					resp, info = out.Response(), out.Info()
				}
				end(resp, info, out, err)
			}()
		}
	}
	for {
		d, gen, done, err := p.plan()
		switch {
		case done:
			return p.Result()
		case err != nil:
			return nil, err
		}
		if err := sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("semhttp: waiting for the next poll: %w", err)
		}
		p.step.Lock()
		if p.generation() != gen {
			// Another goroutine polled while this one slept: the schedule
			// moved, so wait again rather than poll early.
			p.step.Unlock()
			continue
		}
		_, err = p.pollLocked(ctx, p.cfg.progress != nil)
		p.step.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// observeWait starts the hooks' "wait" call: its request is a GET of the
// monitor.
func (p *Poller) observeWait(ctx context.Context) (context.Context, callEnd) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
	if err != nil {
		return ctx, nil
	}
	p.mu.Lock()
	m := p.monitor
	p.mu.Unlock()
	if m == nil {
		return ctx, nil
	}
	u := *m
	req.URL, req.Host = &u, u.Host
	req, end := p.c.observe(req, "wait")
	return req.Context(), end
}

func (p *Poller) generation() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// plan says, under one lock, whether the job has ended, and else how
// long until the next poll is due (the last answer's Retry-After, spread,
// else the next backoff step, counted from the last answer), the
// schedule's generation, and whether that poll is within the budget.
func (p *Poller) plan() (d time.Duration, gen int, done bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return 0, p.gen, true, nil
	}
	if !p.dueSet {
		d := p.hint
		if p.hasHint {
			d = spread(d)
			if p.cfg.maxTime > 0 {
				// The spread never costs a poll that the budget allows.
				if left := p.started.Add(p.cfg.maxTime).Sub(p.lastAt); p.hint <= left {
					d = min(d, left)
				}
			}
		} else {
			d = p.nextBackOff()
		}
		p.due, p.dueSet = p.lastAt.Add(d), true
	}
	d = max(0, time.Until(p.due))
	return d, p.gen, false, p.budgetLocked(d)
}

// maxSpread bounds what spread adds to a Retry-After.
const maxSpread = time.Second

// spread returns a wait of d, a Retry-After, plus a random part of up to
// d itself, at most maxSpread. Pollers of many jobs that got the same
// Retry-After at the same time then poll across a window instead of all
// at once, so that their polls reuse a few pooled connections rather than
// each dialing its own; no poll comes earlier than the server asked.
func spread(d time.Duration) time.Duration {
	w := min(d, maxSpread)
	if w <= 0 || d > math.MaxInt64-w {
		return d
	}
	return d + rand.N(w+1)
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

// budgetLocked fails when a poll after waiting d would exceed the
// budget. p.mu is held.
func (p *Poller) budgetLocked(d time.Duration) error {
	if p.cfg.maxPolls > 0 && p.polls >= p.cfg.maxPolls {
		return fmt.Errorf("%w: %d polls made, the job is still running", ErrPollBudget, p.polls)
	}
	if p.cfg.maxTime > 0 {
		// Compared without adding: a Retry-After of 99999999999 would wrap
		// the sum negative.
		if since := time.Since(p.started); d > p.cfg.maxTime-since {
			return fmt.Errorf("%w: the next poll would be %v after the start, past %v",
				ErrPollBudget, (since + min(d, p.cfg.maxTime)).Round(time.Millisecond), p.cfg.maxTime)
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
	if p.c == nil {
		return Progress{Percent: -1}, errZeroPoller
	}
	p.step.Lock()
	defer p.step.Unlock()
	return p.pollLocked(ctx, true)
}

// pollLocked is Poll with p.step held. When nobody observes the Progress
// (Wait without a Progress callback), a running answer's status document
// is not read for its status word and percent.
func (p *Poller) pollLocked(ctx context.Context, observe bool) (Progress, error) {
	p.mu.Lock()
	if p.done {
		pr := p.last
		p.mu.Unlock()
		return pr, nil
	}
	final := p.final
	if err := p.budgetLocked(0); err != nil {
		p.mu.Unlock()
		return Progress{State: StateRunning, Percent: -1}, err
	}
	p.polls++
	p.st.Polls++
	pr := step{Progress: Progress{State: StateRunning, Percent: -1, Poll: p.st.Polls}}
	p.mu.Unlock()

	var err error
	if final != nil {
		pr.State = StateSucceeded
		pr, err = p.fetchFinal(ctx, final, pr)
	} else {
		pr, err = p.pollMonitor(ctx, pr, observe)
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

func (p *Poller) get(ctx context.Context, target *url.URL) (Outcome, error) {
	// Polls bypass the cache (a 304 would hide a finished job's status
	// from a second poller) and never record into the caller's
	// RequestOptions.Outcome; on another origin no header of the job's
	// request, the call or the client's credentials goes.
	same := p.monitorSame
	if target != p.monitor {
		same = httpsyntax.SameOrigin(target, p.origin)
	}
	// Polls are serialized (p.step): one followUp serves them all.
	p.fu = followUp{foreign: !same, polling: true, noCache: true, monitor: target == p.monitor}
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
	return p.c.send(req, &p.fu)
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

func (p *Poller) pollMonitor(ctx context.Context, pr step, observe bool) (step, error) {
	out, err := p.get(ctx, p.monitor)
	if err != nil || transient(out, nil) {
		return p.transientStep(ctx, pr, out, err)
	}
	resp := out.Response()
	pr.StatusCode = out.StatusCode()
	if hopped303(out) {
		pr.State, pr.Percent = StateSucceeded, 100
		p.finish(out, pr.Progress)
		return pr, nil
	}
	answered := p.monitor
	if u := requestURL(resp); u != nil {
		answered = u // where the client's redirects led
	}
	if pr.StatusCode == http.StatusAccepted {
		pr.RetryAfter, pr.hint = retryAfter(resp)
		p.moveMonitor(resp, answered)
		if !observe && p.cfg.defaultInterpret {
			// Running, and nobody looks at the status word or percent.
			discard(out)
			return pr, nil
		}
	}
	in := PollResponse{
		StatusCode: pr.StatusCode, Header: resp.Header, URL: answered,
		MonitorFrom: p.st.From, Location: p.loc, Method: p.st.Method, OriginalURL: p.orig,
	}
	if mayBeStatusDocument(httpsyntax.HeaderValue(resp.Header, "Content-Type")) {
		body, ok, rerr := peekBody(resp)
		if rerr != nil {
			// Cut short (a reset, a stall): a failed poll, never a result.
			discard(out)
			if err := ctx.Err(); err != nil {
				return pr, fmt.Errorf("semhttp: polling: %w", err)
			}
			pr.Err = fmt.Errorf("semhttp: reading the monitor's answer: %w", rerr)
			return pr, nil
		}
		switch {
		case ok:
			in.Body = body
		case len(body) > maxStatusBody:
			// A long document (a finished analysis, say): its status is
			// read from the members its first MiB holds; the answer
			// itself streams on whole.
			in.Body = prefixMembers(body)
		}
	}
	dec, derr := p.cfg.interpret(in)
	if derr != nil {
		discard(out)
		if e := out.Err(); e != nil {
			derr = fmt.Errorf("%w (%w)", derr, e)
		}
		return pr, fmt.Errorf("semhttp: polling %s: %w", httpsyntax.Redact(p.monitor), derr)
	}
	pr.State, pr.Status, pr.Percent = dec.State, dec.Status, dec.Percent
	if pr.Percent < 0 || pr.Percent > 100 || math.IsNaN(pr.Percent) {
		pr.Percent = -1
	}
	switch dec.State {
	case StateRunning:
		pr.RetryAfter, pr.hint = retryAfter(resp) // (a 202's, again: no matter)
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
		jf := &JobError{State: dec.State, Status: dec.Status, Monitor: p.monitor}
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
	return pr, fmt.Errorf("semhttp: polling %s: %w: interpreter returned %v", httpsyntax.Redact(p.monitor), ErrMonitorAnswer, dec.State)
}

// moveMonitor follows a monitor's 202 that names a new monitor: a new
// Operation-Location (or Azure-AsyncOperation) from a status monitor, a
// new Location from any other.
func (p *Poller) moveMonitor(resp *http.Response, answered *url.URL) {
	key := "Location"
	switch p.st.From {
	case fromOperationLocation:
		key = "Operation-Location"
	case fromAzureAsyncOperation:
		key = "Azure-Asyncoperation"
	}
	if len(resp.Header[key]) == 0 {
		return
	}
	u, err := headerLink(resp.Header, key, answered)
	if err != nil || u == nil || checkMonitorURL(u, answered) != nil || *u == *p.monitor {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.monitor = u
	p.monitorSame = httpsyntax.SameOrigin(u, p.origin)
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

// discard drains an intermediate answer's body (drainClose), so that its
// connection can be reused, and closes the outcome.
func discard(out Outcome) {
	if resp := out.Response(); resp != nil && resp.Body != nil {
		drainClose(resp.Body)
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
