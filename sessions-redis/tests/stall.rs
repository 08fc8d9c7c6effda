//! A worker blocked in a synchronous handler delays only its own requests (REDIS_URL).

use sessions_redis::RedisStore;

#[test]
fn blocked_workers_do_not_stall_the_others() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "REDIS_URL is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    });
    let store = RedisStore::new(url).expect("REDIS_URL is a valid Redis URL");
    sessions_test::check_blocked_workers_do_not_stall_others(store);
}

#[test]
fn blocked_workers_do_not_stall_the_others_on_a_cluster() {
    let url = std::env::var("REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "REDIS_CLUSTER_URL is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    });
    let store = RedisStore::new(url).expect("REDIS_CLUSTER_URL is a valid Redis Cluster URL");
    sessions_test::check_blocked_workers_do_not_stall_others(store);
}
