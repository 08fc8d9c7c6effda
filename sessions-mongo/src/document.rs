//! The document a session is stored as, and the filters that find live ones.
//!
//! ```text
//! { _id: String, data: Binary (generic), version: Int64, expires_at: Date }
//! ```
//!
//! A record is live while `expires_at` is later than now (the application's clock). Every read
//! and conditional write filters on that, so an expired record the server's TTL monitor has not
//! removed yet is treated as missing.

use std::fmt;
use std::time::Duration;

use mongodb::bson::spec::{BinarySubtype, ElementType};
use mongodb::bson::{Binary, Bson, DateTime, Document};
use sessions_core::{Loaded, SessionKey, StoreError, Version};

pub(crate) const ID: &str = "_id";
pub(crate) const DATA: &str = "data";
pub(crate) const VERSION: &str = "version";
pub(crate) const EXPIRES_AT: &str = "expires_at";

/// The `_id` of the record kept under `key`.
///
/// Keys this store generates are always text; any other key cannot have come from it.
pub(crate) fn id(key: &SessionKey) -> Result<&str, StoreError> {
    key.as_str()
        .ok_or_else(|| StoreError::corrupt("a MongoDB session key must be UTF-8 text"))
}

/// When a record written `now` with `ttl` expires (saturating at the latest BSON date).
pub(crate) fn expiry(now: DateTime, ttl: Duration) -> DateTime {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_millis(now.timestamp_millis().saturating_add(ttl_ms))
}

/// A whole record: what `insert_one` stores.
pub(crate) fn record(id: &str, payload: &[u8], version: i64, expires_at: DateTime) -> Document {
    let mut doc = Document::new();
    doc.insert(ID, id);
    doc.extend(replacement(payload, version, expires_at));
    doc
}

/// A record without its `_id`: what `replace_one` writes over a live one.
pub(crate) fn replacement(payload: &[u8], version: i64, expires_at: DateTime) -> Document {
    let data = Binary {
        subtype: BinarySubtype::Generic,
        bytes: payload.to_vec(),
    };
    let mut doc = Document::new();
    doc.insert(DATA, Bson::Binary(data));
    doc.insert(VERSION, version);
    doc.insert(EXPIRES_AT, expires_at);
    doc
}

/// Only `_id` (which deletes ignore expiry for).
pub(crate) fn by_id(id: &str) -> Document {
    let mut filter = Document::new();
    filter.insert(ID, id);
    filter
}

/// The record under `id`, if it has not expired at `now`.
pub(crate) fn live(id: &str, now: DateTime) -> Document {
    let mut later = Document::new();
    later.insert("$gt", now);
    let mut filter = by_id(id);
    filter.insert(EXPIRES_AT, later);
    filter
}

/// The record under `id`, if it has not expired at `now` and is still at `version`.
pub(crate) fn live_at(id: &str, version: i64, now: DateTime) -> Document {
    let mut filter = live(id, now);
    filter.insert(VERSION, version);
    filter
}

/// `$set` of a new expiry, for `touch`.
pub(crate) fn set_expiry(expires_at: DateTime) -> Document {
    let mut fields = Document::new();
    fields.insert(EXPIRES_AT, expires_at);
    let mut update = Document::new();
    update.insert("$set", fields);
    update
}

/// The fields `load` reads.
pub(crate) fn projection() -> Document {
    let mut projection = Document::new();
    projection.insert(DATA, 1);
    projection.insert(VERSION, 1);
    projection
}

/// Reads a record's payload and version.
///
/// Matches on [`Bson`] variants rather than typed getters: that part of the `bson` API is the
/// same in `bson` 2 and 3, whichever one the driver is built with.
pub(crate) fn decode(mut doc: Document) -> Result<Loaded, CorruptRecord> {
    let payload = match doc.remove(DATA) {
        Some(Bson::Binary(binary)) => binary.bytes,
        other => return Err(CorruptRecord::new(DATA, "binary data", other.as_ref())),
    };
    let version = match doc.get(VERSION) {
        Some(Bson::Int64(version)) => u64::try_from(*version).ok(),
        Some(Bson::Int32(version)) => u64::try_from(*version).ok(),
        _ => None,
    };
    let Some(version) = version else {
        return Err(CorruptRecord::new(
            VERSION,
            "a non-negative integer",
            doc.get(VERSION),
        ));
    };
    Ok(Loaded::new(payload, Version::new(version)))
}

/// A stored session document that this store cannot read: a field is missing or mistyped.
#[derive(Debug)]
pub(crate) struct CorruptRecord {
    field: &'static str,
    expected: &'static str,
    found: Option<ElementType>,
    negative: bool,
}

impl CorruptRecord {
    fn new(field: &'static str, expected: &'static str, found: Option<&Bson>) -> Self {
        let negative = matches!(found, Some(Bson::Int64(v)) if *v < 0)
            || matches!(found, Some(Bson::Int32(v)) if *v < 0);
        Self {
            field,
            expected,
            found: found.map(Bson::element_type),
            negative,
        }
    }
}

impl fmt::Display for CorruptRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session document's `{}` field should be {}, ",
            self.field, self.expected
        )?;
        match self.found {
            None => f.write_str("but it is missing"),
            Some(_) if self.negative => f.write_str("but it is negative"),
            Some(found) => write!(f, "but it is {found:?}"),
        }
    }
}

impl std::error::Error for CorruptRecord {}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(version: Bson) -> Document {
        let mut doc = record("k", b"payload", 1, DateTime::now());
        doc.insert(VERSION, version);
        doc
    }

    #[test]
    fn decodes_what_it_writes() {
        let loaded = decode(record("k", b"payload", 7, DateTime::now())).unwrap();
        assert_eq!(loaded.payload(), b"payload");
        assert_eq!(loaded.version(), Version::new(7));
    }

    #[test]
    fn reports_the_missing_or_mistyped_field() {
        let mut no_data = stored(Bson::Int64(1));
        no_data.remove(DATA);
        let err = decode(no_data).unwrap_err().to_string();
        assert_eq!(
            err,
            "the session document's `data` field should be binary data, but it is missing"
        );

        let err = decode(stored(Bson::String("1".into())))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the session document's `version` field should be a non-negative integer, but it is String"
        );

        let err = decode(stored(Bson::Int64(-1))).unwrap_err().to_string();
        assert!(err.ends_with("but it is negative"), "{err}");
    }

    #[test]
    fn expiry_saturates() {
        let now = DateTime::now();
        assert_eq!(expiry(now, Duration::MAX), DateTime::MAX);
        assert_eq!(
            expiry(now, Duration::from_secs(2)).timestamp_millis(),
            now.timestamp_millis() + 2000
        );
    }

    #[test]
    fn live_filter_excludes_expired_records() {
        let now = DateTime::from_millis(1_000);
        let filter = live_at("k", 3, now);
        assert_eq!(filter.get_str(ID).unwrap(), "k");
        assert_eq!(filter.get_i64(VERSION).unwrap(), 3);
        assert_eq!(
            filter
                .get_document(EXPIRES_AT)
                .unwrap()
                .get_datetime("$gt")
                .unwrap(),
            &now
        );
    }
}
