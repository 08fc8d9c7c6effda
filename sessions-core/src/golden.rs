//! Golden fixtures: the payload of one realistic session, per codec and format version, byte
//! for byte.
//!
//! If a test here fails, the stored format changed and sessions already in users' stores
//! would no longer decode. Do not update a fixture: add a new format version, keep decoding
//! the old ones, and add fixtures for the new one. (`GOLDEN_WRITE=1` writes missing fixtures.)

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec::Codec;
use crate::payload::{FORMAT_VERSION, State};
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
    session
        .set_options(SessionOptions::new().max_age(Duration::from_secs(30 * 24 * 3600)))
        .unwrap();
    let mut state = session.snapshot();
    // What the format keeps besides the values, made deterministic.
    state.created = 1_764_547_200;
    state.writes = vec![0x0102_0304_0506_0708, 0xfedc_ba98_7654_3210];
    for (id, flash) in state
        .flashes
        .get_mut("_flash")
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        flash.id = 0x5eed_0000_0000_0000 + id as u64;
    }
    state
}

/// The example as version 1 decodes it: no creation time, no write history, flashes numbered
/// by position.
fn example_v1(codec: impl Codec) -> State {
    let mut state = example(codec);
    state.created = 0;
    state.writes.clear();
    for (id, flash) in state
        .flashes
        .get_mut("_flash")
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        flash.id = id as u64 + 1;
    }
    state
}

fn fixture(version: u8, name: &str, encoded: &[u8]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("v{version}-{name}.bin"));
    if !path.exists() && std::env::var_os("GOLDEN_WRITE").is_some() {
        std::fs::write(&path, encoded).unwrap();
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(name: &str, codec: impl Codec + Copy) {
    let id = codec.id();
    let encoded = example(codec).encode(id);
    let golden = fixture(FORMAT_VERSION, name, &encoded);
    assert_eq!(encoded, golden, "the {name} payload format changed");
    let decoded = State::decode(&golden, id).unwrap();
    assert_eq!(decoded, example(codec));
    check_values(codec, decoded);
    // Sessions stored by the first release still load.
    let v1 = fixture(1, name, &[]);
    let decoded = State::decode(&v1, id).unwrap();
    assert_eq!(
        decoded,
        example_v1(codec),
        "version 1 {name} payloads no longer decode"
    );
    check_values(codec, decoded);
    println!("{name}: {} bytes (version 1: {})", golden.len(), v1.len());
}

fn check_values(codec: impl Codec + Copy, decoded: State) {
    let session = Session::detached_from(codec, decoded);
    assert_eq!(session.get::<u32>("count").unwrap(), Some(42));
    assert_eq!(session.get::<u64>("user_id").unwrap(), Some(1_234_567));
    assert_eq!(
        session.get::<Cart>("cart").unwrap().unwrap().total_cents,
        599
    );
    assert_eq!(session.get::<bool>("admin").unwrap(), Some(false));
    assert_eq!(session.flashes::<String>().unwrap().len(), 3);
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
