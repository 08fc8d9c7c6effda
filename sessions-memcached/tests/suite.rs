//! The conformance suite against memcached, behind the real middleware: the text protocol on
//! the plain server, the binary protocol with SASL, and both protocols on a ring of three
//! servers.

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

mod ring_text {
    use super::*;

    sessions_test::suite!(
        || async {
            common::ring_builder(common::RING, "memcache")
                .build()
                .expect("valid settings")
        },
        capabilities()
    );
}

mod ring_binary {
    use super::*;

    sessions_test::suite!(
        || async {
            common::ring_builder(common::RING, "memcache+binary")
                .build()
                .expect("valid settings")
        },
        capabilities()
    );
}
