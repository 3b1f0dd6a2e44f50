package semhttpotel_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/semhttpotel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kit is a Client instrumented into an in-memory span recorder and a
// manual metric reader, with the W3C trace-context propagator.
type kit struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	c      *semhttp.Client
}

func newKit(t *testing.T, opts ...semhttp.Option) *kit {
	t.Helper()
	k := &kit{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	k.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.reader))
	t.Cleanup(func() {
		k.tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	opts = append([]semhttp.Option{
		semhttpotel.Instrument(semhttpotel.WithTracerProvider(k.tp), semhttpotel.WithMeterProvider(mp),
			semhttpotel.WithPropagators(propagation.TraceContext{})),
		semhttp.WithRetryPolicy(semhttp.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}),
	}, opts...)
	k.c = semhttp.New(opts...)
	t.Cleanup(k.c.CloseIdleConnections)
	return k
}

func (k *kit) ended() []sdktrace.ReadOnlySpan { return k.spans.Ended() }

// children are the ended spans whose parent is p.
func (k *kit) children(p sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if s.Parent().SpanID() == p.SpanContext().SpanID() && s.Parent().IsValid() {
			out = append(out, s)
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func mustAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string) attribute.Value {
	t.Helper()
	v, ok := attr(s, key)
	if !ok {
		t.Fatalf("span %q has no %s: %v", s.Name(), key, s.Attributes())
	}
	return v
}

func send(t *testing.T, c *semhttp.Client, ctx context.Context, method, url string) semhttp.Outcome {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, out.Response().Body)
	out.Close()
	return out
}

// A call answered 503, then 307, then 200 is one client span, under the
// caller's, with three children: resend counts 1 and 2 on the last two,
// and the traceparent each carried on the wire is that child's.
func TestCallSpanWithAttemptChildren(t *testing.T) {
	var n atomic.Int64
	var mu sync.Mutex
	var parents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("Traceparent"))
		mu.Unlock()
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			http.Redirect(w, r, "/v2/items?page=2", http.StatusTemporaryRedirect)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	k := newKit(t, semhttp.WithCache(nil))
	ctx, parent := k.tp.Tracer("test").Start(context.Background(), "caller")
	send(t, k.c, ctx, http.MethodGet, srv.URL+"/items")
	parent.End()

	var call sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			call = s
		}
	}
	if call == nil {
		t.Fatal("no span under the caller's")
	}
	if call.Name() != "GET" || call.SpanKind() != trace.SpanKindClient {
		t.Fatalf("call span %q, kind %v", call.Name(), call.SpanKind())
	}
	if v := mustAttr(t, call, "http.response.status_code").AsInt64(); v != 200 {
		t.Fatalf("call status %d", v)
	}
	if v := mustAttr(t, call, "semhttp.outcome").AsString(); v != "OK" {
		t.Fatalf("outcome %q", v)
	}
	if v := mustAttr(t, call, "url.full").AsString(); v != srv.URL+"/items" {
		t.Fatalf("url.full %q", v)
	}
	kids := k.children(call)
	if len(kids) != 3 {
		t.Fatalf("%d children, want 3", len(kids))
	}
	for i, s := range kids {
		v, ok := attr(s, "http.request.resend_count")
		switch {
		case i == 0 && ok:
			t.Fatalf("the first attempt has resend_count %d", v.AsInt64())
		case i > 0 && (!ok || v.AsInt64() != int64(i)):
			t.Fatalf("attempt %d: resend_count %v (%v)", i+1, v.AsInt64(), ok)
		}
		want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
		if parents[i] != want {
			t.Fatalf("request %d carried traceparent %q, want its attempt span's %q", i+1, parents[i], want)
		}
	}
	codes := []int64{503, 307, 200}
	for i, s := range kids {
		if v := mustAttr(t, s, "http.response.status_code").AsInt64(); v != codes[i] {
			t.Fatalf("attempt %d status %d, want %d", i+1, v, codes[i])
		}
		if v := mustAttr(t, s, "network.protocol.version").AsString(); v != "1.1" {
			t.Fatalf("attempt %d network.protocol.version %q", i+1, v)
		}
	}
	if v := mustAttr(t, kids[2], "url.full").AsString(); v != srv.URL+"/v2/items?page=REDACTED" {
		t.Fatalf("the hop's url.full %q", v)
	}

	m := k.collect(t)
	if got := m.histogramCount("http.client.request.duration"); got != 3 {
		t.Fatalf("http.client.request.duration has %d samples, want 3", got)
	}
	if got := m.sum("semhttp.client.retries", nil); got != 1 {
		t.Fatalf("retries %d, want 1 (the 307 is a redirect)", got)
	}
}

