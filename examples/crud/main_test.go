package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/semhttp/semhttp/examples/internal/demoapi"
)

func TestLifecycle(t *testing.T) {
	srv := demoapi.Start()
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), &out, srv.URL); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"*semhttp.Created", "*semhttp.NotModified", "*semhttp.Conflict", "*semhttp.MethodNotAllowed",
		"Allow [DELETE GET HEAD PUT]", "*semhttp.NoContent", "*semhttp.Gone", "*semhttp.Nonstandard",
		"code 999", "succeeded on attempt 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
