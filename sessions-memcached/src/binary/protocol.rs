//! Framing for memcached's binary protocol: encoding requests and parsing responses.
//!
//! Pure functions over bytes, so the parser can be fed garbage in tests. Parsing never panics
//! and never trusts a length it has not checked: a header is validated (magic, field lengths
//! adding up, body under a caller-given cap) before anything is allocated for its body.
//!
//! A packet is a 24-byte header followed by `extras`, `key` and `value`:
//!
//! ```text
//!  byte  0      1       2..4        4        5          6..8              8..12      12..16  16..24
//!       magic opcode key length extras len data type vbucket / status total body  opaque   CAS
//! ```
//!
//! All integers are big-endian. Requests use magic `0x80`, responses `0x81`.

use std::fmt;

/// The length of every request and response header.
pub(crate) const HEADER_LEN: usize = 24;

const REQUEST_MAGIC: u8 = 0x80;
const RESPONSE_MAGIC: u8 = 0x81;

/// The commands this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opcode {
    Get = 0x00,
    Set = 0x01,
    Add = 0x02,
    Delete = 0x04,
    Flush = 0x08,
    Noop = 0x0a,
    Version = 0x0b,
    Touch = 0x1c,
    SaslListMechs = 0x20,
    SaslAuth = 0x21,
}

impl Opcode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Set => "SET",
            Self::Add => "ADD",
            Self::Delete => "DELETE",
            Self::Flush => "FLUSH",
            Self::Noop => "NOOP",
            Self::Version => "VERSION",
            Self::Touch => "TOUCH",
            Self::SaslListMechs => "SASL_LIST_MECHS",
            Self::SaslAuth => "SASL_AUTH",
        }
    }
}

/// A response status. Unknown codes are kept, not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    NoError,
    KeyNotFound,
    KeyExists,
    ValueTooLarge,
    InvalidArguments,
    NotStored,
    /// `0x08` in the protocol description; memcached itself answers `0x20`.
    AuthError,
    /// `0x09`/`0x21`: another SASL step is needed (never for PLAIN).
    AuthContinue,
    UnknownCommand,
    OutOfMemory,
    Other(u16),
}

impl Status {
    pub(crate) fn from_code(code: u16) -> Self {
        match code {
            0x0000 => Self::NoError,
            0x0001 => Self::KeyNotFound,
            0x0002 => Self::KeyExists,
            0x0003 => Self::ValueTooLarge,
            0x0004 => Self::InvalidArguments,
            0x0005 => Self::NotStored,
            0x0008 | 0x0020 => Self::AuthError,
            0x0009 | 0x0021 => Self::AuthContinue,
            0x0081 => Self::UnknownCommand,
            0x0082 => Self::OutOfMemory,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoError => f.write_str("no error"),
            Self::KeyNotFound => f.write_str("key not found"),
            Self::KeyExists => f.write_str("key exists"),
            Self::ValueTooLarge => f.write_str("value too large"),
            Self::InvalidArguments => f.write_str("invalid arguments"),
            Self::NotStored => f.write_str("item not stored"),
            Self::AuthError => f.write_str("authentication error"),
            Self::AuthContinue => f.write_str("authentication continue"),
            Self::UnknownCommand => f.write_str("unknown command"),
            Self::OutOfMemory => f.write_str("out of memory"),
            Self::Other(code) => write!(f, "status {code:#06x}"),
        }
    }
}

/// One request packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request<'a> {
    pub(crate) opcode: Opcode,
    pub(crate) extras: &'a [u8],
    pub(crate) key: &'a [u8],
    pub(crate) value: &'a [u8],
    pub(crate) opaque: u32,
    pub(crate) cas: u64,
}

impl<'a> Request<'a> {
    /// A request with no extras, key, value or CAS.
    pub(crate) fn new(opcode: Opcode) -> Self {
        Self {
            opcode,
            extras: &[],
            key: &[],
            value: &[],
            opaque: 0,
            cas: 0,
        }
    }

