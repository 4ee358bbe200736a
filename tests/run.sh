#!/usr/bin/env bash
# Builds Cairn and runs every test suite: unit, sim, integration, compat
# (real Kafka clients) and chaos (faults under load) in the normal build;
# unit, sim, integration and the consumer-group compat tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer.
# Exits non-zero on any failure.
#   tests/run.sh            bounded run (CI)
#   tests/run.sh --long     more simulation seeds, longer fuzzing, longer chaos runs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

long=0
for arg in "$@"; do
    case "$arg" in
        --long) long=1 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "tests/run.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh --tests

BUILD="${CAIRN_BUILD_DIR:-$ROOT/build}"
ASAN_BUILD="${CAIRN_ASAN_BUILD_DIR:-$ROOT/build-asan}"
FUZZ_BUILD="${CAIRN_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
if [[ $long -eq 1 ]]; then seeds=20000; asan_seeds=2000; fuzz_s=600; else seeds=2000; asan_seeds=300; fuzz_s=60; fi
export CAIRN_TEST_LONG=$long

setup() {  # dir, extra meson args...
    local dir="$1"; shift
    if [[ ! -f "$dir/build.ninja" ]]; then
        meson setup "$dir" "$@"
    else
        meson configure "$dir" "$@" >/dev/null
    fi
}

echo "== build ($BUILD)"
setup "$BUILD" -Dsim_seeds=$seeds
ninja -C "$BUILD"

echo "== build with ASan+UBSan ($ASAN_BUILD)"
setup "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false -Dsim_seeds=$asan_seeds
ninja -C "$ASAN_BUILD"

status=0
run_suite() {  # dir suite
    echo "== $2 ($1)"
    if ! meson test -C "$1" --no-rebuild --print-errorlogs --suite "$2"; then
        status=1
    fi
}

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite "$BUILD" unit
run_suite "$BUILD" sim
run_suite "$ASAN_BUILD" unit
run_suite "$ASAN_BUILD" sim
run_suite "$BUILD" integration
run_suite "$BUILD" compat
run_suite "$BUILD" chaos

# The cluster tests again with ASan+UBSan processes: every integration test
# and the consumer-group tests with real clients. The harness fails a test
# whose processes printed a sanitizer report (leaks included, at SIGTERM).
run_suite "$ASAN_BUILD" integration
echo "== compat, consumer groups ($ASAN_BUILD)"
if ! meson test -C "$ASAN_BUILD" --no-rebuild --print-errorlogs \
        groups_confluent groups_kafka_python group_static group_cli; then
    status=1
fi

# libFuzzer with ASan+UBSan: the Kafka request decoder and the record batch
# validator, each for a bounded time from its seed corpus.
run_fuzz() {  # target corpus-name
    local work
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$2/." "$work/"
    echo "== fuzz $1 (${fuzz_s}s)"
    if ! "$FUZZ_BUILD/tests/fuzz/$1" -max_len=65536 -max_total_time="$fuzz_s" \
            -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/$1-" "$work" \
            > "$FUZZ_BUILD/$1.log" 2>&1; then
        tail -40 "$FUZZ_BUILD/$1.log"
        echo "fuzz $1: FAILED (inputs saved as $FUZZ_BUILD/$1-*)" >&2
        status=1
    else
        grep -E "stat::number_of_executed_units|Done" "$FUZZ_BUILD/$1.log" | head -2
    fi
    rm -rf "$work"
}
if command -v clang >/dev/null; then
    echo "== build fuzz targets with clang ($FUZZ_BUILD)"
    if [[ ! -f "$FUZZ_BUILD/build.ninja" ]]; then
        CC=clang meson setup "$FUZZ_BUILD" -Db_sanitize=address,undefined -Db_lundef=false \
            -Dc_args=-fsanitize=fuzzer-no-link
    fi
    ninja -C "$FUZZ_BUILD" tests/fuzz/fuzz_kafka_request tests/fuzz/fuzz_batch
    run_fuzz fuzz_kafka_request kafka_request
    run_fuzz fuzz_batch batch
else
    echo "tests/run.sh: clang is missing: the fuzz targets did not run" >&2
    status=1
fi

if [[ $status -ne 0 ]]; then
    echo "tests/run.sh: FAILED" >&2
else
    echo "tests/run.sh: all suites passed"
fi
exit $status
