//! Internals for tests, benchmarks and fuzz targets (feature `testing`): forcing session key
//! collisions for store authors' tests, and thin wrappers around the payload, codec, seal and
//! cookie-header internals for this workspace's benchmarks and fuzz targets.
//!
//! **Not for production, and not part of the stable API**: the wrappers may change in any
//! release. Applications never need it.

use std::cell::RefCell;
use std::collections::VecDeque;

use actix_web::http::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SessionKey;
use crate::codec::{Codec, CodecError};
use crate::key::KeyRing;
use crate::payload::{Flash, State};
use crate::seal::CookieSecurity;

thread_local! {
    static FORCED: RefCell<VecDeque<SessionKey>> = const { RefCell::new(VecDeque::new()) };
}

/// Makes the next calls to [`SessionKey::generate`] on this thread return `keys`, in order.
///
/// This is how the conformance suite checks that [`SessionStore::create`] never overwrites an
/// existing record: it forces a key that is already taken, then a free one.
///
/// ```
/// use sessions_core::SessionKey;
/// use sessions_core::testing::force_next_keys;
///
/// let taken = SessionKey::generate();
/// force_next_keys([taken.clone()]);
/// assert_eq!(SessionKey::generate(), taken);
/// assert_ne!(SessionKey::generate(), taken);
/// ```
///
/// [`SessionStore::create`]: crate::SessionStore::create
pub fn force_next_keys(keys: impl IntoIterator<Item = SessionKey>) {
    FORCED.with(|forced| forced.borrow_mut().extend(keys));
}

/// Forgets keys queued by [`force_next_keys`] that were not used.
///
/// ```
/// sessions_core::testing::force_next_keys([sessions_core::SessionKey::generate()]);
/// sessions_core::testing::clear_forced_keys();
/// ```
pub fn clear_forced_keys() {
    FORCED.with(|forced| forced.borrow_mut().clear());
}

pub(crate) fn next_forced_key() -> Option<SessionKey> {
    FORCED.with(|forced| forced.borrow_mut().pop_front())
}

/// Whether `payload`, as a store holds it, is a live session: not a tombstone (what
/// [`Session::purge`](crate::Session::purge) and [`Session::renew`](crate::Session::renew)
/// leave for a short while in place of the record they ended), and not garbage.
///
/// ```
/// assert!(!sessions_core::testing::holds_session(b"garbage"));
/// ```
#[must_use]
pub fn holds_session(payload: &[u8]) -> bool {
    let Some(&codec) = payload.get(1) else {
        return false;
    };
    State::decode(payload, codec).is_ok_and(|state| state.tombstone.is_none())
}

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
