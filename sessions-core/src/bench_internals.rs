//! Thin wrappers around internals, for this workspace's benchmarks and fuzz targets (feature
//! `bench-internals`).
//!
//! **Unstable and not part of the API**: hidden from the docs, changed or removed in any
//! release. Applications never need it.

use actix_web::http::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, CodecError};
use crate::key::KeyRing;
use crate::payload::{Flash, State};
use crate::seal::CookieSecurity;

/// Encodes one session value with `codec`, as [`Session::insert`](crate::Session::insert) does.
///
/// # Errors
///
/// [`CodecError`] when the codec cannot represent `value`.
pub fn encode_value<T: Serialize + ?Sized>(
    codec: &dyn Codec,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    crate::codec::encode_value(codec, value)
}

/// Decodes one session value with `codec`, as [`Session::get`](crate::Session::get) does.
///
/// # Errors
///
/// [`CodecError`] when `bytes` do not hold a `T`.
pub fn decode_value<T: DeserializeOwned>(codec: &dyn Codec, bytes: &[u8]) -> Result<T, CodecError> {
    crate::codec::decode_value(codec, bytes)
}

/// A session's state in the payload envelope: encoded values and flashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload(State);

impl Payload {
    /// Sets the encoded value under `key`.
    pub fn insert(&mut self, key: &str, value: Vec<u8>) {
        self.0.entries.insert(key.to_owned(), value);
    }

    /// Appends an encoded flash under `key`.
    pub fn add_flash(&mut self, key: &str, value: Vec<u8>) {
        let id = crate::token::unique();
        self.0.flashes.get_or_default(key).push(Flash { id, value });
    }

    /// The encoded value under `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.0.entries.get(key).map(Vec::as_slice)
    }

    /// The encoded flashes under `key`.
    pub fn flashes(&self, key: &str) -> impl Iterator<Item = &[u8]> {
        let flashes = self.0.flashes.get(key).map_or(&[][..], Vec::as_slice);
        flashes.iter().map(|flash| flash.value.as_slice())
    }

    /// The payload a store receives, tagged with `codec_id`.
    #[must_use]
    pub fn encode(&self, codec_id: u8) -> Vec<u8> {
        self.0.encode(codec_id)
    }

    /// Decodes a payload written with `codec_id`; `None` when it is not one.
    #[must_use]
    pub fn decode(payload: &[u8], codec_id: u8) -> Option<Self> {
        State::decode(payload, codec_id).ok().map(Self)
    }
}

/// Seals `plaintext` (a session key) into a cookie value named `name`.
#[must_use]
pub fn seal(security: CookieSecurity, keys: &KeyRing, name: &str, plaintext: &[u8]) -> String {
    crate::seal::seal(security, keys, name, plaintext)
}

/// Opens a cookie value sealed by [`seal`]: the plaintext, and whether a retired key opened
/// it; `None` when no key of the ring opens it.
#[must_use]
pub fn open(
    security: CookieSecurity,
    keys: &KeyRing,
    name: &str,
    value: impl AsRef<[u8]>,
) -> Option<(Vec<u8>, bool)> {
    crate::seal::open(security, keys, name, value.as_ref())
        .map(|opened| (opened.plaintext, opened.by_old_key))
}

/// The values of every cookie named `name` in the `Cookie` headers, as the middleware reads
/// them before opening each.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> Vec<&'a [u8]> {
    crate::cookie_header::request_cookies(headers, name).collect()
}

/// The content of an actix-session cookie value sealed with `key` in `security` mode, as the
/// migration opens it (feature `actix-session`); `None` when it does not open.
#[cfg(feature = "actix-session")]
#[must_use]
pub fn actix_session_unseal(
    key: &actix_web::cookie::Key,
    security: CookieSecurity,
    raw: &[u8],
) -> Option<String> {
    crate::migrate::ActixSessionMigration::cookie_store(key, security).unseal(raw)
}

/// actix-session's state (names to JSON strings) converted to values encoded by `codec`, as
/// the migration converts it (feature `actix-session`); `None` when it is not such a state.
#[cfg(feature = "actix-session")]
#[must_use]
pub fn actix_session_convert(json: &str, codec: &dyn Codec) -> Option<Vec<(String, Vec<u8>)>> {
    crate::migrate::convert(json, codec)
}
