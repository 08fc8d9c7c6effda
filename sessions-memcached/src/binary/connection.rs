//! One connection shared by concurrent requests.
//!
//! A request is encoded straight into the connection's outgoing buffer and registered as
//! waiting; its caller then awaits the reply. A writer task sends everything queued since its
//! last write in one `write`, so requests of concurrent sessions share system calls (on both
//! sides: memcached reads them with one `read` and answers them with one `write`). A reader
//! task cuts replies out of the stream ([`Decoder`]) and hands each to the oldest waiting
//! request, after checking that it echoes that request's opaque value: memcached answers in
//! order, so a reply that does not match closes the connection, failing every request on it,
//! and a reply is never given to the wrong caller.
//!
//! Cancellation is harmless: a caller that stops waiting (a timeout, a dropped future) leaves
//! its entry in the queue, and its reply, when it comes, is read and dropped, keeping the stream
//! in step. The connection closes (both tasks stop, the socket is dropped) on an I/O or protocol
//! error, when the last [`Connection`] handle goes away (callers hold one while they wait), or
//! when the runtime running its tasks shuts down ([`Closed::Stopped`]): other threads sharing
//! the connection see it closed before they send, and open a new one.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::task::AbortHandle;

use super::protocol::{
    Decoded, Decoder, FrameTooLarge, Oversized, ProtocolError, Request, Response,
};

/// Bytes read from the socket at a time (more when a large value is on its way).
const READ_CHUNK: usize = 16 * 1024;

/// Buffers that grew past this for one large item are given back once empty.
const KEEP_CAPACITY: usize = 256 * 1024;

/// A reply: the response, or the header of one whose body was too large and was skipped.
pub(crate) type Reply = Result<Response, Oversized>;

/// A connection shared by concurrent requests. Closes when dropped.
pub(crate) struct Connection {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Cleared once the connection closes; read without the lock before picking it.
    open: AtomicBool,
    /// Wakes the writer task when the outgoing buffer stops being empty.
    wake_writer: Notify,
}

struct State {
    /// Encoded requests the writer has not taken yet.
    outgoing: Vec<u8>,
    /// Requests sent or queued, oldest first.
    waiting: VecDeque<Waiter>,
    next_opaque: u32,
    closed: Option<Arc<Closed>>,
    tasks: Vec<AbortHandle>,
}

struct Waiter {
    opaque: u32,
    reply: oneshot::Sender<Reply>,
}

/// Why a connection closed.
#[derive(Debug)]
pub(crate) enum Closed {
    /// Reading or writing failed.
    Io(io::Error),
    /// The server closed the connection.
    Eof,
    /// The server's bytes are not a response.
    Protocol(ProtocolError),
    /// A reply that does not answer the oldest waiting request (or that nobody asked for).
    OutOfStep {
        expected: Option<u32>,
        received: u32,
    },
    /// The connection's tasks stopped without closing it: their runtime shut down.
    Stopped,
    /// The last handle was dropped.
    Dropped,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(_) => f.write_str("reading or writing the connection failed"),
            Self::Eof => f.write_str("the server closed the connection"),
            Self::Protocol(_) => {
                f.write_str("the server's reply is not a binary protocol response")
            }
            Self::OutOfStep {
                expected: Some(expected),
                received,
            } => write!(
                f,
                "a reply (opaque {received}) does not answer the oldest waiting request (opaque {expected})"
            ),
            Self::OutOfStep {
                expected: None,
                received,
            } => write!(
                f,
                "a reply (opaque {received}) arrived with no request waiting"
            ),
            Self::Stopped => f.write_str(
                "the runtime that ran the connection's tasks shut down (its worker thread stopped)",
            ),
            Self::Dropped => f.write_str("the connection was closed"),
        }
    }
}

/// A request failed because its connection closed; the reason is shared by every request that
/// was on it.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionClosed(Arc<Closed>);

impl ConnectionClosed {
    /// Whether the connection was lost (reset, closed by the server, its runtime gone) rather
    /// than garbled, so that a new connection may well succeed.
    pub(crate) fn is_lost(&self) -> bool {
        matches!(
            *self.0,
            Closed::Io(_) | Closed::Eof | Closed::Stopped | Closed::Dropped
        )
    }
}

impl fmt::Display for ConnectionClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ConnectionClosed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            Closed::Io(err) => Some(err),
            Closed::Protocol(err) => Some(err),
            _ => None,
        }
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

impl Connection {
    /// Starts the reader and writer tasks on `stream`, on the current Tokio runtime. Replies
    /// with bodies over `max_body` bytes are skipped (see [`Oversized`]).
    pub(crate) fn start(stream: TcpStream, max_body: u32) -> Arc<Self> {
        let (read, write) = stream.into_split();
        Self::start_halves(read, write, max_body)
    }

