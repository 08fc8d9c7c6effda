//! [`with_retry`]: one more attempt for a request whose connection broke under it.

use sessions_core::StoreError;

use crate::error::OpError;
use crate::transport::Server;

/// Runs `attempt`, and once more if its connection broke under it: after a server restart
/// every idle connection is dead, and the first request on each should not fail because of it.
pub(crate) async fn with_retry<T, F, Fut>(server: &Server, mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OpError>>,
{
    match attempt().await {
        Err(OpError::Retriable(err)) => {
            tracing::debug!(server = %server, error = %err, "memcached connection broke; retrying on a new one");
            attempt().await.map_err(OpError::into_store_error)
        }
        result => result.map_err(OpError::into_store_error),
    }
}
