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

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::binary::protocol::{Opcode, Status};

    /// A response header: magic, opcode, no key or extras, status 0, `body_len`, `opaque`, CAS 9.
    fn header(opcode: u8, body_len: u32, opaque: u32) -> Vec<u8> {
        let mut bytes = vec![0x81, opcode, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&body_len.to_be_bytes());
        bytes.extend_from_slice(&opaque.to_be_bytes());
        bytes.extend_from_slice(&9_u64.to_be_bytes());
        bytes
    }

    /// A peer that reads one request per reply and answers with the scripted bytes.
    async fn scripted_peer(replies: Vec<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            for reply in replies {
                let mut request = [0; HEADER_LEN];
                if stream.read_exact(&mut request).await.is_err() {
                    return;
                }
                stream.write_all(&reply).await.unwrap();
            }
            // Keep the connection open (and silent) until the test ends.
            std::future::pending::<()>().await;
            drop(stream);
        });
        address
    }

    #[tokio::test]
    async fn oversized_response_is_skipped_and_the_stream_stays_in_step() {
        let mut oversized = header(0x0b, 5000, 1);
        oversized.extend(std::iter::repeat_n(b'x', 5000));
        let mut version = header(0x0b, 6, 2);
        version.extend_from_slice(b"1.6.18");
        let address = scripted_peer(vec![oversized, version]).await;

        let mut conn = BinaryConnection::connect(&address, 1024).await.unwrap();
        let err = conn.call(Request::new(Opcode::Version)).await.unwrap_err();
        assert!(
            matches!(
                err,
                CallError::ResponseTooLarge {
                    body: 5000,
                    limit: 1024
                }
            ),
            "{err:?}"
        );
        assert!(conn.is_usable());
        let response = conn.call(Request::new(Opcode::Version)).await.unwrap();
        assert_eq!(
            (response.header.status, response.value()),
            (Status::NoError, &b"1.6.18"[..])
        );
    }

    #[tokio::test]
    async fn a_reply_to_another_request_breaks_the_connection() {
        let address = scripted_peer(vec![header(0x0b, 0, 77)]).await;
        let mut conn = BinaryConnection::connect(&address, 1024).await.unwrap();
        let err = conn.call(Request::new(Opcode::Version)).await.unwrap_err();
        assert!(
            matches!(
                err,
                CallError::OutOfStep {
                    received: (0x0b, 77),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!conn.is_usable());
        assert!(
            conn.call(Request::new(Opcode::Noop)).await.is_err(),
            "an unusable connection sends nothing"
        );
    }

    #[tokio::test]
    async fn a_cancelled_call_leaves_the_connection_unusable() {
        let address = scripted_peer(Vec::new()).await; // never answers
        let mut conn = BinaryConnection::connect(&address, 1024).await.unwrap();
        let call = conn.call(Request::new(Opcode::Noop));
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), call)
                .await
                .is_err()
        );
        assert!(!conn.is_usable(), "a reply may still be on its way");
    }

    #[tokio::test]
    async fn end_of_stream_is_a_lost_connection() {
        let mut truncated = header(0x00, 10, 1);
        truncated.extend_from_slice(b"abc"); // then the peer closes
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; HEADER_LEN];
            stream.read_exact(&mut request).await.unwrap();
            stream.write_all(&truncated).await.unwrap();
        });
        let mut conn = BinaryConnection::connect(&address, 1024).await.unwrap();
        let err = conn.call(Request::new(Opcode::Get)).await.unwrap_err();
        assert!(err.is_connection_lost(), "{err:?}");
    }
}
