# Redis Clusters for sessions-redis's tests: 3 primaries and 3 replicas each, on 127.0.0.1,
# without persistence. Ports move by SERVICES_PORT_OFFSET (each node's cluster bus is its port
# + 10000).
#
#   REDIS_CLUSTER_URL        redis+cluster://127.0.0.1:17001,…:17003   shared by the tests
#   REDIS_CLUSTER_DRILL_URL  redis+cluster://127.0.0.1:17011,…:17013   only for the failover
#                            drill, which promotes a replica (CLUSTER FAILOVER)
#
# Sourced by scripts/services.sh after redis.sh (redis_launch).

REDIS_CLUSTER_FIRST_PORT=$((17001 + PORT_OFFSET))
REDIS_CLUSTER_DRILL_FIRST_PORT=$((17011 + PORT_OFFSET))

redis_cluster_install() {
    need_apt redis-server redis-tools
}

redis_cluster_start() {
    redis_cluster_create redis-cluster "$REDIS_CLUSTER_FIRST_PORT"
    export_env REDIS_CLUSTER_URL "$REDIS_CLUSTER_CREATED_URL"
    redis_cluster_create redis-cluster-drill "$REDIS_CLUSTER_DRILL_FIRST_PORT"
    export_env REDIS_CLUSTER_DRILL_URL "$REDIS_CLUSTER_CREATED_URL"
}

# Starts six nodes on ports first..first+5 and makes them a cluster: the first three are
# primaries, each of the others a replica of one (redis-cli assigns them). Waits until every
# node reports the cluster up.
redis_cluster_create() {
    local name=$1 first=$2
    local nodes=() seeds=()
    for i in 0 1 2 3 4 5; do
        local port=$((first + i))
        # A node keeps its cluster membership in nodes.conf: start from nothing every time.
        rm -rf "${STATE:?}/$name-$i"
        redis_launch "$name-$i" "$port" --cluster-enabled yes \
            --cluster-config-file nodes.conf --cluster-node-timeout 3000 || return 1
        nodes+=("127.0.0.1:$port")
        [ "$i" -lt 3 ] && seeds+=("127.0.0.1:$port")
    done
    if ! timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 \
        --cluster-yes >"$STATE/$name-create.log" 2>&1; then
        log "redis-cli --cluster create ($name) failed:"
        cat "$STATE/$name-create.log" >&2
        return 1
    fi
    for i in 0 1 2 3 4 5; do
        redis_cluster_wait_ok $((first + i)) || return 1
    done
    REDIS_CLUSTER_CREATED_URL="redis+cluster://$(IFS=,; echo "${seeds[*]}")"
}

redis_cluster_wait_ok() {
    local port=$1 tries=0
    until redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
        tries=$((tries + 1))
        if [ "$tries" -ge 300 ]; then
            log "the cluster node on port $port is not up after 60s"
            return 1
        fi
        sleep 0.2
    done
}
