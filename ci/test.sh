#!/usr/bin/env bash
# Every test, on a fresh machine that has only a Rust toolchain: installs
# what the tests need (ci/install.sh: kcat, the Python and Node clients),
# then builds the broker and runs the whole workspace's tests.
# Arguments go to `cargo test`, e.g. `ci/test.sh -p harness --test stages`.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/install.sh
cargo test --workspace --locked "$@"
