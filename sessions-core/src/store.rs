//! The [`SessionStore`] trait that every backend implements, and its error type.
//!
//! A store keeps opaque, already-encoded payloads with a time to live. It never sees serde,
//! cookies or HTTP: the middleware encodes, decodes, seals and decides *when* to call the store.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::SessionKey;

/// A backend that keeps session payloads: Redis, Memcached, MongoDB, memory, or the cookie itself.
///
/// Every operation takes or returns a [`SessionKey`]. The store chooses keys (so a client-side
/// store can make the key *be* the state), and the middleware seals whatever key it gets into
/// the cookie.
///
/// # Contract
///
/// - [`create`](Self::create) must never overwrite an existing record: on a key collision it
///   retries with a new key. Server-side stores make keys with [`SessionKey::generate`],
///   usually through [`create_with_fresh_key`], which also settles a create whose reply was
///   lost by reading the key back (the conformance suite forces collisions through it).
/// - [`load`](Self::load) returns `None` for a missing *or expired* record, whatever the
///   backend's own expiry does (it may be lazy).
/// - [`update`](Self::update) is compare-and-set: it writes only when the stored [`Version`]
///   still equals `expected`, and otherwise fails with [`StoreError::conflict`] (a record that
///   vanished is a conflict too). The middleware then reloads, re-applies the request's own
///   changes and retries. A store that cannot compare versions (the cookie store) documents it.
/// - **A write is never applied twice.** When an `update` was sent but its reply is lost (the
///   connection broke, the reply timed out), the store neither retries it nor reports a
///   conflict: it returns [`StoreError::outcome_unknown`]. The middleware reads the record
///   back and recognises its own write by a token the core puts in every payload, so a
///   read-modify-write ([`Session::update`](crate::Session::update)) or a flash is applied
///   exactly once. A store may retry a command only when it knows the command was never sent,
///   or when it is idempotent (`load`, `touch`, `delete`).
/// - [`touch`](Self::touch) only extends the time to live; [`delete`](Self::delete) of a missing
///   key succeeds.
/// - Errors say what happened: [`StoreError::unavailable`] for an unreachable or failing
///   backend (the client gets a 500), [`StoreError::corrupt`] for a record that cannot be
///   read (the client gets a fresh session).
/// - Payloads are opaque. Each payload the middleware writes is unique (it carries a random
///   write token), so a store may recognise its own write by comparing bytes.
///
/// The futures need not be `Send`: actix-web runs each request on one worker thread.
///
/// # Example
///
/// A complete (if forgetful) store that keeps a single session:
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use sessions_core::{Loaded, SessionKey, SessionStore, StoreError, Stored, Version};
///
/// #[derive(Debug, Default)]
/// struct OneSlot(Mutex<Option<(SessionKey, Vec<u8>, u64)>>);
///
/// impl SessionStore for OneSlot {
///     async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
///         let slot = self.0.lock().unwrap();
///         Ok(slot.as_ref().filter(|(k, ..)| k == key).map(|(_, payload, version)| {
///             Loaded::new(payload.clone(), Version::new(*version))
///         }))
///     }
///     async fn create(&self, payload: &[u8], _ttl: Duration) -> Result<Stored, StoreError> {
///         let key = SessionKey::generate();
///         *self.0.lock().unwrap() = Some((key.clone(), payload.to_vec(), 1));
///         Ok(Stored::new(key, Version::new(1)))
///     }
///     async fn update(
///         &self,
///         key: &SessionKey,
///         payload: &[u8],
///         _ttl: Duration,
///         expected: Version,
///     ) -> Result<Stored, StoreError> {
///         let mut slot = self.0.lock().unwrap();
///         match slot.as_mut() {
///             Some((k, stored, version)) if k == key && *version == expected.get() => {
///                 *stored = payload.to_vec();
///                 *version += 1;
///                 Ok(Stored::new(key.clone(), Version::new(*version)))
///             }
///             _ => Err(StoreError::conflict()),
///         }
///     }
///     async fn touch(&self, key: &SessionKey, _ttl: Duration) -> Result<SessionKey, StoreError> {
///         Ok(key.clone())
///     }
///     async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
///         let mut slot = self.0.lock().unwrap();
///         if slot.as_ref().is_some_and(|(k, ..)| k == key) {
///             *slot = None;
///         }
///         Ok(())
///     }
/// }
/// ```
#[allow(
    async_fn_in_trait,
    reason = "actix-web runs a request on one thread; futures need not be Send"
)]
pub trait SessionStore: Send + Sync + 'static {
    /// Reads the payload stored under `key`, with its current version.
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] when the backend cannot be reached or fails;
    /// [`StoreError::corrupt`] when the record exists but cannot be read.
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError>;

    /// Stores `payload` under a new key for `ttl` and returns that key with the record's version.
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] on backend failure; [`StoreError::too_large`] when the
    /// backend rejects the payload's size.
    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError>;

    /// [`create`](Self::create) for a session that continues the one under `replaced`: a
    /// renewal (`replaced` is about to become a tombstone), or the new session a request
    /// stores right after a log-out ended `replaced`. Defaults to `create`.
    ///
    /// A store with a bound on its size accepts it when full, since it adds no user (the memory
    /// store keeps headroom for it); a store that keeps a session's absolute lifetime itself
    /// carries the issue time over from `replaced` (the cookie store), so a renewal never
    /// extends it.
    ///
    /// # Errors
    ///
    /// As for [`create`](Self::create).
    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        let _ = replaced;
        self.create(payload, ttl).await
    }

    /// Replaces the payload under `key` if its version is still `expected`, resetting the TTL.
    ///
    /// Returns the key the state now lives under (a client-side store returns a new one) and
    /// the new version.
    ///
    /// # Errors
    ///
    /// [`StoreError::conflict`] when the stored version is not `expected` or the record is gone;
    /// otherwise as for [`create`](Self::create).
    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError>;

    /// Extends the record's time to live to `ttl` from now without changing its payload or version.
    ///
    /// Returns the key the session now lives under (unchanged for server-side stores). A missing
    /// record is not an error: there is nothing to extend, and the next load finds nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] on backend failure.
    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError>;

    /// Removes the record under `key`. Removing a missing record succeeds.
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] on backend failure.
    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError>;

    /// Whether [`update`](Self::update) really compares versions. `true` unless overridden;
    /// a store that hands the whole state back as the key (the cookie store) says `false`,
    /// and the middleware then leaves out what only merging concurrent saves needs (the
    /// write history it otherwise keeps in every payload).
    ///
    /// ```
    /// use sessions_core::SessionStore;
    /// assert!(sessions_memstore::MemoryStore::new().compares_versions());
    /// ```
    fn compares_versions(&self) -> bool {
        true
    }

    /// A short name for spans, logs and metrics. Defaults to the type's name without its
    /// path, such as `MemoryStore`.
    ///
    /// ```
    /// use sessions_core::SessionStore;
    /// assert_eq!(sessions_memstore::MemoryStore::new().name(), "MemoryStore");
    /// ```
    fn name(&self) -> &'static str {
        short_type_name(std::any::type_name::<Self>())
    }
}

