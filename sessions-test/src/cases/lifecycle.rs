use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::rt::time::sleep_until;
use sessions_core::testing::holds_session;
use sessions_core::{Lifecycle, SessionConfig, SessionKey, SessionStore, TtlExtensionPolicy};

use crate::cases::{single, skip};
use crate::{Capabilities, StoreFactory, client};

fn at(start: Instant, offset: std::time::Duration) -> actix_web::rt::time::Instant {
    (start + offset).into()
}

/// A session not written for longer than its TTL is gone; reading it does not extend it.
pub async fn ttl_expiry<F: StoreFactory>(factory: F, caps: Capabilities) {
    let config =
        SessionConfig::new(factory.make().await).lifecycle(Lifecycle::browser_session(caps.ttl));
    let (c, _) = client(single(config)).await;
    c.ok("/set?key=a&value=1").await;
    let written = Instant::now();
    sleep_until(at(written, caps.surely_alive())).await;
    assert_eq!(
        c.ok("/get?key=a").await.json::<Option<String>>().as_deref(),
        Some("1"),
        "expired too early"
    );
    sleep_until(at(written, caps.surely_expired())).await;
    assert_eq!(
        c.ok("/get?key=a").await.json::<Option<String>>(),
        None,
        "still there after the TTL"
    );
}

/// With the rolling policy, a session read often enough outlives its TTL many times over.
pub async fn rolling_ttl_keeps_active_sessions<F: StoreFactory>(factory: F, caps: Capabilities) {
    let config = SessionConfig::new(factory.make().await)
        .lifecycle(Lifecycle::browser_session(caps.ttl))
        .ttl_extension(TtlExtensionPolicy::OnEveryRequest);
    let (c, _) = client(single(config)).await;
    c.ok("/set?key=a&value=1").await;
    let written = Instant::now();
    let mut last = written;
    while last.duration_since(written) <= caps.surely_expired() {
        sleep_until(at(last, caps.surely_alive())).await;
        last = Instant::now();
        let value = c.ok("/get?key=a").await.json::<Option<String>>();
        assert_eq!(
            value.as_deref(),
            Some("1"),
            "rolling session expired after {:?}",
            written.elapsed()
        );
    }
}

/// `renew` moves the state to a new key; the old cookie no longer loads it.
pub async fn renew_moves_state_to_a_new_key<F: StoreFactory>(factory: F, caps: Capabilities) {
    let store = Arc::new(factory.make().await);
    let (c, _) = client(single(SessionConfig::new(Arc::clone(&store)))).await;
    c.ok("/set?key=user&value=ann").await;
    let old_cookie = c.cookie("id").unwrap();
    let old_id = c.ok("/id").await.json::<Option<String>>();
    let reply = c.ok("/renew").await;
    let new_cookie = reply
        .set_cookie("id")
        .expect("renew sets a new cookie")
        .cookie
        .value()
        .to_owned();
    assert_ne!(new_cookie, old_cookie);
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
    if !caps.server_side {
        return skip(
            "renew_moves_state_to_a_new_key",
            "client-side state cannot be revoked",
        );
    }
    let new_id = c.ok("/id").await.json::<Option<String>>();
    assert!(
        new_id.is_some() && new_id != old_id,
        "the session id did not change"
    );
    let old_key = SessionKey::from_bytes(old_id.expect("server-side sessions have an id")).unwrap();
    let old_record = store.load(&old_key).await.unwrap();
    assert!(
        old_record.is_none_or(|old| !holds_session(old.payload())),
        "the old record still holds the session after the renewal"
    );
    c.set_cookie("id", Some(&old_cookie));
    assert_eq!(
        c.ok("/get?key=user").await.json::<Option<String>>(),
        None,
        "the old cookie still works"
    );
}

/// `purge` deletes the record and sends a removal cookie with the same Path and Domain.
pub async fn purge_removes_record_and_cookie<F: StoreFactory>(factory: F, caps: Capabilities) {
    let store = Arc::new(factory.make().await);
    let config = SessionConfig::new(Arc::clone(&store))
        .cookie_path("/")
        .cookie_domain("example.com");
    let (c, _) = client(single(config)).await;
    c.ok("/set?key=user&value=ann").await;
    let old_cookie = c.cookie("id").unwrap();
    let id = c.ok("/id").await.json::<Option<String>>();
    let reply = c.ok("/purge").await;
    let removal = reply
        .set_cookie("id")
        .expect("purge sends a removal cookie");
    assert!(removal.is_removal(), "not a removal: {:?}", removal.cookie);
    assert_eq!(removal.cookie.path(), Some("/"));
    assert_eq!(removal.cookie.domain(), Some("example.com"));
    assert!(c.cookie("id").is_none());
    assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
    if !caps.server_side {
        return skip(
            "purge_removes_record_and_cookie",
            "client-side state cannot be revoked",
        );
    }
    let key = SessionKey::from_bytes(id.expect("server-side sessions have an id")).unwrap();
    let record = store.load(&key).await.unwrap();
    assert!(
        record.is_none_or(|record| !holds_session(record.payload())),
        "the record still holds the session after the purge"
    );
    c.set_cookie("id", Some(&old_cookie));
    assert_eq!(
        c.ok("/get?key=user").await.json::<Option<String>>(),
        None,
        "the purged cookie still works"
    );
}

