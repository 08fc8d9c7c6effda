//! One binary-protocol connection: send a request, read its response.
//!
//! Requests are strictly one at a time (no pipelining), and every response must echo the
//! request's opcode and opaque value, so a stream that got out of step is detected instead of
//! handing one session's data to another request. Timeouts are the caller's (see
//! `super::BinaryServer`): a call dropped half-way leaves the connection marked in flight, and
//! the pool then discards it.

use std::fmt;
use std::io;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use super::protocol::{self, FrameTooLarge, HEADER_LEN, ProtocolError, Request, Response};

/// An open connection to one server.
pub(crate) struct BinaryConnection {
    stream: BufReader<TcpStream>,
    next_opaque: u32,
    /// Set while a call runs. Still set outside a call means the call was cancelled (or failed)
    /// half-way and a reply may be unread: the connection must not be reused.
    in_flight: bool,
    /// Set when the stream can no longer be trusted (I/O or framing error).
    broken: bool,
    max_body: u32,
}

impl fmt::Debug for BinaryConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinaryConnection")
            .field("peer", &self.stream.get_ref().peer_addr().ok())
            .field("usable", &self.is_usable())
            .finish()
    }
}

/// A failed call.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Reading or writing failed; the connection is unusable.
    Io(io::Error),
    /// The bytes read are not a response (or the response announced more than `max_body`
    /// and could not be skipped); the connection is unusable.
    Protocol(ProtocolError),
    /// The response answers another request than the one sent; the connection is unusable.
    OutOfStep {
        sent: (u8, u32),
        received: (u8, u32),
    },
    /// The request could not be framed; nothing was sent.
    Encode(FrameTooLarge),
    /// The response body is larger than this client accepts. It was read and discarded, so the
    /// connection is still usable.
    ResponseTooLarge { body: u32, limit: u32 },
}

impl CallError {
    /// Whether the failure is the connection's (reset, closed, end of stream), so that a new
    /// connection may well succeed.
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Io(_))
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(_) => f.write_str("reading or writing the connection failed"),
            Self::Protocol(_) => {
                f.write_str("the server's reply is not a binary protocol response")
            }
            Self::OutOfStep { sent, received } => write!(
                f,
                "the reply (opcode {:#04x}, opaque {}) does not answer the request (opcode {:#04x}, opaque {})",
                received.0, received.1, sent.0, sent.1
            ),
            Self::Encode(_) => f.write_str("the request cannot be framed"),
            Self::ResponseTooLarge { body, limit } => {
                write!(
                    f,
                    "the reply's {body}-byte body exceeds the {limit}-byte limit; it was discarded"
                )
            }
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            Self::Protocol(err) => Some(err),
            Self::Encode(err) => Some(err),
            Self::OutOfStep { .. } | Self::ResponseTooLarge { .. } => None,
        }
    }
}

impl BinaryConnection {
    /// Connects to `address` (`host:port`). Responses with bodies over `max_body` bytes are
    /// discarded (see [`CallError::ResponseTooLarge`]).
    ///
    /// # Errors
    ///
    /// The connect error. There is no timeout here: the caller bounds the whole handshake.
    pub(crate) async fn connect(address: &str, max_body: u32) -> io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            next_opaque: 1,
            in_flight: false,
            broken: false,
            max_body,
        })
    }

    /// Whether the connection can take another request.
    pub(crate) fn is_usable(&self) -> bool {
        !self.broken && !self.in_flight
    }

    /// Sends `request` and reads its response (any status: interpreting it is the caller's).
    ///
    /// # Errors
    ///
    /// See [`CallError`]; all but [`CallError::ResponseTooLarge`] and [`CallError::Encode`]
    /// leave the connection unusable.
    pub(crate) async fn call(&mut self, request: Request<'_>) -> Result<Response, CallError> {
        if !self.is_usable() {
            return Err(CallError::Io(io::Error::new(
                io::ErrorKind::NotConnected,
                "the connection was abandoned",
            )));
        }
        let opaque = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        let packet = Request { opaque, ..request }
            .encode()
            .map_err(CallError::Encode)?;
        self.in_flight = true;
        let result = self.exchange(&packet, (request.opcode as u8, opaque)).await;
        if let Err(err) = &result
            && !matches!(err, CallError::ResponseTooLarge { .. })
        {
            self.broken = true;
        }
        self.in_flight = false;
        result
    }

    async fn exchange(&mut self, packet: &[u8], sent: (u8, u32)) -> Result<Response, CallError> {
        let stream = self.stream.get_mut();
        stream.write_all(packet).await.map_err(CallError::Io)?;
        stream.flush().await.map_err(CallError::Io)?;
        let mut header_bytes = [0; HEADER_LEN];
        self.stream
            .read_exact(&mut header_bytes)
            .await
            .map_err(CallError::Io)?;
        let header = match protocol::parse_header(&header_bytes, self.max_body) {
            Ok(header) => header,
            Err(ProtocolError::BodyTooLarge { body, limit }) => {
                return Err(self.skip(body, limit).await);
            }
            Err(err) => return Err(CallError::Protocol(err)),
        };
        if (header.opcode, header.opaque) != sent {
            return Err(CallError::OutOfStep {
                sent,
                received: (header.opcode, header.opaque),
            });
        }
        // Allocated only now that the length is known to be under `max_body`.
        let mut body = vec![0; header.body_len as usize];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(CallError::Io)?;
        Ok(Response::new(header, body))
    }

    /// Reads and drops an oversized body so the next response starts in step.
    async fn skip(&mut self, body: u32, limit: u32) -> CallError {
        let mut rest = (&mut self.stream).take(u64::from(body));
        match tokio::io::copy(&mut rest, &mut tokio::io::sink()).await {
            Ok(skipped) if skipped == u64::from(body) => {
                CallError::ResponseTooLarge { body, limit }
            }
            Ok(_) => CallError::Io(io::ErrorKind::UnexpectedEof.into()),
            Err(err) => CallError::Io(err),
        }
    }
}
