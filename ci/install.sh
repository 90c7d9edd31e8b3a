#!/usr/bin/env bash
# Installs what the checks and tests need on a fresh machine.
# Issue 2 needs only the Rust toolchain with rustfmt and clippy; later
# end-to-end suites add their packages (apt/pip/npm) here, by name.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install a Rust toolchain (rustup) first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done
cargo --version
rustc --version
