//! One connection shared by concurrent requests, for either wire protocol ([`Codec`]).
//!
//! A request is encoded straight into the connection's outgoing buffer and registered as
//! waiting; its caller then awaits the reply. A writer task sends everything queued since its
//! last write in one `write`, so requests of concurrent sessions share system calls (on both
//! sides: memcached reads them with one `read` and answers them with one `write`). A reader
//! task cuts replies out of the stream (the codec's decoder) and hands each to the oldest
//! waiting request, after the codec has checked that it answers that request (its opaque
//! value, and for the text protocol the kind of reply): memcached answers in order on both
//! protocols, so a reply that does not match closes the connection, failing every request on
//! it, and a reply is never given to the wrong caller.
//!
//! Cancellation is harmless: a caller that stops waiting (a timeout, a dropped future) leaves
//! its entry in the queue, and its reply, when it comes, is read and dropped, keeping the stream
//! in step. The connection closes (both tasks stop, the socket is dropped) on an I/O or protocol
//! error, when the last [`Pipeline`] handle goes away (callers hold one while they wait), or
//! when the runtime running its tasks shuts down ([`Closed::Stopped`]): other threads sharing
//! the connection see it closed before they send, and open a new one.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{Notify, oneshot};
use tokio::task::AbortHandle;

/// Bytes read from the socket at a time (more when a large value is on its way).
const READ_CHUNK: usize = 16 * 1024;

/// Buffers that grew past this for one large item are given back once empty.
const KEEP_CAPACITY: usize = 256 * 1024;

/// A wire protocol, as the shared connection sees it: how replies are cut out of the stream
/// and how a reply is matched to the request it must answer.
pub(crate) trait Codec: Send + 'static {
    /// What a queued request expects of its reply (its opaque value, the kind of reply).
    type Expect: Send + 'static;
    /// A decoded reply.
    type Reply: Send + 'static;
    /// Bytes that are not a reply of this protocol.
    type Error: std::error::Error + Send + Sync + 'static;

    /// How many more bytes the reply at the front of `buf` needs, at least (0 if complete or
    /// unknown): lets the reader reserve room for a large value at once.
    fn wants(&self, buf: &[u8]) -> usize;

    /// Decodes the front of `buf`: `Ok(None)` when more bytes are needed, otherwise a reply
    /// (or `None` for bytes skipped, such as an oversized body) and how many bytes, at least
    /// one, it took.
    ///
    /// # Errors
    ///
    /// When the bytes are not a reply: the stream can no longer be trusted.
    #[allow(clippy::type_complexity, reason = "the shape is the contract")]
    fn decode(&mut self, buf: &[u8]) -> Result<Option<(Option<Self::Reply>, usize)>, Self::Error>;

    /// Whether `reply` answers the request that expected `expected`.
    ///
    /// # Errors
    ///
    /// What does not match, when it does not: the connection closes.
    fn check(expected: &Self::Expect, reply: &Self::Reply) -> Result<Answer, String>;
}

/// A reply that answers its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// And the connection stays in step.
    Continue,
    /// But the stream may not be in step after it (a text `CLIENT_ERROR` can leave the rest of
    /// a request to be read as commands): it is delivered, then the connection closes.
    ThenClose,
}

/// A connection shared by concurrent requests. Closes when dropped.
pub(crate) struct Pipeline<C: Codec> {
    shared: Arc<Shared<C>>,
}

struct Shared<C: Codec> {
    state: Mutex<State<C>>,
    /// Cleared once the connection closes; read without the lock before picking it.
    open: AtomicBool,
    /// Wakes the writer task when the outgoing buffer stops being empty.
    wake_writer: Notify,
}

struct State<C: Codec> {
    /// Encoded requests the writer has not taken yet.
    outgoing: Vec<u8>,
    /// Requests sent or queued, oldest first.
    waiting: VecDeque<Waiter<C>>,
    /// The number the next request is given (its opaque value).
    next_number: u32,
    closed: Option<Arc<Closed>>,
    tasks: Vec<AbortHandle>,
}

struct Waiter<C: Codec> {
    expected: C::Expect,
    reply: oneshot::Sender<C::Reply>,
}

/// Why a connection closed.
#[derive(Debug)]
pub(crate) enum Closed {
    /// Reading or writing failed.
    Io(io::Error),
    /// The server closed the connection.
    Eof,
    /// The server's bytes are not a reply.
    Protocol(Box<dyn std::error::Error + Send + Sync>),
    /// A reply that does not answer the oldest waiting request (or that nobody asked for).
    OutOfStep(String),
    /// A reply after which the stream may be out of step (see [`Answer::ThenClose`]).
    Doubtful,
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
            Self::Protocol(_) => f.write_str("the server's reply does not parse"),
            Self::OutOfStep(what) => f.write_str(what),
            Self::Doubtful => f.write_str(
                "the server refused a request in a way that may leave the stream out of step",
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

    /// Why the connection closed.
    #[cfg(test)]
    pub(crate) fn reason(&self) -> &Closed {
        &self.0
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
            Closed::Protocol(err) => Some(&**err),
            _ => None,
        }
    }
}

/// Why [`Pipeline::send`] queued nothing.
#[derive(Debug)]
pub(crate) enum NotSent<E> {
    /// The connection has closed.
    Closed(ConnectionClosed),
    /// The request could not be encoded.
    Encode(E),
}

