package semhttp

import "net/http"

// cache.go owns validators, revalidation and the 304 outcome.

// NotModified is a 304. Cached is the stored representation (a 200 whose
// headers were freshened by the 304, RFC 9111 §4.3.4), or nil when the
// client had nothing stored for the request.
type NotModified struct {
	base
	Cached *http.Response
}
