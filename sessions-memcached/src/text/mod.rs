//! The text protocol transport: meta commands on one shared connection per worker thread.
//!
//! Compare-and-set needs the item's CAS value on read and on write, which only the meta commands
//! give in one round trip: `mg <key> v c` returns the value with its CAS, and
//! `ms <key> <len> C<cas> T<ttl> c` writes only if the CAS still matches and returns the new one
//! (`ME` turns the same command into a collision-safe add). Touch is `mg <key> T<ttl>`
//! (memcached 1.6 has no `mt`), which neither returns the value nor changes the CAS.
//!
//! [`protocol`] encodes commands and cuts replies out of the stream (pure functions),
//! [`connection`] matches replies to requests on a [shared connection](crate::pipeline), the
//! same one the binary transport uses, and [`handshake`] authenticates a new connection. The
//! same client runs over plain TCP and TLS.

mod connection;
mod handshake;
pub(crate) mod protocol;

use std::time::Duration;

use sessions_core::{StoreError, StoreErrorKind};

use self::connection::{TextCodec, call};
use self::protocol::{Command, ErrorReply, Reply, Status};
use crate::config::Settings;
use crate::connections::Connections;
use crate::error::{OpError, auth_failed, timed_out};
use crate::item::{Item, WriteOutcome};
use crate::server::ServerConfig;
use crate::socket::Tls;

/// One server spoken to over the text protocol.
#[derive(Debug)]
pub(crate) struct TextServer {
    connections: Connections<TextCodec>,
    io_timeout: Duration,
}

impl TextServer {
    pub(crate) fn new(server: ServerConfig, settings: &Settings, tls: Tls) -> Self {
        Self {
            connections: Connections::new(server, tls, settings),
            io_timeout: settings.timeouts.io(),
        }
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        self.connections.server()
    }

    /// How many connections are open.
    pub(crate) fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// `mg <key> v c`: the value and its CAS, or `None` when the key is missing (or expired).
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, OpError> {
        let command = Command::Get { key };
        match self.call(&command).await? {
            Reply::Value { data, flags } => {
                let cas = flags.cas.ok_or_else(|| {
                    self.protocol_error(&command, "a hit without the CAS value asked for")
                })?;
                Ok(Some(Item { value: data, cas }))
            }
            Reply::Status {
                status: Status::Miss,
                ..
            } => Ok(None),
            Reply::Oversized { len, limit, .. } => {
                // A record larger than this store writes: not ours, or from before a lower limit.
                Err(StoreError::corrupt(format!(
                    "a {len}-byte value, over the {limit}-byte limit; it was skipped"
                ))
                .with_message(format!("memcached `mg` on {} failed", self.config()))
                .into())
            }
            other => Err(self.unexpected(&command, other)),
        }
    }

    /// `ms <key> <len> ME T<exp> c`: stores only if the key is free (memcached's `add`).
    pub(crate) async fn add(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
    ) -> Result<WriteOutcome, OpError> {
        self.store(&Command::Add {
            key,
            value,
            expiration,
        })
        .await
    }

    /// `ms <key> <len> C<cas> T<exp> c`: stores only if the item's CAS is still `cas`.
    pub(crate) async fn compare_and_set(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
        cas: u64,
    ) -> Result<WriteOutcome, OpError> {
        // Memcached never issues CAS 0; the store never sends it (as for the binary SET).
        if cas == 0 {
            return Ok(WriteOutcome::NotStored);
        }
        self.store(&Command::CompareAndSet {
            key,
            value,
            expiration,
            cas,
        })
        .await
    }

    async fn store(&self, command: &Command<'_>) -> Result<WriteOutcome, OpError> {
        match self.call(command).await? {
            Reply::Status {
                status: Status::Hd,
                flags,
            } => {
                let cas = flags.cas.ok_or_else(|| {
                    self.protocol_error(command, "a write without the CAS value asked for")
                })?;
                Ok(WriteOutcome::Stored { cas })
            }
            // NS: `ME` found the key taken; EX: the CAS moved on; NF: the item is gone.
            Reply::Status {
                status: Status::Ns | Status::Ex | Status::Nf,
                ..
            } => Ok(WriteOutcome::NotStored),
            other => Err(self.unexpected(command, other)),
        }
    }

