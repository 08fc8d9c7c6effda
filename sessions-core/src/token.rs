//! Unique 64-bit tokens: write tokens (which write produced a stored state) and flash ids.
//!
//! They need to be distinct, not secret: nobody outside the server sees or guesses them, and a
//! repeat would only matter between two writes of one session in the same moment. So they come
//! from a counter per thread, started at a random point and scrambled by SplitMix64's
//! finalizer (a bijection: distinct counters give distinct tokens), rather than from a system
//! call per token.

use std::cell::Cell;
use std::hash::{BuildHasher as _, RandomState};

thread_local! {
    /// The next counter value; seeded from the standard library's per-process random keys.
    static NEXT: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()));
}

/// A token no other call on any thread is expected to return.
pub(crate) fn unique() -> u64 {
    NEXT.with(|next| {
        let n = next.get();
        next.set(n.wrapping_add(0x9e37_79b9_7f4a_7c15));
        mix(n)
    })
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_do_not_repeat_within_or_across_threads() {
        let here: Vec<u64> = (0..10_000).map(|_| unique()).collect();
        let there: Vec<u64> = std::thread::spawn(|| (0..10_000).map(|_| unique()).collect())
            .join()
            .unwrap();
        let all: std::collections::HashSet<u64> = here.iter().chain(&there).copied().collect();
        assert_eq!(all.len(), 20_000);
    }
}
