//! The conformance suite against the primary that three sentinels watch
//! (REDIS_SENTINEL_URL, `redis+sentinel://…/sessions`).

mod common;

use sessions_test::Capabilities;

sessions_test::suite!(
    || async {
        common::isolated("REDIS_SENTINEL_URL")
            .build()
            .expect("REDIS_SENTINEL_URL is a valid Redis Sentinel URL")
    },
    Capabilities::server_side()
);
