//! What the store writes, seen from the server through a raw text-protocol client: expiration
//! times, and records written behind the store's back. Both transports, on the plain server.

mod common;

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore};
use sessions_memcached::MemcachedStore;

const DAY: u64 = 24 * 3600;

fn stores() -> [(&'static str, MemcachedStore); 2] {
    [
        (
            "text",
            common::builder(&common::url(common::PLAIN))
                .build()
                .unwrap(),
        ),
        (
            "binary",
            common::builder(&common::plain_binary_url())
                .build()
                .unwrap(),
        ),
    ]
}

/// The remaining TTL memcached reports for a session, in seconds.
async fn remaining_ttl(key: &SessionKey) -> i64 {
    let mut raw = common::raw_client().await;
    let item = format!("test:{}", key.as_str().unwrap());
    raw.ttl(&item).await.expect("the item exists")
}

fn assert_near(actual: i64, expected: u64, what: &str) {
    let expected = i64::try_from(expected).unwrap();
    // Wide margins: this checks the relative/absolute interpretation, not the clock.
    assert!(
        (expected - 300..=expected + 5).contains(&actual),
        "{what}: {actual} s left, expected about {expected}"
    );
}

#[tokio::test]
async fn expirations_over_thirty_days_are_absolute_on_the_server() {
    for (transport, store) in stores() {
        let created = store
            .create(b"x", Duration::from_secs(31 * DAY))
            .await
            .unwrap();
        assert_near(remaining_ttl(created.key()).await, 31 * DAY, transport);
        store
            .touch(created.key(), Duration::from_secs(90 * DAY))
            .await
            .unwrap();
        assert_near(remaining_ttl(created.key()).await, 90 * DAY, transport);
        store
            .update(
                created.key(),
                b"y",
                Duration::from_secs(30 * DAY),
                created.version(),
            )
            .await
            .unwrap();
        assert_near(remaining_ttl(created.key()).await, 30 * DAY, transport);
        store
            .touch(created.key(), Duration::from_secs(3600))
            .await
            .unwrap();
        assert_near(remaining_ttl(created.key()).await, 3600, transport);
    }
}

/// The store keeps opaque bytes: whatever is under the key comes back verbatim, and deciding
/// that it is not a session payload is the codec's job (it gets a fresh session).
#[tokio::test]
async fn records_written_behind_the_stores_back_load_verbatim() {
    let garbage: &[u8] = b"\x00\xffnot a session\r\nEND\r\n";
    for (transport, store) in stores() {
        let key = SessionKey::generate();
        let mut raw = common::raw_client().await;
        raw.set(&format!("test:{}", key.as_str().unwrap()), garbage, 60, 7)
            .await;
        let loaded = store
            .load(&key)
            .await
            .unwrap()
            .expect("the raw record loads");
        assert_eq!(loaded.payload(), garbage, "{transport}");
        // Its version is its CAS, so the store can replace it like any record.
        store
            .update(&key, b"mine", Duration::from_secs(60), loaded.version())
            .await
            .unwrap();
        assert_eq!(
            store.load(&key).await.unwrap().unwrap().payload(),
            b"mine",
            "{transport}"
        );
    }
}

/// Both transports read and write the same items: versions (CAS values) agree.
#[tokio::test]
async fn transports_share_items_and_versions() {
    let [(_, text), (_, binary)] = stores();
    let created = text
        .create(b"from text", Duration::from_secs(60))
        .await
        .unwrap();
    let loaded = binary.load(created.key()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"from text"[..], created.version())
    );
    let updated = binary
        .update(
            created.key(),
            b"from binary",
            Duration::from_secs(60),
            loaded.version(),
        )
        .await
        .unwrap();
    let loaded = text.load(created.key()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"from binary"[..], updated.version())
    );
    binary.delete(created.key()).await.unwrap();
    assert_eq!(text.load(created.key()).await.unwrap(), None);
}

/// With two servers, sessions are spread over both, and each is found where it was written.
#[tokio::test]
async fn sessions_spread_over_several_servers() {
    let store = common::builder(&common::url(common::PLAIN))
        .server(common::url(common::AUTH))
        .build()
        .unwrap();
    let mut on_plain = 0;
    let mut raw = common::raw_client().await;
    for _ in 0..32 {
        let payload = common::unique_payload();
        let created = store
            .create(&payload, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.load(created.key()).await.unwrap().unwrap().payload(),
            payload
        );
        let item = format!("test:{}", created.key().as_str().unwrap());
        if raw.get(&item).await.is_some() {
            on_plain += 1;
        }
    }
    assert!(
        (1..32).contains(&on_plain),
        "{on_plain} of 32 sessions on the first server"
    );
}
