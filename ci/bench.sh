#!/usr/bin/env bash
# Benchmark of this repository's broker with the bench crate (bench/, its
# own cargo workspace; rdkafka builds the vendored librdkafka with gcc and
# make). Builds both in release mode, then lets the bench start, stop,
# kill -9 and restart the broker itself, and prints the bench's table.
# The broker gets two log directories on the same disk, logs and logs2
# (log.dirs), for the move rows (a partition moved from one to the other
# with AlterReplicaLogDirs); both are given to the bench (--log-dir twice),
# since a new partition goes to the directory with the fewest partitions and
# the compaction rows read their partition's files wherever it is.
#
#   ci/bench.sh [bench args...]        e.g. ci/bench.sh --quick
#                                           ci/bench.sh --only produce
#                                           ci/bench.sh --quick --only move
#
# BENCH_DIR: where the temporary log directories go (default /tmp; note that
# a tmpfs such as /dev/shm makes the restart rows meaningless, since dropping
# the page cache cannot drop tmpfs pages). BENCH_PORT: the broker's port
# (default 39092). The broker's cleaner looks for work every 100 ms
# (log.cleaner.backoff.ms; Kafka's default is 15 s), so that the compaction
# rows time the cleaning, not its sleep: give another broker the same. The
# broker's output goes to broker.log in the temporary
# directory, which is removed on exit (its tail is printed if the bench
# fails).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${BENCH_PORT:-39092}

cargo build --release --manifest-path bench/Cargo.toml --locked
cargo build --release -p broker --locked

dir=$(mktemp -d -p "${BENCH_DIR:-/tmp}" broker-bench.XXXXXX)
bench_pid=
cleanup() {
    # The bench kills the broker it started when it exits (and the kernel
    # does, through PR_SET_PDEATHSIG, if the bench dies).
    if [[ -n $bench_pid ]] && kill -0 "$bench_pid" 2>/dev/null; then
        kill "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0
bench/target/release/bench \
    --port "$port" \
    --log-dir "$dir/logs" \
    --log-dir "$dir/logs2" \
    --broker-log "$dir/broker.log" \
    --broker-cmd "exec '$root/target/release/broker' --override listeners=PLAINTEXT://127.0.0.1:$port --override log.dirs='$dir/logs,$dir/logs2' --override log.cleaner.backoff.ms=100" \
    "$@" &
bench_pid=$!
wait "$bench_pid" || status=$?
bench_pid=
if [[ $status -ne 0 ]]; then
    echo "bench failed ($status); the broker's log ends with:" >&2
    tail -n 30 "$dir/broker.log" >&2 2>/dev/null || true
fi
exit "$status"
