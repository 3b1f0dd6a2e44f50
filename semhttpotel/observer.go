package semhttpotel

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semhttp/semhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"
)

// observer.go holds the hooks: a span per call (hooks' Call), a span and
// a duration per attempt (hooks' Transport), and the counters.

// Attribute keys of this package (the others are the semantic
// conventions').
const (
	outcomeKey = attribute.Key("semhttp.outcome")
	cacheKey   = attribute.Key("semhttp.cache")
)

type observer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator

	duration httpconv.ClientRequestDuration
	retries  metric.Int64Counter
	refusals metric.Int64Counter
	cache    metric.Int64Counter
	polls    metric.Int64Counter

	kinds sync.Map        // status code → kind name, for Do's calls
	known map[string]bool // methods named as they are; others are _OTHER
}

func newObserver(cfg config) *observer {
	m := cfg.mp.Meter(scope)
	o := &observer{tracer: cfg.tp.Tracer(scope), prop: cfg.prop, known: cfg.known}
	if o.known == nil {
		o.known = knownMethods
	}
	// An instrument the meter refuses is a no-op one: metrics must never
	// fail a call.
	o.duration, _ = httpconv.NewClientRequestDuration(m)
	o.retries, _ = m.Int64Counter("semhttp.client.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Requests sent again after a failed attempt (not redirects)."))
	o.refusals, _ = m.Int64Counter("semhttp.client.retry_budget.refusals", metric.WithUnit("{retry}"),
		metric.WithDescription("Retries the client's retry budget refused."))
	o.cache, _ = m.Int64Counter("semhttp.client.cache.results", metric.WithUnit("{call}"),
		metric.WithDescription("GET calls by what the cache did: fresh, stale, revalidated or miss."))
	o.polls, _ = m.Int64Counter("semhttp.client.polls", metric.WithUnit("{poll}"),
		metric.WithDescription("Polls of async jobs' monitors and results."))
	return o
}

// callState is what a call's attempts share: its number of requests so
// far, for http.request.resend_count.
type callState struct{ sent atomic.Int64 }

type callStateKey struct{}

// call starts the span of a logical call (Hooks.Call).
func (o *observer) call(ctx context.Context, op string, req *http.Request) (context.Context, func(*http.Response, semhttp.Info, semhttp.Outcome, error)) {
	method, name, methodAttrs := o.methodOf(req.Method)
	kind := trace.SpanKindClient
	if op == "wait" {
		name, kind = "semhttp.wait", trace.SpanKindInternal
	}
	attrs := append(methodAttrs, requestAttrs(req.URL)...)
	ctx, span := o.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	ctx = context.WithValue(ctx, callStateKey{}, &callState{})
	if op == "poll" {
		o.polls.Add(ctx, 1, metric.WithAttributes(semconv.ServerAddress(req.URL.Hostname())))
	}
	return ctx, func(resp *http.Response, info semhttp.Info, out semhttp.Outcome, err error) {
		defer span.End()
		host := metric.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.ServerAddress(req.URL.Hostname()))
		// A failed call's info tells of its requests too: a budget that
		// refuses retries to an origin that is down is counted.
		if n := retries(info); n > 0 {
			o.retries.Add(ctx, int64(n), host)
		}
		if info.RetryRefused {
			o.refusals.Add(ctx, 1, host)
		}
		if err != nil {
			span.SetAttributes(errorType(err))
			span.SetStatus(codes.Error, err.Error())
			return
		}
		var code int
		if resp != nil {
			code = resp.StatusCode
			span.SetAttributes(semconv.HTTPResponseStatusCode(code))
		}
		span.SetAttributes(outcomeKey.String(o.kindOf(out, code)))
		if (op == "send" || op == "do") && req.Method == http.MethodGet {
			result := cacheResult(info, out, resp)
			span.SetAttributes(cacheKey.String(result))
			o.cache.Add(ctx, 1, metric.WithAttributes(cacheKey.String(result)))
		}
		switch {
		case code >= 400 || code < 100 || code > 599:
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(code)))
			span.SetStatus(codes.Error, "")
		case out != nil && out.Err() != nil:
			// A failure kind the status does not say: a job that failed
			// (*semhttp.JobError) behind a monitor's 200.
			span.SetAttributes(semconv.ErrorTypeKey.String(kindName(out)))
			span.SetStatus(codes.Error, out.Err().Error())
		}
	}
}

// retries counts the requests of a call that were sent again after a
// failed attempt: all but the first, less one per redirect followed (a
// redirect the client remembered sent nothing).
func retries(info semhttp.Info) int {
	n := info.TotalAttempts - 1
	for _, h := range info.Hops {
		if !h.Remembered {
			n--
		}
	}
	return n
}

