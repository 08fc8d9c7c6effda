//! Pooled binary connections: connecting, SASL PLAIN authentication and recycling.

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sessions_core::StoreError;

use super::client::BinaryConnection;
use super::protocol::{Opcode, Request, Status};
use crate::error::{auth_failed, timed_out};
use crate::server::{Credentials, ServerConfig};

/// The only SASL mechanism implemented: the password travels in clear text, as with every
/// hosted memcached service that offers SASL (use a private network or a TLS tunnel).
const MECHANISM: &str = "PLAIN";

/// Opens binary-protocol connections to one server.
#[derive(Debug)]
pub(crate) struct BinaryManager {
    server: ServerConfig,
    address: String,
    connect_timeout: Duration,
    max_body: u32,
}

impl BinaryManager {
    pub(crate) fn new(server: ServerConfig, connect_timeout: Duration, max_body: u32) -> Self {
        let address = server.address();
        Self {
            server,
            address,
            connect_timeout,
            max_body,
        }
    }

    async fn open(&self) -> Result<BinaryConnection, StoreError> {
        let mut conn = BinaryConnection::connect(&self.address, self.max_body)
            .await
            .map_err(|err| {
                StoreError::unavailable(err)
                    .with_message(format!("cannot connect to memcached on {}", self.server))
            })?;
        if let Some(credentials) = &self.server.credentials {
            self.authenticate(&mut conn, credentials).await?;
        }
        Ok(conn)
    }

    /// SASL: checks that the server offers PLAIN (`SASL_LIST_MECHS`), then sends
    /// `SASL_AUTH PLAIN` with `\0<user>\0<password>` (RFC 4616, no authorization identity).
    async fn authenticate(
        &self,
        conn: &mut BinaryConnection,
        credentials: &Credentials,
    ) -> Result<(), StoreError> {
        let failed = |err| {
            StoreError::unavailable(err).with_message(format!(
                "memcached on {} failed during SASL authentication",
                self.server
            ))
        };
        let mechanisms = conn
            .call(Request::new(Opcode::SaslListMechs))
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
            return Err(auth_failed(&self.server, detail));
        }
        let token = format!("\0{}\0{}", credentials.username, credentials.password);
        let request = Request {
            key: MECHANISM.as_bytes(),
            value: token.as_bytes(),
            ..Request::new(Opcode::SaslAuth)
        };
        let reply = conn.call(request).await.map_err(failed)?;
        match reply.header.status {
            Status::NoError => Ok(()),
            status => Err(auth_failed(
                &self.server,
                format!(
                    "user `{}` was refused: {status} ({})",
                    credentials.username,
                    String::from_utf8_lossy(reply.value())
                ),
            )),
        }
    }
}

impl managed::Manager for BinaryManager {
    type Type = BinaryConnection;
    type Error = StoreError;

    async fn create(&self) -> Result<BinaryConnection, StoreError> {
        tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| timed_out("connect", &self.server, self.connect_timeout))?
    }

    async fn recycle(&self, conn: &mut BinaryConnection, _: &Metrics) -> RecycleResult<StoreError> {
        if !conn.is_usable() {
            return Err(RecycleError::message(
                "the connection was abandoned after a failed or cancelled request",
            ));
        }
        Ok(())
    }
}
