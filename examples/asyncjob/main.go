// Command asyncjob starts a long-running job on a small embedded API and
// waits for it with semhttp's Poller.
//
// The demo API listens on 127.0.0.1 (a random port). POST /reports answers
// 202 Accepted with an Operation-Location status monitor and Retry-After: 1;
// the monitor reports "Running" with a percentComplete for a few polls, then
// "Succeeded" with a resourceLocation, where the finished report is.
//
// Then it creates a cluster the way Azure Resource Manager does: PUT
// /clusters/{name} answers 201 Created with an Azure-AsyncOperation
// monitor and a provisioningState of "Creating". Client.NewPoller sees a
// running operation in that 201, polls the monitor, and when it says
// "Succeeded" GETs the cluster that was put.
//
//	go run ./examples/asyncjob
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/semhttp/semhttp"
)

func main() {
	api, err := startDemoAPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "asyncjob:", err)
		os.Exit(1)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, api.URL); err != nil {
		fmt.Fprintln(os.Stderr, "asyncjob:", err)
		os.Exit(1)
	}
}

// run starts a report job on the API at base and waits for it, writing
// progress to w.
func run(ctx context.Context, w io.Writer, base string) error {
	c := semhttp.New()
	defer c.CloseIdleConnections()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/reports", strings.NewReader(`{"quarter":"Q3"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "respond-async") // ask for a 202 instead of a held connection (RFC 7240)
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	accepted, ok := out.(*semhttp.Accepted)
	if !ok {
		out.Close()
		return fmt.Errorf("expected 202 Accepted, got %s", out.Response().Status)
	}
	fmt.Fprintf(w, "job accepted; monitor %s (from %s), first poll in %v\n",
		accepted.Monitor, accepted.MonitorFrom, accepted.RetryAfter)

	result, err := accepted.Wait(ctx, &semhttp.PollOptions{
		Interval:    250 * time.Millisecond,
		MaxInterval: 250 * time.Millisecond,
		MaxPolls:    20,
		MaxTime:     time.Minute,
		Progress:    func(p semhttp.Progress) { printProgress(w, p) },
	})
	type report struct {
		Quarter string `json:"quarter"`
		Revenue int    `json:"revenue"`
		Pages   int    `json:"pages"`
	}
	r, err := semhttp.Decode[report](result, err)
	var failed *semhttp.JobError
	switch {
	case errors.As(err, &failed):
		return fmt.Errorf("the job failed: %w", failed)
	case err != nil:
		return err
	}
	fmt.Fprintf(w, "report %s: revenue %d, %d pages\n", r.Quarter, r.Revenue, r.Pages)
	return provision(ctx, w, c, base)
}

