package semhttp

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-retryablehttp"
)

// Benchmarks of one small-JSON 200 GET, on the same loopback server, for raw
// net/http (the floor), go-retryablehttp's own client, and semhttp's Send
// and Do. Compare with benchstat:
//
//	go test -run '^$' -bench Get200 -count 10 . | tee new.txt && benchstat new.txt
func BenchmarkGet200(b *testing.B) {
	const payload = `{"id":42,"name":"sprocket","tags":["a","b","c"],"active":true}`
	srv := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, payload)
	}))
	newReq := func(b *testing.B) *http.Request {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/widgets/42", nil)
		if err != nil {
			b.Fatal(err)
		}
		return req
	}
	drain := func(b *testing.B, body io.ReadCloser) {
		if n, _ := io.Copy(io.Discard, body); n != int64(len(payload)) {
			b.Fatalf("read %d bytes", n)
		}
		body.Close()
	}

	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{Transport: defaultTransport()}
		defer hc.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := hc.Do(newReq(b))
			if err != nil {
				b.Fatal(err)
			}
			drain(b, resp.Body)
		}
	})
	b.Run("retryablehttp", func(b *testing.B) {
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.HTTPClient.Transport = defaultTransport()
		defer rc.HTTPClient.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			req, err := retryablehttp.FromRequest(newReq(b))
			if err != nil {
				b.Fatal(err)
			}
			resp, err := rc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			drain(b, resp.Body)
		}
	})
	b.Run("semhttp-Send", func(b *testing.B) {
		c := New()
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			out, err := c.Send(newReq(b))
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := out.(*OK); !ok {
				b.Fatalf("got %T", out)
			}
			drain(b, out.Response().Body)
		}
	})
	b.Run("semhttp-Do", func(b *testing.B) {
		c := New()
		defer c.CloseIdleConnections()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Do(newReq(b))
			if err != nil {
				b.Fatal(err)
			}
			drain(b, resp.Body)
		}
	})
}

// BenchmarkParallelGet runs 64 concurrent requesters against one server:
// raw net/http on semhttp's transport settings (the floor), and semhttp with
// and without its cache, to show what shared state costs under contention.
func BenchmarkParallelGet(b *testing.B) {
	const payload = `{"id":42,"name":"sprocket"}`
	srv := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, payload)
	}))
	run := func(b *testing.B, do func(*http.Request) (*http.Response, error)) {
		b.ReportAllocs()
		b.SetParallelism(32) // 64 goroutines on 2 CPUs
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
				resp, err := do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	b.Run("raw", func(b *testing.B) {
		hc := &http.Client{Transport: defaultTransport()}
		defer hc.CloseIdleConnections()
		run(b, hc.Do)
	})
	b.Run("semhttp", func(b *testing.B) {
		c := New()
		defer c.CloseIdleConnections()
		run(b, c.Do)
	})
	b.Run("semhttp-nocache", func(b *testing.B) {
		c := New(WithCache(nil))
		defer c.CloseIdleConnections()
		run(b, c.Do)
	})
}

// cannedTransport answers every request at once with a small JSON 200:
// no network, so a benchmark through it measures the client's own cost.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(`{"id":42}`)),
		ContentLength: 9, Request: r,
	}, nil
}

// BenchmarkOverhead is a GET through each client on a transport that
// answers at once (cannedTransport): what the layers above the transport
// cost per call, without the network's noise. raw is http.Client.Do.
//
//	go test -run '^$' -bench Overhead -benchmem -count 10 . | benchstat -col /client -
func BenchmarkOverhead(b *testing.B) {
	const url = "http://api.test/widgets/42"
	get := func(b *testing.B, do func(*http.Request) (*http.Response, error)) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			resp, err := do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("client=raw", func(b *testing.B) {
		hc := &http.Client{Transport: cannedTransport{}}
		get(b, hc.Do)
	})
	b.Run("client=retryablehttp", func(b *testing.B) {
		rc := retryablehttp.NewClient()
		rc.Logger = nil
		rc.HTTPClient.Transport = cannedTransport{}
		get(b, func(req *http.Request) (*http.Response, error) {
			rreq, err := retryablehttp.FromRequest(req)
			if err != nil {
				return nil, err
			}
			return rc.Do(rreq)
		})
	})
	c := New(WithTransport(cannedTransport{}))
	b.Run("client=semhttp-Do", func(b *testing.B) { get(b, c.Do) })
	b.Run("client=semhttp-Send", func(b *testing.B) {
		get(b, func(req *http.Request) (*http.Response, error) {
			out, err := c.Send(req)
			if err != nil {
				return nil, err
			}
			return out.Response(), nil
		})
	})
}
