#![doc = include_str!("../README.md")]

mod builder;
mod store;

pub use builder::CookieStoreBuilder;
pub use store::CookieStore;
