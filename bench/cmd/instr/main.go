// Command instr measures what one request costs each client in CPU
// instructions, a figure that repeats within about 1 % on a machine whose
// wall-clock timings swing by ±20 % (a 2-vCPU VM shared by client, server
// and neighbours).
//
// Run plain, it makes requests of one workload through one client and
// exits:
//
//	instr -addr URL -client raw -op get -warm 8000 -n 2000
//
// Run with -measure, it runs itself that way under valgrind
// --tool=callgrind, once per sample, against a server in another process
// (cmd/rss-server, which valgrind does not see). The child drops the counts
// of its start-up and warm-up (CALLGRIND_ZERO_STATS, a client request
// issued from assembly), so the total divided by -n is the cost of one
// request in the client's process — the library, net/http's client side,
// the runtime's scheduling and allocation — plus the exit, under 0.1 %. It
// prints one go test -bench line per sample, so benchstat and cmd/ratios
// read them like the timed benchmarks:
//
//	BenchmarkGet200/client=raw 2000 60435 instructions/op
//
// The warm-up is long because of the runtime's per-call-site type
// assertion caches: a miss fills its cache with probability 1/1024, so
// after 3000 requests about one site in twenty still misses, at ~150
// instructions each time — a 3 % swing between runs. After 8000, one in
// 3000.
//
// The child runs with GOMAXPROCS=1 (no work stealing between Ps), GOGC=off
// (the background sweeper spins for as long as valgrind's serialized
// threads let it: thousands of instructions per request, varying from run
// to run) and GODEBUG=asyncpreemptoff=1 (callgrind asserts on the Go
// runtime's preemption signal). Allocation cost is still counted
// (mallocgc); the collector's is what go test -benchmem's B/op stands for.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() {
	base := flag.String("addr", "", "base URL of cmd/rss-server")
	client := flag.String("client", workload.NameRaw, "runner name (see workload.NewRunner)")
	op := flag.String("op", "get", "get (Get200), post (Post201) or poll (PollJob)")
	n := flag.Int("n", 2000, "measured requests (a quarter as many jobs for poll)")
	warm := flag.Int("warm", 8000, "requests made first, uncounted, so that connections, pools and the runtime's type-assertion caches are warm (a quarter as many jobs for poll)")

	measure := flag.Bool("measure", false, "run this program under callgrind and print instructions per request")
	clients := flag.String("clients", "", "-measure: comma-separated runners (default: every peer and semhttp runner)")
	ops := flag.String("ops", "get,post,poll", "-measure: comma-separated ops")
	reps := flag.Int("reps", 5, "-measure: samples per op and client")
	jobs := flag.Int("parallel", 2, "-measure: valgrind processes at once (each is single-threaded)")
	flag.Parse()

	var err error
	if *measure {
		m := measurer{addr: *base, warm: *warm, n: *n, parallel: *jobs}
		err = m.run(context.Background(), splitList(*ops), splitList(*clients), *reps)
	} else {
		err = run(*base, *client, *op, *warm, *n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "instr:", err)
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// workloads maps an op to the name of its timed benchmark, and scales the
// request counts (a poll job is four requests).
var workloads = map[string]struct {
	name  string
	scale int // divides -n and -warm
}{
	"get":  {"Get200", 1},
	"post": {"Post201", 1},
	"poll": {"PollJob", 4},
}

// defaultClients are the runners measured per op.
func defaultClients(op string) []string {
	cs := []string{workload.NameRaw, workload.NameRetryable, workload.NameResty,
		workload.NameSemhttpSend, workload.NameSemhttpDo}
	if op == "poll" {
		cs = append(cs, workload.NameSemhttpPoller)
	}
	return cs
}

func run(base, client, op string, warm, n int) error {
	if base == "" {
		return errors.New("-addr is required")
	}
	r, err := workload.NewRunner(client)
	if err != nil {
		return err
	}
	defer r.Close()
	var call func() error
	switch op {
	case "get":
		call = func() error { return r.GetJSON(base) }
	case "post":
		call = func() error { return r.PostCreate(base) }
	case "poll":
		call = func() error { return r.PollJob(base) }
	default:
		return fmt.Errorf("-op %q: want get, post or poll", op)
	}
	for i := 0; i < warm+n; i++ {
		if i == warm {
			callgrindZeroStats() // count from here on
		}
		if err := call(); err != nil {
			return fmt.Errorf("%s %s request %d: %w", client, op, i, err)
		}
	}
	return nil
}

type measurer struct {
	addr     string
	warm, n  int
	parallel int
	self     string // this program
	valgrind string
	mu       sync.Mutex // serializes output
}

type sample struct {
	op, client string
	n, warm    int
}

func (m *measurer) run(ctx context.Context, ops, clients []string, reps int) error {
	if m.addr == "" {
		return errors.New("-addr is required")
	}
	if m.n < 10 || m.warm < 0 || reps < 1 {
		return fmt.Errorf("need -n >= 10, -warm >= 0 and -reps >= 1")
	}
	var err error
	if m.self, err = os.Executable(); err != nil {
		return err
	}
	if m.valgrind, err = exec.LookPath("valgrind"); err != nil {
		return fmt.Errorf("valgrind not found (Debian: apt-get install valgrind): %w", err)
	}
	var todo []sample
	for _, op := range ops {
		w, ok := workloads[op]
		if !ok {
			return fmt.Errorf("op %q: want get, post or poll", op)
		}
		cs := clients
		if len(cs) == 0 {
			cs = defaultClients(op)
		}
		// Samples interleave the clients, so that a drift in the machine
		// (if any reaches instruction counts) spreads over all of them.
		for rep := 0; rep < reps; rep++ {
			for _, c := range cs {
				todo = append(todo, sample{op: op, client: c, n: max(10, m.n/w.scale), warm: m.warm / w.scale})
			}
		}
	}
	work := make(chan sample)
	errs := make(chan error, len(todo))
	var wg sync.WaitGroup
	for i := 0; i < max(1, m.parallel); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				errs <- m.measure(ctx, s)
			}
		}()
	}
	for _, s := range todo {
		work <- s
	}
	close(work)
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func (m *measurer) measure(ctx context.Context, s sample) error {
	var per float64
	if zeroes {
		// The count starts after the warm-up (CALLGRIND_ZERO_STATS): one
		// run, whose total also holds the exit (~60k instructions, under
		// 0.1 % of a sample).
		b, err := m.count(ctx, s, s.n)
		if err != nil {
			return err
		}
		per = float64(b) / float64(s.n)
	} else {
		a, err := m.count(ctx, s, s.n/10)
		if err != nil {
			return err
		}
		b, err := m.count(ctx, s, s.n)
		if err != nil {
			return err
		}
		per = float64(b-a) / float64(s.n-s.n/10)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Printf("Benchmark%s/client=%s\t%d\t%.0f instructions/op\n", workloads[s.op].name, s.client, s.n, per)
	return nil
}

// count runs one child under callgrind and returns the instructions it
// executed.
func (m *measurer) count(ctx context.Context, s sample, n int) (uint64, error) {
	cmd := exec.CommandContext(ctx, m.valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
		m.self, "-addr", m.addr, "-client", s.client, "-op", s.op,
		"-n", strconv.Itoa(n), "-warm", strconv.Itoa(s.warm))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GOGC=off", "GODEBUG=asyncpreemptoff=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s -n %d under valgrind: %w\n%s", s.client, s.op, n, err, tail(stderr.String(), 2000))
	}
	return collected(stderr.String())
}

var collectedRE = regexp.MustCompile(`(?m)^==\d+== Collected : (\d+)\s*$`)

// collected reads callgrind's total ("==PID== Collected : N") from its
// report on stderr.
func collected(report string) (uint64, error) {
	m := collectedRE.FindStringSubmatch(report)
	if m == nil {
		return 0, fmt.Errorf("no instruction total in callgrind's report:\n%s", tail(report, 2000))
	}
	return strconv.ParseUint(m[1], 10, 64)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
