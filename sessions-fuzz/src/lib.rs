//! The bodies of the fuzz targets: one plain function per decoder of bytes that come from
//! outside (a client's `Cookie` header, a store's reply).
//!
//! Each body decodes its input and checks an invariant where one exists (a round trip, a forged
//! cookie never opening), not only that nothing panics. `fuzz/fuzz_targets/<name>.rs` runs a
//! body under libFuzzer (`scripts/fuzz.sh`); `tests/corpus.rs` replays every file of
//! `fuzz/corpus/<name>/` through the same body in an ordinary test.

mod codec;
mod cookie;
mod migrate;
mod payload;
pub mod seeds;
mod stores;

pub use codec::{json_value, msgpack_value, postcard_value};
pub use cookie::{cookie_header, open_private, open_signed};
pub use migrate::{actix_session_cookie, actix_session_state};
pub use payload::payload;
pub use stores::{memcached_binary, mongo_document, redis_record};

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (of its `fuzz_targets` file and corpus directory) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("cookie_header", cookie_header),
    ("open_private", open_private),
    ("open_signed", open_signed),
    ("payload", payload),
    ("msgpack_value", msgpack_value),
    ("json_value", json_value),
    ("postcard_value", postcard_value),
    ("memcached_binary", memcached_binary),
    ("redis_record", redis_record),
    ("mongo_document", mongo_document),
    ("actix_session_cookie", actix_session_cookie),
    ("actix_session_state", actix_session_state),
];
