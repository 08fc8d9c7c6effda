//! The conformance suite against one Redis server (REDIS_URL).

mod common;

use sessions_test::Capabilities;

sessions_test::suite!(
    || async {
        common::isolated("REDIS_URL")
            .build()
            .expect("REDIS_URL is a valid Redis URL")
    },
    Capabilities::server_side()
);