// A 404 marks the call's span with error.type and an error status; the
// outcome kind is named.
func TestFailureKindMarksTheSpan(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	k := newKit(t)
	send(t, k.c, context.Background(), http.MethodGet, srv.URL+"/missing")
	var call sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if !s.Parent().IsValid() {
			call = s
		}
	}
	if v := mustAttr(t, call, "error.type").AsString(); v != "404" {
		t.Fatalf("error.type %q", v)
	}
	if v := mustAttr(t, call, "semhttp.outcome").AsString(); v != "NotFound" {
		t.Fatalf("outcome %q", v)
	}
	if call.Status().Code != codes.Error {
		t.Fatalf("status %v", call.Status())
	}
}

// A call that got no response (a refused connection) ends its span with
// error.type and the error, and Do's calls are spans too.
func TestDoAndRequestErrorSpans(t *testing.T) {
	k := newKit(t, semhttp.WithRetryPolicy(semhttp.RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/refused", nil)
	if _, err := k.c.Do(req); err == nil {
		t.Fatal("no error")
	}
	var call sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if !s.Parent().IsValid() {
			call = s
		}
	}
	if call == nil || call.Status().Code != codes.Error {
		t.Fatalf("call span %v", call)
	}
	if v := mustAttr(t, call, "error.type").AsString(); v != "*net.OpError" { // not semhttp's unexported wrapper
		t.Fatalf("error.type %q", v)
	}
	if len(k.children(call)) != 1 {
		t.Fatalf("%d attempt spans, want 1", len(k.children(call)))
	}
}

// A query token, a userinfo password and credential headers never appear
// in any span attribute or metric attribute.
func TestNoSecretInAttributes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/next?access_token=s3cr3t-hop&bare-s3cr3t", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	k := newKit(t)
	u := strings.Replace(srv.URL, "http://", "http://user:s3cr3t-pw@", 1) + "/start?token=s3cr3t-query#s3cr3t-frag"
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer s3cr3t-header")
	out, err := k.c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	var all []string
	for _, s := range k.ended() {
		for _, kv := range s.Attributes() {
			all = append(all, string(kv.Key)+"="+kv.Value.String())
		}
		all = append(all, s.Status().Description)
	}
	m := k.collect(t)
	for _, sm := range m.rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			all = append(all, m.attrs(mt)...)
		}
	}
	text := strings.Join(all, "\n")
	if strings.Contains(text, "s3cr3t") {
		t.Fatalf("a secret in the attributes:\n%s", text)
	}
	if !strings.Contains(text, "url.full=http://127.0.0.1") || !strings.Contains(text, "token=REDACTED") {
		t.Fatalf("url.full missing or not redacted:\n%s", text)
	}
}

// A fresh cache hit is the call's span, marked as served from the cache,
// with no attempt span; the cache counter says fresh and miss.
func TestFreshHitHasNoAttemptSpan(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	k := newKit(t)
	send(t, k.c, context.Background(), http.MethodGet, srv.URL+"/doc")
	send(t, k.c, context.Background(), http.MethodGet, srv.URL+"/doc")
	var calls []sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if !s.Parent().IsValid() {
			calls = append(calls, s)
		}
	}
	if len(calls) != 2 {
		t.Fatalf("%d call spans", len(calls))
	}
	if v := mustAttr(t, calls[0], "semhttp.cache").AsString(); v != "miss" {
		t.Fatalf("first call: cache %q", v)
	}
	if v := mustAttr(t, calls[1], "semhttp.cache").AsString(); v != "fresh" {
		t.Fatalf("second call: cache %q", v)
	}
	if n := len(k.children(calls[1])); n != 0 {
		t.Fatalf("the fresh hit has %d attempt spans", n)
	}
	m := k.collect(t)
	if f, miss := m.sum("semhttp.client.cache.results", ptr(attribute.String("semhttp.cache", "fresh"))),
		m.sum("semhttp.client.cache.results", ptr(attribute.String("semhttp.cache", "miss"))); f != 1 || miss != 1 {
		t.Fatalf("cache results: fresh %d, miss %d", f, miss)
	}
}

