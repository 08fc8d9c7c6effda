//! Opening a text connection: ASCII authentication, the `mn` idle check, and the cap on
//! values read.

use std::sync::Arc;

use sessions_core::StoreError;

use super::connection::{Connection, TextCodec, call};
use super::protocol::{Command, ErrorReply, Reply, Status};
use crate::connections::Handshake;
use crate::error::auth_failed;
use crate::server::{Credentials, ServerConfig};

/// The smallest cap on values read, so that lowering `max_value_size` does not make records
/// written under the old limit unreadable (they load as corrupt only when even larger).
const MIN_MAX_VALUE: usize = 1024 * 1024;

impl Handshake for TextCodec {
    fn codec(max_value_size: usize) -> Self {
        Self::new(max_value_size.max(MIN_MAX_VALUE))
    }

    fn authenticate<'a>(
        conn: &'a Arc<Connection>,
        server: &'a ServerConfig,
        credentials: &'a Credentials,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a {
        authenticate(conn, server, credentials)
    }

    async fn answers(conn: Arc<Connection>) -> bool {
        matches!(
            call(&conn, &Command::Noop).await,
            Ok(Reply::Status {
                status: Status::Mn,
                ..
            })
        )
    }
}

/// ASCII authentication (memcached `-Y`): the first command on a connection is a `set` whose
/// data is `<user> <password>`; the server answers `STORED` or a `CLIENT_ERROR` (and then
/// closes the connection).
async fn authenticate(
    conn: &Arc<Connection>,
    server: &ServerConfig,
    credentials: &Credentials,
) -> Result<(), StoreError> {
    let secret = format!("{} {}", credentials.username, credentials.password);
    let reply = call(
        conn,
        &Command::Authenticate {
            secret: secret.as_bytes(),
        },
    )
    .await
    .map_err(|err| {
        StoreError::unavailable(err).with_message(format!(
            "memcached on {server} failed during authentication"
        ))
    })?;
    match reply {
        Reply::Status {
            status: Status::Stored,
            ..
        } => Ok(()),
        Reply::Error(ErrorReply::Client(reply)) => Err(auth_failed(
            server,
            format!("user `{}` was refused ({reply})", credentials.username),
        )),
        other => Err(StoreError::unavailable(format!(
            "the authentication `set` was answered with {other:?}"
        ))
        .with_message(format!(
            "memcached on {server} failed during authentication"
        ))),
    }
}
