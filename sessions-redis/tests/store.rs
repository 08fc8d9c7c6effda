//! The store contract against a real Redis server (REDIS_URL).

use std::error::Error as _;
use std::future::Future;
use std::time::Duration;

use sessions_core::testing::{clear_forced_keys, force_next_keys};
use sessions_core::{SessionKey, SessionStore, StoreError, StoreErrorKind, Version};
use sessions_redis::redis::aio::MultiplexedConnection;
use sessions_redis::redis::{self, AsyncCommands as _};
use sessions_redis::{RedisStore, deadpool_redis};

const TTL: Duration = Duration::from_secs(60);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "REDIS_URL is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    })
}

fn store() -> RedisStore {
    RedisStore::new(redis_url()).expect("REDIS_URL is a valid Redis URL")
}

/// A direct connection, to look at or tamper with what the store wrote.
async fn raw() -> MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to REDIS_URL")
}

fn redis_key(key: &SessionKey) -> Vec<u8> {
    [b"session:", key.as_bytes()].concat()
}

/// Fails the test instead of hanging it when a store call never returns. Not a timing check:
/// the bound is far above any of the store's timeouts.
async fn no_hang<T>(call: impl Future<Output = T>) -> T {
    actix_web::rt::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the store call hung")
}

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    kind: StoreErrorKind,
) -> StoreError {
    let err = result.expect_err("the call should have failed");
    assert_eq!(err.kind(), kind, "{err:?}");
    err
}

#[actix_web::test]
async fn create_then_load_round_trips() {
    let store = store();
    let stored = store.create(b"hello", TTL).await.unwrap();
    assert_eq!(stored.key().len(), 43);

    let loaded = store
        .load(stored.key())
        .await
        .unwrap()
        .expect("the record was just created");
    assert_eq!(loaded.payload(), b"hello");
    assert_eq!(loaded.version(), stored.version());
}

#[actix_web::test]
async fn empty_and_large_payloads_round_trip() {
    let store = store();
    let large: Vec<u8> = (0..1_000_000_u32).map(|i| (i % 251) as u8).collect();
    for payload in [Vec::new(), large] {
        let stored = store.create(&payload, TTL).await.unwrap();
        let loaded = store.load(stored.key()).await.unwrap().unwrap();
        assert_eq!(loaded.payload(), payload);
    }
}

#[actix_web::test]
async fn missing_record_loads_as_none() {
    assert_eq!(store().load(&SessionKey::generate()).await.unwrap(), None);
}

#[actix_web::test]
async fn create_never_overwrites_an_existing_record() {
    let store = store();
    let existing = store.create(b"first", TTL).await.unwrap();
    let taken = existing.key().clone();
    let free = SessionKey::generate();

    force_next_keys([taken.clone(), taken.clone(), free.clone()]);
    let second = store.create(b"second", TTL).await;
    clear_forced_keys();

    let second = second.unwrap();
    assert_eq!(second.key(), &free);
    let first = store.load(&taken).await.unwrap().unwrap();
    assert_eq!(
        (first.payload(), first.version()),
        (&b"first"[..], existing.version())
    );
    assert_eq!(
        store.load(&free).await.unwrap().unwrap().payload(),
        b"second"
    );
}

#[actix_web::test]
async fn update_replaces_payload_and_changes_version() {
    let store = store();
    let created = store.create(b"v1", TTL).await.unwrap();

    let updated = store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();
    assert_eq!(updated.key(), created.key());
    assert_ne!(updated.version(), created.version());

    let loaded = store.load(created.key()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"v2"[..], updated.version())
    );
}

#[actix_web::test]
async fn update_with_a_stale_version_conflicts() {
    let store = store();
    let created = store.create(b"v1", TTL).await.unwrap();
    let updated = store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();

    let stale = store
        .update(created.key(), b"lost", TTL, created.version())
        .await;
    assert_kind(stale, StoreErrorKind::Conflict);
    let loaded = store.load(created.key()).await.unwrap().unwrap();
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"v2"[..], updated.version())
    );
}

#[actix_web::test]
async fn update_of_a_missing_record_conflicts() {
    let store = store();
    let missing = store
        .update(&SessionKey::generate(), b"x", TTL, Version::new(1))
        .await;
    assert_kind(missing, StoreErrorKind::Conflict);

    let created = store.create(b"v1", TTL).await.unwrap();
    store.delete(created.key()).await.unwrap();
    let deleted = store
        .update(created.key(), b"x", TTL, created.version())
        .await;
    assert_kind(deleted, StoreErrorKind::Conflict);
    assert_eq!(
        store.load(created.key()).await.unwrap(),
        None,
        "a failed update must not recreate the record"
    );
}

