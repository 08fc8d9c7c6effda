//! The binary protocol transport, with SASL PLAIN authentication.
//!
//! Hosted memcached services (and memcached started with `-S`) speak only the binary protocol
//! and authenticate with SASL; no maintained async Rust client does both, so this is a small
//! client of its own: [`protocol`] frames and parses packets (pure functions, fuzzed in its
//! tests), [`connection`] matches replies to requests on a [shared
//! connection](crate::pipeline), and [`handshake`] authenticates a new connection.
//!
//! Commands: GET (value and CAS), ADD (collision-safe create), SET with a CAS (compare-and-set),
//! TOUCH, DELETE, FLUSH (before a server rejoins the ring), and VERSION for the startup check.

mod connection;
mod handshake;
pub(crate) mod protocol;

use std::fmt;
use std::time::Duration;

use sessions_core::{StoreError, StoreErrorKind};

use self::connection::{BinaryCodec, CallError, call};
use self::protocol::{Opcode, Request, Response, Status, storage_extras};
use crate::config::Settings;
use crate::connections::Connections;
use crate::error::{OpError, auth_failed, timed_out};
use crate::item::{Item, WriteOutcome};
use crate::server::ServerConfig;
use crate::socket::Tls;

/// One server spoken to over the binary protocol.
#[derive(Debug)]
pub(crate) struct BinaryServer {
    connections: Connections<BinaryCodec>,
    io_timeout: Duration,
}

impl BinaryServer {
    pub(crate) fn new(server: ServerConfig, settings: &Settings, tls: Tls) -> Self {
        Self {
            connections: Connections::new(server, tls, settings),
            io_timeout: settings.timeouts.io(),
        }
    }

    /// How many connections are open.
    pub(crate) fn open_connections(&self) -> usize {
        self.connections.open()
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        self.connections.server()
    }

    /// GET: the value and its CAS, or `None` when the key is missing (or expired).
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, OpError> {
        let request = Request {
            key: key.as_bytes(),
            ..Request::new(Opcode::Get)
        };
        let response = self.call(request).await?;
        match response.header.status {
            Status::NoError => {
                let cas = response.header.cas;
                Ok(Some(Item {
                    value: response.into_value(),
                    cas,
                }))
            }
            Status::KeyNotFound => Ok(None),
            _ => Err(self.unexpected(Opcode::Get, &response)),
        }
    }

    /// ADD: stores only if the key is free.
    pub(crate) async fn add(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
    ) -> Result<WriteOutcome, OpError> {
        self.store(Opcode::Add, key, value, expiration, 0).await
    }

    /// SET with a CAS: stores only if the item's CAS is still `cas` (and the item exists).
    pub(crate) async fn compare_and_set(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
        cas: u64,
    ) -> Result<WriteOutcome, OpError> {
        // CAS 0 would mean "unconditional" to the server; memcached never issues it.
        if cas == 0 {
            return Ok(WriteOutcome::NotStored);
        }
        self.store(Opcode::Set, key, value, expiration, cas).await
    }

    async fn store(
        &self,
        opcode: Opcode,
        key: &str,
        value: &[u8],
        expiration: u32,
        cas: u64,
    ) -> Result<WriteOutcome, OpError> {
        let extras = storage_extras(expiration);
        let request = Request {
            extras: &extras,
            key: key.as_bytes(),
            value,
            cas,
            ..Request::new(opcode)
        };
        let response = self.call(request).await?;
        match response.header.status {
            Status::NoError => Ok(WriteOutcome::Stored { cas: response.header.cas }),
            // ADD: the key is taken. SET with CAS: the CAS moved on, or the item is gone.
            Status::KeyExists | Status::KeyNotFound | Status::NotStored => Ok(WriteOutcome::NotStored),
            Status::ValueTooLarge => Err(StoreError::with_source(StoreErrorKind::TooLarge, status_error(opcode, &response))
                .with_message(format!(
                    "memcached on {} refused a {}-byte session as larger than its item size limit (memcached -I)",
                    self.config(),
                    value.len()
                ))
                .into()),
            _ => Err(self.unexpected(opcode, &response)),
        }
    }

