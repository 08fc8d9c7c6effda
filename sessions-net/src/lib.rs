#![doc = include_str!("../README.md")]

mod idle;
mod key_prefix;
mod open_error;
mod per_thread;
mod timeouts;
mod ttl;

pub use idle::IdleCheck;
pub use key_prefix::DEFAULT_KEY_PREFIX;
pub use per_thread::{Lease, OpenError, PerThread, ThreadConnection};
pub use timeouts::{Timeouts, ZeroTimeout};
pub use ttl::{ttl_millis, ttl_seconds};
