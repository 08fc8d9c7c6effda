//! The store behind [`Session::detached`](crate::Session::detached): there is none.

use std::time::Duration;

use crate::SessionKey;
use crate::store::{Loaded, SessionStore, StoreError, Stored, Version};

/// Stands in for a store where no store may be used; every call fails.
#[derive(Debug)]
pub(crate) struct DetachedStore;

fn no_store() -> StoreError {
    StoreError::other("a detached session has no store")
}

impl SessionStore for DetachedStore {
    async fn load(&self, _: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        Err(no_store())
    }

    async fn create(&self, _: &[u8], _: Duration) -> Result<Stored, StoreError> {
        Err(no_store())
    }

    async fn update(
        &self,
        _: &SessionKey,
        _: &[u8],
        _: Duration,
        _: Version,
    ) -> Result<Stored, StoreError> {
        Err(no_store())
    }

    async fn touch(&self, _: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
        Err(no_store())
    }

    async fn delete(&self, _: &SessionKey) -> Result<(), StoreError> {
        Err(no_store())
    }
}