// Wait on a job is a span with one child per poll, each poll a client
// span with its attempt under it; the polls counter counts them.
func TestWaitSpanHoldsPolls(t *testing.T) {
	var polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jobs" {
			w.Header().Set("Location", "/jobs/1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if polls.Add(1) < 3 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		io.WriteString(w, `{"done":true}`)
	}))
	defer srv.Close()
	k := newKit(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", nil)
	out, err := k.c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	a := out.(*semhttp.Accepted)
	res, err := a.Wait(context.Background(), &semhttp.PollOptions{Interval: time.Millisecond, MaxInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	var wait sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if s.Name() == "semhttp.wait" {
			wait = s
		}
	}
	if wait == nil {
		t.Fatal("no wait span")
	}
	kids := k.children(wait)
	if len(kids) != 3 {
		t.Fatalf("%d polls under the wait span, want 3", len(kids))
	}
	for _, p := range kids {
		if p.Name() != "GET" || len(k.children(p)) != 1 {
			t.Fatalf("poll span %q with %d attempts", p.Name(), len(k.children(p)))
		}
	}
	if v := mustAttr(t, wait, "semhttp.outcome").AsString(); v != "OK" {
		t.Fatalf("wait outcome %q", v)
	}
	if got := k.collect(t).sum("semhttp.client.polls", nil); got != 3 {
		t.Fatalf("polls counter %d, want 3", got)
	}
}

// A retry the budget refused is counted.
func TestBudgetRefusalCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	k := newKit(t, semhttp.WithRetryPolicy(semhttp.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, BudgetFloor: 2}))
	send(t, k.c, context.Background(), http.MethodGet, srv.URL)
	m := k.collect(t)
	if got := m.sum("semhttp.client.retry_budget.refusals", nil); got != 1 {
		t.Fatalf("refusals %d, want 1", got)
	}
	if got := m.sum("semhttp.client.retries", nil); got != 2 {
		t.Fatalf("retries %d, want 2", got)
	}
}

type metrics struct{ rm metricdata.ResourceMetrics }

func (k *kit) collect(t *testing.T) *metrics {
	t.Helper()
	var m metrics
	if err := k.reader.Collect(context.Background(), &m.rm); err != nil {
		t.Fatal(err)
	}
	return &m
}

func (m *metrics) find(name string) *metricdata.Metrics {
	for _, sm := range m.rm.ScopeMetrics {
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

// sum adds the counter's data points (those with kv, when given).
func (m *metrics) sum(name string, kv *attribute.KeyValue) int64 {
	mt := m.find(name)
	if mt == nil {
		return 0
	}
	var n int64
	for _, dp := range mt.Data.(metricdata.Sum[int64]).DataPoints {
		if kv != nil {
			if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
				continue
			}
		}
		n += dp.Value
	}
	return n
}

func (m *metrics) histogramCount(name string) uint64 {
	mt := m.find(name)
	if mt == nil {
		return 0
	}
	var n uint64
	for _, dp := range mt.Data.(metricdata.Histogram[float64]).DataPoints {
		n += dp.Count
	}
	return n
}

// attrs lists every attribute of mt's data points as key=value.
func (m *metrics) attrs(mt metricdata.Metrics) []string {
	var sets []attribute.Set
	switch d := mt.Data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			sets = append(sets, dp.Attributes)
		}
	}
	var out []string
	for _, s := range sets {
		for _, kv := range s.ToSlice() {
			out = append(out, string(kv.Key)+"="+kv.Value.String())
		}
	}
	return out
}
func ptr[T any](v T) *T { return &v }

