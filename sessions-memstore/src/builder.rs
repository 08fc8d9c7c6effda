//! [`MemoryStoreBuilder`]: capacity and sweep interval.

use std::time::Duration;

use crate::MemoryStore;

/// The default time between sweeps of expired sessions: one minute.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Configures a [`MemoryStore`].
///
/// ```
/// use std::time::Duration;
/// use sessions_memstore::MemoryStore;
///
/// let store = MemoryStore::builder()
///     .capacity(1_000_000)
///     .sweep_interval(Duration::from_secs(30))
///     .build();
/// # let _ = store;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    capacity: Option<usize>,
    sweep_interval: Duration,
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        Self {
            capacity: None,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
        }
    }
}

impl MemoryStoreBuilder {
    /// The most sessions held at once. When full, expired sessions are swept at once (at most
    /// once per second, or per sweep interval if shorter: a flood of new sessions on a full
    /// store does not scan the whole map each time); if all are live, creating a session fails
    /// (the client gets a 500) rather than evicting a live user. Log-ins (renewals) and the
    /// session a log-out leaves may go a quarter above the bound, so a full store never
    /// refuses them. Defaults to no bound.
    ///
    /// ```
    /// let store = sessions_memstore::MemoryStore::builder().capacity(10).build();
    /// # let _ = store;
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// How often the background task removes expired sessions. Defaults to
    /// [`DEFAULT_SWEEP_INTERVAL`] (one minute). Expired sessions are never *returned* in the
    /// meantime; this only bounds how long their memory stays in use.
    ///
    /// ```
    /// let store = sessions_memstore::MemoryStore::builder()
    ///     .sweep_interval(std::time::Duration::from_secs(5))
    ///     .build();
    /// # let _ = store;
    /// ```
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every.max(Duration::from_millis(1));
        self
    }

    /// Builds the store and starts its sweeper thread (which ends when the store is dropped).
    ///
    /// ```
    /// let store = sessions_memstore::MemoryStore::builder().build();
    /// # let _ = store;
    /// ```
    pub fn build(self) -> MemoryStore {
        MemoryStore::from_parts(self.capacity, self.sweep_interval)
    }
}
