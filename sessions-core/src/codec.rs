//! How session values become bytes: the [`Codec`] trait and the built-in codecs.
//!
//! A session is a map from names to values of any serde type. Each value is encoded on
//! [`Session::insert`](crate::Session::insert) and decoded on [`Session::get`](crate::Session::get)
//! by the session's codec; the envelope around them (see `payload.rs`) is the core's own
//! versioned format, the same for every codec.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Turns single session values into bytes and back.
///
/// The trait is object safe (it works through [`erased_serde`]), so a codec is chosen at run
/// time per session and handlers keep writing a plain `Session`. The built-in codecs are
/// [`MsgPack`] (the default), [`Json`] (feature `json`) and [`Postcard`] (feature `postcard`).
///
/// # Implementing a codec
///
/// Pick an [`id`](Self::id) of 128 or more (lower ids are reserved for built-in codecs). The id is
/// stored in every payload, so a payload written by another codec is reported as undecodable
/// instead of being misread.
///
/// ```
/// use sessions_core::{Codec, CodecError};
///
/// /// MessagePack with fields as positions instead of names.
/// #[derive(Debug)]
/// struct CompactMsgPack;
///
/// impl Codec for CompactMsgPack {
///     fn id(&self) -> u8 {
///         200
///     }
///     fn name(&self) -> &'static str {
///         "msgpack-compact"
///     }
///     fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError> {
///         let mut out = Vec::new();
///         let mut ser = rmp_serde::Serializer::new(&mut out);
///         erased_serde::serialize(value, &mut ser).map_err(CodecError::encode)?;
///         Ok(out)
///     }
///     fn decode(
///         &self,
///         bytes: &[u8],
///         visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
///     ) -> Result<(), CodecError> {
///         let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
///         visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de)).map_err(CodecError::decode)
///     }
/// }
/// ```
pub trait Codec: fmt::Debug + Send + Sync + 'static {
    /// A number identifying the format, stored in each payload. Built-in codecs use 1–127.
    fn id(&self) -> u8;

    /// A short name for logs, such as `"msgpack"`.
    fn name(&self) -> &'static str;

    /// Encodes one value.
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the value cannot be represented in this format.
    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError>;

    /// Runs `visit` with a deserializer reading `bytes`.
    ///
    /// # Errors
    ///
    /// [`CodecError`] when `visit` fails, that is when `bytes` do not hold the expected type.
    fn decode(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CodecError>;
}

/// Encodes `value` with `codec`.
pub(crate) fn encode_value<T: Serialize + ?Sized>(
    codec: &dyn Codec,
    value: &T,
) -> Result<Vec<u8>, CodecError> {
    codec.encode(&value)
}

/// Decodes a `T` from `bytes` with `codec`.
pub(crate) fn decode_value<T: DeserializeOwned>(
    codec: &dyn Codec,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let mut out = None;
    codec.decode(bytes, &mut |de| {
        out = Some(erased_serde::deserialize::<T>(de)?);
        Ok(())
    })?;
    out.ok_or_else(|| CodecError::decode("the codec did not call the visitor"))
}

/// How deeply MessagePack arrays and maps may nest, as in serde_json. rmp-serde's default, 1024,
/// lets a skipped unknown field nested that deep overflow a 2 MiB worker stack (found by the
/// `msgpack_value` fuzz target).
const MAX_DEPTH: usize = 128;

/// MessagePack with named struct fields ([`rmp_serde`]); the default codec.
///
/// Compact and self-describing: a struct that later gains a `#[serde(default)]` field still
/// decodes old sessions, and tagged and untagged enums work.
///
/// ```
/// use sessions_core::{Codec, MsgPack};
/// assert_eq!(MsgPack.name(), "msgpack");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgPack;

/// Whether `C` is one of this crate's codecs, the only ones allowed ids under 128.
pub(crate) fn is_built_in<C: Codec>() -> bool {
    use std::any::TypeId;
    let id = TypeId::of::<C>();
    #[cfg(feature = "json")]
    if id == TypeId::of::<Json>() {
        return true;
    }
    #[cfg(feature = "postcard")]
    if id == TypeId::of::<Postcard>() {
        return true;
    }
    id == TypeId::of::<MsgPack>()
}

impl Codec for MsgPack {
    fn id(&self) -> u8 {
        1
    }

