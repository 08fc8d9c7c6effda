//! What the test files share: the servers' URLs, and stores whose records stay apart from the
//! other tests' in a shared server.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sessions_redis::{RedisStore, RedisStoreBuilder};

pub(crate) mod drill;

/// An environment variable that `scripts/services.sh start` exports.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/services.sh start` and `source .services/env` first"
        )
    })
}

/// A key prefix no other store of this test run uses.
pub(crate) fn unique_prefix(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{kind}:{}:{started}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A builder for the server at the URL in `var`, with a key prefix of its own.
pub(crate) fn isolated(var: &str) -> RedisStoreBuilder {
    RedisStore::builder(env(var)).key_prefix(unique_prefix("suite"))
}

/// A builder for the TLS server (REDIS_TLS_URL, an ACL user's credentials in it), trusting
/// the certificate authority the services script made (REDIS_TLS_CA).
#[cfg(feature = "tls-rustls")]
pub(crate) fn tls(url: &str) -> RedisStoreBuilder {
    use sessions_redis::redis::TlsCertificates;
    // The application picks rustls's cryptography; these tests pick ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(env("REDIS_TLS_CA")).expect("read REDIS_TLS_CA");
    RedisStore::builder(url).tls_certificates(TlsCertificates {
        client_tls: None,
        root_cert: Some(ca),
    })
}
