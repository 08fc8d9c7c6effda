//! Session middleware for actix-web with pluggable stores.

mod session_key;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use session_key::{InvalidSessionKey, MAX_KEY_LEN, SessionKey};
pub use store::{
    CREATE_ATTEMPTS, Loaded, SessionStore, StoreError, StoreErrorKind, Stored, Version,
    create_with_fresh_key,
};
