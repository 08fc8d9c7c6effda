//! 256 concurrent writers of one session on memcached, over each protocol: none lost, none
//! applied twice.

mod common;

#[test]
fn concurrent_writers_of_one_session_text() {
    sessions_test::run(async {
        let store = common::builder(&common::url(common::PLAIN))
            .build()
            .unwrap();
        sessions_test::stress(store, 256).await;
    });
}

#[test]
fn concurrent_writers_of_one_session_binary() {
    sessions_test::run(async {
        let store = common::builder(&common::url(common::SASL)).build().unwrap();
        sessions_test::stress(store, 256).await;
    });
}
