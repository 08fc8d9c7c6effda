//! Thin wrappers around the session document layout, for this workspace's fuzz targets
//! (feature `fuzz-internals`).
//!
//! **Unstable and not part of the API**: hidden from the docs, changed or removed in any
//! release. Applications never need it.

use mongodb::bson::{DateTime, Document};
use sessions_core::Loaded;

/// Reads a stored document's payload and version, as a load does.
///
/// # Errors
///
/// The message of the corrupt-record error when a field is missing or mistyped.
pub fn decode_document(doc: Document) -> Result<Loaded, String> {
    crate::document::decode(doc).map_err(|err| err.to_string())
}

/// The document an insert stores for `payload` at `version` under `id`.
#[must_use]
pub fn record(id: &str, payload: &[u8], version: i64, expires_at: DateTime) -> Document {
    crate::document::record(id, payload, version, expires_at)
}
