#!/usr/bin/env bash
# Local Cairn cluster on loopback (DESIGN §6): N controllers and N brokers
# under $CAIRN_HOME, with start/stop/fault-injection subcommands.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=cluster.sh
NODES_DEFAULT=3
NODES_MAX=9                     # CAIRN_MAX_VOTERS
LOG_TAIL_LINES=15

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

usage() {
    cat <<EOF
usage: $PROG COMMAND
  up [--nodes N]            build if needed, start N controllers + N brokers (default $NODES_DEFAULT), wait, print env
  down [--wipe]             stop all (SIGTERM, SIGKILL after \$CAIRN_STOP_GRACE_S); --wipe deletes \$CAIRN_HOME
  status [--json]           cairnctl cluster status
  env                       print the export lines for CAIRN_BOOTSTRAP and CAIRN_CONTROLLERS
  stop|kill|start|pause|resume controller|broker ID
                            SIGTERM and wait, SIGKILL, start, SIGSTOP, SIGCONT one process
  pids                      one line per process: role id pid ('-' when not running)

environment: CAIRN_HOME (default $ROOT/.cluster), CAIRN_BASE_PORT (9092),
  CAIRN_BUILD_DIR ($ROOT/build), CAIRN_SKIP_BUILD=1, CAIRN_UP_TIMEOUT_S (30),
  CAIRN_STOP_GRACE_S (10), CAIRN_CONTROLLER_CONFIG / CAIRN_BROKER_CONFIG
  (extra 'key=value;...' lines for every controller / broker)
EOF
}

usage_error() { echo "$PROG: $* (see $PROG --help)" >&2; exit 2; }