// roots are the ended spans without a parent, in the order they ended.
func (k *kit) roots() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if !s.Parent().IsValid() {
			out = append(out, s)
		}
	}
	return out
}

// A request resolved against WithBaseURL is named, on its call span, by
// the URL it is sent to: absolute url.full, server.address and
// server.port of the base.
func TestBaseURLCallSpanIsAbsolute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	k := newKit(t, semhttp.WithBaseURL(srv.URL+"/api/"))
	req, err := http.NewRequest(http.MethodGet, "users/1?page=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	calls := k.roots()
	if len(calls) != 1 {
		t.Fatalf("%d call spans", len(calls))
	}
	call := calls[0]
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if v := mustAttr(t, call, "url.full").AsString(); v != srv.URL+"/api/users/1?page=REDACTED" {
		t.Fatalf("url.full %q", v)
	}
	if v := mustAttr(t, call, "server.address").AsString(); v != host {
		t.Fatalf("server.address %q, want %q", v, host)
	}
	if v := mustAttr(t, call, "server.port").AsInt64(); fmt.Sprint(v) != port {
		t.Fatalf("server.port %d, want %s", v, port)
	}
}

// An unknown method is "_OTHER" everywhere: on the spans and on every
// metric (never "HTTP", which only names the span).
func TestUnknownMethodIsOther(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "purged")
	}))
	defer srv.Close()
	k := newKit(t)
	send(t, k.c, context.Background(), "PURGE", srv.URL)
	for _, s := range k.ended() {
		if s.Name() != "HTTP" {
			t.Fatalf("span named %q", s.Name())
		}
		if v := mustAttr(t, s, "http.request.method").AsString(); v != "_OTHER" {
			t.Fatalf("http.request.method %q", v)
		}
		if v := mustAttr(t, s, "http.request.method_original").AsString(); v != "PURGE" {
			t.Fatalf("http.request.method_original %q", v)
		}
	}
	m := k.collect(t)
	var seen int
	for _, sm := range m.rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			for _, a := range m.attrs(mt) {
				if strings.HasPrefix(a, "http.request.method=") {
					seen++
					if a != "http.request.method=_OTHER" {
						t.Fatalf("%s: %s", mt.Name, a)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatalf("http.request.method on %d data points", seen)
	}
}

// A malformed response header quoted by net/textproto (a Location with
// userinfo and a token) reaches no span: the attempt's status description
// withholds it as the call's error does, and error.type names the
// textproto error, not a type internal to semhttp.
func TestMalformedHeaderNotInStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nLocation: https://user:s3cr3t@h/?token=s3cr3t\x01\r\nContent-Length: 0\r\n\r\n")
	}()
	k := newKit(t, semhttp.WithRetryPolicy(semhttp.RetryPolicy{MaxAttempts: 1}))
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	if _, err := k.c.Send(req); err == nil {
		t.Fatal("no error from a malformed response")
	}
	ln.Close()
	<-done
	spans := k.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the call and its attempt", len(spans))
	}
	var text []string
	for _, s := range spans {
		if s.Status().Code != codes.Error {
			t.Fatalf("span %v: status %v", s.Parent().IsValid(), s.Status())
		}
		text = append(text, s.Status().Description)
		for _, kv := range s.Attributes() {
			text = append(text, string(kv.Key)+"="+kv.Value.String())
		}
		if v := mustAttr(t, s, "error.type").AsString(); v != "net/textproto.ProtocolError" {
			t.Fatalf("error.type %q", v)
		}
	}
	if all := strings.Join(text, "\n"); strings.Contains(all, "s3cr3t") {
		t.Fatalf("a secret in a span:\n%s", all)
	}
}

// A GET that Do revalidated (a 304 answered with the stored 200) is
// counted and marked "revalidated", as through Send.
func TestDoRevalidatedIsCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	k := newKit(t)
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := k.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	calls := k.roots()
	if len(calls) != 2 {
		t.Fatalf("%d call spans", len(calls))
	}
	if v := mustAttr(t, calls[1], "semhttp.cache").AsString(); v != "revalidated" {
		t.Fatalf("second call: cache %q", v)
	}
	m := k.collect(t)
	if got := m.sum("semhttp.client.cache.results", ptr(attribute.String("semhttp.cache", "revalidated"))); got != 1 {
		t.Fatalf("revalidated counted %d times, want 1", got)
	}
}