    /// Appends the whole packet to `out`; on error nothing is appended.
    ///
    /// # Errors
    ///
    /// [`FrameTooLarge`] when the key is longer than 65 535 bytes, the extras longer than 255,
    /// or the body longer than 4 GiB: such a packet cannot be framed.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameTooLarge> {
        let key_len = u16::try_from(self.key.len()).map_err(|_| FrameTooLarge)?;
        let extras_len = u8::try_from(self.extras.len()).map_err(|_| FrameTooLarge)?;
        let body_len = self.extras.len() + self.key.len() + self.value.len();
        let body_len = u32::try_from(body_len).map_err(|_| FrameTooLarge)?;
        out.reserve(HEADER_LEN + body_len as usize);
        out.extend_from_slice(&[REQUEST_MAGIC, self.opcode as u8]);
        out.extend_from_slice(&key_len.to_be_bytes());
        out.extend_from_slice(&[extras_len, 0, 0, 0]); // data type (raw bytes), vbucket 0
        out.extend_from_slice(&body_len.to_be_bytes());
        out.extend_from_slice(&self.opaque.to_be_bytes());
        out.extend_from_slice(&self.cas.to_be_bytes());
        out.extend_from_slice(self.extras);
        out.extend_from_slice(self.key);
        out.extend_from_slice(self.value);
        Ok(())
    }

    /// The whole packet.
    ///
    /// # Errors
    ///
    /// As for [`encode_into`](Self::encode_into).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Result<Vec<u8>, FrameTooLarge> {
        let mut packet = Vec::new();
        self.encode_into(&mut packet)?;
        Ok(packet)
    }
}

/// A request whose fields do not fit the binary protocol's length fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameTooLarge;

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request does not fit the binary protocol's length fields")
    }
}

impl std::error::Error for FrameTooLarge {}

/// The extras of SET and ADD: client flags (always 0 here) and the expiration.
pub(crate) fn storage_extras(expiration: u32) -> [u8; 8] {
    let mut extras = [0; 8];
    extras[4..].copy_from_slice(&expiration.to_be_bytes());
    extras
}

/// A validated response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseHeader {
    pub(crate) opcode: u8,
    pub(crate) key_len: u16,
    pub(crate) extras_len: u8,
    pub(crate) status: Status,
    pub(crate) body_len: u32,
    pub(crate) opaque: u32,
    pub(crate) cas: u64,
}

/// Why bytes from the server are not a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    /// The first byte is not the response magic `0x81`: the stream is out of step.
    BadMagic(u8),
    /// Extras and key are longer than the whole body.
    InconsistentLengths { extras: u8, key: u16, body: u32 },
    /// The body is longer than the caller accepts (`limit` bytes). The connection skips such
    /// bodies instead (see [`Decoder`]); only [`parse_header`] reports them.
    #[cfg(test)]
    BodyTooLarge { body: u32, limit: u32 },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(magic) => {
                write!(f, "a response started with {magic:#04x} instead of 0x81")
            }
            Self::InconsistentLengths { extras, key, body } => {
                write!(
                    f,
                    "a response declared {extras} bytes of extras and {key} of key in a {body}-byte body"
                )
            }
            #[cfg(test)]
            Self::BodyTooLarge { body, limit } => {
                write!(
                    f,
                    "a response declared a {body}-byte body, over the {limit}-byte limit"
                )
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Parses and validates a response header. `max_body` caps the body length the caller is
/// willing to read.
///
/// # Errors
///
/// [`ProtocolError`] when the magic is wrong, the lengths are inconsistent or the body is
/// larger than `max_body`. (The caller may still skip such a body: the header is sound.)
#[cfg(test)]
pub(crate) fn parse_header(
    bytes: &[u8; HEADER_LEN],
    max_body: u32,
) -> Result<ResponseHeader, ProtocolError> {
    let header = parse_sound_header(bytes)?;
    if header.body_len > max_body {
        return Err(ProtocolError::BodyTooLarge {
            body: header.body_len,
            limit: max_body,
        });
    }
    Ok(header)
}

/// Parses a response header and checks that it can be framed (its magic, and field lengths
/// that add up), whatever its body length.
///
/// # Errors
///
/// [`ProtocolError::BadMagic`] or [`ProtocolError::InconsistentLengths`].
fn parse_sound_header(bytes: &[u8; HEADER_LEN]) -> Result<ResponseHeader, ProtocolError> {
    let [
        magic,
        opcode,
        k0,
        k1,
        extras_len,
        _data_type,
        s0,
        s1,
        b0,
        b1,
        b2,
        b3,
        o0,
        o1,
        o2,
        o3,
        cas @ ..,
    ] = *bytes;
    if magic != RESPONSE_MAGIC {
        return Err(ProtocolError::BadMagic(magic));
    }
    let key_len = u16::from_be_bytes([k0, k1]);
    let body_len = u32::from_be_bytes([b0, b1, b2, b3]);
    if u32::from(extras_len) + u32::from(key_len) > body_len {
        return Err(ProtocolError::InconsistentLengths {
            extras: extras_len,
            key: key_len,
            body: body_len,
        });
    }
    Ok(ResponseHeader {
        opcode,
        key_len,
        extras_len,
        status: Status::from_code(u16::from_be_bytes([s0, s1])),
        body_len,
        opaque: u32::from_be_bytes([o0, o1, o2, o3]),
        cas: u64::from_be_bytes(cas),
    })
}

/// A response whose body is larger than the client accepts. The body is skipped, so the stream
/// stays in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Oversized {
    pub(crate) body: u32,
    pub(crate) limit: u32,
}

