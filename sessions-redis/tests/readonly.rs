//! A write that reaches a replica (a demoted primary, or a URL that names a replica) is
//! refused with READONLY: the store drops the connection and tries a new one until the
//! response timeout, then fails as Unavailable, never as a conflict or an unknown outcome.

mod common;

use std::error::Error as _;
use std::time::{Duration, Instant};

use sessions_core::{SessionStore as _, StoreErrorKind};
use sessions_redis::RedisStore;
use sessions_redis::redis::{self, Value};

/// The address of a replica of the shared Sentinel set's primary, as a sentinel lists it.
async fn replica_address() -> String {
    let url = common::env("REDIS_SENTINEL_URL");
    let rest = url.split_once("://").unwrap().1;
    let sentinel = rest.split(['/', ',']).next().unwrap();
    let service = url.rsplit('/').next().unwrap();
    let mut conn = common::drill::connect(sentinel).await;
    let replicas: Value = redis::cmd("SENTINEL")
        .arg("REPLICAS")
        .arg(service)
        .query_async(&mut conn)
        .await
        .unwrap();
    let Value::Array(replicas) = replicas else {
        panic!("SENTINEL REPLICAS: {replicas:?}")
    };
    let fields: Vec<(String, String)> =
        redis::from_redis_value(replicas.into_iter().next().expect("a replica")).unwrap();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).unwrap().1.clone();
    format!("{}:{}", field("ip"), field("port"))
}

#[actix_web::test]
async fn writes_to_a_replica_fail_as_unavailable_and_reads_work() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    const TTL: Duration = Duration::from_secs(60);
    let prefix = common::unique_prefix("readonly");
    let primary = RedisStore::builder(common::env("REDIS_SENTINEL_URL"))
        .key_prefix(&prefix)
        .build()
        .unwrap();
    let store = RedisStore::builder(format!("redis://{}", replica_address().await))
        .key_prefix(&prefix)
        .io_timeout(TIMEOUT)
        .build()
        .unwrap();
    // A record the replica has, so that the compare-and-set script gets as far as its SET.
    let stored = primary.create(b"v1", TTL).await.unwrap();
    let replicated = Instant::now();
    while store.load(stored.key()).await.unwrap().is_none() {
        assert!(
            replicated.elapsed() < Duration::from_secs(10),
            "not replicated"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let create = store.create(b"x", TTL).await.unwrap_err();
    let update = store
        .update(stored.key(), b"v2", TTL, stored.version())
        .await
        .unwrap_err();
    for err in [&create, &update] {
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
        let source = err.source().map(ToString::to_string).unwrap_or_default();
        assert!(
            source.contains("READONLY") || source.contains("read only"),
            "{err:?}"
        );
    }
    // Each write tried again (on a new connection) for at most the response timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