    /// Starts the connection on the two halves of a stream (a TLS stream, say).
    pub(crate) fn start_halves<R, W>(read: R, write: W, max_body: u32) -> Arc<Self>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                outgoing: Vec::new(),
                waiting: VecDeque::new(),
                next_opaque: 1,
                closed: None,
                tasks: Vec::with_capacity(2),
            }),
            open: AtomicBool::new(true),
            wake_writer: Notify::new(),
        });
        // The guards are arguments, so they are part of each task from its spawning on: a
        // runtime that shuts down before first polling a task still drops them.
        let reader = tokio::spawn(read_loop(
            CloseOnExit(Arc::clone(&shared)),
            read,
            Decoder::new(max_body),
        ));
        let writer = tokio::spawn(write_loop(CloseOnExit(Arc::clone(&shared)), write));
        shared
            .lock()
            .tasks
            .extend([reader.abort_handle(), writer.abort_handle()]);
        Arc::new(Self { shared })
    }

    /// Whether the connection can take requests.
    pub(crate) fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Sends `request` and awaits its reply (any status: interpreting it is the caller's).
    /// Unbounded: the caller applies its timeout.
    ///
    /// # Errors
    ///
    /// See [`CallError`].
    pub(crate) async fn call(
        self: &Arc<Self>,
        request: Request<'_>,
    ) -> Result<Response, CallError> {
        let pending = self.send(request)?;
        pending
            .reply()
            .await
            .map_err(CallError::Closed)?
            .map_err(CallError::ResponseTooLarge)
    }

    /// Queues `request` (its opaque value is the connection's to choose). Returns the reply to
    /// await.
    ///
    /// # Errors
    ///
    /// [`CallError::Closed`] when the connection has closed, [`CallError::Encode`] when the
    /// request cannot be framed; either way nothing was queued.
    pub(crate) fn send(self: &Arc<Self>, request: Request<'_>) -> Result<PendingReply, CallError> {
        let (sender, receiver) = oneshot::channel();
        let mut state = self.shared.lock();
        if let Some(closed) = &state.closed {
            return Err(CallError::Closed(ConnectionClosed(Arc::clone(closed))));
        }
        let opaque = state.next_opaque;
        let before = state.outgoing.len();
        Request { opaque, ..request }
            .encode_into(&mut state.outgoing)
            .map_err(CallError::Encode)?;
        state.next_opaque = opaque.wrapping_add(1);
        state.waiting.push_back(Waiter {
            opaque,
            reply: sender,
        });
        drop(state);
        if before == 0 {
            // The writer takes the whole buffer at once, so only the first request after a
            // write needs to wake it.
            self.shared.wake_writer.notify_one();
        }
        Ok(PendingReply {
            connection: Arc::clone(self),
            receiver,
        })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.close(Closed::Dropped);
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Connection")
            .field("waiting", &state.waiting.len())
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

/// A queued request's reply. Keeps its connection open while awaited.
pub(crate) struct PendingReply {
    connection: Arc<Connection>,
    receiver: oneshot::Receiver<Reply>,
}

impl PendingReply {
    /// The reply.
    ///
    /// # Errors
    ///
    /// [`ConnectionClosed`] when the connection closed before the reply arrived.
    pub(crate) async fn reply(self) -> Result<Reply, ConnectionClosed> {
        match self.receiver.await {
            Ok(reply) => Ok(reply),
            Err(_) => Err(self.connection.shared.closed_reason()),
        }
    }
}

impl fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingReply").finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the state is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the connection (once): fails every waiting request and stops both tasks.
    fn close(&self, reason: Closed) {
        let mut state = self.lock();
        if state.closed.is_some() {
            return;
        }
        state.closed = Some(Arc::new(reason));
        self.open.store(false, Ordering::Release);
        // Dropping the senders wakes every waiter with an error; they read the reason.
        let waiting = std::mem::take(&mut state.waiting);
        let tasks = std::mem::take(&mut state.tasks);
        state.outgoing = Vec::new();
        drop(state);
        drop(waiting);
        for task in tasks {
            task.abort();
        }
    }

    fn closed_reason(&self) -> ConnectionClosed {
        let closed = self.lock().closed.clone();
        ConnectionClosed(closed.unwrap_or_else(|| Arc::new(Closed::Dropped)))
    }

    /// Hands `reply` to the oldest waiting request, which it must answer.
    ///
    /// # Errors
    ///
    /// [`Closed::OutOfStep`] when it answers another request, or none.
    fn deliver(&self, opaque: u32, reply: Reply) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed.is_some() {
            return Ok(());
        }
        let expected = state.waiting.front().map(|waiter| waiter.opaque);
        if expected != Some(opaque) {
            return Err(Closed::OutOfStep {
                expected,
                received: opaque,
            });
        }
        let waiter = state.waiting.pop_front();
        drop(state);
        if let Some(waiter) = waiter {
            // The caller may have stopped waiting; its reply is dropped.
            let _ = waiter.reply.send(reply);
        }
        Ok(())
    }
}

