//! The [`Session`] handle that handlers read and change.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SessionKey;
use crate::changes::{Changes, UpdateFn};
use crate::codec::{CodecError, decode_value, encode_value};
use crate::config::SessionConfig;
use crate::cookie_rules;
use crate::cookie_rules::CookieSettings;
use crate::error::ConfigError;
use crate::fallback::ForeignCookie;
use crate::options::SessionOptions;
use crate::payload::{Flash, State};
use crate::store::Version;
use crate::token;

/// The flash key used when none is given, as in gin.
pub const DEFAULT_FLASH_KEY: &str = "_flash";

/// The record a session was loaded from.
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) key: SessionKey,
    pub(crate) version: Version,
    /// When it was read live: a tombstone written after that lasts `TOMBSTONE_TTL` from then
    /// at least, so a record found gone sooner was not renewed away.
    pub(crate) read_at: Instant,
}

/// Where the session came from, and what must happen to it when the response goes out.
#[derive(Debug, Default)]
pub(crate) struct SessionData {
    pub(crate) state: State,
    /// The record it was loaded from; `None` for a new session.
    pub(crate) origin: Option<Origin>,
    /// The cookie was opened with a retired key and should be sealed again.
    pub(crate) by_old_key: bool,
    pub(crate) changes: Changes,
    pub(crate) renew: bool,
    /// The record a purge took out of this request's view, to end in the store.
    pub(crate) purged: Option<Origin>,
    /// Loaded without the creation time its absolute lifetime counts from: it gets one now,
    /// and is written even if nothing else changes, so the lifetime counts from this load.
    pub(crate) unstamped: bool,
    /// After a purge: the attributes of the cookie to remove, unless a new session replaces it.
    /// Boxed, like the state's options: rarely set, and the data is moved several times per
    /// request.
    pub(crate) remove_cookie: Option<Box<CookieSettings>>,
    /// A session started by a fallback loader: the cookie it came from, which the save removes
    /// (or ours replaces).
    pub(crate) remove_foreign: Option<Box<ForeignCookie>>,
}

impl SessionData {
    /// Whether the save writes the session's state (not only a touch, a purge or a cookie).
    pub(crate) fn changed(&self) -> bool {
        !self.changes.is_empty() || self.unstamped
    }
}

/// What a request did to its session; decides the store call and the cookie at response time.
///
/// ```
/// use sessions_core::SessionStatus;
/// assert_ne!(SessionStatus::Unchanged, SessionStatus::Changed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStatus {
    /// Nothing changed: nothing is written (unless the TTL policy is rolling).
    Unchanged,
    /// Values, flashes or options changed: the session is saved.
    Changed,
    /// [`Session::renew`] was called (and not undone by a later [`Session::purge`]): the state
    /// moves to a new key. Reported for a session that was never stored too, though nothing
    /// moves then: a new session gets a fresh key anyway.
    Renewed,
    /// [`Session::purge`] was called and nothing was stored since: the record is deleted and
    /// the cookie removed.
    Purged,
}

/// A request's session: typed values, flashes and lifecycle controls.
///
/// Extract it in a handler (`session: Session`); it is loaded from the store on extraction, and
/// saved by [`SessionMiddleware`](crate::SessionMiddleware) when the response goes out if
/// anything changed. Cloning is cheap and clones share state. Values are encoded by the
/// session's [`Codec`](crate::Codec) when inserted and decoded when read.
///
/// Names follow gin-contrib/sessions where they fit: `insert` is gin's `Set`, `remove` is
/// `Delete`, `flashes` drains as `Flashes` does.
///
/// ```no_run
/// use actix_web::{get, HttpResponse, Result};
/// use sessions_core::Session;
///
/// #[get("/incr")]
/// async fn incr(session: Session) -> Result<HttpResponse> {
///     let count = session.get::<u64>("count")?.map_or(0, |n| n + 1);
///     session.insert("count", count)?;
///     Ok(HttpResponse::Ok().json(serde_json::json!({ "count": count })))
/// }
/// ```
#[derive(Clone)]
pub struct Session(Rc<SessionInner>);

struct SessionInner {
    config: Arc<SessionConfig>,
    data: RefCell<SessionData>,
}

impl Session {
    pub(crate) fn new(config: Arc<SessionConfig>, data: SessionData) -> Self {
        Self(Rc::new(SessionInner {
            config,
            data: RefCell::new(data),
        }))
    }

