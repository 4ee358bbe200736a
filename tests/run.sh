#!/usr/bin/env bash
# Builds Cairn and runs every test suite: unit, sim and integration in the
# normal build, unit and sim again under AddressSanitizer and
# UndefinedBehaviorSanitizer. Exits non-zero on any failure.
#   tests/run.sh            bounded run (CI)
#   tests/run.sh --long     more simulation seeds and longer fault runs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

long=0
for arg in "$@"; do
    case "$arg" in
        --long) long=1 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "tests/run.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh --tests

BUILD="${CAIRN_BUILD_DIR:-$ROOT/build}"
ASAN_BUILD="${CAIRN_ASAN_BUILD_DIR:-$ROOT/build-asan}"
if [[ $long -eq 1 ]]; then seeds=20000; asan_seeds=2000; else seeds=2000; asan_seeds=300; fi
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

if [[ $status -ne 0 ]]; then
    echo "tests/run.sh: FAILED" >&2
else
    echo "tests/run.sh: all suites passed"
fi
exit $status
