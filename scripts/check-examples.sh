#!/usr/bin/env bash
# Runs each /incr example against the test servers and checks that one client's counts go
# 0, 1, 2 — the original README's demo, end to end over real HTTP with curl's cookie jar — and,
# where an example has it, that 20 concurrent /incr-atomic requests of one client all count.
# Expects the URLs from `scripts/services.sh start` in the environment (scripts/test.sh does it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The examples listen on PORT; 8000 unless EXAMPLES_PORT says otherwise.
port=${EXAMPLES_PORT:-8000}

# example  environment: the URL variable the example reads, taken from the test services
EXAMPLES=(
    "example-memstore"
    "example-cookie"
    "example-redis REDIS_URL=${REDIS_URL:-}"
    "example-memcached MEMCACHED_URL=${MEMCACHED_RING_URL:-${MEMCACHED_URL:-}}"
    "example-memcached-binary MEMCACHED_SASL_URL=${MEMCACHED_SASL_URL:-}"
    "example-mongo MONGODB_URL=${MONGODB_URL:-}"
)

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
packages=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))')

# The whole workspace's binaries, tests included: the same packages and features as
# `cargo test --workspace`, so the dependencies built for the tests are reused and only the
# binaries themselves compile (`-p example-…` would resolve other features and rebuild most
# dependencies).
cargo build --workspace --bins --tests "$@"

jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
failed=0
for entry in "${EXAMPLES[@]}"; do
    read -r name env <<<"$entry"
    [[ " $packages " == *" $name "* ]] || continue
    rm -f "$jar"
    # shellcheck disable=SC2086
    env PORT="$port" $env "$target_dir/debug/$name" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "localhost:$port/" 2>/dev/null && break
        sleep 0.1
    done
    counts=$(for _ in 1 2 3; do curl -s -c "$jar" -b "$jar" "localhost:$port/incr"; echo; done | tr -d '\n')
    atomic=skipped
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" "localhost:$port/incr-atomic")" = 200 ]; then
        # The first call above counted 0; twenty at once count 1..20; the next one says 21.
        for _ in $(seq 1 20); do curl -s -o /dev/null -b "$jar" "localhost:$port/incr-atomic" & done
        wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null || true
        atomic=$(curl -s -b "$jar" "localhost:$port/incr-atomic")
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$counts" != '{"count":0}{"count":1}{"count":2}' ]; then
        echo "$name: FAILED, got: $counts"
        failed=1
    elif [ "$atomic" != skipped ] && [ "$atomic" != '{"count":21}' ]; then
        echo "$name: /incr-atomic FAILED, 20 concurrent increments then one more gave $atomic"
        failed=1
    else
        echo "$name: ok${atomic:+ (/incr-atomic: $atomic)}"
    fi
done
exit $failed
