package semhttp

import (
	"net/url"
	"time"
)

// async.go owns 202 handling: monitor discovery, the Poller, status
// interpretation and resume tokens.

// Accepted is a 202: the request was accepted for processing, which has
// not finished. Monitor is where its status can be polled.
type Accepted struct {
	base
	Monitor    *url.URL
	RetryAfter time.Duration
}

func newAccepted(b base) *Accepted {
	return &Accepted{base: b, RetryAfter: retryAfterOf(b.resp)} // TODO(async)
}
