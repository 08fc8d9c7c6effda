//! The conformance suite against the server named by `MONGODB_URL`, behind the real middleware.
//!
//! Every store the factory makes uses one shared collection: the suite's cases do not need
//! stores that cannot see each other, and each store makes its own random keys. The collection
//! gets the TTL index (`migrate`), so on a long-lived server its records go once they expire.

mod common;

use sessions_mongo::MongoStore;
use sessions_test::Capabilities;

const DATABASE: &str = "sessions_test_suite";

async fn store() -> MongoStore {
    let store = MongoStore::builder(common::mongodb_url())
        .database(DATABASE)
        .build()
        .await
        .expect("MONGODB_URL is a valid MongoDB URL");
    store.migrate().await.expect("the TTL index can be created");
    store
}

sessions_test::suite!(store, Capabilities::server_side());
