//! The `SessionStore` contract, called directly (the other cases go through the middleware).

use std::time::{Duration, Instant};

use actix_web::rt::time::sleep_until;
use sessions_core::{SessionKey, SessionStore, Version};

use crate::cases::skip;
use crate::{Capabilities, StoreFactory};

const LONG: Duration = Duration::from_secs(600);

/// Payloads come back byte for byte (empty, every byte value, 64 KiB); unknown keys load as `None`.
pub async fn store_round_trips_payloads<F: StoreFactory>(factory: F, caps: Capabilities) {
    let store = factory.make().await;
    let every_byte: Vec<u8> = (0..=255).collect();
    let large = vec![
        0xa5;
        if caps.server_side {
            caps.large_value
        } else {
            1000
        }
    ];
    for payload in [&b""[..], b"x", &every_byte, &large] {
        let stored = store.create(payload, LONG).await.unwrap();
        let loaded = store
            .load(stored.key())
            .await
            .unwrap()
            .expect("a created record loads");
        assert_eq!(
            loaded.payload(),
            payload,
            "payload of {} bytes changed",
            payload.len()
        );
        assert_eq!(loaded.version(), stored.version());
    }
    if caps.server_side {
        assert!(store.load(&SessionKey::generate()).await.unwrap().is_none());
    }
}

/// `update` writes only from the current version; stale versions and deleted records conflict.
pub async fn store_update_is_compare_and_set<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.compare_and_set {
        return skip(
            "store_update_is_compare_and_set",
            "the store has no compare-and-set",
        );
    }
    let store = factory.make().await;
    let created = store.create(b"v1", LONG).await.unwrap();
    let key = created.key();
    let second = store
        .update(key, b"v2", LONG, created.version())
        .await
        .unwrap();
    assert_eq!(second.key(), key);
    assert_ne!(
        second.version(),
        created.version(),
        "an update kept the version"
    );
    let stale = store.update(key, b"stale", LONG, created.version()).await;
    assert!(
        stale.is_err_and(|e| e.is_conflict()),
        "an update from a stale version succeeded"
    );
    let loaded = store.load(key).await.unwrap().unwrap();
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"v2"[..], second.version())
    );
    store.delete(key).await.unwrap();
    let gone = store.update(key, b"again", LONG, second.version()).await;
    assert!(
        gone.is_err_and(|e| e.is_conflict()),
        "an update of a deleted record succeeded"
    );
    assert!(
        store.load(key).await.unwrap().is_none(),
        "an update recreated a deleted record"
    );
    let made_up = store
        .update(&SessionKey::generate(), b"x", LONG, Version::new(1))
        .await;
    assert!(made_up.is_err_and(|e| e.is_conflict()));
}

/// `touch` extends the TTL without changing payload or version; touching a missing record is fine.
pub async fn store_touch_extends_the_ttl<F: StoreFactory>(factory: F, caps: Capabilities) {
    let store = factory.make().await;
    let created = store.create(b"payload", caps.ttl).await.unwrap();
    let start = Instant::now();
    let key = store.touch(created.key(), LONG).await.unwrap();
    sleep_until((start + caps.surely_expired()).into()).await;
    let loaded = store
        .load(&key)
        .await
        .unwrap()
        .expect("a touched record expired at its old TTL");
    assert_eq!(loaded.payload(), b"payload");
    if caps.compare_and_set {
        assert_eq!(
            loaded.version(),
            created.version(),
            "touch changed the version"
        );
    }
    if caps.server_side {
        let missing = SessionKey::generate();
        store.touch(&missing, LONG).await.unwrap();
        assert!(
            store.load(&missing).await.unwrap().is_none(),
            "touch created a record"
        );
    }
}

/// `delete` removes the record; deleting again, or a key that never existed, succeeds.
pub async fn store_delete_is_idempotent<F: StoreFactory>(factory: F, caps: Capabilities) {
    if !caps.server_side {
        return skip(
            "store_delete_is_idempotent",
            "a client-side store has nothing to delete",
        );
    }
    let store = factory.make().await;
    let kept = store.create(b"kept", LONG).await.unwrap();
    let doomed = store.create(b"doomed", LONG).await.unwrap();
    store.delete(doomed.key()).await.unwrap();
    assert!(store.load(doomed.key()).await.unwrap().is_none());
    store.delete(doomed.key()).await.unwrap();
    store.delete(&SessionKey::generate()).await.unwrap();
    assert_eq!(
        store.load(kept.key()).await.unwrap().unwrap().payload(),
        b"kept"
    );
}
