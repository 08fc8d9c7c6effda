# Memcached for sessions-memcached's tests: instances on 127.0.0.1 (ports below, moved by
# SERVICES_PORT_OFFSET).
#
#   MEMCACHED_URL                memcache://127.0.0.1:21211                  text (meta) and binary, no auth
#   MEMCACHED_SASL_URL           memcache+binary://USER:PASS@127.0.0.1:21212 binary only, SASL PLAIN (-S)
#   MEMCACHED_AUTH_URL           memcache://USER:PASS@127.0.0.1:21213        text, ASCII authentication (-Y)
#   MEMCACHED_OUTAGE_URL         memcache://127.0.0.1:21214                  text only, no auth
#   MEMCACHED_OUTAGE_BINARY_URL  memcache+binary://127.0.0.1:21215           binary only, no auth
#   MEMCACHED_RING_URL           memcache://127.0.0.1:21216,…:21217,…:21218  three nodes, a ring (comma-separated)
#   MEMCACHED_EJECT_URL          memcache://127.0.0.1:21219,…:21220,…:21221  three nodes the ejection tests pause
#   MEMCACHED_NOCAS_URL          memcache://127.0.0.1:21222                  CAS disabled (-C)
#   MEMCACHED_TLS_URL            memcache://USER:PASS@127.0.0.1:21223        TLS (-Z), text, ASCII authentication
#   MEMCACHED_TLS_SASL_URL       memcache+binary://USER:PASS@127.0.0.1:21224 TLS (-Z), binary, SASL PLAIN
#   MEMCACHED_TLS_CA             the certificate authority that signed their certificate (made at start-up)
#   MEMCACHED_REJOIN_URL         memcache://127.0.0.1:21225,…:21226,…:21227  three nodes the rejoin tests pause (comma-separated)
#
# The URL scheme picks the wire protocol (`memcache` = text/meta, `memcache+binary` = binary), the
# user info the credentials; sessions-memcached's README documents the format. The two outage
# instances serve only the outage tests, which pause them with SIGSTOP/SIGCONT through
# MEMCACHED_OUTAGE_PID and MEMCACHED_OUTAGE_BINARY_PID: pausing a server other tests use would
# stall those tests. The rejoin instances likewise serve only the rejoin test, which pauses one
# and checks that it is flushed before it takes keys again. Every instance's PID is exported (MEMCACHED_PID, MEMCACHED_<NAME>_PID).
# Sourced by scripts/services.sh, which provides need_apt, record_pid, export_env, wait_for_port,
# log and $STATE.

MEMCACHED_PLAIN_PORT=$((21211 + PORT_OFFSET))
MEMCACHED_SASL_PORT=$((21212 + PORT_OFFSET))
MEMCACHED_AUTH_PORT=$((21213 + PORT_OFFSET))
MEMCACHED_OUTAGE_PORT=$((21214 + PORT_OFFSET))
MEMCACHED_OUTAGE_BINARY_PORT=$((21215 + PORT_OFFSET))
MEMCACHED_RING_PORT=$((21216 + PORT_OFFSET))
MEMCACHED_EJECT_PORT=$((21219 + PORT_OFFSET))
MEMCACHED_NOCAS_PORT=$((21222 + PORT_OFFSET))
MEMCACHED_TLS_PORT=$((21223 + PORT_OFFSET))
MEMCACHED_TLS_SASL_PORT=$((21224 + PORT_OFFSET))
MEMCACHED_REJOIN_PORT=$((21225 + PORT_OFFSET))
MEMCACHED_USER=sessions
MEMCACHED_PASSWORD=sessions-secret

memcached_install() {
    need_apt memcached sasl2-bin openssl
}

