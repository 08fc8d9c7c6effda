//! The versioned payload format: what the core hands to a store.
//!
//! ```text
//! payload  = version:u8 (=2)  codec:u8  flags:u8  created:varint  writes  entries
//!            [flashes if flags&1]  [options if flags&2]  [tombstone if flags&4]
//! writes   = count:u8 (at most 8)  token:u64be{count}          oldest first
//! entries  = count:varint  (key:bytes  value:bytes)*
//! flashes  = count:varint  (key:bytes  n:varint  (id:u64be  value:bytes){n})*
//! options  = presence:u8  [persistent:u8 ttl_secs:varint] [path:bytes] [domain:bytes]
//!            [secure:u8] [http_only:u8] [same_site:u8] [partitioned:u8]
//! tombstone = 1 (purged) | 2 (renewed) key:bytes
//! bytes    = len:varint  byte{len}
//! varint   = unsigned LEB128 (at most 5 bytes for lengths and counts, 10 for `created`)
//! ```
//!
//! Values are the codec's bytes; the envelope is the same for every codec and records the
//! codec's id, so a payload written by another codec is rejected rather than misread.
//!
//! - `created` is when the session began (Unix seconds), for the absolute lifetime.
//! - `writes` are the random tokens of the last writes, newest last: a request whose write's
//!   reply was lost finds out from them whether the write landed (see `retry.rs`).
//! - Each flash has a random id, so that a request removes exactly the flashes it showed.
//! - A tombstone marks a record that is no longer a session (purged, or renewed into another
//!   key); it loads as no session at all.
//!
//! Version 1 (no `created`, `writes`, flash ids or tombstone) is still decoded. The format is
//! pinned by golden fixtures (`tests/fixtures`, checked by `golden.rs`): any change needs a new
//! version number and a new fixture, and decoding of the old versions keeps working.

use std::fmt;
use std::time::Duration;

use actix_web::cookie::SameSite;

use crate::SessionKey;
use crate::entries::Entries;
use crate::options::{Lifecycle, SessionOptions};

/// The payload format version written.
pub(crate) const FORMAT_VERSION: u8 = 2;
/// The first format, still read.
const FORMAT_V1: u8 = 1;

const HAS_FLASHES: u8 = 1;
const HAS_OPTIONS: u8 = 2;
const HAS_TOMBSTONE: u8 = 4;

/// How many write tokens a payload keeps.
pub(crate) const WRITE_HISTORY: usize = 8;

/// A session's decoded state: values and flashes as codec bytes, per-session options, and what
/// the format keeps about the session's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) entries: Entries,
    pub(crate) flashes: Entries<Vec<Flash>>,
    /// Boxed: rarely set, and a state is moved several times per request.
    pub(crate) options: Option<Box<SessionOptions>>,
    /// When the session began, in Unix seconds; 0 when unknown (a version 1 payload).
    pub(crate) created: u64,
    /// The tokens of the last [`WRITE_HISTORY`] writes, oldest first.
    pub(crate) writes: Vec<u64>,
    pub(crate) tombstone: Option<Tombstone>,
}

/// One flash message: its codec bytes and an id unique within the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flash {
    pub(crate) id: u64,
    pub(crate) value: Vec<u8>,
}

/// What a record that is no longer a session says about where the session went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tombstone {
    /// Logged out.
    Purged,
    /// Renewed: the state moved to this key (followed only by a purge, never handed out).
    Renewed(SessionKey),
}

impl State {
    /// A tombstone record, written with `token`.
    pub(crate) fn tombstone(tombstone: Tombstone, writes: Vec<u64>) -> Self {
        Self {
            tombstone: Some(tombstone),
            writes,
            ..Self::default()
        }
    }

    /// Records that `token` writes this state (keeping the last [`WRITE_HISTORY`] tokens).
    pub(crate) fn push_write(&mut self, token: u64) {
        if self.writes.len() == WRITE_HISTORY {
            self.writes.remove(0);
        }
        self.writes.push(token);
    }

