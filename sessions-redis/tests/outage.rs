//! Redis stops answering while the app runs (SIGSTOP), then comes back (SIGCONT): requests that
//! need the session get an empty 500 within the store's timeouts, and afterwards the same
//! session is there again without restarting the app.
//!
//! Runs against a Redis of its own (REDIS_OUTAGE_URL, REDIS_OUTAGE_PID): pausing the shared one
//! would stall the tests running beside these. The tests here take turns with a file lock, as
//! the test runner may start them in parallel processes.

use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use sessions_core::{SessionKey, SessionStore as _};
use sessions_redis::{RedisStore, RedisStoreBuilder};
use sessions_test::{Sigstop, check_outage};

/// The store's timeouts, short so the tests are quick.
const TIMEOUT: Duration = Duration::from_millis(500);

/// How long one request may take during the outage before the test calls it a hang: a
/// generous multiple of the timeouts a request can run into (idle check, connect, response).
const LIMIT: Duration = Duration::from_secs(20);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    })
}

/// The outage server, held for this test alone until the returned lock is dropped.
fn outage_server() -> (Sigstop, File) {
    let pid = env("REDIS_OUTAGE_PID");
    let lock = std::env::temp_dir().join(format!("sessions-redis-outage-{pid}.lock"));
    let lock = File::create(&lock).unwrap_or_else(|e| panic!("create {}: {e}", lock.display()));
    lock.lock().expect("lock the outage server");
    let pid = pid.parse().expect("REDIS_OUTAGE_PID is a process id");
    (Sigstop(pid), lock)
}

fn builder() -> RedisStoreBuilder {
    RedisStore::builder(env("REDIS_OUTAGE_URL"))
        .connect_timeout(TIMEOUT)
        .io_timeout(TIMEOUT)
}

#[test]
fn paused_redis_answers_empty_500s_then_recovers_with_its_sessions() {
    let (outage, _lock) = outage_server();
    let store = builder()
        .build()
        .expect("REDIS_OUTAGE_URL is a valid Redis URL");
    sessions_test::run(async { check_outage(store, &outage, LIMIT).await });
}

/// A connection that is checked before every command (idle past `ping_after_idle`), with many
/// calls in flight on it: each check against the paused server times out, the connection is
/// replaced, opening the replacement times out too, and every request still fails within the
/// bound.
#[test]
fn paused_redis_with_checked_connections_answers_empty_500s_then_recovers() {
    let (outage, _lock) = outage_server();
    let store = builder()
        .ping_after_idle(Duration::ZERO)
        .build()
        .map(Arc::new)
        .expect("REDIS_OUTAGE_URL is a valid Redis URL");
    sessions_test::run(async {
        let key = SessionKey::generate();
        let loads = (0..64).map(|_| store.load(&key));
        for loaded in futures_util::future::join_all(loads).await {
            loaded.expect("Redis answers before the outage");
        }
        check_outage(store, &outage, LIMIT).await;
    });
}
