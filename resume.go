package semhttp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// resume.go turns a Poller into a token and back: versioned,
// checksummed, its URLs checked again when it is read.

// ErrBadResumeToken reports a resume token that is corrupt, of an unknown
// version, or names URLs that would be refused.
var ErrBadResumeToken = errors.New("semhttp: invalid resume token")

// pollState is what a resume token carries.
type pollState struct {
	Monitor  string `json:"monitor"`
	From     string `json:"from"`
	Origin   string `json:"origin"`             // scheme://host:port of the request that got the 202
	Location string `json:"location,omitempty"` // the 202's Location, when the monitor is another header
	Final    string `json:"final,omitempty"`    // set once the result is to be fetched from there
	Method   string `json:"method,omitempty"`   // of the request that started the operation
	Orig     string `json:"orig,omitempty"`     // its URL (without userinfo): a PUT's result, a resource's status
	Polls    int    `json:"polls"`
	WaitMS   int64  `json:"wait_ms,omitempty"` // the last Retry-After, for the next poll
	HasWait  bool   `json:"has_wait,omitempty"`
}

const (
	tokenPrefix   = "semhttp.poll."
	tokenVersion  = "1"
	maxTokenBytes = 32 << 10
)

// ResumeToken returns a token from which [Client.ResumePoller] rebuilds
// this Poller, in this process or another. It is printable ASCII, versioned
// and checksummed. It holds the monitor URL and the URL of the request
// that started the operation (a PUT's resource, polled or fetched at the
// end), whose queries may carry a signature or a key: store it as you
// would a credential. It holds no header. It fails with [ErrJobEnded] once
// the job has ended.
func (p *Poller) ResumeToken() (string, error) {
	if p.c == nil {
		return "", errZeroPoller
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return "", ErrJobEnded
	}
	st := p.st
	// The URLs are spelled out here, not on every poll.
	st.Monitor = urlString(p.monitor)
	if p.origin != nil {
		st.Origin = httpsyntax.Origin(p.origin).String()
	}
	st.Location, st.Final, st.Orig = urlString(p.loc), urlString(p.final), urlString(p.orig)
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

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
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
			return bad("origin %q", httpsyntax.RedactRaw(st.Origin))
		}
		origin = u
	}
	for _, f := range []struct{ name, v string }{{"monitor", st.Monitor}, {"location", st.Location}, {"final", st.Final}, {"orig", st.Orig}} {
		if f.v == "" && f.name != "monitor" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil {
			return bad("%s %q: %w", f.name, httpsyntax.RedactRaw(f.v), causeOf(err))
		}
		if err = checkMonitorURL(u, origin); err != nil {
			return bad("%s: %w", f.name, err)
		}
	}
	switch st.From {
	case fromOperationLocation, fromAzureAsyncOperation, fromLocation, fromContentLocation, fromBody, fromResource, fromRequest:
	default:
		return bad("monitor source %q", st.From)
	}
	if len(st.Method) > 16 || st.Method != "" && !httpsyntax.IsToken(st.Method) {
		return bad("method %q", st.Method)
	}
	if st.Polls < 0 || st.WaitMS < 0 || st.WaitMS > math.MaxInt64/int64(time.Millisecond) {
		return bad("negative or oversized counter")
	}
	return st, nil
}

// ResumePoller rebuilds a Poller from a token made by
// [Poller.ResumeToken], possibly in another process. Headers of the
// original request are not in the token: pass them in PollOptions.Header.
// A corrupt or unknown token gives an error wrapping [ErrBadResumeToken].
func (c *Client) ResumePoller(token string, opts *PollOptions) (*Poller, error) {
	c.init()
	st, err := decodeResumeToken(token)
	if err != nil {
		return nil, err
	}
	p := &Poller{c: c, cfg: resolvePollConfig(opts), st: st, started: time.Now()}
	p.monitor, _ = url.Parse(st.Monitor)
	if st.Origin != "" {
		p.origin, _ = url.Parse(st.Origin)
	}
	p.monitorSame = httpsyntax.SameOrigin(p.monitor, p.origin)
	if st.Location != "" {
		p.loc, _ = url.Parse(st.Location)
	}
	if st.Final != "" {
		p.final, _ = url.Parse(st.Final)
	}
	if st.Orig != "" {
		p.orig, _ = url.Parse(st.Orig)
	}
	p.lastAt = p.started
	p.hint, p.hasHint = time.Duration(st.WaitMS)*time.Millisecond, st.HasWait
	p.st.WaitMS, p.st.HasWait = 0, false
	return p, nil
}
