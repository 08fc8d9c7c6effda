//! Authentication: SASL PLAIN (binary protocol) and ASCII authentication (text protocol),
//! with right, wrong and missing credentials. Wrong credentials fail clearly and promptly.

mod common;

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreError, StoreErrorKind};
use sessions_memcached::{MemcachedBuildError, MemcachedStore};

/// Fails the test instead of hanging if `future` runs far past every configured timeout.
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the request hung")
}

/// `url` with its password replaced.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user_info, host) = rest.rsplit_once('@').expect("the URL has credentials");
    let user = user_info.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` without its user info.
fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    format!("{scheme}://{}", rest.rsplit_once('@').unwrap().1)
}

/// The whole error chain as text.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        text = format!("{text}: {err}");
        source = err.source();
    }
    text
}

fn unreachable_source(err: MemcachedBuildError) -> StoreError {
    match err {
        MemcachedBuildError::Unreachable { source, .. } => source,
        other => panic!("expected MemcachedBuildError::Unreachable, got {other:?}"),
    }
}

async fn right_credentials_work(var: &str) {
    let store = bounded(common::builder(&common::url(var)).connect())
        .await
        .expect("connect");
    let created = store
        .create(b"authenticated", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.load(created.key()).await.unwrap().is_some());
}

async fn wrong_password_fails_connect(var: &str) {
    let url = with_password(&common::url(var), "not-the-password");
    let err = bounded(common::builder(&url).connect()).await.unwrap_err();
    let text = chain(&err);
    assert!(
        !text.contains("not-the-password"),
        "the password leaked: {text}"
    );
    let source = unreachable_source(err);
    assert_eq!(source.kind(), StoreErrorKind::Unavailable);
    assert!(
        text.contains("rejected") && text.contains("sessions"),
        "{text}"
    );
}

async fn wrong_password_fails_first_request(var: &str) {
    let url = with_password(&common::url(var), "not-the-password");
    let store = common::builder(&url).build().unwrap();
    let err = bounded(store.load(&SessionKey::generate()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert!(chain(&err).contains("rejected"), "{}", chain(&err));
}

async fn missing_credentials_are_reported(var: &str) {
    let url = without_credentials(&common::url(var));
    let err = bounded(common::builder(&url).connect()).await.unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("requires") && text.contains("authentication"),
        "{text}"
    );
}

#[tokio::test]
async fn sasl_right_credentials_work() {
    right_credentials_work(common::SASL).await;
}

#[tokio::test]
async fn sasl_wrong_password_fails_connect() {
    wrong_password_fails_connect(common::SASL).await;
}

#[tokio::test]
async fn sasl_wrong_password_fails_first_request() {
    wrong_password_fails_first_request(common::SASL).await;
}

#[tokio::test]
async fn sasl_missing_credentials_are_reported() {
    missing_credentials_are_reported(common::SASL).await;
}

#[tokio::test]
async fn ascii_auth_right_credentials_work() {
    right_credentials_work(common::AUTH).await;
}

#[tokio::test]
async fn ascii_auth_wrong_password_fails_connect() {
    wrong_password_fails_connect(common::AUTH).await;
}

#[tokio::test]
async fn ascii_auth_wrong_password_fails_first_request() {
    wrong_password_fails_first_request(common::AUTH).await;
}

#[tokio::test]
async fn ascii_auth_missing_credentials_are_reported() {
    missing_credentials_are_reported(common::AUTH).await;
}

#[tokio::test]
async fn builder_credentials_replace_the_urls() {
    let url = with_password(&common::url(common::SASL), "wrong");
    let right = MemcachedStore::builder(common::url(common::SASL))
        .connect()
        .await
        .unwrap();
    drop(right);
    let store = bounded(
        common::builder(&url)
            .credentials("sessions", "sessions-secret")
            .connect(),
    )
    .await;
    assert!(store.is_ok(), "{:?}", store.err());
}

/// The SASL server speaks only the binary protocol, the ASCII-auth one only text: the wrong
/// protocol fails promptly with `Unavailable`, not a hang or a panic.
#[tokio::test]
async fn wrong_protocol_is_unavailable() {
    let text_to_binary_only =
        without_credentials(&common::url(common::SASL)).replacen("+binary", "", 1);
    let binary_to_text_only =
        common::url(common::AUTH).replacen("memcache://", "memcache+binary://", 1);
    for url in [text_to_binary_only, binary_to_text_only] {
        let store = common::builder(&url).build().unwrap();
        let err = bounded(store.load(&SessionKey::generate()))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            StoreErrorKind::Unavailable,
            "{url}: {}",
            chain(&err)
        );
    }
}
