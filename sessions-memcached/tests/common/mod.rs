//! Shared helpers: server URLs from the environment, stores, payloads.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset"
)]

use std::time::Duration;

use sessions_core::SessionKey;
use sessions_memcached::{MemcachedStore, MemcachedStoreBuilder};

/// The plain server (text and binary, no authentication).
pub const PLAIN: &str = "MEMCACHED_URL";
/// The SASL server (binary protocol only).
pub const SASL: &str = "MEMCACHED_SASL_URL";
/// The ASCII-authentication server (text protocol only).
pub const AUTH: &str = "MEMCACHED_AUTH_URL";
/// A text-protocol server only the outage tests use (they pause it).
pub const OUTAGE: &str = "MEMCACHED_OUTAGE_URL";
/// A binary-protocol server only the outage tests use (they pause it).
pub const OUTAGE_BINARY: &str = "MEMCACHED_OUTAGE_BINARY_URL";

/// The URL in the environment variable `var`, or a failure saying how to start the servers.
pub fn url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `scripts/services.sh start` and `source .services/env` first")
    })
}

/// The environment variable `var` read as a process ID, or a failure saying how to start the
/// servers.
pub fn pid(var: &str) -> u32 {
    url(var)
        .parse()
        .unwrap_or_else(|_| panic!("{var} is not a process ID"))
}

/// The plain server's URL with the binary protocol's scheme.
pub fn plain_binary_url() -> String {
    url(PLAIN).replacen("memcache://", "memcache+binary://", 1)
}

/// Three plain servers, a ring no test disturbs (comma-separated URLs).
pub const RING: &str = "MEMCACHED_RING_URL";
/// Three plain servers the ejection tests pause (comma-separated URLs).
pub const EJECT: &str = "MEMCACHED_EJECT_URL";
/// Three plain servers only the rejoin test pauses (comma-separated URLs); the PID of server
/// `i` is in `MEMCACHED_REJOIN_<i>_PID`.
pub const REJOIN: &str = "MEMCACHED_REJOIN_URL";

/// `host:port` of each server in the comma-separated list in `var`.
pub fn addresses(var: &str) -> Vec<String> {
    url(var)
        .split(',')
        .map(|url| {
            url.split_once("://")
                .map_or(url, |(_, rest)| rest)
                .to_owned()
        })
        .collect()
}

/// Which of the servers at `addresses` hold the session `key` (stored with the prefix of
/// [`builder`]), asked behind the store's back.
pub async fn holders(addresses: &[String], key: &SessionKey) -> Vec<usize> {
    use sessions_memcached::async_memcached::{AsciiProtocol as _, Client};

    let item = format!("test:{}", key.as_str().unwrap());
    let mut found = Vec::new();
    for (index, address) in addresses.iter().enumerate() {
        let mut raw = Client::new(format!("tcp://{address}")).await.unwrap();
        if raw.get(&item).await.unwrap().is_some() {
            found.push(index);
        }
    }
    found
}

/// A builder with short timeouts on every server of the comma-separated list in `var`, each
/// URL with its scheme replaced by `scheme`.
pub fn ring_builder(var: &str, scheme: &str) -> MemcachedStoreBuilder {
    let urls: Vec<String> = url(var)
        .split(',')
        .map(|url| {
            let (_, rest) = url.split_once("://").expect("a URL with a scheme");
            format!("{scheme}://{rest}")
        })
        .collect();
    let (first, rest) = urls.split_first().expect("at least one URL");
    rest.iter()
        .fold(builder(first), |builder, url| builder.server(url))
}

/// `host:port` of the server in `var`.
pub fn address(var: &str) -> String {
    let url = url(var);
    let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    rest.rsplit_once('@')
        .map_or(rest, |(_, host)| host)
        .to_owned()
}

/// A builder with short timeouts, so failing tests fail fast.
pub fn builder(url: &str) -> MemcachedStoreBuilder {
    MemcachedStore::builder(url)
        .key_prefix("test:")
        .connect_timeout(Duration::from_secs(2))
        .io_timeout(Duration::from_secs(2))
}

/// A payload no other test writes.
pub fn unique_payload() -> Vec<u8> {
    let mut payload = b"payload-".to_vec();
    payload.extend_from_slice(SessionKey::generate().as_bytes());
    payload
}

/// A raw text-protocol client on the plain server, to look at items behind the store's back.
pub async fn raw_client() -> sessions_memcached::async_memcached::Client {
    sessions_memcached::async_memcached::Client::new(format!("tcp://{}", address(PLAIN)))
        .await
        .expect("connect to the plain memcached")
}