/// The last path segment of a type's name, without generic arguments: `RedisStore` for
/// `sessions_redis::store::RedisStore`.
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// A shared store is a store: keep an `Arc` to inspect or clean up the store the middleware uses.
///
/// ```
/// use std::sync::Arc;
/// use sessions_core::{Key, SessionMiddleware};
/// use sessions_memstore::MemoryStore;
///
/// let store = Arc::new(MemoryStore::new());
/// let middleware = SessionMiddleware::new(Arc::clone(&store), Key::generate());
/// assert!(store.is_empty());
/// # let _ = middleware;
/// ```
impl<S: SessionStore> SessionStore for std::sync::Arc<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        S::load(self, key).await
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        S::create(self, payload, ttl).await
    }

    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        S::create_replacing(self, replaced, payload, ttl).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        S::update(self, key, payload, ttl, expected).await
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        S::touch(self, key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        S::delete(self, key).await
    }

    fn compares_versions(&self) -> bool {
        S::compares_versions(self)
    }

    fn name(&self) -> &'static str {
        S::name(self)
    }
}

/// The number of keys [`create_with_fresh_key`] tries before giving up.
pub const CREATE_ATTEMPTS: usize = 8;

/// Runs `insert` with freshly generated keys until it reports that the key was free.
///
/// `insert` returns `Ok(Some(version))` when it stored the record, `Ok(None)` when the key was
/// already taken (so the store must not overwrite it). With 256-bit keys a collision means a
/// broken random generator, but the contract is cheap to keep.
///
/// When `insert` fails with [`StoreError::outcome_unknown`] (the write was sent, the reply
/// lost), `read_back` loads the key: a record holding exactly `payload` is the one just written
/// (payloads are unique, see [`SessionStore`]), so the create succeeded; no record means it did
/// not land, and the same key is tried again; another payload means the key was taken. A
/// create is therefore never reported as failed, nor retried under a new key, when it went
/// through.
///
/// ```
/// use sessions_core::{Version, create_with_fresh_key};
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut taken = 2_u32;
/// let stored = create_with_fresh_key(
///     b"payload",
///     |_key| {
///         let free = taken == 0;
///         taken = taken.saturating_sub(1);
///         async move { Ok(free.then(|| Version::new(1))) }
///     },
///     |_key| async { Ok(None) },
/// )
/// .await
/// .unwrap();
/// assert_eq!(stored.version(), Version::new(1));
/// # });
/// ```
///
/// # Errors
///
/// Whatever `insert` or `read_back` return (an outcome still unknown after the read-back is
/// reported as [`StoreError::unavailable`]), or [`StoreError::other`] after
/// [`CREATE_ATTEMPTS`] collisions.
pub async fn create_with_fresh_key<F, Fut, R, RFut>(
    payload: &[u8],
    mut insert: F,
    mut read_back: R,
) -> Result<Stored, StoreError>
where
    F: FnMut(SessionKey) -> Fut,
    Fut: Future<Output = Result<Option<Version>, StoreError>>,
    R: FnMut(SessionKey) -> RFut,
    RFut: Future<Output = Result<Option<Loaded>, StoreError>>,
{
    let mut attempts = 0;
    let mut key = SessionKey::generate();
    // Whether an insert under `key` may have landed without our hearing of it.
    let mut maybe_ours = false;
    while attempts < CREATE_ATTEMPTS {
        attempts += 1;
        match insert(key.clone()).await {
            Ok(Some(version)) => return Ok(Stored::new(key, version)),
            Ok(None) if maybe_ours => {}
            Ok(None) => {
                tracing::warn!("session key collision; retrying with a new key");
                key = SessionKey::generate();
                continue;
            }
            Err(err) if err.is_outcome_unknown() => maybe_ours = true,
            Err(err) => return Err(err),
        }
        // The earlier insert under `key` may have landed: look before writing again.
        match read_back(key.clone()).await {
            Ok(Some(found)) if found.payload() == payload => {
                return Ok(Stored::new(key, found.version()));
            }
            Ok(Some(_)) => {
                tracing::warn!("session key collision; retrying with a new key");
                key = SessionKey::generate();
                maybe_ours = false;
            }
            Ok(None) => {}
            Err(err) if err.is_outcome_unknown() => {
                return Err(StoreError::unavailable(err).with_message("creating a session"));
            }
            Err(err) => return Err(err),
        }
    }
    Err(StoreError::other(format!(
        "no session key was free or confirmed after {CREATE_ATTEMPTS} attempts"
    )))
}

