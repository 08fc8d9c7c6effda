//! Shared helpers: server URLs from the environment, stores, payloads.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset"
)]

use std::time::Duration;

use sessions_core::SessionKey;
use sessions_memcached::{MemcachedStore, MemcachedStoreBuilder};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

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
    let item = format!("test:{}", key.as_str().unwrap());
    let mut found = Vec::new();
    for (index, address) in addresses.iter().enumerate() {
        let mut raw = RawClient::connect(address).await;
        if raw.get(&item).await.is_some() {
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
pub async fn raw_client() -> RawClient {
    RawClient::connect(&address(PLAIN)).await
}

/// A text-protocol client of the tests' own, one command at a time: independent of the store's
/// client, so that what it sees is what the server holds.
pub struct RawClient {
    stream: BufReader<TcpStream>,
}

impl RawClient {
    /// Connects to `address` (`host:port`).
    pub async fn connect(address: &str) -> Self {
        let stream = TcpStream::connect(address)
            .await
            .unwrap_or_else(|err| panic!("connect to memcached on {address}: {err}"));
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// `set <key> <flags> <ttl>`, which must be `STORED`.
    pub async fn set(&mut self, key: &str, value: &[u8], ttl: u32, flags: u32) {
        let mut command = format!("set {key} {flags} {ttl} {}\r\n", value.len()).into_bytes();
        command.extend_from_slice(value);
        command.extend_from_slice(b"\r\n");
        self.stream.get_mut().write_all(&command).await.unwrap();
        assert_eq!(self.line().await, "STORED");
    }

    /// The value under `key`, if any (`mg <key> v`).
    pub async fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let line = self.meta_get(key, "v").await?;
        let len: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut data = vec![0; len + 2];
        self.stream.read_exact(&mut data).await.unwrap();
        data.truncate(len);
        Some(data)
    }

    /// The remaining TTL memcached reports for `key` (`mg <key> t`; -1 for none), if it exists.
    pub async fn ttl(&mut self, key: &str) -> Option<i64> {
        let line = self.meta_get(key, "t").await?;
        let flag = line.split(' ').find_map(|flag| flag.strip_prefix('t'))?;
        Some(flag.parse().unwrap())
    }

    /// `mg <key> <flags>`: the reply line of a hit.
    async fn meta_get(&mut self, key: &str, flags: &str) -> Option<String> {
        let command = format!("mg {key} {flags}\r\n");
        self.stream
            .get_mut()
            .write_all(command.as_bytes())
            .await
            .unwrap();
        let line = self.line().await;
        match line.split(' ').next() {
            Some("EN") => None,
            Some("VA" | "HD") => Some(line),
            _ => panic!("memcached answered `mg` with {line:?}"),
        }
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        self.stream.read_line(&mut line).await.unwrap();
        line.trim_end().to_owned()
    }
}
