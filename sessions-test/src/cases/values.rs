use sessions_core::SessionConfig;

use crate::cases::single;
use crate::{Capabilities, StoreFactory, client};

/// A value set in one request is read in the next.
pub async fn get_set_round_trip<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    assert_eq!(c.ok("/get?key=name").await.json::<Option<String>>(), None);
    c.ok("/set?key=name&value=ann").await;
    assert!(c.cookie("id").is_some(), "no session cookie after a write");
    assert_eq!(
        c.ok("/get?key=name")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );
    c.ok("/set?key=name&value=bob").await;
    assert_eq!(
        c.ok("/get?key=name")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("bob")
    );
}

/// Empty strings and non-ASCII text survive the round trip unchanged.
pub async fn unicode_and_empty_values_round_trip<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=empty&value=").await;
    c.ok("/set?key=text&value=%C3%A9t%C3%A9%20%E2%9C%93").await;
    assert_eq!(
        c.ok("/get?key=empty")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        c.ok("/get?key=text")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("été ✓")
    );
}

/// `remove` deletes one value and keeps the others.
pub async fn remove_deletes_one_value<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=a&value=1").await;
    c.ok("/set?key=b&value=2").await;
    assert!(c.ok("/remove?key=a").await.json::<bool>());
    assert_eq!(c.ok("/get?key=a").await.json::<Option<String>>(), None);
    assert_eq!(
        c.ok("/get?key=b").await.json::<Option<String>>().as_deref(),
        Some("2")
    );
    assert!(!c.ok("/remove?key=a").await.json::<bool>());
}

/// `clear` removes every value.
pub async fn clear_removes_all_values<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/set?key=a&value=1").await;
    c.ok("/set?key=b&value=2").await;
    c.ok("/clear").await;
    assert_eq!(
        c.ok("/keys").await.json::<Vec<String>>(),
        Vec::<String>::new()
    );
}

/// Flashes come back once, in order, then are gone.
pub async fn flashes_drain_on_read<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/flash?value=first").await;
    c.ok("/flash?value=second").await;
    assert_eq!(
        c.ok("/flashes").await.json::<Vec<String>>(),
        ["first", "second"]
    );
    assert_eq!(
        c.ok("/flashes").await.json::<Vec<String>>(),
        Vec::<String>::new()
    );
}

/// Flashes under different keys are separate.
pub async fn flashes_by_key<F: StoreFactory>(factory: F, _: Capabilities) {
    let (c, _) = client(single(SessionConfig::new(factory.make().await))).await;
    c.ok("/flash?to=error&value=bad").await;
    c.ok("/flash?value=plain").await;
    assert_eq!(
        c.ok("/flashes?from=error").await.json::<Vec<String>>(),
        ["bad"]
    );
    assert_eq!(
        c.ok("/flashes?from=error").await.json::<Vec<String>>(),
        Vec::<String>::new()
    );
    assert_eq!(c.ok("/flashes").await.json::<Vec<String>>(), ["plain"]);
}
