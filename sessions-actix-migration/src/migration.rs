//! [`ActixSessionMigration`]: how to open an actix-session deployment's cookies, and the
//! [`FallbackLoader`] that turns the first one that opens into a session of ours.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::cookie::Key;
use futures_util::future::LocalBoxFuture;
use sessions_core::{Codec, CookieSecurity, Fallback, FallbackLoader, StoreError};

use crate::convert::convert;
use crate::legacy_cookie::{cookie_values, unseal};
use crate::records::LegacyRecords;

/// How many legacy cookie values that open with the old key one request may have looked up or
/// converted. A browser sends one, rarely two (a cookie set for another path); a header with
/// hundreds must not make hundreds of store calls.
const MAX_CANDIDATES: usize = 3;

/// How to open the cookies of an actix-session 0.11 deployment: its key, its
/// `CookieContentSecurity` (the core's [`CookieSecurity`] of the same name), its cookie name,
/// and, for its Redis store, where the records are. Give it to
/// [`SessionConfig::fallback_loader`](sessions_core::SessionConfig::fallback_loader).
///
/// ```
/// use actix_web::cookie::Key;
/// use sessions_actix_migration::ActixSessionMigration;
/// use sessions_core::{CookieSecurity, SessionConfig};
///
/// let old_key = Key::from(&[7; 64]); // the key actix-session was configured with
/// let migration = ActixSessionMigration::cookie_store(&old_key, CookieSecurity::Private);
/// assert!(!format!("{migration:?}").contains("7, 7"), "the key never shows");
/// let config = SessionConfig::new(sessions_memstore::MemoryStore::new()).fallback_loader(migration);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct ActixSessionMigration {
    key: Key,
    security: CookieSecurity,
    name: String,
    path: String,
    domain: Option<String>,
    accept_until: Option<SystemTime>,
    records: Option<Arc<dyn LegacyRecords>>,
}

