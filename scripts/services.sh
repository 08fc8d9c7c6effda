#!/usr/bin/env bash
# Starts and stops the real servers the tests run against: on loopback, on non-default ports,
# so they never clash with a developer's own Redis or Memcached.
#
#   scripts/services.sh start   install what is missing, start every service, wait until each
#                               answers, and write the URLs to .services/env (source it)
#   scripts/services.sh stop    stop every service started by `start` (by PID)
#
# SERVICES_PORT_OFFSET (default 0) moves every port, and SERVICES_DIR (default .services) the
# state directory, so that two checkouts can run their tests on one machine at the same time.
#
# Each service is a file in scripts/services.d/ defining `<name>_install` and `<name>_start`.
# `_start` runs its server in the background, records PIDs with `record_pid`, waits with
# `wait_for_port`, and exports URLs with `export_env`. An optional `<name>_stop` runs before
# the recorded PIDs are stopped, for what a server leaves behind.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${SERVICES_DIR:-$ROOT/.services}
PORT_OFFSET=${SERVICES_PORT_OFFSET:-0}

log() { printf 'services: %s\n' "$*" >&2; }

# Installs Debian packages that are missing. Runs apt-get update at most once per invocation.
APT_UPDATED=0
need_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ "$APT_UPDATED" -eq 0 ]; then
        $sudo apt-get update -qq
        APT_UPDATED=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Remembers a PID to stop later.
record_pid() { echo "$2" >"$STATE/$1.pid"; }

# Appends `export NAME=value` to the env file the test command sources.
export_env() {
    echo "export $1=$2" >>"$STATE/env"
    export "$1=$2"
}

# Makes a certificate authority and a server certificate for 127.0.0.1/localhost in $1
# (ca.pem; server.pem and server.key), valid for a week: for the TLS servers of the tests.
make_test_certificates() {
    local dir=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -subj "/CN=sessions test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 7 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
    chmod 600 "$dir"/*.key
}

# Waits until something accepts TCP connections on 127.0.0.1:$1 (up to $2 seconds, default 60).
wait_for_port() {
    local port=$1 limit=${2:-60} waited=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        sleep 0.2
        waited=$((waited + 1))
        if [ "$waited" -ge $((limit * 5)) ]; then
            log "nothing answers on port $port after ${limit}s"
            return 1
        fi
    done
}

stop_all() {
    shopt -s nullglob
    for name in "${SERVICES[@]}"; do
        if declare -F "${name}_stop" >/dev/null; then "${name}_stop"; fi
    done
    for pidfile in "$STATE"/*.pid; do
        local pid
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -CONT "$pid" 2>/dev/null || true # a test may have paused it
            kill "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    rm -f "$STATE/env"
}

for service in "$ROOT"/scripts/services.d/*.sh; do
    # shellcheck source=/dev/null
    source "$service"
done
SERVICES=()
for service in "$ROOT"/scripts/services.d/*.sh; do
    SERVICES+=("$(basename "$service" .sh)")
done

case "${1:-start}" in
start)
    mkdir -p "$STATE"
    stop_all
    : >"$STATE/env"
    for name in "${SERVICES[@]}"; do "${name}_install"; done
    for name in "${SERVICES[@]}"; do
        log "starting $name"
        "${name}_start"
    done
    log "all services up; URLs in $STATE/env"
    ;;
stop)
    stop_all
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