/// What a request stores after `purge` lands in a brand-new session ("logged out" flashes).
pub async fn purge_then_flash_starts_a_new_session<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let old_cookie = c.cookie("id").unwrap();
    let reply = c.ok("/purge?flash=bye").await;
    let set = reply
        .set_cookie("id")
        .expect("a cookie for the new session");
    assert!(!set.is_removal());
    assert_ne!(set.cookie.value(), old_cookie);
    assert_eq!(c.ok("/flashes").await.json::<Vec<String>>(), ["bye"]);
    assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
}

/// An absolute lifetime ends a session however active it is: a rolling TTL keeps it alive
/// until then, a renewal does not extend it, and afterwards it reads as a fresh session.
pub async fn max_lifetime_ends_active_sessions<F: StoreFactory>(factory: F, caps: Capabilities) {
    // Whole seconds: the creation time is kept in seconds.
    let lifetime = (caps.ttl * 2).max(Duration::from_secs(2));
    let config = SessionConfig::new(factory.make().await)
        .lifecycle(Lifecycle::browser_session(caps.ttl))
        .ttl_extension(TtlExtensionPolicy::OnEveryRequest)
        .max_lifetime(lifetime);
    let (c, _) = client(single(config)).await;
    c.ok("/set?key=a&value=1").await;
    let created = Instant::now();
    // Up to a second of rounding (creation time in seconds) and the store's granularity.
    let slack = Duration::from_secs(1) + caps.ttl_granularity;
    let mut renewed = false;
    let mut last = created;
    while last.duration_since(created) + caps.surely_alive() < lifetime.saturating_sub(slack) {
        sleep_until(at(last, caps.surely_alive())).await;
        last = Instant::now();
        let value = c.ok("/get?key=a").await.json::<Option<String>>();
        assert_eq!(
            value.as_deref(),
            Some("1"),
            "ended early, after {:?}",
            created.elapsed()
        );
        if !renewed {
            c.ok("/renew").await;
            renewed = true;
        }
    }
    sleep_until(at(created, lifetime + slack + Duration::from_millis(200))).await;
    assert_eq!(
        c.ok("/get?key=a").await.json::<Option<String>>(),
        None,
        "still there {:?} after its creation, with an absolute lifetime of {lifetime:?}",
        created.elapsed()
    );
}

/// A session written before an absolute lifetime was configured has no creation time: it
/// counts from its first load under the lifetime, and ends when that has passed, even if it
/// is only read (rolling TTL).
pub async fn max_lifetime_ends_sessions_written_without_it<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    let store = Arc::new(factory.make().await);
    let key = sessions_core::Key::generate();
    let with = |config: SessionConfig| {
        sessions_core::SessionMiddleware::builder(key.clone())
            .session(config)
            .build()
            .unwrap()
    };
    let lifecycle = Lifecycle::browser_session(caps.ttl);
    let before = SessionConfig::new(Arc::clone(&store)).lifecycle(lifecycle);
    let (c, _) = client(with(before)).await;
    c.ok("/set?key=a&value=1").await;
    let lifetime = (caps.ttl * 2).max(Duration::from_secs(2));
    let after = SessionConfig::new(Arc::clone(&store))
        .lifecycle(lifecycle)
        .ttl_extension(TtlExtensionPolicy::OnEveryRequest)
        .max_lifetime(lifetime);
    let (limited, _) = client(with(after)).await;
    limited.set_cookie("id", c.cookie("id").as_deref());
    let first = Instant::now();
    let slack = Duration::from_secs(1) + caps.ttl_granularity;
    // Read often enough for the rolling TTL to keep it alive, until the lifetime is surely over.
    while first.elapsed() < lifetime + slack + Duration::from_millis(200) {
        let read_at = first.elapsed();
        let value = limited.ok("/get?key=a").await.json::<Option<String>>();
        if read_at + slack < lifetime {
            assert_eq!(
                value.as_deref(),
                Some("1"),
                "ended early, after {read_at:?}"
            );
        }
        sleep_until(at(Instant::now(), caps.surely_alive())).await;
    }
    assert_eq!(
        limited.ok("/get?key=a").await.json::<Option<String>>(),
        None,
        "a session without a creation time outlived the absolute lifetime ({:?} after its first load)",
        first.elapsed()
    );
}
