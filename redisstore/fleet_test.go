package redisstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
)

// fleet_test.go runs a fleet: this test binary started again as several
// worker processes, each with its own semhttp Client on one redis-server,
// against one origin in the test's process, which counts what reaches it.

// The environment of a worker.
const (
	workerEnv       = "REDISSTORE_FLEET_WORKER" // its index
	workerCountEnv  = "REDISSTORE_FLEET_WORKERS"
	workerRedisEnv  = "REDISSTORE_FLEET_REDIS"
	workerOriginEnv = "REDISSTORE_FLEET_ORIGIN"
)

// The fleet's resources (see origin) and how many times each worker reads
// all of them once they are stored.
const (
	fleetFresh  = 8 // /fresh/N: max-age=3600, never asked again
	fleetReval  = 8 // /reval/N: no-cache, revalidated each time (304)
	fleetVary   = 4 // /vary/N: in two languages, each stored once
	fleetRounds = 3
)

var fleetLanguages = []string{"en", "fr"}

// fleetGet is one GET a worker makes: its path, language and the cache
// answer it expects once the fleet has stored everything.
type fleetGet struct{ path, lang, want string }

// fleetGets lists every GET of the fleet, in the order worker w makes
// them (rotated by w, so that the workers do not march in step).
func fleetGets(w int) []fleetGet {
	var all []fleetGet
	for i := range fleetFresh {
		all = append(all, fleetGet{fmt.Sprintf("/fresh/%d", i), "", "fresh"})
	}
	for i := range fleetReval {
		all = append(all, fleetGet{fmt.Sprintf("/reval/%d", i), "", "revalidated"})
	}
	for i := range fleetVary {
		for _, l := range fleetLanguages {
			all = append(all, fleetGet{fmt.Sprintf("/vary/%d", i), l, "fresh"})
		}
	}
	w = w * 7 % len(all)
	return append(all[w:len(all):len(all)], all[:w]...)
}

// TestFleet starts workers that share a cache through one redis-server:
// first each one fetches its share of the resources (so that each is
// fetched once), then, all at once, every worker reads every resource a
// few times. The origin must have sent one full 200 per resource (per
// language for Vary) for the whole fleet, and afterwards 304s for the
// no-cache resources and nothing for the fresh ones.
func TestFleet(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv := startRedis(t)
	o := newOrigin(t)
	const workers = 4
	type worker struct {
		cmd   *exec.Cmd
		in    io.WriteCloser
		out   *bufio.Scanner
		lines chan string
	}
	ws := make([]*worker, workers)
	for i := range ws {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			workerEnv+"="+strconv.Itoa(i),
			workerCountEnv+"="+strconv.Itoa(workers),
			workerRedisEnv+"="+srv.addr(),
			workerOriginEnv+"="+o.URL)
		cmd.Stderr = &prefixWriter{t: t, prefix: fmt.Sprintf("worker %d: ", i)}
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w := &worker{cmd: cmd, in: in, out: bufio.NewScanner(out), lines: make(chan string, 4)}
		go func() {
			for w.out.Scan() {
				w.lines <- w.out.Text()
			}
			close(w.lines)
		}()
		ws[i] = w
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	line := func(i int, w *worker) string {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("worker %d ended early", i)
			}
			return l
		case <-time.After(2 * time.Minute):
			t.Fatalf("worker %d is silent", i)
		}
		return ""
	}
	for i, w := range ws {
		if l := line(i, w); l != "ready" {
			t.Fatalf("worker %d: %q, want ready", i, l)
		}
	}
	// Every resource is stored now, fetched by one worker each.
	for i, w := range ws {
		if _, err := io.WriteString(w.in, "go\n"); err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	for i, w := range ws {
		l := line(i, w)
		if !strings.HasPrefix(l, "done ") {
			t.Fatalf("worker %d: %q", i, l)
		}
		t.Logf("worker %d: %s", i, l)
		if err := w.cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}

	var full, notModified int
	for _, g := range fleetGets(0) {
		f, n := o.counts(g.path)
		if g.lang == fleetLanguages[0] || g.lang == "" {
			full, notModified = full+f, notModified+n
		}
		want := 1
		if g.lang != "" {
			want = len(fleetLanguages)
		}
		if f != want {
			t.Errorf("%s: the origin sent %d full 200s, want %d for the whole fleet", g.path, f, want)
		}
		wantNot := 0
		if g.want == "revalidated" {
			wantNot = workers * fleetRounds
		}
		if n != wantNot {
			t.Errorf("%s: the origin sent %d 304s, want %d", g.path, n, wantNot)
		}
	}
	t.Logf("%d workers, %d GETs each after the first fetches: the origin sent %d full 200s (%d resources, %d of them in %d languages) and %d 304s",
		workers, len(fleetGets(0))*fleetRounds, full, fleetFresh+fleetReval+fleetVary, fleetVary, len(fleetLanguages), notModified)
}

// prefixWriter passes what a worker writes to stderr to the test's log.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fleetWorker is the main function of a worker (see TestMain): it fetches
// the resources it owns, says "ready", waits for "go" on stdin, reads
// every resource fleetRounds times checking that each answer came from the
// store, and says "done" with its tally. Its exit code is 0 on success.
func fleetWorker() int {
	if err := runWorker(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func runWorker() error {
	idx, _ := strconv.Atoi(os.Getenv(workerEnv))
	n, _ := strconv.Atoi(os.Getenv(workerCountEnv))
	base := os.Getenv(workerOriginEnv)
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(workerRedisEnv)})
	defer rdb.Close()
	// A timeout long enough for a loaded machine: a lookup that timed out
	// would send a request the test counts.
	c := semhttp.New(semhttp.WithCache(New(rdb, WithTimeout(5*time.Second))))
	defer c.CloseIdleConnections()

	get := func(g fleetGet) (string, error) {
		req, err := http.NewRequest(http.MethodGet, base+g.path, nil)
		if err != nil {
			return "", err
		}
		if g.lang != "" {
			req.Header.Set("Accept-Language", g.lang)
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		want := "body of " + g.path
		if g.lang != "" {
			want += " in " + g.lang
		}
		if resp.StatusCode != http.StatusOK || string(b) != want {
			return "", fmt.Errorf("GET %s (%s): %s %q, want 200 %q", g.path, g.lang, resp.Status, b, want)
		}
		return resp.Header.Get(semhttp.CacheHeader), nil
	}

	// This worker's share: every n-th resource (all its languages).
	all := fleetGets(0)
	owned := map[string]bool{}
	for _, g := range all {
		if _, seen := owned[g.path]; !seen {
			owned[g.path] = len(owned)%n == idx
		}
	}
	for _, g := range all {
		if owned[g.path] {
			if _, err := get(g); err != nil {
				return err
			}
		}
	}
	fmt.Println("ready")
	if l, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || l != "go\n" {
		return fmt.Errorf("stdin: %q, %v", l, err)
	}
	tally := map[string]int{}
	for range fleetRounds {
		for _, g := range fleetGets(idx) {
			how, err := get(g)
			if err != nil {
				return err
			}
			if how != g.want {
				return fmt.Errorf("GET %s (%s): answered %q, want %q", g.path, g.lang, how, g.want)
			}
			tally[how]++
		}
	}
	if len(tally) == 0 {
		return errors.New("no GET")
	}
	fmt.Printf("done fresh=%d revalidated=%d\n", tally["fresh"], tally["revalidated"])
	return nil
}
