//! Requests still in flight on a key that a log-in renewed away, and log-outs behind renewals.
//!
//! The client is a browser's cookie jar: each reply's `Set-Cookie` is applied when it arrives,
//! so a slow request that answers after the log-in would replace the log-in's cookie.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::join;
use sessions_core::{
    Key, KeyRing, Lifecycle, SessionConfig, SessionMiddleware, TtlExtensionPolicy,
};

use crate::cases::{single, skip};
use crate::{Capabilities, Reply, StoreFactory, client};

/// The session cookie a reply set (not a removal).
fn new_cookie(reply: &Reply) -> Option<String> {
    reply
        .set_cookie("id")
        .filter(|set| !set.is_removal())
        .map(|set| set.cookie.value().to_owned())
}

/// A request that loaded the session before a log-in renewed it, and writes after: it
/// creates no session and sends no cookie (the browser keeps the log-in's), none of its
/// changes lands in the renewed session, and it answers an empty `409 Conflict`, which the
/// client may retry.
pub async fn a_write_in_flight_does_not_undo_a_log_in<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "a_write_in_flight_does_not_undo_a_log_in",
            "a client-side session has no record to find renewed",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=visit&value=1").await;
    let writing = c.get("/parked?do=set&key=cart&value=pear");
    let logging_in = async {
        barriers.loaded.notified().await;
        let reply = c.ok("/renew_and_set?key=user&value=ann").await;
        barriers.proceed.notify_one();
        reply
    };
    let (written, logged_in) = join(writing, logging_in).await;
    let renewed = new_cookie(&logged_in).expect("the log-in set a cookie");
    assert!(
        written.set_cookie("id").is_none(),
        "the request on the renewed-away key set a cookie: {:?}",
        written.set_cookie("id")
    );
    assert_eq!(written.status, StatusCode::CONFLICT);
    assert!(
        written.body.is_empty(),
        "the answer leaks {:?}",
        written.body
    );
    assert_eq!(
        c.cookie("id"),
        Some(renewed),
        "the log-in's cookie was replaced"
    );
    let get = |key: &'static str| {
        let c = &c;
        async move {
            c.ok(&format!("/get?key={key}"))
                .await
                .json::<Option<String>>()
        }
    };
    assert_eq!(
        get("user").await.as_deref(),
        Some("ann"),
        "the user was logged out"
    );
    assert_eq!(get("visit").await.as_deref(), Some("1"));
    assert_eq!(
        get("cart").await,
        None,
        "a request on the old key wrote into the renewed session"
    );
}

/// A request that only reads, loaded before a log-in and answering after it, sends no cookie
/// for the old key: not the `Max-Age` refresh of a rolling persistent session.
pub async fn a_read_in_flight_does_not_undo_a_log_in<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "a_read_in_flight_does_not_undo_a_log_in",
            "a client-side session has no record to find renewed",
        );
    }
    let config = SessionConfig::new(factory.make().await)
        .lifecycle(Lifecycle::persistent(Duration::from_secs(3600)))
        .ttl_extension(TtlExtensionPolicy::OnEveryRequest);
    let (c, barriers) = client(single(config)).await;
    c.ok("/set?key=visit&value=1").await;
    check_read_in_flight(&c, &barriers).await;
}

/// As [`a_read_in_flight_does_not_undo_a_log_in`], for a cookie sealed with a retired key:
/// the re-seal is not sent for a key that was renewed away.
pub async fn a_reseal_in_flight_does_not_undo_a_log_in<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "a_reseal_in_flight_does_not_undo_a_log_in",
            "a client-side session has no record to find renewed",
        );
    }
    let store = Arc::new(factory.make().await);
    let old = Key::from([3_u8; 32]).unwrap();
    let new = Key::from([4_u8; 32]).unwrap();
    let with = |keys: KeyRing| {
        SessionMiddleware::builder(keys)
            .session(SessionConfig::new(Arc::clone(&store)))
            .build()
            .unwrap()
    };
    let (before, _) = client(with(old.clone().into())).await;
    before.ok("/set?key=visit&value=1").await;
    let (c, barriers) = client(with(KeyRing::new(new).with_old_key(old))).await;
    c.set_cookie("id", before.cookie("id").as_deref());
    check_read_in_flight(&c, &barriers).await;
}

async fn check_read_in_flight<S, B>(c: &crate::Client<S>, barriers: &crate::Barriers)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let reading = c.get("/parked?do=get&key=visit");
    let logging_in = async {
        barriers.loaded.notified().await;
        let reply = c.ok("/renew_and_set?key=user&value=ann").await;
        barriers.proceed.notify_one();
        reply
    };
    let (read, logged_in) = join(reading, logging_in).await;
    let renewed = new_cookie(&logged_in).expect("the log-in set a cookie");
    assert_eq!(read.status, StatusCode::OK, "a read failed: {}", read.body);
    assert_eq!(read.json::<Option<String>>().as_deref(), Some("1"));
    assert!(
        read.set_cookie("id").is_none(),
        "the read on the renewed-away key sent its cookie again: {:?}",
        read.set_cookie("id")
    );
    assert_eq!(
        c.cookie("id"),
        Some(renewed),
        "the log-in's cookie was replaced"
    );
    let user = c.ok("/get?key=user").await.json::<Option<String>>();
    assert_eq!(user.as_deref(), Some("ann"), "the user was logged out");
}

/// A log-out that loaded the session before several renewals (more than a purge used to
/// follow) still ends the session they lead to; it never answers a quiet success while the
/// session lives on.
pub async fn a_log_out_behind_many_renewals_ends_the_live_session<F: StoreFactory>(
    factory: F,
    caps: Capabilities,
) {
    if !caps.server_side {
        return skip(
            "a_log_out_behind_many_renewals_ends_the_live_session",
            "client-side state cannot be revoked",
        );
    }
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let purging = c.get("/parked?do=purge");
    let renewing = async {
        barriers.loaded.notified().await;
        for step in 0..6 {
            c.ok(&format!("/renew_and_set?key=step&value={step}")).await;
        }
        let live = c.cookie("id").expect("the renewals set a cookie");
        barriers.proceed.notify_one();
        live
    };
    let (purged, live) = join(purging, renewing).await;
    if purged.status != StatusCode::OK {
        // Failing loudly is allowed; a quiet success is not.
        assert!(purged.status.is_server_error(), "{}", purged.status);
        return;
    }
    c.set_cookie("id", Some(&live));
    assert_eq!(
        c.ok("/get?key=user").await.json::<Option<String>>(),
        None,
        "the log-out answered 200 but the session it was renewed into still lives"
    );
}

/// Two log-outs of one session at once (a double click) both succeed, and the session ends.
pub async fn two_log_outs_at_once_both_succeed<F: StoreFactory>(factory: F, caps: Capabilities) {
    let (c, barriers) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let cookie = c.cookie("id").unwrap();
    let first = c.get("/parked?do=purge");
    let second = async {
        barriers.loaded.notified().await;
        let reply = c.get("/purge").await;
        barriers.proceed.notify_one();
        reply
    };
    let (first, second) = join(first, second).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    if !caps.server_side {
        return skip(
            "two_log_outs_at_once_both_succeed",
            "client-side state cannot be revoked",
        );
    }
    c.set_cookie("id", Some(&cookie));
    assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
}