memcached_start() {
    local dir="$STATE/memcached"
    mkdir -p "$dir" "$STATE/sasl"
    memcached_sasl_setup
    printf '%s:%s\n' "$MEMCACHED_USER" "$MEMCACHED_PASSWORD" >"$STATE/memcached-auth"
    chmod 600 "$STATE/memcached-auth"

    memcached_launch plain $MEMCACHED_PLAIN_PORT
    SASL_CONF_PATH="$STATE/sasl" memcached_launch sasl $MEMCACHED_SASL_PORT -B binary -S
    memcached_launch auth $MEMCACHED_AUTH_PORT -B ascii -Y "$STATE/memcached-auth"
    memcached_launch outage $MEMCACHED_OUTAGE_PORT -B ascii
    memcached_launch outage_binary $MEMCACHED_OUTAGE_BINARY_PORT -B binary
    memcached_launch nocas $MEMCACHED_NOCAS_PORT -C
    local ring_urls="" eject_urls="" i
    for i in 0 1 2; do
        memcached_launch "ring_$i" $((MEMCACHED_RING_PORT + i))
        memcached_launch "eject_$i" $((MEMCACHED_EJECT_PORT + i))
        ring_urls="$ring_urls${ring_urls:+,}memcache://127.0.0.1:$((MEMCACHED_RING_PORT + i))"
        eject_urls="$eject_urls${eject_urls:+,}memcache://127.0.0.1:$((MEMCACHED_EJECT_PORT + i))"
    done
    memcached_start_rejoin

    memcached_check_text $MEMCACHED_PLAIN_PORT ""
    memcached_check_sasl $MEMCACHED_SASL_PORT
    memcached_check_text $MEMCACHED_AUTH_PORT "$MEMCACHED_USER $MEMCACHED_PASSWORD"
    memcached_check_text $MEMCACHED_OUTAGE_PORT ""
    memcached_check_binary $MEMCACHED_OUTAGE_BINARY_PORT
    memcached_start_tls
    memcached_check_text $MEMCACHED_NOCAS_PORT ""
    for i in 0 1 2; do
        memcached_check_text $((MEMCACHED_RING_PORT + i)) ""
        memcached_check_text $((MEMCACHED_EJECT_PORT + i)) ""
    done

    local credentials="$MEMCACHED_USER:$MEMCACHED_PASSWORD"
    export_env MEMCACHED_URL "memcache://127.0.0.1:$MEMCACHED_PLAIN_PORT"
    export_env MEMCACHED_SASL_URL "memcache+binary://$credentials@127.0.0.1:$MEMCACHED_SASL_PORT"
    export_env MEMCACHED_AUTH_URL "memcache://$credentials@127.0.0.1:$MEMCACHED_AUTH_PORT"
    export_env MEMCACHED_OUTAGE_URL "memcache://127.0.0.1:$MEMCACHED_OUTAGE_PORT"
    export_env MEMCACHED_OUTAGE_BINARY_URL "memcache+binary://127.0.0.1:$MEMCACHED_OUTAGE_BINARY_PORT"
    export_env MEMCACHED_RING_URL "$ring_urls"
    export_env MEMCACHED_EJECT_URL "$eject_urls"
    export_env MEMCACHED_NOCAS_URL "memcache://127.0.0.1:$MEMCACHED_NOCAS_PORT"
}

# Three nodes of a ring that only the rejoin test uses: it pauses one with SIGSTOP, so it must
# not be a node other tests rely on. MEMCACHED_REJOIN_<i>_PID name them.
memcached_start_rejoin() {
    local urls="" i
    for i in 0 1 2; do
        memcached_launch "rejoin_$i" $((MEMCACHED_REJOIN_PORT + i))
        memcached_check_text $((MEMCACHED_REJOIN_PORT + i)) ""
        urls="$urls${urls:+,}memcache://127.0.0.1:$((MEMCACHED_REJOIN_PORT + i))"
    done
    export_env MEMCACHED_REJOIN_URL "$urls"
}

# TLS (-Z) with a certificate for 127.0.0.1 made now, signed by a certificate authority made now:
# the text protocol with ASCII authentication, and the binary protocol with SASL.
memcached_start_tls() {
    local dir="$STATE/memcached-tls" credentials="$MEMCACHED_USER:$MEMCACHED_PASSWORD"
    rm -rf "$dir"
    mkdir -p "$dir"
    make_test_certificates "$dir"
    local tls=(-Z -o "ssl_chain_cert=$dir/server.pem,ssl_key=$dir/server.key")
    memcached_launch tls $MEMCACHED_TLS_PORT -B ascii -Y "$STATE/memcached-auth" "${tls[@]}"
    SASL_CONF_PATH="$STATE/sasl" memcached_launch tls_sasl $MEMCACHED_TLS_SASL_PORT -B binary -S "${tls[@]}"
    memcached_check_tls $MEMCACHED_TLS_PORT "$dir/ca.pem"
    export_env MEMCACHED_TLS_URL "memcache://$credentials@127.0.0.1:$MEMCACHED_TLS_PORT"
    export_env MEMCACHED_TLS_SASL_URL "memcache+binary://$credentials@127.0.0.1:$MEMCACHED_TLS_SASL_PORT"
    export_env MEMCACHED_TLS_CA "$dir/ca.pem"
}

# memcached_check_tls PORT CA: authenticates over TLS (text protocol) and asks for the version.
memcached_check_tls() {
    local port=$1 ca=$2 auth="$MEMCACHED_USER $MEMCACHED_PASSWORD" reply
    reply=$(
        {
            printf 'set auth 0 0 %d\r\n%s\r\nversion\r\n' "${#auth}" "$auth"
            sleep 1
        } | timeout 5 openssl s_client -quiet -no_ign_eof -CAfile "$ca" -verify_return_error \
            -connect "127.0.0.1:$port" 2>/dev/null
    ) || true
    if ! grep -q '^STORED' <<<"$reply" || ! grep -q '^VERSION 1\.' <<<"$reply"; then
        log "memcached with TLS on port $port did not authenticate and answer 'version': $reply"
        cat "$STATE/memcached/tls.log" >&2
        return 1
    fi
}

