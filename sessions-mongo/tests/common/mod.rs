//! What every test file needs: the server's URL and a store in a database of its own.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses part of this module"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sessions_mongo::MongoStore;
use sessions_mongo::mongodb::Collection;
use sessions_mongo::mongodb::bson::Document;

/// The URL of the server under test, from `MONGODB_URL`.
pub fn mongodb_url() -> String {
    std::env::var("MONGODB_URL").unwrap_or_else(|_| {
        panic!(
            "MONGODB_URL is not set: run `scripts/services.sh start` and `source .services/env` \
             (or point MONGODB_URL at a MongoDB server)"
        )
    })
}

/// A database name no other test (in this run or an earlier one) uses.
pub fn unique_database() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("sessions_test_{:x}_{}_{n}", nanos, std::process::id())
}

/// A store on the server under test, in a database of its own.
pub struct TestStore {
    pub store: MongoStore,
    pub database: String,
}

impl TestStore {
    pub async fn new() -> Self {
        let database = unique_database();
        let store = MongoStore::builder(mongodb_url())
            .database(&database)
            .build()
            .await
            .unwrap();
        Self { store, database }
    }

    /// The session collection, for reading and planting raw documents.
    pub fn collection(&self) -> &Collection<Document> {
        self.store.collection()
    }

    /// The test passed: its database can go.
    pub async fn drop_database(self) {
        self.collection()
            .client()
            .database(&self.database)
            .drop()
            .await
            .unwrap();
    }
}
