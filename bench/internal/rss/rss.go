// Package rss is the body of the cmd/rss-* programs: one 256 MiB upload or
// download through one client, in a process of its own, then the process's
// peak resident set size (VmHWM) on stdout.
package rss

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/semhttp/semhttp/bench/internal/workload"
)

// Main runs the program for one client library. clients are the runner
// names it may use (see workload.NewRunner), the first being the default.
func Main(clients ...string) {
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	base := fs.String("addr", "", "base URL of cmd/rss-server, e.g. http://127.0.0.1:8080")
	op := fs.String("op", "download", "upload or download")
	mib := fs.Int64("mib", 256, "size of the transfer in MiB")
	file := fs.String("file", "", "upload: a file of at least -mib MiB")
	client := fs.String("client", clients[0], "runner: "+strings.Join(clients, ", "))
	fs.Parse(os.Args[1:])
	if err := run(*base, *op, *mib<<20, *file, *client, clients); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(base, op string, size int64, file, client string, allowed []string) error {
	ok := false
	for _, c := range allowed {
		ok = ok || c == client
	}
	if !ok || base == "" || size <= 0 {
		return fmt.Errorf("usage: -addr URL -op upload|download -mib N [-file PATH] -client %s", strings.Join(allowed, "|"))
	}
	r, err := workload.NewRunner(client)
	if err != nil {
		return err
	}
	defer r.Close()
	start := time.Now()
	switch op {
	case "download":
		err = r.Download(base, size)
	case "upload":
		if file == "" {
			return fmt.Errorf("upload needs -file")
		}
		err = r.Upload(base, file, size)
	default:
		return fmt.Errorf("op %q: want upload or download", op)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", client, op, err)
	}
	secs := time.Since(start).Seconds()
	hwm, err := vmHWM()
	if err != nil {
		return err
	}
	fmt.Printf("rss client=%s op=%s mib=%d vmhwm_kib=%d seconds=%.3f mb_per_s=%.1f\n",
		client, op, size>>20, hwm, secs, float64(size)/1e6/secs)
	return nil
}

// vmHWM reads the peak resident set size, in KiB, from /proc/self/status.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
