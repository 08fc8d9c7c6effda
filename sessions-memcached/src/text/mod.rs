//! The text protocol transport: `async-memcached`'s meta commands over pooled connections.
//!
//! Compare-and-set needs the item's CAS value on read and on write, which only the meta commands
//! give in one round trip: `mg <key> v c` returns the value with its CAS, and
//! `ms <key> <len> C<cas> T<ttl> c` writes only if the CAS still matches and returns the new one
//! (`ME` turns the same command into a collision-safe add). `async-memcached` implements these
//! commands with free-form flags (`meta_get`, `meta_set`, `meta_delete`), so no raw protocol
//! code is needed here. Touch is `mg <key> T<ttl>` (memcached 1.6 has no `mt`), which neither
//! returns the value nor changes the CAS.

mod connection;
#[cfg(any(feature = "tls-rustls", test))]
mod meta_client;

use std::future::Future;
use std::time::Duration;

use async_memcached::{Error as ClientError, ErrorKind, MetaValue, Status};
use deadpool::managed::{BuildError, Pool};
use sessions_core::{StoreError, StoreErrorKind};

use self::connection::TextManager;
use crate::config::Settings;
use crate::error::{OpError, auth_failed, timed_out};
use crate::pool;
use crate::server::ServerConfig;
use crate::socket::Tls;
use crate::transport::{Item, WriteOutcome};

/// One server spoken to over the text protocol.
#[derive(Debug)]
pub(crate) struct TextServer {
    pool: Pool<TextManager>,
    server: ServerConfig,
    io_timeout: Duration,
}

impl TextServer {
    pub(crate) fn new(
        server: ServerConfig,
        settings: &Settings,
        tls: Tls,
    ) -> Result<Self, BuildError> {
        let manager = TextManager::new(server.clone(), tls, settings);
        Ok(Self {
            pool: pool::build(manager, settings)?,
            server,
            io_timeout: settings.io_timeout,
        })
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        &self.server
    }

