//! AES-GCM nonces: random bytes from the operating system, fetched a few kilobytes at a time.
//!
//! One `getrandom` system call per sealed cookie cost about 0.4 µs, a tenth of the cookie store's
//! whole overhead. The bytes are the kernel CSPRNG's either way; buffering changes only how often
//! it is asked. That is safe for nonces, which are public (each sealed cookie carries its own),
//! as long as no nonce is ever handed out twice: the buffer is per thread, each byte is used once,
//! and a forked child (same memory, new PID) throws the inherited buffer away.
//! Session ids are secrets and are not drawn from here.

use std::cell::RefCell;

use ring::aead::NONCE_LEN;
use ring::rand::{SecureRandom as _, SystemRandom};

/// Nonces per refill.
const BATCH: usize = 256;

struct Pool {
    owner: u32,
    bytes: [u8; BATCH * NONCE_LEN],
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { owner: 0, bytes: [0; BATCH * NONCE_LEN], next: BATCH * NONCE_LEN })
    };
}

/// A fresh random nonce.
pub(crate) fn random_nonce() -> [u8; NONCE_LEN] {
    POOL.with_borrow_mut(|pool| {
        let pid = std::process::id();
        if pool.next == pool.bytes.len() || pool.owner != pid {
            SystemRandom::new()
                .fill(&mut pool.bytes)
                .expect("the operating system's random number generator failed");
            pool.owner = pid;
            pool.next = 0;
        }
        let mut nonce = [0; NONCE_LEN];
        nonce.copy_from_slice(&pool.bytes[pool.next..pool.next + NONCE_LEN]);
        // Each byte serves once: overwrite it so no later path can reuse it.
        pool.bytes[pool.next..pool.next + NONCE_LEN].fill(0);
        pool.next += NONCE_LEN;
        nonce
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_do_not_repeat_across_refills() {
        let nonces: std::collections::HashSet<_> = (0..BATCH * 4).map(|_| random_nonce()).collect();
        assert_eq!(nonces.len(), BATCH * 4);
    }
}
