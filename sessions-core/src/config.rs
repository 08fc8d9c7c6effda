//! Configuration: [`SessionConfig`] (one named session) and its defaults, in one place.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::SameSite;

use crate::codec::{Codec, MsgPack};
use crate::cookie_rules::{self, CookieSettings};
use crate::dyn_store::{DynStore, Observed};
use crate::error::ConfigError;
use crate::fallback::FallbackLoader;
use crate::log_limit::{LOG_INTERVAL, LogLimit};
use crate::options::Lifecycle;
use crate::queue::SaveQueue;
use crate::seal::CookieSecurity;
use crate::store::SessionStore;

/// When the store's TTL (and a persistent cookie's `Max-Age`) is pushed back.
///
/// ```
/// use sessions_core::TtlExtensionPolicy;
/// assert_eq!(TtlExtensionPolicy::default(), TtlExtensionPolicy::OnStateChanges);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TtlExtensionPolicy {
    /// Only when the session's state changes (the default): reading a session costs no write.
    #[default]
    OnStateChanges,
    /// On every request that loads the session ("rolling" sessions): an active user is never
    /// logged out, at the cost of one store write (a cheap TTL touch) per such request.
    ///
    /// When the touch fails on a request that changed nothing (the store is down), the
    /// response is still served: the failure is logged at `warn` (at most once per 10 s per
    /// session, with a count of the others) and the session keeps its current expiry. A read
    /// never becomes a 500 because its TTL could not be extended.
    OnEveryRequest,
}

/// One session: its store, cookie, lifecycle and codec. The cookie name is the session's name.
///
/// Every setter names its default. The defaults are the secure choice: a `Secure`, `HttpOnly`,
/// `SameSite=Lax` cookie named `id` on path `/`, encrypted ([`CookieSecurity::Private`]),
/// lasting for the browser session with state kept one day after the last change, values
/// encoded as MessagePack.
///
/// ```
/// use std::time::Duration;
/// use sessions_core::{Lifecycle, SessionConfig, SessionMiddleware, Key};
/// use sessions_memstore::MemoryStore;
///
/// let middleware = SessionMiddleware::builder(Key::generate())
///     .session(
///         SessionConfig::new(MemoryStore::new())
///             .cookie_name("sid")
///             .lifecycle(Lifecycle::persistent(Duration::from_secs(7 * 24 * 3600))),
///     )
///     .build()
///     .unwrap();
/// # let _ = middleware;
/// ```
#[must_use]
pub struct SessionConfig {
    pub(crate) name: String,
    pub(crate) store: Arc<dyn DynStore>,
    pub(crate) cookie: CookieSettings,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) ttl_extension: TtlExtensionPolicy,
    pub(crate) security: CookieSecurity,
    pub(crate) codec: Arc<dyn Codec>,
    pub(crate) retry_budget: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    /// The id of a user codec that took one of the built-in codecs' ids (reported by `build()`).
    pub(crate) reserved_codec_id: Option<u8>,
    /// This session's saves in progress in this process (see `queue.rs`).
    pub(crate) saves: SaveQueue,
    /// Forged or garbled cookies of this session, logged at most once per interval.
    pub(crate) forged_cookies: LogLimit,
    /// Failed TTL extensions on read-only requests, logged at most once per interval.
    pub(crate) failed_touches: LogLimit,
    /// Records that do not decode (any client can point its cookie at one on every request).
    pub(crate) unreadable_records: LogLimit,
    /// Asked for a first state when no cookie of ours opened.
    pub(crate) fallback: Option<Box<dyn FallbackLoader>>,
}

/// The default cookie name (actix-session's as well).
pub const DEFAULT_COOKIE_NAME: &str = "id";

/// The default time the store keeps a session after its last change: one day.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The default time a save keeps retrying while concurrent requests of the same session save
/// first: two seconds.
///
/// A save can lose every round for as long as another instance of the app has saves of the
/// session queued: that instance hands each of its saves the state the last one wrote, so they
/// write back to back, one round trip each, and a save from elsewhere (which must reload, then
/// write) gets through only when that queue drains. 64 parallel requests of one session spread
/// over two instances, on a store answering in 15 ms, keep the first save of the slower
/// instance waiting about half a second; the default leaves four times that.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(2);

