//! The conformance suite against memcached: the text protocol on the plain server and the
//! binary protocol with SASL, each behind the real middleware.

mod common;

use std::time::Duration;

use sessions_memcached::MemcachedStore;
use sessions_test::Capabilities;

/// Memcached expires in whole seconds.
fn capabilities() -> Capabilities {
    Capabilities::server_side()
        .ttl(Duration::from_secs(3))
        .ttl_granularity(Duration::from_secs(1))
}

fn store(var: &str) -> MemcachedStore {
    common::builder(&common::url(var))
        .build()
        .expect("valid settings")
}

mod text {
    use super::*;

    sessions_test::suite!(|| async { store(common::PLAIN) }, capabilities());
}

mod binary_sasl {
    use super::*;

    sessions_test::suite!(|| async { store(common::SASL) }, capabilities());
}
