//! [`MemoryStore`]: sessions in a concurrent hash map.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use sessions_core::{
    Loaded, SessionKey, SessionStore, StoreError, Stored, Version, create_with_fresh_key,
};

use crate::builder::MemoryStoreBuilder;
use crate::hasher::BuildKeyHasher;

/// Sessions kept in this process's memory, in a [`DashMap`].
///
/// - The TTL is checked on every read, so an expired session is never returned even between
///   sweeps.
/// - A background task (on the Tokio runtime that first uses the store) removes expired
///   entries every [`sweep_interval`](MemoryStoreBuilder::sweep_interval), so memory follows
///   the number of *live* sessions.
/// - [`update`](SessionStore::update) is a real compare-and-set on a version counter.
/// - An optional [`capacity`](MemoryStoreBuilder::capacity) bounds memory.
///
/// Clones share the same map: create one store, outside `HttpServer::new`, and clone it into
/// each worker — a store created inside the closure would give each worker its own sessions.
/// Sessions do not survive a restart and are not shared between processes; use a server-side
/// store for that.
///
/// ```
/// use sessions_core::{Key, SessionMiddleware};
/// use sessions_memstore::MemoryStore;
///
/// let store = MemoryStore::new();
/// let middleware = SessionMiddleware::new(store.clone(), Key::generate());
/// # let _ = middleware;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    map: DashMap<SessionKey, Record, BuildKeyHasher>,
    versions: AtomicU64,
    capacity: Option<usize>,
    sweep_interval: Duration,
    sweeper_started: AtomicBool,
}

struct Record {
    payload: Box<[u8]>,
    version: u64,
    expires_at: Instant,
}

impl Record {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

impl MemoryStore {
    /// A store with the default settings (no capacity bound, sweep every minute).
    ///
    /// ```
    /// let store = sessions_memstore::MemoryStore::new();
    /// assert!(store.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a store with a capacity bound or another sweep interval.
    ///
    /// ```
    /// let store = sessions_memstore::MemoryStore::builder().capacity(100_000).build();
    /// # let _ = store;
    /// ```
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder::default()
    }

    pub(crate) fn from_parts(capacity: Option<usize>, sweep_interval: Duration) -> Self {
        let store = Self {
            inner: Arc::new(Inner {
                map: DashMap::with_hasher(BuildKeyHasher),
                versions: AtomicU64::new(1),
                capacity,
                sweep_interval,
                sweeper_started: AtomicBool::new(false),
            }),
        };
        store.ensure_sweeper();
        store
    }

    /// The number of entries held, including expired ones the sweeper has not removed yet.
    ///
    /// ```
    /// assert_eq!(sessions_memstore::MemoryStore::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.map.len()
    }

    /// Whether the store holds no entries.
    ///
    /// ```
    /// assert!(sessions_memstore::MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.map.is_empty()
    }

    /// Removes every expired entry now and returns how many were removed. The background
    /// sweeper calls this; it is public for tests and for applications without a Tokio runtime.
    ///
    /// ```
    /// assert_eq!(sessions_memstore::MemoryStore::new().sweep(), 0);
    /// ```
    pub fn sweep(&self) -> usize {
        self.inner.sweep()
    }

    /// Starts the sweeper on the current Tokio runtime, once. Outside a runtime it is tried
    /// again on the next store call, which the middleware always makes inside one.
    fn ensure_sweeper(&self) {
        if self.inner.sweeper_started.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.sweeper_started.swap(true, Ordering::Relaxed) {
            return;
        }
        runtime.spawn(sweep_while_alive(
            Arc::downgrade(&self.inner),
            self.inner.sweep_interval,
        ));
    }

    fn next_version(&self) -> u64 {
        self.inner.versions.fetch_add(1, Ordering::Relaxed)
    }

    /// Inserts under `key` unless a live record holds it.
    fn insert_new(
        &self,
        key: SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Option<Version>, StoreError> {
        self.make_room()?;
        let now = Instant::now();
        let version = self.next_version();
        let record = Record {
            payload: payload.into(),
            version,
            expires_at: deadline(now, ttl),
        };
        match self.inner.map.entry(key) {
            Entry::Occupied(taken) if taken.get().is_live(now) => return Ok(None),
            Entry::Occupied(mut expired) => {
                expired.insert(record);
            }
            Entry::Vacant(free) => {
                free.insert(record);
            }
        }
        Ok(Some(Version::new(version)))
    }

    /// With a capacity bound: sweeps when full, and refuses new sessions if still full.
    fn make_room(&self) -> Result<(), StoreError> {
        let Some(capacity) = self.inner.capacity else {
            return Ok(());
        };
        if self.inner.map.len() < capacity
            || (self.inner.sweep() > 0 && self.inner.map.len() < capacity)
        {
            return Ok(());
        }
        Err(StoreError::other(format!(
            "the memory store is full ({capacity} live sessions)"
        )))
    }
}

