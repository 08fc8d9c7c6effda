#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cas;
mod changes;
mod codec;
mod config;
mod cookie_header;
mod cookie_rules;
mod ctx;
mod detached;
mod dyn_store;
mod entries;
mod error;
mod extract;
mod fallback;
#[cfg(test)]
mod golden;
mod key;
mod lifetime;
mod log_limit;
mod middleware;
mod observe;
mod options;
mod payload;
mod purge;
mod queue;
mod renew;
mod request;
mod save;
mod seal;
mod session;
mod session_key;
mod store;
#[cfg(test)]
mod test_store;
#[cfg(feature = "testing")]
pub mod testing;
mod token;

#[cfg(feature = "json")]
pub use codec::Json;
#[cfg(feature = "postcard")]
pub use codec::Postcard;
pub use codec::{Codec, CodecError, MsgPack};
pub use config::{
    DEFAULT_COOKIE_NAME, DEFAULT_RETRY_BUDGET, DEFAULT_TTL, SessionConfig, TtlExtensionPolicy,
};
pub use cookie_header::MAX_COOKIE_SIZE;
pub use error::{ConfigError, SessionError};
pub use extract::{SessionExt, Sessions};
pub use fallback::{Fallback, FallbackLoader};
pub use key::{Key, KeyError, KeyRing, MIN_SECRET_LEN};
pub use middleware::{SessionMiddleware, SessionMiddlewareBuilder, SessionService};
pub use options::{Lifecycle, SessionOptions};
pub use seal::CookieSecurity;
pub use session::{DEFAULT_FLASH_KEY, Session, SessionStatus};
pub use session_key::{InvalidSessionKey, MAX_KEY_LEN, SessionKey};
pub use store::{
    CREATE_ATTEMPTS, Loaded, SessionStore, StoreError, StoreErrorKind, Stored, Version,
    create_with_fresh_key,
};

/// The cookie `SameSite` attribute, re-exported from actix-web.
pub use actix_web::cookie::SameSite;
/// Re-exported for custom [`Codec`] implementations.
pub use erased_serde;