    /// Whether the state holds nothing a session keeps: no values, flashes or options.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.flashes.is_empty() && self.options.is_none()
    }

    /// Encodes the state for a store, tagging it with `codec_id`.
    pub(crate) fn encode(&self, codec_id: u8) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(self.encoded_size_hint()));
        w.0.extend_from_slice(&[FORMAT_VERSION, codec_id, self.flags()]);
        w.varint64(self.created);
        w.byte(self.writes.len() as u8); // at most WRITE_HISTORY
        self.writes.iter().for_each(|token| w.u64(*token));
        w.varint(self.entries.len());
        for (key, value) in self.entries.iter() {
            w.bytes(key.as_bytes());
            w.bytes(value);
        }
        if !self.flashes.is_empty() {
            w.varint(self.flashes.len());
            for (key, flashes) in self.flashes.iter() {
                w.bytes(key.as_bytes());
                w.varint(flashes.len());
                for flash in flashes {
                    w.u64(flash.id);
                    w.bytes(&flash.value);
                }
            }
        }
        if let Some(options) = &self.options {
            write_options(&mut w, options);
        }
        match &self.tombstone {
            None => {}
            Some(Tombstone::Purged) => w.byte(1),
            Some(Tombstone::Renewed(key)) => {
                w.byte(2);
                w.bytes(key.as_bytes());
            }
        }
        w.0
    }

    /// Decodes a payload written with `codec_id`, in this format or version 1.
    pub(crate) fn decode(payload: &[u8], codec_id: u8) -> Result<Self, PayloadError> {
        let mut r = Reader(payload);
        let [version, codec, flags] = r.array()?;
        if version != FORMAT_VERSION && version != FORMAT_V1 {
            return Err(PayloadError::UnknownVersion(version));
        }
        if codec != codec_id {
            return Err(PayloadError::OtherCodec {
                found: codec,
                expected: codec_id,
            });
        }
        let v1 = version == FORMAT_V1;
        if flags & !(HAS_FLASHES | HAS_OPTIONS | HAS_TOMBSTONE) != 0
            || (v1 && flags & HAS_TOMBSTONE != 0)
        {
            return Err(PayloadError::BadFlags(flags));
        }
        let mut state = Self::default();
        if !v1 {
            state.created = r.varint64()?;
            state.writes = read_writes(&mut r)?;
        }
        state.entries = read_entries(&mut r)?;
        if flags & HAS_FLASHES != 0 {
            state.flashes = read_flashes(&mut r, v1)?;
        }
        if flags & HAS_OPTIONS != 0 {
            state.options = Some(Box::new(read_options(&mut r)?));
        }
        if flags & HAS_TOMBSTONE != 0 {
            state.tombstone = Some(read_tombstone(&mut r)?);
        }
        r.finish()?;
        Ok(state)
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if !self.flashes.is_empty() {
            flags |= HAS_FLASHES;
        }
        if self.options.is_some() {
            flags |= HAS_OPTIONS;
        }
        if self.tombstone.is_some() {
            flags |= HAS_TOMBSTONE;
        }
        flags
    }

    fn encoded_size_hint(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        16 + 8 * self.writes.len() + entries
    }
}