impl<C: Codec> Pipeline<C> {
    /// Starts the reader and writer tasks on the two halves of a stream, on the current Tokio
    /// runtime.
    pub(crate) fn start<R, W>(read: R, write: W, codec: C) -> Arc<Self>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                outgoing: Vec::new(),
                waiting: VecDeque::new(),
                next_number: 1,
                closed: None,
                tasks: Vec::with_capacity(2),
            }),
            open: AtomicBool::new(true),
            wake_writer: Notify::new(),
        });
        // The guards are arguments, so they are part of each task from its spawning on: a
        // runtime that shuts down before first polling a task still drops them.
        let reader = tokio::spawn(read_loop(CloseOnExit(Arc::clone(&shared)), read, codec));
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

    /// Queues a request: `encode` appends it to the outgoing bytes, numbered with the number
    /// it is given (the opaque value the reply echoes), and says what the reply must be.
    /// Returns the reply to await.
    ///
    /// # Errors
    ///
    /// [`NotSent::Closed`] when the connection has closed, [`NotSent::Encode`] with `encode`'s
    /// error; either way nothing was queued.
    pub(crate) fn send<E>(
        self: &Arc<Self>,
        encode: impl FnOnce(&mut Vec<u8>, u32) -> Result<C::Expect, E>,
    ) -> Result<PendingReply<C>, NotSent<E>> {
        let (sender, receiver) = oneshot::channel();
        let mut state = self.shared.lock();
        if let Some(closed) = &state.closed {
            return Err(NotSent::Closed(ConnectionClosed(Arc::clone(closed))));
        }
        let number = state.next_number;
        let before = state.outgoing.len();
        let expected = match encode(&mut state.outgoing, number) {
            Ok(expected) => expected,
            Err(err) => {
                // Whatever was appended before the failure is not a request.
                state.outgoing.truncate(before);
                return Err(NotSent::Encode(err));
            }
        };
        state.next_number = number.wrapping_add(1);
        state.waiting.push_back(Waiter {
            expected,
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

impl<C: Codec> Drop for Pipeline<C> {
    fn drop(&mut self) {
        self.shared.close(Closed::Dropped);
    }
}

impl<C: Codec> fmt::Debug for Pipeline<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Pipeline")
            .field("waiting", &state.waiting.len())
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

/// A queued request's reply. Keeps its connection open while awaited.
pub(crate) struct PendingReply<C: Codec> {
    connection: Arc<Pipeline<C>>,
    receiver: oneshot::Receiver<C::Reply>,
}

impl<C: Codec> PendingReply<C> {
    /// The reply.
    ///
    /// # Errors
    ///
    /// [`ConnectionClosed`] when the connection closed before the reply arrived.
    pub(crate) async fn reply(self) -> Result<C::Reply, ConnectionClosed> {
        match self.receiver.await {
            Ok(reply) => Ok(reply),
            Err(_) => Err(self.connection.shared.closed_reason()),
        }
    }
}

impl<C: Codec> fmt::Debug for PendingReply<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingReply").finish_non_exhaustive()
    }
}

impl<C: Codec> Shared<C> {
    fn lock(&self) -> MutexGuard<'_, State<C>> {
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
    /// Why the connection must close: the reply answers another request, or none
    /// ([`Closed::OutOfStep`]), or the stream is in doubt after it ([`Closed::Doubtful`]).
    fn deliver(&self, reply: C::Reply) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed.is_some() {
            return Ok(());
        }
        let Some(waiter) = state.waiting.front() else {
            return Err(Closed::OutOfStep(
                "a reply arrived with no request waiting".to_owned(),
            ));
        };
        let answer = C::check(&waiter.expected, &reply).map_err(Closed::OutOfStep)?;
        let waiter = state.waiting.pop_front();
        drop(state);
        if let Some(waiter) = waiter {
            // The caller may have stopped waiting; its reply is dropped.
            let _ = waiter.reply.send(reply);
        }
        match answer {
            Answer::Continue => Ok(()),
            Answer::ThenClose => Err(Closed::Doubtful),
        }
    }
}

/// Closes the connection when its task ends without doing so: the task was dropped because
/// its runtime shut down (or aborted, after the connection closed).
struct CloseOnExit<C: Codec>(Arc<Shared<C>>);

impl<C: Codec> Drop for CloseOnExit<C> {
    fn drop(&mut self) {
        self.0.close(Closed::Stopped);
    }
}

async fn read_loop<C: Codec>(
    guard: CloseOnExit<C>,
    mut read: impl AsyncRead + Unpin,
    mut codec: C,
) {
    let shared = &guard.0;
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        let wanted = codec.wants(&buf).max(READ_CHUNK / 2);
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
            match codec.decode(&buf[start..]) {
                Ok(None) => break,
                Ok(Some((reply, used))) => {
                    start += used;
                    if let Some(reply) = reply
                        && let Err(reason) = shared.deliver(reply)
                    {
                        return shared.close(reason);
                    }
                }
                Err(err) => return shared.close(Closed::Protocol(Box::new(err))),
            }
        }
        buf.drain(..start);
        if buf.is_empty() && buf.capacity() > KEEP_CAPACITY {
            buf = Vec::with_capacity(READ_CHUNK);
        }
    }
}

async fn write_loop<C: Codec>(guard: CloseOnExit<C>, mut write: impl AsyncWrite + Unpin) {
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

/// A connection that closed is replaced before the next call uses it.
impl<C: Codec> sessions_net::ThreadConnection for Pipeline<C> {
    fn is_open(&self) -> bool {
        Pipeline::is_open(self)
    }
}
