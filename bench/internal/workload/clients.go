package workload

import (
	"net/http"

	"github.com/bartventer/httpcache"
	_ "github.com/bartventer/httpcache/store/memcache" // registers memcache://
	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/semhttp/semhttp"
)

// How every client is configured, so the comparison is fair:
//
//   - raw: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
//     — exactly net/http's defaults (MaxIdleConnsPerHost 2), no redirect
//     or retry policy of its own beyond net/http's. It is the floor.
//   - raw-pool64 (parallel only): the same clone with MaxIdleConns 256 and
//     MaxIdleConnsPerHost 64, i.e. the pool semhttp's New() builds for one
//     host (its total, up to 4096, does not matter with one host). It is
//     the floor for 64 concurrent requesters.
//   - retryablehttp: retryablehttp.NewClient() on its defaults (cleanhttp's
//     pooled transport: MaxIdleConnsPerHost = GOMAXPROCS+1, RetryMax 4),
//     Logger set to nil so it does not print. Requests are built with
//     retryablehttp.NewRequest, its documented way.
//   - retryablehttp-pool64 (parallel only): the same with the pool64
//     transport.
//   - resty: resty.New() on its defaults (its own transport:
//     MaxIdleConnsPerHost = GOMAXPROCS+1, a cookie jar, no retries). By
//     default resty reads every response body into memory (resp.Body());
//     resty-stream uses SetDoNotParseResponse for downloads. resty v2.17
//     also reads every io.Reader request body into memory (to build
//     GetBody), with no setting to stream an upload.
//   - resty-pool64 (parallel only): resty.New().SetTransport(pool64).
//   - semhttp-Send / semhttp-Do: semhttp.New() with no options, its
//     default configuration (its own transport with 64 idle conns/host,
//     4 attempts, no logging).
//   - bartventer-httpcache (cache benchmarks only): an http.Client whose
//     Transport is bartventer/httpcache's RFC 9111 private cache on its
//     in-memory backend (httpcache.NewTransport("memcache://")) over
//     RawTransport, otherwise on its defaults. It is the peer of semhttp's
//     built-in cache (issue 18).
//
// Every client gets its own transport, so no benchmark inherits another's
// idle connections.

// RawTransport is a clone of http.DefaultTransport: net/http's defaults.
func RawTransport() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone()
}

// Pool64Transport is RawTransport with the pool semhttp.New() configures
// for one host: 64 idle connections per host (256 in all, which does not
// matter with one host).
func Pool64Transport() *http.Transport {
	t := RawTransport()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// Raw returns the raw net/http client on net/http's default transport.
func Raw() *http.Client { return &http.Client{Transport: RawTransport()} }

// RawPool64 returns the raw net/http client on Pool64Transport.
func RawPool64() *http.Client { return &http.Client{Transport: Pool64Transport()} }

// Retryable returns go-retryablehttp's client on its defaults, silenced.
// A non-nil transport replaces its pooled transport (the pool64 variant).
func Retryable(t *http.Transport) *retryablehttp.Client {
	c := retryablehttp.NewClient()
	c.Logger = nil // go-retryablehttp logs every request to stderr by default
	if t != nil {
		c.HTTPClient.Transport = t
	}
	return c
}

// Resty returns resty v2's client on its defaults. A non-nil transport
// replaces resty's own (the pool64 variant).
func Resty(t *http.Transport) *resty.Client {
	c := resty.New()
	if t != nil {
		c.SetTransport(t)
	}
	return c
}

// HTTPCache returns a client whose transport is bartventer/httpcache's
// cache, with a memory store of its own, over a fresh RawTransport. Its
// idle connections are closed through upstream.
func HTTPCache() (c *http.Client, upstream *http.Transport) {
	upstream = RawTransport()
	return &http.Client{Transport: httpcache.NewTransport("memcache://", httpcache.WithUpstream(upstream))}, upstream
}

// Semhttp returns semhttp's client in its default configuration.
func Semhttp() *semhttp.Client { return semhttp.New() }

// CloseIdle closes the idle connections of any of the clients above.
func CloseIdle(c any) {
	switch c := c.(type) {
	case *http.Client:
		c.CloseIdleConnections()
	case *retryablehttp.Client:
		c.HTTPClient.CloseIdleConnections()
	case *resty.Client:
		c.GetClient().CloseIdleConnections()
	case *semhttp.Client:
		c.CloseIdleConnections()
	}
}