#[actix_web::test]
async fn concurrent_updates_from_one_version_let_exactly_one_win() {
    let store = store();
    let created = store.create(b"v1", TTL).await.unwrap();
    let payloads: Vec<Vec<u8>> = (0..10_u8).map(|i| vec![i]).collect();

    let attempts = payloads
        .iter()
        .map(|p| store.update(created.key(), p, TTL, created.version()));
    let results = futures_util::future::join_all(attempts).await;

    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(StoreError::is_conflict)
    );
    let loaded = store.load(created.key()).await.unwrap().unwrap();
    assert_eq!(loaded.payload(), payloads[winners[0]]);
}

#[actix_web::test]
async fn records_expire_after_their_ttl() {
    let store = store();
    let stored = store
        .create(b"short-lived", Duration::from_millis(200))
        .await
        .unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(store.load(stored.key()).await.unwrap(), None);
}

#[actix_web::test]
async fn update_resets_the_ttl() {
    let store = store();
    let created = store
        .create(b"v1", Duration::from_millis(300))
        .await
        .unwrap();
    store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        store.load(created.key()).await.unwrap().unwrap().payload(),
        b"v2"
    );
}

#[actix_web::test]
async fn touch_extends_the_ttl_and_keeps_payload_and_version() {
    let store = store();
    let created = store
        .create(b"kept", Duration::from_millis(300))
        .await
        .unwrap();

    let touched = store.touch(created.key(), TTL).await.unwrap();
    assert_eq!(&touched, created.key());
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;

    let loaded = store
        .load(created.key())
        .await
        .unwrap()
        .expect("touch extended the TTL");
    assert_eq!(
        (loaded.payload(), loaded.version()),
        (&b"kept"[..], created.version())
    );
    let ttl_ms: i64 = raw().await.pttl(redis_key(created.key())).await.unwrap();
    assert!(ttl_ms > 1000, "PTTL is {ttl_ms} ms");
}

#[actix_web::test]
async fn touch_of_a_missing_record_succeeds_without_creating_it() {
    let store = store();
    let key = SessionKey::generate();
    assert_eq!(store.touch(&key, TTL).await.unwrap(), key);
    assert_eq!(store.load(&key).await.unwrap(), None);
}

#[actix_web::test]
async fn delete_removes_the_record_and_tolerates_a_missing_one() {
    let store = store();
    let stored = store.create(b"doomed", TTL).await.unwrap();
    store.delete(stored.key()).await.unwrap();
    assert_eq!(store.load(stored.key()).await.unwrap(), None);
    store.delete(stored.key()).await.unwrap();
}

#[actix_web::test]
async fn a_record_shorter_than_its_version_is_corrupt() {
    let store = store();
    let key = SessionKey::generate();
    let () = raw()
        .await
        .set_ex(redis_key(&key), b"garbage"[..7].to_vec(), 60)
        .await
        .unwrap();

    assert_kind(store.load(&key).await, StoreErrorKind::Corrupt);
    // Nothing matches its version either, so an update cannot write over it.
    assert_kind(
        store.update(&key, b"x", TTL, Version::new(1)).await,
        StoreErrorKind::Conflict,
    );
}

#[actix_web::test]
async fn a_key_of_another_type_is_corrupt() {
    let store = store();
    let key = SessionKey::generate();
    let mut raw = raw().await;
    let _: i64 = raw.rpush(redis_key(&key), "not a session").await.unwrap();
    let _: bool = raw.expire(redis_key(&key), 60).await.unwrap();

    assert_kind(store.load(&key).await, StoreErrorKind::Corrupt);
}

#[actix_web::test]
async fn stored_value_is_the_version_then_the_payload() {
    let store = store();
    let stored = store.create(b"payload", TTL).await.unwrap();
    let value: Vec<u8> = raw().await.get(redis_key(stored.key())).await.unwrap();
    let mut expected = stored.version().get().to_be_bytes().to_vec();
    expected.extend_from_slice(b"payload");
    assert_eq!(value, expected);
}

#[actix_web::test]
async fn key_prefix_is_applied() {
    let store = RedisStore::builder(redis_url())
        .key_prefix("prefix-test:")
        .build()
        .unwrap();
    let stored = store.create(b"x", TTL).await.unwrap();
    let key = [b"prefix-test:", stored.key().as_bytes()].concat();
    let exists: bool = raw().await.exists(key).await.unwrap();
    assert!(exists);
}