    /// `mg <key> T<exp>`: resets the expiration; a missing key is fine.
    pub(crate) async fn touch(&self, key: &str, expiration: u32) -> Result<(), OpError> {
        let command = Command::Touch { key, expiration };
        self.expect(&command, &[Status::Hd, Status::Miss]).await
    }

    /// `md <key>`: a missing key is fine.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), OpError> {
        let command = Command::Delete { key };
        self.expect(&command, &[Status::Hd, Status::Nf]).await
    }

    /// `flush_all`: every item stored so far is gone.
    pub(crate) async fn flush(&self) -> Result<(), OpError> {
        self.expect(&Command::Flush, &[Status::Ok]).await
    }

    /// `mn`, then `version`: proves the connection works (and was authenticated); returns the
    /// version.
    pub(crate) async fn version(&self) -> Result<String, OpError> {
        self.expect(&Command::Noop, &[Status::Mn]).await?;
        match self.call(&Command::Version).await? {
            Reply::Version(version) => Ok(version),
            other => Err(self.unexpected(&Command::Version, other)),
        }
    }

    async fn expect(&self, command: &Command<'_>, statuses: &[Status]) -> Result<(), OpError> {
        match self.call(command).await? {
            Reply::Status { status, .. } if statuses.contains(&status) => Ok(()),
            other => Err(self.unexpected(command, other)),
        }
    }

    /// Sends one command on the thread's shared connection within the I/O timeout (opening
    /// the connection first, if need be, within the connect timeout).
    async fn call(&self, command: &Command<'_>) -> Result<Reply, OpError> {
        let lease = self.connections.lease().await?;
        match tokio::time::timeout(self.io_timeout, call(lease.connection(), command)).await {
            Ok(Ok(reply)) => Ok(reply),
            // Whatever closed it (reset, end of stream, garbage, a reply out of step), the
            // server may well answer on a new connection; a write is not resent (see
            // `crate::store::write_error`).
            Ok(Err(closed)) => Err(OpError::Retriable(
                StoreError::unavailable(closed).with_message(format!(
                    "the connection to memcached on {} broke during `{}`",
                    self.config(),
                    command.name()
                )),
            )),
            Err(_) => {
                // The server may be stopped or overloaded: the next call opens a new connection
                // rather than queueing behind this one. The reply, if it ever comes, is dropped.
                lease.discard();
                let what = format!("`{}`", command.name());
                Err(timed_out(&what, self.config(), self.io_timeout).into())
            }
        }
    }

    /// The error for a reply the command does not expect: an error line, classified, or a
    /// reply of another kind (which the connection's check rules out).
    fn unexpected(&self, command: &Command<'_>, reply: Reply) -> OpError {
        let server = self.config();
        match reply {
            Reply::Error(ErrorReply::Client(message)) if message.contains("unauthenticated") => {
                auth_failed(
                    server,
                    "the server requires authentication: put `user:password@` in its URL",
                )
                .into()
            }
            Reply::Error(ErrorReply::Server(message)) if message.contains("too large") => {
                let len = command.value_len().unwrap_or_default();
                StoreError::with_source(StoreErrorKind::TooLarge, ErrorReply::Server(message))
                    .with_message(format!(
                        "memcached on {server} refused a {len}-byte session as larger than its item size limit \
                         (memcached -I)"
                    ))
                    .into()
            }
            Reply::Error(err) => StoreError::unavailable(err)
                .with_message(format!("memcached `{}` on {server} failed", command.name()))
                .into(),
            other => self
                .protocol_error(command, &format!("an unexpected reply ({other:?})"))
                .into(),
        }
    }

    fn protocol_error(&self, command: &Command<'_>, what: &str) -> StoreError {
        StoreError::unavailable(format!(
            "memcached `{}` on {} returned {what}",
            command.name(),
            self.config()
        ))
    }
}
