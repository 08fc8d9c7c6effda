//! The key prefix network stores put before session keys unless told otherwise.

/// The prefix put before every session key by the network stores (`sessions-redis`,
/// `sessions-memcached`), unless their builder's `key_prefix` says otherwise. One value, so
/// that a deployment moving between stores finds its keys where it expects them.
///
/// ```
/// assert_eq!(sessions_net::DEFAULT_KEY_PREFIX, "session:");
/// ```
pub const DEFAULT_KEY_PREFIX: &str = "session:";
