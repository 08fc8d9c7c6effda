//! Records written by actix-session 0.11's `RedisSessionStore`, for moving its users over
//! without logging them out (feature `actix-session`).

use std::fmt;
use std::sync::Arc;

use futures_util::future::LocalBoxFuture;
use sessions_core::{LegacyRecords, StoreError};

use crate::command::{Command, Effect};
use crate::store::RedisStore;

/// The Redis key actix-session keeps a session's state under, from the session key its cookie
/// holds.
type Keygen = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// actix-session's records, read through a [`RedisStore`]'s connections: give it to
/// [`ActixSessionMigration::store`](sessions_core::ActixSessionMigration::store).
///
/// ```no_run
/// use sessions_core::{ActixSessionMigration, CookieSecurity, SessionConfig};
/// use sessions_redis::{ActixSessionRecords, RedisStore};
///
/// let store = RedisStore::new("redis://127.0.0.1:6379")?;
/// let old_key = actix_web::cookie::Key::generate(); // the key actix-session used
/// let migration = ActixSessionMigration::store(
///     &old_key,
///     CookieSecurity::Private,
///     ActixSessionRecords::new(&store),
/// );
/// let config = SessionConfig::new(store).migrate_from_actix_session(migration);
/// # let _ = config;
/// # Ok::<(), sessions_redis::RedisBuildError>(())
/// ```
#[derive(Clone)]
pub struct ActixSessionRecords {
    store: RedisStore,
    keygen: Keygen,
}

impl ActixSessionRecords {
    /// actix-session's records on the server `store` talks to, under the session key itself
    /// (actix-session's default `cache_keygen`).
    ///
    /// ```
    /// # let store = sessions_redis::RedisStore::new("redis://127.0.0.1:6379")?;
    /// let records = sessions_redis::ActixSessionRecords::new(&store);
    /// # let _ = records;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    #[must_use]
    pub fn new(store: &RedisStore) -> Self {
        Self {
            store: store.clone(),
            keygen: Arc::new(str::to_owned),
        }
    }

    /// The `cache_keygen` actix-session was configured with.
    ///
    /// ```
    /// # let store = sessions_redis::RedisStore::new("redis://127.0.0.1:6379")?;
    /// let records = sessions_redis::ActixSessionRecords::new(&store)
    ///     .cache_keygen(|key| format!("session:{key}"));
    /// # let _ = records;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    #[must_use]
    pub fn cache_keygen(mut self, keygen: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        self.keygen = Arc::new(keygen);
        self
    }
}

impl LegacyRecords for ActixSessionRecords {
    fn load<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let mut cmd = crate::redis::cmd("GET");
            cmd.arg((self.keygen)(key));
            Command::new("GET", cmd, Effect::Idempotent)
                .run(self.store.backend())
                .await
        })
    }
}

impl fmt::Debug for ActixSessionRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActixSessionRecords")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
