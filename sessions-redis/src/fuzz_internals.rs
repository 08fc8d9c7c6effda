//! Thin wrappers around the record layout, for this workspace's fuzz targets (feature
//! `fuzz-internals`).
//!
//! **Unstable and not part of the API**: hidden from the docs, changed or removed in any
//! release. Applications never need it.

use sessions_core::{Loaded, StoreError, Version};

/// Splits a stored value (as `GET` returns it) into payload and version.
///
/// # Errors
///
/// [`StoreError`] of kind `Corrupt` when the value is shorter than its version prefix.
pub fn decode_record(value: Vec<u8>) -> Result<Loaded, StoreError> {
    crate::record::decode(value)
}

/// The value stored for `payload` at `version`.
#[must_use]
pub fn encode_record(version: Version, payload: &[u8]) -> Vec<u8> {
    crate::record::encode(version, payload)
}
