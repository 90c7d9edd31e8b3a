#!/usr/bin/env bash
# Runs the harness's protocol-level suites against any Kafka-compatible
# broker and prints one table: per suite, the tests that passed, failed and
# were skipped (a test that needs the harness's own broker), and how many
# tests skipped some checks.
#
# Usage: ci/certify.sh HOST:PORT [LOG_DIR]
#   LOG_DIR: the broker's log directory, for the checks that read its files.
# The suites' full output is kept in target/certify-<host>-<port>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 HOST:PORT [LOG_DIR]" >&2
    exit 2
fi
export HARNESS_BOOTSTRAP=$1
if [ $# -eq 2 ]; then
    export HARNESS_LOG_DIR=$2
else
    unset HARNESS_LOG_DIR
fi
suites=(stages creating_topics admin_apis group_apis bad_input snapshots)
log="target/certify-${1//[:\/]/-}.log"
mkdir -p target
cargo build --quiet --locked -p harness --tests || exit 1
: >"$log"
printf '| %-16s | %6s | %6s | %7s | %14s |\n' suite passed failed skipped "skipped checks"
printf '|%s|%s|%s|%s|%s|\n' ------------------ -------- -------- --------- ----------------
status=0
for suite in "${suites[@]}"; do
    [ -f "harness/tests/$suite.rs" ] || continue
    out=$(cargo test --quiet --locked -p harness --test "$suite" -- --test-threads=4 --format=pretty 2>&1)
    printf '%s\n' "== $suite" "$out" >>"$log"
    skipped=$(grep -c '^skipped: ' <<<"$out" || true)
    checks=$(grep '^skipped checks: ' <<<"$out" | cut -d: -f2 | sort -u | grep -c . || true)
    summary=$(grep -oE 'test result: .*' <<<"$out" | tail -1)
    ok=$(grep -oE '[0-9]+ passed' <<<"$summary" | cut -d' ' -f1)
    failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | cut -d' ' -f1)
    if [ -z "$ok" ]; then
        ok=0 failed=1 # did not build or did not run
    fi
    [ "$failed" -eq 0 ] || status=1
    printf '| %-16s | %6d | %6d | %7d | %14d |\n' "$suite" $((ok - skipped)) "$failed" "$skipped" "$checks"
done
echo "details: $log"
exit $status
