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
// run.sh does that, adds semhttp-vs-peer ratios with the targets of
// issue 10 (cmd/ratios), and measures the peak RSS of a 256 MiB upload and
// download with each client in its own process (cmd/rss-*). How each
// client is configured is written in internal/workload/clients.go.
//
// Sizes: BENCH_MIB (or -mib) sets the download and upload size of the
// benchmarks, 64 MiB by default. BENCH_SERVER (a base URL, such as the
// one cmd/rss-server writes) runs the benchmarks against that server
// instead of one in the test process; its counters are read from
// GET /_stats. run.sh does that by default, the server pinned to CPU 1 and
// the benchmarks to CPU 0 (PIN=0 to keep them in one process).
package bench
