//! What the network stores decode from their servers' replies.

use sessions_core::testing::Payload;
use sessions_core::{StoreErrorKind, Version};
use sessions_memcached::fuzz_internals::{Decoder, Frame};
use sessions_mongo::fuzz_internals::{decode_document, record};
use sessions_mongo::mongodb::bson::{self, DateTime, Document};
use sessions_redis::fuzz_internals::{decode_record, encode_record};

use crate::payload::check_round_trip;

/// The MessagePack codec's id, which the records' payloads are decoded with.
const MSGPACK: u8 = 1;

/// `data` is a body cap (first two bytes), a seed for where the stream is cut (third byte),
/// then a stream of memcached binary responses. Decoded whole or fed in pieces as a socket
/// delivers it, the stream gives the same replies and the same error; every reply is
/// consistent with its header and the cap.
pub fn memcached_binary(data: &[u8]) {
    let Some(([c0, c1, seed], stream)) = data.split_first_chunk::<3>() else {
        return;
    };
    let max_body = u32::from(u16::from_be_bytes([*c0, *c1]));
    let whole = decode_stream(stream, max_body, &mut |left| left);
    let mut state = u32::from(*seed) | 1;
    let mut cut = |left: usize| {
        // xorshift32: pieces of 1 to `left` bytes, reproducible from the seed.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        1 + state as usize % left
    };
    let pieces = decode_stream(stream, max_body, &mut cut);
    assert_eq!(whole, pieces);
}

/// The replies (skipped-body steps left out, as their number depends on the pieces), the error
/// that ended the stream if any, and how many bytes of the stream were left undecoded.
type Decoded = (Vec<Frame>, Option<String>, usize);

fn decode_stream(stream: &[u8], max_body: u32, cut: &mut dyn FnMut(usize) -> usize) -> Decoded {
    let mut decoder = Decoder::new(max_body);
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut fed = 0;
    while fed < stream.len() {
        let piece = cut(stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + piece]);
        fed += piece;
        loop {
            let wants = decoder.wants(&buf);
            let (frame, used) = match decoder.decode(&buf) {
                Ok(Some(decoded)) => decoded,
                Ok(None) => break,
                Err(err) => return (frames, Some(err), buf.len() + stream.len() - fed),
            };
            assert_eq!(wants, 0, "wanted {wants} more bytes for a whole frame");
            assert!(
                used >= 1 && used <= buf.len(),
                "used {used} of {}",
                buf.len()
            );
            check_frame(&frame, used, max_body);
            if frame != Frame::Skipped {
                frames.push(frame);
            }
            buf.drain(..used);
        }
    }
    (frames, None, buf.len())
}

fn check_frame(frame: &Frame, used: usize, max_body: u32) {
    match frame {
        Frame::Reply {
            extras_len,
            key_len,
            body_len,
            value,
            ..
        } => {
            assert!(*body_len <= max_body);
            assert_eq!(used, 24 + *body_len as usize);
            let head = usize::from(*extras_len) + usize::from(*key_len);
            assert_eq!(value.len() + head, *body_len as usize);
        }
        Frame::Oversized { body, limit, .. } => {
            assert_eq!(*limit, max_body);
            assert!(*body > max_body);
            assert_eq!(used, 24);
        }
        Frame::Skipped => {}
    }
}

/// `data` as a Redis record: a version prefix, then a payload. Splits it as a load does, and
/// decodes the payload as the core then does.
pub fn redis_record(data: &[u8]) {
    match decode_record(data.to_vec()) {
        Ok(loaded) => {
            assert_eq!(encode_record(loaded.version(), loaded.payload()), data);
            if let Some(state) = Payload::decode(loaded.payload(), MSGPACK) {
                check_round_trip(&state, MSGPACK);
            }
        }
        Err(err) => {
            assert!(data.len() < 8, "a {}-byte record refused", data.len());
            assert_eq!(err.kind(), StoreErrorKind::Corrupt);
        }
    }
}

/// `data` as BSON from the server (as the driver deserializes a reply), then read as a session
/// document. What reads back is stored again and reads back the same.
pub fn mongo_document(data: &[u8]) {
    let Ok(doc) = bson::from_slice::<Document>(data) else {
        return;
    };
    match decode_document(doc) {
        Ok(loaded) => {
            let version = i64::try_from(loaded.version().get()).expect("read from an i64");
            let stored = record("k", loaded.payload(), version, DateTime::now());
            let bytes = bson::to_vec(&stored).expect("a session document encodes");
            let doc = bson::from_slice::<Document>(&bytes).expect("and decodes");
            let again = decode_document(doc).expect("reads back");
            assert_eq!(again.payload(), loaded.payload());
            assert_eq!(again.version(), loaded.version());
            if let Some(state) = Payload::decode(loaded.payload(), MSGPACK) {
                check_round_trip(&state, MSGPACK);
            }
        }
        Err(message) => assert!(message.starts_with("the session document's `"), "{message}"),
    }
}

/// The version a seed record carries.
pub(crate) const SEED_VERSION: Version = Version::new(3);
