//! [`MongoStore`]: sessions as documents in one MongoDB collection.

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use mongodb::bson::{DateTime, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteError, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};
use sessions_core::{
    Loaded, SessionKey, SessionStore, StoreError, StoreErrorKind, Stored, Version,
    create_with_fresh_key,
};

use crate::MongoStoreBuilder;
use crate::document;

/// The largest payload [`MongoStore`] accepts, in bytes: MongoDB's 16 MiB document limit, less
/// 1 KiB for the record's other fields.
///
/// Larger payloads fail with [`StoreError::too_large`] before anything is sent.
///
/// ```
/// assert_eq!(sessions_mongo::MAX_PAYLOAD_LEN, 16 * 1024 * 1024 - 1024);
/// ```
pub const MAX_PAYLOAD_LEN: usize = 16 * 1024 * 1024 - 1024;

/// The server's error code for a duplicate key in a unique index.
const DUPLICATE_KEY: i32 = 11000;
/// `createIndexes` codes for an index on the same field that exists with other options.
const INDEX_OPTIONS_CONFLICT: i32 = 85;
const INDEX_KEY_SPECS_CONFLICT: i32 = 86;

/// A [`SessionStore`] that keeps each session as a document in a MongoDB collection.
///
/// Created by [`MongoStore::builder`] (from a URL) or [`MongoStore::builder_with_client`]. Run
/// [`migrate`](Self::migrate) once at startup to create the TTL index that removes expired
/// records. Cloning is cheap: clones share the driver's connection pool.
///
/// ```no_run
/// use sessions_mongo::MongoStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MongoStore::builder("mongodb://127.0.0.1:27017").build().await?;
/// store.migrate().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MongoStore {
    collection: Collection<Document>,
    io_timeout: Duration,
}

impl MongoStore {
    /// A builder for a store connecting to `url`, a MongoDB connection string.
    ///
    /// ```
    /// let builder = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017");
    /// ```
    pub fn builder(url: impl Into<String>) -> MongoStoreBuilder {
        MongoStoreBuilder::from_url(url.into())
    }

    /// A builder for a store that uses an existing driver [`Client`] (and its options).
    ///
    /// ```no_run
    /// use sessions_mongo::MongoStore;
    /// use sessions_mongo::mongodb::Client;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::with_uri_str("mongodb://127.0.0.1:27017").await?;
    /// let store = MongoStore::builder_with_client(client).build().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder_with_client(client: Client) -> MongoStoreBuilder {
        MongoStoreBuilder::from_client(client)
    }

    pub(crate) fn new(collection: Collection<Document>, io_timeout: Duration) -> Self {
        Self {
            collection,
            io_timeout,
        }
    }

    /// Creates the TTL index on `expires_at` that lets the server delete expired records.
    ///
    /// Idempotent: run it at every startup. Reads never depend on it (an expired record is
    /// treated as missing until the server's TTL monitor, which runs about once a minute,
    /// removes it); without the index, expired records are never removed.
    ///
    /// ```no_run
    /// # async fn run(store: sessions_mongo::MongoStore) -> Result<(), sessions_core::StoreError> {
    /// store.migrate().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::unavailable`] when the server cannot be reached or fails (bounded by the
    /// [I/O timeout](MongoStoreBuilder::io_timeout)); a [`StoreErrorKind::Other`]
    /// error when an index on `expires_at` already exists with other options.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let options = IndexOptions::builder().expire_after(Duration::ZERO).build();
        let mut keys = Document::new();
        keys.insert(document::EXPIRES_AT, 1);
        let index = IndexModel::builder().keys(keys).options(options).build();
        match self
            .timed("createIndexes", self.collection.create_index(index))
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) if is_index_conflict(&e) => {
                Err(StoreError::with_source(StoreErrorKind::Other, e)
                    .with_message("an index on `expires_at` exists with other options"))
            }
            Err(e) => Err(unavailable("createIndexes", e)),
        }
    }

    /// The collection the sessions live in.
    ///
    /// ```no_run
    /// # async fn run(store: sessions_mongo::MongoStore) -> Result<(), Box<dyn std::error::Error>> {
    /// let sessions = store.collection().estimated_document_count().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn collection(&self) -> &Collection<Document> {
        &self.collection
    }

    /// How long one store operation may take before it fails as unavailable.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017").build().await?;
    /// assert_eq!(store.io_timeout(), std::time::Duration::from_secs(5));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn io_timeout(&self) -> Duration {
        self.io_timeout
    }

    /// The name [`io_timeout`](Self::io_timeout) had.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = sessions_mongo::MongoStore::builder("mongodb://127.0.0.1:27017").build().await?;
    /// #[allow(deprecated)]
    /// let timeout = store.operation_timeout();
    /// assert_eq!(timeout, store.io_timeout());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    #[deprecated(since = "0.1.1", note = "renamed `io_timeout`, as in every store")]
    pub fn operation_timeout(&self) -> Duration {
        self.io_timeout
    }

    /// Runs one driver operation within the I/O timeout. A timeout is an error here; the
    /// driver's own result is left to the caller, which may expect some failures.
    ///
    /// Dropping a driver future mid-operation is safe: the driver closes that connection
    /// instead of returning it to the pool.
    async fn timed<T>(
        &self,
        operation: &'static str,
        future: impl IntoFuture<Output = Result<T, MongoError>>,
    ) -> Result<Result<T, MongoError>, StoreError> {
        tokio::time::timeout(self.io_timeout, future)
            .await
            .map_err(|elapsed| {
                StoreError::unavailable(elapsed).with_message(format!(
                    "MongoDB {operation} timed out after {} ms",
                    self.io_timeout.as_millis()
                ))
            })
    }

    /// [`timed`](Self::timed) for operations whose every failure means the store is unavailable.
    async fn run<T>(
        &self,
        operation: &'static str,
        future: impl IntoFuture<Output = Result<T, MongoError>>,
    ) -> Result<T, StoreError> {
        self.timed(operation, future)
            .await?
            .map_err(|e| unavailable(operation, e))
    }

    /// [`run`](Self::run) for a write: a timeout, or a connection that broke, after the
    /// operation may have reached the server leaves its outcome unknown
    /// ([`StoreError::outcome_unknown`]), for the caller to settle by reading back.
    async fn run_write<T>(
        &self,
        operation: &'static str,
        future: impl IntoFuture<Output = Result<T, MongoError>>,
    ) -> Result<T, StoreError> {
        match self.timed(operation, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if is_connection_error(&e) => Err(outcome_unknown(operation, e)),
            Ok(Err(e)) => Err(unavailable(operation, e)),
            Err(timeout) => Err(StoreError::outcome_unknown(timeout)),
        }
    }

    /// Inserts a new record under `key`; `None` when the key is taken.
    async fn insert(
        &self,
        key: &SessionKey,
        payload: &[u8],
        expires_at: DateTime,
    ) -> Result<Option<Version>, StoreError> {
        let record = document::record(document::id(key)?, payload, 1, expires_at);
        match self
            .timed("insert", self.collection.insert_one(record))
            .await
        {
            Ok(Ok(_)) => Ok(Some(Version::new(1))),
            Ok(Err(e)) if is_duplicate_key(&e) => Ok(None),
            Ok(Err(e)) if is_connection_error(&e) => Err(outcome_unknown("insert", e)),
            Ok(Err(e)) => Err(unavailable("insert", e)),
            Err(timeout) => Err(StoreError::outcome_unknown(timeout)),
        }
    }
}