/// An opaque token that changes whenever a record's payload is written.
///
/// Stores pick what it means (a counter, a Memcached CAS value); the middleware only hands it
/// back to [`SessionStore::update`].
///
/// ```
/// use sessions_core::Version;
/// assert_eq!(Version::new(7).get(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(u64);

impl Version {
    /// Wraps a store's version number.
    ///
    /// ```
    /// let v = sessions_core::Version::new(1);
    /// # assert_eq!(v.get(), 1);
    /// ```
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The store's version number.
    ///
    /// ```
    /// assert_eq!(sessions_core::Version::new(3).get(), 3);
    /// ```
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// What [`SessionStore::load`] found: the payload and its version.
///
/// ```
/// use sessions_core::{Loaded, Version};
///
/// let loaded = Loaded::new(vec![1, 2], Version::new(5));
/// assert_eq!(loaded.payload(), &[1, 2]);
/// assert_eq!(loaded.version(), Version::new(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    payload: Vec<u8>,
    version: Version,
}

impl Loaded {
    /// A loaded record.
    ///
    /// ```
    /// let loaded = sessions_core::Loaded::new(b"x".to_vec(), sessions_core::Version::new(1));
    /// # assert_eq!(loaded.payload(), b"x");
    /// ```
    #[must_use]
    pub fn new(payload: Vec<u8>, version: Version) -> Self {
        Self { payload, version }
    }

