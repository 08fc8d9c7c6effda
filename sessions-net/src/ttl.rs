//! A session's time to live in the whole units a server takes, rounded so that it never
//! becomes 0: to Redis and memcached alike, an expiry of 0 does not mean "at once" (memcached
//! reads it as "never expires"; Redis refuses it), so rounding a short TTL down would keep a
//! session forever or fail its write.

use std::time::Duration;

/// `ttl` in whole seconds, rounded up, at least 1.
///
/// ```
/// use std::time::Duration;
/// use sessions_net::ttl_seconds;
///
/// assert_eq!(ttl_seconds(Duration::from_millis(1500)), 2);
/// assert_eq!(ttl_seconds(Duration::ZERO), 1);
/// ```
#[must_use]
pub fn ttl_seconds(ttl: Duration) -> u64 {
    ttl.as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0))
        .max(1)
}

/// `ttl` in whole milliseconds, rounded up, at least 1 (saturating at [`u64::MAX`]).
///
/// ```
/// use std::time::Duration;
/// use sessions_net::ttl_millis;
///
/// assert_eq!(ttl_millis(Duration::from_micros(1500)), 2);
/// assert_eq!(ttl_millis(Duration::ZERO), 1);
/// ```
#[must_use]
pub fn ttl_millis(ttl: Duration) -> u64 {
    let rounded_up = ttl.as_millis() + u128::from(!ttl.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(rounded_up).unwrap_or(u64::MAX).max(1)
}
