//! Pooled text-protocol connections: opening, authenticating and recycling them.
//!
//! A plain connection is an `async_memcached::Client`; a TLS one, which that crate cannot open,
//! is a [`MetaClient`](super::meta_client::MetaClient) over the TLS stream. Either is one
//! connection with no pool, no reconnect and no timeouts. The pool (deadpool) adds the first
//! two, `TextManager::create` bounds connecting with a timeout, and every command is wrapped in
//! one (see `super::TextServer`).

use std::fmt;
use std::time::Duration;

use async_memcached::{
    AsciiProtocol as _, Client, Error as ClientError, ErrorKind, MetaProtocol as _, MetaValue,
    Status,
};
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use sessions_core::StoreError;

use crate::config::Settings;
use crate::error::{auth_failed, timed_out};
use crate::server::{Credentials, ServerConfig};
#[cfg(feature = "tls-rustls")]
use crate::socket::Stream;
use crate::socket::Tls;

/// A text-protocol client on a TLS stream.
#[cfg(feature = "tls-rustls")]
type TlsClient =
    super::meta_client::MetaClient<Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>>;

/// The key of the `set` that carries ASCII authentication. Its expiration is in the past, so a
/// server that does not require authentication (and so stores it) never serves the credentials.
const AUTH_KEY: &str = "sessions-memcached-auth";

/// One open connection.
pub(crate) enum TextConnection {
    Plain(Client),
    #[cfg(feature = "tls-rustls")]
    Tls(TlsClient),
}

impl TextConnection {
    /// Whether a command failed or was dropped half-way, so the connection must be dropped.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Self::Plain(client) => client.is_closed(),
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.is_closed(),
        }
    }

    pub(crate) async fn meta_get(
        &mut self,
        key: &str,
        flags: &[&str],
    ) -> Result<Option<MetaValue>, ClientError> {
        match self {
            Self::Plain(client) => client.meta_get(key, false, None, Some(flags)).await,
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.meta_get(key, flags).await,
        }
    }

    pub(crate) async fn meta_set(
        &mut self,
        key: &str,
        value: &[u8],
        flags: &[&str],
    ) -> Result<Option<MetaValue>, ClientError> {
        match self {
            Self::Plain(client) => client.meta_set(key, value, false, None, Some(flags)).await,
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.meta_set(key, value, flags).await,
        }
    }

    /// `md`: a missing key is `Err(Protocol(NotFound))`.
    pub(crate) async fn meta_delete(&mut self, key: &str) -> Result<(), ClientError> {
        match self {
            Self::Plain(client) => client.meta_delete(key, false, None, None).await.map(drop),
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.meta_delete(key).await,
        }
    }

    /// `flush_all`: every item stored so far is gone.
    pub(crate) async fn flush_all(&mut self) -> Result<(), ClientError> {
        match self {
            Self::Plain(client) => client.flush_all().await,
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.flush_all().await,
        }
    }

    /// A no-op that proves the connection still carries replies: `version` on a plain
    /// connection (`async-memcached` has no `mn`; any reply line will do), `mn` on a TLS one.
    pub(crate) async fn check(&mut self) -> Result<(), ClientError> {
        match self {
            Self::Plain(client) => client.version().await.map(drop),
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.meta_noop().await,
        }
    }

    /// `version`. `async-memcached` returns any one-line reply as the version, a
    /// `CLIENT_ERROR` included: check the connection with a command whose reply is parsed first.
    pub(crate) async fn version(&mut self) -> Result<String, ClientError> {
        match self {
            Self::Plain(client) => client.version().await,
            #[cfg(feature = "tls-rustls")]
            Self::Tls(client) => client.version().await,
        }
    }
}

