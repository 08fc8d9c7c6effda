//! Moving users from actix-session 0.11 without logging anyone out (feature `actix-session`).
//!
//! With [`SessionConfig::migrate_from_actix_session`](crate::SessionConfig::migrate_from_actix_session),
//! a request that carries no session cookie of ours but an actix-session cookie sealed with the
//! old key is opened once: its state (actix-session keeps each value as a JSON string) is
//! converted into a new session of ours, stored when the response goes out, and the client
//! continues with our cookie. Values keep their JSON shape, so `session.get::<T>()` reads
//! whatever `actix_session::Session::insert::<T>()` wrote.
//!
//! A legacy session is converted at most once. Its server-side record (actix-session's Redis
//! store) is *taken*: read and deleted in one step, so of two parallel requests carrying it only
//! one converts it, and a copy of its cookie replayed later finds nothing. The migrating
//! response removes the old cookie (or replaces it, when our cookie has its name, path and
//! domain). A client that already holds a cookie of ours is never migrated: its legacy state
//! was converted before, and converting it again would undo a log-out or an expiry.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::cookie::{Cookie, CookieJar, Key as ActixKey};
use actix_web::http::header::{HeaderMap, HeaderValue};
use futures_util::future::LocalBoxFuture;

use crate::codec::{Codec, encode_value};
use crate::config::{CookieSettings, SessionConfig};
use crate::cookie_header::{removal_cookie, request_cookies};
use crate::seal::CookieSecurity;
use crate::session::SessionData;
use crate::store::StoreError;

/// How many legacy cookie values that open with the old key one request may have looked up or
/// converted. A browser sends one, rarely two (a cookie set for another path); a header with
/// hundreds must not make hundreds of store calls.
const MAX_CANDIDATES: usize = 3;

/// Where actix-session kept the state its cookies name: records written by its
/// `RedisSessionStore` (implemented by `sessions_redis::ActixSessionRecords`).
///
/// The migration *takes* a record: it is converted once, and ended as it moves over, so that a
/// copy of the old cookie (captured before the cut-over, or sent by a second request in
/// parallel with the first) finds nothing.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use futures_util::future::LocalBoxFuture;
/// use sessions_core::{LegacyRecords, StoreError};
///
/// /// Old sessions kept in a map, for the example.
/// struct Old(Mutex<HashMap<String, String>>);
///
/// impl LegacyRecords for Old {
///     fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
///         // One lock: of two callers with the same key, only one gets the state.
///         Box::pin(async move { Ok(self.0.lock().unwrap().remove(key)) })
///     }
/// }
/// ```
pub trait LegacyRecords: Send + Sync + 'static {
    /// The JSON state (a map of names to JSON strings) actix-session stored for the session
    /// key `key`, if any, removed from the backend in the same step.
    ///
    /// Reading and removing must be atomic: of any number of concurrent calls with the same
    /// key, at most one returns the state (in Redis, one `GETDEL` or a script that reads and
    /// deletes). A record that is gone or expired is `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails; the request then fails as on any store outage.
    /// A failure after which the record may or may not be gone (a lost reply) is an error too:
    /// the client's next request takes it, or finds it gone and starts a fresh session.
    fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>>;
}

