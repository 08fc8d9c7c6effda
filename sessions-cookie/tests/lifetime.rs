//! The cookie store's absolute lifetime holds across renewals.

use std::time::Duration;

use sessions_cookie::CookieStore;
use sessions_core::{Key, SessionConfig, SessionMiddleware};

/// `renew()` (a log-in, a step-up, a periodic rotation) moves the state to a new cookie but
/// keeps the time the session was first issued: a stolen cookie plus an endpoint that renews
/// cannot outlive `max_lifetime`.
#[actix_web::test]
async fn a_renewal_keeps_the_issue_time() {
    let lifetime = Duration::from_secs(2);
    let store = CookieStore::builder().max_lifetime(lifetime).build();
    let middleware = SessionMiddleware::builder(Key::generate())
        .session(SessionConfig::new(store))
        .build()
        .unwrap();
    let (c, _) = sessions_test::client(middleware).await;
    c.ok("/set?key=user&value=ann").await;
    let issued = std::time::Instant::now();
    while issued.elapsed() < lifetime + Duration::from_millis(500) {
        actix_web::rt::time::sleep(Duration::from_millis(400)).await;
        c.ok("/renew").await;
    }
    assert_eq!(
        c.ok("/get?key=user").await.json::<Option<String>>(),
        None,
        "renewals kept the session alive {:?} past its issue, with a lifetime of {lifetime:?}",
        issued.elapsed()
    );
}
