//! A server that stops answering: the store gives up within its operation timeout.
//!
//! Pauses the server under test (`SIGSTOP` to `MONGODB_PID`), so it lives in a test binary of
//! its own: cargo runs test binaries one after another, so no other test of this crate sees the
//! pause.

mod common;

use std::error::Error as _;
use std::process::Command;
use std::time::Duration;

use common::{mongodb_url, unique_database};
use sessions_core::{SessionKey, SessionStore, StoreErrorKind};
use sessions_mongo::MongoStore;

const OPERATION_TIMEOUT: Duration = Duration::from_secs(1);

/// Pauses the server; resumes it when dropped, even if the test panics.
struct Paused(String);

impl Paused {
    fn new() -> Self {
        let pid = std::env::var("MONGODB_PID").unwrap_or_else(|_| {
            panic!(
                "MONGODB_PID is not set: run `scripts/services.sh start` and `source .services/env`, \
                 or skip this test with `-- --skip paused` when MONGODB_URL is a server you cannot pause"
            )
        });
        signal(&pid, "-STOP");
        wait_until_stopped(&pid);
        Self(pid)
    }
}

/// `kill` returns once the signal is queued; each of the server's threads stops a moment later.
fn wait_until_stopped(pid: &str) {
    let tasks = format!("/proc/{pid}/task");
    for _ in 0..500 {
        let stopped = std::fs::read_dir(&tasks)
            .expect("the server runs on this machine")
            .all(|task| {
                let status = std::fs::read_to_string(task.unwrap().path().join("status"))
                    .unwrap_or_default();
                status
                    .lines()
                    .any(|line| line.starts_with("State:") && line.contains("stopped"))
            });
        if stopped {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server (PID {pid}) did not stop");
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal(&self.0, "-CONT");
    }
}

fn signal(pid: &str, signal: &str) {
    let status = Command::new("kill")
        .args([signal, pid])
        .status()
        .expect("runs kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

#[tokio::test]
async fn a_paused_server_is_unavailable_and_recovers() {
    let database = unique_database();
    let store = MongoStore::builder(mongodb_url())
        .database(&database)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
        .await
        .unwrap();
    let stored = store
        .create(b"payload", Duration::from_secs(60))
        .await
        .unwrap();

    {
        let _paused = Paused::new();
        // A generous bound: it tells "gave up after the operation timeout" from "hung".
        let err = tokio::time::timeout(Duration::from_secs(20), store.load(stored.key()))
            .await
            .expect("the operation timeout bounds the load")
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
        assert!(err.source().is_some(), "{err:?}");
        let err = store
            .create(b"x", Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    }

    let loaded = store
        .load(stored.key())
        .await
        .expect("the store recovers once the server answers");
    assert_eq!(loaded.unwrap().payload(), b"payload");
    assert_eq!(store.load(&SessionKey::generate()).await.unwrap(), None);
    store
        .collection()
        .client()
        .database(&database)
        .drop()
        .await
        .unwrap();
}
