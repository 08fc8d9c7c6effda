//! Opening a connection to a server: TCP, its options, and TLS (memcached's `-Z`) when the
//! store is configured with a rustls client configuration (feature `tls-rustls`).

use std::fmt;
use std::io;

use tokio::net::TcpStream;

/// How connections are secured: plain TCP, or TLS.
#[derive(Clone, Default)]
pub(crate) struct Tls {
    #[cfg(feature = "tls-rustls")]
    connector: Option<tokio_rustls::TlsConnector>,
}

/// An open connection.
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls-rustls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Tls {
    /// TLS with `config` (its root certificates, client certificate and crypto provider).
    #[cfg(feature = "tls-rustls")]
    pub(crate) fn new(config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        Self {
            connector: Some(tokio_rustls::TlsConnector::from(config)),
        }
    }

    /// Whether connections use TLS.
    pub(crate) fn is_enabled(&self) -> bool {
        #[cfg(feature = "tls-rustls")]
        return self.connector.is_some();
        #[cfg(not(feature = "tls-rustls"))]
        false
    }

    /// Connects to `address` and, with TLS, runs the handshake, checking that the server's
    /// certificate is valid for `host`. Unbounded: the caller applies the connect timeout.
    pub(crate) async fn connect(&self, address: &str, host: &str) -> io::Result<Stream> {
        let stream = TcpStream::connect(address).await?;
        // Requests are small and each is written whole: waiting to fill a segment only adds latency.
        stream.set_nodelay(true)?;
        self.wrap(stream, host).await
    }

    #[cfg(feature = "tls-rustls")]
    async fn wrap(&self, stream: TcpStream, host: &str) -> io::Result<Stream> {
        let Some(connector) = &self.connector else {
            return Ok(Stream::Plain(stream));
        };
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        let stream = connector.connect(name, stream).await?;
        Ok(Stream::Tls(Box::new(stream)))
    }

    #[cfg(not(feature = "tls-rustls"))]
    #[allow(clippy::unused_async, reason = "the same signature as with TLS")]
    async fn wrap(&self, stream: TcpStream, _host: &str) -> io::Result<Stream> {
        Ok(Stream::Plain(stream))
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}