// A retry the budget refused is counted also when the call then fails
// without a response (an origin that refuses connections: where the
// budget matters most).
func TestBudgetRefusalCountedOnError(t *testing.T) {
	k := newKit(t, semhttp.WithRetryPolicy(semhttp.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, BudgetFloor: 2}))
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := k.c.Send(req); err == nil {
		t.Fatal("no error")
	}
	m := k.collect(t)
	if got := m.sum("semhttp.client.retry_budget.refusals", nil); got != 1 {
		t.Fatalf("refusals %d, want 1", got)
	}
	if got := m.sum("semhttp.client.retries", nil); got != 2 {
		t.Fatalf("retries %d, want 2", got)
	}
}

// A redirect the client remembered sent no request: a retry after it is
// still counted as one.
func TestRetryAfterRememberedRedirectCounted(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		if n.Add(1) == 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	k := newKit(t, semhttp.WithCache(nil), semhttp.WithRedirectMemory(8))
	send(t, k.c, context.Background(), http.MethodGet, srv.URL+"/old")
	out := send(t, k.c, context.Background(), http.MethodGet, srv.URL+"/old")
	if h := out.Info().Hops; len(h) != 1 || !h[0].Remembered || out.Info().TotalAttempts != 2 {
		t.Fatalf("second call: %+v", out.Info())
	}
	if got := k.collect(t).sum("semhttp.client.retries", nil); got != 1 {
		t.Fatalf("retries %d, want 1", got)
	}
}

// Spans stay well formed through HTTPClient, Download and LinkPages, and
// when the context is cancelled mid-call: every span ends, each call has
// its attempts under it, and a cancelled call is an error on both levels.
func TestOtherEntryPointsAndCancel(t *testing.T) {
	body := strings.Repeat("x", 1000)
	var base string
	hold := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			w.Header().Set("ETag", `"e"`)
			http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(body))
		case "/p1":
			w.Header().Set("Link", "<"+base+"/p2>; rel=\"next\"")
			io.WriteString(w, "[]")
		case "/slow":
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "[]")
		}
	}))
	base = srv.URL
	defer srv.Close()
	defer close(hold)
	k := newKit(t)

	resp, err := k.c.HTTPClient().Get(srv.URL + "/p2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var dst writerAt
	if _, err := k.c.Download(context.Background(), srv.URL+"/file", &dst, nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p1", nil)
	pages := 0
	for out, err := range k.c.LinkPages(req) {
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, out.Response().Body)
		pages++
	}
	if pages != 2 {
		t.Fatalf("%d pages", pages)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	if _, err := k.c.Send(req); err == nil {
		t.Fatal("no error from a cancelled call")
	}

	calls := k.roots()
	if len(calls) != 5 { // HTTPClient, Download, two pages, the cancelled call
		t.Fatalf("%d call spans, want 5", len(calls))
	}
	for i, call := range calls {
		kids := k.children(call)
		if len(kids) != 1 {
			t.Fatalf("call %d (%s): %d attempt spans", i, mustAttr(t, call, "url.full").AsString(), len(kids))
		}
		if a, c := mustAttr(t, kids[0], "url.full").AsString(), mustAttr(t, call, "url.full").AsString(); a != c {
			t.Fatalf("attempt url.full %q under a call to %q", a, c)
		}
	}
	last := calls[4]
	if last.Status().Code != codes.Error || k.children(last)[0].Status().Code != codes.Error {
		t.Fatalf("a cancelled call: %v, its attempt %v", last.Status(), k.children(last)[0].Status())
	}
	if got := len(k.ended()); got != 10 {
		t.Fatalf("%d spans ended, want 10", got)
	}
}

// writerAt is an in-memory io.WriterAt, safe for parallel segments.
type writerAt struct {
	mu sync.Mutex
	b  []byte
}

func (w *writerAt) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := int(off) + len(p); n > len(w.b) {
		w.b = append(w.b, make([]byte, n-len(w.b))...)
	}
	copy(w.b[off:], p)
	return len(p), nil
}

