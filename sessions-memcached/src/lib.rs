#![doc = include_str!("../README.md")]

mod binary;
mod builder;
mod config;
mod error;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
mod key;
mod nodes;
mod pool;
mod ring;
mod server;
mod socket;
mod store;
mod text;
mod transport;
mod ttl;

pub use async_memcached;
/// The TLS library [`MemcachedStoreBuilder::tls`] takes a configuration of.
#[cfg(feature = "tls-rustls")]
pub use tokio_rustls::rustls;

pub use builder::{BuildError, MemcachedStoreBuilder};
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EJECT_AFTER, DEFAULT_IO_TIMEOUT, DEFAULT_KEY_PREFIX,
    DEFAULT_MAX_VALUE_SIZE, DEFAULT_PING_AFTER_IDLE, DEFAULT_POOL_SIZE, DEFAULT_RETRY_INTERVAL,
};
pub use server::{DEFAULT_PORT, Protocol};
pub use store::MemcachedStore;

/// The store implements the core trait; checked at compile time.
const _: fn() = || {
    fn implements<T: sessions_core::SessionStore + Clone + Send + Sync>() {}
    implements::<MemcachedStore>();
};