    /// A session that belongs to no request and no store, for unit tests of code that takes a
    /// [`Session`]. Changes stay in memory; it uses the default codec ([`MsgPack`](crate::MsgPack)).
    ///
    /// ```
    /// use sessions_core::Session;
    ///
    /// fn remember_visit(session: &Session) -> Result<(), sessions_core::CodecError> {
    ///     let visits = session.get::<u32>("visits")?.unwrap_or(0);
    ///     session.insert("visits", visits + 1)
    /// }
    ///
    /// let session = Session::detached();
    /// remember_visit(&session)?;
    /// remember_visit(&session)?;
    /// assert_eq!(session.get::<u32>("visits")?, Some(2));
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn detached() -> Self {
        let config = SessionConfig::new(crate::detached::DetachedStore);
        Self::new(Arc::new(config), SessionData::default())
    }

    /// A detached session with `codec` and `state` (for format tests).
    #[cfg(test)]
    pub(crate) fn detached_from(codec: impl crate::Codec, state: crate::payload::State) -> Self {
        let config = SessionConfig::new(crate::detached::DetachedStore).codec(codec);
        Self::new(
            Arc::new(config),
            SessionData {
                state,
                ..SessionData::default()
            },
        )
    }

    /// An empty detached session with `codec`.
    #[cfg(test)]
    pub(crate) fn detached_with(codec: impl crate::Codec) -> Self {
        Self::detached_from(codec, crate::payload::State::default())
    }

