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
