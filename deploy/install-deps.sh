#!/usr/bin/env bash
# Installs the Debian packages Cairn needs to build (and, with --tests, to run
# its test suites). Idempotent: does nothing when everything is present. As
# root it uses apt-get; otherwise it prints the exact command and exits 1.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libevent-dev libprotobuf-c-dev
            protobuf-c-compiler libssl-dev python3)
# clang and its runtimes build the libFuzzer targets tests/run.sh runs.
test_pkgs=(check librdkafka-dev kcat python3-kafka python3-confluent-kafka
           clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--tests" ]]; then
    want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
