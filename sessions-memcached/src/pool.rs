//! The text transport's connection pool (deadpool's `managed` pool). The binary transport
//! shares its connections instead (see `crate::binary`).

use std::fmt;

use deadpool::Runtime;
use deadpool::managed::{BuildError, Manager, Object, Pool, PoolError, TimeoutType};
use sessions_core::StoreError;

use crate::config::Settings;
use crate::error::timed_out;

/// A pool of up to `settings.pool_size` connections.
///
/// Waiting for a free connection is bounded by the I/O timeout; creating one is bounded by the
/// managers themselves (with the connect timeout), so their errors say what timed out.
///
/// # Errors
///
/// Only deadpool's "timeouts need a runtime" error, which the runtime set here rules out.
pub(crate) fn build<M: Manager>(manager: M, settings: &Settings) -> Result<Pool<M>, BuildError> {
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(Some(settings.io_timeout))
        .runtime(Runtime::Tokio1)
        .build()
}

/// A connection from `pool`, opening one if none is idle.
///
/// # Errors
///
/// The manager's error when connecting fails; [`StoreError::unavailable`] when every
/// connection stays busy for longer than the I/O timeout.
pub(crate) async fn checkout<M>(
    pool: &Pool<M>,
    server: &dyn fmt::Display,
) -> Result<Object<M>, StoreError>
where
    M: Manager<Error = StoreError>,
{
    pool.get().await.map_err(|err| match err {
        PoolError::Backend(err) => err,
        PoolError::Timeout(TimeoutType::Wait) => {
            let waited = pool.timeouts().wait.unwrap_or_default();
            timed_out("wait for a free pooled connection", server, waited)
        }
        other => StoreError::unavailable(other).with_message(format!(
            "the connection pool for memcached on {server} failed"
        )),
    })
}
