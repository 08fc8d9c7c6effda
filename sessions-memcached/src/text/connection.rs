//! Pooled `async-memcached` clients: opening, authenticating and recycling them.
//!
//! `async_memcached::Client` is one connection with no pool, no reconnect and no timeouts. The
//! pool (deadpool) adds the first two, `TextManager::create` bounds connecting with a timeout,
//! and every command is wrapped in one (see `super::TextServer`).

use std::fmt;
use std::time::Duration;

use async_memcached::{AsciiProtocol as _, Client, Error as ClientError, ErrorKind, Status};
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sessions_core::StoreError;

use crate::error::{auth_failed, timed_out};
use crate::server::{Credentials, ServerConfig};

/// The key of the `set` that carries ASCII authentication. Its expiration is in the past, so a
/// server that does not require authentication (and so stores it) never serves the credentials.
const AUTH_KEY: &str = "sessions-memcached-auth";

/// One open connection.
pub(crate) struct TextConnection {
    pub(crate) client: Client,
}

impl fmt::Debug for TextConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextConnection")
            .field("closed", &self.client.is_closed())
            .finish()
    }
}

/// Opens text-protocol connections to one server.
#[derive(Debug)]
pub(crate) struct TextManager {
    server: ServerConfig,
    dsn: String,
    connect_timeout: Duration,
}

impl TextManager {
    pub(crate) fn new(server: ServerConfig, connect_timeout: Duration) -> Self {
        let dsn = format!("tcp://{}", server.address());
        Self {
            server,
            dsn,
            connect_timeout,
        }
    }

    async fn open(&self) -> Result<TextConnection, StoreError> {
        let mut client = Client::new(&self.dsn).await.map_err(|err| {
            StoreError::unavailable(err)
                .with_message(format!("cannot connect to memcached on {}", self.server))
        })?;
        if let Some(credentials) = &self.server.credentials {
            self.authenticate(&mut client, credentials).await?;
        }
        Ok(TextConnection { client })
    }

    /// ASCII authentication (memcached `-Y`): the first command on a connection is a `set` whose
    /// data is `<user> <password>`; the server answers `STORED` or a `CLIENT_ERROR`.
    async fn authenticate(
        &self,
        client: &mut Client,
        credentials: &Credentials,
    ) -> Result<(), StoreError> {
        let secret = format!("{} {}", credentials.username, credentials.password);
        match client.set(AUTH_KEY, secret.as_str(), Some(-1), None).await {
            Ok(()) => Ok(()),
            Err(ClientError::Protocol(Status::Error(ErrorKind::Client(reply)))) => {
                Err(auth_failed(
                    &self.server,
                    format!("user `{}` was refused ({reply})", credentials.username),
                ))
            }
            Err(err) => Err(StoreError::unavailable(err).with_message(format!(
                "memcached on {} failed during authentication",
                self.server
            ))),
        }
    }
}

impl managed::Manager for TextManager {
    type Type = TextConnection;
    type Error = StoreError;

    async fn create(&self) -> Result<TextConnection, StoreError> {
        tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| timed_out("connect", &self.server, self.connect_timeout))?
    }

    /// A client closes itself when an operation fails or is cancelled half-way (its reply would
    /// otherwise be read as the next one's), so a closed client is dropped, never reused.
    async fn recycle(&self, conn: &mut TextConnection, _: &Metrics) -> RecycleResult<StoreError> {
        if conn.client.is_closed() {
            return Err(RecycleError::message(
                "the connection was closed after a failed operation",
            ));
        }
        Ok(())
    }
}
