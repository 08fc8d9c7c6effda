//! One server behind either transport: the five item operations the store needs, dispatched to
//! the text ([`TextServer`]) or binary ([`BinaryServer`]) implementation.
//!
//! Both transports live behind one store type because the protocol is a property of a server's
//! address (its URL scheme), not of the session semantics: keys, TTL rules, CAS versions and
//! errors are the same, and an application switching to a hosted memcached changes a URL, not
//! a type.

use std::fmt;

use deadpool::managed::BuildError;

use crate::binary::BinaryServer;
use crate::config::Settings;
use crate::error::OpError;
use crate::server::{Protocol, ServerConfig};
use crate::socket::Tls;
use crate::text::TextServer;

/// A stored item: the payload and its CAS value (the session's version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) value: Vec<u8>,
    pub(crate) cas: u64,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteOutcome {
    /// Written; the item's new CAS value.
    Stored { cas: u64 },
    /// Not written: the key was taken (add), or the CAS moved on or the item is gone (CAS).
    NotStored,
}

/// A server and its connections.
pub(crate) enum Server {
    Text(TextServer),
    Binary(BinaryServer),
}

impl Server {
    pub(crate) fn new(
        config: ServerConfig,
        settings: &Settings,
        tls: &Tls,
    ) -> Result<Self, BuildError> {
        Ok(match config.protocol {
            Protocol::Text => Self::Text(TextServer::new(config, settings, tls.clone())?),
            Protocol::Binary => Self::Binary(BinaryServer::new(config, settings, tls.clone())),
        })
    }

    // The text transport's futures hold a deadpool checkout and an async-memcached call inline
    // (about 3 KB); they are boxed so that the binary transport's calls, a few hundred bytes,
    // are not sized (and moved into the middleware's box) as if they were text calls.

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, OpError> {
        match self {
            Self::Text(server) => Box::pin(server.get(key)).await,
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
            Self::Text(server) => Box::pin(server.add(key, value, expiration)).await,
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
            Self::Text(server) => {
                Box::pin(server.compare_and_set(key, value, expiration, cas)).await
            }
            Self::Binary(server) => server.compare_and_set(key, value, expiration, cas).await,
        }
    }

    pub(crate) async fn touch(&self, key: &str, expiration: u32) -> Result<(), OpError> {
        match self {
            Self::Text(server) => Box::pin(server.touch(key, expiration)).await,
            Self::Binary(server) => server.touch(key, expiration).await,
        }
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), OpError> {
        match self {
            Self::Text(server) => Box::pin(server.delete(key)).await,
            Self::Binary(server) => server.delete(key).await,
        }
    }

    /// Drops every item on the server (`flush_all`, binary FLUSH), at once.
    pub(crate) async fn flush(&self) -> Result<(), OpError> {
        match self {
            Self::Text(server) => Box::pin(server.flush()).await,
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
