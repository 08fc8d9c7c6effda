//! [`Lifecycle`] and [`SessionOptions`]: how long a session lives, and per-session overrides.

use std::time::Duration;

use actix_web::cookie::SameSite;

use crate::payload::{PayloadError, Reader, Writer};

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

const LIFECYCLE: u8 = 1;
const PATH: u8 = 1 << 1;
const DOMAIN: u8 = 1 << 2;
const SECURE: u8 = 1 << 3;
const HTTP_ONLY: u8 = 1 << 4;
const SAME_SITE: u8 = 1 << 5;
const PARTITIONED: u8 = 1 << 6;

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

    /// Writes the overrides in the payload format: a presence byte, then each present field.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.byte(self.presence());
        if let Some(lifecycle) = &self.lifecycle {
            w.byte(u8::from(lifecycle.max_age().is_some()));
            w.varint(
                usize::try_from(lifecycle.ttl().as_secs())
                    .unwrap_or(usize::MAX)
                    .min(u32::MAX as usize),
            );
        }
        for text in [&self.path, &self.domain].into_iter().flatten() {
            w.bytes(text.as_bytes());
        }
        for flag in [self.secure, self.http_only].into_iter().flatten() {
            w.byte(u8::from(flag));
        }
        if let Some(same_site) = self.same_site {
            w.byte(same_site_tag(same_site));
        }
        if let Some(partitioned) = self.partitioned {
            w.byte(u8::from(partitioned));
        }
    }

    /// Reads what [`write`](Self::write) wrote.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, PayloadError> {
        let presence = r.byte()?;
        if presence & 0x80 != 0 {
            return Err(PayloadError::BadOption(presence));
        }
        let mut options = Self::new();
        if presence & LIFECYCLE != 0 {
            let persistent = read_bool(r)?;
            let ttl = Duration::from_secs(r.varint()? as u64);
            options.lifecycle = Some(if persistent {
                Lifecycle::persistent(ttl)
            } else {
                Lifecycle::browser_session(ttl)
            });
        }
        if presence & PATH != 0 {
            options.path = Some(r.string()?);
        }
        if presence & DOMAIN != 0 {
            options.domain = Some(r.string()?);
        }
        if presence & SECURE != 0 {
            options.secure = Some(read_bool(r)?);
        }
        if presence & HTTP_ONLY != 0 {
            options.http_only = Some(read_bool(r)?);
        }
        if presence & SAME_SITE != 0 {
            options.same_site = Some(same_site_from_tag(r.byte()?)?);
        }
        if presence & PARTITIONED != 0 {
            options.partitioned = Some(read_bool(r)?);
        }
        Ok(options)
    }

    fn presence(&self) -> u8 {
        [
            (self.lifecycle.is_some(), LIFECYCLE),
            (self.path.is_some(), PATH),
            (self.domain.is_some(), DOMAIN),
            (self.secure.is_some(), SECURE),
            (self.http_only.is_some(), HTTP_ONLY),
            (self.same_site.is_some(), SAME_SITE),
            (self.partitioned.is_some(), PARTITIONED),
        ]
        .into_iter()
        .filter(|(present, _)| *present)
        .fold(0, |bits, (_, bit)| bits | bit)
    }
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, PayloadError> {
    match r.byte()? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(PayloadError::BadOption(other)),
    }
}

fn same_site_tag(same_site: SameSite) -> u8 {
    match same_site {
        SameSite::Strict => 0,
        SameSite::Lax => 1,
        SameSite::None => 2,
    }
}

fn same_site_from_tag(tag: u8) -> Result<SameSite, PayloadError> {
    match tag {
        0 => Ok(SameSite::Strict),
        1 => Ok(SameSite::Lax),
        2 => Ok(SameSite::None),
        other => Err(PayloadError::BadOption(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(options: &SessionOptions) -> SessionOptions {
        let mut w = Writer(Vec::new());
        options.write(&mut w);
        let mut r = Reader(&w.0);
        let read = SessionOptions::read(&mut r).unwrap();
        assert!(r.byte().is_err(), "bytes left over");
        read
    }

    #[test]
    fn every_field_round_trips() {
        let all = SessionOptions::new()
            .lifecycle(Lifecycle::browser_session(Duration::from_secs(90)))
            .path("/p")
            .domain("example.com")
            .secure(false)
            .http_only(true)
            .same_site(SameSite::None)
            .partitioned(true);
        assert_eq!(round_trip(&all), all);
        assert_eq!(round_trip(&SessionOptions::new()), SessionOptions::new());
        let persistent = SessionOptions::new().max_age(Duration::from_secs(86_400 * 30));
        assert_eq!(round_trip(&persistent), persistent);
    }
}
