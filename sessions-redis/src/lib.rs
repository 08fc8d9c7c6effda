#![doc = include_str!("../README.md")]

#[cfg(feature = "actix-session")]
mod actix_session;
mod backend;
mod builder;
mod command;
mod config;
mod connection;
mod connections;
mod error;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
mod pool;
mod record;
mod store;
mod topology;

#[cfg(feature = "actix-session")]
pub use actix_session::ActixSessionRecords;
pub use builder::RedisStoreBuilder;
pub use error::RedisBuildError;
/// The prefix put before every session key unless [`RedisStoreBuilder::key_prefix`] says
/// otherwise; the same for every network store.
///
/// ```
/// assert_eq!(sessions_redis::DEFAULT_KEY_PREFIX, "session:");
/// ```
pub use sessions_net::DEFAULT_KEY_PREFIX;
pub use store::RedisStore;

/// The pool crate, re-exported for [`RedisStore::from_pool`].
pub use deadpool_redis;
/// The Redis client, re-exported (the same version the store uses).
pub use deadpool_redis::redis;