/// Closes the connection when its task ends without doing so: the task was dropped because
/// its runtime shut down (or aborted, after the connection closed).
struct CloseOnExit(Arc<Shared>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close(Closed::Stopped);
    }
}

async fn read_loop(guard: CloseOnExit, mut read: impl AsyncRead + Unpin, mut decoder: Decoder) {
    let shared = &guard.0;
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        let wanted = decoder.wants(&buf).max(READ_CHUNK / 2);
        if buf.capacity() - buf.len() < wanted {
            buf.reserve(wanted.max(READ_CHUNK));
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => return shared.close(Closed::Eof),
            Ok(_) => {}
            Err(err) => return shared.close(Closed::Io(err)),
        }
        let mut start = 0;
        while start < buf.len() {
            match decoder.decode(&buf[start..]) {
                Ok(None) => break,
                Ok(Some((decoded, used))) => {
                    start += used;
                    if let Decoded::Reply { opaque, reply } = decoded
                        && let Err(reason) = shared.deliver(opaque, reply)
                    {
                        return shared.close(reason);
                    }
                }
                Err(err) => return shared.close(Closed::Protocol(err)),
            }
        }
        buf.drain(..start);
        if buf.is_empty() && buf.capacity() > KEEP_CAPACITY {
            buf = Vec::with_capacity(READ_CHUNK);
        }
    }
}

async fn write_loop(guard: CloseOnExit, mut write: impl AsyncWrite + Unpin) {
    let shared = &guard.0;
    let mut batch = Vec::new();
    loop {
        shared.wake_writer.notified().await;
        {
            let mut state = shared.lock();
            if state.closed.is_some() {
                return;
            }
            std::mem::swap(&mut state.outgoing, &mut batch);
        }
        if batch.is_empty() {
            continue;
        }
        // TLS buffers what it encrypts: the flush sends it (for TCP it does nothing).
        if let Err(err) = write.write_all(&batch).await {
            return shared.close(Closed::Io(err));
        }
        if let Err(err) = write.flush().await {
            return shared.close(Closed::Io(err));
        }
        batch.clear();
        if batch.capacity() > KEEP_CAPACITY {
            batch = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpListener;

    use super::*;
    use crate::binary::protocol::{HEADER_LEN, Opcode, Status};

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

    async fn connect(address: &str, max_body: u32) -> Arc<Connection> {
        Connection::start(TcpStream::connect(address).await.unwrap(), max_body)
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
            .map(|_| conn.send(Request::new(Opcode::Version)).unwrap())
            .collect();
        let mut values = Vec::new();
        for pending in pending {
            values.push(pending.reply().await.unwrap().unwrap().value().to_vec());
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
        let first = conn.send(Request::new(Opcode::Version)).unwrap();
        let second = conn.send(Request::new(Opcode::Version)).unwrap();
        assert_eq!(
            first.reply().await.unwrap().unwrap_err(),
            Oversized {
                body: 5000,
                limit: 1024
            }
        );
        let response = second.reply().await.unwrap().unwrap();
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
        let Err(CallError::Closed(err)) = conn.call(Request::new(Opcode::Version)).await else {
            panic!("the connection should have closed");
        };
        assert!(
            matches!(
                *err.0,
                Closed::OutOfStep {
                    expected: Some(1),
                    received: 77
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_lost());
        assert!(!conn.is_open());
        assert!(
            matches!(
                conn.send(Request::new(Opcode::Noop)),
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
        drop(conn.send(Request::new(Opcode::Version)).unwrap());
        let reply = conn.call(Request::new(Opcode::Version)).await.unwrap();
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
        let err = conn.call(Request::new(Opcode::Get)).await.unwrap_err();
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
        let conn = runtime.block_on(async {
            Connection::start(TcpStream::connect(address).await.unwrap(), 1024)
        });
        assert!(conn.is_open());
        drop(runtime);
        assert!(
            !conn.is_open(),
            "the runtime's shutdown closes the connection"
        );
        match conn.send(Request::new(Opcode::Noop)) {
            Err(err) => assert!(err.is_connection_lost(), "{err:?}"),
            other => panic!("sent on a connection nothing drives: {other:?}"),
        }
    }
}
