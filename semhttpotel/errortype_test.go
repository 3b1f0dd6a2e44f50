package semhttpotel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/semhttp/semhttp"
)

// error.type is the class of the cause, through the wrappers that name
// none: semhttp's RequestError, net/http's url.Error, fmt's %w (a Wait's
// "semhttp: polling: %w" around a poll's error).
func TestErrorType(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, c := range []struct {
		err  error
		want string
	}{
		{&semhttp.RequestError{Err: opErr}, "*net.OpError"},
		{&semhttp.RequestError{Err: &url.Error{Op: "Get", URL: "u", Err: opErr}}, "*net.OpError"},
		{fmt.Errorf("semhttp: polling: %w", &semhttp.RequestError{Err: opErr}), "*net.OpError"},
		{fmt.Errorf("semhttp: polling: %w", &semhttp.RequestError{Err: context.DeadlineExceeded}), "timeout"},
		{&semhttp.RequestError{Err: &semhttp.RedirectError{Err: semhttp.ErrTooManyRedirects}}, "semhttp.ErrTooManyRedirects"},
		{&semhttp.RequestError{Err: context.Canceled}, "canceled"},
		{fmt.Errorf("semhttp: waiting: %w", semhttp.ErrPollBudget), "semhttp.ErrPollBudget"},
	} {
		if got := errorType(c.err).Value.AsString(); got != c.want {
			t.Errorf("%v: error.type %q, want %q", c.err, got, c.want)
		}
	}
}
