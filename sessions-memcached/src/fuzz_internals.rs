//! Thin wrappers around the binary protocol's response decoder, for this workspace's fuzz
//! targets (feature `fuzz-internals`).
//!
//! **Unstable and not part of the API**: hidden from the docs, changed or removed in any
//! release. Applications never need it.

use crate::binary::protocol::{self, Decoded};

/// What the decoder cut from the front of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole response, its body within the cap.
    Reply {
        /// The opaque value the response echoes.
        opaque: u32,
        /// The response's opcode.
        opcode: u8,
        /// The status, as the client reports it.
        status: String,
        /// The declared extras length.
        extras_len: u8,
        /// The declared key length.
        key_len: u16,
        /// The declared body length.
        body_len: u32,
        /// The CAS value.
        cas: u64,
        /// The value: the body after extras and key.
        value: Vec<u8>,
    },
    /// The header of a response whose body is over the cap, and is skipped.
    Oversized {
        /// The opaque value the response echoes.
        opaque: u32,
        /// The declared body length.
        body: u32,
        /// The cap.
        limit: u32,
    },
    /// Bytes of a skipped body.
    Skipped,
}

/// The decoder a connection reads responses with.
#[derive(Debug)]
pub struct Decoder(protocol::Decoder);

impl Decoder {
    /// A decoder that skips bodies over `max_body` bytes.
    #[must_use]
    pub fn new(max_body: u32) -> Self {
        Self(protocol::Decoder::new(max_body))
    }

    /// How many more bytes the frame at the front of `buf` needs, at least.
    #[must_use]
    pub fn wants(&self, buf: &[u8]) -> usize {
        self.0.wants(buf)
    }

    /// Decodes the frame at the front of `buf`: `Ok(None)` when more bytes are needed,
    /// otherwise the frame and how many bytes it took.
    ///
    /// # Errors
    ///
    /// The protocol error's message when the bytes are not a response.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
        let Some((decoded, used)) = self.0.decode(buf).map_err(|err| err.to_string())? else {
            return Ok(None);
        };
        let frame = match decoded {
            Decoded::Skipped => Frame::Skipped,
            Decoded::Reply {
                opaque,
                reply: Err(oversized),
            } => Frame::Oversized {
                opaque,
                body: oversized.body,
                limit: oversized.limit,
            },
            Decoded::Reply {
                opaque,
                reply: Ok(response),
            } => {
                let header = response.header;
                Frame::Reply {
                    opaque,
                    opcode: header.opcode,
                    status: header.status.to_string(),
                    extras_len: header.extras_len,
                    key_len: header.key_len,
                    body_len: header.body_len,
                    cas: header.cas,
                    value: response.into_value(),
                }
            }
        };
        Ok(Some((frame, used)))
    }
}
