use sessions_core::{Key, SessionConfig, SessionMiddleware};
use sessions_memstore::MemoryStore;

use crate::{Capabilities, StoreFactory, client};

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
