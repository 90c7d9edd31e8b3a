#!/usr/bin/env bash
# Installs what the checks and tests need on a fresh machine, by name from
# the package registries: the Rust toolchain's rustfmt and clippy; kcat
# (Debian/Ubuntu package); confluent-kafka and kafka-python (PyPI) in the
# virtualenv e2e/.venv; kafkajs (npm) in e2e/node_modules. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install a Rust toolchain (rustup) first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done

# System packages, only when something is missing.
packages=()
command -v kcat >/dev/null 2>&1 || packages+=(kcat)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
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

# kafkajs, pinned in e2e/package-lock.json.
(cd e2e && npm ci --silent --no-audit --no-fund)

cargo --version
rustc --version
kcat -V | grep -m1 Version
e2e/.venv/bin/python -c 'import confluent_kafka, kafka; print("confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "| kafka-python", kafka.__version__)'
node -e 'console.log("kafkajs", require("./e2e/node_modules/kafkajs/package.json").version, "on node", process.version)'