// cacheResult says what the cache did for a GET. The mark the cache put
// on the response (semhttp.CacheHeader) is read only on an answer Info
// says is the cache's.
func cacheResult(info semhttp.Info, out semhttp.Outcome, resp *http.Response) string {
	if !info.FromCache {
		return "miss"
	}
	var mark string
	if resp != nil {
		mark = resp.Header.Get(semhttp.CacheHeader)
	}
	if _, ok := out.(*semhttp.NotModified); ok || mark == "revalidated" {
		return "revalidated" // Do: the stored response in place of the 304
	}
	switch {
	case mark == "only-if-cached":
		return "miss" // the cache's 504: nothing stored would do
	case info.Stale:
		return "stale"
	}
	return "fresh"
}

// transport wraps the client's transport (Hooks.Transport): a span and a
// duration per request on the wire.
func (o *observer) transport(base http.RoundTripper) http.RoundTripper {
	return &attempts{o: o, base: base}
}

type attempts struct {
	o    *observer
	base http.RoundTripper
}

func (t *attempts) RoundTrip(req *http.Request) (*http.Response, error) {
	o := t.o
	ctx := req.Context()
	method, name, attrs := o.methodOf(req.Method)
	attrs = append(attrs, requestAttrs(req.URL)...)
	if st, ok := ctx.Value(callStateKey{}).(*callState); ok {
		if n := st.sent.Add(1) - 1; n > 0 {
			attrs = append(attrs, semconv.HTTPRequestResendCount(int(n)))
		}
	}
	ctx, span := o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	// A RoundTripper must not modify the request: the trace context goes
	// on a copy, with a header of its own.
	r := req.WithContext(ctx)
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	o.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	elapsed := time.Since(start).Seconds()
	var extra []attribute.KeyValue
	switch {
	case err != nil:
		et := errorType(err)
		extra = append(extra, et)
		span.SetAttributes(et)
		span.SetStatus(codes.Error, describe(err))
	default:
		code := resp.StatusCode
		extra = append(extra, semconv.HTTPResponseStatusCode(code))
		span.SetAttributes(semconv.HTTPResponseStatusCode(code))
		if v := protocolVersion(resp); v != "" {
			pv := semconv.NetworkProtocolVersion(v)
			extra = append(extra, pv)
			span.SetAttributes(pv)
		}
		if code >= 400 || code < 100 || code > 599 {
			et := semconv.ErrorTypeKey.String(strconv.Itoa(code))
			extra = append(extra, et)
			span.SetAttributes(et)
			span.SetStatus(codes.Error, "")
		}
	}
	host, port := hostPort(req.URL)
	o.duration.Record(ctx, elapsed, httpconv.RequestMethodAttr(method), host, port, extra...)
	return resp, err
}

// CloseIdleConnections reaches the transport underneath.
func (t *attempts) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Unwrap returns the transport underneath.
func (t *attempts) Unwrap() http.RoundTripper { return t.base }

// knownMethods are the methods the semantic conventions name as they are
// (WithKnownMethods replaces them). Read only.
var knownMethods = map[string]bool{
	http.MethodConnect: true, http.MethodDelete: true, http.MethodGet: true, http.MethodHead: true,
	http.MethodOptions: true, http.MethodPatch: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodTrace: true, "QUERY": true,
}

// methodOf returns the method as metrics give it (http.request.method),
// the span name, and the span's method attributes: an unknown method is
// "_OTHER", with its own spelling in http.request.method_original, and
// names its span "HTTP".
func (o *observer) methodOf(m string) (method, name string, attrs []attribute.KeyValue) {
	if m == "" {
		m = http.MethodGet
	}
	if o.known[m] {
		return m, m, []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(m)}
	}
	return "_OTHER", "HTTP", []attribute.KeyValue{semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(m)}
}

// requestAttrs are url.full (redacted), server.address and server.port.
func requestAttrs(u *url.URL) []attribute.KeyValue {
	host, port := hostPort(u)
	return []attribute.KeyValue{semconv.URLFull(redact(u)), semconv.ServerAddress(host), semconv.ServerPort(port)}
}

func hostPort(u *url.URL) (string, int) {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return u.Hostname(), p
	}
	if u.Scheme == "https" {
		return u.Hostname(), 443
	}
	return u.Hostname(), 80
}

