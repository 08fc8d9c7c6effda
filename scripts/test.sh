#!/usr/bin/env bash
# Runs every test of the workspace against real servers (Redis, Memcached, a MongoDB-protocol
# server), which it installs if missing, starts on private ports, and stops at the end.
#
#   scripts/test.sh               all tests (unit, conformance suite, doc-tests, examples)
#   scripts/test.sh -E 'test(ttl)' extra arguments go to cargo nextest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Codec features are tested too, and Redis and Memcached over TLS (rustls); everything else runs with
# default features.
FEATURES=(--features sessions-core/json,sessions-core/postcard,sessions-core/metrics,sessions-redis/tls-rustls,sessions-redis/actix-session,sessions-memcached/tls-rustls)

started=$SECONDS
scripts/services.sh start
echo "test.sh: services installed and started in $((SECONDS - started))s"
trap 'scripts/services.sh stop' EXIT
# shellcheck source=/dev/null
source .services/env

if command -v cargo-nextest >/dev/null; then
    # One process per test: the TTL cases sleep, and run in parallel this way.
    cargo nextest run --workspace "${FEATURES[@]}" --no-fail-fast "$@"
else
    cargo test --workspace "${FEATURES[@]}" --no-fail-fast --lib --bins --tests "$@"
fi
cargo test --workspace "${FEATURES[@]}" --doc
# The /incr examples over real HTTP; same features, so nothing is rebuilt for them.
scripts/check-examples.sh "${FEATURES[@]}"
