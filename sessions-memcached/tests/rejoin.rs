//! A server that rejoins the ring after an ejection must not bring back what it held before:
//! a session logged out while its server was ejected was deleted on the server that stood in,
//! so the old record is still on the ejected one. Both transports, on a ring of three servers
//! of its own (`MEMCACHED_REJOIN_URL`), one of which the test pauses with `SIGSTOP`.

mod common;

use std::time::{Duration, Instant};

use common::{addresses, holders};
use sessions_core::{SessionKey, SessionStore};
use sessions_memcached::MemcachedStore;
use sessions_test::{Outage, Sigstop};

const HOUR: Duration = Duration::from_secs(3600);
const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];

/// Settings short enough for a quick test.
const EJECT_AFTER: u32 = 1;
const RETRY_INTERVAL: Duration = Duration::from_millis(400);
const TIMEOUT: Duration = Duration::from_millis(250);
/// A bound on each wait, so a hang fails instead of blocking the suite.
const LIMIT: Duration = Duration::from_secs(30);

fn rejoin_store(scheme: &str) -> MemcachedStore {
    common::ring_builder(common::REJOIN, scheme)
        .eject_after(EJECT_AFTER)
        .retry_interval(RETRY_INTERVAL)
        .connect_timeout(TIMEOUT)
        .io_timeout(TIMEOUT)
        .build()
        .unwrap()
}

#[test]
fn a_session_logged_out_while_its_server_was_ejected_stays_logged_out() {
    sessions_test::run(async {
        let addresses = addresses(common::REJOIN);
        for scheme in SCHEMES {
            logged_out_stays_logged_out(scheme, &addresses).await;
        }
    });
}

async fn logged_out_stays_logged_out(scheme: &str, addresses: &[String]) {
    let store = rejoin_store(scheme);
    // A second application instance, which sends nothing while the server is paused, so it
    // never ejects it: it must not find the logged-out session either once the first
    // instance has let the server rejoin.
    let other_instance = rejoin_store(scheme);
    let session = store.create(b"signed in", HOUR).await.unwrap();
    let session = session.key().clone();
    let holding = holders(addresses, &session).await;
    let [owner] = holding[..] else {
        panic!("{scheme}: the session is on {holding:?}")
    };

    {
        let _paused = Paused::new(Sigstop(common::pid(&format!(
            "MEMCACHED_REJOIN_{owner}_PID"
        ))));
        wait_until_ejected(&store, &session, scheme).await;
        // The logout: it lands on the server standing in, which has no copy.
        store.delete(&session).await.unwrap();
    }

    wait_until_rejoined(&store, &session, owner, addresses, scheme).await;
    for instance in [&store, &other_instance] {
        assert!(
            instance.load(&session).await.unwrap().is_none(),
            "{scheme}: the logged-out session came back after its server rejoined"
        );
    }
    assert!(
        holders(addresses, &session).await.is_empty(),
        "{scheme}: the old record is still on a server"
    );
}

/// Loads the session until its server, paused, is ejected: the load then goes to the next
/// server, which has no copy.
async fn wait_until_ejected(store: &MemcachedStore, session: &SessionKey, scheme: &str) {
    let paused_at = Instant::now();
    loop {
        assert!(
            paused_at.elapsed() < LIMIT,
            "{scheme}: the server was never ejected"
        );
        if let Ok(None) = store.load(session).await {
            return;
        }
    }
}

/// Creates sessions until one lands on `owner` again: it has rejoined. The logged-out session
/// must not load at any point on the way.
async fn wait_until_rejoined(
    store: &MemcachedStore,
    session: &SessionKey,
    owner: usize,
    addresses: &[String],
    scheme: &str,
) {
    let resumed_at = Instant::now();
    loop {
        assert!(
            resumed_at.elapsed() < LIMIT,
            "{scheme}: the server did not rejoin"
        );
        if let Ok(Some(_)) = store.load(session).await {
            panic!("{scheme}: the logged-out session came back when its server answered again");
        }
        let created = store.create(b"after", HOUR).await.unwrap();
        if holders(addresses, created.key()).await == [owner] {
            return;
        }
        tokio::time::sleep(RETRY_INTERVAL / 8).await;
    }
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
