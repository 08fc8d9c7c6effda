//! How transport failures become [`StoreError`]s, and which of them are worth one retry.

use std::fmt;
use std::io;
use std::time::Duration;

use sessions_core::StoreError;

/// A failed operation on one server.
#[derive(Debug)]
pub(crate) enum OpError {
    /// A connection broke (reset, closed, end of stream, or its runtime shut down) before the
    /// reply arrived. The server may simply have restarted, so the store retries once on a
    /// fresh connection.
    Retriable(StoreError),
    /// Anything else: a timeout, a refused connection, a rejected request. Retrying would only
    /// double the wait.
    Final(StoreError),
}

impl OpError {
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            Self::Retriable(err) | Self::Final(err) => err,
        }
    }
}

impl From<StoreError> for OpError {
    fn from(err: StoreError) -> Self {
        Self::Final(err)
    }
}

/// The source of a timeout: an [`io::Error`] of kind `TimedOut`, so callers can match on it.
pub(crate) fn timed_out(what: &str, server: &dyn fmt::Display, after: Duration) -> StoreError {
    StoreError::unavailable(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no reply within {after:?}"),
    ))
    .with_message(format!(
        "memcached {what} on {server} timed out after {after:?}"
    ))
}

/// A server refused the configured credentials, or demands credentials that were not given.
#[derive(Debug)]
pub(crate) struct AuthError {
    pub(crate) detail: String,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for AuthError {}

/// The error for an authentication failure: not retried, and worded so the fix is obvious.
pub(crate) fn auth_failed(server: &dyn fmt::Display, detail: impl Into<String>) -> StoreError {
    StoreError::unavailable(AuthError {
        detail: detail.into(),
    })
    .with_message(format!(
        "memcached on {server} rejected the session store's authentication"
    ))
}
