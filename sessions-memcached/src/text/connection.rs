//! The text protocol on a [shared connection](crate::pipeline): replies are matched to
//! requests by the number each meta command carries (`O<n>`) and by their kind
//! ([`protocol::check`]).

use std::sync::Arc;

use super::protocol::{self, Command, Decoder, Expect, ProtocolError, Reply};
use crate::pipeline::{Answer, Codec, ConnectionClosed, NotSent, Pipeline};

/// A text connection shared by concurrent requests.
pub(crate) type Connection = Pipeline<TextCodec>;

/// The text protocol's framing, for [`Pipeline`].
#[derive(Debug)]
pub(crate) struct TextCodec(Decoder);

impl TextCodec {
    /// Values over `max_value` bytes are skipped (see [`Reply::Oversized`]).
    pub(crate) fn new(max_value: usize) -> Self {
        Self(Decoder::new(max_value))
    }
}

impl Codec for TextCodec {
    type Expect = Expect;
    type Reply = Reply;
    type Error = ProtocolError;

    fn wants(&self, buf: &[u8]) -> usize {
        self.0.wants(buf)
    }

    fn decode(&mut self, buf: &[u8]) -> Result<Option<(Option<Reply>, usize)>, ProtocolError> {
        self.0.decode(buf)
    }

    fn check(expected: &Expect, reply: &Reply) -> Result<Answer, String> {
        protocol::check(expected, reply)
    }
}

/// Sends `command` on `conn` and awaits its reply (any reply that answers it: interpreting it
/// is the caller's). Unbounded: the caller applies its timeout.
///
/// # Errors
///
/// [`ConnectionClosed`] when the connection closed before the reply arrived (or before the
/// command was queued).
pub(crate) async fn call(
    conn: &Arc<Connection>,
    command: &Command<'_>,
) -> Result<Reply, ConnectionClosed> {
    let pending = conn
        .send(|out, opaque| Ok::<_, std::convert::Infallible>(command.encode_into(out, opaque)))
        .map_err(|err| match err {
            NotSent::Closed(closed) => closed,
            NotSent::Encode(never) => match never {},
        })?;
    pending.reply().await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::pipeline::Closed;
    use crate::text::protocol::{ErrorReply, Status};

    /// A peer that reads `lines` request lines, answers with `reply` (all at once), and then
    /// keeps the connection open and silent. Yields the lines it read.
    async fn scripted_peer(
        lines: usize,
        reply: &'static [u8],
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let peer = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut stream = BufReader::new(stream);
            let mut read = Vec::new();
            for _ in 0..lines {
                let mut line = String::new();
                stream.read_line(&mut line).await.unwrap();
                read.push(line.trim_end().to_owned());
            }
            stream.get_mut().write_all(reply).await.unwrap();
            let mut rest = String::new();
            let _ =
                tokio::time::timeout(Duration::from_millis(200), stream.read_line(&mut rest)).await;
            read
        });
        (address, peer)
    }

    async fn connect(address: &str) -> Arc<Connection> {
        let (read, write) = TcpStream::connect(address).await.unwrap().into_split();
        Connection::start(read, write, TextCodec::new(1024))
    }

    fn send(
        conn: &Arc<Connection>,
        command: Command<'_>,
    ) -> crate::pipeline::PendingReply<TextCodec> {
        conn.send(|out, opaque| Ok::<_, std::convert::Infallible>(command.encode_into(out, opaque)))
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_requests_share_the_connection_and_get_their_own_replies() {
        let (address, peer) = scripted_peer(3, b"VA 1 c7 O1\r\na\r\nEN O2\r\nHD O3\r\n").await;
        let conn = connect(&address).await;
        let get = send(&conn, Command::Get { key: "a" });
        let miss = send(&conn, Command::Get { key: "b" });
        let delete = send(&conn, Command::Delete { key: "c" });
        assert!(matches!(get.reply().await.unwrap(), Reply::Value { data, .. } if data == b"a"));
        assert!(matches!(
            miss.reply().await.unwrap(),
            Reply::Status {
                status: Status::Miss,
                ..
            }
        ));
        assert!(matches!(
            delete.reply().await.unwrap(),
            Reply::Status {
                status: Status::Hd,
                ..
            }
        ));
        assert_eq!(
            peer.await.unwrap(),
            ["mg a v c O1", "mg b v c O2", "md c O3"]
        );
        assert!(conn.is_open());
    }

    #[tokio::test]
    async fn a_reply_to_another_request_closes_the_connection() {
        let (address, _peer) = scripted_peer(1, b"EN O9\r\n").await;
        let conn = connect(&address).await;
        let err = call(&conn, &Command::Get { key: "k" }).await.unwrap_err();
        assert!(
            matches!(err.reason(), Closed::OutOfStep(what) if what.contains("Some(9)")),
            "{err:?}"
        );
        assert!(!conn.is_open());
    }

    #[tokio::test]
    async fn a_client_error_is_delivered_then_the_connection_closes() {
        let (address, _peer) = scripted_peer(2, b"CLIENT_ERROR bad data chunk\r\nERROR\r\n").await;
        let conn = connect(&address).await;
        let first = send(&conn, Command::Get { key: "a" });
        let second = send(&conn, Command::Get { key: "b" });
        assert!(matches!(
            first.reply().await.unwrap(),
            Reply::Error(ErrorReply::Client(message)) if message == "bad data chunk"
        ));
        let err = second.reply().await.unwrap_err();
        assert!(matches!(err.reason(), Closed::Doubtful), "{err:?}");
        assert!(!conn.is_open());
    }

    #[tokio::test]
    async fn an_abandoned_request_reply_is_not_given_to_the_next() {
        let (address, _peer) = scripted_peer(2, b"VA 1 c1 O1\r\na\r\nVA 1 c2 O2\r\nb\r\n").await;
        let conn = connect(&address).await;
        drop(send(&conn, Command::Get { key: "a" }));
        let reply = call(&conn, &Command::Get { key: "b" }).await.unwrap();
        assert!(matches!(reply, Reply::Value { data, .. } if data == b"b"));
    }
}
