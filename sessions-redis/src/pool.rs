//! Connection checkout from a `deadpool_redis::Pool` handed to
//! [`RedisStore::from_pool`](crate::RedisStore::from_pool).

use std::time::Duration;

use deadpool_redis::{Status, Timeouts};
use sessions_core::StoreError;

/// What an unset pool timeout counts as when bounding a checkout.
pub(crate) const UNSET_TIMEOUT: Duration = Duration::from_secs(1);

/// A deadpool-redis pool, each checkout bounded even if the pool sets no timeouts.
#[derive(Clone)]
pub(crate) struct Pool {
    pool: deadpool_redis::Pool,
    deadline: Duration,
}

impl Pool {
    pub(crate) fn new(pool: deadpool_redis::Pool) -> Self {
        let deadline = checkout_deadline(&pool.timeouts());
        Self { pool, deadline }
    }

    /// A connection of the pool, for one call.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the pool fails or the checkout outlasts its deadline.
    pub(crate) async fn get(&self) -> Result<deadpool_redis::Connection, StoreError> {
        let deadline = self.deadline;
        match tokio::time::timeout(deadline, self.pool.get()).await {
            Ok(conn) => {
                conn.map_err(|e| StoreError::unavailable(e).with_message("no Redis connection"))
            }
            Err(elapsed) => Err(StoreError::unavailable(elapsed)
                .with_message(format!("no Redis connection within {deadline:?}"))),
        }
    }

    pub(crate) fn status(&self) -> Status {
        self.pool.status()
    }
}

/// The longest a checkout may take: waiting for a free connection, then opening one or checking
/// an idle one, an unset timeout counting as [`UNSET_TIMEOUT`].
///
/// deadpool applies its timeouts per step, and when the check of an idle connection fails it
/// goes on to the next idle one: against a stalled server, a pool of idle connections would
/// otherwise cost one recycle timeout per connection before the call fails.
fn checkout_deadline(timeouts: &Timeouts) -> Duration {
    let create = timeouts.create.unwrap_or(UNSET_TIMEOUT);
    let recycle = timeouts.recycle.unwrap_or(UNSET_TIMEOUT);
    timeouts.wait.unwrap_or(UNSET_TIMEOUT) + create.max(recycle)
}
