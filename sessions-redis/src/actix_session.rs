//! Records written by actix-session 0.11's `RedisSessionStore`, for moving its users over
//! without logging them out (feature `actix-session`).

use std::fmt;
use std::sync::Arc;

use deadpool_redis::redis::{self, Script};
use futures_util::future::LocalBoxFuture;
use sessions_actix_migration::LegacyRecords;
use sessions_core::StoreError;

use crate::command::{Command, Effect};
use crate::store::RedisStore;

/// Returns the value under `KEYS[1]` and deletes it, in one step: of two parallel requests
/// carrying the same old cookie, exactly one converts its session. A script rather than
/// `GETDEL`, which needs Redis 6.2, so the migration runs wherever the store does.
const TAKE: &str = r"
local state = redis.call('GET', KEYS[1])
if state then
    redis.call('DEL', KEYS[1])
end
return state
";

/// The Redis key actix-session keeps a session's state under, from the session key its cookie
/// holds.
type Keygen = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// actix-session's records, read through a [`RedisStore`]'s connections: give it to
/// [`ActixSessionMigration::store`](sessions_actix_migration::ActixSessionMigration::store).
///
/// A record is read and deleted in one step (a script), as [`LegacyRecords::take`] requires:
/// once a session moved over, its old cookie names nothing.
///
/// ```no_run
/// use sessions_actix_migration::ActixSessionMigration;
/// use sessions_core::{CookieSecurity, SessionConfig};
/// use sessions_redis::{ActixSessionRecords, RedisStore};
///
/// let store = RedisStore::new("redis://127.0.0.1:6379")?;
/// let old_key = actix_web::cookie::Key::generate(); // the key actix-session used
/// let migration = ActixSessionMigration::store(
///     &old_key,
///     CookieSecurity::Private,
///     ActixSessionRecords::new(&store),
/// );
/// let config = SessionConfig::new(store).fallback_loader(migration);
/// # let _ = config;
/// # Ok::<(), sessions_redis::RedisBuildError>(())
/// ```
#[derive(Clone)]
pub struct ActixSessionRecords {
    store: RedisStore,
    keygen: Keygen,
    take: Script,
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
            take: Script::new(TAKE),
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
    fn take<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            take_command(&self.take, (self.keygen)(key))
                .run(self.store.backend())
                .await
        })
    }
}

/// The take script on `redis_key`: `EVALSHA`, or `EVAL` when the server does not know it yet.
/// A write: if its reply is lost the record may be gone, so it is never sent twice.
fn take_command(script: &Script, redis_key: String) -> Command {
    let call = |command: &str, script_arg: &str| {
        let mut cmd = redis::cmd(command);
        cmd.arg(script_arg).arg(1).arg(&redis_key);
        cmd
    };
    Command {
        eval: Some(call("EVAL", TAKE)),
        ..Command::new("EVALSHA", call("EVALSHA", script.get_hash()), Effect::Write)
    }
}

impl fmt::Debug for ActixSessionRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActixSessionRecords")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