# uint NAME VALUE MIN MAX: VALUE must be a decimal integer in [MIN, MAX].
uint() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (( 10#$2 < $3 || 10#$2 > $4 )); then
        die "invalid $1 '$2' (want $3..$4)"
    fi
}

# Milliseconds on a clock that only moves forward within this run.
now_ms() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        local us=${EPOCHREALTIME/[.,]/}
        echo $((10#$us / 1000))
    else
        date +%s%3N
    fi
}

absolute() { if [[ $1 == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

CAIRN_HOME=$(absolute "${CAIRN_HOME:-$ROOT/.cluster}")
BUILD_DIR=$(absolute "${CAIRN_BUILD_DIR:-$ROOT/build}")
BASE=${CAIRN_BASE_PORT:-9092}
UP_TIMEOUT_S=${CAIRN_UP_TIMEOUT_S:-30}
STOP_GRACE_S=${CAIRN_STOP_GRACE_S:-10}
uint CAIRN_BASE_PORT "$BASE" 1 $((65535 - 200 - NODES_MAX))
uint CAIRN_UP_TIMEOUT_S "$UP_TIMEOUT_S" 1 86400
uint CAIRN_STOP_GRACE_S "$STOP_GRACE_S" 0 86400
BASE=$((10#$BASE))

CONTROLLER_BIN=$BUILD_DIR/controller/cairn-controller
BROKER_BIN=$BUILD_DIR/broker/cairn-broker
CAIRNCTL=$BUILD_DIR/controller/ctl/cairnctl
NODES_FILE=$CAIRN_HOME/nodes

# ---- layout ---------------------------------------------------------------

port_of() {   # ROLE ID
    if [[ $1 == broker ]]; then echo $((BASE + $2 - 1)); else echo $((BASE + 100 + $2 - 1)); fi
}
bin_of() { if [[ $1 == broker ]]; then echo "$BROKER_BIN"; else echo "$CONTROLLER_BIN"; fi; }
dir_of() { echo "$CAIRN_HOME/$1-$2"; }

# The node count of the cluster in $CAIRN_HOME (3 before the first `up`).
nodes() {
    local n=$NODES_DEFAULT
    if [[ -f $NODES_FILE ]]; then
        n=$(<"$NODES_FILE")
        if ! [[ $n =~ ^[1-9][0-9]*$ ]] || (( n > NODES_MAX )); then
            die "corrupt $NODES_FILE: '$n'"
        fi
    fi
    echo "$n"
}

address_list() {   # ROLE N -> 127.0.0.1:P,...
    local i out=""
    for ((i = 1; i <= $2; i++)); do out+="${out:+,}127.0.0.1:$(port_of "$1" "$i")"; done
    echo "$out"
}

voters() {   # N -> 1@127.0.0.1:P,...
    local i out=""
    for ((i = 1; i <= $1; i++)); do out+="${out:+,}$i@127.0.0.1:$(port_of controller "$i")"; done
    echo "$out"
}

print_env() {   # N
    echo "export CAIRN_BOOTSTRAP=$(address_list broker "$1")"
    echo "export CAIRN_CONTROLLERS=$(address_list controller "$1")"
}

# Only the keys the processes know: an unknown key stops them (DESIGN §6).
write_properties() {   # ROLE ID N
    local role=$1 id=$2 dir tmp port
    dir=$(dir_of "$role" "$id")
    port=$(port_of "$role" "$id")
    mkdir -p "$dir"
    tmp=$dir/server.properties.tmp
    {
        echo "# $role $id of the local cluster; written by deploy/cluster.sh up"
        echo "node.id=$id"
        echo "process.roles=$role"
        if [[ $role == controller ]]; then
            echo "listeners=CONTROLLER://127.0.0.1:$port"
        else
            # Followers fetch from the REPLICATION listener, BASE+200+i-1.
            local repl=$((port + 200))
            echo "listeners=PLAINTEXT://127.0.0.1:$port,REPLICATION://127.0.0.1:$repl"
            echo "advertised.listeners=PLAINTEXT://127.0.0.1:$port,REPLICATION://127.0.0.1:$repl"
        fi
        echo "controller.quorum.voters=$(voters "$3")"
        if [[ $role == controller ]]; then
            echo "metadata.log.dir=$dir/metadata"
        else
            echo "log.dirs=$dir/data"
        fi
        # Extra key=value lines for every process of a role, separated by
        # ';' (e.g. CAIRN_CONTROLLER_CONFIG='log.level=debug;...').
        local extra
        if [[ $role == controller ]]; then extra=${CAIRN_CONTROLLER_CONFIG:-}; else extra=${CAIRN_BROKER_CONFIG:-}; fi
        if [[ -n $extra ]]; then
            tr ';' '\n' <<<"$extra"
        fi
    } >"$tmp"
    mv -f "$tmp" "$dir/server.properties"
}

# ---- processes --------------------------------------------------------------

# Prints the pid of ROLE ID if its pid file names a live process running the
# right binary (a recycled pid or a zombie does not count); fails otherwise.
live_pid() {
    local pidfile pid exe want
    pidfile=$(dir_of "$1" "$2")/pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    want=$(readlink -f "$(bin_of "$1")" 2>/dev/null) || want=$(bin_of "$1")
    [[ ${exe% (deleted)} == "$want" ]] || return 1
    echo "$pid"
}

log_tail() {   # ROLE ID
    local log
    log=$(dir_of "$1" "$2")/server.log
    echo "--- $1 $2: last lines of $log ---"
    if [[ -f $log ]]; then tail -n "$LOG_TAIL_LINES" "$log"; else echo "(no log)"; fi
}

start_one() {   # ROLE ID
    local role=$1 id=$2 dir bin pid
    dir=$(dir_of "$role" "$id")
    bin=$(bin_of "$role")
    if pid=$(live_pid "$role" "$id"); then
        return 0
    fi
    [[ -f $dir/server.properties ]] || die "$role $id has no configuration in $dir; run '$PROG up' first"
    [[ -x $bin ]] || die "$bin not found; build first (or unset CAIRN_SKIP_BUILD)"
    # setsid: a Ctrl-C aimed at this script must not reach the cluster. No
    # descriptor of ours stays open in the child, so callers reading our
    # output see EOF when we exit.
    setsid "$bin" "$dir/server.properties" >>"$dir/server.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
    # Until the child has exec'd, its pid still shows this shell's binary;
    # wait for that (or for it to end) so liveness checks that follow are true.
    local k
    for ((k = 0; k < 100; k++)); do
        live_pid "$role" "$id" >/dev/null && return 0
        [[ -d /proc/$pid && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 0
        sleep 0.01
    done
}

# Prints the ROLE:ID items still running.
still_running() {
    local item
    for item in "$@"; do
        if live_pid "${item%:*}" "${item#*:}" >/dev/null; then echo "$item"; fi
    done
}

# Waits until none of the ROLE:ID items runs; fails once MS milliseconds pass.
wait_gone() {   # MS ROLE:ID...
    local deadline
    deadline=$(($(now_ms) + $1))
    shift
    while [[ -n $(still_running "$@") ]]; do
        (( $(now_ms) < deadline )) || return 1
        sleep 0.05
    done
}

# Sends SIGNAL to every running ROLE:ID item and waits up to GRACE seconds
# for them to exit, then SIGKILLs what remains.
terminate() {   # SIGNAL GRACE ROLE:ID...
    local sig=$1 grace=$2 item pid
    shift 2
    for item in "$@"; do
        if pid=$(live_pid "${item%:*}" "${item#*:}"); then
            kill "-$sig" "$pid" 2>/dev/null || true
            # A paused process only acts on SIGTERM once continued.
            kill -CONT "$pid" 2>/dev/null || true
        fi
    done
    if ! wait_gone $((grace * 1000)) "$@"; then
        for item in $(still_running "$@"); do
            pid=$(live_pid "${item%:*}" "${item#*:}") || continue
            note "${item%:*} ${item#*:} (pid $pid) still running after ${grace}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        done
        wait_gone 5000 "$@" || note "still running after SIGKILL: $(still_running "$@" | tr '\n' ' ')"
    fi
    for item in "$@"; do
        live_pid "${item%:*}" "${item#*:}" >/dev/null || rm -f "$(dir_of "${item%:*}" "${item#*:}")/pid"
    done
}

# ---- up ------------------------------------------------------------------------

build() {
    local log=$CAIRN_HOME/build.log
    if [[ -f $ROOT/deploy/install-deps.sh ]]; then
        bash "$ROOT/deploy/install-deps.sh" || exit $?
    fi
    if [[ ! -f $BUILD_DIR/build.ninja ]]; then
        note "configuring $BUILD_DIR"
        meson setup "$BUILD_DIR" "$ROOT" >"$log" 2>&1 ||
            { cat "$log" >&2; die "meson setup failed (log: $log)"; }
    fi
    ninja -C "$BUILD_DIR" controller/cairn-controller broker/cairn-broker \
        controller/ctl/cairnctl >"$log" 2>&1 ||
        { tail -n 60 "$log" >&2; die "build failed (log: $log)"; }
}

# Prints "ready" or what is missing, from `cairnctl cluster status --json`.
readiness() {   # N
    local json err=$CAIRN_HOME/.status.err
    if ! json=$("$CAIRNCTL" --controllers "$(address_list controller "$1")" --timeout 1000 \
                    cluster status --json 2>"$err"); then
        local why
        why=$(head -n 1 "$err")
        echo "${why:-cluster status failed}"
        return 0
    fi
    python3 -c '
import json, sys
want = int(sys.argv[1])
try:
    st = json.loads(sys.argv[2])
except ValueError:
    print("cluster status: unreadable answer"); sys.exit()
ctl = st.get("controller", {})
leaders = [v for v in ctl.get("voters", []) if v.get("role") == "leader"]
if not ctl.get("leader") or not leaders:
    print("no controller leader"); sys.exit()
states = {b.get("id"): b.get("state") for b in st.get("brokers", [])}
active = sorted(i for i, s in states.items() if s == "active")
if len(active) >= want:
    print("ready"); sys.exit()
missing = [str(i) for i in range(1, want + 1) if i not in states]
other = ["%s %s" % (i, s) for i, s in sorted(states.items()) if s != "active"]
parts = ["%d of %d brokers active" % (len(active), want)]
if other:
    parts.append("not active: " + ", ".join(other))
if missing:
    parts.append("not registered: " + ", ".join(missing))
print("; ".join(parts))
' "$1" "$json"
}

dead_processes() {   # N -> "controller 2" lines for processes not running
    local role i
    for role in controller broker; do
        for ((i = 1; i <= $1; i++)); do
            live_pid "$role" "$i" >/dev/null || echo "$role $i"
        done
    done
}

not_ready() {   # N REASON
    local role i
    {
        echo "$PROG: cluster not ready: $2"
        while read -r role i; do
            [[ -n $role ]] && echo "$PROG: $role $i is not running"
        done <<<"$(dead_processes "$1")"
        for role in controller broker; do
            for ((i = 1; i <= $1; i++)); do log_tail "$role" "$i"; done
        done
        echo "$PROG: processes that started are left running; '$PROG down' stops them"
    } >&2
    exit 1
}

wait_ready() {   # N
    local n=$1 deadline state dead
    deadline=$(($(now_ms) + UP_TIMEOUT_S * 1000))
    while :; do
        dead=$(dead_processes "$n")
        [[ -z $dead ]] || not_ready "$n" "$(echo "$dead" | head -n 1) exited during start-up"
        state=$(readiness "$n")
        [[ $state == ready ]] && return 0
        (( $(now_ms) >= deadline )) && not_ready "$n" "$state (after ${UP_TIMEOUT_S}s)"
        sleep 0.2
    done
}

cmd_up() {
    local n="" have i role ctl_hint
    while (( $# )); do
        case $1 in
            --nodes) (( $# >= 2 )) || usage_error "--nodes needs a value"; n=$2; shift 2 ;;
            --nodes=*) n=${1#--nodes=}; shift ;;
            *) usage_error "unknown argument to up: '$1'" ;;
        esac
    done
    have=$(nodes)
    if [[ -z $n ]]; then
        n=$have
    else
        uint --nodes "$n" 1 "$NODES_MAX"
        n=$((10#$n))
        if [[ -f $NODES_FILE ]] && (( n != have )); then
            die "the cluster in $CAIRN_HOME has $have nodes; '$PROG down --wipe' before changing it"
        fi
    fi
    mkdir -p "$CAIRN_HOME"
    [[ ${CAIRN_SKIP_BUILD:-} == 1 ]] || build
    local bin
    for bin in "$CONTROLLER_BIN" "$BROKER_BIN" "$CAIRNCTL"; do
        [[ -x $bin ]] || die "$bin not found; build first (or unset CAIRN_SKIP_BUILD)"
    done
    echo "$n" >"$NODES_FILE"
    for role in controller broker; do
        for ((i = 1; i <= n; i++)); do
            live_pid "$role" "$i" >/dev/null || write_properties "$role" "$i" "$n"
        done
    done
    for ((i = 1; i <= n; i++)); do start_one controller "$i"; done
    for ((i = 1; i <= n; i++)); do start_one broker "$i"; done
    wait_ready "$n"
    ctl_hint=${CAIRNCTL#"$ROOT"/}
    echo "Cairn is up: $n controllers, $n brokers (data in $CAIRN_HOME)"
    print_env "$n"
    echo "Use it: eval \"\$($0 env)\"; $ctl_hint cluster status; kcat -b \"\$CAIRN_BOOTSTRAP\" -L"
}

# ---- other commands --------------------------------------------------------------

all_items() {   # ROLE N -> ROLE:1 ... ROLE:N
    local i
    for ((i = 1; i <= $2; i++)); do echo "$1:$i"; done
}

cmd_down() {
    local wipe=0 n items
    while (( $# )); do
        case $1 in
            --wipe) wipe=1; shift ;;
            *) usage_error "unknown argument to down: '$1'" ;;
        esac
    done
    n=$(nodes)
    # Brokers first: a broker's controlled shutdown needs the controllers.
    mapfile -t items < <(all_items broker "$n")
    terminate TERM "$STOP_GRACE_S" "${items[@]}"
    mapfile -t items < <(all_items controller "$n")
    terminate TERM "$STOP_GRACE_S" "${items[@]}"
    if (( wipe )) && [[ -e $CAIRN_HOME ]]; then
        # Only ever delete a directory this script laid out.
        [[ -f $NODES_FILE || -d $CAIRN_HOME/controller-1 ]] ||
            die "refusing to wipe $CAIRN_HOME: not a cluster directory (no $NODES_FILE)"
        rm -rf -- "$CAIRN_HOME"
        echo "Stopped; removed $CAIRN_HOME"
    else
        echo "Stopped"
    fi
}

# Checks ROLE ID against the cluster's size.
check_target() {   # ROLE ID
    [[ ${1:-} == controller || ${1:-} == broker ]] || usage_error "ROLE must be controller or broker, not '${1:-}'"
    local n
    n=$(nodes)
    if ! [[ ${2:-} =~ ^[0-9]+$ ]] || (( 10#$2 < 1 || 10#$2 > n )); then
        usage_error "ID must be 1..$n, not '${2:-}'"
    fi
}

cmd_signal() {   # ACTION ROLE ID
    local action=$1 role=$2 id=$((10#$3)) pid
    if [[ $action == start ]]; then
        start_one "$role" "$id"
        sleep 0.1
        live_pid "$role" "$id" >/dev/null || { log_tail "$role" "$id" >&2; die "$role $id exited at once"; }
        return 0
    fi
    if ! pid=$(live_pid "$role" "$id"); then
        [[ $action == stop || $action == kill ]] && { note "$role $id is not running"; return 0; }
        die "$role $id is not running"
    fi
    case $action in
        stop) terminate TERM "$STOP_GRACE_S" "$role:$id" ;;
        kill) terminate KILL 5 "$role:$id" ;;
        pause) kill -STOP "$pid" ;;
        resume) kill -CONT "$pid" ;;
    esac
}

cmd_pids() {
    local n role i pid
    n=$(nodes)
    for role in controller broker; do
        for ((i = 1; i <= n; i++)); do
            pid=$(live_pid "$role" "$i") || pid=-
            echo "$role $i $pid"
        done
    done
}

main() {
    if (( $# == 0 )); then usage >&2; exit 2; fi
    local cmd=$1
    shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status)
            [[ -x $CAIRNCTL ]] || die "$CAIRNCTL not found; build first"
            exec "$CAIRNCTL" --controllers "$(address_list controller "$(nodes)")" cluster status "$@" ;;
        env) (( $# == 0 )) || usage_error "env takes no arguments"; print_env "$(nodes)" ;;
        stop|kill|start|pause|resume)
            (( $# == 2 )) || usage_error "usage: $PROG $cmd controller|broker ID"
            check_target "$1" "$2"
            cmd_signal "$cmd" "$1" "$2" ;;
        pids) (( $# == 0 )) || usage_error "pids takes no arguments"; cmd_pids ;;
        -h|--help|help) usage ;;
        *) usage_error "unknown command '$cmd'" ;;
    esac
}

main "$@"
