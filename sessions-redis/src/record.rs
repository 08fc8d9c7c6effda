//! How a session is laid out in Redis, and the compare-and-set script that relies on it.
//!
//! A session is one Redis string under `<prefix><session key>`: its version as 8 big-endian
//! bytes, then the payload. Keeping both in one string lets a single `GET` load a session and a
//! single `SET ... NX PX` create it, with the expiry on the key itself.

use std::time::Duration;

use deadpool_redis::redis::{self, Script};
use sessions_core::{Loaded, StoreError, Version};

use crate::command::{Command, Effect};

/// The length of the version prefix.
pub(crate) const VERSION_LEN: usize = 8;

/// The version of a newly created record.
pub(crate) const FIRST_VERSION: Version = Version::new(1);

/// Replaces the value under `KEYS[1]` with `ARGV[2]` for `ARGV[3]` milliseconds if its first
/// eight bytes are `ARGV[1]`; returns 1 when it did, 0 otherwise (version moved on, or no
/// record: `GETRANGE` of a missing key is empty). Only the prefix is read, not the payload.
const COMPARE_AND_SET: &str = r"
if redis.call('GETRANGE', KEYS[1], 0, 7) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
";

/// The compare-and-set script, for its hash: an update is sent as `EVALSHA`, and the script
/// itself only when the server answers `NOSCRIPT` (first use, or after a restart), so an update
/// is one round trip.
pub(crate) fn compare_and_set_script() -> Script {
    Script::new(COMPARE_AND_SET)
}

/// The compare-and-set of `redis_key` from `expected` to `value` (the new version's record),
/// expiring after `ttl`: `EVALSHA`, or `EVAL` when the server does not know the script yet.
pub(crate) fn compare_and_set(
    script: &Script,
    redis_key: Vec<u8>,
    expected: Version,
    value: Vec<u8>,
    ttl: Duration,
) -> Command {
    let call = |command: &str, script_arg: &[u8]| {
        let mut cmd = redis::cmd(command);
        cmd.arg(script_arg)
            .arg(1)
            .arg(&redis_key)
            .arg(&version_bytes(expected)[..])
            .arg(&value)
            .arg(ttl_millis(ttl));
        cmd
    };
    Command {
        eval: Some(call("EVAL", COMPARE_AND_SET.as_bytes())),
        ..Command::new(
            "EVALSHA",
            call("EVALSHA", script.get_hash().as_bytes()),
            Effect::Write,
        )
    }
}

/// The stored value: version prefix, then payload.
pub(crate) fn encode(version: Version, payload: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(VERSION_LEN + payload.len());
    value.extend_from_slice(&version_bytes(version));
    value.extend_from_slice(payload);
    value
}

/// The version prefix of a stored value.
pub(crate) fn version_bytes(version: Version) -> [u8; VERSION_LEN] {
    version.get().to_be_bytes()
}

/// Splits a stored value into payload and version.
pub(crate) fn decode(mut value: Vec<u8>) -> Result<Loaded, StoreError> {
    let Some(prefix) = value.first_chunk::<VERSION_LEN>() else {
        return Err(StoreError::corrupt(format!(
            "a Redis session record of {} bytes is shorter than its {VERSION_LEN}-byte version",
            value.len()
        )));
    };
    let version = Version::new(u64::from_be_bytes(*prefix));
    value.drain(..VERSION_LEN);
    Ok(Loaded::new(value, version))
}

/// A TTL as Redis `PX` milliseconds: rounded up, at least 1 (Redis rejects 0; see
/// [`sessions_net::ttl_millis`]), at most 2^62 (Redis rejects expiry times that overflow when
/// added to the clock).
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    sessions_net::ttl_millis(ttl).min(1 << 62)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_version_and_payload() {
        let loaded = decode(encode(Version::new(0x0102_0304_0506_0708), b"payload")).unwrap();
        assert_eq!(loaded.version(), Version::new(0x0102_0304_0506_0708));
        assert_eq!(loaded.payload(), b"payload");
    }

    #[test]
    fn version_is_big_endian_prefix() {
        assert_eq!(
            encode(Version::new(1), b"x"),
            [0, 0, 0, 0, 0, 0, 0, 1, b'x']
        );
    }

    #[test]
    fn empty_payload_is_valid() {
        let loaded = decode(version_bytes(Version::new(3)).to_vec()).unwrap();
        assert_eq!(
            (loaded.payload(), loaded.version()),
            (&b""[..], Version::new(3))
        );
    }

    #[test]
    fn short_value_is_corrupt() {
        let err = decode(vec![0; VERSION_LEN - 1]).unwrap_err();
        assert_eq!(err.kind(), sessions_core::StoreErrorKind::Corrupt);
    }

    #[test]
    fn ttl_is_clamped_to_what_redis_accepts() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(10)), 1);
        assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
        assert_eq!(ttl_millis(Duration::MAX), 1 << 62);
    }
}
