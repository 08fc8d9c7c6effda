//! actix-session's state (names to JSON strings) as values encoded by the session's codec.

use std::collections::HashMap;

use sessions_core::Codec;

/// actix-session's state as our encoded values; `None` if it is not such a map or a value
/// cannot be re-encoded.
///
/// Each value is parsed to a `serde_json::Value` and encoded as that, so `get::<T>` reads what
/// actix-session's `insert::<T>` wrote, whatever the codec.
pub(crate) fn convert(json: &str, codec: &dyn Codec) -> Option<Vec<(String, Vec<u8>)>> {
    let state: HashMap<String, String> = serde_json::from_str(json).ok()?;
    state
        .into_iter()
        .map(|(name, value)| {
            let value: serde_json::Value = serde_json::from_str(&value).ok()?;
            let bytes = codec.encode(&value).ok()?;
            Some((name, bytes))
        })
        .collect()
}
