use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::StatusCode;
use sessions_core::testing::{clear_forced_keys, force_next_keys};
use sessions_core::{SessionConfig, SessionKey, SessionStore};

use crate::cases::{single, skip};
use crate::{Capabilities, Counting, StoreFactory, Switchable, client};

const TTL: Duration = Duration::from_secs(60);

/// `create` never overwrites a live record: on a taken key it moves on to a fresh one.
pub async fn create_never_overwrites<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.server_side {
        return skip(
            "create_never_overwrites",
            "a client-side store has no shared key space",
        );
    }
    let store = factory.make().await;
    let taken = SessionKey::generate();
    let free = SessionKey::generate();
    force_next_keys([taken.clone()]);
    let first = store.create(b"first", TTL).await.unwrap();
    assert_eq!(
        first.key(),
        &taken,
        "the store does not take its keys from SessionKey::generate"
    );
    force_next_keys([taken.clone(), free.clone()]);
    let second = store.create(b"second", TTL).await.unwrap();
    clear_forced_keys();
    assert_eq!(second.key(), &free, "create reused a taken key");
    assert_eq!(
        store.load(&taken).await.unwrap().unwrap().payload(),
        b"first",
        "create overwrote a session"
    );
    assert_eq!(
        store.load(&free).await.unwrap().unwrap().payload(),
        b"second"
    );
}

/// Two requests on one session, changing different keys at the same time, both keep their
/// change: the later save conflicts, reloads, replays its change and retries.
pub async fn concurrent_changes_to_different_keys_all_survive<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.compare_and_set {
        return skip(
            "concurrent_changes_to_different_keys_all_survive",
            "the store has no compare-and-set",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=start&value=0").await;
    let parked = c.ok("/parked?do=set&key=a&value=1");
    let other = async {
        barriers.loaded.notified().await;
        c.ok("/set?key=b&value=2").await;
        barriers.proceed.notify_one();
    };
    futures_util::future::join(parked, other).await;
    for (key, value) in [("start", "0"), ("a", "1"), ("b", "2")] {
        let got = c
            .ok(&format!("/get?key={key}"))
            .await
            .json::<Option<String>>();
        assert_eq!(
            got.as_deref(),
            Some(value),
            "lost the concurrent write to {key}"
        );
    }
}

/// A request whose handler never touches the session costs no store call at all.
pub async fn untouched_request_makes_no_store_call<F: StoreFactory>(factory: F, _: Capabilities) {
    let store = Counting::new(factory.make().await);
    let counts = store.counts();
    let (c, _) = client(single(SessionConfig::new(store))).await;
    let before = counts.total();
    c.ok("/untouched").await;
    c.ok("/set?key=a&value=1").await;
    let after_set = counts.total();
    assert!(after_set > before, "the counting store saw no write");
    let reply = c.ok("/untouched").await;
    assert_eq!(
        counts.total(),
        after_set,
        "a request that ignored its session called the store"
    );
    assert!(reply.set_cookies.is_empty());
}

/// Reading a session without changing it writes nothing and sends no cookie.
pub async fn read_only_request_writes_nothing<F: StoreFactory>(factory: F, _: Capabilities) {
    let store = Counting::new(factory.make().await);
    let counts = store.counts();
    let (c, _) = client(single(SessionConfig::new(store))).await;
    c.ok("/set?key=a&value=1").await;
    let (reads, writes) = (counts.reads(), counts.writes());
    let reply = c.ok("/get?key=a").await;
    assert_eq!(reply.json::<Option<String>>().as_deref(), Some("1"));
    assert_eq!(counts.reads(), reads + 1);
    assert_eq!(
        counts.writes(),
        writes,
        "a read-only request wrote to the store"
    );
    assert!(
        reply.set_cookies.is_empty(),
        "a read-only request sent a cookie"
    );
}

/// While the store is down, requests that need the session get an empty 500; once it is back,
/// the same cookie works again and nothing was lost.
pub async fn store_outage_answers_empty_500_and_recovers<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let store = Switchable::new(factory.make().await);
    let switch = store.switch();
    let (c, _) = client(single(SessionConfig::new(store))).await;
    c.ok("/set?key=user&value=ann").await;
    switch.store(false, Ordering::Relaxed);
    for path in ["/get?key=user", "/set?key=user&value=eve"] {
        let reply = c.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path} during the outage"
        );
        assert!(
            reply.body.is_empty(),
            "the error response leaks {:?}",
            reply.body
        );
        assert!(reply.set_cookies.is_empty());
    }
    assert_eq!(
        c.get("/untouched").await.status,
        StatusCode::OK,
        "a route without sessions failed"
    );
    switch.store(true, Ordering::Relaxed);
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
    c.ok("/set?key=user&value=bob").await;
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("bob")
    );
}
