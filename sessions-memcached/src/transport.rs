//! One server behind either transport: the item operations the store needs, dispatched to
//! the text ([`TextServer`]) or binary ([`BinaryServer`]) implementation.
//!
//! Both transports live behind one store type because the protocol is a property of a server's
//! address (its URL scheme), not of the session semantics: keys, TTL rules, CAS versions and
//! errors are the same, and an application switching to a hosted memcached changes a URL, not
//! a type.

use std::fmt;

use crate::binary::BinaryServer;
use crate::config::Settings;
use crate::error::OpError;
use crate::item::{Item, WriteOutcome};
use crate::server::{Protocol, ServerConfig};
use crate::socket::Tls;
use crate::text::TextServer;

/// A server and its connections.
pub(crate) enum Server {
    Text(TextServer),
    Binary(BinaryServer),
}

impl Server {
    pub(crate) fn new(config: ServerConfig, settings: &Settings, tls: &Tls) -> Self {
        match config.protocol {
            Protocol::Text => Self::Text(TextServer::new(config, settings, tls.clone())),
            Protocol::Binary => Self::Binary(BinaryServer::new(config, settings, tls.clone())),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, OpError> {
        match self {
            Self::Text(server) => server.get(key).await,
            Self::Binary(server) => server.get(key).await,
        }
    }

    pub(crate) async fn add(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
    ) -> Result<WriteOutcome, OpError> {
        match self {
            Self::Text(server) => server.add(key, value, expiration).await,
            Self::Binary(server) => server.add(key, value, expiration).await,
        }
    }

    pub(crate) async fn compare_and_set(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
        cas: u64,
    ) -> Result<WriteOutcome, OpError> {
        match self {
            Self::Text(server) => server.compare_and_set(key, value, expiration, cas).await,
            Self::Binary(server) => server.compare_and_set(key, value, expiration, cas).await,
        }
    }

    pub(crate) async fn touch(&self, key: &str, expiration: u32) -> Result<(), OpError> {
        match self {
            Self::Text(server) => server.touch(key, expiration).await,
            Self::Binary(server) => server.touch(key, expiration).await,
        }
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), OpError> {
        match self {
            Self::Text(server) => server.delete(key).await,
            Self::Binary(server) => server.delete(key).await,
        }
    }

    /// Drops every item on the server (`flush_all`, binary FLUSH), at once.
    pub(crate) async fn flush(&self) -> Result<(), OpError> {
        match self {
            Self::Text(server) => server.flush().await,
            Self::Binary(server) => server.flush().await,
        }
    }

    /// Opens (and authenticates) a connection and asks for the server's version.
    pub(crate) async fn version(&self) -> Result<String, OpError> {
        match self {
            Self::Text(server) => server.version().await,
            Self::Binary(server) => server.version().await,
        }
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        match self {
            Self::Text(server) => server.config(),
            Self::Binary(server) => server.config(),
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(server) => f
                .debug_struct("Text")
                .field("server", server.config())
                .field("open_connections", &server.open_connections())
                .finish_non_exhaustive(),
            Self::Binary(server) => f
                .debug_struct("Binary")
                .field("server", server.config())
                .field("open_connections", &server.open_connections())
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.config(), f)
    }
}
