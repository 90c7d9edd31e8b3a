#!/bin/sh
# Starts the broker, building it first when the sources changed.
# Usage: ./your_program.sh [server.properties]
set -e
cd "$(dirname "$0")"
cargo build --release --quiet --locked --package broker
exec "${CARGO_TARGET_DIR:-target}/release/broker" "$@"
