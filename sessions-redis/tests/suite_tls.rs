//! The conformance suite over TLS, as an ACL user limited to the store's commands
//! (REDIS_TLS_URL, `rediss://sessions:…@…`; needs the `tls-rustls` feature).

mod common;

use sessions_test::Capabilities;

sessions_test::suite!(
    || async {
        common::tls(&common::env("REDIS_TLS_URL"))
            .key_prefix(common::unique_prefix("suite"))
            .build()
            .expect("REDIS_TLS_URL is a valid Redis URL")
    },
    Capabilities::server_side()
);