    fn name(&self) -> &'static str {
        "msgpack"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(16);
        let mut ser = rmp_serde::Serializer::new(&mut out).with_struct_map();
        erased_serde::serialize(value, &mut ser).map_err(CodecError::encode)?;
        Ok(out)
    }

    fn decode(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CodecError> {
        let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
        de.set_max_depth(MAX_DEPTH);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de)).map_err(CodecError::decode)?;
        let read = usize::try_from(de.position()).unwrap_or(usize::MAX);
        ensure_consumed(bytes.len().saturating_sub(read))
    }
}

/// JSON ([`serde_json`]): readable in `redis-cli`, larger and slower than [`MsgPack`].
///
/// Requires the `json` feature.
///
/// ```
/// use sessions_core::{Codec, Json};
/// assert_eq!(Json.name(), "json");
/// ```
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[cfg(feature = "json")]
impl Codec for Json {
    fn id(&self) -> u8 {
        2
    }

    fn name(&self) -> &'static str {
        "json"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(16);
        let mut ser = serde_json::Serializer::new(&mut out);
        erased_serde::serialize(value, &mut ser).map_err(CodecError::encode)?;
        Ok(out)
    }

    fn decode(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CodecError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de)).map_err(CodecError::decode)?;
        de.end().map_err(CodecError::decode)
    }
}

/// [Postcard](postcard): the smallest and fastest format, but not self-describing.
///
/// Use it only for value types whose shape never changes: a field added to a struct makes every
/// existing session undecodable (those clients get a fresh session). Requires the `postcard` feature.
///
/// ```
/// use sessions_core::{Codec, Postcard};
/// assert_eq!(Postcard.name(), "postcard");
/// ```
#[cfg(feature = "postcard")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

#[cfg(feature = "postcard")]
impl Codec for Postcard {
    fn id(&self) -> u8 {
        3
    }

    fn name(&self) -> &'static str {
        "postcard"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, CodecError> {
        let mut ser = postcard::Serializer {
            output: postcard::ser_flavors::AllocVec::new(),
        };
        erased_serde::serialize(value, &mut ser).map_err(CodecError::encode)?;
        postcard::ser_flavors::Flavor::finalize(ser.output).map_err(CodecError::encode)
    }

    fn decode(
        &self,
        bytes: &[u8],
        visit: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CodecError> {
        let mut de = postcard::Deserializer::from_bytes(bytes);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de)).map_err(CodecError::decode)?;
        ensure_consumed(de.finalize().map_err(CodecError::decode)?.len())
    }
}

fn ensure_consumed(left: usize) -> Result<(), CodecError> {
    if left == 0 {
        Ok(())
    } else {
        Err(CodecError::decode(format!(
            "{left} bytes left after the value"
        )))
    }
}

/// A value could not be encoded or decoded.
///
/// Decoding fails when a session value is read as a different type than it was written as.
/// As an actix-web error it becomes a 500 with an empty body (details go to the log).
///
/// ```
/// use sessions_core::CodecError;
/// let err = CodecError::decode("expected an integer");
/// assert!(err.to_string().contains("expected an integer"));
/// ```
#[derive(Debug)]
pub struct CodecError {
    direction: Direction,
    source: Box<dyn std::error::Error + Send + Sync>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Encode,
    Decode,
}

