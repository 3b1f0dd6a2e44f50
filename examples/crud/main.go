// Command crud walks a resource's whole lifecycle against an embedded demo
// API on 127.0.0.1 and prints, for each step, the outcome semhttp returned
// and what it carried.
//
//	go run ./examples/crud
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/examples/internal/demoapi"
)

func main() {
	srv := demoapi.Start()
	defer srv.Close()
	if err := run(context.Background(), os.Stdout, srv.URL); err != nil {
		fmt.Fprintln(os.Stderr, "crud:", err)
		os.Exit(1)
	}
}

// run performs the lifecycle against the API at base, printing a line per
// step. It returns an error when a step gets an outcome it did not expect.
func run(ctx context.Context, w io.Writer, base string) error {
	c := semhttp.New(semhttp.WithRetryPolicy(semhttp.RetryPolicy{InitialInterval: 10 * time.Millisecond}))
	defer c.CloseIdleConnections()
	send := func(method, path, body string) (semhttp.Outcome, error) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, r)
		if err != nil {
			return nil, err
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return c.Send(req)
	}
	step := func(n int, what, method, path, body string, describe func(semhttp.Outcome) (string, bool)) (semhttp.Outcome, error) {
		out, err := send(method, path, body)
		if err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", n, what, err)
		}
		defer out.Close()
		text, ok := describe(out)
		fmt.Fprintf(w, "%d. %-22s %-6s %-14s → %-28s %s\n", n, what, method, path, fmt.Sprintf("%T", out), text)
		if !ok {
			return out, fmt.Errorf("step %d (%s): unexpected %T", n, what, out)
		}
		return out, nil
	}

	var location string
	out, err := step(1, "create", "POST", "/widgets", `{"name":"sprocket"}`, func(o semhttp.Outcome) (string, bool) {
		cr, ok := o.(*semhttp.Created)
		if !ok {
			return "", false
		}
		location = cr.Location.String()
		return "Location " + location, true
	})
	if err != nil {
		return err
	}
	_ = out
	path := strings.TrimPrefix(location, base)

	if _, err := step(2, "read", "GET", path, "", func(o semhttp.Outcome) (string, bool) {
		ok, is := o.(*semhttp.OK)
		if !is {
			return "", false
		}
		body, _ := io.ReadAll(ok.Response().Body)
		return fmt.Sprintf("ETag %s body %s", ok.Response().Header.Get("ETag"), strings.TrimSpace(string(body))), true
	}); err != nil {
		return err
	}

	if _, err := step(3, "read again", "GET", path, "", func(o semhttp.Outcome) (string, bool) {
		switch o := o.(type) {
		case *semhttp.NotModified:
			return "answered from the client's cache", true
		case *semhttp.OK:
			return "(no cache yet: full 200)", true
		default:
			_ = o
			return "", false
		}
	}); err != nil {
		return err
	}

	if _, err := step(4, "create duplicate", "POST", "/widgets", `{"name":"sprocket"}`, func(o semhttp.Outcome) (string, bool) {
		cf, ok := o.(*semhttp.Conflict)
		if !ok || cf.Problem() == nil {
			return "", false
		}
		return fmt.Sprintf("problem %q: %s", cf.Problem().Title, cf.Problem().Detail), true
	}); err != nil {
		return err
	}

	if _, err := step(5, "wrong method", "PATCH", path, `{}`, func(o semhttp.Outcome) (string, bool) {
		m, ok := o.(*semhttp.MethodNotAllowed)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("Allow %v", m.Allow), true
	}); err != nil {
		return err
	}

	if _, err := step(6, "delete", "DELETE", path, "", func(o semhttp.Outcome) (string, bool) {
		_, ok := o.(*semhttp.NoContent)
		return "deleted", ok
	}); err != nil {
		return err
	}

	if _, err := step(7, "read deleted", "GET", path, "", func(o semhttp.Outcome) (string, bool) {
		g, ok := o.(*semhttp.Gone)
		if !ok {
			return "", false
		}
		return "problem: " + g.Problem().Detail, true
	}); err != nil {
		return err
	}

	if _, err := step(8, "nonstandard status", "GET", "/legacy", "", func(o semhttp.Outcome) (string, bool) {
		ns, ok := o.(*semhttp.Nonstandard)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("code %d handled as a 5xx after %d attempts: %q", ns.Code, ns.Info().Attempts, ns.Body()), true
	}); err != nil {
		return err
	}

	if _, err := step(9, "transient 503", "GET", "/flaky?key=demo", "", func(o semhttp.Outcome) (string, bool) {
		_, ok := o.(*semhttp.OK)
		return fmt.Sprintf("succeeded on attempt %d", o.Info().Attempts), ok && o.Info().Attempts == 2
	}); err != nil {
		return err
	}
	return nil
}
