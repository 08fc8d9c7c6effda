//! How long a session lives: its lifecycle (rolling TTL, cookie `Max-Age`), capped by the
//! absolute lifetime when one is configured.
//!
//! The absolute lifetime (OWASP's "absolute timeout") counts from the session's creation time,
//! which the payload carries (`State::created`): neither activity nor a renewal extends it.
//! Sessions written before an absolute lifetime was configured carry no creation time; they
//! get one at their next write.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::SessionConfig;
use crate::options::Lifecycle;
use crate::payload::State;

/// The shortest TTL written: stores treat 0 as "no expiry" or reject it.
const MIN_TTL: Duration = Duration::from_secs(1);

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The session's lifecycle: its own override, or the configured one.
pub(crate) fn lifecycle(config: &SessionConfig, state: &State) -> Lifecycle {
    state
        .options
        .as_ref()
        .and_then(|o| o.lifecycle)
        .unwrap_or(config.lifecycle)
}

/// Gives `state` its creation time if it has none and the configuration limits lifetimes;
/// whether it did.
pub(crate) fn stamp_created(config: &SessionConfig, state: &mut State) -> bool {
    let stamp = config.max_lifetime.is_some() && state.created == 0;
    if stamp {
        state.created = unix_now();
    }
    stamp
}

/// How long the session may still live under the absolute lifetime; `None` without one.
fn remaining(config: &SessionConfig, state: &State) -> Option<Duration> {
    let max = config.max_lifetime?;
    if state.created == 0 {
        return Some(max); // a new session: it gets its creation time when written
    }
    let age = Duration::from_secs(unix_now().saturating_sub(state.created));
    Some(max.saturating_sub(age))
}

/// Whether the session outlived its absolute lifetime.
pub(crate) fn is_over(config: &SessionConfig, state: &State) -> bool {
    remaining(config, state).is_some_and(|left| left.is_zero())
}

/// How long the store keeps the state after this write.
pub(crate) fn ttl(config: &SessionConfig, state: &State) -> Duration {
    let ttl = lifecycle(config, state).ttl();
    remaining(config, state)
        .map_or(ttl, |left| ttl.min(left))
        .max(MIN_TTL)
}

/// The cookie's `Max-Age`, if it has one: the lifecycle's, capped by the absolute lifetime and
/// by the 400 days browsers keep a cookie at most (RFC 6265bis).
pub(crate) fn max_age(config: &SessionConfig, state: &State) -> Option<Duration> {
    let age = lifecycle(config, state).max_age()?;
    let age = remaining(config, state).map_or(age, |left| age.min(left));
    Some(age.clamp(MIN_TTL, Duration::from_secs(400 * 24 * 3600)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store::MapStore;

    fn config(max: Option<u64>) -> SessionConfig {
        let config = SessionConfig::new(MapStore::default())
            .lifecycle(Lifecycle::persistent(Duration::from_secs(3600)));
        match max {
            Some(secs) => config.max_lifetime(Duration::from_secs(secs)),
            None => config,
        }
    }

    fn created_ago(secs: u64) -> State {
        State {
            created: unix_now() - secs,
            ..State::default()
        }
    }

    #[test]
    fn without_an_absolute_lifetime_the_lifecycle_rules() {
        let config = config(None);
        let mut state = State::default();
        stamp_created(&config, &mut state);
        assert_eq!(state.created, 0, "a creation time nobody needs was written");
        assert_eq!(ttl(&config, &state), Duration::from_secs(3600));
        assert!(!is_over(&config, &created_ago(10 * 365 * 86_400)));
    }

    #[test]
    fn the_absolute_lifetime_caps_ttl_and_max_age_and_ends_the_session() {
        let config = config(Some(600));
        let mut state = State::default();
        stamp_created(&config, &mut state);
        assert!(state.created > 0);
        assert_eq!(ttl(&config, &state), Duration::from_secs(600));
        let old = created_ago(500);
        assert_eq!(ttl(&config, &old), Duration::from_secs(100));
        assert_eq!(max_age(&config, &old), Some(Duration::from_secs(100)));
        assert!(!is_over(&config, &old));
        assert!(is_over(&config, &created_ago(600)));
        assert_eq!(
            ttl(&config, &created_ago(700)),
            MIN_TTL,
            "a zero TTL was written"
        );
    }
}
