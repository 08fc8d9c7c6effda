//! A small, correct store for this crate's unit tests (the memory store is another crate).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::SessionKey;
use crate::store::{Loaded, SessionStore, StoreError, Stored, Version, create_with_fresh_key};

/// Records in a map, with a version counter; no expiry.
#[derive(Debug, Default)]
pub(crate) struct MapStore {
    records: Mutex<HashMap<SessionKey, (Vec<u8>, u64)>>,
    next: Mutex<u64>,
}

impl MapStore {
    fn version(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        *next
    }
}

impl SessionStore for MapStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        let records = self.records.lock().unwrap();
        Ok(records
            .get(key)
            .map(|(p, v)| Loaded::new(p.clone(), Version::new(*v))))
    }

    async fn create(&self, payload: &[u8], _: Duration) -> Result<Stored, StoreError> {
        let insert = |key: SessionKey| {
            let mut records = self.records.lock().unwrap();
            let free = !records.contains_key(&key);
            let version = free.then(|| self.version());
            if let Some(v) = version {
                records.insert(key, (payload.to_vec(), v));
            }
            async move { Ok(version.map(Version::new)) }
        };
        create_with_fresh_key(payload, insert, |key| async move { self.load(&key).await }).await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        _: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        let mut records = self.records.lock().unwrap();
        match records.get_mut(key) {
            Some((stored, version)) if *version == expected.get() => {
                *stored = payload.to_vec();
                *version = self.version();
                Ok(Stored::new(key.clone(), Version::new(*version)))
            }
            _ => Err(StoreError::conflict()),
        }
    }

    async fn touch(&self, key: &SessionKey, _: Duration) -> Result<SessionKey, StoreError> {
        Ok(key.clone())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.records.lock().unwrap().remove(key);
        Ok(())
    }
}