// A download in parallel segments is one call span per range request,
// each with its attempt, from several goroutines at once (run with -race).
func TestParallelDownloadSpans(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB: four 1 MiB segments
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"e"`)
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(body))
	}))
	defer srv.Close()
	k := newKit(t)
	var dst writerAt
	if _, err := k.c.Download(context.Background(), srv.URL+"/f", &dst, &semhttp.DownloadOptions{Segments: 4}); err != nil {
		t.Fatal(err)
	}
	if string(dst.b) != body {
		t.Fatal("the download differs")
	}
	calls := k.roots()
	if len(calls) < 2 {
		t.Fatalf("%d call spans: not in parallel", len(calls))
	}
	for _, c := range calls {
		if n := len(k.children(c)); n != 1 {
			t.Fatalf("a range call with %d attempt spans", n)
		}
	}
	if got := len(k.ended()); got != 2*len(calls) {
		t.Fatalf("%d spans for %d calls", got, len(calls))
	}
}

// A GET with only-if-cached that nothing stored satisfies gets the
// cache's 504 without a request: a miss, not a fresh hit.
func TestOnlyIfCachedMissIsAMiss(t *testing.T) {
	k := newKit(t)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/never", nil)
	req.Header.Set("Cache-Control", "only-if-cached")
	out, err := k.c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if out.StatusCode() != http.StatusGatewayTimeout {
		t.Fatalf("status %d", out.StatusCode())
	}
	calls := k.roots()
	if len(calls) != 1 || len(k.children(calls[0])) != 0 {
		t.Fatalf("%d calls, %d spans", len(calls), len(k.ended()))
	}
	if v := mustAttr(t, calls[0], "semhttp.cache").AsString(); v != "miss" {
		t.Fatalf("cache %q", v)
	}
	if got := k.collect(t).sum("semhttp.client.cache.results", ptr(attribute.String("semhttp.cache", "fresh"))); got != 0 {
		t.Fatalf("counted as %d fresh hits", got)
	}
}

// A Wait whose job failed (a *JobError behind the monitor's 200) ends its
// span as an error, with the kind as error.type.
func TestWaitForFailedJobIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jobs" {
			w.Header().Set("Location", "/jobs/1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"failed"}`)
	}))
	defer srv.Close()
	k := newKit(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", nil)
	out, err := k.c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := out.(*semhttp.Accepted).Wait(context.Background(), &semhttp.PollOptions{Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res.Close()
	if _, ok := res.(*semhttp.JobError); !ok {
		t.Fatalf("%T", res)
	}
	var wait sdktrace.ReadOnlySpan
	for _, s := range k.ended() {
		if s.Name() == "semhttp.wait" {
			wait = s
		}
	}
	if wait == nil || wait.Status().Code != codes.Error {
		t.Fatalf("wait span %v", wait)
	}
	if v := mustAttr(t, wait, "error.type").AsString(); v != "JobError" {
		t.Fatalf("error.type %q", v)
	}
}

// WithKnownMethods replaces the list of methods named as they are: PURGE
// listed is PURGE; GET, no longer listed, is _OTHER.
func TestWithKnownMethods(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	c := semhttp.New(semhttpotel.Instrument(semhttpotel.WithTracerProvider(tp), semhttpotel.WithKnownMethods("PURGE")))
	defer c.CloseIdleConnections()
	send(t, c, context.Background(), "PURGE", srv.URL)
	send(t, c, context.Background(), http.MethodGet, srv.URL)
	want := map[string]string{"PURGE": "PURGE", "GET": "_OTHER"}
	for _, s := range spans.Ended() {
		orig, ok := attr(s, "http.request.method_original")
		m := mustAttr(t, s, "http.request.method").AsString()
		if ok && want[orig.AsString()] != m || !ok && want[m] != m {
			t.Fatalf("span %q: http.request.method %q, original %q", s.Name(), m, orig.AsString())
		}
	}
	if len(spans.Ended()) != 4 {
		t.Fatalf("%d spans, want 4", len(spans.Ended()))
	}
}