#[actix_web::test]
async fn store_on_an_existing_deadpool_pool_works() {
    let pool = deadpool_redis::Config::from_url(redis_url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let store = RedisStore::from_pool(pool).with_key_prefix("pooled:");
    let created = store.create(b"v1", TTL).await.unwrap();
    let updated = store
        .update(created.key(), b"v2", TTL, created.version())
        .await
        .unwrap();
    assert_eq!(
        store.load(created.key()).await.unwrap().unwrap().version(),
        updated.version()
    );
    let exists: bool = raw()
        .await
        .exists([b"pooled:", created.key().as_bytes()].concat())
        .await
        .unwrap();
    assert!(exists);
}

#[actix_web::test]
async fn unreachable_server_is_unavailable() {
    let store = RedisStore::new("redis://127.0.0.1:1").unwrap();
    let key = SessionKey::generate();

    let err = assert_kind(no_hang(store.load(&key)).await, StoreErrorKind::Unavailable);
    assert!(
        err.source().is_some(),
        "the pool's error is kept as the source"
    );
    assert_kind(
        no_hang(store.create(b"x", TTL)).await,
        StoreErrorKind::Unavailable,
    );
    assert_kind(
        no_hang(store.update(&key, b"x", TTL, Version::new(1))).await,
        StoreErrorKind::Unavailable,
    );
    assert_kind(
        no_hang(store.touch(&key, TTL)).await,
        StoreErrorKind::Unavailable,
    );
    assert_kind(
        no_hang(store.delete(&key)).await,
        StoreErrorKind::Unavailable,
    );
}

#[actix_web::test]
async fn a_server_that_never_answers_is_unavailable() {
    // Accepts connections (the kernel completes the handshake) but never replies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let store = RedisStore::new(url).unwrap();

    let err = assert_kind(
        no_hang(store.load(&SessionKey::generate())).await,
        StoreErrorKind::Unavailable,
    );
    assert!(err.source().is_some());
}

#[actix_web::test]
async fn from_pool_bounds_the_checkout_of_a_pool_without_timeouts() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pool =
        deadpool_redis::Config::from_url(format!("redis://{}", silent.local_addr().unwrap()))
            .create_pool(None)
            .unwrap();
    let store = RedisStore::from_pool(pool);
    assert_kind(
        no_hang(store.load(&SessionKey::generate())).await,
        StoreErrorKind::Unavailable,
    );
}

#[actix_web::test]
async fn recovers_after_the_server_closes_its_connections() {
    // A database of its own, so that only this test's connections are found and closed.
    const DB: u8 = 9;
    let store = RedisStore::new(url_with_db(&redis_url(), DB)).unwrap();
    let stored = store.create(b"survives", TTL).await.unwrap();

    let killed = kill_clients_on_db(DB).await;
    assert!(killed > 0, "the store's connection was not found");

    // The load meets the closed connection and is sent again on a new one.
    let loaded = store
        .load(stored.key())
        .await
        .expect("a load is retried on a fresh connection");
    assert_eq!(loaded.unwrap().payload(), b"survives");
    // The write after it goes out on that fresh connection.
    let updated = store
        .update(stored.key(), b"updated", TTL, stored.version())
        .await
        .expect("the update is sent on the fresh connection");
    assert_ne!(updated.version(), stored.version());
}

fn url_with_db(url: &str, db: u8) -> String {
    let (scheme, rest) = url.split_once("://").expect("a redis:// URL");
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{authority}/{db}")
}

async fn kill_clients_on_db(db: u8) -> usize {
    let mut raw = raw().await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut raw)
        .await
        .unwrap();
    let on_db = format!(" db={db} ");
    let ids: Vec<&str> = clients
        .lines()
        .filter(|line| line.contains(&on_db))
        .filter_map(|line| line.strip_prefix("id=")?.split(' ').next())
        .collect();
    for id in &ids {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(*id)
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    ids.len()
}

#[actix_web::test]
async fn debug_output_hides_the_url() {
    let store = RedisStore::new("redis://user:hunter2@127.0.0.1:1").unwrap();
    let printed = format!("{store:?}");
    assert!(
        printed.contains("session:") && !printed.contains("hunter2"),
        "{printed}"
    );
}

#[test]
fn a_thread_whose_runtime_was_replaced_reconnects() {
    sessions_test::check_a_new_runtime_on_a_thread_reconnects(store());
}

#[test]
fn each_worker_has_its_own_connection() {
    sessions_test::check_each_worker_has_its_own_connection(store(), |n| format!("open: {n}"));
}
