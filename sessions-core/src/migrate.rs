//! Moving users from actix-session 0.11 without logging anyone out (feature `actix-session`).
//!
//! With [`SessionConfig::migrate_from_actix_session`](crate::SessionConfig::migrate_from_actix_session),
//! a request that carries no session cookie of ours but an actix-session cookie sealed with the
//! old key is opened once: its state (actix-session keeps each value as a JSON string) is
//! converted into a new session of ours, stored when the response goes out, and the client
//! continues with our cookie. Values keep their JSON shape, so `session.get::<T>()` reads
//! whatever `actix_session::Session::insert::<T>()` wrote.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use actix_web::cookie::{Cookie, CookieJar, Key as ActixKey};
use futures_util::future::LocalBoxFuture;

use crate::codec::{Codec, encode_value};
use crate::seal::CookieSecurity;
use crate::store::StoreError;

/// Where actix-session kept the state its cookies name: records written by its
/// `RedisSessionStore` (implemented by `sessions_redis::ActixSessionRecords`).
///
/// ```
/// use futures_util::future::LocalBoxFuture;
/// use sessions_core::{LegacyRecords, StoreError};
///
/// /// Old sessions kept in a map, for the example.
/// struct Old(std::collections::HashMap<String, String>);
///
/// impl LegacyRecords for Old {
///     fn load<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
///         Box::pin(async move { Ok(self.0.get(key).cloned()) })
///     }
/// }
/// ```
pub trait LegacyRecords: Send + Sync + 'static {
    /// The JSON state (a map of names to JSON strings) actix-session stored for the session
    /// key `key`, if any.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails; the request then fails as on any store outage.
    fn load<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>>;
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
    records: Option<Arc<dyn LegacyRecords>>,
}

impl ActixSessionMigration {
    /// For actix-session's `CookieSessionStore`: the state is in the cookie itself.
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
    /// #     fn load<'a>(&'a self, _: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
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

    /// The name of actix-session's cookie, if it was not the default `id`.
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

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The state an actix-session cookie value carries or names, with each value re-encoded
    /// by `codec`; `None` when the value does not open with the old key or names no record.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] from the legacy records.
    pub(crate) async fn open(
        &self,
        raw: &[u8],
        codec: &dyn Codec,
    ) -> Result<Option<Vec<(String, Vec<u8>)>>, StoreError> {
        let Some(content) = self.unseal(raw) else {
            return Ok(None);
        };
        let json = match &self.records {
            None => Some(content),
            Some(records) => records.load(&content).await?,
        };
        Ok(json.and_then(|json| convert(&json, codec)))
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
            .field("records", &self.records.is_some())
            .finish()
    }
}
