//! The versioned payload format: what the core hands to a store.
//!
//! ```text
//! payload  = version:u8 (=1)  codec:u8  flags:u8  entries  [flashes if flags&1]  [options if flags&2]
//! entries  = count:varint  (key:bytes  value:bytes)*
//! flashes  = count:varint  (key:bytes  n:varint  (value:bytes){n})*
//! options  = see `SessionOptions::write`
//! bytes    = len:varint  byte{len}
//! varint   = unsigned LEB128, at most 5 bytes (u32)
//! ```
//!
//! Values are the codec's bytes; the envelope is the same for every codec and records the
//! codec's id, so a payload written by another codec is rejected rather than misread. The
//! format is pinned by golden fixtures (`tests/payload_format.rs`): any change needs a new
//! version number and a new fixture, and decoding of the old version keeps working.

use std::fmt;

use crate::entries::Entries;
use crate::options::SessionOptions;

/// The current payload format version.
pub(crate) const FORMAT_VERSION: u8 = 1;

const HAS_FLASHES: u8 = 1;
const HAS_OPTIONS: u8 = 2;

/// A session's decoded state: values and flashes as codec bytes, plus per-session options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) entries: Entries,
    pub(crate) flashes: Entries<Vec<Vec<u8>>>,
    /// Boxed: rarely set, and a state is moved several times per request.
    pub(crate) options: Option<Box<SessionOptions>>,
}

impl State {
    /// Encodes the state for a store, tagging it with `codec_id`.
    pub(crate) fn encode(&self, codec_id: u8) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(self.encoded_size_hint()));
        w.0.extend_from_slice(&[FORMAT_VERSION, codec_id, self.flags()]);
        w.varint(self.entries.len());
        for (key, value) in self.entries.iter() {
            w.bytes(key.as_bytes());
            w.bytes(value);
        }
        if !self.flashes.is_empty() {
            w.varint(self.flashes.len());
            for (key, values) in self.flashes.iter() {
                w.bytes(key.as_bytes());
                w.varint(values.len());
                values.iter().for_each(|value| w.bytes(value));
            }
        }
        if let Some(options) = &self.options {
            options.write(&mut w);
        }
        w.0
    }

    /// Decodes a payload written with `codec_id`.
    pub(crate) fn decode(payload: &[u8], codec_id: u8) -> Result<Self, PayloadError> {
        let mut r = Reader(payload);
        let [version, codec, flags] = r.array()?;
        if version != FORMAT_VERSION {
            return Err(PayloadError::UnknownVersion(version));
        }
        if codec != codec_id {
            return Err(PayloadError::OtherCodec {
                found: codec,
                expected: codec_id,
            });
        }
        let mut state = Self {
            entries: read_entries(&mut r)?,
            ..Self::default()
        };
        if flags & HAS_FLASHES != 0 {
            state.flashes = read_flashes(&mut r)?;
        }
        if flags & HAS_OPTIONS != 0 {
            state.options = Some(Box::new(SessionOptions::read(&mut r)?));
        }
        r.finish()?;
        Ok(state)
    }

    fn flags(&self) -> u8 {
        let flashes = if self.flashes.is_empty() {
            0
        } else {
            HAS_FLASHES
        };
        let options = if self.options.is_some() {
            HAS_OPTIONS
        } else {
            0
        };
        flashes | options
    }

    fn encoded_size_hint(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        8 + entries
    }
}

fn read_entries(r: &mut Reader<'_>) -> Result<Entries, PayloadError> {
    let count = r.count()?;
    let mut entries = Entries::with_capacity(count);
    for _ in 0..count {
        let key = r.string()?;
        entries.insert(key, r.bytes()?.to_vec());
    }
    Ok(entries)
}

fn read_flashes(r: &mut Reader<'_>) -> Result<Entries<Vec<Vec<u8>>>, PayloadError> {
    let groups = r.count()?;
    let mut flashes = Entries::default();
    for _ in 0..groups {
        let key = r.string()?;
        let count = r.count()?;
        let values = (0..count)
            .map(|_| r.bytes().map(<[u8]>::to_vec))
            .collect::<Result<_, _>>()?;
        flashes.insert(key, values);
    }
    Ok(flashes)
}

/// Appends the payload format's primitives to a buffer.
#[derive(Debug)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn varint(&mut self, value: usize) {
        let mut value = u32::try_from(value).expect("session payload parts are smaller than 4 GiB");
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    pub(crate) fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }
}

