//! Fixtures shared by the micro-benchmarks (`cargo bench -p bench-micro`) and `bench-scale`.
//!
//! The realistic session is what a logged-in user of a typical app carries: a counter, a user
//! id, a small struct, a flag and three flash messages.

use serde::{Deserialize, Serialize};
use sessions_core::Codec;
use sessions_core::testing::{Payload, decode_value, encode_value};

/// A small struct, as apps keep in sessions (the signed-in user's profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
    /// Granted roles.
    pub roles: Vec<String>,
    /// UI theme.
    pub theme: String,
}

/// The decoded values of the realistic session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realistic {
    /// Requests counted, as `/incr` does.
    pub counter: u64,
    /// The signed-in user.
    pub user_id: u64,
    /// The user's profile.
    pub profile: Profile,
    /// A preference flag.
    pub remember_me: bool,
    /// Flash messages waiting for the next page.
    pub flashes: Vec<String>,
}

impl Default for Realistic {
    fn default() -> Self {
        Self {
            counter: 1_234,
            user_id: 9_876_543_210,
            profile: Profile {
                name: "Ada Lovelace".into(),
                roles: vec!["admin".into(), "editor".into()],
                theme: "dark".into(),
            },
            remember_me: true,
            flashes: vec![
                "Welcome back!".into(),
                "Your profile was saved.".into(),
                "2 new messages".into(),
            ],
        }
    }
}

/// The flash key the middleware uses by default.
const FLASH: &str = "_flash";

impl Realistic {
    /// Encodes every value with `codec` and wraps them in the payload envelope: what a store
    /// receives when such a session is saved.
    ///
    /// # Panics
    ///
    /// Never for the built-in codecs.
    #[must_use]
    pub fn encode(&self, codec: &dyn Codec) -> Vec<u8> {
        let mut payload = Payload::default();
        payload.insert("counter", value(codec, &self.counter));
        payload.insert("user_id", value(codec, &self.user_id));
        payload.insert("profile", value(codec, &self.profile));
        payload.insert("remember_me", value(codec, &self.remember_me));
        for flash in &self.flashes {
            payload.add_flash(FLASH, value(codec, flash));
        }
        payload.encode(codec.id())
    }

    /// Decodes a payload written by [`encode`](Self::encode) and every value in it.
    ///
    /// # Panics
    ///
    /// When `bytes` is not such a payload.
    #[must_use]
    pub fn decode(codec: &dyn Codec, bytes: &[u8]) -> Self {
        let payload = Payload::decode(bytes, codec.id()).expect("a realistic payload");
        let get = |key: &str| payload.get(key).expect("value present");
        Self {
            counter: decode_value(codec, get("counter")).expect("u64"),
            user_id: decode_value(codec, get("user_id")).expect("u64"),
            profile: decode_value(codec, get("profile")).expect("profile"),
            remember_me: decode_value(codec, get("remember_me")).expect("bool"),
            flashes: payload
                .flashes(FLASH)
                .map(|f| decode_value(codec, f).expect("string"))
                .collect(),
        }
    }
}

/// The payload of the `/incr` app: one counter.
///
/// # Panics
///
/// Never for the built-in codecs.
#[must_use]
pub fn counter_payload(codec: &dyn Codec, count: u64) -> Vec<u8> {
    let mut payload = Payload::default();
    payload.insert("count", value(codec, &count));
    payload.encode(codec.id())
}

fn value<T: Serialize>(codec: &dyn Codec, value: &T) -> Vec<u8> {
    encode_value(codec, value).expect("fixture values encode")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_core::{Json, MsgPack, Postcard};

    #[test]
    fn the_realistic_session_round_trips_in_every_codec() {
        let codecs: [&dyn Codec; 3] = [&MsgPack, &Json, &Postcard];
        for codec in codecs {
            let session = Realistic::default();
            assert_eq!(Realistic::decode(codec, &session.encode(codec)), session);
        }
    }
}
