//! 256 concurrent writers of one session on the MongoDB-protocol server: none lost, none
//! applied twice.

mod common;

use sessions_mongo::MongoStore;

#[test]
fn concurrent_writers_of_one_session() {
    sessions_test::run(async {
        let store = MongoStore::builder(common::mongodb_url())
            .database("sessions_test_stress")
            .build()
            .await
            .expect("a valid URL");
        sessions_test::stress(store, 256).await;
    });
}
