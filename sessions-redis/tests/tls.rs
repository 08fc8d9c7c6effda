//! TLS and ACL users (REDIS_TLS_URL; needs the `tls-rustls` feature): the password never shows
//! in `Debug` output, errors or logs, and wrong or missing credentials fail cleanly.

mod common;
mod log_capture;

use std::error::Error as _;
use std::time::Duration;

use actix_web::http::StatusCode;
use sessions_core::{Key, SessionKey, SessionMiddleware, SessionStore as _, StoreErrorKind};
use sessions_redis::RedisStore;

/// The ACL user's password in REDIS_TLS_URL.
fn password() -> String {
    let url = common::env("REDIS_TLS_URL");
    let userinfo = url.split('@').next().unwrap().rsplit('/').next().unwrap();
    userinfo.split_once(':').unwrap().1.to_owned()
}

/// REDIS_TLS_URL with another password.
fn with_password(password: &str) -> String {
    let url = common::env("REDIS_TLS_URL");
    let host = url.rsplit('@').next().unwrap();
    format!("rediss://sessions:{password}@{host}")
}

/// Everything a failing store call shows: the error, its `Debug`, its sources.
fn everything_shown(err: &sessions_core::StoreError) -> String {
    let mut shown = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(cause) = source {
        shown.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    shown
}

#[actix_web::test]
async fn the_acl_user_works_over_tls_and_its_password_never_shows() {
    let secret = password();
    let builder = common::tls(&common::env("REDIS_TLS_URL"));
    assert!(!format!("{builder:?}").contains(&secret));
    let store = builder.build().unwrap();
    let stored = store
        .create(b"over tls", Duration::from_secs(60))
        .await
        .unwrap();
    let loaded = store.load(stored.key()).await.unwrap().unwrap();
    assert_eq!(loaded.payload(), b"over tls");
    let printed = format!("{store:?}");
    assert!(!printed.contains(&secret), "{printed}");
}

#[test]
fn a_wrong_password_fails_without_showing_either_password() {
    const WRONG: &str = "wr0ng-pa55word-never-shown";
    let secret = password();
    let store = common::tls(&with_password(WRONG)).build().unwrap();
    let (err, logs) = log_capture::during(|| {
        actix_web::rt::System::new().block_on(async {
            let err = store.load(&SessionKey::generate()).await.unwrap_err();
            // Through the middleware too, which logs the store's error.
            let app = SessionMiddleware::new(store.clone(), Key::generate());
            let (client, _) = sessions_test::client(app).await;
            let reply = client.get("/set?key=a&value=b").await;
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(reply.body.is_empty(), "{:?}", reply.body);
            err
        })
    });
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    let shown = format!("{} {store:?} {logs}", everything_shown(&err));
    assert!(!logs.is_empty(), "the middleware logged nothing");
    for password in [WRONG, secret.as_str()] {
        assert!(!shown.contains(password), "{shown}");
    }
}

#[actix_web::test]
async fn without_credentials_the_disabled_default_user_is_refused() {
    let url = common::env("REDIS_TLS_URL");
    let host = url.rsplit('@').next().unwrap();
    let store: RedisStore = common::tls(&format!("rediss://{host}")).build().unwrap();
    let err = store.load(&SessionKey::generate()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
}

#[actix_web::test]
async fn without_tls_the_tls_port_is_unavailable() {
    let url = common::env("REDIS_TLS_URL").replacen("rediss://", "redis://", 1);
    let store = RedisStore::builder(url)
        .connect_timeout(Duration::from_millis(500))
        .io_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = store.load(&SessionKey::generate()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    assert!(!everything_shown(&err).contains(&password()));
}
