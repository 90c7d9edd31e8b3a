#!/usr/bin/env bash
# Formatting and lints, as CI enforces them.
set -euo pipefail
cd "$(dirname "$0")/.."

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The API docs (the crate root's doc comment is the module map) build
# without a warning.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
# The bench is a workspace of its own (it builds librdkafka); linted in
# release mode so that ci/bench.sh reuses the same build of librdkafka.
cargo fmt --manifest-path bench/Cargo.toml -- --check
cargo clippy --release --manifest-path bench/Cargo.toml --all-targets --locked -- -D warnings
