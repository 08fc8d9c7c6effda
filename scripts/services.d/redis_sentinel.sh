# Redis Sentinel sets for sessions-redis's tests: a primary, a replica and three sentinels
# each, on 127.0.0.1, without persistence. Ports move by SERVICES_PORT_OFFSET.
#
#   REDIS_SENTINEL_URL        redis+sentinel://127.0.0.1:26391,…:26393/sessions
#                             (primary 16391, replica 16392) shared by the tests
#   REDIS_SENTINEL_DRILL_URL  redis+sentinel://127.0.0.1:26395,…:26397/sessions-drill
#                             (primary 16395, replica 16396) only for the failover drill,
#                             which asks a sentinel for SENTINEL FAILOVER
#
# Sourced by scripts/services.sh after redis.sh (redis_launch).

REDIS_SENTINEL_PRIMARY_PORT=$((16391 + PORT_OFFSET))
REDIS_SENTINEL_FIRST_PORT=$((26391 + PORT_OFFSET))
REDIS_SENTINEL_DRILL_PRIMARY_PORT=$((16395 + PORT_OFFSET))
REDIS_SENTINEL_DRILL_FIRST_PORT=$((26395 + PORT_OFFSET))

redis_sentinel_install() {
    need_apt redis-server redis-sentinel
}

redis_sentinel_start() {
    redis_sentinel_set redis-sentinel sessions "$REDIS_SENTINEL_PRIMARY_PORT" \
        "$REDIS_SENTINEL_FIRST_PORT"
    export_env REDIS_SENTINEL_URL "$REDIS_SENTINEL_CREATED_URL"
    redis_sentinel_set redis-sentinel-drill sessions-drill "$REDIS_SENTINEL_DRILL_PRIMARY_PORT" \
        "$REDIS_SENTINEL_DRILL_FIRST_PORT"
    export_env REDIS_SENTINEL_DRILL_URL "$REDIS_SENTINEL_CREATED_URL"
}

# A primary on $3, its replica on $3 + 1, and sentinels on $4..$4+2 watching it as $2.
redis_sentinel_set() {
    local name=$1 service=$2 primary=$3 first=$4
    local replica=$((primary + 1))
    rm -rf "${STATE:?}/$name-"*
    redis_launch "$name-primary" "$primary" || return 1
    redis_launch "$name-replica" "$replica" --replicaof 127.0.0.1 "$primary" || return 1
    # Sentinels learn of the replica from the primary's INFO when they connect, and only every
    # 10 s after that: start them once the replica is attached.
    redis_sentinel_wait_attached "$primary" || return 1
    local sentinels=()
    for i in 0 1 2; do
        local port=$((first + i))
        local dir="$STATE/$name-$i"
        mkdir -p "$dir"
        # Sentinel rewrites its configuration file as it learns; it must be writable.
        cat >"$dir/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/redis-sentinel.pid
logfile $dir/sentinel.log
dir $dir
sentinel monitor $service 127.0.0.1 $primary 2
sentinel down-after-milliseconds $service 2000
sentinel failover-timeout $service 10000
sentinel parallel-syncs $service 1
CONF
        redis_wait_port_free "$port" || return 1
        redis-sentinel "$dir/sentinel.conf"
        local pid
        pid=$(redis_read_pidfile "$dir/redis-sentinel.pid") || {
            log "sentinel $name-$i did not start; its log:"
            cat "$dir/sentinel.log" >&2
            return 1
        }
        record_pid "$name-$i" "$pid"
        wait_for_port "$port" 30 || return 1
        sentinels+=("127.0.0.1:$port")
    done
    REDIS_SENTINEL_CREATED_URL="redis+sentinel://$(IFS=,; echo "${sentinels[*]}")/$service"
}

redis_sentinel_wait_attached() {
    local primary=$1 tries=0
    until redis-cli -h 127.0.0.1 -p "$primary" info replication 2>/dev/null |
        grep -q '^slave0:.*state=online'; do
        tries=$((tries + 1))
        if [ "$tries" -ge 300 ]; then
            log "no replica attached to the primary on port $primary after 60s"
            return 1
        fi
        sleep 0.2
    done
}
