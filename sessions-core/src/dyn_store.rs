//! An object-safe view of [`SessionStore`], so one middleware can hold sessions of different
//! stores, with every call observed (see `observe.rs`).

use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::observe::store_call;
use crate::store::{Loaded, SessionStore, StoreError, Stored, Version};

/// [`SessionStore`] with boxed futures. Boxing costs one small allocation per store call, next
/// to a network round trip or a map lookup.
pub(crate) trait DynStore: Send + Sync {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> LocalBoxFuture<'a, Result<Option<Loaded>, StoreError>>;
    fn create<'a>(
        &'a self,
        payload: &'a [u8],
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>>;
    fn create_replacing<'a>(
        &'a self,
        replaced: &'a SessionKey,
        payload: &'a [u8],
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>>;
    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        payload: &'a [u8],
        ttl: Duration,
        expected: Version,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>>;
    fn touch<'a>(
        &'a self,
        key: &'a SessionKey,
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<SessionKey, StoreError>>;
    fn delete<'a>(&'a self, key: &'a SessionKey) -> LocalBoxFuture<'a, Result<(), StoreError>>;
    fn compares_versions(&self) -> bool;
}

/// A store and its name, taken once (spans and metrics label every call with it).
pub(crate) struct Observed<S> {
    name: &'static str,
    store: S,
}

impl<S: SessionStore> Observed<S> {
    pub(crate) fn new(store: S) -> Self {
        Self {
            name: store.name(),
            store,
        }
    }
}

impl<S: SessionStore> DynStore for Observed<S> {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> LocalBoxFuture<'a, Result<Option<Loaded>, StoreError>> {
        store_call(self.name, "load", self.store.load(key))
    }

    fn create<'a>(
        &'a self,
        payload: &'a [u8],
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
        store_call(self.name, "create", self.store.create(payload, ttl))
    }

    fn create_replacing<'a>(
        &'a self,
        replaced: &'a SessionKey,
        payload: &'a [u8],
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
        let call = self.store.create_replacing(replaced, payload, ttl);
        store_call(self.name, "create", call)
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        payload: &'a [u8],
        ttl: Duration,
        expected: Version,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
        let call = self.store.update(key, payload, ttl, expected);
        store_call(self.name, "update", call)
    }

    fn touch<'a>(
        &'a self,
        key: &'a SessionKey,
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<SessionKey, StoreError>> {
        store_call(self.name, "touch", self.store.touch(key, ttl))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        store_call(self.name, "delete", self.store.delete(key))
    }

    fn compares_versions(&self) -> bool {
        self.store.compares_versions()
    }
}

// With the `metrics` feature every call is observed, so there is no bare box to check.
#[cfg(all(test, not(feature = "metrics")))]
mod tests {
    use super::*;
    use crate::test_store::MapStore;

    /// With nobody listening (no `metrics`, no debug subscriber), the box holds the store's
    /// future alone: an observing wrapper around it would hold it twice (see `store_call`).
    #[test]
    fn an_unobserved_call_boxes_the_store_future_alone() {
        let store = MapStore::default();
        let observed = Observed::new(MapStore::default());
        let key = SessionKey::generate();
        let (ttl, version) = (Duration::from_secs(1), Version::new(1));
        let bare = std::mem::size_of_val(&store.update(&key, b"", ttl, version));
        let boxed = observed.update(&key, b"", ttl, version);
        assert_eq!(std::mem::size_of_val(&*boxed), bare);
        let bare = std::mem::size_of_val(&store.load(&key));
        assert_eq!(std::mem::size_of_val(&*observed.load(&key)), bare);
    }
}
