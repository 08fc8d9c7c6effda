//! Logs an attacker (or an outage) cannot flood: at most one line per interval for an event
//! that can happen on every request (a forged session cookie, a store that fails every TTL
//! extension), with the count of the ones not logged.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often each such event is logged at most, per session.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Admits one event per interval and counts the others.
#[derive(Debug)]
pub(crate) struct LogLimit {
    interval: Duration,
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new(Window::default()),
        }
    }

    /// Whether to log an event now; if so, how many were left out since the last one logged.
    pub(crate) fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        // A poisoned lock only means a panic elsewhere while counting: the count is still fine.
        let mut window = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = window
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            window.suppressed += 1;
            return None;
        }
        window.last = Some(now);
        Some(std::mem::take(&mut window.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_interval_with_the_count_of_the_others() {
        let limit = LogLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.admit_at(t0), Some(0));
        for secs in 1..=5 {
            assert_eq!(limit.admit_at(t0 + Duration::from_secs(secs)), None);
        }
        assert_eq!(limit.admit_at(t0 + Duration::from_secs(10)), Some(5));
        assert_eq!(limit.admit_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(limit.admit_at(t0 + Duration::from_secs(25)), Some(1));
    }
}
