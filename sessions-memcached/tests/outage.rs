//! A server that stops answering (SIGSTOP) and comes back (SIGCONT): requests fail with
//! `Unavailable` within the timeout meanwhile, and afterwards succeed with the right data (no
//! reply meant for an abandoned request is read as another's).
//!
//! One test, in its own binary: pausing the shared plain server must not overlap other tests.

mod common;

use std::process::Command;
use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreErrorKind};

/// Pauses a process; resumes it when dropped, even if the test fails.
struct Paused(String);

impl Paused {
    fn new(pid: String) -> Self {
        signal("-STOP", &pid);
        Self(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
    }
}

fn signal(signal: &str, pid: &str) {
    let status = Command::new("kill")
        .args([signal, pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

#[tokio::test]
async fn paused_server_is_unavailable_then_recovers() {
    let pid = std::env::var("MEMCACHED_PID").unwrap_or_else(|_| {
        panic!("MEMCACHED_PID is not set: run `scripts/services.sh start` and `source .services/env` first")
    });
    for url in [common::url(common::PLAIN), common::plain_binary_url()] {
        let store = common::builder(&url)
            .io_timeout(Duration::from_millis(500))
            .pool_size(2)
            .build()
            .unwrap();
        let kept = store
            .create(b"kept", Duration::from_secs(600))
            .await
            .unwrap();
        {
            let _paused = Paused::new(pid.clone());
            for _ in 0..3 {
                let err = tokio::time::timeout(Duration::from_secs(30), store.load(kept.key()))
                    .await
                    .expect("the request hung")
                    .unwrap_err();
                assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{url}: {err:?}");
            }
        }
        // The abandoned requests' replies arrive now; none may be taken for these.
        let other = store
            .create(b"other", Duration::from_secs(600))
            .await
            .unwrap();
        assert_eq!(
            store.load(kept.key()).await.unwrap().unwrap().payload(),
            b"kept",
            "{url}"
        );
        assert_eq!(
            store.load(other.key()).await.unwrap().unwrap().payload(),
            b"other",
            "{url}"
        );
        assert_eq!(
            store.load(&SessionKey::generate()).await.unwrap(),
            None,
            "{url}"
        );
    }
}
