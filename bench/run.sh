#!/usr/bin/env bash
# Runs the semhttp benchmark suite (issues 3 and 10) and prints:
#   1. the machine: date, nproc, CPU model, go version, load;
#   2. benchstat's table, one column per client (raw first, so every other
#      column shows its change against the floor);
#   3. semhttp's ratios to each peer and the targets of issue 10, PASS/FAIL;
#   4. the peak RSS of a 256 MiB upload and download through each client,
#      each in its own process (/usr/bin/time -v when present, and VmHWM
#      read by the program itself);
#   5. instructions per request (per MiB for the transfers) of the same
#      workloads through each client, counted by valgrind --tool=callgrind
#      (cmd/instr): the figure that stays put (about ±1 %) when the wall
#      clock swings by ±20 %, so the targets it decides are decided.
# Everything is also saved under bench/results/<date>/ (git-ignored).
#
# Usage: bench/run.sh            full run (-count 10, -benchtime 1s, 5 instruction
#                                samples per client; ~30 min on 2 cores)
#        bench/run.sh -quick     a check that everything runs (-count 2, 100x)
# Environment overrides: COUNT, BENCHTIME, BIGTIME (benchtime of the 64 MiB
# transfers), BENCH (regexp), BENCH_MIB (transfer size in the benchmarks,
# 64), RSS_MIB (transfer size in the RSS programs, 256), SKIP_RSS=1,
# SKIP_BENCH=1, SKIP_INSTR=1, INSTR_REPS (samples per client and workload,
# 5; ~15 min on 2 cores), INSTR_OPS (get,post,poll,parallel,download,upload),
# PIN=1.
# Default: server and client in one process on all CPUs.
# PIN=1 (when taskset exists and nproc >= 2): the workload server runs as its own process (cmd/rss-server) on CPU 1
# and the benchmark binary on CPU 0 (so GOMAXPROCS=1 for every client), via
# BENCH_SERVER; client and server no longer compete for the same cores.
# B/op and allocs/op are then the client's alone. Every round trip now
# crosses processes and CPUs, which pays the wake-up of an idle CPU: on a
# 2-vCPU VM (Nov 2026) Get200 took ~200µs pinned against ~50µs in one
# process, ±8% instead of ±16-23%, but the client's own cost is then a
# quarter of what is timed — the noise in microseconds is about the same,
# so this mode is not the default.
# Run it on a quiet machine: on 2 cores, anything else running skews the
# numbers far more than the differences measured here.
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-1s}
BIGTIME=${BIGTIME:-}
INSTR_REPS=${INSTR_REPS:-5}
INSTR_ARGS=()
if [ "${1:-}" = "-quick" ]; then
  COUNT=${QUICK_COUNT:-2}; BENCHTIME=100x; BIGTIME=${BIGTIME:-5x}
  INSTR_REPS=1; INSTR_ARGS=(-scale 0.05)
fi
BENCH=${BENCH:-.}
export BENCH_MIB=${BENCH_MIB:-64}
RSS_MIB=${RSS_MIB:-256}

out="results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
bin="$out/bin"
mkdir -p "$bin"

