//! Each built-in codec's value decoding, into types that use every serde shape a session value
//! commonly has.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sessions_core::testing::{decode_value, encode_value};
use sessions_core::{Codec, Json, MsgPack, Postcard};

/// A user-like session value: scalars of each width, text, optional and nested data, enums of
/// each variant kind, a map. Not recursive: a recursive type would let deep input exhaust the
/// stack in any serde format without a depth limit (postcard has none).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Profile {
    id: u64,
    small: i8,
    count: i32,
    name: String,
    admin: bool,
    initial: char,
    score: Float,
    tags: Vec<String>,
    raw: Vec<u8>,
    parent: Option<u32>,
    limits: BTreeMap<String, i64>,
    role: Role,
    pair: (u16, String),
    nothing: (),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Role {
    Guest,
    User(u32),
    Pair(i16, String),
    Admin { level: u8, scopes: Vec<String> },
}

/// An `f64` compared by value, where NaN equals NaN: decoding can yield NaN (MessagePack,
/// postcard), which a plain `==` would call a failed round trip.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Float(f64);

impl PartialEq for Float {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || (self.0.is_nan() && other.0.is_nan())
    }
}

/// `data` as a MessagePack value of the type its first byte picks.
pub fn msgpack_value(data: &[u8]) {
    value(&MsgPack, data);
}

/// `data` as a JSON value of the type its first byte picks.
pub fn json_value(data: &[u8]) {
    value(&Json, data);
}

/// `data` as a postcard value of the type its first byte picks.
pub fn postcard_value(data: &[u8]) {
    value(&Postcard, data);
}

fn value(codec: &dyn Codec, data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        0 => round_trip::<Profile>(codec, bytes),
        1 => round_trip::<Vec<Role>>(codec, bytes),
        2 => round_trip::<String>(codec, bytes),
        3 => round_trip::<Option<u64>>(codec, bytes),
        4 => round_trip::<BTreeMap<String, Vec<i32>>>(codec, bytes),
        _ => round_trip::<(bool, i64, Float)>(codec, bytes),
    }
}

/// What decodes re-encodes to bytes that decode to the same value; those bytes are canonical
/// (encoding again gives them back) and, in the binary formats, a trailing byte is refused.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    codec: &dyn Codec,
    bytes: &[u8],
) {
    let Ok(value) = decode_value::<T>(codec, bytes) else {
        return;
    };
    let encoded = encode_value(codec, &value).expect("a decoded value encodes");
    let again: T = decode_value(codec, &encoded).expect("a re-encoded value decodes");
    assert_eq!(again, value);
    assert_eq!(encode_value(codec, &again).expect("encodes"), encoded);
    if codec.name() != "json" {
        let mut trailing = encoded;
        trailing.push(0);
        assert!(
            decode_value::<T>(codec, &trailing).is_err(),
            "trailing byte accepted"
        );
    }
}

/// A sample of each type, for seeds.
pub(crate) fn samples(codec: &dyn Codec) -> Vec<Vec<u8>> {
    let profile = Profile {
        id: 42,
        small: -3,
        count: 70_000,
        name: "Ada \u{e9}\"\\".into(),
        admin: true,
        initial: 'A',
        score: Float(1.5e300),
        tags: vec!["a".into(), String::new()],
        raw: vec![0, 255, 10],
        parent: Some(7),
        limits: [("rate".into(), -1), ("max".into(), i64::MAX)].into(),
        role: Role::Admin {
            level: 3,
            scopes: vec!["read".into()],
        },
        pair: (65535, "x".into()),
        nothing: (),
    };
    let roles = vec![Role::Guest, Role::User(9), Role::Pair(-2, "p".into())];
    let map: BTreeMap<String, Vec<i32>> = [("k".into(), vec![1, -1, i32::MIN])].into();
    let with_kind = |kind: u8, bytes: Vec<u8>| [vec![kind], bytes].concat();
    vec![
        with_kind(0, encode_value(codec, &profile).expect("encodes")),
        with_kind(1, encode_value(codec, &roles).expect("encodes")),
        with_kind(2, encode_value(codec, "caf\u{e9}").expect("encodes")),
        with_kind(3, encode_value(codec, &Some(u64::MAX)).expect("encodes")),
        with_kind(4, encode_value(codec, &map).expect("encodes")),
        with_kind(
            5,
            encode_value(codec, &(true, -5_i64, Float(0.25))).expect("encodes"),
        ),
    ]
}