impl fmt::Display for Oversized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the reply's {}-byte body exceeds the {}-byte limit; it was discarded",
            self.body, self.limit
        )
    }
}

impl std::error::Error for Oversized {}

/// What a [`Decoder`] found at the front of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A reply: the response, or the header of one whose body is being skipped, with the
    /// opaque value it echoes.
    Reply {
        opaque: u32,
        reply: Result<Response, Oversized>,
    },
    /// Bytes of a skipped body.
    Skipped,
}

/// Cuts responses out of a byte stream: validates each header before anything is allocated for
/// its body, and skips bodies over `max_body` bytes (reporting them as [`Oversized`]).
#[derive(Debug)]
pub(crate) struct Decoder {
    max_body: u32,
    /// Bytes of an oversized body still to skip.
    skipping: u32,
}

impl Decoder {
    pub(crate) fn new(max_body: u32) -> Self {
        Self {
            max_body,
            skipping: 0,
        }
    }

    /// How many more bytes the frame at the front of `buf` needs, at least (0 if complete or
    /// unknown): lets the reader reserve room for a large value at once.
    pub(crate) fn wants(&self, buf: &[u8]) -> usize {
        if self.skipping > 0 {
            return 0;
        }
        match buf.first_chunk::<HEADER_LEN>().map(parse_sound_header) {
            Some(Ok(header)) if header.body_len <= self.max_body => {
                (HEADER_LEN + header.body_len as usize).saturating_sub(buf.len())
            }
            _ => 0,
        }
    }

