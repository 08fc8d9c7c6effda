//! Opening a binary connection: SASL PLAIN authentication, the NOOP idle check, and the cap
//! on reply bodies.

use std::sync::Arc;

use sessions_core::StoreError;

use super::connection::{BinaryCodec, CallError, Connection, call};
use super::protocol::{Opcode, Request, Status};
use crate::connections::Handshake;
use crate::error::auth_failed;
use crate::key::MAX_KEY_LEN;
use crate::server::{Credentials, ServerConfig};

/// The only SASL mechanism implemented: the password travels in clear text, as with every
/// hosted memcached service that offers SASL (use a private network or TLS).
const MECHANISM: &str = "PLAIN";

/// Room in a response body for what is not the value (extras, a key).
const BODY_OVERHEAD: usize = 4 + MAX_KEY_LEN;

/// The smallest cap on response bodies, so that lowering `max_value_size` does not make records
/// written under the old limit unreadable (they load as corrupt only when even larger).
const MIN_MAX_BODY: usize = 1024 * 1024;

impl Handshake for BinaryCodec {
    fn codec(max_value_size: usize) -> Self {
        let max_body = max_value_size
            .max(MIN_MAX_BODY)
            .saturating_add(BODY_OVERHEAD);
        Self::new(u32::try_from(max_body).unwrap_or(u32::MAX))
    }

    fn authenticate<'a>(
        conn: &'a Arc<Connection>,
        server: &'a ServerConfig,
        credentials: &'a Credentials,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a {
        authenticate(conn, server, credentials)
    }

    async fn answers(conn: Arc<Connection>) -> bool {
        matches!(call(&conn, Request::new(Opcode::Noop)).await, Ok(response) if response.header.status == Status::NoError)
    }
}

/// SASL: checks that the server offers PLAIN (`SASL_LIST_MECHS`), then sends
/// `SASL_AUTH PLAIN` with `\0<user>\0<password>` (RFC 4616, no authorization identity).
async fn authenticate(
    conn: &Arc<Connection>,
    server: &ServerConfig,
    credentials: &Credentials,
) -> Result<(), StoreError> {
    let failed = |err: CallError| {
        StoreError::unavailable(err).with_message(format!(
            "memcached on {} failed during SASL authentication",
            server
        ))
    };
    let mechanisms = call(conn, Request::new(Opcode::SaslListMechs))
        .await
        .map_err(failed)?;
    let offered = String::from_utf8_lossy(mechanisms.value()).into_owned();
    if mechanisms.header.status != Status::NoError
        || !offered.split_whitespace().any(|m| m == MECHANISM)
    {
        let detail = match mechanisms.header.status {
            Status::NoError => {
                format!("the server offers the SASL mechanisms `{offered}`, not {MECHANISM}")
            }
            status => format!(
                "the server does not list SASL mechanisms ({status}); was it started with -S?"
            ),
        };
        return Err(auth_failed(server, detail));
    }
    let token = format!("\0{}\0{}", credentials.username, credentials.password);
    let request = Request {
        key: MECHANISM.as_bytes(),
        value: token.as_bytes(),
        ..Request::new(Opcode::SaslAuth)
    };
    let reply = call(conn, request).await.map_err(failed)?;
    match reply.header.status {
        Status::NoError => Ok(()),
        status => Err(auth_failed(
            server,
            format!(
                "user `{}` was refused: {status} ({})",
                credentials.username,
                String::from_utf8_lossy(reply.value())
            ),
        )),
    }
}
