//! The binary protocol on a [shared connection](crate::pipeline): replies are matched to
//! requests by the opaque value each request carries and its response echoes.

use std::fmt;
use std::sync::Arc;

use crate::pipeline::{Answer, Codec, ConnectionClosed, NotSent, Pipeline};

use super::protocol::{
    Decoded, Decoder, FrameTooLarge, Oversized, ProtocolError, Request, Response,
};

/// A reply: the response, or the header of one whose body was too large and was skipped.
pub(crate) type Reply = Result<Response, Oversized>;

/// A binary connection shared by concurrent requests.
pub(crate) type Connection = Pipeline<BinaryCodec>;

/// The binary protocol's framing, for [`Pipeline`].
#[derive(Debug)]
pub(crate) struct BinaryCodec(Decoder);

impl BinaryCodec {
    /// Replies with bodies over `max_body` bytes are skipped (see [`Oversized`]).
    pub(crate) fn new(max_body: u32) -> Self {
        Self(Decoder::new(max_body))
    }
}

impl Codec for BinaryCodec {
    /// The request's opaque value.
    type Expect = u32;
    /// The opaque value the reply echoes, and the reply.
    type Reply = (u32, Reply);
    type Error = ProtocolError;

    fn wants(&self, buf: &[u8]) -> usize {
        self.0.wants(buf)
    }

    fn decode(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<(Option<(u32, Reply)>, usize)>, ProtocolError> {
        Ok(self.0.decode(buf)?.map(|(decoded, used)| {
            let reply = match decoded {
                Decoded::Reply { opaque, reply } => Some((opaque, reply)),
                Decoded::Skipped => None,
            };
            (reply, used)
        }))
    }

    fn check(expected: &u32, (received, _): &(u32, Reply)) -> Result<Answer, String> {
        if expected == received {
            return Ok(Answer::Continue);
        }
        Err(format!(
            "a reply (opaque {received}) does not answer the oldest waiting request (opaque {expected})"
        ))
    }
}

/// A failed call.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The connection closed before the reply arrived (or before the request was sent).
    Closed(ConnectionClosed),
    /// The request could not be framed; nothing was sent.
    Encode(FrameTooLarge),
    /// The reply's body is larger than this client accepts. It was skipped, so the connection
    /// is still usable.
    ResponseTooLarge(Oversized),
}

impl CallError {
    /// Whether the failure is the connection's (reset, closed, its runtime gone), so that a new
    /// connection may well succeed.
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Closed(closed) if closed.is_lost())
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed(_) => f.write_str("the connection closed"),
            Self::Encode(_) => f.write_str("the request cannot be framed"),
            Self::ResponseTooLarge(_) => f.write_str("the reply is too large"),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Closed(err) => Some(err),
            Self::Encode(err) => Some(err),
            Self::ResponseTooLarge(err) => Some(err),
        }
    }
}

/// Queues `request` on `conn` (its opaque value is the connection's to choose). Returns the
/// reply to await.
///
/// # Errors
///
/// [`CallError::Closed`] when the connection has closed, [`CallError::Encode`] when the
/// request cannot be framed; either way nothing was queued.
pub(crate) fn send(
    conn: &Arc<Connection>,
    request: Request<'_>,
) -> Result<crate::pipeline::PendingReply<BinaryCodec>, CallError> {
    conn.send(|out, opaque| {
        Request { opaque, ..request }.encode_into(out)?;
        Ok(opaque)
    })
    .map_err(|err| match err {
        NotSent::Closed(closed) => CallError::Closed(closed),
        NotSent::Encode(err) => CallError::Encode(err),
    })
}

