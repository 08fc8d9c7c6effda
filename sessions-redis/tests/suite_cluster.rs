//! The conformance suite against a Redis Cluster of 3 primaries and 3 replicas
//! (REDIS_CLUSTER_URL, `redis+cluster://` with the primaries as seeds).

mod common;

use sessions_test::Capabilities;

sessions_test::suite!(
    || async {
        common::isolated("REDIS_CLUSTER_URL")
            .build()
            .expect("REDIS_CLUSTER_URL is a valid Redis Cluster URL")
    },
    Capabilities::server_side()
);
