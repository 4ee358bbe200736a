#!/usr/bin/env bash
# cairnctl end to end without a cluster: exit codes, usage errors, and the
# "no controller leader reachable" path against closed and silent ports.
# Usage: test_cairnctl.sh PATH/TO/cairnctl
set -euo pipefail

ctl=${1:?usage: test_cairnctl.sh CAIRNCTL}
fails=0
out=$(mktemp) err=$(mktemp)
silent_pid=
cleanup() {
    rm -f "$out" "$err"
    if [[ -n $silent_pid ]]; then kill "$silent_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run WANT_RC [VAR=VALUE...] -- ARGS...: runs cairnctl with a clean
# environment plus the given variables.
run() {
    local want=$1 rc=0 vars=()
    shift
    while [[ $1 != -- ]]; do vars+=("$1"); shift; done
    shift
    env -u CAIRN_CONTROLLERS -u CAIRN_BASE_PORT -u CAIRN_TIMEOUT_MS "${vars[@]}" \
        "$ctl" "$@" >"$out" 2>"$err" || rc=$?
    [[ $rc -eq $want ]] || fail "cairnctl $*: exit $rc, want $want (stderr: $(cat "$err"))"
}

expect_err() {
    local got
    got=$(cat "$err")
    [[ $got == "$1" ]] || fail "stderr '$got', want '$1'"
}

# Like expect_err, with an extended regular expression for the whole line.
expect_err_re() {
    local got
    got=$(cat "$err")
    [[ $got =~ ^$1$ ]] || fail "stderr '$got' does not match '$1'"
}

# How many voters fit in the deadline depends on how fast the connection
# layer reports a refused connect, so the list holds the first voter and
# possibly later ones, in order.
no_leader_re() {
    local ms=$1 first=$2
    shift 2
    local rest
    rest=$(IFS='|'; echo "$*")
    echo "cairnctl: no quorum: no controller leader reachable within $ms ms \\(tried 127\\.0\\.0\\.1:$first(, 127\\.0\\.0\\.1:($rest))*\\)"
}

# Ports nothing listens on: bound once by the kernel's choice, then released.
free_ports() {
    python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
'
}

run 0 -- --help
grep -q '^usage: cairnctl' "$out" || fail "--help prints no usage"
run 2 -- frobnicate
expect_err "cairnctl: unknown command 'frobnicate' (see cairnctl --help)"
run 2 -- topic create orders --partitions 0
expect_err "cairnctl: invalid --partitions '0' (want 1..2147483647) (see cairnctl --help)"
run 2 "CAIRN_TIMEOUT_MS=never" -- cluster status
expect_err "cairnctl: invalid CAIRN_TIMEOUT_MS 'never' (want 1..3600000 ms) (see cairnctl --help)"

read -r p1 p2 p3 < <(free_ports)
start=$(date +%s%N)
run 1 -- --controllers "127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3" --timeout 500 cluster status --json
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_err_re "$(no_leader_re 500 "$p1" "$p2" "$p3")"
[[ -s $out ]] && fail "stdout not empty on failure"
(( elapsed_ms >= 500 && elapsed_ms < 3000 )) || fail "gave up after ${elapsed_ms} ms, want ~500"

# The local cluster's defaults: controllers at CAIRN_BASE_PORT+100.. .
base=$(( p1 > 60000 ? 20000 : p1 ))
run 1 "CAIRN_BASE_PORT=$base" CAIRN_TIMEOUT_MS=300 -- topic list
expect_err_re "$(no_leader_re 300 $((base + 100)) $((base + 101)) $((base + 102)))"

# A controller that accepts but never answers: each attempt times out.
read -r sp _ _ < <(free_ports)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
' "$sp" &
silent_pid=$!
for _ in $(seq 50); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1)' "$sp" \
        2>/dev/null && break
    sleep 0.05
done
run 1 "CAIRN_CONTROLLERS=127.0.0.1:$sp" -- --timeout 700 broker list
expect_err "cairnctl: no quorum: no controller leader reachable within 700 ms (tried 127.0.0.1:$sp)"

if (( fails > 0 )); then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "cairnctl CLI checks passed"