/// How to open the cookies of an actix-session 0.11 deployment: its key, its
/// `CookieContentSecurity` (our [`CookieSecurity`] of the same name), its cookie name, and,
/// for its Redis store, where the records are.
///
/// ```
/// use actix_web::cookie::Key;
/// use sessions_core::{ActixSessionMigration, CookieSecurity};
///
/// let old_key = Key::from(&[7; 64]); // the key actix-session was configured with
/// let migration = ActixSessionMigration::cookie_store(&old_key, CookieSecurity::Private);
/// assert!(!format!("{migration:?}").contains("7, 7"), "the key never shows");
/// ```
#[derive(Clone)]
pub struct ActixSessionMigration {
    key: ActixKey,
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
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::cookie_store(&key, CookieSecurity::Signed);
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn cookie_store(key: &ActixKey, security: CookieSecurity) -> Self {
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
    /// (actix-session's `RedisSessionStore`).
    ///
    /// ```
    /// # use futures_util::future::LocalBoxFuture;
    /// # use sessions_core::{LegacyRecords, StoreError};
    /// # struct Old;
    /// # impl LegacyRecords for Old {
    /// #     fn take<'a>(&'a self, _: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
    /// #         Box::pin(async { Ok(None) })
    /// #     }
    /// # }
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
    /// let key = actix_web::cookie::Key::generate();
    /// let migration = ActixSessionMigration::store(&key, CookieSecurity::Private, Old);
    /// # let _ = migration;
    /// ```
    #[must_use]
    pub fn store(key: &ActixKey, security: CookieSecurity, records: impl LegacyRecords) -> Self {
        Self {
            records: Some(Arc::new(records)),
            ..Self::cookie_store(key, security)
        }
    }

    /// The name of actix-session's cookie. Defaults to `id` (actix-session's default).
    ///
    /// ```
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
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
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
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
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
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
    /// use sessions_core::{ActixSessionMigration, CookieSecurity};
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

    /// The converted state of the first actix-session cookie in `headers` that opens with the
    /// old key and carries (or names) a state, with each value re-encoded by `codec`; its
    /// record, if it had one, is ended. `None` past the cut-off, or when no cookie does.
    ///
    /// Each distinct cookie value is opened once, and at most [`MAX_CANDIDATES`] of those that
    /// open are looked up: values that do not open (forged, another deployment's) cost no
    /// lookup and so cannot hide the real one.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] from the legacy records.
    pub(crate) async fn take_state(
        &self,
        headers: &HeaderMap,
        codec: &dyn Codec,
    ) -> Result<Option<Vec<(String, Vec<u8>)>>, StoreError> {
        if self.past_cut_off() {
            return Ok(None);
        }
        let mut seen = HashSet::new();
        let mut tried = Vec::with_capacity(MAX_CANDIDATES);
        for raw in request_cookies(headers, &self.name) {
            if !seen.insert(raw) {
                continue;
            }
            // Two values can seal the same content (actix-session seals anew on each write).
            let Some(content) = self.unseal(raw).filter(|c| !tried.contains(c)) else {
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

    /// The cookie the migrating response removes.
    pub(crate) fn legacy_cookie(&self) -> LegacyCookie {
        LegacyCookie {
            name: self.name.clone(),
            path: self.path.clone(),
            domain: self.domain.clone(),
        }
    }

    /// The cookie's content, as actix-session's cookie jar opens it.
    pub(crate) fn unseal(&self, raw: &[u8]) -> Option<String> {
        let raw = std::str::from_utf8(raw).ok()?;
        // actix-session percent-encodes the value it sets.
        let cookie = Cookie::parse_encoded(format!("{}={raw}", self.name)).ok()?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie.into_owned());
        let opened = match self.security {
            CookieSecurity::Private => jar.private(&self.key).get(&self.name),
            CookieSecurity::Signed => jar.signed(&self.key).get(&self.name),
        };
        opened.map(|cookie| cookie.value().to_owned())
    }
}

/// The actix-session cookie a migrated session came from: name, and the path and domain that
/// a removal must repeat for the browser to drop it.
#[derive(Debug)]
pub(crate) struct LegacyCookie {
    name: String,
    path: String,
    domain: Option<String>,
}

/// The removal of a migrated session's legacy cookie, decided before the session is saved and
/// sent after it saved.
#[derive(Debug)]
pub(crate) struct LegacyRemoval {
    name: String,
    settings: CookieSettings,
    /// Our cookie has the legacy cookie's name, path and domain, so setting (or removing) it
    /// replaces the legacy cookie in the browser.
    replaced_by_ours: bool,
    /// How many `Set-Cookie` headers the response had before this session's save.
    before: usize,
}

impl LegacyRemoval {
    /// Takes the legacy cookie out of a migrated session's `data`; `None` for any other session.
    /// Boxed: it is held across the save, inside the response future (see "Small futures" in
    /// docs/DESIGN.md).
    pub(crate) fn before_save(
        config: &SessionConfig,
        data: &mut SessionData,
        cookies: &[HeaderValue],
    ) -> Option<Box<Self>> {
        let legacy = data.legacy_cookie.take()?;
        let ours = config.cookie.with(data.state.options.as_deref());
        let replaced_by_ours = legacy.name == config.name
            && legacy.path == ours.path
            && legacy.domain.as_deref() == ours.domain.as_deref()
            // A partitioned cookie lives in a jar of its own and replaces nothing.
            && !ours.partitioned;
        let settings = CookieSettings {
            path: legacy.path,
            domain: legacy.domain,
            // actix-session never set `Partitioned` (actix-web's cookie crate has no such attribute).
            partitioned: false,
            ..config.cookie.clone()
        };
        Some(Box::new(Self {
            name: legacy.name,
            settings,
            replaced_by_ours,
            before: cookies.len(),
        }))
    }

    /// After the session saved: the removal, unless a cookie of ours just replaced the legacy
    /// one. (Two `Set-Cookie` headers for one cookie in one response are left to the browser's
    /// order of processing, which RFC 6265 advises against.) Not sent when the save failed: the
    /// client keeps the old cookie, and a cookie-store state converts again on its next request.
    pub(crate) fn after_save(self, cookies: &mut Vec<HeaderValue>) {
        if self.replaced_by_ours && cookies.len() > self.before {
            return;
        }
        cookies.push(removal_cookie(&self.name, &self.settings));
    }
}

/// actix-session's state (names to JSON strings) as our encoded values; `None` if it is not
/// such a map or a value cannot be re-encoded.
pub(crate) fn convert(json: &str, codec: &dyn Codec) -> Option<Vec<(String, Vec<u8>)>> {
    let state: HashMap<String, String> = serde_json::from_str(json).ok()?;
    state
        .into_iter()
        .map(|(name, value)| {
            let value: serde_json::Value = serde_json::from_str(&value).ok()?;
            let bytes = encode_value(codec, &value).ok()?;
            Some((name, bytes))
        })
        .collect()
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
