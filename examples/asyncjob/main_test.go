package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/examples/internal/demoapi"
)

func TestAsyncJobExample(t *testing.T) {
	api, err := startDemoAPI()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, &out, api.URL); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"from Operation-Location", " 20% running", " 80% running",
		"100% succeeded", "report Q3: revenue 1250000, 12 pages",
		"provisioning (done: false)", " 50% running", "cluster east: 3 nodes, Succeeded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoAPIJob waits on the shared demo API's job (Location monitor,
// running twice, then 303 See Other to the widget it made).
func TestDemoAPIJob(t *testing.T) {
	srv := demoapi.Start()
	defer srv.Close()
	c := semhttp.New()
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/jobs", strings.NewReader(`{"name":"sprocket"}`))
	req.Header.Set("Content-Type", "application/json")
	out, err := c.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := out.(*semhttp.Accepted)
	if !ok {
		out.Close()
		t.Fatalf("got %T", out)
	}
	var percents []float64
	res, err := a.Wait(context.Background(), &semhttp.PollOptions{Progress: func(p semhttp.Progress) {
		percents = append(percents, p.Percent)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	body, _ := io.ReadAll(res.Response().Body)
	if !strings.Contains(string(body), `"sprocket"`) || len(percents) != 3 || percents[0] != 40 {
		t.Fatalf("result %s after progress %v", body, percents)
	}
}
