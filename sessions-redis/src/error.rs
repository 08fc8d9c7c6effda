//! [`RedisBuildError`]: why a [`RedisStore`](crate::RedisStore) could not be built.

use std::error::Error as StdError;
use std::fmt;

use deadpool_redis::redis::RedisError;
use sessions_net::ZeroTimeout;

/// Why [`RedisStoreBuilder::build`](crate::RedisStoreBuilder::build) (or
/// [`RedisStore::new`](crate::RedisStore::new)) failed. Building never connects, so this is
/// always a configuration mistake; an unreachable server shows up later, as
/// [`StoreError`](sessions_core::StoreError)s of kind `Unavailable`.
///
/// The message never contains the URL, which may hold a password.
///
/// ```
/// use sessions_redis::{RedisBuildError, RedisStore};
///
/// let err = RedisStore::new("http://:hunter2@example.com").unwrap_err();
/// assert!(matches!(err, RedisBuildError::InvalidUrl(_)));
/// assert!(!err.to_string().contains("hunter2"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisBuildError {
    /// The URL is not a Redis URL the store understands (its `source` says why). Note that
    /// `rediss` URLs need the `tls-rustls` or `tls-native-tls` feature.
    InvalidUrl(RedisError),
    /// A timeout was zero, which would fail every request.
    ZeroTimeout {
        /// The builder setter: `"connect_timeout"` or `"io_timeout"`.
        setting: &'static str,
    },
}

impl fmt::Display for RedisBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(_) => f.write_str("invalid Redis URL"),
            Self::ZeroTimeout { setting } => {
                write!(f, "the Redis store's {setting} must be longer than zero")
            }
        }
    }
}

impl StdError for RedisBuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidUrl(e) => Some(e),
            Self::ZeroTimeout { .. } => None,
        }
    }
}

impl From<ZeroTimeout> for RedisBuildError {
    fn from(err: ZeroTimeout) -> Self {
        Self::ZeroTimeout {
            setting: err.setting(),
        }
    }
}