    /// `mg <key> v c`: the value and its CAS, or `None` when the key is missing (or expired).
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        let reply = self
            .run("mg", None, conn.meta_get(key, &["v", "c"]))
            .await?;
        let Some(value) = reply else { return Ok(None) };
        let cas = value
            .cas
            .ok_or_else(|| self.protocol_error("mg", "a hit without the CAS value asked for"))?;
        Ok(Some(Item {
            value: value.data.unwrap_or_default(),
            cas,
        }))
    }

    /// `ms <key> <len> ME T<exp> c`: stores only if the key is free (memcached's `add`).
    pub(crate) async fn add(
        &self,
        key: &str,
        value: &[u8],
        expiration: u32,
    ) -> Result<WriteOutcome, OpError> {
        self.set(key, value, &["ME", &format!("T{expiration}"), "c"])
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
        self.set(
            key,
            value,
            &[&format!("C{cas}"), &format!("T{expiration}"), "c"],
        )
        .await
    }

    async fn set(&self, key: &str, value: &[u8], flags: &[&str]) -> Result<WriteOutcome, OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        let reply = conn.meta_set(key, value, flags);
        let (status, cas) = match self.run("ms", Some(value.len()), set_status(reply)).await? {
            (Status::Stored, Some(cas)) => return Ok(WriteOutcome::Stored { cas }),
            other => other,
        };
        match status {
            // NS: `ME` found the key taken; EX: the CAS moved on; NF: the item is gone.
            Status::NotStored | Status::Exists | Status::NotFound => Ok(WriteOutcome::NotStored),
            _ => Err(self
                .protocol_error(
                    "ms",
                    &format!("an unexpected reply ({status}, CAS {cas:?})"),
                )
                .into()),
        }
    }

    /// `mg <key> T<exp>`: resets the expiration; a missing key is fine.
    pub(crate) async fn touch(&self, key: &str, expiration: u32) -> Result<(), OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        let ttl = format!("T{expiration}");
        self.run("mg", None, conn.meta_get(key, &[&ttl])).await?;
        Ok(())
    }

    /// `md <key>`: a missing key is fine.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        let reply = async {
            match conn.meta_delete(key).await {
                Err(ClientError::Protocol(Status::NotFound)) => Ok(()),
                other => other,
            }
        };
        self.run("md", None, reply).await?;
        Ok(())
    }

    /// `flush_all`: every item stored so far is gone.
    pub(crate) async fn flush(&self) -> Result<(), OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        self.run("flush_all", None, conn.flush_all()).await
    }

    /// `mg` of an unused key, then `version`: proves the connection works (and was
    /// authenticated); returns the version.
    ///
    /// `version` alone proves little: `async-memcached` returns any one-line reply as the
    /// version, a `CLIENT_ERROR unauthenticated` included. A meta get's reply is checked.
    pub(crate) async fn version(&self) -> Result<String, OpError> {
        let mut conn = pool::checkout(&self.pool, &self.server).await?;
        self.run("mg", None, conn.meta_get("sessions-memcached-probe", &[]))
            .await?;
        let version = self.run("version", None, conn.version()).await?;
        Ok(version.trim_end().to_owned())
    }

    /// Runs one command within the I/O timeout and classifies its failure.
    ///
    /// A timed-out command is dropped half-way, which closes the client (see
    /// `TextManager::recycle`), so the pool never reuses a connection with an unread reply.
    async fn run<T>(
        &self,
        command: &str,
        value_len: Option<usize>,
        reply: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, OpError> {
        match tokio::time::timeout(self.io_timeout, reply).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(err)) => Err(self.classify(command, value_len, err)),
            Err(_) => Err(timed_out(&format!("`{command}`"), &self.server, self.io_timeout).into()),
        }
    }

    fn classify(&self, command: &str, value_len: Option<usize>, err: ClientError) -> OpError {
        match &err {
            ClientError::Io(_) | ClientError::ConnectionClosed => {
                OpError::Retriable(StoreError::unavailable(err).with_message(format!(
                    "the connection to memcached on {} broke during `{command}`",
                    self.server
                )))
            }
            ClientError::Protocol(Status::Error(ErrorKind::Client(reply)))
                if reply.contains("unauthenticated") =>
            {
                auth_failed(
                    &self.server,
                    "the server requires authentication: put `user:password@` in its URL",
                )
                .into()
            }
            ClientError::Protocol(Status::Error(ErrorKind::Server(reply)))
                if reply.contains("too large") =>
            {
                let len = value_len.unwrap_or_default();
                StoreError::with_source(StoreErrorKind::TooLarge, err)
                    .with_message(format!(
                        "memcached on {} refused a {len}-byte session as larger than its item size limit \
                         (memcached -I)",
                        self.server
                    ))
                    .into()
            }
            _ => StoreError::unavailable(err)
                .with_message(format!("memcached `{command}` on {} failed", self.server))
                .into(),
        }
    }

    fn protocol_error(&self, command: &str, what: &str) -> StoreError {
        StoreError::unavailable(format!(
            "memcached `{command}` on {} returned {what}",
            self.server
        ))
    }
}

/// The status and new CAS of an `ms`, however `async-memcached` reports them: with return flags
/// the status is in the [`MetaValue`] (`NS c0` is an `Ok`), without them a non-`HD` status is an
/// `Err`.
async fn set_status(
    reply: impl Future<Output = Result<Option<MetaValue>, ClientError>>,
) -> Result<(Status, Option<u64>), ClientError> {
    match reply.await {
        Ok(Some(value)) => Ok((value.status.unwrap_or(Status::Stored), value.cas)),
        Ok(None) => Ok((Status::Stored, None)),
        Err(ClientError::Protocol(
            status @ (Status::NotStored | Status::Exists | Status::NotFound),
        )) => Ok((status, None)),
        Err(err) => Err(err),
    }
}
