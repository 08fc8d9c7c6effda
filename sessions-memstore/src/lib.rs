#![doc = include_str!("../README.md")]

mod builder;
mod hasher;
mod store;

pub use builder::{DEFAULT_SWEEP_INTERVAL, MemoryStoreBuilder};
pub use store::MemoryStore;
