//! [`MemoryStore`]: sessions in a concurrent hash map.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
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
/// - A background thread of the store's own removes expired entries every
///   [`sweep_interval`](MemoryStoreBuilder::sweep_interval), so memory follows the number of
///   *live* sessions. It runs whatever happens to the workers (actix-web replaces a worker
///   whose handler panicked, and its runtime with it), and ends when the store is dropped.
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
    /// When a create on a full store last swept to make room; locked while it sweeps.
    last_room_sweep: Mutex<Option<Instant>>,
    /// Dropped with the store, which tells the sweeper thread to end.
    _sweeper: Sender<()>,
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
        let (stop, stopped) = mpsc::channel();
        let inner = Arc::new(Inner {
            map: DashMap::with_hasher(BuildKeyHasher),
            versions: AtomicU64::new(1),
            capacity,
            sweep_interval,
            last_room_sweep: Mutex::new(None),
            _sweeper: stop,
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("memstore-sweeper".into())
            .spawn(move || sweep_until_dropped(&weak, sweep_interval, &stopped))
            .expect("the operating system could not start the sweeper thread");
        Self { inner }
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
    /// sweeper calls this; it is public for tests.
    ///
    /// ```
    /// assert_eq!(sessions_memstore::MemoryStore::new().sweep(), 0);
    /// ```
    pub fn sweep(&self) -> usize {
        self.inner.sweep()
    }

    fn next_version(&self) -> u64 {
        self.inner.versions.fetch_add(1, Ordering::Relaxed)
    }

    /// Inserts under `key` unless a live record holds it; `replacing` when the session
    /// continues one the store holds (see [`make_room`](Self::make_room)).
    fn insert_new(
        &self,
        key: SessionKey,
        payload: &[u8],
        ttl: Duration,
        replacing: bool,
    ) -> Result<Option<Version>, StoreError> {
        self.make_room(replacing)?;
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
    ///
    /// A session that continues one the store holds (`replacing`: a renewal at log-in, the
    /// flash a log-out leaves) adds no visitor, and may use a headroom of a quarter of the
    /// capacity above it: a flood of new visitors fills the store up to its capacity and no
    /// further, and log-ins and log-outs still go through. (A renewal's old record stays a
    /// minute as a tombstone, so only a flood of renewals could fill the headroom too.)
    ///
    /// A full sweep scans the whole map, so a full store is swept at most once per
    /// [`room_sweep_gap`] and by one caller at a time: a flood of new sessions on a store full
    /// of live ones costs each request a length check, not a scan of every session.
    fn make_room(&self, replacing: bool) -> Result<(), StoreError> {
        let Some(capacity) = self.inner.capacity else {
            return Ok(());
        };
        let limit = match replacing {
            true => capacity.saturating_add(capacity.div_ceil(4)),
            false => capacity,
        };
        if self.inner.map.len() < limit
            || (self.inner.sweep_for_room() && self.inner.map.len() < limit)
        {
            return Ok(());
        }
        Err(StoreError::other(format!(
            "the memory store is full ({capacity} live sessions)"
        )))
    }
}

/// How often a full store is swept to make room at most: the sweep interval, or one second if
/// that is shorter.
fn room_sweep_gap(sweep_interval: Duration) -> Duration {
    sweep_interval.min(Duration::from_secs(1))
}

impl Inner {
    /// Sweeps unless another caller is sweeping or a sweep ran within the gap; whether any
    /// entry was removed.
    fn sweep_for_room(&self) -> bool {
        let Ok(mut last) = self.last_room_sweep.try_lock() else {
            return false;
        };
        let now = Instant::now();
        let gap = room_sweep_gap(self.sweep_interval);
        if last.is_some_and(|at| now.saturating_duration_since(at) < gap) {
            return false;
        }
        *last = Some(now);
        self.sweep() > 0
    }

    fn sweep(&self) -> usize {
        let now = Instant::now();
        let before = self.map.len();
        self.map.retain(|_, record| record.is_live(now));
        before.saturating_sub(self.map.len())
    }
}

/// The sweeper thread: sweeps every `every` until the store is dropped (which drops the
/// sender of `stopped`). It holds only a weak reference between sweeps.
fn sweep_until_dropped(inner: &Weak<Inner>, every: Duration, stopped: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
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
        let now = Instant::now();
        let record = self.inner.map.get(key);
        Ok(record
            .filter(|record| record.is_live(now))
            .map(|record| Loaded::new(record.payload.to_vec(), Version::new(record.version))))
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        create_with_fresh_key(
            payload,
            |key| std::future::ready(self.insert_new(key, payload, ttl, false)),
            |key| async move { self.load(&key).await },
        )
        .await
    }

    /// As `create`, within the headroom above the capacity when the store holds `replaced`.
    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        let replacing = self.inner.map.contains_key(replaced);
        create_with_fresh_key(
            payload,
            |key| std::future::ready(self.insert_new(key, payload, ttl, replacing)),
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
        let gap = Duration::from_millis(30);
        let store = MemoryStore::builder()
            .capacity(2)
            .sweep_interval(gap)
            .build();
        store.create(b"1", Duration::from_millis(10)).await.unwrap();
        store.create(b"2", TTL).await.unwrap();
        assert!(store.create(b"3", TTL).await.is_err());
        actix_web::rt::time::sleep(gap * 2).await;
        store.create(b"3", TTL).await.unwrap();
        assert_eq!(store.len(), 2);
    }

    /// A flood of creates on a full store sweeps it once per gap, not on every create: within
    /// the gap an entry that expired meanwhile is not reclaimed, after it, it is.
    #[actix_web::test]
    async fn a_full_store_is_swept_at_most_once_per_gap() {
        let store = MemoryStore::builder()
            .capacity(2)
            .sweep_interval(Duration::from_secs(3600))
            .build();
        store.create(b"1", Duration::from_millis(10)).await.unwrap();
        store.create(b"2", TTL).await.unwrap();
        assert!(store.create(b"3", TTL).await.is_err()); // swept: nothing had expired
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..100 {
            assert!(
                store.create(b"3", TTL).await.is_err(),
                "the map was scanned again"
            );
        }
        assert_eq!(store.len(), 2);
        actix_web::rt::time::sleep(room_sweep_gap(Duration::from_secs(3600))).await;
        store.create(b"3", TTL).await.unwrap();
    }

    /// actix-web replaces a worker whose handler panicked, runtime and all: expiry must not
    /// depend on the runtime that first used the store.
    #[test]
    fn expired_sessions_go_after_the_runtime_that_used_the_store_is_gone() {
        let runtime = actix_web::rt::Runtime::new().unwrap();
        let store = runtime.block_on(async {
            let store = MemoryStore::builder()
                .sweep_interval(Duration::from_millis(20))
                .build();
            for _ in 0..10 {
                store.create(b"x", Duration::from_millis(10)).await.unwrap();
            }
            store
        });
        drop(runtime);
        for _ in 0..200 {
            if store.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(store.is_empty(), "{} expired entries left", store.len());
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
