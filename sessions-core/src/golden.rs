//! Golden fixtures: the payload of one realistic session, per codec, byte for byte.
//!
//! If a test here fails, the stored format changed and sessions already in users' stores
//! would no longer decode. Do not update the fixture: add a new format version, keep decoding
//! the old one, and add a fixture for the new one. (`GOLDEN_WRITE=1` writes missing fixtures.)

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec::Codec;
use crate::payload::State;
use crate::{MsgPack, Session, SessionOptions};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Cart {
    items: Vec<String>,
    total_cents: u64,
}

/// The example session: a counter, a user id, three flashes, a small struct and a bool,
/// remembered for 30 days.
fn example(codec: impl Codec) -> State {
    let session = Session::detached_with(codec);
    session.insert("count", 42_u32).unwrap();
    session.insert("user_id", 1_234_567_u64).unwrap();
    session
        .insert(
            "cart",
            Cart {
                items: vec!["apple".into(), "pear".into()],
                total_cents: 599,
            },
        )
        .unwrap();
    session.insert("admin", false).unwrap();
    for flash in ["Saved.", "Welcome back!", "3 new messages"] {
        session.add_flash(flash).unwrap();
    }
    session.set_options(SessionOptions::new().max_age(Duration::from_secs(30 * 24 * 3600)));
    session.snapshot()
}

fn check(name: &str, codec: impl Codec + Copy) {
    let id = codec.id();
    let encoded = example(codec).encode(id);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("v1-{name}.bin"));
    if !path.exists() && std::env::var_os("GOLDEN_WRITE").is_some() {
        std::fs::write(&path, &encoded).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(encoded, golden, "the {name} payload format changed");
    let decoded = State::decode(&golden, id).unwrap();
    assert_eq!(decoded, example(codec));
    let session = Session::detached_from(codec, decoded);
    assert_eq!(session.get::<u32>("count").unwrap(), Some(42));
    assert_eq!(session.get::<u64>("user_id").unwrap(), Some(1_234_567));
    assert_eq!(
        session.get::<Cart>("cart").unwrap().unwrap().total_cents,
        599
    );
    assert_eq!(session.get::<bool>("admin").unwrap(), Some(false));
    assert_eq!(session.flashes::<String>().unwrap().len(), 3);
    println!("{name}: {} bytes", golden.len());
}

#[test]
fn msgpack_format_is_pinned() {
    check("msgpack", MsgPack);
}

#[cfg(feature = "json")]
#[test]
fn json_format_is_pinned() {
    check("json", crate::Json);
}

#[cfg(feature = "postcard")]
#[test]
fn postcard_format_is_pinned() {
    check("postcard", crate::Postcard);
}