    /// The stored payload.
    ///
    /// ```
    /// let loaded = sessions_core::Loaded::new(b"x".to_vec(), sessions_core::Version::new(1));
    /// assert_eq!(loaded.payload(), b"x");
    /// ```
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The record's version, to pass back to [`SessionStore::update`].
    ///
    /// ```
    /// let loaded = sessions_core::Loaded::new(Vec::new(), sessions_core::Version::new(9));
    /// assert_eq!(loaded.version().get(), 9);
    /// ```
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Splits into payload and version.
    ///
    /// ```
    /// let (payload, version) = sessions_core::Loaded::new(b"x".to_vec(), sessions_core::Version::new(1)).into_parts();
    /// assert_eq!((payload.as_slice(), version.get()), (&b"x"[..], 1));
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Vec<u8>, Version) {
        (self.payload, self.version)
    }
}

/// Where a write put the session: its key and new version.
///
/// ```
/// use sessions_core::{SessionKey, Stored, Version};
///
/// let key = SessionKey::generate();
/// let stored = Stored::new(key.clone(), Version::new(1));
/// assert_eq!(stored.key(), &key);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    key: SessionKey,
    version: Version,
}

impl Stored {
    /// A written record's key and version.
    ///
    /// ```
    /// let stored = sessions_core::Stored::new(sessions_core::SessionKey::generate(), sessions_core::Version::new(2));
    /// # assert_eq!(stored.version().get(), 2);
    /// ```
    #[must_use]
    pub fn new(key: SessionKey, version: Version) -> Self {
        Self { key, version }
    }

    /// The key the session is stored under.
    ///
    /// ```
    /// let key = sessions_core::SessionKey::generate();
    /// assert_eq!(sessions_core::Stored::new(key.clone(), sessions_core::Version::new(1)).key(), &key);
    /// ```
    #[must_use]
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// The record's version after the write.
    ///
    /// ```
    /// let stored = sessions_core::Stored::new(sessions_core::SessionKey::generate(), sessions_core::Version::new(2));
    /// assert_eq!(stored.version().get(), 2);
    /// ```
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Splits into key and version.
    ///
    /// ```
    /// let (key, version) = sessions_core::Stored::new(sessions_core::SessionKey::generate(), sessions_core::Version::new(2)).into_parts();
    /// assert_eq!((key.len(), version.get()), (43, 2));
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (SessionKey, Version) {
        (self.key, self.version)
    }
}

/// What kind of failure a [`StoreError`] is. The middleware acts on it.
///
/// ```
/// use sessions_core::{StoreError, StoreErrorKind};
/// assert_eq!(StoreError::conflict().kind(), StoreErrorKind::Conflict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The record's version moved on since it was loaded (or the record is gone): reload and retry.
    Conflict,
    /// The backend could not be reached, timed out or failed. Responded to with a 500.
    Unavailable,
    /// A stored record (or a key) cannot be read. The client gets a fresh session.
    Corrupt,
    /// The backend refuses a payload this large.
    TooLarge,
    /// A write was sent, but whether the backend applied it is unknown (the connection broke
    /// or the reply timed out). The middleware reads the record back to find out.
    OutcomeUnknown,
    /// Anything else.
    Other,
}

