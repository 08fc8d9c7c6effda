//! The consistent-hash ring (ketama) that maps a key to a server.
//!
//! This is libketama's weighted continuum, which libmemcached builds with
//! `MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA` and `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`, and which
//! Python's `hash_ring`/`uhashring` build too, so that another client sharing the cluster finds
//! the same server for a key:
//!
//! - every server gets `floor(weight / total_weight × 40 × servers) × 4` points (160 when the
//!   weights are equal); point group `i` of a server named `name` is the MD5 digest of
//!   `"{name}-{i}"`, cut into four little-endian `u32`s;
//! - a server's name is its host when its port is 11211 and `host:port` otherwise
//!   (libmemcached's rule; see [`ring_name`]);
//! - a key's position is the first four bytes of its MD5 digest, little-endian; its server owns
//!   the first point at or after that position, wrapping around past the last.
//!
//! Adding or removing one of N equally weighted servers moves only the keys whose first point
//! changes owner: about 1/N of them (a test below measures it).

use md5::{Digest as _, Md5};

use crate::server::{DEFAULT_PORT, ServerConfig};

/// Point groups per server when the weights are equal; each group is one MD5 digest, 4 points.
const GROUPS_PER_SERVER: f32 = 40.0;

/// One point on the continuum: a position and the server (index) that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    position: u32,
    server: usize,
}

/// The continuum of every configured server, sorted by position.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    points: Vec<Point>,
}

impl Ring {
    /// The continuum of `servers`, each a name and a weight (at least 1).
    pub(crate) fn new<'a>(servers: impl ExactSizeIterator<Item = (&'a str, u32)> + Clone) -> Self {
        let count = servers.len();
        let total: u64 = servers.clone().map(|(_, weight)| u64::from(weight)).sum();
        let mut points = Vec::new();
        for (server, (name, weight)) in servers.enumerate() {
            for group in 0..groups(weight, total, count) {
                let digest = Md5::digest(format!("{name}-{group}").as_bytes());
                points.extend(digest.chunks_exact(4).map(|bytes| Point {
                    position: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                    server,
                }));
            }
        }
        // Equal positions (a 32-bit collision) keep the order of the server list.
        points.sort_by_key(|point| point.position);
        Self { points }
    }

    /// The servers in the order a key visits them: the owner of the key's first point, then
    /// the owners of the following points (repeats included), once around the ring. A caller
    /// skipping ejected servers takes the first one it may use, so an ejected server's keys
    /// go to the server that owns the next point, and every other key stays where it is.
    pub(crate) fn servers_for(&self, key: &[u8]) -> impl Iterator<Item = usize> + '_ {
        let position = key_position(key);
        let first = self
            .points
            .partition_point(|point| point.position < position);
        let (before, after) = self.points.split_at(first);
        after.iter().chain(before).map(|point| point.server)
    }
}

/// How many point groups a server of `weight` gets, out of `total` for `count` servers.
///
/// libketama and libmemcached compute this in single precision; so does this, so that the
/// rounding (and so the continuum) is theirs.
fn groups(weight: u32, total: u64, count: usize) -> u32 {
    // Precision loss is the point: the reference implementations use `float`.
    #[allow(clippy::cast_precision_loss)]
    let share = weight as f32 / total as f32;
    #[allow(clippy::cast_precision_loss)]
    let groups = (share * GROUPS_PER_SERVER * count as f32).floor();
    // A non-negative float below 40 × count; the cast saturates anyway.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let groups = groups as u32;
    groups
}

/// A key's position on the continuum: the first four bytes of its MD5 digest, little-endian.
pub(crate) fn key_position(key: &[u8]) -> u32 {
    let digest = Md5::digest(key);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A server's name on the continuum: `host` on the default port, `host:port` otherwise, as
/// libmemcached names it (IPv6 hosts without brackets).
pub(crate) fn ring_name(server: &ServerConfig) -> String {
    if server.port == DEFAULT_PORT {
        server.host.clone()
    } else {
        format!("{}:{}", server.host, server.port)
    }
}

#[cfg(test)]
mod tests;
