//! Several servers: sessions spread over a ring of three, and a server that stops answering under
//! load is ejected (only its share of sessions is lost, requests succeed again) and rejoins,
//! flushed, once it answers again. Both transports.
//!
//! The ejection test pauses servers of its own (`MEMCACHED_EJECT_URL`), one transport after the
//! other: pausing a server others use would disturb them.

mod common;

use std::time::{Duration, Instant};

use common::{addresses, holders};
use futures_util::future::join_all;
use sessions_core::{SessionKey, SessionStore};
use sessions_memcached::MemcachedStore;
use sessions_test::{Outage, Sigstop};

const HOUR: Duration = Duration::from_secs(3600);
const SCHEMES: [&str; 2] = ["memcache", "memcache+binary"];

#[tokio::test]
async fn sessions_spread_over_every_server_once() {
    let addresses = addresses(common::RING);
    for scheme in SCHEMES {
        let store = common::ring_builder(common::RING, scheme).build().unwrap();
        let mut per_server = vec![0; addresses.len()];
        for _ in 0..60 {
            let created = store.create(b"spread", HOUR).await.unwrap();
            let found = holders(&addresses, created.key()).await;
            assert_eq!(found.len(), 1, "{scheme}: on {found:?}");
            per_server[found[0]] += 1;
        }
        assert!(
            per_server.iter().all(|&n| n > 0),
            "{scheme}: {per_server:?}"
        );
    }
}

/// Settings short enough for a quick test.
const EJECT_AFTER: u32 = 2;
const RETRY_INTERVAL: Duration = Duration::from_millis(800);
const TIMEOUT: Duration = Duration::from_millis(300);
/// Concurrent clients, and the requests each sends during the outage.
const CLIENTS: usize = 8;
const REQUESTS: usize = 150;
/// The pause between a client's requests, so the load spans a few retry intervals.
const THINK: Duration = Duration::from_millis(10);
/// A bound on the whole loop, so a hang fails instead of blocking the suite.
const LIMIT: Duration = Duration::from_secs(60);

fn eject_store(scheme: &str) -> MemcachedStore {
    common::ring_builder(common::EJECT, scheme)
        .eject_after(EJECT_AFTER)
        .retry_interval(RETRY_INTERVAL)
        .connect_timeout(TIMEOUT)
        .io_timeout(TIMEOUT)
        .build()
        .unwrap()
}

/// Sessions created before the outage, with the server that holds each.
struct Placed {
    key: SessionKey,
    payload: Vec<u8>,
    server: usize,
}

async fn place_sessions(store: &MemcachedStore, addresses: &[String]) -> Vec<Placed> {
    let mut placed = Vec::new();
    for _ in 0..30 {
        let payload = common::unique_payload();
        let created = store.create(&payload, HOUR).await.unwrap();
        let found = holders(addresses, created.key()).await;
        assert_eq!(found.len(), 1);
        placed.push(Placed {
            key: created.key().clone(),
            payload,
            server: found[0],
        });
    }
    placed
}

/// What the clients saw during the outage.
#[derive(Debug, Default)]
struct Seen {
    errors: usize,
    /// Loads of the paused server's sessions that found nothing (the session is lost).
    lost: usize,
    /// Time from the pause to the last error.
    window: Duration,
}

#[test]
fn a_paused_server_is_ejected_then_rejoins() {
    sessions_test::run(async {
        let addresses = addresses(common::EJECT);
        for scheme in SCHEMES {
            eject_and_rejoin(scheme, &addresses).await;
        }
    });
}

