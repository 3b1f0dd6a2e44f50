// Package bench compares semhttp with raw net/http (the floor),
// go-retryablehttp's own client and resty v2 on the same loopback server
// and the same workloads (issues 3 and 10). It is a module of its own so
// that the peers stay out of semhttp's go.mod.
//
// The benchmarks are named Benchmark<Workload>/client=<name>, so benchstat
// can put the clients side by side:
//
//	go test -run '^$' -bench . -count 10 | tee new.txt
//	benchstat -col /client new.txt
//
// run.sh does that, measures the peak RSS of a 256 MiB upload and download
// with each client in its own process (cmd/rss-*), counts the instructions
// one request costs each client under valgrind (cmd/instr: the figure that
// repeats within about 1 % where the wall clock of a small shared VM
// swings by ±20 %), and prints semhttp-vs-peer ratios with the targets of
// issue 10 (cmd/ratios). How each client is configured is written in
// internal/workload/clients.go.
//
// Sizes: BENCH_MIB (or -mib) sets the download and upload size of the
// benchmarks, 64 MiB by default. BENCH_SERVER (a base URL, such as the
// one cmd/rss-server writes) runs the benchmarks against that server
// instead of one in the test process; its counters are read from
// GET /_stats. PIN=1 run.sh does that, the server pinned to CPU 1 and the
// benchmarks to CPU 0 (by default both run in one process).
package bench