    /// Decodes the frame at the front of `buf`: `Ok(None)` when more bytes are needed,
    /// otherwise the frame and how many bytes (at least one) it took.
    ///
    /// # Errors
    ///
    /// [`ProtocolError`] when the bytes are not a response: the stream can no longer be
    /// trusted.
    pub(crate) fn decode(&mut self, buf: &[u8]) -> Result<Option<(Decoded, usize)>, ProtocolError> {
        if self.skipping > 0 {
            let skipped =
                usize::try_from(self.skipping).map_or(buf.len(), |left| left.min(buf.len()));
            if skipped == 0 {
                return Ok(None);
            }
            // skipped <= self.skipping, a u32.
            self.skipping -= u32::try_from(skipped).unwrap_or(self.skipping);
            return Ok(Some((Decoded::Skipped, skipped)));
        }
        let Some((header_bytes, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let header = parse_sound_header(header_bytes)?;
        if header.body_len > self.max_body {
            self.skipping = header.body_len;
            let oversized = Oversized {
                body: header.body_len,
                limit: self.max_body,
            };
            let reply = Decoded::Reply {
                opaque: header.opaque,
                reply: Err(oversized),
            };
            return Ok(Some((reply, HEADER_LEN)));
        }
        // body_len <= max_body, a u32: it fits usize on every supported target.
        let body_len = header.body_len as usize;
        let Some(body) = rest.get(..body_len) else {
            return Ok(None);
        };
        let reply = Decoded::Reply {
            opaque: header.opaque,
            reply: Ok(Response::new(header, body.to_vec())),
        };
        Ok(Some((reply, HEADER_LEN + body_len)))
    }
}

/// A complete response: its header and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) header: ResponseHeader,
    body: Vec<u8>,
}

impl Response {
    /// Pairs a validated header with its body. `body` must be `header.body_len` bytes long;
    /// if it is not, the accessors return what there is (empty slices), never panicking.
    pub(crate) fn new(header: ResponseHeader, body: Vec<u8>) -> Self {
        Self { header, body }
    }

