//! The store contract, against the server named by `MONGODB_URL`.

mod common;

use std::error::Error as _;
use std::time::Duration;

use common::TestStore;
use sessions_core::testing::force_next_keys;
use sessions_core::{MAX_KEY_LEN, SessionKey, SessionStore, StoreErrorKind, Version};
use sessions_mongo::mongodb::bson::{Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use sessions_mongo::{MAX_PAYLOAD_LEN, MongoStore};
use tokio::time::sleep;

const TTL: Duration = Duration::from_secs(60);
/// Long enough to expire, short enough to wait for.
const SHORT_TTL: Duration = Duration::from_secs(1);
const PAST_SHORT_TTL: Duration = Duration::from_millis(1500);

async fn raw(test: &TestStore, key: &SessionKey) -> Option<Document> {
    test.collection()
        .find_one(doc! { "_id": key.as_str().unwrap() })
        .await
        .unwrap()
}

#[tokio::test]
async fn round_trip() {
    let test = TestStore::new().await;
    let stored = test.store.create(b"payload", TTL).await.unwrap();
    assert_eq!(stored.version(), Version::new(1));
    assert_eq!(stored.key().len(), 43);

    let loaded = test
        .store
        .load(stored.key())
        .await
        .unwrap()
        .expect("the session is stored");
    assert_eq!(loaded.payload(), b"payload");
    assert_eq!(loaded.version(), stored.version());
    test.drop_database().await;
}

#[tokio::test]
async fn stores_the_documented_layout() {
    let test = TestStore::new().await;
    let before = DateTime::now();
    let stored = test.store.create(b"\x00\xffbytes", TTL).await.unwrap();

    let doc = raw(&test, stored.key()).await.unwrap();
    let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
    assert_eq!(keys, ["_id", "data", "version", "expires_at"]);
    assert_eq!(doc.get_str("_id").unwrap(), stored.key().as_str().unwrap());
    let data = Binary {
        subtype: BinarySubtype::Generic,
        bytes: b"\x00\xffbytes".to_vec(),
    };
    assert_eq!(doc.get("data"), Some(&Bson::Binary(data)));
    assert_eq!(doc.get_i64("version").unwrap(), 1);
    let expires_at = doc.get_datetime("expires_at").unwrap().timestamp_millis();
    assert!(
        expires_at >= before.timestamp_millis() + 60_000,
        "{expires_at}"
    );
    test.drop_database().await;
}

#[tokio::test]
async fn load_of_a_missing_key_is_none() {
    let test = TestStore::new().await;
    assert_eq!(
        test.store.load(&SessionKey::generate()).await.unwrap(),
        None
    );
    test.drop_database().await;
}

#[tokio::test]
async fn create_never_overwrites() {
    let test = TestStore::new().await;
    let (taken, free) = (SessionKey::generate(), SessionKey::generate());
    force_next_keys([taken.clone(), taken.clone(), free.clone()]);

    let first = test.store.create(b"first", TTL).await.unwrap();
    assert_eq!(first.key(), &taken);
    let second = test.store.create(b"second", TTL).await.unwrap();
    assert_eq!(second.key(), &free, "a taken key must be skipped");

    let kept = test.store.load(&taken).await.unwrap().unwrap();
    assert_eq!(kept.payload(), b"first");
    assert_eq!(
        test.store.load(&free).await.unwrap().unwrap().payload(),
        b"second"
    );
    test.drop_database().await;
}

#[tokio::test]
async fn update_replaces_the_payload_and_bumps_the_version() {
    let test = TestStore::new().await;
    let created = test.store.create(b"v1", TTL).await.unwrap();

    let updated = test
        .store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();
    assert_eq!(updated.key(), created.key());
    assert_ne!(updated.version(), created.version());

    let loaded = test.store.load(created.key()).await.unwrap().unwrap();
    assert_eq!(loaded.payload(), b"v2");
    assert_eq!(loaded.version(), updated.version());
    test.drop_database().await;
}

#[tokio::test]
async fn update_with_a_stale_version_conflicts() {
    let test = TestStore::new().await;
    let created = test.store.create(b"v1", TTL).await.unwrap();
    test.store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();

    let err = test
        .store
        .update(created.key(), b"lost", TTL, created.version())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        test.store
            .load(created.key())
            .await
            .unwrap()
            .unwrap()
            .payload(),
        b"v2"
    );

    let err = test
        .store
        .update(created.key(), b"lost", TTL, Version::new(u64::MAX))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    test.drop_database().await;
}