// provision creates a cluster with PUT and waits until it is provisioned.
func provision(ctx context.Context, w io.Writer, c *semhttp.Client, base string) error {
	req, err := semhttp.NewJSONRequest(ctx, http.MethodPut, base+"/clusters/east", map[string]int{"nodes": 3})
	if err != nil {
		return err
	}
	out, err := c.Send(req)
	if err != nil {
		return err
	}
	created, ok := out.(*semhttp.Created)
	if !ok {
		out.Close()
		return fmt.Errorf("expected 201 Created, got %s", out.Response().Status)
	}
	defer created.Close()
	// A 201 can be the start of an operation: NewPoller finds its monitor
	// (or, for a finished one, gives a Poller that is already done).
	p, err := c.NewPoller(created, &semhttp.PollOptions{Interval: 100 * time.Millisecond, MaxTime: time.Minute,
		Progress: func(p semhttp.Progress) { printProgress(w, p) }})
	if err != nil {
		created.Close()
		return err
	}
	fmt.Fprintf(w, "cluster created at %s; provisioning (done: %v)\n", created.Location, p.Done())
	type cluster struct {
		Name       string `json:"name"`
		Properties struct {
			Nodes             int    `json:"nodes"`
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	cl, err := semhttp.Decode[cluster](p.Wait(ctx))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cluster %s: %d nodes, %s\n", cl.Name, cl.Properties.Nodes, cl.Properties.ProvisioningState)
	return nil
}

// printProgress draws one progress line per poll.
func printProgress(w io.Writer, p semhttp.Progress) {
	const width = 20
	bar := strings.Repeat(" ", width)
	pct := "  ?%"
	if p.Percent >= 0 {
		n := int(p.Percent / 100 * width)
		bar = strings.Repeat("#", n) + strings.Repeat(" ", width-n)
		pct = fmt.Sprintf("%3.0f%%", p.Percent)
	}
	line := fmt.Sprintf("poll %d [%s] %s %s", p.Poll, bar, pct, p.State)
	if p.Err != nil {
		line += " (transient: " + p.Err.Error() + ")"
	}
	fmt.Fprintln(w, line)
}

// demoAPI is the embedded job API.
type demoAPI struct {
	URL string
	srv *http.Server
	mu  sync.Mutex
	// polls counts the polls of each operation.
	polls map[string]int
}

const pollsToFinish = 4

func startDemoAPI() (*demoAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	api := &demoAPI{URL: "http://" + ln.Addr().String(), polls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reports", api.create)
	mux.HandleFunc("GET /operations/{id}", api.status)
	mux.HandleFunc("GET /reports/{id}", api.report)
	mux.HandleFunc("PUT /clusters/{name}", api.putCluster)
	mux.HandleFunc("GET /clusters/{name}/operations/1", api.clusterOperation)
	mux.HandleFunc("GET /clusters/{name}", api.getCluster)
	api.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go api.srv.Serve(ln)
	return api, nil
}

func (a *demoAPI) Close() { a.srv.Close() }

func (a *demoAPI) create(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	id := fmt.Sprint(len(a.polls) + 1)
	a.polls[id] = 0
	a.mu.Unlock()
	if strings.Contains(r.Header.Get("Prefer"), "respond-async") {
		w.Header().Set("Preference-Applied", "respond-async")
	}
	w.Header().Set("Operation-Location", "/operations/"+id)
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "NotStarted"})
}

func (a *demoAPI) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a.mu.Lock()
	n, ok := a.polls[id]
	if ok {
		n++
		a.polls[id] = n
	}
	a.mu.Unlock()
	if !ok {
		http.Error(w, "no such operation", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	doc := map[string]any{"id": id, "status": "Running", "percentComplete": n * 100 / (pollsToFinish + 1)}
	if n > pollsToFinish {
		doc = map[string]any{"id": id, "status": "Succeeded", "resourceLocation": "/reports/" + id}
	}
	json.NewEncoder(w).Encode(doc)
}

func (a *demoAPI) report(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"quarter": "Q3", "revenue": 1250000, "pages": 12})
}

// putCluster starts provisioning: 201 Created, Azure-AsyncOperation, and a
// body whose provisioningState says the operation is running.
func (a *demoAPI) putCluster(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a.mu.Lock()
	a.polls["cluster/"+name] = 0
	a.mu.Unlock()
	w.Header().Set("Location", "/clusters/"+name)
	w.Header().Set("Azure-AsyncOperation", "/clusters/"+name+"/operations/1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(clusterDoc(name, "Creating"))
}

func (a *demoAPI) clusterOperation(w http.ResponseWriter, r *http.Request) {
	key := "cluster/" + r.PathValue("name")
	a.mu.Lock()
	a.polls[key]++
	n := a.polls[key]
	a.mu.Unlock()
	status := "InProgress"
	if n >= 2 {
		status = "Succeeded"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": status, "percentComplete": min(100, n*50)})
}

func (a *demoAPI) getCluster(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(clusterDoc(r.PathValue("name"), "Succeeded"))
}

func clusterDoc(name, state string) map[string]any {
	return map[string]any{"name": name, "properties": map[string]any{"nodes": 3, "provisioningState": state}}
}