    #[cfg(test)]
    pub(crate) fn extras(&self) -> &[u8] {
        self.body
            .get(..usize::from(self.header.extras_len))
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn key(&self) -> &[u8] {
        let start = usize::from(self.header.extras_len);
        self.body
            .get(start..start + usize::from(self.header.key_len))
            .unwrap_or_default()
    }

    pub(crate) fn value(&self) -> &[u8] {
        let start = usize::from(self.header.extras_len) + usize::from(self.header.key_len);
        self.body.get(start..).unwrap_or_default()
    }

    /// The value, without copying.
    pub(crate) fn into_value(mut self) -> Vec<u8> {
        let start = usize::from(self.header.extras_len) + usize::from(self.header.key_len);
        if start > self.body.len() {
            return Vec::new();
        }
        self.body.drain(..start);
        self.body
    }
}

/// Parses one response from the front of `buf`: `Ok(None)` when more bytes are needed,
/// otherwise the response and how many bytes it took.
///
/// The connection cuts responses with a [`Decoder`] instead; this composes the steps of one
/// response ([`parse_header`], [`Response::new`]) for the tests.
///
/// # Errors
///
/// As for [`parse_header`].
#[cfg(test)]
pub(crate) fn parse_response(
    buf: &[u8],
    max_body: u32,
) -> Result<Option<(Response, usize)>, ProtocolError> {
    let Some((header_bytes, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = parse_header(header_bytes, max_body)?;
    // body_len <= max_body: a u32, so it fits usize on every supported target.
    let body_len = header.body_len as usize;
    let Some(body) = rest.get(..body_len) else {
        return Ok(None);
    };
    Ok(Some((
        Response::new(header, body.to_vec()),
        HEADER_LEN + body_len,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(
        opcode: u8,
        status: u16,
        extras: &[u8],
        key: &[u8],
        value: &[u8],
        cas: u64,
    ) -> Vec<u8> {
        let body_len = u32::try_from(extras.len() + key.len() + value.len()).unwrap();
        let mut bytes = vec![RESPONSE_MAGIC, opcode];
        bytes.extend_from_slice(&u16::try_from(key.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(&[u8::try_from(extras.len()).unwrap(), 0]);
        bytes.extend_from_slice(&status.to_be_bytes());
        bytes.extend_from_slice(&body_len.to_be_bytes());
        bytes.extend_from_slice(&7_u32.to_be_bytes());
        bytes.extend_from_slice(&cas.to_be_bytes());
        bytes.extend_from_slice(extras);
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
        bytes
    }

    #[test]
    fn encodes_a_set_request() {
        let extras = storage_extras(3600);
        let request = Request {
            extras: &extras,
            key: b"k",
            value: b"abc",
            opaque: 9,
            cas: 5,
            ..Request::new(Opcode::Set)
        };
        let packet = request.encode().unwrap();
        assert_eq!(
            packet[..HEADER_LEN],
            [
                0x80, 0x01, 0, 1, 8, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 5
            ]
        );
        assert_eq!(
            &packet[HEADER_LEN..],
            &[0, 0, 0, 0, 0, 0, 0x0e, 0x10, b'k', b'a', b'b', b'c']
        );
    }

    #[test]
    fn refuses_to_encode_unframeable_keys() {
        let key = vec![b'k'; 70_000];
        assert_eq!(
            Request {
                key: &key,
                ..Request::new(Opcode::Get)
            }
            .encode(),
            Err(FrameTooLarge)
        );
    }

    #[test]
    fn parses_a_get_response() {
        let bytes = response(0x00, 0, &[0, 0, 0, 1], b"", b"payload", 42);
        let (parsed, used) = parse_response(&bytes, 1024).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(parsed.header.status, Status::NoError);
        assert_eq!((parsed.header.cas, parsed.header.opaque), (42, 7));
        assert_eq!(
            (parsed.extras(), parsed.key(), parsed.value()),
            (&[0, 0, 0, 1][..], &b""[..], &b"payload"[..])
        );
        assert_eq!(parsed.into_value(), b"payload");
    }

    #[test]
    fn waits_for_a_whole_packet() {
        let bytes = response(0x00, 1, &[], b"", b"Not found", 0);
        for len in 0..bytes.len() {
            assert_eq!(
                parse_response(&bytes[..len], 1024),
                Ok(None),
                "prefix of {len} bytes"
            );
        }
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert_eq!(parse_response(&two, 1024).unwrap().unwrap().1, bytes.len());
    }

    #[test]
    fn rejects_bad_magic_inconsistent_lengths_and_oversized_bodies() {
        let mut bytes = response(0x00, 0, &[0; 4], b"", b"v", 1);
        bytes[0] = 0x80;
        assert_eq!(
            parse_response(&bytes, 1024),
            Err(ProtocolError::BadMagic(0x80))
        );

        let mut bytes = response(0x00, 0, &[0; 4], b"", b"", 1);
        bytes[4] = 200; // 200 bytes of extras in a 4-byte body
        assert!(matches!(
            parse_response(&bytes, 1024),
            Err(ProtocolError::InconsistentLengths { .. })
        ));

        let mut header = response(0x00, 0, &[], b"", b"", 0);
        header[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            parse_response(&header, 1024),
            Err(ProtocolError::BodyTooLarge {
                body: u32::MAX,
                limit: 1024
            })
        );
    }

    #[test]
    fn maps_status_codes() {
        assert_eq!(Status::from_code(0x20), Status::AuthError);
        assert_eq!(Status::from_code(0x08), Status::AuthError);
        assert_eq!(Status::from_code(0x03), Status::ValueTooLarge);
        assert_eq!(Status::from_code(0x1234).to_string(), "status 0x1234");
    }

    /// A small deterministic generator (xorshift64*), so the test needs no dependency and a
    /// failure reproduces exactly.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
    }

    /// Checks the parser's promises on arbitrary input: no panic, a consumed length within the
    /// input, and a body within the cap.
    fn check(bytes: &[u8], max_body: u32) {
        if let Ok(Some((response, used))) = parse_response(bytes, max_body) {
            assert!(used <= bytes.len() && used >= HEADER_LEN);
            assert!(response.header.body_len <= max_body);
            let parts = response.extras().len() + response.key().len() + response.value().len();
            assert_eq!(parts, response.header.body_len as usize);
            let value = response.value().to_vec();
            assert_eq!(response.into_value(), value);
        }
        // A header paired with a body of the wrong length (which the connection never does)
        // still yields slices, not a panic.
        if let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>()
            && let Ok(header) = parse_header(header, u32::MAX)
        {
            let response = Response::new(header, body.to_vec());
            let _ = (response.extras(), response.key(), response.value());
            let _ = response.into_value();
        }
    }

    #[test]
    fn fuzz_random_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let len = rng.below(96);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 && !bytes.is_empty() {
                bytes[0] = RESPONSE_MAGIC; // get past the magic check half of the time
            }
            check(&bytes, u32::try_from(rng.below(128)).unwrap());
        }
    }

    #[test]
    fn fuzz_truncated_and_mutated_responses_never_panic() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let valid = [
            response(0x00, 0, &[0, 0, 0, 0], b"", b"hello world", 99),
            response(0x0c, 0, &[0, 0, 0, 0], b"key", b"value", 1),
            response(0x0b, 0, &[], b"", b"1.6.18", 0),
            response(0x21, 0x20, &[], b"", b"Auth failure", 0),
            response(0x01, 0, &[], b"", b"", 5),
        ];
        for bytes in &valid {
            for len in 0..=bytes.len() {
                check(&bytes[..len], 64);
            }
            for _ in 0..5_000 {
                let mut mutated = bytes.clone();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(mutated.len());
                    mutated[at] = rng.next() as u8;
                }
                mutated.truncate(rng.below(mutated.len() + 1));
                check(&mutated, u32::try_from(rng.below(64)).unwrap());
            }
        }
    }

    /// A reply's opaque value and content.
    type Reply = (u32, Result<Response, Oversized>);

    /// Feeds `stream` to a decoder in chunks cut at random, as the socket delivers it; returns
    /// the replies, or the first error.
    fn decode_chunked(
        stream: &[u8],
        max_body: u32,
        rng: &mut Rng,
    ) -> Result<Vec<Reply>, ProtocolError> {
        let mut decoder = Decoder::new(max_body);
        let mut buf = Vec::new();
        let mut replies = Vec::new();
        let mut fed = 0;
        while fed < stream.len() {
            let chunk = 1 + rng.below(stream.len() - fed);
            buf.extend_from_slice(&stream[fed..fed + chunk]);
            fed += chunk;
            let _ = decoder.wants(&buf);
            while let Some((decoded, used)) = decoder.decode(&buf)? {
                assert!(used >= 1 && used <= buf.len());
                if let Decoded::Reply { opaque, reply } = decoded {
                    replies.push((opaque, reply));
                }
                buf.drain(..used);
            }
        }
        Ok(replies)
    }

    #[test]
    fn decoder_cuts_a_chunked_stream_and_skips_oversized_bodies() {
        let mut rng = Rng(0x0bad_cafe_f00d_d00d);
        let mut stream = response(0x00, 0, &[0, 0, 0, 0], b"", b"first", 1);
        stream.extend(response(0x00, 0, &[], b"", &[b'x'; 100], 2)); // over the cap
        stream.extend(response(0x0b, 0, &[], b"", b"1.6.18", 3));
        for _ in 0..1_000 {
            let replies = decode_chunked(&stream, 64, &mut rng).unwrap();
            let values: Vec<_> = replies
                .iter()
                .map(|(_, reply)| reply.as_ref().map(|r| r.value().to_vec()).map_err(|e| *e))
                .collect();
            assert_eq!(
                values,
                [
                    Ok(b"first".to_vec()),
                    Err(Oversized {
                        body: 100,
                        limit: 64
                    }),
                    Ok(b"1.6.18".to_vec())
                ]
            );
        }
    }

    #[test]
    fn fuzz_decoder_never_panics() {
        let mut rng = Rng(0x5eed_5eed_5eed_5eed);
        let valid = response(0x00, 0, &[0, 0, 0, 0], b"key", b"hello world", 99);
        for _ in 0..20_000 {
            let mut bytes = valid.clone();
            bytes.extend_from_slice(&valid);
            for _ in 0..=rng.below(6) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            bytes.truncate(rng.below(bytes.len() + 1));
            if let Ok(replies) =
                decode_chunked(&bytes, u32::try_from(rng.below(64)).unwrap(), &mut rng)
            {
                for (_, reply) in replies {
                    if let Ok(response) = reply {
                        let _ = (response.extras(), response.key(), response.value());
                    }
                }
            }
        }
    }
}
