//! 256 concurrent writers of one session on Redis: none lost, none applied twice.

use sessions_redis::RedisStore;

#[test]
fn concurrent_writers_of_one_session() {
    sessions_test::run(async {
        let url = std::env::var("REDIS_URL").expect("REDIS_URL (run scripts/services.sh start)");
        let store = RedisStore::builder(url)
            .key_prefix("stress:")
            .build()
            .expect("a valid URL");
        sessions_test::stress(store, 256).await;
    });
}
