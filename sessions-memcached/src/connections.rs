//! The connections to one server, one per worker thread ([`sessions_net`]), for either
//! protocol: opening (TCP, TLS), authenticating, the idle check.
//!
//! # Which connection a call uses
//!
//! The calling thread's: calls made on one thread (one actix-web worker) share its connection,
//! which batches their requests ([`crate::pipeline`]), and that connection's tasks run on that
//! thread's runtime (the call that opened it spawned them), so no call waits on another
//! thread; a worker blocked in a synchronous handler delays only its own requests.
//!
//! # Failures
//!
//! A connection that closed (an I/O error, the server restarted, garbage on the wire) is
//! replaced by the thread's next call; so is one retired by a call that timed out
//! (`Lease::discard`), whose late replies are best never read. Calls still waiting on a
//! replaced connection finish on it; it closes once the last of them is done. Opening is
//! shared: the calls on a thread that find it without a connection wait for the same attempt,
//! bounded by the connect timeout. When the thread's runtime shuts down (an actix-web worker
//! stopping, a test ending) the connection closes with it, and the thread's next call, on its
//! new runtime, opens a new one instead of failing. A connection unused for `ping_after_idle`
//! is checked with the protocol's no-op first ([`sessions_net::IdleCheck`]).

use std::fmt;
use std::sync::Arc;

use sessions_core::StoreError;
use sessions_net::{IdleCheck, Lease, PerThread};

use crate::config::Settings;
use crate::pipeline::{Codec, Pipeline};
use crate::server::{Credentials, ServerConfig};
use crate::socket::{Stream, Tls};

/// What opening a connection takes beyond TCP and TLS, per protocol.
pub(crate) trait Handshake: Codec + Sized {
    /// The codec of a new connection, for values of up to `max_value_size` bytes.
    fn codec(max_value_size: usize) -> Self;

    /// Authenticates `conn`, just opened and not yet used by anyone, as `credentials`.
    fn authenticate<'a>(
        conn: &'a Arc<Pipeline<Self>>,
        server: &'a ServerConfig,
        credentials: &'a Credentials,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a;

    /// Whether `conn` still answers the protocol's no-op. Unbounded: the caller applies the
    /// timeout.
    fn answers(conn: Arc<Pipeline<Self>>) -> impl Future<Output = bool> + Send;
}

/// One connection per worker thread to one server (see the [module documentation](self)).
pub(crate) struct Connections<H: Handshake> {
    server: ServerConfig,
    address: String,
    tls: Tls,
    max_value_size: usize,
    idle_check: IdleCheck,
    per_thread: PerThread<Arc<Pipeline<H>>>,
}

impl<H: Handshake> Connections<H> {
    pub(crate) fn new(server: ServerConfig, tls: Tls, settings: &Settings) -> Self {
        Self {
            address: server.address(),
            server,
            tls,
            max_value_size: settings.max_value_size,
            idle_check: IdleCheck::new(settings.ping_after_idle, settings.timeouts.io()),
            per_thread: PerThread::new(settings.timeouts.connect()),
        }
    }

    /// The calling thread's connection, opening (and authenticating) one first if need be, or
    /// replacing one that sat idle and failed its check.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be opened within the connect timeout (which
    /// bounds waiting for another call's attempt too), or the server refused the credentials.
    pub(crate) async fn lease(&self) -> Result<Lease<Arc<Pipeline<H>>>, StoreError> {
        self.idle_check
            .lease(
                &self.per_thread,
                || self.open_one(),
                H::answers,
                &self.server,
            )
            .await
            .map_err(|err| err.into_store_error(&format_args!("memcached on {}", self.server)))
    }

    pub(crate) fn server(&self) -> &ServerConfig {
        &self.server
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.per_thread.open_connections()
    }

    /// Connects and authenticates. Unbounded: the caller applies the connect timeout.
    async fn open_one(&self) -> Result<Arc<Pipeline<H>>, StoreError> {
        let stream = self
            .tls
            .connect(&self.address, &self.server.host)
            .await
            .map_err(|err| {
                StoreError::unavailable(err)
                    .with_message(format!("cannot connect to memcached on {}", self.server))
            })?;
        let codec = H::codec(self.max_value_size);
        let conn = match stream {
            Stream::Plain(stream) => {
                let (read, write) = stream.into_split();
                Pipeline::start(read, write, codec)
            }
            #[cfg(feature = "tls-rustls")]
            Stream::Tls(stream) => {
                let (read, write) = tokio::io::split(*stream);
                Pipeline::start(read, write, codec)
            }
        };
        if let Some(credentials) = &self.server.credentials {
            // On failure the connection is dropped, which closes it.
            H::authenticate(&conn, &self.server, credentials).await?;
        }
        Ok(conn)
    }
}

impl<H: Handshake> fmt::Debug for Connections<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("server", &self.server)
            .field("open", &self.open())
            .finish_non_exhaustive()
    }
}
