//! The connections to one server, one per worker thread ([`sessions_net`]):
//! opening and SASL PLAIN authentication.
//!
//! # Which connection a call uses
//!
//! The calling thread's: calls made on one thread (one actix-web worker) share its connection,
//! which batches their requests, and that connection's tasks run on that thread's runtime (the
//! call that opened it spawned them), so no call waits on another thread; a worker blocked in a
//! synchronous handler delays only its own requests.
//!
//! # Failures
//!
//! A connection that closed (an I/O error, the server restarted, garbage on the wire) is
//! replaced by the thread's next call; so is one retired by a call that timed out
//! (`Lease::discard`), whose late replies are best never read. Calls still waiting on a
//! replaced connection finish on it; it closes once the last of them is done. Opening is
//! shared: the calls on a thread that find it without a connection wait for the same attempt,
//! bounded by the connect timeout. When the thread's runtime shuts down (an actix-web worker
//! stopping, a test ending) the connection closes with it (see [`Connection`]), and the
//! thread's next call, on its new runtime, opens a new one instead of failing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sessions_core::StoreError;
use sessions_net::{Lease, OpenError, PerThread, ThreadConnection};

use super::connection::{CallError, Connection};
use super::protocol::{Opcode, Request, Status};
use crate::error::{auth_failed, timed_out};
use crate::server::{Credentials, ServerConfig};
use crate::socket::{Stream, Tls};

/// The only SASL mechanism implemented: the password travels in clear text, as with every
/// hosted memcached service that offers SASL (use a private network or a TLS tunnel).
const MECHANISM: &str = "PLAIN";

/// One connection per worker thread to one server (see the [module documentation](self)).
pub(crate) struct Connections {
    server: ServerConfig,
    address: String,
    tls: Tls,
    connect_timeout: Duration,
    max_body: u32,
    per_thread: PerThread<Arc<Connection>>,
}

impl ThreadConnection for Connection {
    fn is_open(&self) -> bool {
        Connection::is_open(self)
    }
}

impl Connections {
    /// Connections to `server`, opened with `connect_timeout`; replies with bodies over
    /// `max_body` bytes are skipped.
    pub(crate) fn new(
        server: ServerConfig,
        tls: Tls,
        connect_timeout: Duration,
        max_body: u32,
    ) -> Self {
        Self {
            address: server.address(),
            tls,
            server,
            connect_timeout,
            max_body,
            per_thread: PerThread::new(connect_timeout),
        }
    }

    /// The calling thread's connection, opening (and authenticating) one first if need be.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be opened within the connect timeout (which
    /// bounds waiting for another call's attempt too), or the server refused the credentials.
    pub(crate) async fn get(&self) -> Result<Lease<Arc<Connection>>, StoreError> {
        self.per_thread
            .get(|| self.open_one())
            .await
            .map_err(|err| match err {
                OpenError::Failed(err) => err,
                OpenError::TimedOut(_) => timed_out("connect", &self.server, self.connect_timeout),
                err => StoreError::unavailable(err.to_string()),
            })
    }

    pub(crate) fn server(&self) -> &ServerConfig {
        &self.server
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.per_thread.open_connections()
    }

    /// Connects and authenticates. Unbounded: the caller applies the connect timeout.
    async fn open_one(&self) -> Result<Arc<Connection>, StoreError> {
        let stream = self
            .tls
            .connect(&self.address, &self.server.host)
            .await
            .map_err(|err| {
                StoreError::unavailable(err)
                    .with_message(format!("cannot connect to memcached on {}", self.server))
            })?;
        let conn = match stream {
            Stream::Plain(stream) => Connection::start(stream, self.max_body),
            #[cfg(feature = "tls-rustls")]
            Stream::Tls(stream) => {
                let (read, write) = tokio::io::split(*stream);
                Connection::start_halves(read, write, self.max_body)
            }
        };
        if let Some(credentials) = &self.server.credentials {
            // On failure the connection is dropped, which closes it.
            self.authenticate(&conn, credentials).await?;
        }
        Ok(conn)
    }

    /// SASL: checks that the server offers PLAIN (`SASL_LIST_MECHS`), then sends
    /// `SASL_AUTH PLAIN` with `\0<user>\0<password>` (RFC 4616, no authorization identity).
    async fn authenticate(
        &self,
        conn: &Arc<Connection>,
        credentials: &Credentials,
    ) -> Result<(), StoreError> {
        let failed = |err: CallError| {
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

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("server", &self.server)
            .field("open", &self.open())
            .finish_non_exhaustive()
    }
}