fn read_writes(r: &mut Reader<'_>) -> Result<Vec<u64>, PayloadError> {
    let count = usize::from(r.byte()?);
    if count > WRITE_HISTORY {
        return Err(PayloadError::BadVarint);
    }
    let tokens = r.take(count * 8)?;
    let token = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
    Ok(tokens.chunks_exact(8).map(token).collect())
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

/// Flashes; a version 1 payload has no ids, so its flashes are numbered by position (every
/// request reading the same payload then agrees on them).
fn read_flashes(r: &mut Reader<'_>, v1: bool) -> Result<Entries<Vec<Flash>>, PayloadError> {
    let groups = r.count()?;
    let mut flashes = Entries::default();
    for _ in 0..groups {
        let key = r.string()?;
        let count = r.count()?;
        let values = (1..=count as u64)
            .map(|position| {
                let id = if v1 { position } else { r.u64()? };
                Ok(Flash {
                    id,
                    value: r.bytes()?.to_vec(),
                })
            })
            .collect::<Result<_, _>>()?;
        flashes.insert(key, values);
    }
    Ok(flashes)
}

fn read_tombstone(r: &mut Reader<'_>) -> Result<Tombstone, PayloadError> {
    match r.byte()? {
        1 => Ok(Tombstone::Purged),
        2 => SessionKey::from_bytes(r.bytes()?)
            .map(Tombstone::Renewed)
            .map_err(|_| PayloadError::BadOption(2)),
        other => Err(PayloadError::BadOption(other)),
    }
}

const LIFECYCLE: u8 = 1;
const PATH: u8 = 1 << 1;
const DOMAIN: u8 = 1 << 2;
const SECURE: u8 = 1 << 3;
const HTTP_ONLY: u8 = 1 << 4;
const SAME_SITE: u8 = 1 << 5;
const PARTITIONED: u8 = 1 << 6;

/// Writes per-session options: a presence byte, then each present field.
fn write_options(w: &mut Writer, options: &SessionOptions) {
    w.byte(presence(options));
    if let Some(lifecycle) = &options.lifecycle {
        w.byte(u8::from(lifecycle.max_age().is_some()));
        w.varint(
            usize::try_from(lifecycle.ttl().as_secs())
                .unwrap_or(usize::MAX)
                .min(u32::MAX as usize),
        );
    }
    for text in [&options.path, &options.domain].into_iter().flatten() {
        w.bytes(text.as_bytes());
    }
    for flag in [options.secure, options.http_only].into_iter().flatten() {
        w.byte(u8::from(flag));
    }
    if let Some(same_site) = options.same_site {
        w.byte(same_site_tag(same_site));
    }
    if let Some(partitioned) = options.partitioned {
        w.byte(u8::from(partitioned));
    }
}

fn presence(options: &SessionOptions) -> u8 {
    [
        (options.lifecycle.is_some(), LIFECYCLE),
        (options.path.is_some(), PATH),
        (options.domain.is_some(), DOMAIN),
        (options.secure.is_some(), SECURE),
        (options.http_only.is_some(), HTTP_ONLY),
        (options.same_site.is_some(), SAME_SITE),
        (options.partitioned.is_some(), PARTITIONED),
    ]
    .into_iter()
    .filter(|(present, _)| *present)
    .fold(0, |bits, (_, bit)| bits | bit)
}

/// Reads what [`write_options`] wrote.
fn read_options(r: &mut Reader<'_>) -> Result<SessionOptions, PayloadError> {
    let presence = r.byte()?;
    if presence & 0x80 != 0 {
        return Err(PayloadError::BadOption(presence));
    }
    let mut options = SessionOptions::new();
    if presence & LIFECYCLE != 0 {
        let persistent = read_bool(r)?;
        let ttl = Duration::from_secs(r.varint()? as u64);
        options.lifecycle = Some(if persistent {
            Lifecycle::persistent(ttl)
        } else {
            Lifecycle::browser_session(ttl)
        });
    }
    if presence & PATH != 0 {
        options.path = Some(r.string()?);
    }
    if presence & DOMAIN != 0 {
        options.domain = Some(r.string()?);
    }
    if presence & SECURE != 0 {
        options.secure = Some(read_bool(r)?);
    }
    if presence & HTTP_ONLY != 0 {
        options.http_only = Some(read_bool(r)?);
    }
    if presence & SAME_SITE != 0 {
        options.same_site = Some(same_site_from_tag(r.byte()?)?);
    }
    if presence & PARTITIONED != 0 {
        options.partitioned = Some(read_bool(r)?);
    }
    Ok(options)
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, PayloadError> {
    match r.byte()? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(PayloadError::BadOption(other)),
    }
}

fn same_site_tag(same_site: SameSite) -> u8 {
    match same_site {
        SameSite::Strict => 0,
        SameSite::Lax => 1,
        SameSite::None => 2,
    }
}

fn same_site_from_tag(tag: u8) -> Result<SameSite, PayloadError> {
    match tag {
        0 => Ok(SameSite::Strict),
        1 => Ok(SameSite::Lax),
        2 => Ok(SameSite::None),
        other => Err(PayloadError::BadOption(other)),
    }
}

/// Appends the payload format's primitives to a buffer.
#[derive(Debug)]
struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, value: usize) {
        let value = u32::try_from(value).expect("session payload parts are smaller than 4 GiB");
        self.varint64(u64::from(value));
    }

    fn varint64(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }
}

