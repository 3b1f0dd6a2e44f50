// Command instr measures what one request costs each client in CPU
// instructions, a figure that repeats within about 1 % on a machine whose
// wall-clock timings swing by ±20 % (a 2-vCPU VM shared by client, server
// and neighbours).
//
// Run plain, it makes requests of one workload through one client and
// exits:
//
//	instr -addr URL -client raw -op get
//
// The ops are those of the timed benchmarks: get (Get200), post (Post201),
// poll (PollJob, per job of four requests), parallel (Parallel64: 64
// goroutines share the client; per request), download and upload (16 MiB
// each; per MiB moved).
//
// Run with -measure, it runs itself that way under valgrind
// --tool=callgrind, once per sample, against a server in another process
// (cmd/rss-server, which valgrind does not see). The child drops the counts
// of its start-up and warm-up (CALLGRIND_ZERO_STATS, a client request
// issued from assembly), so the total divided by the count is the cost of
// one request in the client's process — the library, net/http's client
// side, the runtime's scheduling and allocation — plus the exit, under
// 0.1 %. The kernel's work (system calls, sendfile's copy, TCP) is not
// counted. It prints one go test -bench line per sample, so benchstat and
// cmd/ratios read them like the timed benchmarks:
//
//	BenchmarkGet200/client=raw 2000 60435 instructions/op
//
// The warm-up of get and post is long because of the runtime's
// per-call-site type assertion caches: a miss fills its cache with
// probability 1/1024, so after 3000 requests about one site in twenty
// still misses, at ~150 instructions each time — a 3 % swing between runs.
// After 8000, one in 3000.
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
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() {
	base := flag.String("addr", "", "base URL of cmd/rss-server")
	client := flag.String("client", workload.NameRaw, "runner name (see workload.NewRunner)")
	opName := flag.String("op", "get", "get (Get200), post (Post201), poll (PollJob), parallel (Parallel64), download or upload ("+strconv.Itoa(transferMiB)+" MiB each)")
	n := flag.Int("n", 0, "measured requests (jobs, transfers); 0: the op's default")
	warm := flag.Int("warm", -1, "requests made first, uncounted, so that connections, pools and the runtime's type-assertion caches are warm; -1: the op's default")
	file := flag.String("file", "", "-op upload: a file of at least "+strconv.Itoa(transferMiB)+" MiB")

	measure := flag.Bool("measure", false, "run this program under callgrind and print instructions per request")
	clients := flag.String("clients", "", "-measure: comma-separated runners (default: every peer and semhttp runner)")
	opList := flag.String("ops", "get,post,poll,parallel,download,upload", "-measure: comma-separated ops")
	reps := flag.Int("reps", 5, "-measure: samples per op and client")
	scale := flag.Float64("scale", 1, "-measure: multiplies each op's warm-up and count (0.05 for a quick check)")
	jobs := flag.Int("parallel", 2, "-measure: valgrind processes at once (each is single-threaded)")
	flag.Parse()

	var err error
	if *measure {
		m := measurer{addr: *base, scale: *scale, parallel: *jobs}
		err = m.run(context.Background(), splitList(*opList), splitList(*clients), *reps)
	} else {
		o := ops[*opName]
		if *n <= 0 {
			*n = o.n
		}
		if *warm < 0 {
			*warm = o.warm
		}
		err = run(*base, *client, *opName, *file, *warm, *n)
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

// An op is one workload of the timed benchmarks, as cmd/instr counts it.
type op struct {
	bench   string   // the timed benchmark's name
	unit    string   // what a sample is per
	warm, n int      // default requests (transfers, jobs) before and during the count
	clients []string // the runners measured
}

// transferMiB is the size of one download or upload in -op download and
// upload (the timed benchmarks move 64 MiB; a count per MiB does not
// depend on it, and valgrind copies at ~40 MB/s).
const transferMiB = 16

var ops = map[string]op{
	"get":  {"Get200", "instructions/op", 8000, 2000, workload.BasicClients},
	"post": {"Post201", "instructions/op", 8000, 2000, workload.BasicClients},
	// A job is four requests.
	"poll": {"PollJob", "instructions/op", 2000, 500, append(slices.Clone(workload.BasicClients), workload.NameSemhttpPoller)},
	// 64 goroutines share the client; a sample is per request. Clients
	// whose pool keeps 2-3 idle connections per host dial and close
	// connections throughout (the kernel's part of that is not counted).
	"parallel": {"Parallel64", "instructions/op", 8000, 2000, workload.ParallelClients},
	// Per MiB moved: a copy loop shows here (memmove), sendfile does not.
	"download": {"Download", "instructions/MiB", 2, 4, workload.DownloadClients},
	"upload":   {"Upload", "instructions/MiB", 4, 32, workload.UploadClients}, // sendfile: cheap under valgrind
}

func opNames() string {
	names := slices.Sorted(maps.Keys(ops))
	return strings.Join(names, ", ")
}

// concurrency is the number of requesters of -op parallel.
const concurrency = 64

func run(base, client, opName, file string, warm, n int) error {
	if base == "" {
		return errors.New("-addr is required")
	}
	if _, ok := ops[opName]; !ok {
		return fmt.Errorf("-op %q: want one of %s", opName, opNames())
	}
	r, err := workload.NewRunner(client)
	if err != nil {
		return err
	}
	defer r.Close()
	size := int64(transferMiB << 20)
	var call func() error
	switch opName {
	case "get", "parallel":
		call = func() error { return r.GetJSON(base) }
	case "post":
		call = func() error { return r.PostCreate(base) }
	case "poll":
		call = func() error { return r.PollJob(base) }
	case "download":
		call = func() error { return r.Download(base, size) }
	case "upload":
		if file == "" {
			return errors.New("-op upload needs -file")
		}
		call = func() error { return r.Upload(base, file, size) }
	}
	workers := 1
	if opName == "parallel" {
		workers = concurrency
	}
	if err := spread(warm, workers, call); err != nil {
		return fmt.Errorf("%s %s warm-up: %w", client, opName, err)
	}
	callgrindZeroStats() // count from here on
	if err := spread(n, workers, call); err != nil {
		return fmt.Errorf("%s %s: %w", client, opName, err)
	}
	return nil
}

// spread makes n calls from workers goroutines and returns the first error.
func spread(n, workers int, call func() error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

type measurer struct {
	addr     string
	scale    float64 // multiplies each op's warm-up and count
	parallel int
	self     string // this program
	valgrind string
	file     string     // the upload's source
	mu       sync.Mutex // serializes output
}

type sample struct {
	op, client string
	n, warm    int
}

func (m *measurer) run(ctx context.Context, names, clients []string, reps int) error {
	if m.addr == "" {
		return errors.New("-addr is required")
	}
	if m.scale <= 0 || reps < 1 {
		return errors.New("need -scale > 0 and -reps >= 1")
	}
	var err error
	if m.self, err = os.Executable(); err != nil {
		return err
	}
	if m.valgrind, err = exec.LookPath("valgrind"); err != nil {
		return fmt.Errorf("valgrind not found (Debian: apt-get install valgrind): %w", err)
	}
	var todo []sample
	for _, name := range names {
		o, ok := ops[name]
		if !ok {
			return fmt.Errorf("op %q: want one of %s", name, opNames())
		}
		if name == "upload" && m.file == "" {
			if m.file, err = uploadFile(); err != nil {
				return err
			}
			defer os.Remove(m.file)
		}
		cs := clients
		if len(cs) == 0 {
			cs = o.clients
		}
		n := max(1, int(float64(o.n)*m.scale))
		warm := max(1, int(float64(o.warm)*m.scale))
		// Samples interleave the clients, so that a drift in the machine
		// (if any reaches instruction counts) spreads over all of them.
		for rep := 0; rep < reps; rep++ {
			for _, c := range cs {
				todo = append(todo, sample{op: name, client: c, n: n, warm: warm})
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
	var count float64
	if zeroes {
		// The count starts after the warm-up (CALLGRIND_ZERO_STATS): one
		// run, whose total also holds the exit (~60k instructions, under
		// 0.1 % of a sample).
		b, err := m.count(ctx, s, s.n)
		if err != nil {
			return err
		}
		count = float64(b) / float64(s.n)
	} else {
		short := max(1, s.n/10)
		if short == s.n {
			return fmt.Errorf("%s %s: -n %d is too small to take a difference", s.client, s.op, s.n)
		}
		a, err := m.count(ctx, s, short)
		if err != nil {
			return err
		}
		b, err := m.count(ctx, s, s.n)
		if err != nil {
			return err
		}
		count = float64(b-a) / float64(s.n-short)
	}
	o := ops[s.op]
	if o.unit == "instructions/MiB" {
		count /= transferMiB
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Printf("Benchmark%s/client=%s\t%d\t%.0f %s\n", o.bench, s.client, s.n, count, o.unit)
	return nil
}

// uploadFile writes a file of transferMiB MiB for -op upload.
func uploadFile() (string, error) {
	f, err := os.CreateTemp("", "instr-upload-*.bin")
	if err != nil {
		return "", err
	}
	_, err = io.CopyN(f, rand.Reader, transferMiB<<20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// count runs one child under callgrind and returns the instructions it
// executed.
func (m *measurer) count(ctx context.Context, s sample, n int) (uint64, error) {
	cmd := exec.CommandContext(ctx, m.valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
		m.self, "-addr", m.addr, "-client", s.client, "-op", s.op,
		"-n", strconv.Itoa(n), "-warm", strconv.Itoa(s.warm), "-file", m.file)
	// cpu.rdtscp=off: Go 1.26 reads the clock with RDTSCP where the CPU
	// has it, which valgrind 3.19 (Debian 12) does not decode (SIGILL).
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GOGC=off", "GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off")
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
