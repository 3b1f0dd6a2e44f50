package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
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
func readmeSDK(ctx context.Context, server string) error {
	doer := semhttp.New(semhttp.WithHeader("User-Agent", "widgets-sdk/1.0"))
	client, err := api.NewClientWithResponses(server, api.WithHTTPClient(doer))
	if err != nil {
		return err
	}

	// The typed outcome of the same call, for SDKs that offer both:
	var out semhttp.Outcome
	resp, err := client.CreateWidgetWithResponse(
		semhttp.WithRequestOptions(ctx, semhttp.RequestOptions{Outcome: &out}), api.NewWidget{Name: "x"})
	if err != nil {
		return err
	}
	if c, ok := out.(*semhttp.Conflict); ok {
		fmt.Println(c.Problem().Detail, resp.ApplicationproblemJSON409 != nil) // the generated type decodes too
	}
	doer.CloseIdleConnections()
	return nil
}

func TestREADMESnippet(t *testing.T) {
	srv, _ := demoapi.StartAPI()
	defer srv.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	for range 2 { // the second create of "x" is a conflict
		if err := readmeSDK(context.Background(), srv.URL); err != nil {
			os.Stdout = stdout
			t.Fatal(err)
		}
	}
	os.Stdout = stdout
	w.Close()
	printed, _ := io.ReadAll(r)
	if !strings.HasSuffix(string(printed), " true\n") || strings.Count(string(printed), "\n") != 1 {
		t.Fatalf("printed %q; want the conflict's detail, and the generated 409 type decoded", printed)
	}
}