/// Sends `request` and awaits its reply (any status: interpreting it is the caller's).
/// Unbounded: the caller applies its timeout.
///
/// # Errors
///
/// See [`CallError`].
pub(crate) async fn call(
    conn: &Arc<Connection>,
    request: Request<'_>,
) -> Result<Response, CallError> {
    let pending = send(conn, request)?;
    let (_, reply) = pending.reply().await.map_err(CallError::Closed)?;
    reply.map_err(CallError::ResponseTooLarge)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::binary::protocol::{HEADER_LEN, Opcode, Status};
    use crate::pipeline::Closed;

    /// A response header: magic, opcode, no key or extras, status 0, `body_len`, `opaque`, CAS 9.
    fn header(opcode: u8, body_len: u32, opaque: u32) -> Vec<u8> {
        let mut bytes = vec![0x81, opcode, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&body_len.to_be_bytes());
        bytes.extend_from_slice(&opaque.to_be_bytes());
        bytes.extend_from_slice(&9_u64.to_be_bytes());
        bytes
    }

    /// A peer that reads `requests` bodiless requests, answers with `reply` (all at once), and
    /// then keeps the connection open and silent. Yields the opaque values of the requests.
    async fn scripted_peer(
        requests: usize,
        reply: Vec<u8>,
    ) -> (String, tokio::task::JoinHandle<Vec<u32>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let peer = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut opaques = Vec::new();
            for _ in 0..requests {
                let mut request = [0; HEADER_LEN];
                stream.read_exact(&mut request).await.unwrap();
                opaques.push(u32::from_be_bytes(request[12..16].try_into().unwrap()));
            }
            stream.write_all(&reply).await.unwrap();
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_millis(200), stream.read_to_end(&mut rest))
                .await;
            opaques
        });
        (address, peer)
    }

    fn start(stream: TcpStream, max_body: u32) -> Arc<Connection> {
        let (read, write) = stream.into_split();
        Connection::start(read, write, BinaryCodec::new(max_body))
    }

    async fn connect(address: &str, max_body: u32) -> Arc<Connection> {
        start(TcpStream::connect(address).await.unwrap(), max_body)
    }

    #[tokio::test]
    async fn concurrent_requests_share_the_connection_and_get_their_own_replies() {
        let mut replies = Vec::new();
        for opaque in 1..=3 {
            replies.extend(header(0x0b, 1, opaque));
            replies.push(b'0' + u8::try_from(opaque).unwrap());
        }
        let (address, peer) = scripted_peer(3, replies).await;
        let conn = connect(&address, 1024).await;
        let pending: Vec<_> = (0..3)
            .map(|_| send(&conn, Request::new(Opcode::Version)).unwrap())
            .collect();
        let mut values = Vec::new();
        for pending in pending {
            values.push(pending.reply().await.unwrap().1.unwrap().value().to_vec());
        }
        assert_eq!(values, [b"1", b"2", b"3"]);
        assert_eq!(peer.await.unwrap(), [1, 2, 3]);
    }

    #[tokio::test]
    async fn oversized_response_is_skipped_and_the_stream_stays_in_step() {
        let mut replies = header(0x0b, 5000, 1);
        replies.extend(std::iter::repeat_n(b'x', 5000));
        replies.extend(header(0x0b, 6, 2));
        replies.extend_from_slice(b"1.6.18");
        let (address, _peer) = scripted_peer(2, replies).await;
        let conn = connect(&address, 1024).await;
        let first = send(&conn, Request::new(Opcode::Version)).unwrap();
        let second = send(&conn, Request::new(Opcode::Version)).unwrap();
        assert_eq!(
            first.reply().await.unwrap().1.unwrap_err(),
            Oversized {
                body: 5000,
                limit: 1024
            }
        );
        let response = second.reply().await.unwrap().1.unwrap();
        assert_eq!(
            (response.header.status, response.value()),
            (Status::NoError, &b"1.6.18"[..])
        );
        assert!(conn.is_open());
    }

    #[tokio::test]
    async fn a_reply_to_another_request_closes_the_connection() {
        let (address, _peer) = scripted_peer(1, header(0x0b, 0, 77)).await;
        let conn = connect(&address, 1024).await;
        let Err(CallError::Closed(err)) = call(&conn, Request::new(Opcode::Version)).await else {
            panic!("the connection should have closed");
        };
        assert!(
            matches!(err.reason(), Closed::OutOfStep(what) if what.contains("opaque 77") && what.contains("opaque 1)")),
            "{err:?}"
        );
        assert!(!err.is_lost());
        assert!(!conn.is_open());
        assert!(
            matches!(
                send(&conn, Request::new(Opcode::Noop)),
                Err(CallError::Closed(_))
            ),
            "a closed connection sends nothing"
        );
    }

    #[tokio::test]
    async fn an_abandoned_request_reply_is_not_given_to_the_next() {
        let mut replies = header(0x0b, 1, 1);
        replies.push(b'a');
        replies.extend(header(0x0b, 1, 2));
        replies.push(b'b');
        let (address, _peer) = scripted_peer(2, replies).await;
        let conn = connect(&address, 1024).await;
        drop(send(&conn, Request::new(Opcode::Version)).unwrap());
        let reply = call(&conn, Request::new(Opcode::Version)).await.unwrap();
        assert_eq!(reply.value(), b"b");
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
        let conn = connect(&address, 1024).await;
        let err = call(&conn, Request::new(Opcode::Get)).await.unwrap_err();
        assert!(err.is_connection_lost(), "{err:?}");
        assert!(!conn.is_open());
    }

    #[test]
    fn a_connection_whose_runtime_shut_down_is_closed() {
        // The kernel completes the handshake from the backlog; nobody needs to accept.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The tasks are spawned but never polled before the runtime goes.
        let conn =
            runtime.block_on(async { start(TcpStream::connect(address).await.unwrap(), 1024) });
        assert!(conn.is_open());
        drop(runtime);
        assert!(
            !conn.is_open(),
            "the runtime's shutdown closes the connection"
        );
        match send(&conn, Request::new(Opcode::Noop)) {
            Err(err) => assert!(err.is_connection_lost(), "{err:?}"),
            other => panic!("sent on a connection nothing drives: {other:?}"),
        }
    }
}