#[tokio::test]
async fn concurrent_updates_of_one_version_let_exactly_one_win() {
    let test = TestStore::new().await;
    let created = test.store.create(b"v1", TTL).await.unwrap();
    let (key, version) = (created.key(), created.version());

    let (a, b) = futures_util::future::join(
        test.store.update(key, b"a", TTL, version),
        test.store.update(key, b"b", TTL, version),
    )
    .await;
    let (winner, loser) = match (a, b) {
        (Ok(_), Err(e)) => (&b"a"[..], e),
        (Err(e), Ok(_)) => (&b"b"[..], e),
        other => panic!("exactly one update must win: {other:?}"),
    };
    assert_eq!(loser.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        test.store.load(key).await.unwrap().unwrap().payload(),
        winner
    );
    test.drop_database().await;
}

#[tokio::test]
async fn update_of_a_missing_record_conflicts() {
    let test = TestStore::new().await;
    let err = test
        .store
        .update(&SessionKey::generate(), b"x", TTL, Version::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    test.drop_database().await;
}

/// No TTL index here (no `migrate`), so the server never removes the record: what the store
/// reports is its own read-time expiry, not the server's TTL monitor.
#[tokio::test]
async fn an_expired_record_is_missing_even_before_the_server_removes_it() {
    let test = TestStore::new().await;
    let created = test.store.create(b"short-lived", SHORT_TTL).await.unwrap();
    assert!(test.store.load(created.key()).await.unwrap().is_some());
    sleep(PAST_SHORT_TTL).await;

    assert!(
        raw(&test, created.key()).await.is_some(),
        "the document is still in the collection"
    );
    assert_eq!(test.store.load(created.key()).await.unwrap(), None);
    let err = test
        .store
        .update(created.key(), b"x", TTL, created.version())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    test.store.touch(created.key(), TTL).await.unwrap();
    assert_eq!(
        test.store.load(created.key()).await.unwrap(),
        None,
        "touch must not revive it"
    );
    test.drop_database().await;
}

#[tokio::test]
async fn touch_extends_the_ttl_only() {
    let test = TestStore::new().await;
    let created = test.store.create(b"payload", SHORT_TTL).await.unwrap();

    let key = test.store.touch(created.key(), TTL).await.unwrap();
    assert_eq!(&key, created.key());
    sleep(PAST_SHORT_TTL).await;

    let loaded = test
        .store
        .load(created.key())
        .await
        .unwrap()
        .expect("touch extended the TTL");
    assert_eq!(loaded.payload(), b"payload");
    assert_eq!(loaded.version(), created.version());
    test.drop_database().await;
}

#[tokio::test]
async fn update_resets_the_ttl() {
    let test = TestStore::new().await;
    let created = test.store.create(b"v1", SHORT_TTL).await.unwrap();
    test.store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();
    sleep(PAST_SHORT_TTL).await;
    assert_eq!(
        test.store
            .load(created.key())
            .await
            .unwrap()
            .unwrap()
            .payload(),
        b"v2"
    );
    test.drop_database().await;
}

#[tokio::test]
async fn touch_of_a_missing_record_succeeds() {
    let test = TestStore::new().await;
    let key = SessionKey::generate();
    assert_eq!(test.store.touch(&key, TTL).await.unwrap(), key);
    assert_eq!(test.store.load(&key).await.unwrap(), None);
    test.drop_database().await;
}

#[tokio::test]
async fn delete_removes_and_tolerates_missing_records() {
    let test = TestStore::new().await;
    let created = test.store.create(b"payload", TTL).await.unwrap();
    test.store.delete(created.key()).await.unwrap();
    assert_eq!(test.store.load(created.key()).await.unwrap(), None);
    assert!(raw(&test, created.key()).await.is_none());
    test.store.delete(created.key()).await.unwrap();
    test.drop_database().await;
}

#[tokio::test]
async fn unreadable_documents_are_corrupt() {
    let test = TestStore::new().await;
    let later = DateTime::from_millis(DateTime::now().timestamp_millis() + 60_000);
    let planted = [
        doc! { "data": "text, not binary", "version": 1_i64, "expires_at": later },
        doc! { "version": 1_i64, "expires_at": later },
        doc! { "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![1] }, "expires_at": later },
        doc! { "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![1] }, "version": -3_i64, "expires_at": later },
        doc! { "data": Binary { subtype: BinarySubtype::Generic, bytes: vec![1] }, "version": "1", "expires_at": later },
    ];
    for mut fields in planted {
        let key = SessionKey::generate();
        fields.insert("_id", key.as_str().unwrap());
        test.collection().insert_one(&fields).await.unwrap();
        let err = test.store.load(&key).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Corrupt, "{fields:?}: {err:?}");
        assert!(
            err.source().is_some(),
            "the error says which field is wrong"
        );
    }
    test.drop_database().await;
}

#[tokio::test]
async fn a_key_that_is_not_text_is_corrupt() {
    let test = TestStore::new().await;
    let key = SessionKey::from_bytes(vec![0xff, 0xfe]).unwrap();
    assert_eq!(
        test.store.load(&key).await.unwrap_err().kind(),
        StoreErrorKind::Corrupt
    );
    let err = test
        .store
        .update(&key, b"x", TTL, Version::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    test.drop_database().await;
}

#[tokio::test]
async fn keys_up_to_the_core_limit_are_accepted() {
    let test = TestStore::new().await;
    let key = SessionKey::from_bytes(vec![b'k'; MAX_KEY_LEN]).unwrap();
    assert_eq!(test.store.load(&key).await.unwrap(), None);
    test.store.delete(&key).await.unwrap();
    test.drop_database().await;
}

#[tokio::test]
async fn the_largest_payload_fits_and_a_larger_one_is_too_large() {
    let test = TestStore::new().await;
    let largest = vec![7_u8; MAX_PAYLOAD_LEN];
    let stored = test.store.create(&largest, TTL).await.unwrap();
    assert_eq!(
        test.store
            .load(stored.key())
            .await
            .unwrap()
            .unwrap()
            .payload()
            .len(),
        MAX_PAYLOAD_LEN
    );
    test.store
        .update(stored.key(), &largest, TTL, stored.version())
        .await
        .unwrap();

    let too_large = vec![7_u8; MAX_PAYLOAD_LEN + 1];
    assert_eq!(
        test.store.create(&too_large, TTL).await.unwrap_err().kind(),
        StoreErrorKind::TooLarge
    );
    let err = test
        .store
        .update(stored.key(), &too_large, TTL, stored.version())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::TooLarge);
    test.drop_database().await;
}

#[tokio::test]
async fn migrate_creates_the_ttl_index_idempotently() {
    let test = TestStore::new().await;
    test.store.migrate().await.unwrap();
    test.store.migrate().await.unwrap();

    let indexes = test.collection().list_indexes().await.unwrap();
    let indexes: Vec<_> = futures_util::TryStreamExt::try_collect(indexes)
        .await
        .unwrap();
    let ttl = indexes
        .iter()
        .find(|index| index.keys == doc! { "expires_at": 1 })
        .unwrap_or_else(|| panic!("no index on expires_at: {indexes:?}"));
    let expire_after = ttl
        .options
        .as_ref()
        .and_then(|options| options.expire_after);
    assert_eq!(expire_after, Some(Duration::ZERO));
    test.drop_database().await;
}

#[tokio::test]
async fn migrate_reports_a_conflicting_index() {
    let test = TestStore::new().await;
    let options = sessions_mongo::mongodb::options::IndexOptions::builder()
        .expire_after(Duration::from_secs(3600))
        .build();
    let index = sessions_mongo::mongodb::IndexModel::builder()
        .keys(doc! { "expires_at": 1 })
        .options(options)
        .build();
    test.collection().create_index(index).await.unwrap();

    let err = test.store.migrate().await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Other, "{err:?}");
    test.drop_database().await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let store = MongoStore::builder("mongodb://127.0.0.1:1/?directConnection=true")
        .server_selection_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    // A generous bound, far above the 300 ms configured and far below the driver's 30 s
    // default: it tells "gave up as configured" from "waited the driver's default".
    let err = tokio::time::timeout(Duration::from_secs(20), store.load(&SessionKey::generate()))
        .await
        .expect("the configured server selection timeout bounds the load")
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    let source = err
        .source()
        .expect("the driver's error is kept as the source");
    assert!(
        source.is::<sessions_mongo::mongodb::error::Error>(),
        "{source:?}"
    );

    let err = store.create(b"x", TTL).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert_eq!(
        store.migrate().await.unwrap_err().kind(),
        StoreErrorKind::Unavailable
    );
}
