#!/usr/bin/env bash
# Runs the semhttp benchmark suite (issues 3 and 10) and prints:
#   1. the machine: date, nproc, CPU model, go version, load;
#   2. benchstat's table, one column per client (raw first, so every other
#      column shows its change against the floor);
#   3. semhttp's ratios to each peer and the targets of issue 10, PASS/FAIL;
#   4. the peak RSS of a 256 MiB upload and download through each client,
#      each in its own process (/usr/bin/time -v when present, and VmHWM
#      read by the program itself).
# Everything is also saved under bench/results/<date>/ (git-ignored).
#
# Usage: bench/run.sh            full run (-count 10, -benchtime 1s; ~15 min)
#        bench/run.sh -quick     a check that everything runs (-count 2, 100x)
# Environment overrides: COUNT, BENCHTIME, BIGTIME (benchtime of the 64 MiB
# transfers), BENCH (regexp), BENCH_MIB (transfer size in the benchmarks,
# 64), RSS_MIB (transfer size in the RSS programs, 256), SKIP_RSS=1,
# SKIP_BENCH=1.
# Run it on a quiet machine: on 2 cores, anything else running skews the
# numbers far more than the differences measured here.
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-1s}
BIGTIME=${BIGTIME:-}
if [ "${1:-}" = "-quick" ]; then
  COUNT=${QUICK_COUNT:-2}; BENCHTIME=100x; BIGTIME=${BIGTIME:-5x}
fi
BENCH=${BENCH:-.}
export BENCH_MIB=${BENCH_MIB:-64}
RSS_MIB=${RSS_MIB:-256}

out="results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
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

  if [ -n "$BIGTIME" ]; then
    # The 64 MiB transfers take tens of ms each: a fixed count of them.
    small='^Benchmark(Get200|Post201|Parallel64|Revalidate|PollJob)$'
    big='^Benchmark(Download|Upload)$'
    go test -v -run '^$' -bench "$small" -benchtime "$BENCHTIME" -count "$COUNT" -timeout 0 . \
      | grep -E "$keep" > "$out/bench.txt" || true
    go test -v -run '^$' -bench "$big" -benchtime "$BIGTIME" -count "$COUNT" -timeout 0 . \
      | grep -E "$keep" >> "$out/bench.txt" || true
  else
    go test -v -run '^$' -bench "$BENCH" -benchtime "$BENCHTIME" -count "$COUNT" -timeout 0 . \
      | grep -E "$keep" > "$out/bench.txt" || true
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
  for set in "Get200 OR Post201 OR Revalidate OR PollJob" "Parallel64" "Download OR Upload"; do
    echo "== benchstat -col /client -filter '.name:($set)' (each column vs raw)"
    "$BENCHSTAT" -col /client -filter ".name:($set)" "$out/bench.txt" | tee -a "$out/benchstat.txt"
    echo
  done
fi

if [ -z "${SKIP_RSS:-}" ]; then
  echo "== whole-process memory: ${RSS_MIB} MiB through each client, each in its own process"
  bin="$out/bin"
  mkdir -p "$bin"
  go build -o "$bin/" ./cmd/rss-server ./cmd/rss-raw ./cmd/rss-retryablehttp ./cmd/rss-resty ./cmd/rss-semhttp
  tmp=$(mktemp -d)
  srv_pid=""
  cleanup() {
    if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  head -c $((RSS_MIB << 20)) /dev/urandom > "$tmp/upload.bin"
  cat "$tmp/upload.bin" > /dev/null # in the page cache before any client reads it
  "$bin/rss-server" -addrfile "$tmp/addr" -timeout 30m &
  srv_pid=$!
  for _ in $(seq 50); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
  addr=$(cat "$tmp/addr")
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

echo "== semhttp vs peers"
ratio_args=()
[ -s "$out/rss.txt" ] 2>/dev/null && ratio_args+=(-rss "$out/rss.txt")
if [ -s "$out/bench.txt" ]; then
  go run ./cmd/ratios "${ratio_args[@]}" "$out/bench.txt"
else
  printf '' > "$out/empty.txt"; go run ./cmd/ratios "${ratio_args[@]}" "$out/empty.txt"
fi
echo
echo "saved in bench/$out"
