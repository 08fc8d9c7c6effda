#![doc = include_str!("../README.md")]

mod per_thread;

pub use per_thread::{Lease, OpenError, PerThread, ThreadConnection};
