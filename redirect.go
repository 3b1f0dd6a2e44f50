package semhttp

import "net/http"

// redirect.go owns the redirect engine: 301/302/303/307/308 rules, body
// replay, credential stripping across origins, the hop limit and loop
// detection, and the memory of permanent redirects.

// redirectConfig is the redirect policy of a Client.
type redirectConfig struct{}

func (r redirectConfig) resolved() redirectConfig { return r }

// follow sends req and follows redirects per the policy. Each hop is a full
// attempt through send (retries apply).
func (c *Client) follow(req *http.Request, x *exchange) (*http.Response, error) {
	r, body := prepareBody(req)
	defer body.close()
	return c.send(r, &body, x) // TODO(redirect): follow 301/302/303/307/308
}