// redact is u without userinfo and fragment, each query value replaced by
// "REDACTED" (the semantic conventions' url.full: query values may hold
// tokens), and so is a query part without "=".
func redact(u *url.URL) string {
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	if r.RawQuery != "" {
		parts := strings.Split(r.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=REDACTED"
			} else if p != "" {
				parts[i] = "REDACTED" // a bare value (?token) may be the secret itself
			}
		}
		r.RawQuery = strings.Join(parts, "&")
	}
	return r.String()
}

// errorType is error.type for a call or an attempt without a response:
// the type of the cause ("timeout" for a deadline), past the wrappers
// that name no class of error: a *semhttp.RequestError, net/http's
// *url.Error, fmt's %w (a Wait's "polling: %w" around a poll's error),
// and semhttp's unexported ones (the error that withholds a malformed
// response's text is a net/textproto.ProtocolError here).
func errorType(err error) attribute.KeyValue {
	if errors.Is(err, context.DeadlineExceeded) {
		return semconv.ErrorTypeKey.String("timeout")
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return semconv.ErrorTypeKey.String(s.name)
		}
	}
	for {
		var next error
		switch e := err.(type) {
		case *semhttp.RequestError:
			next = e.Err
		case *url.Error:
			next = e.Err
		default:
			if t := reflect.TypeOf(err); t == fmtWrap || t.Kind() == reflect.Pointer &&
				t.Elem().PkgPath() == corePath && !token.IsExported(t.Elem().Name()) {
				next = errors.Unwrap(err)
			}
		}
		if next == nil {
			return semconv.ErrorType(err)
		}
		err = next
	}
}

// sentinels name the errors that errors.Is finds better than their type
// (*errors.errorString) would: a cancelled call, and semhttp's own.
var sentinels = []struct {
	err  error
	name string
}{
	{context.Canceled, "canceled"},
	{semhttp.ErrTooManyRedirects, "semhttp.ErrTooManyRedirects"},
	{semhttp.ErrRedirectLoop, "semhttp.ErrRedirectLoop"},
	{semhttp.ErrInsecureRedirect, "semhttp.ErrInsecureRedirect"},
	{semhttp.ErrBadRedirectScheme, "semhttp.ErrBadRedirectScheme"},
	{semhttp.ErrBodyNotReplayable, "semhttp.ErrBodyNotReplayable"},
	{semhttp.ErrBadLocation, "semhttp.ErrBadLocation"},
	{semhttp.ErrBadStatus, "semhttp.ErrBadStatus"},
	{semhttp.ErrThrottled, "semhttp.ErrThrottled"},
	{semhttp.ErrPollBudget, "semhttp.ErrPollBudget"},
	{semhttp.ErrMonitorAnswer, "semhttp.ErrMonitorAnswer"},
	{semhttp.ErrBadMonitor, "semhttp.ErrBadMonitor"},
	{semhttp.ErrNoMonitor, "semhttp.ErrNoMonitor"},
}

var (
	// corePath is the import path of semhttp's core.
	corePath = reflect.TypeFor[semhttp.RequestError]().PkgPath()
	// fmtWrap is the type of fmt.Errorf's error with one %w.
	fmtWrap = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))
)

// describe is the status description of an attempt that got no response:
// the error's text, unless net/textproto quotes in it the response line
// it could not parse (a Location with userinfo and a token, say); the
// call's *semhttp.RequestError withholds that text the same way.
func describe(err error) string {
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		what, _, _ := strings.Cut(string(pe), ":")
		return "malformed response (" + what + "; its text is withheld, it may hold secrets)"
	}
	return err.Error()
}

// kindOf names out's kind ("OK", "NotFound"); without one (Do), the kind
// of a response with that code, worked out once per code.
func (o *observer) kindOf(out semhttp.Outcome, code int) string {
	if out != nil {
		return kindName(out)
	}
	if k, ok := o.kinds.Load(code); ok {
		return k.(string)
	}
	k := "none"
	if out, err := semhttp.Classify(&http.Response{StatusCode: code, Header: http.Header{}, Body: http.NoBody}); err == nil {
		k = kindName(out)
	}
	o.kinds.Store(code, k)
	return k
}

func kindName(out semhttp.Outcome) string {
	t := reflect.TypeOf(out)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// protocolVersion is network.protocol.version of resp: "1.1", "2", ...,
// or "" when the transport did not say.
func protocolVersion(resp *http.Response) string {
	switch {
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 1:
		return "1.1" // the common case, without formatting
	case resp.ProtoMajor == 2 && resp.ProtoMinor == 0:
		return "2"
	case resp.ProtoMajor <= 0:
		return ""
	case resp.ProtoMinor == 0:
		return strconv.Itoa(resp.ProtoMajor)
	}
	return strconv.Itoa(resp.ProtoMajor) + "." + strconv.Itoa(resp.ProtoMinor)
}
