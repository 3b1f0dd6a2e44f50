package workload

// runners_semhttp.go holds the Runners of semhttp (Send, Do, the Poller);
// runners.go holds the interface and the peers' runners.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/semhttp/semhttp"
)

// --- semhttp Send -------------------------------------------------------

type semSendRunner struct{ c *semhttp.Client }

func (r *semSendRunner) Close() { CloseIdle(r.c) }

func (r *semSendRunner) send(method, u string, body io.Reader, hdr, val string) (semhttp.Outcome, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	if hdr != "" {
		req.Header.Set(hdr, val)
	}
	return r.c.Send(req)
}

func (r *semSendRunner) GetJSON(base string) error {
	out, err := r.send(http.MethodGet, base+PathJSON, nil, "", "")
	if err != nil {
		return err
	}
	if _, ok := out.(*semhttp.OK); !ok {
		out.Close()
		return fmt.Errorf("got %T, want *OK", out)
	}
	return consume(out.Response().Body, int64(len(JSONPayload)))
}

func (r *semSendRunner) PostCreate(base string) error {
	out, err := r.send(http.MethodPost, base+PathItems, strings.NewReader(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	c, ok := out.(*semhttp.Created)
	if !ok {
		out.Close()
		return fmt.Errorf("got %T, want *Created", out)
	}
	if err := checkLocation(c.Location, "/items/42"); err != nil {
		c.Close()
		return err
	}
	return consume(c.Response().Body, int64(len(CreatedPayload)))
}

func (r *semSendRunner) Download(base string, size int64) error {
	out, err := r.send(http.MethodGet, base+PathBlob+"?size="+strconv.FormatInt(size, 10), nil, "", "")
	if err != nil {
		return err
	}
	if _, ok := out.(*semhttp.OK); !ok {
		out.Close()
		return fmt.Errorf("got %T, want *OK", out)
	}
	return consume(out.Response().Body, size)
}

func (r *semSendRunner) Upload(base, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, base+PathUpload, f)
	if err != nil {
		f.Close()
		return err
	}
	req.ContentLength = size
	out, err := r.c.Send(req) // closes f
	if err != nil {
		return err
	}
	if _, ok := out.(*semhttp.Created); !ok {
		out.Close()
		return fmt.Errorf("got %T, want *Created", out)
	}
	return consume(out.Response().Body, -1)
}

func (r *semSendRunner) GetDoc(u, inm string) (int, error) {
	hdr := ""
	if inm != "" {
		hdr = "If-None-Match"
	}
	out, err := r.send(http.MethodGet, u, nil, hdr, inm)
	if err != nil {
		return 0, err
	}
	switch out.(type) {
	case *semhttp.OK, *semhttp.NotModified:
		return docResult(out.StatusCode(), out.Response().Body)
	}
	out.Close()
	return out.StatusCode(), fmt.Errorf("got %T, want *OK or *NotModified", out)
}

func (r *semSendRunner) PollJob(base string) error {
	out, err := r.send(http.MethodPost, base+PathJobs, strings.NewReader(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	// The same hand-written loop as the peers, so that Send itself is
	// compared; the benchmark's semhttp-Poller variant uses acc.Wait.
	var monitor string
	for i := 0; ; i++ {
		switch o := out.(type) {
		case *semhttp.OK:
			return consume(o.Response().Body, -1)
		case *semhttp.Accepted:
			if i > JobPolls {
				o.Close()
				return errNotDone
			}
			if monitor == "" {
				mon := o.Monitor
				if mon == nil { // no monitor header: fall back to Location
					if mon, err = o.Response().Location(); err != nil {
						o.Close()
						return err
					}
				}
				monitor = mon.String()
			}
			if err := consume(o.Response().Body, -1); err != nil {
				return err
			}
			if o.RetryAfter > 0 {
				time.Sleep(o.RetryAfter)
			}
			if out, err = r.send(http.MethodGet, monitor, nil, "", ""); err != nil {
				return err
			}
		default:
			out.Close()
			return fmt.Errorf("got %T, want *Accepted or *OK", out)
		}
	}
}

// semPollerRunner is semSendRunner but for PollJob, which hands the 202 to
// semhttp's own poller: *Accepted.Wait finds the monitor, honours each
// Retry-After: 0 and returns the final outcome.
type semPollerRunner struct{ semSendRunner }

func (r *semPollerRunner) PollJob(base string) error {
	out, err := r.send(http.MethodPost, base+PathJobs, strings.NewReader(RequestPayload), "Content-Type", "application/json")
	if err != nil {
		return err
	}
	acc, ok := out.(*semhttp.Accepted)
	if !ok {
		out.Close()
		return fmt.Errorf("got %T, want *Accepted", out)
	}
	final, err := acc.Wait(context.Background(), nil)
	if err != nil {
		return err
	}
	if _, ok := final.(*semhttp.OK); !ok {
		final.Close()
		return fmt.Errorf("final outcome %T, want *OK", final)
	}
	return consume(final.Response().Body, -1)
}
