//! The conformance suite against Redis (REDIS_URL).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sessions_redis::RedisStore;
use sessions_test::Capabilities;

/// A store with a key prefix of its own, so that each store the suite makes keeps its records
/// apart from the other tests' in the shared Redis.
fn isolated_store() -> RedisStore {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "REDIS_URL is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    });
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!(
        "suite:{}:{started}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    RedisStore::builder(url)
        .key_prefix(prefix)
        .build()
        .expect("REDIS_URL is a valid Redis URL")
}

sessions_test::suite!(|| async { isolated_store() }, Capabilities::server_side());
