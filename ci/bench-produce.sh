#!/usr/bin/env bash
# Produce throughput of a broker binary, measured with kcat (acks=1, one
# partition, linger 5 ms): 1M records of 100 B and 200k records of 1 KiB,
# RUNS times each (default 5), each run into a new topic, printing every run
# and the median. The log directory goes under BENCH_DIR (default /dev/shm,
# so that disk writeback does not drown what is measured).
#
#   ci/bench-produce.sh target/release/broker [key=value ...]
#
# The extra arguments are server.properties lines, for example
# metrics.prometheus.listener=http://127.0.0.1:39093 to measure with metrics.
# A stop-gap until the benchmark crate of issue 8.
set -euo pipefail

bin=$(realpath "$1")
shift
runs=${RUNS:-5}
port=${BENCH_PORT:-39092}
dir=$(mktemp -d -p "${BENCH_DIR:-/dev/shm}")
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
for name, count, size in (("100b", 1_000_000, 100), ("1k", 200_000, 1024)):
    line = b"x" * (size - 1) + b"\n"
    with open(f"{d}/{name}.txt", "wb") as f:
        f.write(line * count)
EOF

{
    printf 'node.id=1\nlisteners=PLAINTEXT://127.0.0.1:%s\nlog.dirs=%s/logs\n' "$port" "$dir"
    for line in "$@"; do echo "$line"; done
} >"$dir/server.properties"
"$bin" "$dir/server.properties" >"$dir/broker.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    kcat -b "127.0.0.1:$port" -L >/dev/null 2>&1 && break
    sleep 0.1
done

for f in 100b 1k; do
    case $f in
    100b) count=1000000 size=100 ;;
    1k) count=200000 size=1024 ;;
    esac
    times=()
    for run in $(seq "$runs"); do
        topic="bench-$f-$run"
        kcat -b "127.0.0.1:$port" -L -t "$topic" >/dev/null 2>&1 || true
        start=$(date +%s.%N)
        kcat -P -b "127.0.0.1:$port" -t "$topic" -l "$dir/$f.txt" \
            -X linger.ms=5 -X batch.size=1000000 \
            -X queue.buffering.max.messages=1000000 -X acks=1
        end=$(date +%s.%N)
        seconds=$(python3 -c "print(f'{$end - $start:.3f}')")
        times+=("$seconds")
        python3 -c "t=$seconds; print(f'$f run $run: {t:.2f} s  {$count*$size/t/1e6:.0f} MB/s  {$count/t/1e3:.0f}k records/s')"
    done
    python3 -c "
import statistics, sys; t = statistics.median(map(float, sys.argv[1:]))
print(f'$f median: {t:.2f} s  {$count*$size/t/1e6:.0f} MB/s  {$count/t/1e3:.0f}k records/s')" "${times[@]}"
done
