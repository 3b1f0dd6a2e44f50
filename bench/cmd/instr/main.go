// Command instr makes a fixed number of requests of one workload through one
// client and exits. run.sh (INSTR=1) runs it under valgrind --tool=callgrind
// twice, with -n N1 and -n N2, against cmd/rss-server in another process:
// (instructions(N2) - instructions(N1)) / (N2 - N1) is the client's own cost
// of one request in instructions, a figure that repeats to well under 1 %
// on a machine whose wall-clock timings vary by ±20 %.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

func main() {
	base := flag.String("addr", "", "base URL of cmd/rss-server")
	client := flag.String("client", workload.NameRaw, "runner name (see workload.NewRunner)")
	op := flag.String("op", "get", "get (200 small JSON), post (201 + Location), poll (a 202 job to completion), revalidate (304 of a cached 100 KiB) or full (the 200 of the 100 KiB)")
	n := flag.Int("n", 100, "measured requests")
	warm := flag.Int("warm", 20, "requests made first, so that connections and pools exist")
	flag.Parse()
	if err := run(*base, *client, *op, *warm, *n); err != nil {
		fmt.Fprintln(os.Stderr, "instr:", err)
		os.Exit(1)
	}
}

func run(base, client, op string, warm, n int) error {
	if base == "" {
		return fmt.Errorf("-addr is required")
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
		if err := call(); err != nil {
			return fmt.Errorf("%s %s request %d: %w", client, op, i, err)
		}
	}
	return nil
}