# The SASL database and the Cyrus SASL configuration memcached reads (found via SASL_CONF_PATH).
memcached_sasl_setup() {
    local db="$STATE/sasl/memcached-sasldb2"
    rm -f "$db"
    printf '%s' "$MEMCACHED_PASSWORD" | saslpasswd2 -a memcached -c -f "$db" -p "$MEMCACHED_USER"
    printf 'mech_list: plain\nsasldb_path: %s\n' "$db" >"$STATE/sasl/memcached.conf"
}

# memcached_launch NAME PORT [ARGS...]: starts one instance in the background, records its PID
# and exports it (MEMCACHED_PID for `plain`, else MEMCACHED_<NAME>_PID).
memcached_launch() {
    local name=$1 port=$2
    shift 2
    memcached_wait_port_free "$port"
    memcached -l 127.0.0.1 -p "$port" -U 0 -m 64 -u "$(id -un)" "$@" \
        >"$STATE/memcached/$name.log" 2>&1 &
    local pid=$!
    local var=MEMCACHED_PID
    [ "$name" = plain ] || var="MEMCACHED_$(echo "$name" | tr '[:lower:]' '[:upper:]')_PID"
    record_pid "memcached-$name" "$pid"
    export_env "$var" "$pid"
    if ! wait_for_port "$port" 30 || ! kill -0 "$pid" 2>/dev/null; then
        log "memcached ($name) did not start; its log:"
        cat "$STATE/memcached/$name.log" >&2
        return 1
    fi
}

# A previous instance stopped by `services.sh stop` may still be releasing its port.
memcached_wait_port_free() {
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

# memcached_check_text PORT AUTH: authenticates (when AUTH is "user pass") and asks for the version.
memcached_check_text() {
    local port=$1 auth=$2 reply
    reply=$(
        {
            if [ -n "$auth" ]; then printf 'set auth 0 0 %d\r\n%s\r\n' "${#auth}" "$auth"; fi
            printf 'version\r\nquit\r\n'
        } | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3") || true
    if [ -n "$auth" ] && ! grep -q '^STORED' <<<"$reply"; then
        log "memcached on port $port refused the credentials: $reply"
        return 1
    fi
    if ! grep -q '^VERSION 1\.' <<<"$reply"; then
        log "memcached on port $port did not answer 'version': $reply"
        return 1
    fi
}

# memcached_bytes HEX: writes the bytes spelled by HEX (two digits a byte).
memcached_bytes() {
    # shellcheck disable=SC2059 # the format is the escaped bytes themselves
    printf "$(sed 's/../\\x&/g' <<<"$1")"
}

# memcached_check_binary PORT: a binary-protocol VERSION request; expects a success status.
memcached_check_binary() {
    local port=$1 reply
    reply=$(
        # magic 0x80, opcode 0x0b (VERSION), everything else zero: a 24-byte header, no body.
        memcached_bytes "$(printf '800b%044x' 0)" |
            timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; head -c 24 <&3" | od -An -tx1 | tr -d ' \n'
    ) || true
    if [ "${reply:0:4}" != 810b ] || [ "${reply:12:4}" != 0000 ]; then
        log "memcached on port $port did not answer a binary VERSION (response header: ${reply:-none})"
        return 1
    fi
}

# memcached_check_sasl PORT: a binary-protocol SASL_AUTH with PLAIN; expects status 0 (success).
memcached_check_sasl() {
    local port=$1
    local mech=PLAIN value_len body_len reply status
    value_len=$((2 + ${#MEMCACHED_USER} + ${#MEMCACHED_PASSWORD}))
    body_len=$((${#mech} + value_len))
    reply=$(
        {
            # magic 0x80, opcode 0x21 (SASL_AUTH), key length, extras length, data type, vbucket,
            # body length, opaque, CAS; then key "PLAIN" and value "\0user\0password".
            memcached_bytes "$(printf '8021%04x00000000%08x%024x' "${#mech}" "$body_len" 0)"
            printf '%s\0%s\0%s' "$mech" "$MEMCACHED_USER" "$MEMCACHED_PASSWORD"
        } | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; head -c 24 <&3" | od -An -tx1 | tr -d ' \n'
    ) || true
    status=${reply:12:4}
    if [ "${reply:0:4}" != 8121 ] || [ "$status" != 0000 ]; then
        log "memcached on port $port rejected SASL PLAIN authentication (response header: ${reply:-none})"
        cat "$STATE/memcached/sasl.log" >&2
        return 1
    fi
}
