//! The servers of a store, which one keeps a key, and ejecting a failing one for a while.
//!
//! Keys are placed by the ketama ring ([`crate::ring`]). A server that fails
//! [`Settings::eject_after`] requests in a row (unreachable, timed out, broken connection) is
//! ejected: for [`Settings::retry_interval`] its keys go to the server that owns the next point
//! on the ring, and the sessions kept on it are not seen (their users start fresh). When the
//! interval is over, one request probes it: the request first flushes the server, and only if
//! the flush succeeds does the server rejoin and take its keys back (the sessions created
//! elsewhere meanwhile are not seen any more); if it fails the server stays out for another
//! interval and the request goes on to the next server. Every other request keeps skipping it
//! meanwhile, so only the probe waits on a server that is still down.
//!
//! **Why a rejoining server is flushed.** What it holds was written before its ejection, and
//! what happened to those sessions since happened elsewhere: a logout deleted the record on
//! the server standing in, so the old record, served again, would sign the user back in.
//! Flushing costs its sessions, but its users had lost them anyway at the ejection (each started
//! afresh on the stand-in). Memcached flushes by comparing CAS values, so an item written after
//! the flush (by this process or another) survives it.
//!
//! Ejection is each process's own view: two application instances may disagree for a moment
//! about whether a server is out, and so about where a key lives and which server a
//! compare-and-set goes to; each instance flushes a server when it lets it rejoin.

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
    /// ejected, or an ejected one whose probe is due (see [`Pick`]).
    pub(crate) fn pick(&self, key: &str) -> Pick {
        self.pick_at(key, || self.now())
    }

    /// [`pick`](Self::pick) with the clock `now` (see [`now`](Self::now)), read only when a
    /// server on the way is ejected.
    fn pick_at(&self, key: &str, now: impl Fn() -> u64) -> Pick {
        let Some(ring) = &self.ring else {
            return Pick::Use(0);
        };
        let mut order = ring.servers_for(key.as_bytes());
        let owner = order.next().unwrap_or_default();
        if self.eject_after == 0 {
            return Pick::Use(owner);
        }
        std::iter::once(owner)
            .chain(order)
            .find_map(|server| self.may_use(server, &now))
            .unwrap_or(Pick::NoServer { owner })
    }

    /// How long an ejected server stays out before a probe.
    pub(crate) fn retry_interval(&self) -> Duration {
        self.retry_interval
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

    /// Whether requests may go to `server`: it is in the ring ([`Pick::Use`]), or its retry
    /// interval is over and this request is the one probe let through ([`Pick::Probe`], which
    /// also starts a new interval, so that the other requests keep skipping it until the probe
    /// has flushed it).
    fn may_use(&self, server: usize, now: &impl Fn() -> u64) -> Option<Pick> {
        let health = &self.health[server];
        let until = health.ejected_until.load(Ordering::Acquire);
        if until == 0 {
            return Some(Pick::Use(server));
        }
        let now = now();
        let probe = now >= until
            && health
                .ejected_until
                .compare_exchange(until, self.until(now), Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        probe.then_some(Pick::Probe(server))
    }

    /// Records how the flush of a probe went: flushed, `server` rejoins the ring; otherwise it
    /// stays out for another interval, even if the server answered (a server that refuses to
    /// flush, `memcached -F`, would serve records from before its ejection).
    pub(crate) fn flushed(&self, server: usize, result: Result<(), StoreError>) -> bool {
        self.flushed_at(server, result, self.now())
    }

    fn flushed_at(&self, server: usize, result: Result<(), StoreError>, now: u64) -> bool {
        let health = &self.health[server];
        match result {
            Ok(()) => {
                health.failures.store(0, Ordering::Release);
                health.ejected_until.store(0, Ordering::Release);
                tracing::warn!(server = %self.servers[server], "memcached server answers again; flushed, it rejoined the ring");
                true
            }
            Err(err) => {
                health
                    .ejected_until
                    .store(self.until(now), Ordering::Release);
                tracing::error!(server = %self.servers[server], error = %err, retry_in = ?self.retry_interval, "memcached server could not be flushed; it stays out of the ring");
                false
            }
        }
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

    /// A request succeeded. It does not end an ejection (a request sent before it, answered
    /// late): only a flush does ([`flushed`](Self::flushed)).
    fn succeeded(&self, server: usize) {
        let health = &self.health[server];
        // Read first: a healthy server's counter is not written on every request.
        if health.failures.load(Ordering::Acquire) != 0 {
            health.failures.store(0, Ordering::Release);
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

/// Where a request for a key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// A server in the ring.
    Use(usize),
    /// An ejected server whose retry interval is over: this request is its one probe, and must
    /// flush it ([`Nodes::flushed`]) before using it, or pick again if that fails.
    Probe(usize),
    /// Every server is ejected and no probe is due: the request fails at once. (Sending it to
    /// an ejected server would read what it held before its ejection.)
    NoServer {
        /// The key's server on the ring.
        owner: usize,
    },
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
