#![doc = include_str!("../README.md")]

mod binary;
mod build_error;
mod builder;
mod config;
mod connections;
mod error;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
mod item;
mod key;
mod nodes;
mod pipeline;
mod retry;
mod ring;
mod server;
mod socket;
mod store;
mod text;
mod transport;
mod ttl;

/// The TLS library [`MemcachedStoreBuilder::tls`] takes a configuration of.
#[cfg(feature = "tls-rustls")]
pub use tokio_rustls::rustls;

#[allow(deprecated)]
pub use build_error::BuildError;
pub use build_error::MemcachedBuildError;
pub use builder::MemcachedStoreBuilder;
#[allow(deprecated)]
pub use config::DEFAULT_POOL_SIZE;
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EJECT_AFTER, DEFAULT_IO_TIMEOUT, DEFAULT_MAX_VALUE_SIZE,
    DEFAULT_PING_AFTER_IDLE, DEFAULT_RETRY_INTERVAL,
};
pub use server::{DEFAULT_PORT, Protocol};
/// The prefix put before every session key unless
/// [`MemcachedStoreBuilder::key_prefix`] says otherwise; the same for every network store.
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_KEY_PREFIX, "session:");
/// ```
pub use sessions_net::DEFAULT_KEY_PREFIX;
pub use store::MemcachedStore;

/// The store implements the core trait; checked at compile time.
const _: fn() = || {
    fn implements<T: sessions_core::SessionStore + Clone + Send + Sync>() {}
    implements::<MemcachedStore>();
};
