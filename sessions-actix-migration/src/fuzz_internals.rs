//! Unstable wrappers for this workspace's fuzz targets (feature `fuzz-internals`). Not part of
//! the API; they may change in any release.

use actix_web::cookie::Key;
use sessions_core::{Codec, CookieSecurity};

/// The content of an actix-session cookie value (of the default name, `id`) sealed with `key`
/// in `security` mode, as the migration opens it; `None` when it does not open.
#[must_use]
pub fn unseal(key: &Key, security: CookieSecurity, raw: &[u8]) -> Option<String> {
    crate::legacy_cookie::unseal(key, security, "id", raw)
}

/// actix-session's state (names to JSON strings) converted to values encoded by `codec`, as
/// the migration converts it; `None` when it is not such a state.
#[must_use]
pub fn convert(json: &str, codec: &dyn Codec) -> Option<Vec<(String, Vec<u8>)>> {
    crate::convert::convert(json, codec)
}
