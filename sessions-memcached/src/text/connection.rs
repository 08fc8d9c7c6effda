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
