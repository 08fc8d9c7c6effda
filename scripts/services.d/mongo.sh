# A MongoDB-compatible server for sessions-mongo's tests: SecantusDB (from PyPI), which speaks the
# MongoDB wire protocol on top of WiredTiger, in memory. Two instances on 127.0.0.1: one shared by
# the tests, and one used only by the outage test, which pauses it (tests run in parallel, so
# pausing the shared one would stall the others). Ports move by SERVICES_PORT_OFFSET.
#
#   SECANTUSDB_URL         mongodb://127.0.0.1:27117/?directConnection=true   always
#   SECANTUSDB_PID         its PID                                            always
#   SECANTUSDB_OUTAGE_URL  mongodb://127.0.0.1:27118/?directConnection=true   always
#   SECANTUSDB_OUTAGE_PID  its PID                                            always
#   MONGODB_URL, MONGODB_PID                 the first instance, unless MONGODB_URL already
#   MONGODB_OUTAGE_URL, MONGODB_OUTAGE_PID   names another server; the second instance, ditto
#
# The tests read MONGODB_URL, so a developer with a real MongoDB sets MONGODB_URL before
# `scripts/services.sh start` and keeps it: this script then leaves all four MONGODB_* variables
# alone, and the outage test (which needs MONGODB_OUTAGE_URL and MONGODB_OUTAGE_PID, to
# SIGSTOP/SIGCONT it) is skipped unless the developer sets those too. The TTL monitor sweeps
# every 60 s, as mongod's does.
# Sourced by scripts/services.sh, which provides need_apt, record_pid, export_env, wait_for_port,
# log and $STATE.

MONGO_PORT=$((27117 + PORT_OFFSET))
MONGO_OUTAGE_PORT=$((27118 + PORT_OFFSET))
MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true"
MONGO_OUTAGE_URL="mongodb://127.0.0.1:$MONGO_OUTAGE_PORT/?directConnection=true"
MONGO_SECANTUSDB_VERSION=0.7.0b3

mongo_install() {
    local venv="$STATE/mongo-venv"
    if "$venv/bin/python" -c 'import secantus, sys; sys.exit(secantus.__version__ != sys.argv[1])' \
        "$MONGO_SECANTUSDB_VERSION" 2>/dev/null; then
        return 0
    fi
    local python
    python=$(command -v python3 || true)
    if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
        need_apt python3 python3-venv
        python=$(command -v python3)
    fi
    log "installing secantusdb $MONGO_SECANTUSDB_VERSION into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "secantusdb==$MONGO_SECANTUSDB_VERSION"
}

mongo_start() {
    local pid outage_pid
    pid=$(mongo_launch mongo $MONGO_PORT) || return 1
    outage_pid=$(mongo_launch mongo-outage $MONGO_OUTAGE_PORT) || return 1
    export_env SECANTUSDB_URL "$MONGO_URL"
    export_env SECANTUSDB_PID "$pid"
    export_env SECANTUSDB_OUTAGE_URL "$MONGO_OUTAGE_URL"
    export_env SECANTUSDB_OUTAGE_PID "$outage_pid"
    if [ -n "${MONGODB_URL:-}" ] && [ "$MONGODB_URL" != "$MONGO_URL" ]; then
        log "MONGODB_URL is already set: the tests use that server (secantusdb is at SECANTUSDB_URL)"
        return 0
    fi
    export_env MONGODB_URL "$MONGO_URL"
    export_env MONGODB_PID "$pid"
    export_env MONGODB_OUTAGE_URL "$MONGO_OUTAGE_URL"
    export_env MONGODB_OUTAGE_PID "$outage_pid"
}

# Starts one instance with its log in $STATE/<name>, waits until it accepts connections, records
# its PID as <name> and prints it.
mongo_launch() {
    local name=$1 port=$2
    local dir="$STATE/$name"
    mkdir -p "$dir"
    mongo_wait_port_free "$port" || return 1
    # Not `python -m secantus`: its command line has no flag for the TTL sweep interval.
    "$STATE/mongo-venv/bin/python" -c "$MONGO_LAUNCHER" 127.0.0.1 "$port" >"$dir/server.log" 2>&1 &
    local pid=$!
    record_pid "$name" "$pid"
    if ! wait_for_port "$port" 60 || ! kill -0 "$pid" 2>/dev/null; then
        log "secantusdb ($name) did not start; its log:"
        cat "$dir/server.log" >&2
        return 1
    fi
    echo "$pid"
}

# A previous instance stopped by `services.sh stop` may still be shutting down.
mongo_wait_port_free() {
    local port=$1 tries=0
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -ge 50 ]; then
            log "port $port is taken by a process services.sh did not start"
            return 1
        fi
        sleep 0.2
    done
}

# Runs the server until SIGTERM or SIGINT, then shuts it down cleanly (the in-memory WiredTiger
# home is a temporary directory that `stop` removes). Standalone (no replica-set advertisement),
# like a plain mongod; the 60 s TTL sweep is mongod's default.
MONGO_LAUNCHER='
import signal, sys
from secantus import SecantusDBServer

server = SecantusDBServer(
    host=sys.argv[1],
    port=int(sys.argv[2]),
    storage_path=":memory:",
    replica_set_name=None,
    enable_test_commands=False,
    ttl_sweep_seconds=60.0,
    cache_size="256M",
)

def shut_down(signum, frame):
    signal.alarm(10)  # should the clean shutdown hang, SIGALRM ends the process
    raise SystemExit(0)

signal.signal(signal.SIGTERM, shut_down)
signal.signal(signal.SIGINT, shut_down)
server.start()
print("secantusdb listening on %s:%d" % server.address, flush=True)
try:
    server.wait()
finally:
    server.stop()
'
