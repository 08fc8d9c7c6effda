# Chromium and ChromeDriver (Debian's `chromium` and `chromium-driver`) for the browser tests
# in e2e/: ChromeDriver on 127.0.0.1; each test has it start a headless Chromium of its own.
#
#   CHROMEDRIVER_URL  http://127.0.0.1:9515   (the port moves by SERVICES_PORT_OFFSET)
#   CHROMIUM_BIN      /usr/bin/chromium
#
# Chromium itself opens only its DevTools port, which ChromeDriver asks the OS to pick
# (--remote-debugging-port=0), so it cannot clash with another checkout. fonts-dejavu-core:
# headless Chromium draws text with whatever fonts are installed, and a bare machine has none,
# which would leave the README's screenshot without letters.
# Sourced by scripts/services.sh, which provides need_apt, record_pid, export_env, wait_for_port,
# log and $STATE.

CHROMEDRIVER_PORT=$((9515 + PORT_OFFSET))

chromium_install() {
    need_apt chromium chromium-driver fonts-dejavu-core
}

chromium_start() {
    local dir="$STATE/chromium"
    mkdir -p "$dir"
    chromium_wait_port_free "$CHROMEDRIVER_PORT" || return 1
    chromedriver --port="$CHROMEDRIVER_PORT" --log-path="$dir/chromedriver.log" >"$dir/stdout.log" 2>&1 &
    local pid=$!
    record_pid chromedriver "$pid"
    if ! wait_for_port "$CHROMEDRIVER_PORT" 30 || ! kill -0 "$pid" 2>/dev/null; then
        log "chromedriver did not start; its log:"
        cat "$dir/stdout.log" "$dir/chromedriver.log" >&2
        return 1
    fi
    local status
    status=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CHROMEDRIVER_PORT
        printf 'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3; cat <&3") || true
    if ! grep -q '"ready": *true' <<<"$status"; then
        log "chromedriver on port $CHROMEDRIVER_PORT is not ready: $status"
        return 1
    fi
    export_env CHROMEDRIVER_URL "http://127.0.0.1:$CHROMEDRIVER_PORT"
    export_env CHROMIUM_BIN /usr/bin/chromium
}

# Quits the browsers a failed test left running. ChromeDriver does not end them when it is
# stopped, and they would outlive it; they are its direct children (Debian's launcher execs).
chromium_stop() {
    local pidfile="$STATE/chromedriver.pid"
    [ -f "$pidfile" ] || return 0
    pkill -TERM -P "$(cat "$pidfile")" 2>/dev/null || true
}

# A previous instance stopped by `services.sh stop` may still be releasing its port.
chromium_wait_port_free() {
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
