# Redis for sessions-redis's tests: single servers on 127.0.0.1 (the Cluster and Sentinel sets
# are in redis_cluster.sh and redis_sentinel.sh). Ports move by SERVICES_PORT_OFFSET.
#
#   REDIS_URL          redis://127.0.0.1:16379   shared by the tests
#   REDIS_PID          its PID
#   REDIS_OUTAGE_URL   redis://127.0.0.1:16380   used only by the outage test, which pauses it
#   REDIS_OUTAGE_PID   its PID, for SIGSTOP/SIGCONT
#   REDIS_TLS_URL      rediss://sessions:…@127.0.0.1:16381   TLS only, the default user off and
#                      an ACL user `sessions` limited to the store's commands
#   REDIS_TLS_CA       the certificate authority that signed its certificate (made at start-up)
#   REDIS_DRILL_URL    redis://127.0.0.1:16382   AOF with appendfsync always, for the restart drill
#   REDIS_DRILL_RESTART  a script that kills it (SIGKILL) and starts it again on the same files
#
# All but the drill server run without persistence (--save "", no AOF). Tests run in parallel,
# so the outage test and the drill get servers of their own. Sourced by scripts/services.sh,
# which provides need_apt, record_pid, export_env, wait_for_port, log and $STATE.

REDIS_PORT=$((16379 + PORT_OFFSET))
REDIS_OUTAGE_PORT=$((16380 + PORT_OFFSET))
REDIS_TLS_PORT=$((16381 + PORT_OFFSET))
REDIS_DRILL_PORT=$((16382 + PORT_OFFSET))
# A test secret, not a real one; the tests check that it never shows in logs or errors.
REDIS_TLS_PASSWORD=tls-acl-s3cret

redis_install() {
    need_apt redis-server redis-sentinel openssl
}

redis_start() {
    redis_launch redis $REDIS_PORT
    export_env REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
    export_env REDIS_PID "$REDIS_LAUNCHED_PID"
    redis_launch redis-outage $REDIS_OUTAGE_PORT
    export_env REDIS_OUTAGE_URL "redis://127.0.0.1:$REDIS_OUTAGE_PORT"
    export_env REDIS_OUTAGE_PID "$REDIS_LAUNCHED_PID"
    redis_start_tls
    redis_start_drill
}

# TLS with a certificate made now, signed by a certificate authority made now; the default
# user is off, and the `sessions` user may run only what the store sends (GETRANGE and SET
# inside the compare-and-set script).
redis_start_tls() {
    local dir="$STATE/redis-tls"
    rm -rf "$dir"
    mkdir -p "$dir"
    make_test_certificates "$dir"
    REDIS_PING_ARGS=(--tls --cacert "$dir/ca.pem" --user sessions --pass "$REDIS_TLS_PASSWORD")
    redis_launch redis-tls "$REDIS_TLS_PORT" --port 0 --tls-port "$REDIS_TLS_PORT" \
        --tls-cert-file "$dir/server.pem" --tls-key-file "$dir/server.key" \
        --tls-ca-cert-file "$dir/ca.pem" --tls-auth-clients no \
        --user default off \
        --user sessions on ">$REDIS_TLS_PASSWORD" '~*' \
        +get +set +getrange +pexpire +del +evalsha +eval +ping +select
    REDIS_PING_ARGS=()
    export_env REDIS_TLS_URL "rediss://sessions:$REDIS_TLS_PASSWORD@127.0.0.1:$REDIS_TLS_PORT"
    export_env REDIS_TLS_CA "$dir/ca.pem"
}

# The restart drill's server: every acknowledged write is on disk before the reply (AOF,
# appendfsync always). The restart script kills it without warning and starts it on the same
# files.
redis_start_drill() {
    local dir="$STATE/redis-drill"
    rm -rf "$dir"
    mkdir -p "$dir"
    local restart="$dir/restart.sh"
    cat >"$restart" <<EOF
#!/usr/bin/env bash
# Kills the drill Redis (SIGKILL) and starts it again with its AOF. Written by services.sh.
set -euo pipefail
STATE='$STATE'
PORT_OFFSET='$PORT_OFFSET'
ROOT='$ROOT'
source '$ROOT/scripts/services.d/redis.sh'
log() { printf 'redis-drill: %s\n' "\$*" >&2; }
record_pid() { echo "\$2" >"\$STATE/\$1.pid"; }
$(declare -f wait_for_port)
pid=\$(cat "\$STATE/redis-drill.pid")
kill -KILL "\$pid" 2>/dev/null || true
while kill -0 "\$pid" 2>/dev/null; do sleep 0.05; done
redis_launch_drill
EOF
    chmod +x "$restart"
    redis_launch_drill
    export_env REDIS_DRILL_URL "redis://127.0.0.1:$REDIS_DRILL_PORT"
    export_env REDIS_DRILL_RESTART "$restart"
}

redis_launch_drill() {
    redis_launch redis-drill "$REDIS_DRILL_PORT" \
        --appendonly yes --appendfsync always
}

# Starts one instance with its files in $STATE/<name>, any further arguments added to the
# defaults, checks it answers PING (with REDIS_PING_ARGS for redis-cli), and records its PID as
# <name> and in REDIS_LAUNCHED_PID.
redis_launch() {
    local name=$1 port=$2
    shift 2
    local dir="$STATE/$name"
    mkdir -p "$dir"
    # The server's own pidfile lives in a subdirectory: services.sh stops every $STATE/*.pid,
    # and Redis deletes its pidfile on shutdown, which would race with that loop.
    local pidfile="$dir/redis-server.pid"
    rm -f "$pidfile"
    redis_wait_port_free "$port" || return 1
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log" "$@"

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
    reply=$(timeout 5 redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "${REDIS_PING_ARGS[@]}" ping 2>&1) || true
    if [ "$reply" != PONG ]; then
        log "redis-server ($name) on port $port did not answer PING: $reply"
        return 1
    fi
    REDIS_LAUNCHED_PID=$pid
}
REDIS_PING_ARGS=()

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
