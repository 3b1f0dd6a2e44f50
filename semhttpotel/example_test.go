package semhttpotel_test

import (
	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/semhttpotel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A Client traced and measured through the global OpenTelemetry providers
// and propagator (set them up first, as for any instrumentation).
func ExampleInstrument() {
	c := semhttp.New(semhttpotel.Instrument())
	defer c.CloseIdleConnections()
	// c.Send(req): one span per call, a child per attempt, and metrics.
}

// The README's setup: spans to an exporter, metrics to a provider, W3C
// trace context on the wire.
func readmeTracing(exporter sdktrace.SpanExporter, mp metric.MeterProvider) *semhttp.Client {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	c := semhttp.New(semhttpotel.Instrument(
		semhttpotel.WithTracerProvider(tp),
		semhttpotel.WithMeterProvider(mp),
		semhttpotel.WithPropagators(propagation.TraceContext{}),
	))
	return c
}

var _ = readmeTracing
