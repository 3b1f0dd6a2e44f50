// Package semhttpotel traces and measures a semhttp.Client with
// OpenTelemetry, following the semantic conventions for HTTP clients.
//
//	c := semhttp.New(semhttpotel.Instrument())
//
// Each logical call (Send, Do, a call through Client.HTTPClient) is one
// client span, a child of the span in the request's context, with one
// child span per attempt and per redirect hop: the child's context is the
// one that goes on the wire (traceparent), so the server's spans hang
// under the attempt that reached it, and every resend carries
// http.request.resend_count. A call answered from the cache is a span
// with semhttp.cache "fresh" (or "stale") and no child. A job's Wait is a
// span with one call span per poll under it.
//
// The call span's attributes are http.request.method, url.full (without
// userinfo, each query value replaced by "REDACTED"), server.address,
// server.port, http.response.status_code, semhttp.outcome (the kind of the
// outcome: "OK", "NotFound", "ServiceUnavailable", ...), semhttp.cache for
// GETs ("fresh", "stale", "revalidated" or "miss") and error.type: the
// status code for failure kinds (4xx, 5xx, nonstandard codes), the kind
// for a failure the status does not say (a Wait's "JobError"), the
// error's type for a call without a usable response ("timeout" past a
// deadline). No request or response header is recorded.
//
// Metrics: http.client.request.duration (seconds, per attempt, as the
// semantic conventions define it), and the counters
// semhttp.client.retries (resends that were retries, not redirects),
// semhttp.client.retry_budget.refusals (retries the client's budget
// refused), semhttp.client.cache.results (by semhttp.cache) and
// semhttp.client.polls.
package semhttpotel

import (
	"github.com/semhttp/semhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the tracer and the meter.
const scope = "github.com/semhttp/semhttp/semhttpotel"

// Option configures Instrument.
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	prop  propagation.TextMapPropagator
	known map[string]bool
}

// WithTracerProvider sets where spans go. Nil or absent: the global
// provider (otel.GetTracerProvider) when Instrument is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go. Nil or absent: the global
// provider (otel.GetMeterProvider) when Instrument is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagators sets how the attempt's span context is put on the wire.
// Nil or absent: the global propagator (otel.GetTextMapPropagator) when
// Instrument is called.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// WithKnownMethods replaces the methods spans and metrics name as they are
// (absent: the semantic conventions' list, GET to TRACE and QUERY); any
// other method is "_OTHER", with its spelling in
// http.request.method_original, as the conventions say. Methods are
// case-sensitive.
func WithKnownMethods(methods ...string) Option {
	return func(c *config) {
		c.known = make(map[string]bool, len(methods))
		for _, m := range methods {
			c.known[m] = true
		}
	}
}

// Instrument returns the semhttp option that traces and measures a
// Client's calls (see the package doc). It installs semhttp.Hooks, so it
// replaces any other semhttp.WithHooks given to the same Client.
func Instrument(opts ...Option) semhttp.Option {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.prop == nil {
		cfg.prop = otel.GetTextMapPropagator()
	}
	o := newObserver(cfg)
	return semhttp.WithHooks(semhttp.Hooks{Call: o.call, Transport: o.transport})
}
