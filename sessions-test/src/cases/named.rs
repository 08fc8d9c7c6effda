use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use sessions_core::{Key, SessionConfig, SessionMiddleware};
use sessions_memstore::MemoryStore;

use crate::{Capabilities, StoreFactory, Switchable, client};

/// Two named sessions with their own cookies, both changed in one request, stay separate.
pub async fn two_named_sessions_in_one_request<F: StoreFactory>(factory: F, _: Capabilities) {
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(factory.make().await).cookie_name("visitor"))
        .session(SessionConfig::new(factory.make().await).cookie_name("admin"))
        .build()
        .unwrap();
    check_two_sessions(middleware).await;
}

/// Two sessions in one app, one in the store under test and one in memory.
pub async fn two_stores_in_one_app<F: StoreFactory>(factory: F, _: Capabilities) {
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(factory.make().await).cookie_name("visitor"))
        .session(SessionConfig::new(MemoryStore::new()).cookie_name("admin"))
        .build()
        .unwrap();
    check_two_sessions(middleware).await;
}

async fn check_two_sessions(middleware: SessionMiddleware) {
    let (c, _) = client(middleware).await;
    let reply = c
        .ok("/named/set?session=visitor,admin&key=who&value=x")
        .await;
    assert!(reply.set_cookie("visitor").is_some() && reply.set_cookie("admin").is_some());
    assert_ne!(c.cookie("visitor"), c.cookie("admin"));
    let read = |session: &'static str| {
        let c = &c;
        async move {
            c.ok(&format!("/named/get?session={session}&key=who"))
                .await
                .json::<Option<String>>()
        }
    };
    assert_eq!(read("visitor").await.as_deref(), Some("x@visitor"));
    assert_eq!(read("admin").await.as_deref(), Some("x@admin"));
    // The plain extractor is the first session.
    assert_eq!(
        c.ok("/get?key=who")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("x@visitor")
    );
    // Dropping one cookie loses only that session.
    c.set_cookie("admin", None);
    assert_eq!(read("admin").await, None);
    assert_eq!(read("visitor").await.as_deref(), Some("x@visitor"));
}

/// Two sessions: `visitor` in the store under test, and `admin` in another store of the
/// factory's that can be switched off (the switch is returned).
async fn visitor_and_failing_admin<F: StoreFactory>(
    factory: F,
) -> (
    SessionMiddleware,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let admin = Switchable::new(factory.make().await);
    let switch = admin.switch();
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(factory.make().await).cookie_name("visitor"))
        .session(SessionConfig::new(admin).cookie_name("admin"))
        .build()
        .unwrap();
    (middleware, switch)
}

/// A request renews one session and changes another, whose store fails while saving: the
/// answer is an empty 500, and the renewed session's client is not left pointing at a record
/// that no longer exists (its old record, and its data, stay reachable).
pub async fn a_failed_session_leaves_the_others_usable<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let (middleware, switch) = visitor_and_failing_admin(factory).await;
    let (c, barriers) = client(middleware).await;
    c.ok("/named/set?session=visitor,admin&key=k&value=v").await;
    let request = c.get("/named/renew_and_set?renew=visitor&set=admin&key=k&value=w&park=1");
    let outage = async {
        barriers.loaded.notified().await;
        switch.store(false, Ordering::Relaxed);
        barriers.proceed.notify_one();
    };
    let (reply, ()) = futures_util::future::join(request, outage).await;
    switch.store(true, Ordering::Relaxed);
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply.body.is_empty(),
        "the error response leaks {:?}",
        reply.body
    );
    let visitor = c.ok("/named/get?session=visitor&key=k").await;
    assert_eq!(
        visitor.json::<Option<String>>().as_deref(),
        Some("v@visitor"),
        "the renewed session's client lost its session"
    );
}

/// A request changes two sessions and the second one's store fails while saving: the first
/// one's change was saved, and its cookie (if the change needs one) comes with the 500.
pub async fn a_session_saved_before_another_failed_keeps_its_change<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let (middleware, switch) = visitor_and_failing_admin(factory).await;
    let (c, barriers) = client(middleware).await;
    c.ok("/named/set?session=visitor,admin&key=k&value=v").await;
    let request = c.get("/named/set?session=visitor,admin&key=k&value=w&park=1");
    let outage = async {
        barriers.loaded.notified().await;
        switch.store(false, Ordering::Relaxed);
        barriers.proceed.notify_one();
    };
    let (reply, ()) = futures_util::future::join(request, outage).await;
    switch.store(true, Ordering::Relaxed);
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let visitor = c.ok("/named/get?session=visitor&key=k").await;
    assert_eq!(
        visitor.json::<Option<String>>().as_deref(),
        Some("w@visitor"),
        "the change saved before the failure was lost (or its cookie was dropped)"
    );
    let admin = c.ok("/named/get?session=admin&key=k").await;
    assert_eq!(admin.json::<Option<String>>().as_deref(), Some("v@admin"));
}

/// A request whose first session was saved and whose second ran out of its retry budget is
/// not told to retry (a retry would apply the first change twice): an empty 500, no
/// `Retry-After`. A request that saved nothing before the contention may be told to retry.
pub async fn no_retry_is_asked_for_after_part_of_a_request_was_saved<F: StoreFactory>(
    factory: F,
    _: Capabilities,
) {
    let admin = Switchable::new(factory.make().await);
    let conflicts = admin.conflicts();
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(factory.make().await).cookie_name("visitor"))
        .session(
            SessionConfig::new(admin)
                .cookie_name("admin")
                .retry_budget(std::time::Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let (c, barriers) = client(middleware).await;
    c.ok("/named/set?session=visitor,admin&key=k&value=v").await;
    let request = c.get("/named/set?session=visitor,admin&key=k&value=w&park=1");
    let contention = async {
        barriers.loaded.notified().await;
        conflicts.store(true, Ordering::Relaxed);
        barriers.proceed.notify_one();
    };
    let (reply, ()) = futures_util::future::join(request, contention).await;
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a request whose first session was saved was answered as retryable"
    );
    assert!(reply.body.is_empty(), "the answer leaks {:?}", reply.body);
    assert!(reply.set_cookies.iter().all(|c| c.cookie.name() != "admin"));
    let only_admin = c.get("/named/set?session=admin&key=k&value=x").await;
    assert_eq!(only_admin.status, StatusCode::SERVICE_UNAVAILABLE);
    conflicts.store(false, Ordering::Relaxed);
    let visitor = c.ok("/named/get?session=visitor&key=k").await;
    assert_eq!(
        visitor.json::<Option<String>>().as_deref(),
        Some("w@visitor")
    );
    let admin = c.ok("/named/get?session=admin&key=k").await;
    assert_eq!(admin.json::<Option<String>>().as_deref(), Some("v@admin"));
}