# Everything started in the background is stopped at exit.
pids=()
tmps=()
bench_srv=""
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() {
  for pid in "${pids[@]}" $bench_srv; do stop "$pid"; done
  for dir in "${tmps[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

pin=0
if [ "${PIN:-0}" != 0 ] && command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then
  pin=1
fi
summary="$out/summary.txt"
exec > >(tee "$summary") 2>&1

echo "== machine"
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(uname -srm)"
echo "nproc:      $(nproc)"
echo "cpu:        $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
echo "memory:     $(grep -m1 MemTotal /proc/meminfo 2>/dev/null | awk '{printf "%.1f GiB", $2/1048576}')"
echo "go:         $(go version)"
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (should be well under nproc)"
if awk -v n="$(nproc)" '{exit !($1 > n / 2)}' /proc/loadavg 2>/dev/null; then
  echo "WARNING:    the machine is busy: these numbers are noise-dominated; rerun when it is quiet"
fi
echo "semhttp:    $(git -C .. rev-parse --short HEAD 2>/dev/null || echo '?') $(git -C .. status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
if [ "$pin" = 1 ]; then
  echo "mode:       pinned: workload server in its own process on CPU 1, benchmarks on CPU 0 (GOMAXPROCS=1; PIN=1)"
else
  echo "mode:       one process: server and clients share all $(nproc) CPUs (PIN=1 pins them apart; taskset $(command -v taskset > /dev/null && echo found || echo missing))"
fi
echo "settings:   -count $COUNT -benchtime $BENCHTIME ${BIGTIME:+(64 MiB transfers: $BIGTIME)} BENCH_MIB=$BENCH_MIB RSS_MIB=$RSS_MIB"
echo

BENCHSTAT=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
if [ ! -x "$BENCHSTAT" ]; then
  echo "== installing benchstat"
  go install golang.org/x/perf/cmd/benchstat@latest
  BENCHSTAT="$(go env GOPATH)/bin/benchstat"
fi

if [ -z "${SKIP_BENCH:-}" ]; then
  echo "== benchmarks (go test -bench; raw output in $out/bench.txt)"
  # -v makes skipped benchmarks say why; only result lines, skips with
  # their reasons and failures are kept.
  keep='^(Benchmark[^[:space:]]+[[:space:]]+[0-9]|goos|goarch|pkg|cpu|--- (SKIP|FAIL)|FAIL|ok|PASS)|_test\.go:[0-9]+'

  # Compiled first, so that compiling is neither pinned nor timed; the
  # binary runs here, in the package's directory, as go test would run it.
  go test -c -o "$bin/bench.test" .
  run=("$bin/bench.test")
  if [ "$pin" = 1 ]; then
    go build -o "$bin/" ./cmd/rss-server
    srvtmp=$(mktemp -d)
    tmps+=("$srvtmp")
    taskset -c 1 "$bin/rss-server" -addrfile "$srvtmp/addr" -timeout 6h &
    bench_srv=$!
    for _ in $(seq 100); do [ -s "$srvtmp/addr" ] && break; sleep 0.1; done
    if [ ! -s "$srvtmp/addr" ]; then echo "rss-server did not write its address"; exit 1; fi
    export BENCH_SERVER
    BENCH_SERVER=$(cat "$srvtmp/addr")
    echo "server:     $BENCH_SERVER (pid $bench_srv, $(taskset -cp "$bench_srv" | sed 's/.*: /CPU /'))"
    run=(taskset -c 0 "$bin/bench.test")
  fi
  bench() { # regexp benchtime
    "${run[@]}" -test.v -test.run '^$' -test.bench "$1" -test.benchtime "$2" -test.count "$COUNT" -test.timeout 0 \
      | grep -E "$keep" || true
  }

  if [ -n "$BIGTIME" ]; then
    # The 64 MiB transfers take tens of ms each: a fixed count of them.
    small='^Benchmark(Get200|Post201|Parallel64|Revalidate|PollJob|FreshHit|CacheEntriesUnderOneURL)$'
    big='^Benchmark(Download|Upload)$'
    bench "$small" "$BENCHTIME" > "$out/bench.txt"
    bench "$big" "$BIGTIME" >> "$out/bench.txt"
  else
    bench "$BENCH" "$BENCHTIME" > "$out/bench.txt"
  fi
  if [ "$pin" = 1 ]; then
    stop "$bench_srv"
    bench_srv=""
    unset BENCH_SERVER
  fi
  if grep -q '^FAIL\|--- FAIL' "$out/bench.txt"; then
    echo "benchmark failures:"; grep -A3 -- '--- FAIL\|^FAIL' "$out/bench.txt"; exit 1
  fi
  grep -- '--- SKIP' "$out/bench.txt" | sort -u | sed 's/^--- SKIP: /skipped: /' || true
  # The reasons for the skips, once each.
  grep -hE '_test\.go:[0-9]+' "$out/bench.txt" | sed 's/^ */    /' | sort -u || true
  echo
  # One table per client set, so that each stays readable.
  : > "$out/benchstat.txt"
  for set in "Get200 OR Post201 OR Revalidate OR PollJob OR FreshHit" "Parallel64" "Download OR Upload"; do
    echo "== benchstat -col /client -filter '.name:($set)' (each column vs raw)"
    "$BENCHSTAT" -col /client -filter ".name:($set)" "$out/bench.txt" | tee -a "$out/benchstat.txt"
    echo
  done
  echo "== benchstat -col /n -filter '.name:CacheEntriesUnderOneURL' (each column vs n=1: flat is ~)"
  "$BENCHSTAT" -col /n -filter ".name:CacheEntriesUnderOneURL" "$out/bench.txt" | tee -a "$out/benchstat.txt"
  echo
fi

# One workload server, in its own process, for the RSS programs and the
# instruction counts (neither measures it).
addr=""
start_server() {
  [ -n "$addr" ] && return
  go build -o "$bin/" ./cmd/rss-server
  local stmp
  stmp=$(mktemp -d)
  tmps+=("$stmp")
  "$bin/rss-server" -addrfile "$stmp/addr" -timeout 1h &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$stmp/addr" ] && break; sleep 0.1; done
  if [ ! -s "$stmp/addr" ]; then echo "rss-server did not write its address"; exit 1; fi
  addr=$(cat "$stmp/addr")
}

if [ -z "${SKIP_RSS:-}" ]; then
  echo "== whole-process memory: ${RSS_MIB} MiB through each client, each in its own process"
  go build -o "$bin/" ./cmd/rss-raw ./cmd/rss-retryablehttp ./cmd/rss-resty ./cmd/rss-semhttp
  start_server
  tmp=$(mktemp -d)
  tmps+=("$tmp")
  head -c $((RSS_MIB << 20)) /dev/urandom > "$tmp/upload.bin"
  cat "$tmp/upload.bin" > /dev/null # in the page cache before any client reads it
  : > "$out/rss.txt"
  for op in download upload; do
    for spec in "rss-raw raw" "rss-retryablehttp retryablehttp" "rss-resty resty" "rss-resty resty-stream" \
                "rss-semhttp semhttp-Send" "rss-semhttp semhttp-Do"; do
      set -- $spec
      # resty-stream differs from resty only in how it reads a response.
      [ "$op" = upload ] && [ "$2" = resty-stream ] && continue
      args=(-addr "$addr" -op "$op" -mib "$RSS_MIB" -file "$tmp/upload.bin" -client "$2")
      if [ -x /usr/bin/time ]; then
        line=$(/usr/bin/time -v -o "$tmp/time.txt" "$bin/$1" "${args[@]}")
        maxrss=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
        line="$line time_maxrss_kib=$maxrss"
      else
        line=$("$bin/$1" "${args[@]}")
      fi
      echo "$line" | tee -a "$out/rss.txt"
    done
  done
  echo
fi

if [ -z "${SKIP_INSTR:-}" ]; then
  if command -v valgrind > /dev/null; then
    echo "== instructions per request (valgrind --tool=callgrind; cmd/instr; raw samples in $out/instr.txt)"
    go build -o "$bin/" ./cmd/instr
    start_server
    "$bin/instr" -measure -addr "$addr" -ops "${INSTR_OPS:-get,post,poll,parallel,download,upload}" -reps "$INSTR_REPS" \
      -parallel "$(nproc)" "${INSTR_ARGS[@]}" > "$out/instr.txt"
    "$BENCHSTAT" -col /client "$out/instr.txt" | tee "$out/instr-benchstat.txt"
    echo
  else
    echo "== instructions per request: skipped, valgrind is not installed (Debian: apt-get install valgrind)"
    echo
  fi
fi

echo "== semhttp vs peers"
ratio_args=()
[ -s "$out/rss.txt" ] 2>/dev/null && ratio_args+=(-rss "$out/rss.txt")
inputs=()
[ -s "$out/bench.txt" ] 2>/dev/null && inputs+=("$out/bench.txt")
[ -s "$out/instr.txt" ] 2>/dev/null && inputs+=("$out/instr.txt")
if [ ${#inputs[@]} -eq 0 ]; then
  printf '' > "$out/empty.txt"; inputs=("$out/empty.txt")
fi
go run ./cmd/ratios "${ratio_args[@]}" "${inputs[@]}"
echo
echo "saved in bench/$out"