/// Reads the payload format's primitives, checking every length against what is left.
#[derive(Debug)]
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn byte(&mut self) -> Result<u8, PayloadError> {
        let (&first, rest) = self.0.split_first().ok_or(PayloadError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(PayloadError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    pub(crate) fn varint(&mut self) -> Result<usize, PayloadError> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            let part = u32::from(byte & 0x7f);
            value |= part
                .checked_shl(shift)
                .filter(|v| v >> shift == part)
                .ok_or(PayloadError::BadVarint)?;
            if byte & 0x80 == 0 {
                return Ok(value as usize);
            }
        }
        Err(PayloadError::BadVarint)
    }

    /// A count of items that each take at least one byte, so it cannot exceed what is left.
    fn count(&mut self) -> Result<usize, PayloadError> {
        let count = self.varint()?;
        if count > self.0.len() {
            return Err(PayloadError::Truncated);
        }
        Ok(count)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], PayloadError> {
        let len = self.varint()?;
        if len > self.0.len() {
            return Err(PayloadError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn string(&mut self) -> Result<String, PayloadError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| PayloadError::NotUtf8)
    }

    fn finish(&self) -> Result<(), PayloadError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(PayloadError::TrailingBytes(self.0.len()))
        }
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayloadError {
    UnknownVersion(u8),
    OtherCodec { found: u8, expected: u8 },
    Truncated,
    BadVarint,
    NotUtf8,
    TrailingBytes(usize),
    BadOption(u8),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownVersion(v) => write!(f, "unknown session payload format version {v}"),
            Self::OtherCodec { found, expected } => {
                write!(
                    f,
                    "payload written by codec {found}, but this session uses codec {expected}"
                )
            }
            Self::Truncated => f.write_str("session payload is truncated"),
            Self::BadVarint => f.write_str("session payload has a malformed length"),
            Self::NotUtf8 => f.write_str("session payload has a key that is not UTF-8"),
            Self::TrailingBytes(n) => {
                write!(f, "session payload has {n} unexpected trailing bytes")
            }
            Self::BadOption(tag) => write!(f, "session payload has an unknown option value {tag}"),
        }
    }
}

impl std::error::Error for PayloadError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut state = State::default();
        state.entries.insert("count".into(), vec![0x05]);
        state.entries.insert("name".into(), b"\xa3ann".to_vec());
        state
            .flashes
            .insert("_flash".into(), vec![b"\xa2hi".to_vec(), vec![0xc3]]);
        state.options = Some(Box::new(
            SessionOptions::new()
                .max_age(std::time::Duration::from_secs(3600))
                .path("/app"),
        ));
        state
    }

    #[test]
    fn round_trips() {
        let state = sample();
        assert_eq!(State::decode(&state.encode(1), 1).unwrap(), state);
        let empty = State::default();
        assert_eq!(empty.encode(1), vec![1, 1, 0, 0]);
        assert_eq!(State::decode(&empty.encode(1), 1).unwrap(), empty);
    }

    #[test]
    fn rejects_other_codec_and_version() {
        let bytes = sample().encode(1);
        assert_eq!(
            State::decode(&bytes, 2),
            Err(PayloadError::OtherCodec {
                found: 1,
                expected: 2
            })
        );
        let mut newer = bytes.clone();
        newer[0] = 9;
        assert_eq!(
            State::decode(&newer, 1),
            Err(PayloadError::UnknownVersion(9))
        );
    }

    #[test]
    fn every_truncation_and_extension_is_an_error_not_a_panic() {
        let bytes = sample().encode(1);
        for len in 0..bytes.len() {
            assert!(
                State::decode(&bytes[..len], 1).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            State::decode(&longer, 1),
            Err(PayloadError::TrailingBytes(1))
        );
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator: the point is coverage of odd bytes, not randomness.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| (seed >> (i % 8 * 8)) as u8 ^ i as u8)
                .collect();
            let mut framed = vec![1, 1];
            framed.extend_from_slice(&bytes);
            let _ = State::decode(&framed, 1);
        }
    }

    #[test]
    fn huge_declared_lengths_are_rejected_before_allocating() {
        // count = 2^32-1 entries in a 9-byte payload.
        let bytes = [1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(State::decode(&bytes, 1), Err(PayloadError::Truncated));
        let overlong = [1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(State::decode(&overlong, 1), Err(PayloadError::BadVarint));
    }
}
