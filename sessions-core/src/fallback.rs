//! The seam for sessions that start from state the core cannot open itself, such as another
//! library's cookies (`sessions-actix-migration` moves actix-session's over on it).

use std::fmt;

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use crate::codec::Codec;
use crate::store::StoreError;

/// Gives a new session its first state, from a request that brought no cookie of this session
/// that opened. Set with [`SessionConfig::fallback_loader`](crate::SessionConfig::fallback_loader).
///
/// A client holding a cookie of ours that opens is never asked about, even when that cookie's
/// record is gone: it started here, so a fallback state would undo its log-out or expiry.
///
/// ```
/// use actix_web::HttpRequest;
/// use futures_util::future::LocalBoxFuture;
/// use sessions_core::{Codec, Fallback, FallbackLoader, StoreError};
///
/// /// Starts a session for a client of the old app, which sent `X-Old-User`.
/// #[derive(Debug)]
/// struct OldHeader;
///
/// impl FallbackLoader for OldHeader {
///     fn load<'a>(
///         &'a self,
///         req: &'a HttpRequest,
///         codec: &'a dyn Codec,
///     ) -> LocalBoxFuture<'a, Result<Option<Fallback>, StoreError>> {
///         Box::pin(async move {
///             let user = req.headers().get("x-old-user").and_then(|v| v.to_str().ok());
///             // A value that does not encode starts an empty session, as no header does.
///             let value = user.and_then(|user| codec.encode(&user).ok());
///             Ok(value.map(|value| Fallback::new(vec![("user".to_owned(), value)])))
///         })
///     }
/// }
/// ```
pub trait FallbackLoader: fmt::Debug + Send + Sync + 'static {
    /// The state to start the session with, each value encoded with `codec` (the session's),
    /// or `None` for an empty session. The session is stored when the response goes out.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] fails the request as a failing store does (an empty 500).
    fn load<'a>(
        &'a self,
        req: &'a HttpRequest,
        codec: &'a dyn Codec,
    ) -> LocalBoxFuture<'a, Result<Option<Fallback>, StoreError>>;
}

/// A new session's first state, from a [`FallbackLoader`]: names and encoded values, and
/// optionally a cookie to remove once the session was saved.
///
/// ```
/// let fallback = sessions_core::Fallback::new(vec![("user".to_owned(), vec![0xa3, b'a', b'd', b'a'])])
///     .remove_cookie("old", "/", None);
/// # let _ = fallback;
/// ```
#[derive(Debug)]
pub struct Fallback {
    pub(crate) values: Vec<(String, Vec<u8>)>,
    pub(crate) remove: Option<Box<ForeignCookie>>,
}

impl Fallback {
    /// A state of `values` (names and values encoded with the codec given to the loader).
    ///
    /// ```
    /// let fallback = sessions_core::Fallback::new(Vec::new());
    /// # let _ = fallback;
    /// ```
    #[must_use]
    pub fn new(values: Vec<(String, Vec<u8>)>) -> Self {
        Self {
            values,
            remove: None,
        }
    }

    /// Removes the cookie `name`, set with `path` and `domain`, after the session saved: a
    /// `Max-Age=0` `Set-Cookie` with this session's other attributes. Not sent when the save
    /// fails (the client keeps it and can try again), nor when this session's own cookie has
    /// the same name, path and domain and was set by the same response (it replaces that one).
    /// Defaults to none.
    ///
    /// ```
    /// let fallback = sessions_core::Fallback::new(Vec::new()).remove_cookie("id", "/app", Some("example.com".into()));
    /// # let _ = fallback;
    /// ```
    #[must_use]
    pub fn remove_cookie(
        mut self,
        name: impl Into<String>,
        path: impl Into<String>,
        domain: Option<String>,
    ) -> Self {
        self.remove = Some(Box::new(ForeignCookie {
            name: name.into(),
            path: path.into(),
            domain,
        }));
        self
    }
}

/// A cookie that is not ours: name, and the path and domain that a removal must repeat.
#[derive(Debug)]
pub(crate) struct ForeignCookie {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
}
