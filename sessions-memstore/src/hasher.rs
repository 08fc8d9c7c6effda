//! [`KeyHasher`]: a fast hash for session keys.
//!
//! The map's default SipHash defends against callers who choose keys to force collisions. Here
//! nobody can: keys are 256-bit random values from the store itself, and the middleware only
//! looks up keys from cookies it authenticated (so, keys this store issued). A multiply-rotate
//! hash over the key's bytes is enough, and hashing runs twice per request (load, update).

use std::hash::{BuildHasher, Hasher};

/// Builds [`KeyHasher`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BuildKeyHasher;

impl BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// Folds eight bytes at a time into the state (the FxHash step).
#[derive(Debug)]
pub(crate) struct KeyHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0_u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_core::SessionKey;

    #[test]
    fn generated_keys_spread_over_buckets() {
        let mut buckets = [0_u32; 64];
        for _ in 0..64_000 {
            let hash = BuildKeyHasher.hash_one(SessionKey::generate());
            buckets[(hash >> 58) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (700..1300).contains(&n)),
            "{buckets:?}"
        );
    }
}