impl fmt::Debug for TextConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextConnection")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Opens text-protocol connections to one server.
#[derive(Debug)]
pub(crate) struct TextManager {
    server: ServerConfig,
    dsn: String,
    tls: Tls,
    connect_timeout: Duration,
    io_timeout: Duration,
    ping_after_idle: Duration,
    /// The largest value a TLS connection's client accepts in a reply.
    #[cfg_attr(not(feature = "tls-rustls"), allow(dead_code, reason = "TLS only"))]
    max_value_size: usize,
}

impl TextManager {
    pub(crate) fn new(server: ServerConfig, tls: Tls, settings: &Settings) -> Self {
        let dsn = format!("tcp://{}", server.address());
        Self {
            server,
            dsn,
            tls,
            connect_timeout: settings.connect_timeout,
            io_timeout: settings.io_timeout,
            ping_after_idle: settings.ping_after_idle,
            max_value_size: settings.max_value_size,
        }
    }

    async fn open(&self) -> Result<TextConnection, StoreError> {
        let cannot_connect = |err| {
            StoreError::unavailable(err)
                .with_message(format!("cannot connect to memcached on {}", self.server))
        };
        let mut conn = if self.tls.is_enabled() {
            self.open_tls().await.map_err(cannot_connect)?
        } else {
            let client = Client::new(&self.dsn).await.map_err(cannot_connect)?;
            TextConnection::Plain(client)
        };
        if let Some(credentials) = &self.server.credentials {
            self.authenticate(&mut conn, credentials).await?;
        }
        Ok(conn)
    }

    #[cfg(feature = "tls-rustls")]
    async fn open_tls(&self) -> Result<TextConnection, ClientError> {
        let address = self.server.address();
        match self.tls.connect(&address, &self.server.host).await {
            Ok(Stream::Tls(stream)) => Ok(TextConnection::Tls(TlsClient::new(
                stream,
                self.max_value_size,
            ))),
            Ok(Stream::Plain(_)) => unreachable!("TLS is enabled"),
            Err(err) => Err(ClientError::Connect(err)),
        }
    }

    #[cfg(not(feature = "tls-rustls"))]
    #[allow(clippy::unused_async, reason = "the same signature as with TLS")]
    async fn open_tls(&self) -> Result<TextConnection, ClientError> {
        unreachable!("TLS is only enabled with the `tls-rustls` feature")
    }

    /// ASCII authentication (memcached `-Y`): the first command on a connection is a `set` whose
    /// data is `<user> <password>`; the server answers `STORED` or a `CLIENT_ERROR`.
    async fn authenticate(
        &self,
        conn: &mut TextConnection,
        credentials: &Credentials,
    ) -> Result<(), StoreError> {
        let secret = format!("{} {}", credentials.username, credentials.password);
        let sent = match conn {
            TextConnection::Plain(client) => {
                client.set(AUTH_KEY, secret.as_str(), Some(-1), None).await
            }
            #[cfg(feature = "tls-rustls")]
            TextConnection::Tls(client) => client.set_expired(AUTH_KEY, secret.as_bytes()).await,
        };
        match sent {
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
    /// otherwise be read as the next one's), so a closed client is dropped, never reused. One
    /// left idle for `ping_after_idle` is checked first: a NAT or a load balancer may have
    /// dropped it silently. A connection that fails either way is dropped, and the pool lends
    /// another (or opens one).
    async fn recycle(
        &self,
        conn: &mut TextConnection,
        metrics: &Metrics,
    ) -> RecycleResult<StoreError> {
        if conn.is_closed() {
            return Err(RecycleError::message(
                "the connection was closed after a failed operation",
            ));
        }
        let idle = metrics.last_used();
        if idle >= self.ping_after_idle
            && !matches!(
                tokio::time::timeout(self.io_timeout, conn.check()).await,
                Ok(Ok(()))
            )
        {
            tracing::debug!(server = %self.server, ?idle, "replacing an idle memcached connection that failed its check");
            return Err(RecycleError::message(
                "the connection did not answer its check after being idle",
            ));
        }
        Ok(())
    }
}
