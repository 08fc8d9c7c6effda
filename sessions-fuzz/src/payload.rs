//! The payload envelope every store hands back to the core.

use sessions_core::testing::Payload;

/// `data` as a payload of the codec its second byte names (so the codec check passes and the
/// decoder goes deeper). What decodes must re-encode to a payload that decodes to the same
/// state, encodes to the same bytes, is refused for another codec, and has no decodable
/// truncation.
pub fn payload(data: &[u8]) {
    let codec = data.get(1).copied().unwrap_or(0);
    if let Some(state) = Payload::decode(data, codec) {
        check_round_trip(&state, codec);
    }
}

pub(crate) fn check_round_trip(state: &Payload, codec: u8) {
    let encoded = state.encode(codec);
    let again = Payload::decode(&encoded, codec).expect("a re-encoded payload decodes");
    assert_eq!(&again, state);
    assert_eq!(
        again.encode(codec),
        encoded,
        "encoding is not deterministic"
    );
    assert!(Payload::decode(&encoded, codec.wrapping_add(1)).is_none());
    // Every part is length-prefixed or counted: no strict prefix is a payload.
    assert!(Payload::decode(&encoded[..encoded.len() - 1], codec).is_none());
}
