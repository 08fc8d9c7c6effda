//! [`Lifecycle`] and [`SessionOptions`]: how long a session lives, and per-session overrides.

use std::time::Duration;

use actix_web::cookie::SameSite;

/// How long a session lives, in the browser and in the store.
///
/// ```
/// use std::time::Duration;
/// use sessions_core::Lifecycle;
///
/// let remember_me = Lifecycle::persistent(Duration::from_secs(30 * 24 * 3600));
/// assert_eq!(remember_me.max_age(), Some(Duration::from_secs(30 * 24 * 3600)));
/// assert_eq!(Lifecycle::browser_session(Duration::from_secs(3600)).max_age(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifecycle {
    /// The cookie has no `Max-Age`, so the browser drops it when it closes. The store still
    /// forgets the state `ttl` after it was last written (or touched, with a rolling policy),
    /// so an abandoned session does not live forever.
    BrowserSession {
        /// How long the store keeps the state.
        ttl: Duration,
    },
    /// The cookie's `Max-Age` and the store's TTL are both `ttl`.
    Persistent {
        /// How long both cookie and state live.
        ttl: Duration,
    },
}

impl Lifecycle {
    /// A session cookie without `Max-Age`; the store keeps the state for `ttl`.
    ///
    /// ```
    /// let l = sessions_core::Lifecycle::browser_session(std::time::Duration::from_secs(60));
    /// assert_eq!(l.ttl().as_secs(), 60);
    /// ```
    #[must_use]
    pub const fn browser_session(ttl: Duration) -> Self {
        Self::BrowserSession { ttl }
    }

    /// A cookie with `Max-Age = ttl`; the store keeps the state for `ttl` as well.
    ///
    /// ```
    /// let l = sessions_core::Lifecycle::persistent(std::time::Duration::from_secs(60));
    /// assert_eq!(l.max_age().unwrap().as_secs(), 60);
    /// ```
    #[must_use]
    pub const fn persistent(ttl: Duration) -> Self {
        Self::Persistent { ttl }
    }

    /// How long the store keeps the state after a write.
    ///
    /// ```
    /// let l = sessions_core::Lifecycle::persistent(std::time::Duration::from_secs(5));
    /// assert_eq!(l.ttl().as_secs(), 5);
    /// ```
    #[must_use]
    pub const fn ttl(&self) -> Duration {
        match *self {
            Self::BrowserSession { ttl } | Self::Persistent { ttl } => ttl,
        }
    }

    /// The cookie's `Max-Age`, if any.
    ///
    /// ```
    /// let l = sessions_core::Lifecycle::browser_session(std::time::Duration::from_secs(5));
    /// assert!(l.max_age().is_none());
    /// ```
    #[must_use]
    pub const fn max_age(&self) -> Option<Duration> {
        match *self {
            Self::BrowserSession { .. } => None,
            Self::Persistent { ttl } => Some(ttl),
        }
    }
}

/// Per-session overrides of the configured cookie and lifecycle, like gin's `session.Options`.
///
/// Set them with [`Session::set_options`](crate::Session::set_options). They are stored with
/// the session, so they hold for every later response of that session, not only the current
/// one: the typical use is "remember me", a longer persistent lifetime for one user.
///
/// ```
/// use std::time::Duration;
/// use sessions_core::SessionOptions;
///
/// let remember_me = SessionOptions::new().max_age(Duration::from_secs(30 * 24 * 3600));
/// # let _ = remember_me;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct SessionOptions {
    pub(crate) lifecycle: Option<Lifecycle>,
    pub(crate) path: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) secure: Option<bool>,
    pub(crate) http_only: Option<bool>,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) partitioned: Option<bool>,
}

impl SessionOptions {
    /// No overrides: everything as configured on the middleware.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new();
    /// assert_eq!(options, sessions_core::SessionOptions::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the session persistent for `ttl`: cookie `Max-Age` and store TTL both `ttl`.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().max_age(std::time::Duration::from_secs(60));
    /// # let _ = options;
    /// ```
    pub fn max_age(self, ttl: Duration) -> Self {
        self.lifecycle(Lifecycle::persistent(ttl))
    }

    /// Sets the session's whole [`Lifecycle`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use sessions_core::{Lifecycle, SessionOptions};
    /// let options = SessionOptions::new().lifecycle(Lifecycle::browser_session(Duration::from_secs(600)));
    /// # let _ = options;
    /// ```
    pub fn lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = Some(lifecycle);
        self
    }

    /// Overrides the cookie's `Path`.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().path("/admin");
    /// # let _ = options;
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Overrides the cookie's `Domain`.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().domain("example.com");
    /// # let _ = options;
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Overrides the cookie's `Secure` attribute.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().secure(true);
    /// # let _ = options;
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = Some(secure);
        self
    }

    /// Overrides the cookie's `HttpOnly` attribute.
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().http_only(true);
    /// # let _ = options;
    /// ```
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = Some(http_only);
        self
    }

    /// Overrides the cookie's `SameSite` attribute.
    ///
    /// ```
    /// use actix_web::cookie::SameSite;
    /// let options = sessions_core::SessionOptions::new().same_site(SameSite::Strict);
    /// # let _ = options;
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// Overrides the cookie's `Partitioned` attribute (CHIPS).
    ///
    /// ```
    /// let options = sessions_core::SessionOptions::new().partitioned(false);
    /// # let _ = options;
    /// ```
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = Some(partitioned);
        self
    }
}
