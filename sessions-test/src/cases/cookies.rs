use std::time::Duration;

use sessions_core::{Lifecycle, SameSite, SessionConfig};

use crate::cases::single;
use crate::{Capabilities, StoreFactory, client};

/// Every configured attribute appears on the `Set-Cookie` header, parsed (not string-matched).
pub async fn cookie_attributes_as_configured<F: StoreFactory>(factory: F, _: Capabilities) {
    let config = SessionConfig::new(factory.make().await)
        .cookie_name("sid")
        .cookie_path("/app")
        .cookie_domain("example.com")
        .cookie_same_site(SameSite::None)
        .cookie_partitioned(true)
        .lifecycle(Lifecycle::persistent(Duration::from_secs(3600)));
    let (c, _) = client(single(config)).await;
    let reply = c.ok("/set?key=a&value=1").await;
    let set = reply.set_cookie("sid").expect("a Set-Cookie for sid");
    let cookie = &set.cookie;
    assert_eq!(cookie.path(), Some("/app"));
    assert_eq!(cookie.domain(), Some("example.com"));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::None));
    assert_eq!(cookie.max_age().map(|age| age.whole_seconds()), Some(3600));
    assert!(
        set.flags.iter().any(|flag| flag == "partitioned"),
        "no Partitioned in {:?}",
        set.flags
    );
    assert!(!cookie.value().is_empty());

    // The defaults: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, no Partitioned.
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    let reply = c.ok("/set?key=a&value=1").await;
    let set = reply.set_cookie("id").expect("a Set-Cookie for id");
    assert_eq!(set.cookie.path(), Some("/"));
    assert_eq!(set.cookie.domain(), None);
    assert_eq!(
        (set.cookie.secure(), set.cookie.http_only()),
        (Some(true), Some(true))
    );
    assert_eq!(set.cookie.same_site(), Some(SameSite::Lax));
    assert!(!set.flags.iter().any(|flag| flag == "partitioned"));
}

/// A browser-session cookie has neither `Max-Age` nor `Expires`.
pub async fn browser_session_cookie_has_no_max_age<F: StoreFactory>(factory: F, _: Capabilities) {
    let config = SessionConfig::new(factory.make().await)
        .lifecycle(Lifecycle::browser_session(Duration::from_secs(600)));
    let (c, _) = client(single(config)).await;
    let reply = c.ok("/set?key=a&value=1").await;
    let set = reply.set_cookie("id").expect("a Set-Cookie");
    assert_eq!(set.cookie.max_age(), None);
    assert_eq!(set.cookie.expires(), None);
}

/// Per-session options ("remember me") hold for later responses of the session, not just one.
pub async fn remember_me_options_persist<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=user&value=ann").await;
    let reply = c.ok("/remember?secs=2592000").await;
    let max_age = |reply: &crate::Reply| {
        reply
            .set_cookie("id")
            .and_then(|s| s.cookie.max_age())
            .map(|a| a.whole_seconds())
    };
    assert_eq!(max_age(&reply), Some(2_592_000));
    let later = c.ok("/set?key=page&value=2").await;
    assert_eq!(
        max_age(&later),
        Some(2_592_000),
        "a later write dropped the remembered lifetime"
    );
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
}
