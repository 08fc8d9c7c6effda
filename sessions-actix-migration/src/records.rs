//! Where actix-session kept the states its cookies name: [`LegacyRecords`].

use futures_util::future::LocalBoxFuture;
use sessions_core::StoreError;

/// Where actix-session kept the state its cookies name: records written by its
/// `RedisSessionStore` (implemented by `sessions_redis::ActixSessionRecords`, feature
/// `actix-session` of `sessions-redis`).
///
/// The migration *takes* a record: it is converted once, and ended as it moves over, so that a
/// copy of the old cookie (captured before the cut-over, or sent by a second request in
/// parallel with the first) finds nothing.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use futures_util::future::LocalBoxFuture;
/// use sessions_actix_migration::LegacyRecords;
/// use sessions_core::StoreError;
///
/// /// Old sessions kept in a map, for the example.
/// struct Old(Mutex<HashMap<String, String>>);
///
/// impl LegacyRecords for Old {
///     fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
///         // One lock: of two callers with the same key, only one gets the state.
///         Box::pin(async move { Ok(self.0.lock().unwrap().remove(key)) })
///     }
/// }
/// ```
pub trait LegacyRecords: Send + Sync + 'static {
    /// The JSON state (a map of names to JSON strings) actix-session stored for the session
    /// key `key`, if any, removed from the backend in the same step.
    ///
    /// Reading and removing must be atomic: of any number of concurrent calls with the same
    /// key, at most one returns the state (in Redis, one `GETDEL` or a script that reads and
    /// deletes). A record that is gone or expired is `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend fails; the request then fails as on any store outage.
    /// A failure after which the record may or may not be gone (a lost reply) is an error too:
    /// the client's next request takes it, or finds it gone and starts a fresh session.
    fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>>;
}