/// Reads the payload format's primitives, checking every length against what is left.
#[derive(Debug)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PayloadError> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(PayloadError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u64(&mut self) -> Result<u64, PayloadError> {
        self.array().map(u64::from_be_bytes)
    }

    /// A length or count: at most `u32::MAX`, in at most 5 bytes.
    fn varint(&mut self) -> Result<usize, PayloadError> {
        let value = self.varint_of(32)?;
        usize::try_from(value).map_err(|_| PayloadError::BadVarint)
    }

    fn varint64(&mut self) -> Result<u64, PayloadError> {
        self.varint_of(64)
    }

    /// An unsigned LEB128 number of at most `bits` bits, in its shortest-or-not form.
    fn varint_of(&mut self, bits: u32) -> Result<u64, PayloadError> {
        let mut value: u64 = 0;
        for shift in (0..bits).step_by(7) {
            let byte = self.byte()?;
            let part = u64::from(byte & 0x7f);
            let shifted = part << shift;
            if shifted >> shift != part || (bits < 64 && shifted >> bits != 0) {
                return Err(PayloadError::BadVarint);
            }
            value |= shifted;
            if byte & 0x80 == 0 {
                return Ok(value);
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

    fn bytes(&mut self) -> Result<&'a [u8], PayloadError> {
        let len = self.varint()?;
        self.take(len)
    }

    /// The next `len` bytes.
    fn take(&mut self, len: usize) -> Result<&'a [u8], PayloadError> {
        if len > self.0.len() {
            return Err(PayloadError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn string(&mut self) -> Result<String, PayloadError> {
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
    BadFlags(u8),
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
            Self::BadFlags(flags) => write!(f, "session payload has unknown flags {flags:#04x}"),
            Self::Truncated => f.write_str("session payload is truncated"),
            Self::BadVarint => f.write_str("session payload has a malformed number"),
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
        state.flashes.insert(
            "_flash".into(),
            vec![
                Flash {
                    id: 7,
                    value: b"\xa2hi".to_vec(),
                },
                Flash {
                    id: u64::MAX,
                    value: vec![0xc3],
                },
            ],
        );
        state.options = Some(Box::new(
            SessionOptions::new()
                .max_age(std::time::Duration::from_secs(3600))
                .path("/app"),
        ));
        state.created = 1_764_000_000;
        state.writes = vec![1, 2, 0xdead_beef_0000_0001];
        state
    }

    #[test]
    fn round_trips() {
        let state = sample();
        assert_eq!(State::decode(&state.encode(1), 1).unwrap(), state);
        let empty = State::default();
        assert_eq!(empty.encode(1), vec![2, 1, 0, 0, 0, 0]);
        assert_eq!(State::decode(&empty.encode(1), 1).unwrap(), empty);
        for tombstone in [
            Tombstone::Purged,
            Tombstone::Renewed(SessionKey::generate()),
        ] {
            let dead = State::tombstone(tombstone, vec![9]);
            assert_eq!(State::decode(&dead.encode(1), 1).unwrap(), dead);
        }
    }

    #[test]
    fn write_history_keeps_the_last_tokens() {
        let mut state = State::default();
        for token in 1..=20 {
            state.push_write(token);
        }
        assert_eq!(state.writes, (13..=20).collect::<Vec<u64>>());
        let mut too_many = State::default().encode(1);
        too_many[4] = WRITE_HISTORY as u8 + 1;
        assert!(State::decode(&too_many, 1).is_err());
    }

    #[test]
    fn reads_version_1_and_numbers_its_flashes() {
        // count=5, name flag, and two flashes, in version 1.
        let v1 = [
            1, 1, 1, 1, 5, b'c', b'o', b'u', b'n', b't', 1, 0x05, 1, 6, b'_', b'f', b'l', b'a',
            b's', b'h', 2, 1, 0xa1, 1, 0xa2,
        ];
        let state = State::decode(&v1, 1).unwrap();
        assert_eq!(state.entries.get("count"), Some(&vec![0x05]));
        let flashes = state.flashes.get("_flash").unwrap();
        assert_eq!(
            flashes.iter().map(|f| f.id).collect::<Vec<_>>(),
            [1, 2],
            "version 1 flashes are numbered by position"
        );
        assert_eq!((state.created, state.writes.len()), (0, 0));
        let mut tombstoned_v1 = v1;
        tombstoned_v1[2] |= HAS_TOMBSTONE;
        assert_eq!(
            State::decode(&tombstoned_v1, 1),
            Err(PayloadError::BadFlags(5))
        );
    }

    #[test]
    fn rejects_other_codec_version_and_flags() {
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
        let mut flagged = bytes.clone();
        flagged[2] |= 0x40;
        assert!(matches!(
            State::decode(&flagged, 1),
            Err(PayloadError::BadFlags(_))
        ));
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
            for version in [FORMAT_V1, FORMAT_VERSION] {
                let mut framed = vec![version, 1];
                framed.extend_from_slice(&bytes);
                let _ = State::decode(&framed, 1);
            }
        }
    }

    #[test]
    fn huge_declared_lengths_are_rejected_before_allocating() {
        // count = 2^32-1 entries in a 9-byte payload.
        let bytes = [2, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(State::decode(&bytes, 1), Err(PayloadError::Truncated));
        let overlong = [2, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(State::decode(&overlong, 1), Err(PayloadError::BadVarint));
        let created_overflow = [
            2, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ];
        assert_eq!(
            State::decode(&created_overflow, 1),
            Err(PayloadError::BadVarint)
        );
    }

    #[test]
    fn every_option_round_trips() {
        let all = SessionOptions::new()
            .lifecycle(Lifecycle::browser_session(Duration::from_secs(90)))
            .path("/p")
            .domain("example.com")
            .secure(false)
            .http_only(true)
            .same_site(SameSite::None)
            .partitioned(true);
        for options in [
            all,
            SessionOptions::new(),
            SessionOptions::new().max_age(Duration::from_secs(86_400 * 30)),
        ] {
            let state = State {
                options: Some(Box::new(options)),
                ..State::default()
            };
            assert_eq!(State::decode(&state.encode(1), 1).unwrap(), state);
        }
    }
}