async fn eject_and_rejoin(scheme: &str, addresses: &[String]) {
    let paused_server = addresses.len() - 1;
    let pid = common::pid(&format!("MEMCACHED_EJECT_{paused_server}_PID"));
    let store = eject_store(scheme);
    let placed = place_sessions(&store, addresses).await;
    assert!(
        placed.iter().any(|p| p.server == paused_server),
        "{scheme}: none on the paused server"
    );

    let outage = Sigstop(pid);
    let seen = {
        let _paused = Paused::new(outage);
        let seen = under_load(&store, &placed, paused_server).await;
        // Sessions created meanwhile go to the servers still in the ring.
        for _ in 0..10 {
            let created = store.create(b"during", HOUR).await.unwrap();
            assert_eq!(
                store.load(created.key()).await.unwrap().unwrap().payload(),
                b"during"
            );
        }
        seen
    };
    println!(
        "{scheme}: {} errors in {} requests, the last {:?} after the pause; {} loads of the paused server's sessions found nothing",
        seen.errors,
        CLIENTS * REQUESTS,
        seen.window,
        seen.lost
    );
    // Before the ejection, each client may fail up to EJECT_AFTER times; afterwards only the
    // probes fail (one per retry interval).
    let probes = seen.window.as_millis() / RETRY_INTERVAL.as_millis() + 1;
    let bound = CLIENTS * usize::try_from(EJECT_AFTER).unwrap() + usize::try_from(probes).unwrap();
    assert!(
        seen.errors <= bound,
        "{scheme}: {seen:?}, at most {bound} expected"
    );
    assert!(
        seen.lost > 0,
        "{scheme}: the paused server's sessions were never skipped"
    );

    rejoins(&store, &placed, paused_server, addresses, scheme).await;
}

/// `CLIENTS` clients each load every placed session in turn, `REQUESTS` loads each. Sessions of
/// the other servers must always load; the paused server's may fail (before its ejection,
/// and each probe) or be missing (while it is out).
async fn under_load(store: &MemcachedStore, placed: &[Placed], paused_server: usize) -> Seen {
    let paused_at = Instant::now();
    let clients = (0..CLIENTS).map(|client| async move {
        let mut seen = Seen::default();
        for request in 0..REQUESTS {
            assert!(
                paused_at.elapsed() < LIMIT,
                "the requests took longer than {LIMIT:?}"
            );
            let session = &placed[(client * 7 + request) % placed.len()];
            match store.load(&session.key).await {
                Ok(Some(found)) => assert_eq!(found.payload(), session.payload),
                Ok(None) => {
                    assert_eq!(
                        session.server, paused_server,
                        "a session of a running server was lost"
                    );
                    seen.lost += 1;
                }
                Err(err) => {
                    assert_eq!(
                        session.server, paused_server,
                        "a running server's session failed: {err:?}"
                    );
                    seen.errors += 1;
                    seen.window = paused_at.elapsed();
                }
            }
            tokio::time::sleep(THINK).await;
        }
        seen
    });
    join_all(clients)
        .await
        .into_iter()
        .fold(Seen::default(), |total, seen| Seen {
            errors: total.errors + seen.errors,
            lost: total.lost + seen.lost,
            window: total.window.max(seen.window),
        })
}

/// After the server resumes it rejoins within a few retry intervals, flushed first: the
/// sessions it held before its ejection are gone (they had been lost to their users since the
/// ejection, and one may have been logged out meanwhile), and every other server's sessions are
/// still found.
async fn rejoins(
    store: &MemcachedStore,
    placed: &[Placed],
    paused_server: usize,
    addresses: &[String],
    scheme: &str,
) {
    let resumed_at = Instant::now();
    loop {
        assert!(
            resumed_at.elapsed() < LIMIT,
            "{scheme}: the server did not rejoin"
        );
        let created = store.create(b"after", HOUR).await.unwrap();
        if holders(addresses, created.key()).await == [paused_server] {
            break;
        }
        tokio::time::sleep(RETRY_INTERVAL / 4).await;
    }
    println!(
        "{scheme}: rejoined {:?} after the server resumed",
        resumed_at.elapsed()
    );
    for session in placed {
        let found = store.load(&session.key).await.unwrap();
        if session.server == paused_server {
            assert!(
                found.is_none(),
                "{scheme}: a session from before the ejection came back with its server"
            );
        } else {
            assert_eq!(
                found.unwrap().payload(),
                session.payload,
                "{scheme}: after the rejoin"
            );
        }
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
