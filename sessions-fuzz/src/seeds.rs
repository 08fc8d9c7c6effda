//! Hand-made starting inputs for each target: the fuzzer mutates from well-formed values.
//!
//! The corpus replay test runs them too, so they stay valid as formats change.

use sessions_core::testing::{Payload, seal};
use sessions_core::{CookieSecurity, Json, KeyRing, MsgPack, Postcard};
use sessions_mongo::mongodb::bson::{self, DateTime};
use sessions_redis::fuzz_internals::encode_record;

use crate::codec::samples;
use crate::cookie::{NAME, key};
use crate::stores::SEED_VERSION;

/// The seeds of the target `name` (one of [`TARGETS`](crate::TARGETS)).
///
/// # Panics
///
/// When `name` is not a target.
#[must_use]
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    match name {
        "cookie_header" => vec![
            b"\x02ida=1; id=abc; idx=no\nid=\"second\"".to_vec(),
            b"\x07session lang=en;session=\"q\"\x80; session = v ".to_vec(),
        ],
        "open_private" => sealed(CookieSecurity::Private),
        "open_signed" => sealed(CookieSecurity::Signed),
        "payload" => payloads(),
        "msgpack_value" => samples(&MsgPack),
        "json_value" => samples(&Json),
        "postcard_value" => samples(&Postcard),
        "memcached_binary" => vec![
            [
                &[0, 64, 7][..],
                &response(0x00, 0, &[0, 0, 0, 0], b"value"),
                &response(0x0b, 0, &[], b"1.6"),
            ]
            .concat(),
            [
                &[0, 4, 1][..],
                &response(0x00, 0, &[], b"too large for the cap"),
            ]
            .concat(),
        ],
        "redis_record" => payloads()
            .iter()
            .map(|payload| encode_record(SEED_VERSION, payload))
            .collect(),
        "mongo_document" => payloads()
            .iter()
            .map(|payload| {
                let doc = sessions_mongo::fuzz_internals::record("k", payload, 3, DateTime::now());
                bson::to_vec(&doc).expect("encodes")
            })
            .collect(),
        "actix_session_cookie" => [CookieSecurity::Private, CookieSecurity::Signed]
            .into_iter()
            .map(|mode| {
                let key = crate::migrate::foreign_key();
                crate::migrate::sealed_by_actix_session(&key, mode, STATE).into_bytes()
            })
            .chain([STATE.as_bytes().to_vec()])
            .collect(),
        "actix_session_state" => vec![
            STATE.as_bytes().to_vec(),
            br#"{"n":"-0.5e3","list":"[1,[true,null],{\"k\":\"v\"}]","e":"\"\\u00e9\""}"#.to_vec(),
        ],
        other => panic!("no target {other}"),
    }
}

/// An actix-session state as its cookie store seals it: names to JSON texts.
const STATE: &str = r#"{"user_id":"42","name":"\"Ada\"","cart":"[\"pear\",3]"}"#;

/// Cookie values sealed with a key the targets do not hold (forgeries in the right shape), of
/// a session id and of a larger cookie-store state.
fn sealed(mode: CookieSecurity) -> Vec<Vec<u8>> {
    let foreign = KeyRing::new(key(3));
    [
        &b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"[..],
        &[7; 300],
    ]
    .iter()
    .map(|plaintext| seal(mode, &foreign, NAME, plaintext).into_bytes())
    .collect()
}

/// Payloads of the MessagePack codec: empty, with values and flashes, and one of format 1.
fn payloads() -> Vec<Vec<u8>> {
    let mut full = Payload::default();
    full.insert("user", b"\xa3ada".to_vec());
    full.insert("n", vec![7]);
    full.add_flash("_flash", b"\xa5saved".to_vec());
    let version_1 = vec![1, 1, 1, 1, 1, b'k', 1, 9, 1, 1, b'f', 1, 1, 2];
    vec![Payload::default().encode(1), full.encode(1), version_1]
}

/// A memcached binary response.
fn response(opcode: u8, status: u16, extras: &[u8], value: &[u8]) -> Vec<u8> {
    let body_len = u32::try_from(extras.len() + value.len()).expect("small");
    let mut bytes = vec![
        0x81,
        opcode,
        0,
        0,
        u8::try_from(extras.len()).expect("small"),
        0,
    ];
    bytes.extend_from_slice(&status.to_be_bytes());
    bytes.extend_from_slice(&body_len.to_be_bytes());
    bytes.extend_from_slice(&1_u32.to_be_bytes());
    bytes.extend_from_slice(&9_u64.to_be_bytes());
    bytes.extend_from_slice(extras);
    bytes.extend_from_slice(value);
    bytes
}
