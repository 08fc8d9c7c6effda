//! [`MemcachedBuildError`]: why a store could not be built.

use std::fmt;

use sessions_core::StoreError;
use sessions_net::ZeroTimeout;

/// Why a [`MemcachedStore`](crate::MemcachedStore) could not be built.
///
/// Messages name servers by position or by their URL with the password redacted; they never
/// contain a password.
///
/// ```
/// use sessions_memcached::{MemcachedBuildError, MemcachedStore};
///
/// let err = MemcachedStore::builder("redis://user:hunter2@127.0.0.1").build().unwrap_err();
/// assert!(matches!(err, MemcachedBuildError::UnsupportedScheme { position: 1, .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MemcachedBuildError {
    /// A server URL does not parse.
    InvalidUrl {
        /// The URL's position among the servers, from 1.
        position: usize,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// A server URL's scheme is not `memcache`, `memcached`, `memcache+binary` or `memcached+binary`.
    UnsupportedScheme {
        /// The URL's position among the servers, from 1.
        position: usize,
        /// The scheme found.
        scheme: String,
    },
    /// A server URL has no host.
    MissingHost {
        /// The URL's position among the servers, from 1.
        position: usize,
    },
    /// A server URL has a path, query or fragment, which would be ignored.
    UnexpectedUrlPart {
        /// The URL's position among the servers, from 1.
        position: usize,
    },
    /// Credentials that the server's authentication cannot carry.
    InvalidCredentials {
        /// What is wrong with them (never the password itself).
        reason: String,
    },
    /// A key prefix that cannot be part of a memcached key.
    InvalidKeyPrefix {
        /// What is wrong with it.
        reason: String,
    },
    /// A server of weight zero, which would keep no sessions.
    ZeroWeight {
        /// The server's position, from 1.
        position: usize,
    },
    /// A zero timeout or interval, which would fail every request.
    ZeroTimeout {
        /// The builder setter: `"connect_timeout"`, `"io_timeout"` or `"retry_interval"`.
        setting: &'static str,
    },
    /// [`MemcachedStoreBuilder::connect`](crate::MemcachedStoreBuilder::connect) could not use a server.
    Unreachable {
        /// The server's URL, password redacted.
        server: String,
        /// What failed: connecting, authenticating or the version request.
        source: StoreError,
    },
}

impl fmt::Display for MemcachedBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { position, .. } => {
                write!(f, "memcached server URL #{position} is not a valid URL")
            }
            Self::UnsupportedScheme { position, scheme } => write!(
                f,
                "memcached server URL #{position} has the scheme `{scheme}`; expected `memcache` (text protocol) \
                 or `memcache+binary` (binary protocol)"
            ),
            Self::MissingHost { position } => {
                write!(f, "memcached server URL #{position} has no host")
            }
            Self::UnexpectedUrlPart { position } => {
                write!(
                    f,
                    "memcached server URL #{position} has a path, query or fragment; only user info, host and port are used"
                )
            }
            Self::InvalidCredentials { reason } => {
                write!(f, "invalid memcached credentials: {reason}")
            }
            Self::InvalidKeyPrefix { reason } => {
                write!(f, "invalid memcached key prefix: {reason}")
            }
            Self::ZeroWeight { position } => {
                write!(
                    f,
                    "the weight of memcached server #{position} must be at least 1"
                )
            }
            Self::ZeroTimeout { setting } => {
                write!(
                    f,
                    "the memcached store's {setting} must be longer than zero"
                )
            }
            Self::Unreachable { server, .. } => write!(f, "memcached on {server} cannot be used"),
        }
    }
}

impl std::error::Error for MemcachedBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidUrl { source, .. } => Some(source),
            Self::Unreachable { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ZeroTimeout> for MemcachedBuildError {
    fn from(err: ZeroTimeout) -> Self {
        Self::ZeroTimeout {
            setting: err.setting(),
        }
    }
}

/// The name [`MemcachedBuildError`] had; type names are unique across the store crates, since
/// one application may use two stores.
#[deprecated(since = "0.1.1", note = "renamed `MemcachedBuildError`")]
pub type BuildError = MemcachedBuildError;