impl Inner {
    fn sweep(&self) -> usize {
        let now = Instant::now();
        let before = self.map.len();
        self.map.retain(|_, record| record.is_live(now));
        before.saturating_sub(self.map.len())
    }
}

async fn sweep_while_alive(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // The first tick is immediate.
    loop {
        ticks.tick().await;
        // Holding only a weak reference between ticks lets the store be dropped.
        let Some(inner) = inner.upgrade() else { return };
        inner.sweep();
    }
}

/// `now + ttl`, saturating far in the future instead of overflowing.
fn deadline(now: Instant, ttl: Duration) -> Instant {
    now.checked_add(ttl)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.inner.capacity)
            .field("sweep_interval", &self.inner.sweep_interval)
            .finish()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        self.ensure_sweeper();
        let now = Instant::now();
        let record = self.inner.map.get(key);
        Ok(record
            .filter(|record| record.is_live(now))
            .map(|record| Loaded::new(record.payload.to_vec(), Version::new(record.version))))
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        self.ensure_sweeper();
        create_with_fresh_key(
            payload,
            |key| std::future::ready(self.insert_new(key, payload, ttl)),
            |key| async move { self.load(&key).await },
        )
        .await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        let now = Instant::now();
        let mut record = self
            .inner
            .map
            .get_mut(key)
            .ok_or_else(StoreError::conflict)?;
        if !record.is_live(now) || record.version != expected.get() {
            return Err(StoreError::conflict());
        }
        let version = self.next_version();
        *record = Record {
            payload: payload.into(),
            version,
            expires_at: deadline(now, ttl),
        };
        Ok(Stored::new(key.clone(), Version::new(version)))
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        let now = Instant::now();
        if let Some(mut record) = self
            .inner
            .map
            .get_mut(key)
            .filter(|record| record.is_live(now))
        {
            record.expires_at = deadline(now, ttl);
        }
        Ok(key.clone())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.inner.map.remove(key);
        Ok(())
    }
}

const _: () = {
    const fn store<T: SessionStore + Clone>() {}
    store::<MemoryStore>();
};

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[actix_web::test]
    async fn update_is_compare_and_set() {
        let store = MemoryStore::new();
        let created = store.create(b"a", TTL).await.unwrap();
        let first = store
            .update(created.key(), b"b", TTL, created.version())
            .await
            .unwrap();
        let stale = store
            .update(created.key(), b"c", TTL, created.version())
            .await
            .unwrap_err();
        assert!(stale.is_conflict());
        let loaded = store.load(created.key()).await.unwrap().unwrap();
        assert_eq!(
            (loaded.payload(), loaded.version()),
            (&b"b"[..], first.version())
        );
    }

    #[actix_web::test]
    async fn expired_records_are_invisible_before_the_sweep_and_gone_after() {
        let store = MemoryStore::builder()
            .sweep_interval(Duration::from_secs(3600))
            .build();
        let created = store.create(b"a", Duration::from_millis(20)).await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(store.len(), 1);
        assert!(store.load(created.key()).await.unwrap().is_none());
        assert!(
            store
                .update(created.key(), b"b", TTL, created.version())
                .await
                .unwrap_err()
                .is_conflict()
        );
        assert_eq!(store.sweep(), 1);
        assert!(store.is_empty());
    }

    #[actix_web::test]
    async fn the_background_sweeper_frees_expired_entries() {
        let store = MemoryStore::builder()
            .sweep_interval(Duration::from_millis(20))
            .build();
        for _ in 0..10 {
            store.create(b"x", Duration::from_millis(10)).await.unwrap();
        }
        let mut waited = 0;
        while !store.is_empty() && waited < 200 {
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert!(store.is_empty(), "{} entries left", store.len());
    }

    #[actix_web::test]
    async fn the_sweeper_stops_when_the_store_is_dropped() {
        let store = MemoryStore::builder()
            .sweep_interval(Duration::from_millis(5))
            .build();
        let weak = Arc::downgrade(&store.inner);
        drop(store);
        actix_web::rt::time::sleep(Duration::from_millis(30)).await;
        assert!(weak.upgrade().is_none());
    }

    #[actix_web::test]
    async fn capacity_refuses_new_sessions_only_when_all_are_live() {
        let store = MemoryStore::builder().capacity(2).build();
        store.create(b"1", Duration::from_millis(10)).await.unwrap();
        store.create(b"2", TTL).await.unwrap();
        assert!(store.create(b"3", TTL).await.is_err());
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        store.create(b"3", TTL).await.unwrap();
        assert_eq!(store.len(), 2);
    }

    #[actix_web::test]
    async fn touch_extends_and_ignores_missing_records() {
        let store = MemoryStore::new();
        let created = store.create(b"a", Duration::from_millis(30)).await.unwrap();
        store.touch(created.key(), TTL).await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        assert!(store.load(created.key()).await.unwrap().is_some());
        store.touch(&SessionKey::generate(), TTL).await.unwrap();
    }
}
