//! A server that stops answering (SIGSTOP) and comes back (SIGCONT), once per protocol:
//!
//! - the store: requests fail with `Unavailable` within the timeout meanwhile, and afterwards
//!   succeed with the right data (no reply meant for an abandoned request is read as another's);
//! - an app behind the middleware (`sessions_test::check_outage`): empty 500s meanwhile, no hang,
//!   and afterwards the same cookie finds the same session, without restarting the app.
//!
//! Each protocol has a server of its own that no other test uses (`MEMCACHED_OUTAGE_URL`,
//! `MEMCACHED_OUTAGE_BINARY_URL`): pausing a shared server would stall the tests running beside
//! these. The two checks on one server run one after the other in a single test, since one's
//! `SIGCONT` would end the other's outage early.

mod common;

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreErrorKind};
use sessions_memcached::MemcachedStore;
use sessions_test::{Outage, Sigstop, check_outage};

/// The store's timeouts: short, so the test is quick.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How long a request may take during the outage before it counts as hung: a generous multiple
/// of [`TIMEOUT`], so a slow machine does not fail the test.
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn text_protocol_outage() {
    sessions_test::run(outage(common::OUTAGE, "MEMCACHED_OUTAGE_PID"));
}

#[test]
fn binary_protocol_outage() {
    sessions_test::run(outage(common::OUTAGE_BINARY, "MEMCACHED_OUTAGE_BINARY_PID"));
}

async fn outage(url_var: &str, pid_var: &str) {
    let url = common::url(url_var);
    let server = Sigstop(common::pid(pid_var));
    store_outage(&url, server).await;
    check_outage(store(&url), &server, LIMIT).await;
}

fn store(url: &str) -> MemcachedStore {
    common::builder(url)
        .connect_timeout(TIMEOUT)
        .io_timeout(TIMEOUT)
        .build()
        .expect("valid settings")
}

/// Pauses the server; resumes it when dropped, even if the test fails.
struct Paused(Sigstop);

impl Paused {
    fn new(server: Sigstop) -> Self {
        server.begin();
        Self(server)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.0.end();
    }
}

async fn store_outage(url: &str, server: Sigstop) {
    let store = store(url);
    let kept = store
        .create(b"kept", Duration::from_secs(600))
        .await
        .unwrap();
    {
        let _paused = Paused::new(server);
        for _ in 0..3 {
            let err = tokio::time::timeout(LIMIT, store.load(kept.key()))
                .await
                .unwrap_or_else(|_| panic!("{url}: a load hung for {LIMIT:?}"))
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