impl StoreErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Conflict => "the session was changed concurrently",
            Self::Unavailable => "the session store is unavailable",
            Self::Corrupt => "the stored session is corrupt",
            Self::TooLarge => "the session is too large for the store",
            Self::OutcomeUnknown => "the session store may or may not have applied the write",
            Self::Other => "the session store failed",
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// An error from a [`SessionStore`]: a [`StoreErrorKind`], an optional message and the
/// underlying error as [`source`](std::error::Error::source).
///
/// Constructors take the backend's own error, so stores keep the cause chain without wrapping
/// it in a string (and without orphan-rule `From` impls):
///
/// ```
/// use std::error::Error as _;
/// use sessions_core::{StoreError, StoreErrorKind};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let err = StoreError::unavailable(io);
/// assert_eq!(err.kind(), StoreErrorKind::Unavailable);
/// assert_eq!(err.source().unwrap().to_string(), "refused");
/// ```
pub struct StoreError {
    kind: StoreErrorKind,
    message: Option<Box<str>>,
    source: Option<BoxError>,
}

impl StoreError {
    /// The record's version moved on, or the record is gone (see [`SessionStore::update`]).
    ///
    /// ```
    /// assert!(sessions_core::StoreError::conflict().is_conflict());
    /// ```
    #[must_use]
    pub fn conflict() -> Self {
        Self::new(StoreErrorKind::Conflict, None)
    }

