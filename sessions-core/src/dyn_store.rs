//! An object-safe view of [`SessionStore`], so one middleware can hold sessions of different stores.

use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::store::{Loaded, SessionStore, StoreError, Stored, Version};

/// [`SessionStore`] with boxed futures. Implemented for every store; boxing costs one small
/// allocation per store call, next to a network round trip or a map lookup.
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

impl<S: SessionStore> DynStore for S {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> LocalBoxFuture<'a, Result<Option<Loaded>, StoreError>> {
        Box::pin(SessionStore::load(self, key))
    }

    fn create<'a>(
        &'a self,
        payload: &'a [u8],
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
        Box::pin(SessionStore::create(self, payload, ttl))
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        payload: &'a [u8],
        ttl: Duration,
        expected: Version,
    ) -> LocalBoxFuture<'a, Result<Stored, StoreError>> {
        Box::pin(SessionStore::update(self, key, payload, ttl, expected))
    }

    fn touch<'a>(
        &'a self,
        key: &'a SessionKey,
        ttl: Duration,
    ) -> LocalBoxFuture<'a, Result<SessionKey, StoreError>> {
        Box::pin(SessionStore::touch(self, key, ttl))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::delete(self, key))
    }

    fn compares_versions(&self) -> bool {
        SessionStore::compares_versions(self)
    }
}
