#![doc = include_str!("../README.md")]

mod builder;
mod document;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
mod store;

#[allow(deprecated)]
pub use builder::BuildError;
pub use builder::{MongoBuildError, MongoStoreBuilder};
pub use mongodb;
pub use store::{MAX_PAYLOAD_LEN, MongoStore};
