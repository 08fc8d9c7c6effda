//! Store wrappers the cases use: [`Counting`] counts calls, [`Switchable`] simulates an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sessions_core::{Loaded, SessionKey, SessionStore, StoreError, Stored, Version};

/// Calls made to a [`Counting`] store, by operation.
///
/// ```
/// let counts = sessions_test::Counts::default();
/// assert_eq!(counts.total(), 0);
/// ```
#[derive(Debug, Default)]
pub struct Counts {
    /// `load` calls.
    pub load: AtomicUsize,
    /// `create` calls.
    pub create: AtomicUsize,
    /// `update` calls.
    pub update: AtomicUsize,
    /// `touch` calls.
    pub touch: AtomicUsize,
    /// `delete` calls.
    pub delete: AtomicUsize,
}

impl Counts {
    /// All calls.
    ///
    /// ```
    /// assert_eq!(sessions_test::Counts::default().total(), 0);
    /// ```
    #[must_use]
    pub fn total(&self) -> usize {
        self.reads() + self.writes()
    }

    /// `load` calls.
    ///
    /// ```
    /// assert_eq!(sessions_test::Counts::default().reads(), 0);
    /// ```
    #[must_use]
    pub fn reads(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// `create`, `update`, `touch` and `delete` calls.
    ///
    /// ```
    /// assert_eq!(sessions_test::Counts::default().writes(), 0);
    /// ```
    #[must_use]
    pub fn writes(&self) -> usize {
        [&self.create, &self.update, &self.touch, &self.delete]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// Wraps a store and counts the calls made to it.
///
/// ```
/// use sessions_memstore::MemoryStore;
/// use sessions_test::Counting;
///
/// let store = Counting::new(MemoryStore::new());
/// let counts = store.counts();
/// assert_eq!(counts.total(), 0);
/// ```
#[derive(Debug)]
pub struct Counting<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S> Counting<S> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let store = sessions_test::Counting::new(sessions_memstore::MemoryStore::new());
    /// # let _ = store;
    /// ```
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// The counters, shared with the store.
    ///
    /// ```
    /// let store = sessions_test::Counting::new(sessions_memstore::MemoryStore::new());
    /// assert_eq!(store.counts().reads(), 0);
    /// ```
    #[must_use]
    pub fn counts(&self) -> Arc<Counts> {
        Arc::clone(&self.counts)
    }
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl<S: SessionStore> SessionStore for Counting<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        bump(&self.counts.load);
        self.inner.load(key).await
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        bump(&self.counts.create);
        self.inner.create(payload, ttl).await
    }

    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        bump(&self.counts.create);
        self.inner.create_replacing(replaced, payload, ttl).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        bump(&self.counts.update);
        self.inner.update(key, payload, ttl, expected).await
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        bump(&self.counts.touch);
        self.inner.touch(key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        bump(&self.counts.delete);
        self.inner.delete(key).await
    }

    fn compares_versions(&self) -> bool {
        self.inner.compares_versions()
    }
}

/// Wraps a store that can be switched off: while off, every call fails as
/// [`StoreError::unavailable`], as a store does when its server is down. A second switch,
/// [`conflicts`](Self::conflicts), makes every `update` lose to a concurrent write instead,
/// as endless contention does.
///
/// ```
/// use sessions_memstore::MemoryStore;
/// use sessions_test::Switchable;
///
/// let store = Switchable::new(MemoryStore::new());
/// let switch = store.switch();
/// switch.store(false, std::sync::atomic::Ordering::Relaxed); // outage
/// ```
#[derive(Debug)]
pub struct Switchable<S> {
    inner: S,
    on: Arc<AtomicBool>,
    conflicts: Arc<AtomicBool>,
}

impl<S> Switchable<S> {
    /// Wraps `inner`, switched on.
    ///
    /// ```
    /// let store = sessions_test::Switchable::new(sessions_memstore::MemoryStore::new());
    /// # let _ = store;
    /// ```
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            on: Arc::new(AtomicBool::new(true)),
            conflicts: Arc::default(),
        }
    }

    /// The switch: `true` passes calls through, `false` fails them.
    ///
    /// ```
    /// let store = sessions_test::Switchable::new(sessions_memstore::MemoryStore::new());
    /// assert!(store.switch().load(std::sync::atomic::Ordering::Relaxed));
    /// ```
    #[must_use]
    pub fn switch(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.on)
    }

    /// The contention switch: while `true`, every `update` fails with
    /// [`StoreError::conflict`] without writing. Starts `false`.
    ///
    /// ```
    /// let store = sessions_test::Switchable::new(sessions_memstore::MemoryStore::new());
    /// assert!(!store.conflicts().load(std::sync::atomic::Ordering::Relaxed));
    /// ```
    #[must_use]
    pub fn conflicts(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.conflicts)
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.on.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(StoreError::unavailable(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "store switched off (10.0.0.7:6379 refused the connection)",
            )))
        }
    }
}