impl ActixSessionMigration {
    /// For actix-session's `CookieSessionStore`: the state is in the cookie itself.
    ///
    /// Such a state has no record to end: a copy of an old cookie taken before the cut-over
    /// (from a stolen laptop, a proxy log) opens and converts again for as long as the old key
    /// is accepted, just as actix-session itself would have accepted it, log-outs included (it
    /// keeps no server-side state to end). Set a cut-off with
    /// [`accept_until`](Self::accept_until).
    ///
    /// ```
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Signed);
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn cookie_store(key: &Key, security: CookieSecurity) -> Self {
        Self {
            key: key.clone(),
            security,
            name: "id".to_owned(),
            path: "/".to_owned(),
            domain: None,
            accept_until: None,
            records: None,
        }
    }

    /// For a store that keeps the state server-side under the session key the cookie holds
    /// (actix-session's `RedisSessionStore`: `sessions_redis::ActixSessionRecords`).
    ///
    /// ```
    /// # use futures_util::future::LocalBoxFuture;
    /// # use sessions_actix_migration::LegacyRecords;
    /// # use sessions_core::StoreError;
    /// # struct Old;
    /// # impl LegacyRecords for Old {
    /// #     fn take<'a>(&'a self, _: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
    /// #         Box::pin(async { Ok(None) })
    /// #     }
    /// # }
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::store(&key, CookieSecurity::Private, Old);
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn store(key: &Key, security: CookieSecurity, records: impl LegacyRecords) -> Self {
        Self {
            records: Some(Arc::new(records)),
            ..Self::cookie_store(key, security)
        }
    }

    /// The name of actix-session's cookie. Defaults to `id` (actix-session's default).
    ///
    /// ```
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private)
    ///     .cookie_name("session");
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The `Path` actix-session set its cookie with (its `cookie_path`), so that the migrating
    /// response removes exactly that cookie. Defaults to `/` (actix-session's default).
    ///
    /// ```
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private)
    ///     .cookie_path("/app");
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `Domain` actix-session set its cookie with (its `cookie_domain`), so that the
    /// migrating response removes exactly that cookie. Defaults to none, the host only
    /// (actix-session's default).
    ///
    /// ```
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private)
    ///     .cookie_domain("example.com");
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// A cut-off: from `until` on, actix-session cookies are ignored (they start a fresh
    /// session, as any unknown cookie does). Defaults to none: accepted for as long as the
    /// migration is configured.
    ///
    /// This bounds how long a copy of an old cookie of actix-session's cookie store can be
    /// replayed (see [`cookie_store`](Self::cookie_store)); set it to the cut-over plus the
    /// longest session lifetime actix-session was configured with. With a server-side store
    /// it also ends the record lookups for cookies whose records are gone.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use sessions_actix_migration::ActixSessionMigration;
    /// use sessions_core::CookieSecurity;
    /// let key = actix_web::cookie::Key::generate();
    /// let cut_over = SystemTime::now();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Private)
    ///     .accept_until(cut_over + Duration::from_secs(14 * 24 * 3600));
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn accept_until(mut self, until: SystemTime) -> Self {
        self.accept_until = Some(until);
        self
    }

    /// The converted state of the first actix-session cookie of the request that opens with
    /// the old key and carries (or names) a state, with each value re-encoded by `codec`; its
    /// record, if it had one, is taken. `None` past the cut-off, or when no cookie does.
    ///
    /// Each distinct cookie value is opened once, and at most [`MAX_CANDIDATES`] of those that
    /// open are looked up: values that do not open (forged, another deployment's) cost no
    /// lookup and so cannot hide the real one.
    async fn take_state(
        &self,
        req: &HttpRequest,
        codec: &dyn Codec,
    ) -> Result<Option<Vec<(String, Vec<u8>)>>, StoreError> {
        if self.past_cut_off() {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        let mut tried = Vec::with_capacity(MAX_CANDIDATES);
        for raw in cookie_values(req.headers(), &self.name) {
            if !seen.insert(raw) {
                continue;
            }
            // Two values can seal the same content (actix-session seals anew on each write).
            let opened = unseal(&self.key, self.security, &self.name, raw);
            let Some(content) = opened.filter(|c| !tried.contains(c)) else {
                continue;
            };
            if tried.len() == MAX_CANDIDATES {
                break;
            }
            tried.push(content.clone());
            if let Some(values) = self.converted(content, codec).await? {
                return Ok(Some(values));
            }
        }
        Ok(None)
    }

    /// Whether the cut-off set with [`accept_until`](Self::accept_until) has come.
    fn past_cut_off(&self) -> bool {
        self.accept_until
            .is_some_and(|until| SystemTime::now() >= until)
    }

    /// The state an opened cookie carries, or the one its record held (taking the record).
    async fn converted(
        &self,
        content: String,
        codec: &dyn Codec,
    ) -> Result<Option<Vec<(String, Vec<u8>)>>, StoreError> {
        let json = match &self.records {
            None => Some(content),
            Some(records) => records.take(&content).await?,
        };
        Ok(json.and_then(|json| convert(&json, codec)))
    }
}

/// The first actix-session cookie that opens becomes the new session's state, and the
/// response that saves it removes the old cookie (ours replaces it instead when both have the
/// same name, path and domain). The core asks only when no cookie of ours opened, so a client
/// that went through the cut-over is never migrated again.
impl FallbackLoader for ActixSessionMigration {
    fn load<'a>(
        &'a self,
        req: &'a HttpRequest,
        codec: &'a dyn Codec,
    ) -> LocalBoxFuture<'a, Result<Option<Fallback>, StoreError>> {
        Box::pin(async move {
            let Some(values) = self.take_state(req, codec).await? else {
                return Ok(None);
            };
            let fallback = Fallback::new(values);
            Ok(Some(fallback.remove_cookie(
                &self.name,
                &self.path,
                self.domain.clone(),
            )))
        })
    }
}

impl fmt::Debug for ActixSessionMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActixSessionMigration")
            .field("key", &"<redacted>")
            .field("security", &self.security)
            .field("name", &self.name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("accept_until", &self.accept_until)
            .field("records", &self.records.is_some())
            .finish()
    }
}