impl CodecError {
    /// An encoding failure caused by `source`.
    ///
    /// ```
    /// let err = sessions_core::CodecError::encode("maps need string keys");
    /// assert!(err.to_string().starts_with("cannot encode"));
    /// ```
    #[must_use]
    pub fn encode(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            direction: Direction::Encode,
            source: source.into(),
        }
    }

    /// A decoding failure caused by `source`.
    ///
    /// ```
    /// let err = sessions_core::CodecError::decode("unexpected end of input");
    /// assert!(err.to_string().starts_with("cannot decode"));
    /// ```
    #[must_use]
    pub fn decode(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            direction: Direction::Decode,
            source: source.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.direction {
            Direction::Encode => "encode",
            Direction::Decode => "decode",
        };
        write!(f, "cannot {verb} a session value: {}", self.source)
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct V1 {
        name: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct V2 {
        name: String,
        #[serde(default)]
        admin: bool,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type")]
    enum Tagged {
        Guest,
        User { id: u64 },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        Number(i64),
        Text(String),
    }

    fn round_trip<T: Serialize + DeserializeOwned>(codec: &dyn Codec, value: &T) -> T {
        decode_value(codec, &encode_value(codec, value).unwrap()).unwrap()
    }

    fn codecs() -> Vec<Box<dyn Codec>> {
        vec![
            Box::new(MsgPack),
            #[cfg(feature = "json")]
            Box::new(Json),
            #[cfg(feature = "postcard")]
            Box::new(Postcard),
        ]
    }

    #[test]
    fn every_codec_round_trips_common_types() {
        for codec in codecs() {
            assert_eq!(round_trip(&*codec, &42_i32), 42);
            assert_eq!(round_trip(&*codec, &"hé".to_owned()), "hé");
            assert_eq!(round_trip(&*codec, &vec![1_u8, 2]), vec![1, 2]);
            assert_eq!(
                round_trip(&*codec, &Some(V1 { name: "a".into() })),
                Some(V1 { name: "a".into() })
            );
        }
    }

    /// Found by the `json_value` fuzz target: without serde_json's `float_roundtrip`, JSON read
    /// back `4.9999999999999996e293` as `5e293`, so a stored `f64` changed between requests.
    #[test]
    fn every_codec_round_trips_floats_exactly() {
        let mut floats = vec![
            4.999_999_999_999_999_6e293,
            0.1 + 0.2,
            f64::MIN_POSITIVE,
            1e-310,
        ];
        // Spread over every exponent: a fixed xorshift sequence of bit patterns.
        let mut bits = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            floats.push(f64::from_bits(bits)); // never NaN or infinite in JSON: filtered below
        }
        for codec in codecs() {
            for &float in floats.iter().filter(|f| f.is_finite()) {
                let back = round_trip(&*codec, &float);
                assert_eq!(
                    back.to_bits(),
                    float.to_bits(),
                    "{} {float:e}",
                    codec.name()
                );
            }
        }
    }

    /// Found by the `msgpack_value` fuzz target: an unknown field holding arrays nested 850
    /// deep is skipped recursively, under rmp-serde's default limit of 1024 levels, and
    /// overflowed a 2 MiB thread stack (an actix-web worker's), aborting the process.
    #[test]
    fn deeply_nested_msgpack_is_refused_not_a_stack_overflow() {
        for (depth, accepted) in [(100, true), (200, false), (100_000, false)] {
            // {"name": "a", "other": [[[…nil]]]}: `other` is not a field of V1, so it is skipped.
            let mut bytes = vec![0x82, 0xa4];
            bytes.extend_from_slice(b"name");
            bytes.extend_from_slice(&[0xa1, b'a', 0xa5]);
            bytes.extend_from_slice(b"other");
            bytes.extend(std::iter::repeat_n(0x91, depth));
            bytes.push(0xc0);
            let decoded = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || decode_value::<V1>(&MsgPack, &bytes).is_ok())
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(decoded, accepted, "nested {depth} deep");
        }
    }

    #[test]
    fn msgpack_decodes_old_structs_with_new_defaulted_fields() {
        let old = encode_value(&MsgPack, &V1 { name: "ann".into() }).unwrap();
        let new: V2 = decode_value(&MsgPack, &old).unwrap();
        assert_eq!(
            new,
            V2 {
                name: "ann".into(),
                admin: false
            }
        );
    }

    #[test]
    fn msgpack_handles_tagged_and_untagged_enums() {
        assert_eq!(
            round_trip(&MsgPack, &Tagged::User { id: 7 }),
            Tagged::User { id: 7 }
        );
        assert_eq!(round_trip(&MsgPack, &Tagged::Guest), Tagged::Guest);
        assert_eq!(
            round_trip(&MsgPack, &Untagged::Text("x".into())),
            Untagged::Text("x".into())
        );
        assert_eq!(
            round_trip(&MsgPack, &Untagged::Number(-3)),
            Untagged::Number(-3)
        );
    }

    #[test]
    fn wrong_type_and_trailing_bytes_are_decode_errors() {
        for codec in codecs() {
            let text = encode_value(&*codec, &"not a number").unwrap();
            assert!(
                decode_value::<u64>(&*codec, &text).is_err(),
                "{}",
                codec.name()
            );
            let mut number = encode_value(&*codec, &5_u8).unwrap();
            number.push(0xc1); // not valid after a value in any of the formats
            assert!(
                decode_value::<u8>(&*codec, &number).is_err(),
                "{}",
                codec.name()
            );
        }
    }
}
