#!/bin/sh
# Runs the simulator linked against the deliberately broken Raft core and
# passes only if the checker reports an invariant violation: a crash, a
# usage error or a clean run all fail this test.
set -u
out=$("$@" 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q "violated an invariant"; then
    printf '%s\n' "$out" | grep "violated an invariant"
    echo "the checker caught the broken core"
    exit 0
fi
printf '%s\n' "$out" | tail -20
echo "expected an invariant violation (exit 1), got exit $rc" >&2
exit 1
