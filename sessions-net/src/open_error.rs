//! The [`StoreError`] of a connection that could not be lent ([`OpenError`]).

use std::fmt;
use std::io;

use sessions_core::StoreError;

use crate::OpenError;

impl OpenError<StoreError> {
    /// The store error for this failure, naming the server as `server` (`"Redis"`,
    /// `"memcached on memcache://cache-1:11211"`; never a password).
    ///
    /// - The opener's own error is returned as it is: it already says what failed
    ///   (connecting, a TLS handshake, refused credentials).
    /// - A timeout is [`StoreError::unavailable`] whose source is an [`io::Error`] of kind
    ///   [`TimedOut`](io::ErrorKind::TimedOut), so callers can tell it from a refusal.
    /// - A call outside a Tokio runtime is [`StoreError::unavailable`] too.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sessions_core::StoreErrorKind;
    /// use sessions_net::OpenError;
    ///
    /// let err = OpenError::TimedOut(Duration::from_secs(2)).into_store_error(&"Redis");
    /// assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    /// assert!(err.to_string().starts_with("connecting to Redis timed out after 2s"));
    /// ```
    #[must_use]
    pub fn into_store_error(self, server: &dyn fmt::Display) -> StoreError {
        match self {
            Self::Failed(err) => err,
            Self::TimedOut(after) => StoreError::unavailable(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection opened within {after:?}"),
            ))
            .with_message(format!("connecting to {server} timed out after {after:?}")),
            Self::NoRuntime => StoreError::unavailable(Self::NoRuntime.to_string()).with_message(
                format!("{server} cannot be reached outside a Tokio runtime"),
            ),
        }
    }
}
