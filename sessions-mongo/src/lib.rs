#![doc = include_str!("../README.md")]

mod builder;
mod document;
mod store;

pub use builder::{BuildError, MongoStoreBuilder};
pub use mongodb;
pub use store::{MAX_PAYLOAD_LEN, MongoStore};