    /// The backend failed or could not be reached; `source` is its error.
    ///
    /// ```
    /// let err = sessions_core::StoreError::unavailable(std::io::Error::other("down"));
    /// assert_eq!(err.kind(), sessions_core::StoreErrorKind::Unavailable);
    /// ```
    #[must_use]
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::new(StoreErrorKind::Unavailable, Some(source.into()))
    }

    /// A write was sent but its reply never came (the connection broke, or the reply timed
    /// out): the backend may or may not have applied it. `source` is the driver's error.
    ///
    /// Stores return this from [`SessionStore::update`] instead of retrying the write or
    /// reporting a conflict; the middleware then reads the record back to learn what happened
    /// (see [`SessionStore`]'s contract).
    ///
    /// ```
    /// let err = sessions_core::StoreError::outcome_unknown(std::io::Error::other("reset"));
    /// assert!(err.is_outcome_unknown());
    /// ```
    #[must_use]
    pub fn outcome_unknown(source: impl Into<BoxError>) -> Self {
        Self::new(StoreErrorKind::OutcomeUnknown, Some(source.into()))
    }

    /// A stored record or key cannot be read; `source` says why.
    ///
    /// ```
    /// let err = sessions_core::StoreError::corrupt("truncated record");
    /// assert_eq!(err.kind(), sessions_core::StoreErrorKind::Corrupt);
    /// ```
    #[must_use]
    pub fn corrupt(source: impl Into<BoxError>) -> Self {
        Self::new(StoreErrorKind::Corrupt, Some(source.into()))
    }

    /// The backend refuses a payload of `size` bytes; its limit is `limit` bytes.
    ///
    /// ```
    /// let err = sessions_core::StoreError::too_large(2_000_000, 1_048_576);
    /// assert!(err.to_string().contains("2000000 bytes"));
    /// ```
    #[must_use]
    pub fn too_large(size: usize, limit: usize) -> Self {
        Self::new(StoreErrorKind::TooLarge, None).with_message(format!(
            "{size} bytes exceed the store's limit of {limit} bytes"
        ))
    }

    /// Any other failure, described by `message`.
    ///
    /// ```
    /// let err = sessions_core::StoreError::other("the memory store is full");
    /// assert!(err.to_string().contains("full"));
    /// ```
    #[must_use]
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Other, None).with_message(message)
    }

    /// An error of `kind` caused by `source`.
    ///
    /// ```
    /// use sessions_core::{StoreError, StoreErrorKind};
    /// let err = StoreError::with_source(StoreErrorKind::Other, std::io::Error::other("x"));
    /// assert_eq!(err.kind(), StoreErrorKind::Other);
    /// ```
    #[must_use]
    pub fn with_source(kind: StoreErrorKind, source: impl Into<BoxError>) -> Self {
        Self::new(kind, Some(source.into()))
    }

    /// Adds context, shown before the kind's description.
    ///
    /// ```
    /// let err = sessions_core::StoreError::unavailable(std::io::Error::other("refused"))
    ///     .with_message("redis GET timed out after 500 ms");
    /// assert!(err.to_string().starts_with("redis GET timed out"));
    /// ```
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into().into_boxed_str());
        self
    }

    fn new(kind: StoreErrorKind, source: Option<BoxError>) -> Self {
        Self {
            kind,
            message: None,
            source,
        }
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// assert_eq!(sessions_core::StoreError::conflict().kind(), sessions_core::StoreErrorKind::Conflict);
    /// ```
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether this is a version conflict.
    ///
    /// ```
    /// assert!(!sessions_core::StoreError::other("x").is_conflict());
    /// ```
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        self.kind == StoreErrorKind::Conflict
    }

    /// Whether a write's outcome is unknown (see [`outcome_unknown`](Self::outcome_unknown)).
    ///
    /// ```
    /// assert!(!sessions_core::StoreError::conflict().is_outcome_unknown());
    /// ```
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        self.kind == StoreErrorKind::OutcomeUnknown
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{message}: {}", self.kind.describe()),
            None => f.write_str(self.kind.describe()),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(
            short_type_name("sessions_redis::store::RedisStore"),
            "RedisStore"
        );
        assert_eq!(short_type_name("MapStore"), "MapStore");
        assert_eq!(short_type_name("a::Wrapper<b::Inner>"), "Wrapper");
    }

    #[test]
    fn display_names_kind_and_context() {
        let err = StoreError::unavailable(std::io::Error::other("refused")).with_message("GET");
        assert_eq!(err.to_string(), "GET: the session store is unavailable");
        assert_eq!(err.source().unwrap().to_string(), "refused");
    }

    #[actix_web::test]
    async fn fresh_key_gives_up_after_repeated_collisions() {
        let mut calls = 0;
        let err = create_with_fresh_key(
            b"p",
            |_| {
                calls += 1;
                async { Ok(None) }
            },
            |_| async { unreachable!("nothing to read back") },
        )
        .await
        .unwrap_err();
        assert_eq!(calls, CREATE_ATTEMPTS);
        assert_eq!(err.kind(), StoreErrorKind::Other);
    }

    /// A create whose reply was lost but which landed is found by reading back, not repeated
    /// under a new key and not mistaken for a collision.
    #[actix_web::test]
    async fn a_lost_reply_is_settled_by_reading_back() {
        use std::cell::RefCell;
        let written: RefCell<Vec<SessionKey>> = RefCell::default();
        let stored = create_with_fresh_key(
            b"mine",
            |key| {
                written.borrow_mut().push(key);
                async { Err(StoreError::outcome_unknown(std::io::Error::other("reset"))) }
            },
            |key| {
                let landed = written.borrow().contains(&key);
                async move { Ok(landed.then(|| Loaded::new(b"mine".to_vec(), Version::new(4)))) }
            },
        )
        .await
        .unwrap();
        assert_eq!(written.borrow().len(), 1, "the create was sent again");
        assert_eq!(stored.key(), &written.borrow()[0]);
        assert_eq!(stored.version(), Version::new(4));
    }

    /// A lost reply whose write did not land is retried under the same key; a later "taken"
    /// answer for that key is checked against the payload (the first write may land late).
    #[actix_web::test]
    async fn a_lost_write_that_lands_late_is_recognised() {
        use std::cell::Cell;
        let inserts = Cell::new(0);
        let reads = Cell::new(0);
        let stored = create_with_fresh_key(
            b"mine",
            |_| {
                inserts.set(inserts.get() + 1);
                let result = if inserts.get() == 1 {
                    Err(StoreError::outcome_unknown(std::io::Error::other(
                        "timeout",
                    )))
                } else {
                    Ok(None) // the first write landed meanwhile
                };
                async move { result }
            },
            |_| {
                reads.set(reads.get() + 1);
                let found =
                    (reads.get() > 1).then(|| Loaded::new(b"mine".to_vec(), Version::new(9)));
                async move { Ok(found) }
            },
        )
        .await
        .unwrap();
        assert_eq!((inserts.get(), reads.get()), (2, 2));
        assert_eq!(stored.version(), Version::new(9));
    }
}
