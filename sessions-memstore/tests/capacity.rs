//! A full memory store still lets users log in and log out.

use std::time::Duration;

use actix_web::http::StatusCode;
use sessions_core::{Key, SessionConfig, SessionMiddleware};
use sessions_memstore::MemoryStore;

/// A store of capacity 8 filled by anonymous visitors (each wrote a CSRF token): new
/// visitors are refused, but a visitor's log-in (a renewal) and log-out with a flash
/// (purge, then a new session) both go through.
#[actix_web::test]
async fn a_full_store_never_refuses_a_log_in_or_a_log_out() {
    let store = MemoryStore::builder()
        .capacity(8)
        .sweep_interval(Duration::from_secs(3600))
        .build();
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(store.clone()))
        .build()
        .unwrap();
    let (c, _) = sessions_test::client(middleware).await;
    let mut visitors = Vec::new();
    for _ in 0..8 {
        c.set_cookie("id", None);
        c.ok("/set?key=csrf&value=t").await;
        visitors.push(c.cookie("id").unwrap());
    }
    c.set_cookie("id", None);
    let refused = c.get("/set?key=csrf&value=t").await;
    assert_eq!(
        refused.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a ninth visitor got in"
    );

    c.set_cookie("id", Some(&visitors[0]));
    let login = c.get("/renew_and_set?key=user&value=ann").await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "a full store refused a log-in"
    );
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
    let logout = c.get("/purge?flash=bye").await;
    assert_eq!(
        logout.status,
        StatusCode::OK,
        "a full store refused a log-out with a flash"
    );
    assert_eq!(c.ok("/flashes").await.json::<Vec<String>>(), ["bye"]);
    assert_eq!(c.ok("/get?key=user").await.json::<Option<String>>(), None);
}