impl SessionConfig {
    /// A session kept in `store`, with every setting at its default.
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store());
    /// # let _ = config;
    /// ```
    pub fn new(store: impl SessionStore) -> Self {
        Self {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            store: Arc::new(Observed::new(store)),
            cookie: CookieSettings {
                path: "/".to_owned(),
                domain: None,
                secure: true,
                http_only: true,
                same_site: SameSite::Lax,
                partitioned: false,
            },
            lifecycle: Lifecycle::browser_session(DEFAULT_TTL),
            ttl_extension: TtlExtensionPolicy::OnStateChanges,
            security: CookieSecurity::Private,
            codec: Arc::new(MsgPack),
            retry_budget: DEFAULT_RETRY_BUDGET,
            max_lifetime: None,
            reserved_codec_id: None,
            saves: SaveQueue::default(),
            forged_cookies: LogLimit::new(LOG_INTERVAL),
            failed_touches: LogLimit::new(LOG_INTERVAL),
            unreadable_records: LogLimit::new(LOG_INTERVAL),
            fallback: None,
        }
    }

    /// The cookie's name, which is also the session's name for [`Sessions::get`].
    /// Defaults to [`DEFAULT_COOKIE_NAME`] (`id`).
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_name("admin");
    /// # let _ = config;
    /// ```
    ///
    /// [`Sessions::get`]: crate::Sessions::get
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The cookie's `Path`. Defaults to `/`.
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_path("/app");
    /// # let _ = config;
    /// ```
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie.path = path.into();
        self
    }

    /// The cookie's `Domain`. Defaults to none: the cookie goes back only to the exact host
    /// that set it, which is the safer choice.
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_domain("example.com");
    /// # let _ = config;
    /// ```
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie.domain = Some(domain.into());
        self
    }

    /// The cookie's `Secure` attribute: sent over HTTPS only. Defaults to `true`. Browsers and
    /// curl treat `http://localhost` as secure, so local development works with the default.
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_secure(true);
    /// # let _ = config;
    /// ```
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie.secure = secure;
        self
    }

    /// The cookie's `HttpOnly` attribute: hidden from JavaScript. Defaults to `true`.
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_http_only(true);
    /// # let _ = config;
    /// ```
    pub fn cookie_http_only(mut self, http_only: bool) -> Self {
        self.cookie.http_only = http_only;
        self
    }

    /// The cookie's `SameSite` attribute. Defaults to [`SameSite::Lax`]: sent on top-level
    /// navigation from other sites, not on their subrequests (a first line against CSRF).
    ///
    /// ```
    /// use actix_web::cookie::SameSite;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_same_site(SameSite::Strict);
    /// # let _ = config;
    /// ```
    pub fn cookie_same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = same_site;
        self
    }

    /// The cookie's `Partitioned` attribute (CHIPS), for sessions inside third-party iframes.
    /// Requires `Secure`. Defaults to `false`. Pair it with [`SameSite::None`]: browsers do not
    /// set a `Lax` or `Strict` cookie from a cross-site frame.
    ///
    /// ```
    /// use actix_web::cookie::SameSite;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store())
    ///     .cookie_same_site(SameSite::None)
    ///     .cookie_partitioned(true);
    /// # let _ = config;
    /// ```
    pub fn cookie_partitioned(mut self, partitioned: bool) -> Self {
        self.cookie.partitioned = partitioned;
        self
    }

    /// How long the session lives. Defaults to [`Lifecycle::browser_session`] with a
    /// [`DEFAULT_TTL`] of one day.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sessions_core::Lifecycle;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store())
    ///     .lifecycle(Lifecycle::persistent(Duration::from_secs(30 * 24 * 3600)));
    /// # let _ = config;
    /// ```
    pub fn lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    /// When the TTL is extended. Defaults to [`TtlExtensionPolicy::OnStateChanges`].
    ///
    /// ```
    /// use sessions_core::TtlExtensionPolicy;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store())
    ///     .ttl_extension(TtlExtensionPolicy::OnEveryRequest);
    /// # let _ = config;
    /// ```
    pub fn ttl_extension(mut self, policy: TtlExtensionPolicy) -> Self {
        self.ttl_extension = policy;
        self
    }

    /// How the cookie value is protected. Defaults to [`CookieSecurity::Private`].
    ///
    /// ```
    /// use sessions_core::CookieSecurity;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).cookie_security(CookieSecurity::Signed);
    /// # let _ = config;
    /// ```
    pub fn cookie_security(mut self, security: CookieSecurity) -> Self {
        self.security = security;
        self
    }

    /// How session values are encoded. Defaults to [`MsgPack`].
    ///
    /// Changing the codec of a running application starts every client on a fresh session,
    /// because the payload records the codec that wrote it.
    ///
    /// ```
    /// use sessions_core::MsgPack;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).codec(MsgPack);
    /// # let _ = config;
    /// ```
    pub fn codec<C: Codec>(mut self, codec: C) -> Self {
        self.reserved_codec_id =
            (codec.id() < 128 && !crate::codec::is_built_in::<C>()).then(|| codec.id());
        self.codec = Arc::new(codec);
        self
    }

    /// Where a request with no cookie of this session that opens gets its first state (for
    /// example `sessions_actix_migration::ActixSessionMigration`, moving actix-session's users
    /// over). Defaults to none: such a request starts an empty session.
    ///
    /// ```
    /// # #[derive(Debug)]
    /// # struct Nothing;
    /// # impl sessions_core::FallbackLoader for Nothing {
    /// #     fn load<'a>(&'a self, _: &'a actix_web::HttpRequest, _: &'a dyn sessions_core::Codec)
    /// #         -> futures_util::future::LocalBoxFuture<'a, Result<Option<sessions_core::Fallback>, sessions_core::StoreError>> {
    /// #         Box::pin(async { Ok(None) })
    /// #     }
    /// # }
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).fallback_loader(Nothing);
    /// # let _ = config;
    /// ```
    pub fn fallback_loader(mut self, loader: impl FallbackLoader) -> Self {
        self.fallback = Some(Box::new(loader));
        self
    }

    /// The absolute lifetime (OWASP's "absolute timeout"): how long a session may live from its
    /// creation, however active it is. Neither the rolling TTL nor
    /// [`Session::renew`](crate::Session::renew) extends it; once it is over, the session reads
    /// as a fresh one, and the store's TTL and the cookie's `Max-Age` never outlast it.
    /// Defaults to none. At least one second.
    ///
    /// The creation time is kept in the session's payload, so this works with every store.
    /// Sessions that were written before an absolute lifetime was configured get their
    /// creation time at their next write.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sessions_core::TtlExtensionPolicy;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// // Rolling sessions that end after 30 minutes without a request, and after 12 hours
    /// // whatever happens.
    /// let config = sessions_core::SessionConfig::new(store())
    ///     .ttl_extension(TtlExtensionPolicy::OnEveryRequest)
    ///     .max_lifetime(Duration::from_secs(12 * 3600));
    /// # let _ = config;
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// How long a save keeps retrying while concurrent requests of the same session save
    /// first. Defaults to [`DEFAULT_RETRY_BUDGET`] (2 s).
    ///
    /// Saves of one session from this process take turns (waiting as long as the turn keeps
    /// being handed on, at least once per budget), and each passes the state it wrote to the
    /// next, so they rarely conflict. Saves from other processes meet at the store's
    /// compare-and-set: each conflict reloads the record, replays this request's changes on it
    /// and tries again, after a random pause that grows from about a millisecond up to 50 ms,
    /// so that requests that collided do not collide again. When the budget is spent the request is answered with
    /// [`SessionError::Contention`](crate::SessionError::Contention) (`503` with
    /// `Retry-After: 1`) and its changes are not saved: a save never silently drops a change.
    ///
    /// ```
    /// use std::time::Duration;
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// let config = sessions_core::SessionConfig::new(store()).retry_budget(Duration::from_secs(2));
    /// # let _ = config;
    /// ```
    pub fn retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = budget;
        self
    }

    /// The session's name (its cookie name).
    ///
    /// ```
    /// # fn store() -> sessions_memstore::MemoryStore { sessions_memstore::MemoryStore::new() }
    /// assert_eq!(sessions_core::SessionConfig::new(store()).name(), "id");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the settings that browsers would otherwise silently reject, and the codec id.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !cookie_rules::is_cookie_name(&self.name) {
            return Err(ConfigError::InvalidCookieName(self.name.clone()));
        }
        cookie_rules::check(&self.name, &self.cookie, self.lifecycle)?;
        if self.max_lifetime.is_some_and(|max| max.as_secs() == 0) {
            return Err(ConfigError::ZeroTtl(self.name.clone()));
        }
        if let Some(id) = self.reserved_codec_id {
            return Err(ConfigError::ReservedCodecId {
                session: self.name.clone(),
                id,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("name", &self.name)
            .field("cookie", &self.cookie)
            .field("lifecycle", &self.lifecycle)
            .field("ttl_extension", &self.ttl_extension)
            .field("security", &self.security)
            .field("codec", &self.codec.name())
            .field("retry_budget", &self.retry_budget)
            .field("max_lifetime", &self.max_lifetime)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SessionConfig {
        SessionConfig::new(crate::detached::DetachedStore)
    }

    #[test]
    fn defaults_are_secure() {
        let c = config();
        assert_eq!(c.name, "id");
        assert!(c.cookie.secure && c.cookie.http_only);
        assert_eq!(c.cookie.same_site, SameSite::Lax);
        assert_eq!(c.security, CookieSecurity::Private);
        assert_eq!(c.lifecycle, Lifecycle::browser_session(DEFAULT_TTL));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rejects_what_browsers_reject() {
        assert!(matches!(
            config().cookie_name("a b").validate(),
            Err(ConfigError::InvalidCookieName(_))
        ));
        assert!(matches!(
            config().cookie_name("").validate(),
            Err(ConfigError::InvalidCookieName(_))
        ));
        let partitioned = config().cookie_partitioned(true).cookie_secure(false);
        assert!(matches!(
            partitioned.validate(),
            Err(ConfigError::InsecureAttribute { .. })
        ));
        let none = config()
            .cookie_same_site(SameSite::None)
            .cookie_secure(false);
        assert!(matches!(
            none.validate(),
            Err(ConfigError::InsecureAttribute { .. })
        ));
        let zero = config().lifecycle(Lifecycle::persistent(Duration::from_millis(10)));
        assert_eq!(zero.validate(), Err(ConfigError::ZeroTtl("id".into())));
    }

    #[test]
    fn rejects_what_cookie_name_prefixes_forbid() {
        let missing = |c: SessionConfig| match c.validate() {
            Err(ConfigError::CookiePrefix { requirement, .. }) => Some(requirement),
            Ok(()) => None,
            Err(e) => panic!("unexpected error: {e}"),
        };
        for name in ["__Host-id", "__Secure-id", "__Http-id", "__Host-Http-id"] {
            assert_eq!(missing(config().cookie_name(name)), None, "{name}");
            let insecure = config().cookie_name(name).cookie_secure(false);
            assert_eq!(missing(insecure), Some("Secure"), "{name}");
        }
        for name in ["__Http-id", "__Host-Http-id", "__HTTP-id"] {
            let readable = config().cookie_name(name).cookie_http_only(false);
            assert_eq!(missing(readable), Some("HttpOnly"), "{name}");
        }
        for name in ["__Host-id", "__host-id", "__Host-Http-id"] {
            let path = config().cookie_name(name).cookie_path("/app");
            assert_eq!(missing(path), Some("Path=/"), "{name}");
            let domain = config().cookie_name(name).cookie_domain("localhost");
            assert_eq!(missing(domain), Some("no Domain"), "{name}");
        }
        assert_eq!(
            missing(config().cookie_name("__secure-id").cookie_secure(false)),
            Some("Secure")
        );
        // Not prefixes: the attributes are free.
        for name in ["_Host-id", "__Hostid", "Secure-id", "__Host"] {
            let loose = config()
                .cookie_name(name)
                .cookie_secure(false)
                .cookie_path("/a");
            assert_eq!(missing(loose), None, "{name}");
        }
    }

    #[test]
    fn overrides_apply_field_by_field() {
        let base = config().cookie;
        let merged = base.with(Some(&crate::SessionOptions::new().path("/x").secure(false)));
        assert_eq!(merged.path, "/x");
        assert!(!merged.secure);
        assert!(merged.http_only);
        assert_eq!(*base.with(None), base);
    }
}