    /// TOUCH: resets the expiration; a missing key is fine.
    pub(crate) async fn touch(&self, key: &str, expiration: u32) -> Result<(), OpError> {
        let extras = expiration.to_be_bytes();
        let request = Request {
            extras: &extras,
            key: key.as_bytes(),
            ..Request::new(Opcode::Touch)
        };
        self.expect_done(Opcode::Touch, request).await
    }

    /// DELETE: a missing key is fine.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), OpError> {
        let request = Request {
            key: key.as_bytes(),
            ..Request::new(Opcode::Delete)
        };
        self.expect_done(Opcode::Delete, request).await
    }

    /// FLUSH, at once (no expiration extras): every item stored so far is gone.
    pub(crate) async fn flush(&self) -> Result<(), OpError> {
        let request = Request::new(Opcode::Flush);
        let response = self.call(request).await?;
        match response.header.status {
            Status::NoError => Ok(()),
            _ => Err(self.unexpected(Opcode::Flush, &response)),
        }
    }

    async fn expect_done(&self, opcode: Opcode, request: Request<'_>) -> Result<(), OpError> {
        let response = self.call(request).await?;
        match response.header.status {
            Status::NoError | Status::KeyNotFound => Ok(()),
            _ => Err(self.unexpected(opcode, &response)),
        }
    }

    /// NOOP then VERSION: proves the connection works (and was authenticated); returns the version.
    pub(crate) async fn version(&self) -> Result<String, OpError> {
        let noop = self.call(Request::new(Opcode::Noop)).await?;
        if noop.header.status != Status::NoError {
            return Err(self.unexpected(Opcode::Noop, &noop));
        }
        let response = self.call(Request::new(Opcode::Version)).await?;
        match response.header.status {
            Status::NoError => Ok(String::from_utf8_lossy(response.value()).into_owned()),
            _ => Err(self.unexpected(Opcode::Version, &response)),
        }
    }

    /// Sends one request on the thread's shared connection within the I/O timeout (opening
    /// the connection first, if need be, within the connect timeout).
    async fn call(&self, request: Request<'_>) -> Result<Response, OpError> {
        let lease = self.connections.lease().await?;
        match tokio::time::timeout(self.io_timeout, call(lease.connection(), request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(self.classify(request.opcode, err)),
            Err(_) => {
                // The server may be stopped or overloaded: the next call opens a new connection
                // rather than queueing behind this one. The reply, if it ever comes, is dropped.
                lease.discard();
                Err(timed_out(request.opcode.name(), &self.config(), self.io_timeout).into())
            }
        }
    }

    fn classify(&self, opcode: Opcode, err: CallError) -> OpError {
        let message = format!("memcached {} on {} failed", opcode.name(), self.config());
        if err.is_connection_lost() {
            return OpError::Retriable(StoreError::unavailable(err).with_message(message));
        }
        if matches!(err, CallError::ResponseTooLarge(_)) && opcode == Opcode::Get {
            // A record larger than this store writes: not ours, or from before a lower limit.
            return StoreError::corrupt(err).with_message(message).into();
        }
        StoreError::unavailable(err).with_message(message).into()
    }

    /// An error for a status the command does not expect.
    fn unexpected(&self, opcode: Opcode, response: &Response) -> OpError {
        if response.header.status == Status::AuthError {
            let detail = "the server requires SASL authentication: put `user:password@` in its URL";
            return auth_failed(&self.config(), detail).into();
        }
        StoreError::unavailable(status_error(opcode, response))
            .with_message(format!(
                "memcached {} on {} failed",
                opcode.name(),
                self.config()
            ))
            .into()
    }
}

/// A response status a command did not expect, with the server's message.
#[derive(Debug)]
struct StatusError {
    opcode: Opcode,
    status: Status,
    message: String,
}

fn status_error(opcode: Opcode, response: &Response) -> StatusError {
    // Error responses carry a short text as their value; cap it in case it is not short.
    let text = response.value().get(..200).unwrap_or(response.value());
    StatusError {
        opcode,
        status: response.header.status,
        message: String::from_utf8_lossy(text).into_owned(),
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.opcode.name(), self.status)?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for StatusError {}
