//! The servers of a store, which one keeps a key, and ejecting a failing one for a while.
//!
//! Keys are placed by the ketama ring ([`crate::ring`]). A server that fails
//! [`Settings::eject_after`] requests in a row (unreachable, timed out, broken connection) is
//! ejected: for [`Settings::retry_interval`] its keys go to the server that owns the next point
//! on the ring, and the sessions kept on it are not seen (their users start fresh). When the
//! interval is over, one request is let through to it as a probe: if it succeeds the server
//! rejoins and its keys come back to it (the sessions created elsewhere meanwhile are not seen
//! any more, the ones it kept are seen again); if it fails the server stays out for another
//! interval. Every other request keeps skipping it meanwhile, so only the probe waits on a
//! server that is still down.
//!
//! Ejection is each process's own view: two application instances may disagree for a moment
//! about whether a server is out, and so about where a key lives.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sessions_core::{StoreError, StoreErrorKind};

use crate::config::Settings;
use crate::ring::{Ring, ring_name};
use crate::transport::Server;

/// The servers, their ring and their health.
pub(crate) struct Nodes {
    servers: Vec<Server>,
    health: Vec<Health>,
    /// `None` with a single server, which keeps every key.
    ring: Option<Ring>,
    eject_after: u32,
    retry_interval: Duration,
    /// The origin of the millisecond clock in [`Health::ejected_until`].
    epoch: Instant,
}

/// One server's failures.
#[derive(Debug, Default)]
struct Health {
    /// Requests failed in a row.
    failures: AtomicU32,
    /// While non-zero, the server is out of the ring until this time (milliseconds since
    /// `epoch`, plus one so that zero stays free).
    ejected_until: AtomicU64,
}

impl Nodes {
    pub(crate) fn new(servers: Vec<Server>, settings: &Settings) -> Self {
        let ring = (servers.len() > 1).then(|| {
            let names: Vec<_> = servers.iter().map(|s| ring_name(s.config())).collect();
            let weights: Vec<_> = servers.iter().map(|s| s.config().weight).collect();
            Ring::new(names.iter().map(String::as_str).zip(weights))
        });
        Self {
            health: servers.iter().map(|_| Health::default()).collect(),
            servers,
            ring,
            eject_after: settings.eject_after,
            retry_interval: settings.retry_interval,
            epoch: Instant::now(),
        }
    }

    pub(crate) fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The server for `key`: its owner on the ring, or the first server after it that is not
    /// ejected. When every server is ejected, the owner (the request fails or is a probe).
    pub(crate) fn pick(&self, key: &str) -> usize {
        self.pick_at(key, || self.now())
    }

    /// [`pick`](Self::pick) with the clock `now` (see [`now`](Self::now)), read only when a
    /// server on the way is ejected.
    fn pick_at(&self, key: &str, now: impl Fn() -> u64) -> usize {
        let Some(ring) = &self.ring else { return 0 };
        let mut order = ring.servers_for(key.as_bytes());
        let owner = order.next().unwrap_or_default();
        if self.eject_after == 0 || self.may_use(owner, &now) {
            return owner;
        }
        order
            .find(|&server| self.may_use(server, &now))
            .unwrap_or(owner)
    }

    pub(crate) fn server(&self, index: usize) -> &Server {
        &self.servers[index]
    }

    /// Records how a request to `server` went, and returns its result.
    pub(crate) fn record<T>(
        &self,
        server: usize,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.ring.is_some() && self.eject_after > 0 {
            match &result {
                Err(err) if is_server_failure(err) => self.failed(server, self.now()),
                _ => self.succeeded(server),
            }
        }
        result
    }

    /// Whether requests may go to `server`: it is in the ring, or its retry interval is over
    /// and this request is the one probe let through (which also starts a new interval, so
    /// that the other requests keep skipping it until the probe has answered).
    fn may_use(&self, server: usize, now: &impl Fn() -> u64) -> bool {
        let health = &self.health[server];
        let until = health.ejected_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = now();
        now >= until
            && health
                .ejected_until
                .compare_exchange(until, self.until(now), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    fn failed(&self, server: usize, now: u64) {
        let health = &self.health[server];
        let failures = health
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures < self.eject_after {
            return;
        }
        let was = health.ejected_until.swap(self.until(now), Ordering::AcqRel);
        if was == 0 {
            tracing::error!(
                server = %self.servers[server],
                failures,
                retry_in = ?self.retry_interval,
                "memcached server ejected from the ring: its sessions go to the next server meanwhile"
            );
        }
    }

    fn succeeded(&self, server: usize) {
        let health = &self.health[server];
        // Reads first: a healthy server's counters are not written on every request.
        if health.failures.load(Ordering::Acquire) != 0 {
            health.failures.store(0, Ordering::Release);
        }
        if health.ejected_until.load(Ordering::Acquire) != 0
            && health.ejected_until.swap(0, Ordering::AcqRel) != 0
        {
            tracing::warn!(server = %self.servers[server], "memcached server answers again; it rejoined the ring");
        }
    }

    /// Milliseconds since `epoch`, plus one.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn until(&self, now: u64) -> u64 {
        let interval = u64::try_from(self.retry_interval.as_millis()).unwrap_or(u64::MAX);
        now.saturating_add(interval)
    }

    /// Whether `server` is ejected now (for `Debug`).
    fn is_ejected(&self, server: usize) -> bool {
        let until = self.health[server].ejected_until.load(Ordering::Acquire);
        until != 0 && self.now() < until
    }
}

/// Failures that say the server is unwell (not that the request or its data was wrong).
fn is_server_failure(err: &StoreError) -> bool {
    matches!(
        err.kind(),
        StoreErrorKind::Unavailable | StoreErrorKind::OutcomeUnknown
    )
}

impl fmt::Debug for Nodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ejected: Vec<_> = (0..self.servers.len())
            .filter(|&server| self.is_ejected(server))
            .map(|server| self.servers[server].to_string())
            .collect();
        f.debug_struct("Nodes")
            .field("servers", &self.servers)
            .field("ejected", &ejected)
            .field("eject_after", &self.eject_after)
            .field("retry_interval", &self.retry_interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
