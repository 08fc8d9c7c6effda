# Redis for sessions-redis's tests: two in-memory instances on 127.0.0.1.
#
#   REDIS_URL         redis://127.0.0.1:16379   shared by the tests (ports move by SERVICES_PORT_OFFSET)
#   REDIS_PID         its PID
#   REDIS_OUTAGE_URL  redis://127.0.0.1:16380   used only by the outage test, which pauses it
#   REDIS_OUTAGE_PID  its PID, for SIGSTOP/SIGCONT
#
# Both run without persistence (--save "", no AOF) and without auth. Tests run in parallel, so
# pausing the shared instance would stall the others: the outage test gets one of its own.
# Sourced by scripts/services.sh, which provides need_apt, record_pid, export_env, wait_for_port,
# log and $STATE.

REDIS_PORT=$((16379 + PORT_OFFSET))
REDIS_OUTAGE_PORT=$((16380 + PORT_OFFSET))

redis_install() {
    need_apt redis-server
}

redis_start() {
    redis_launch redis $REDIS_PORT
    export_env REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
    export_env REDIS_PID "$REDIS_LAUNCHED_PID"
    redis_launch redis-outage $REDIS_OUTAGE_PORT
    export_env REDIS_OUTAGE_URL "redis://127.0.0.1:$REDIS_OUTAGE_PORT"
    export_env REDIS_OUTAGE_PID "$REDIS_LAUNCHED_PID"
}

# Starts one instance with its files in $STATE/<name>, checks it answers PING, and records its
# PID as <name> and in REDIS_LAUNCHED_PID.
redis_launch() {
    local name=$1 port=$2
    local dir="$STATE/$name"
    mkdir -p "$dir"
    # The server's own pidfile lives in a subdirectory: services.sh stops every $STATE/*.pid,
    # and Redis deletes its pidfile on shutdown, which would race with that loop.
    local pidfile="$dir/redis-server.pid"
    rm -f "$pidfile"
    redis_wait_port_free "$port" || return 1
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log"

    local pid
    pid=$(redis_read_pidfile "$pidfile") || {
        log "redis-server ($name) did not write $pidfile; its log:"
        cat "$dir/redis.log" >&2
        return 1
    }
    record_pid "$name" "$pid"
    if ! wait_for_port "$port" 30 || ! kill -0 "$pid" 2>/dev/null; then
        log "redis-server ($name) did not start; its log:"
        cat "$dir/redis.log" >&2
        return 1
    fi
    local reply
    reply=$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" ping 2>&1) || true
    if [ "$reply" != PONG ]; then
        log "redis-server ($name) on port $port did not answer PING: $reply"
        return 1
    fi
    REDIS_LAUNCHED_PID=$pid
}

# With --daemonize the command returns before the server has written its pidfile.
redis_read_pidfile() {
    local pidfile=$1 tries=0
    until [ -s "$pidfile" ]; do
        tries=$((tries + 1))
        [ "$tries" -ge 50 ] && return 1
        sleep 0.1
    done
    cat "$pidfile"
}

# A previous instance stopped by `services.sh stop` may still be releasing its port.
redis_wait_port_free() {
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