    /// A copy of the current state.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> State {
        self.data().state.clone()
    }

    pub(crate) fn config(&self) -> &Arc<SessionConfig> {
        &self.0.config
    }

    pub(crate) fn data_mut(&self) -> RefMut<'_, SessionData> {
        self.0.data.borrow_mut()
    }

    fn data(&self) -> Ref<'_, SessionData> {
        self.0.data.borrow()
    }

    /// Applies a change to the state and records it, in one borrow.
    fn change<T>(&self, change: impl FnOnce(&mut Changes, &mut State) -> T) -> T {
        let mut data = self.data_mut();
        let SessionData { state, changes, .. } = &mut *data;
        change(changes, state)
    }

    /// Reads the value under `key` as a `T`; `None` when there is none.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("user_id", 42_u64)?;
    /// assert_eq!(session.get::<u64>("user_id")?, Some(42));
    /// assert_eq!(session.get::<u64>("missing")?, None);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the stored value is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CodecError> {
        let data = self.data();
        data.state
            .entries
            .get(key)
            .map(|bytes| decode_value(&*self.0.config.codec, bytes))
            .transpose()
    }

    /// Stores `value` under `key` (gin's `Set`). Storing the value a key already holds is not a change.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("cart", vec!["apple", "pear"])?;
    /// assert_eq!(session.get::<Vec<String>>("cart")?.unwrap().len(), 2);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the codec cannot represent `value`.
    #[doc(alias = "set")]
    pub fn insert<T: Serialize>(&self, key: impl Into<String>, value: T) -> Result<(), CodecError> {
        let bytes = encode_value(&*self.0.config.codec, &value)?;
        self.change(|changes, state| changes.set(state, key.into(), bytes));
        Ok(())
    }

    /// Removes the value under `key` (gin's `Delete`); returns whether there was one.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("token", "abc")?;
    /// assert!(session.remove("token"));
    /// assert!(!session.remove("token"));
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[doc(alias = "delete")]
    pub fn remove(&self, key: &str) -> bool {
        self.change(|changes, state| changes.remove(state, key))
    }

    /// Changes the value under `key` with `f`, and keeps `f` to run again if a concurrent
    /// request of the same session saves first: `f` then gets the value *that* request stored.
    /// Returns the new value as this request computed it.
    ///
    /// Use it for read-modify-write (counters, carts, rate limits): with `get` then `insert`,
    /// two requests that read 5 both write 6; with `update`, N concurrent increments end at
    /// exactly N more, on every store with compare-and-set. Use [`insert`](Self::insert) when
    /// the new value does not depend on the old one (a user id at log-in): the last writer
    /// wins. `f` may run several times, so keep it free of side effects; the value a response
    /// shows can lag behind the stored one when a concurrent request was merged.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// let visits = session.update("visits", |n: Option<u64>| n.unwrap_or(0) + 1)?;
    /// assert_eq!(visits, 1);
    /// assert_eq!(session.update("visits", |n: Option<u64>| n.unwrap_or(0) + 1)?, 2);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the stored value is not a `T`, or the codec cannot represent the new
    /// one. A replay that fails the same way at save time answers a 500.
    pub fn update<T, F>(&self, key: impl Into<String>, f: F) -> Result<T, CodecError>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: Fn(Option<T>) -> T + 'static,
    {
        let key = key.into();
        let new = f(self.get::<T>(&key)?);
        let bytes = encode_value(&*self.0.config.codec, &new)?;
        let replay: UpdateFn = Box::new(move |codec, stored| {
            let current = stored
                .map(|bytes| decode_value::<T>(codec, bytes))
                .transpose()?;
            encode_value(codec, &f(current))
        });
        self.change(|changes, state| changes.update(state, key, bytes, replay));
        Ok(new)
    }

    /// Removes every value (flashes and options stay). Clearing a session that holds no value
    /// is no change: [`status`](Self::status) stays [`SessionStatus::Unchanged`].
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("a", 1)?;
    /// session.clear();
    /// assert!(session.is_empty());
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    pub fn clear(&self) {
        self.change(Changes::clear);
    }

    /// Whether a value is stored under `key`.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// assert!(!session.contains_key("a"));
    /// session.insert("a", true)?;
    /// assert!(session.contains_key("a"));
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.data().state.entries.contains_key(key)
    }

    /// The keys of all values, in sorted order.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("b", 2)?;
    /// session.insert("a", 1)?;
    /// assert_eq!(session.keys(), ["a", "b"]);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.data().state.entries.keys().cloned().collect()
    }

    /// The number of values.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.insert("a", 1)?;
    /// assert_eq!(session.len(), 1);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.data().state.entries.len()
    }

    /// Whether the session holds no values.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// assert!(session.is_empty());
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data().state.entries.is_empty()
    }

    /// Adds a flash message under the default key ([`DEFAULT_FLASH_KEY`]).
    ///
    /// Flashes are read once: [`flashes`](Self::flashes) returns and removes them, typically on
    /// the page a redirect leads to.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.add_flash("Welcome back!")?;
    /// assert_eq!(session.flashes::<String>()?, ["Welcome back!"]);
    /// assert!(session.flashes::<String>()?.is_empty());
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the codec cannot represent `value`.
    pub fn add_flash<T: Serialize>(&self, value: T) -> Result<(), CodecError> {
        self.add_flash_to(DEFAULT_FLASH_KEY, value)
    }

    /// Adds a flash message under `key`, for separate channels such as `"error"` and `"info"`.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.add_flash_to("error", "Wrong password")?;
    /// assert!(session.flashes::<String>()?.is_empty());
    /// assert_eq!(session.flashes_from::<String>("error")?, ["Wrong password"]);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the codec cannot represent `value`.
    pub fn add_flash_to<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), CodecError> {
        let flash = Flash {
            id: token::unique(),
            value: encode_value(&*self.0.config.codec, &value)?,
        };
        self.change(|changes, state| changes.add_flash(state, key.into(), flash));
        Ok(())
    }

    /// Returns and removes the flashes under the default key.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.add_flash(1)?;
    /// session.add_flash(2)?;
    /// assert_eq!(session.flashes::<i32>()?, [1, 2]);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when a flash is not a `T`; the flashes are then left in place.
    pub fn flashes<T: DeserializeOwned>(&self) -> Result<Vec<T>, CodecError> {
        self.flashes_from(DEFAULT_FLASH_KEY)
    }

    /// Returns and removes the flashes under `key`.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.add_flash_to("info", "Saved")?;
    /// assert_eq!(session.flashes_from::<String>("info")?, ["Saved"]);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CodecError`] when a flash is not a `T`; the flashes are then left in place.
    pub fn flashes_from<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, CodecError> {
        let (values, ids): (Vec<T>, Vec<u64>) = {
            let data = self.data();
            let Some(flashes) = data.state.flashes.get(key) else {
                return Ok(Vec::new());
            };
            let values = flashes
                .iter()
                .map(|flash| decode_value(&*self.0.config.codec, &flash.value))
                .collect::<Result<_, _>>()?;
            (values, flashes.iter().map(|flash| flash.id).collect())
        };
        self.change(|changes, state| changes.take_flashes(state, key, ids));
        Ok(values)
    }

    /// Overrides cookie attributes and lifecycle for this session, from this response on
    /// (gin's `Options`). The overrides are stored with the session.
    ///
    /// The cookie the overrides give is checked with the rules of
    /// [`SessionConfig`](crate::SessionConfig), so a handler can never make the browser drop the
    /// session cookie without a word.
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::cookie::SameSite;
    /// use sessions_core::SessionOptions;
    /// let session = sessions_core::Session::detached();
    /// // "Remember me": keep this user's session for 30 days.
    /// session.set_options(SessionOptions::new().max_age(Duration::from_secs(30 * 24 * 3600)))?;
    /// // Browsers drop a `SameSite=None` cookie without `Secure`: refused, nothing changes.
    /// let insecure = SessionOptions::new().same_site(SameSite::None).secure(false);
    /// assert!(session.set_options(insecure).is_err());
    /// # Ok::<(), sessions_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError`](crate::ConfigError) when the cookie would break a rule: `Partitioned` or
    /// `SameSite=None` without `Secure`, a TTL under one second, a path that does not start
    /// with `/`, a domain that is not a host name, or attributes the cookie name's prefix
    /// (`__Host-`, `__Secure-`) forbids. The session keeps its options.
    pub fn set_options(&self, options: SessionOptions) -> Result<(), ConfigError> {
        let config = &self.0.config;
        let lifecycle = options.lifecycle.unwrap_or(config.lifecycle);
        cookie_rules::check(&config.name, &config.cookie.with(Some(&options)), lifecycle)?;
        self.change(|changes, state| changes.set_options(state, options));
        Ok(())
    }

    /// The session's id: the store key, for a session that was loaded from a server-side store.
    ///
    /// `None` for a session created by this request (it has no key until the response saves
    /// it) and for client-side stores, whose key is the sealed state itself.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// assert_eq!(session.id(), None); // a brand-new session
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn id(&self) -> Option<String> {
        let data = self.data();
        let origin = data.origin.as_ref()?;
        origin
            .key
            .as_str()
            .filter(|id| id.len() <= 128)
            .map(str::to_owned)
    }

    /// Moves the session to a new key when the response is saved, keeping its state.
    ///
    /// Call it when privileges change (log-in, log-out, sudo) so a session key an attacker
    /// planted or saw earlier becomes worthless (session fixation). What moves is the *latest*
    /// stored state plus this request's changes, so a value another request saved meanwhile is
    /// kept; if another request purged the session meanwhile, only this request's own changes
    /// move, never the state it loaded (a log-out is not undone). The old record ends only after
    /// the new one is stored, so a failure in between loses nothing.
    ///
    /// On a session that was never stored, nothing moves (a new session gets a fresh key
    /// anyway), but [`status`](Self::status) reports [`SessionStatus::Renewed`].
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.renew();
    /// session.insert("user_id", 7)?;
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    pub fn renew(&self) {
        self.data_mut().renew = true;
    }

    /// Ends the session: deletes its record from the store and removes the cookie (with the
    /// same `Path` and `Domain` it was set with).
    ///
    /// Anything stored after `purge` in the same request starts a brand-new session under a
    /// new key, so "logged out" flash messages work.
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// session.purge();
    /// session.add_flash("You have been logged out")?;
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    pub fn purge(&self) {
        let mut data = self.data_mut();
        let settings = self.0.config.cookie.with(data.state.options.as_deref());
        if let Some(origin) = data.origin.take() {
            data.purged = Some(origin);
        }
        data.remove_cookie = Some(Box::new(settings.into_owned()));
        data.state = State::default();
        data.changes = Changes::default();
        data.renew = false;
        data.unstamped = false;
    }

    /// What this request did to the session so far.
    ///
    /// ```
    /// use sessions_core::SessionStatus;
    /// let session = sessions_core::Session::detached();
    /// assert_eq!(session.status(), SessionStatus::Unchanged);
    /// session.insert("a", 1)?;
    /// assert_eq!(session.status(), SessionStatus::Changed);
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> SessionStatus {
        let data = self.data();
        if data.renew {
            SessionStatus::Renewed
        } else if !data.changes.is_empty() {
            SessionStatus::Changed
        } else if data.remove_cookie.is_some() {
            SessionStatus::Purged
        } else {
            SessionStatus::Unchanged
        }
    }

    /// The session's name (its cookie name).
    ///
    /// ```
    /// let session = sessions_core::Session::detached();
    /// assert_eq!(session.name(), "id");
    /// # Ok::<(), sessions_core::CodecError>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.config.name
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values can be personal data and the key is a credential: show only the shape.
        f.debug_struct("Session")
            .field("name", &self.name())
            .field("len", &self.len())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}