impl<S: SessionStore> SessionStore for Switchable<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.check()?;
        self.inner.load(key).await
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.check()?;
        self.inner.create(payload, ttl).await
    }

    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        self.check()?;
        self.inner.create_replacing(replaced, payload, ttl).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        self.check()?;
        if self.conflicts.load(Ordering::Relaxed) {
            return Err(StoreError::conflict());
        }
        self.inner.update(key, payload, ttl, expected).await
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        self.check()?;
        self.inner.touch(key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(key).await
    }

    fn compares_versions(&self) -> bool {
        self.inner.compares_versions()
    }
}

/// Wraps a store whose replies to `update` get lost, as when a connection breaks after the
/// command was sent: every `every`-th update fails with [`StoreError::outcome_unknown`], in
/// turn after it was applied and before (so the middleware must read back to tell which).
///
/// ```
/// let store = sessions_test::LoseReplies::new(sessions_memstore::MemoryStore::new(), 3);
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct LoseReplies<S> {
    inner: S,
    every: usize,
    updates: AtomicUsize,
}

impl<S> LoseReplies<S> {
    /// Wraps `inner`, losing the reply of one update in `every` (at least 1).
    ///
    /// ```
    /// let store = sessions_test::LoseReplies::new(sessions_memstore::MemoryStore::new(), 2);
    /// # let _ = store;
    /// ```
    pub fn new(inner: S, every: usize) -> Self {
        Self {
            inner,
            every: every.max(1),
            updates: AtomicUsize::new(0),
        }
    }
}

fn lost() -> StoreError {
    StoreError::outcome_unknown(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the connection broke before the reply arrived",
    ))
}

impl<S: SessionStore> SessionStore for LoseReplies<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.inner.load(key).await
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.inner.create(payload, ttl).await
    }

    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        self.inner.create_replacing(replaced, payload, ttl).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        let n = self.updates.fetch_add(1, Ordering::Relaxed) + 1;
        if !n.is_multiple_of(self.every) {
            return self.inner.update(key, payload, ttl, expected).await;
        }
        if (n / self.every).is_multiple_of(2) {
            return Err(lost()); // lost on the way: never applied
        }
        self.inner.update(key, payload, ttl, expected).await?;
        Err(lost()) // applied, but the reply never came
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        self.inner.touch(key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    fn compares_versions(&self) -> bool {
        self.inner.compares_versions()
    }
}

/// A store whose every call takes at least `delay` more: a remote backend on a busy machine,
/// for cases about what contention costs when each round trip is slow.
///
/// ```
/// use std::time::Duration;
/// let store = sessions_test::Slow::new(sessions_memstore::MemoryStore::new(), Duration::from_millis(5));
/// # let _ = store;
/// ```
#[derive(Debug)]
pub struct Slow<S> {
    inner: S,
    delay: Duration,
}

impl<S> Slow<S> {
    /// Wraps `inner`, delaying each call by `delay` before it reaches `inner`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = sessions_test::Slow::new(sessions_memstore::MemoryStore::new(), Duration::ZERO);
    /// # let _ = store;
    /// ```
    pub fn new(inner: S, delay: Duration) -> Self {
        Self { inner, delay }
    }

    async fn pause(&self) {
        actix_web::rt::time::sleep(self.delay).await;
    }
}

impl<S: SessionStore> SessionStore for Slow<S> {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.pause().await;
        self.inner.load(key).await
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.pause().await;
        self.inner.create(payload, ttl).await
    }

    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        self.pause().await;
        self.inner.create_replacing(replaced, payload, ttl).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        self.pause().await;
        self.inner.update(key, payload, ttl, expected).await
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        self.pause().await;
        self.inner.touch(key, ttl).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.pause().await;
        self.inner.delete(key).await
    }

    fn compares_versions(&self) -> bool {
        self.inner.compares_versions()
    }
}
