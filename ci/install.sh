#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, by name from the package
# registries: kcat (Debian/Ubuntu package); confluent-kafka and kafka-python
# (PyPI) in the virtualenv e2e/.venv; kafkajs (npm) in e2e/node_modules.
# Safe to rerun: what is already there is kept. ci/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install a Rust toolchain (rustup) first" >&2
    exit 1
fi
# System packages, only when something is missing.
packages=()
command -v kcat >/dev/null 2>&1 || packages+=(kcat)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# The benchmark's rdkafka links OpenSSL for its TLS rows.
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || packages+=(libssl-dev)
if ((${#packages[@]})); then
    as_root=()
    if [ "$(id -u)" != 0 ]; then
        as_root=(sudo)
    fi
    echo "installing ${packages[*]}"
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# Python clients, pinned in e2e/requirements.txt.
if [ ! -x e2e/.venv/bin/python ]; then
    python3 -m venv e2e/.venv
fi
e2e/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r e2e/requirements.txt

# kafkajs, pinned in e2e/package-lock.json; installed again only when the
# lock file is newer than what npm last installed.
if [ ! -f e2e/node_modules/.package-lock.json ] ||
    [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
    (cd e2e && npm ci --silent --no-audit --no-fund)
fi

cargo --version
rustc --version
kcat -V | grep -m1 Version
e2e/.venv/bin/python -c 'import confluent_kafka, kafka; print("confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "| kafka-python", kafka.__version__)'
e2e/.venv/bin/python -c 'import aiokafka, cramjam; print("aiokafka", aiokafka.__version__, "| cramjam", cramjam.__version__)'
node -e 'console.log("kafkajs", require("./e2e/node_modules/kafkajs/package.json").version, "on node", process.version)'
