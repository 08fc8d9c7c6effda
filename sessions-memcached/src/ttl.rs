//! Converting a time to live into memcached's expiration time field.
//!
//! Memcached reads an expiration of up to 30 days (2 592 000 s) as *relative* seconds and
//! anything larger as an *absolute* Unix time. Sending a 31-day TTL as `2678400` would mean
//! "1 February 1970": the item expires at once. Longer TTLs are therefore sent as `now + ttl`.
//! Zero means "never expires", so sub-second TTLs round up to one second instead of down to 0
//! ([`sessions_net::ttl_seconds`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest expiration memcached reads as relative seconds.
pub(crate) const MAX_RELATIVE_EXPIRATION: u64 = 30 * 24 * 60 * 60;

/// The expiration time field for `ttl`, as of `now`.
///
/// TTLs beyond what a 32-bit Unix time can express (the year 2106) are clamped to it.
pub(crate) fn expiration(ttl: Duration, now: SystemTime) -> u32 {
    let seconds = sessions_net::ttl_seconds(ttl);
    if seconds <= MAX_RELATIVE_EXPIRATION {
        // Fits: MAX_RELATIVE_EXPIRATION < u32::MAX.
        return u32::try_from(seconds).unwrap_or(u32::MAX);
    }
    // A clock before 1970 is broken beyond repair; treating it as the epoch still yields a
    // far-future (absolute) expiration rather than an immediate one.
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    u32::try_from(now.saturating_add(seconds)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn at_now(ttl: Duration) -> u32 {
        expiration(ttl, UNIX_EPOCH + Duration::from_secs(NOW))
    }

    #[test]
    fn short_ttls_are_relative_seconds() {
        assert_eq!(at_now(Duration::from_secs(1)), 1);
        assert_eq!(at_now(Duration::from_secs(3600)), 3600);
        assert_eq!(
            at_now(Duration::from_secs(MAX_RELATIVE_EXPIRATION)),
            2_592_000
        );
    }

    #[test]
    fn sub_second_ttls_round_up_and_zero_never_means_forever() {
        assert_eq!(at_now(Duration::from_millis(1)), 1);
        assert_eq!(at_now(Duration::from_millis(1500)), 2);
        assert_eq!(at_now(Duration::ZERO), 1);
    }

    #[test]
    fn ttls_over_thirty_days_become_absolute_unix_times() {
        let ttl = MAX_RELATIVE_EXPIRATION + 1;
        assert_eq!(u64::from(at_now(Duration::from_secs(ttl))), NOW + ttl);
        let ninety_days = Duration::from_secs(90 * 24 * 3600);
        assert_eq!(u64::from(at_now(ninety_days)), NOW + 90 * 24 * 3600);
    }

    #[test]
    fn absurd_ttls_clamp_instead_of_wrapping() {
        assert_eq!(at_now(Duration::MAX), u32::MAX);
        assert_eq!(at_now(Duration::from_secs(u64::from(u32::MAX))), u32::MAX);
    }
}