impl SessionStore for MongoStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        let filter = document::live(document::id(key)?, DateTime::now());
        let find = self
            .collection
            .find_one(filter)
            .projection(document::projection());
        let Some(found) = self.run("find", find).await? else {
            return Ok(None);
        };
        document::decode(found)
            .map(Some)
            .map_err(StoreError::corrupt)
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        check_size(payload)?;
        let expires_at = document::expiry(DateTime::now(), ttl);
        create_with_fresh_key(
            payload,
            |key| async move { self.insert(&key, payload, expires_at).await },
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
        check_size(payload)?;
        let id = document::id(key)?;
        // Stored versions are non-negative i64s counting up from 1: a version outside that
        // range (or one that cannot be counted past) cannot match any record.
        let Some((current, next)) = i64::try_from(expected.get())
            .ok()
            .and_then(|current| Some((current, current.checked_add(1)?)))
        else {
            return Err(StoreError::conflict());
        };
        let now = DateTime::now();
        let replacement = document::replacement(payload, next, document::expiry(now, ttl));
        let replace = self
            .collection
            .replace_one(document::live_at(id, current, now), replacement);
        if self.run_write("replace", replace).await?.matched_count == 0 {
            return Err(StoreError::conflict());
        }
        Ok(Stored::new(key.clone(), Version::new(expected.get() + 1)))
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        let now = DateTime::now();
        let filter = document::live(document::id(key)?, now);
        let update = document::set_expiry(document::expiry(now, ttl));
        // No match (missing or expired) is fine: an expired record must not come back to life.
        self.run("update", self.collection.update_one(filter, update))
            .await?;
        Ok(key.clone())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let filter = document::by_id(document::id(key)?);
        self.run("delete", self.collection.delete_one(filter))
            .await?;
        Ok(())
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("namespace", &self.collection.namespace().to_string())
            .field("io_timeout", &self.io_timeout)
            .finish_non_exhaustive()
    }
}

fn check_size(payload: &[u8]) -> Result<(), StoreError> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(StoreError::too_large(payload.len(), MAX_PAYLOAD_LEN));
    }
    Ok(())
}

fn unavailable(operation: &'static str, error: MongoError) -> StoreError {
    StoreError::unavailable(error).with_message(format!("MongoDB {operation}"))
}

fn outcome_unknown(operation: &'static str, error: MongoError) -> StoreError {
    StoreError::outcome_unknown(error).with_message(format!("MongoDB {operation}"))
}

/// The connection broke (or its pool was cleared) during the operation; a server that could
/// not be selected at all is not this: nothing was sent.
fn is_connection_error(error: &MongoError) -> bool {
    matches!(
        error.kind.as_ref(),
        ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. }
    )
}

fn write_error_code(error: &MongoError) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(WriteError { code, .. })) => Some(*code),
        _ => None,
    }
}

fn is_duplicate_key(error: &MongoError) -> bool {
    write_error_code(error) == Some(DUPLICATE_KEY)
}

fn is_index_conflict(error: &MongoError) -> bool {
    matches!(
        error.kind.as_ref(),
        ErrorKind::Command(e) if e.code == INDEX_OPTIONS_CONFLICT || e.code == INDEX_KEY_SPECS_CONFLICT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_session_store() {
        fn assert_store<S: SessionStore + Clone + fmt::Debug>() {}
        assert_store::<MongoStore>();
    }

    #[test]
    fn rejects_oversized_payloads_before_sending() {
        let err = check_size(&vec![0; MAX_PAYLOAD_LEN + 1]).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge);
        assert!(check_size(&vec![0; MAX_PAYLOAD_LEN]).is_ok());
    }
}
