package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/examples/internal/demoapi"
	"github.com/semhttp/semhttp/examples/sdk/api"
)

// TestGeneratedClientThroughSemhttp runs the generated client with semhttp
// as its doer and checks, on the server's side of the wire, what semhttp did
// without the generated code knowing.
func TestGeneratedClientThroughSemhttp(t *testing.T) {
	srv, demo := demoapi.StartAPI()
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), &out, srv.URL, demo); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	log := demo.Log()

	// The 308 was followed with the same method and body: the widget exists
	// under the name sent to the old route.
	if len(log) < 2 || log[0].Path != "/v1/widgets" || log[0].Status != 308 ||
		log[1].Method != "POST" || log[1].Path != "/widgets" || log[1].Status != 201 {
		t.Errorf("308 not followed as POST /widgets: %+v", log[:2])
	}
	// The second read went out with If-None-Match and came back 304 with no
	// body, yet the generated code decoded the widget (run checks JSON200).
	var revalidated, retried bool
	for i, e := range log {
		if e.Method == "GET" && e.Status == 304 && e.IfNoneMatch != "" && e.BodyBytes == 0 {
			revalidated = true
		}
		if e.Status == 503 && i+1 < len(log) && log[i+1].Path == e.Path && log[i+1].Status < 400 {
			retried = true
		}
	}
	if !revalidated {
		t.Errorf("no 304 revalidation on the wire: %+v", log)
	}
	if !retried {
		t.Errorf("503 not retried: %+v", log)
	}
}

// readmeSDK is the README's "Under a generated client" snippet, word for
// word (the root package's TestREADMESnippets checks that).
func readmeSDK(ctx context.Context, server string) (*api.CreateWidgetResponse, error) {
	doer := semhttp.New(semhttp.WithUserAgent("widgets-sdk/1.0"))
	client, err := api.NewClientWithResponses(server, api.WithHTTPClient(doer))

	// The typed outcome of the same call, for SDKs that offer both:
	var out semhttp.Outcome
	resp, err := client.CreateWidgetWithResponse(
		semhttp.WithRequestOptions(ctx, semhttp.CaptureOutcome(&out)), api.NewWidget{Name: "x"})
	if c, ok := out.(*semhttp.Conflict); ok {
		fmt.Println(c.Problem().Detail) // and resp.ApplicationproblemJSON409 still decodes
	}
	doer.CloseIdleConnections()
	return resp, err
}

func TestREADMESnippet(t *testing.T) {
	srv, _ := demoapi.StartAPI()
	defer srv.Close()
	for i := range 2 {
		resp, err := readmeSDK(context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{201, 409}[i]; resp.StatusCode() != want {
			t.Fatalf("call %d: %d, want %d", i, resp.StatusCode(), want)
		}
		if i == 1 && resp.ApplicationproblemJSON409 == nil {
			t.Fatal("the generated client did not decode its 409 problem type")
		}
	}
}
