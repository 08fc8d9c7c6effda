//! The `Cookie` header split and opening a cookie value, in both security modes.

use std::sync::LazyLock;

use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use sessions_core::testing::{cookie_values, open, seal};
use sessions_core::{CookieSecurity, Key, KeyRing};

/// The cookie name the open targets use.
pub(crate) const NAME: &str = "id";

/// Keys no input was sealed with: a current and a retired one, so opening tries both.
pub(crate) fn ring() -> &'static KeyRing {
    static RING: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::new(key(1)).with_old_key(key(2)));
    &RING
}

/// The retired key alone: what sealed the cookies of users from before the rotation.
fn retired() -> &'static KeyRing {
    static RING: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::new(key(2)));
    &RING
}

pub(crate) fn key(byte: u8) -> Key {
    Key::from([byte; 32]).expect("32 bytes are enough")
}

/// `data` is a cookie name length (first byte, mod 8), the name, then `Cookie` header lines
/// separated by `\n`. The values found must be exactly those a plain `split(';')` reading of
/// the lines gives.
pub fn cookie_header(data: &[u8]) {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let (name, rest) = rest.split_at(usize::from(len % 8).min(rest.len()));
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    let mut headers = HeaderMap::new();
    let mut lines = Vec::new();
    for line in rest.split(|&b| b == b'\n') {
        // What actix-web's request parser could hand over as a header value.
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
            lines.push(line);
        }
    }
    let found = cookie_values(&headers, name);
    let expected: Vec<&[u8]> = lines
        .iter()
        .flat_map(|line| line.split(|&b| b == b';'))
        .filter_map(|pair| reference_value(pair, name))
        .collect();
    assert_eq!(found, expected, "{name:?} in {lines:?}");
    for value in found {
        assert!(!value.contains(&b';'));
        assert!(!value.starts_with(b"\"") && !value.ends_with(b"\""));
    }
}

/// The value of a `name=value` pair if its name is `name`: trimmed of ASCII whitespace, then of
/// double quotes.
fn reference_value<'a>(pair: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    if pair[..eq].trim_ascii() != name.as_bytes() {
        return None;
    }
    let mut value = pair[eq + 1..].trim_ascii();
    while let Some(rest) = value.strip_prefix(b"\"") {
        value = rest;
    }
    while let Some(rest) = value.strip_suffix(b"\"") {
        value = rest;
    }
    Some(value)
}

/// `data` as an AES-GCM private cookie value, then as a plaintext to seal.
pub fn open_private(data: &[u8]) {
    open_and_round_trip(CookieSecurity::Private, data);
}

/// `data` as an HMAC signed cookie value, then as a plaintext to seal.
pub fn open_signed(data: &[u8]) {
    open_and_round_trip(CookieSecurity::Signed, data);
}

fn open_and_round_trip(mode: CookieSecurity, data: &[u8]) {
    // Nothing from outside opens: the input was never sealed with these keys.
    assert!(
        open(mode, ring(), NAME, data).is_none(),
        "forged {mode:?} value opened"
    );

    // Sealed with the current key: opens, to the same plaintext, under this name only.
    let sealed = seal(mode, ring(), NAME, data);
    assert_eq!(
        open(mode, ring(), NAME, &sealed),
        Some((data.to_vec(), false))
    );
    assert!(open(mode, ring(), "other", &sealed).is_none());
    // Sealed with the retired key: still opens, and says so.
    let old = seal(mode, retired(), NAME, data);
    assert_eq!(open(mode, ring(), NAME, &old), Some((data.to_vec(), true)));

    // Any one bit flipped in the sealed bytes (chosen by the input): never opens.
    let mut raw = base64_decode(&sealed);
    let bit = data.iter().fold(0_usize, |acc, &b| {
        acc.wrapping_mul(31).wrapping_add(b.into())
    });
    let bit = bit % (raw.len() * 8);
    raw[bit / 8] ^= 1 << (bit % 8);
    assert!(
        open(mode, ring(), NAME, base64_encode(&raw)).is_none(),
        "bit {bit} flipped"
    );
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url, written out here so the check does not share the decoder under test.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let digits: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_helpers_agree_with_the_sealed_values() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&bytes)), bytes);
        }
        let sealed = seal(CookieSecurity::Signed, ring(), NAME, b"k");
        assert_eq!(base64_encode(&base64_decode(&sealed)), sealed);
    }
}
