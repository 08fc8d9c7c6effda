#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod convert;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
mod legacy_cookie;
mod migration;
mod records;

pub use migration::ActixSessionMigration;
pub use records::LegacyRecords;
