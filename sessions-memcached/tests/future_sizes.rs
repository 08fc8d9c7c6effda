//! The store's futures stay small. The middleware boxes each store call, and glibc's malloc
//! serves blocks above about 1 KB from its shared bins instead of its per-thread cache: past
//! it, `_int_malloc` and `malloc_consolidate` take about 3 % of a server's time under load.
//! An `async fn` that takes a future and awaits it holds that future twice, which is how
//! `update` once grew from 650 bytes to 1.3 KB (see "Small futures" in docs/DESIGN.md).

use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, Version};

/// glibc's per-thread cache serves chunks of up to 1,032 bytes (a 1,024-byte request).
const LIMIT: usize = 1024;

#[test]
fn every_store_call_fits_in_glibcs_per_thread_cache() {
    // Nothing is sent: the futures are only built and measured.
    for url in ["memcache://127.0.0.1:1", "memcache+binary://127.0.0.1:1"] {
        let store = sessions_memcached::MemcachedStore::new(url).expect("a valid URL");
        let key = SessionKey::generate();
        let ttl = Duration::from_secs(60);
        let sizes = [
            ("load", size_of_val(&store.load(&key))),
            ("create", size_of_val(&store.create(b"", ttl))),
            (
                "update",
                size_of_val(&store.update(&key, b"", ttl, Version::new(1))),
            ),
            ("touch", size_of_val(&store.touch(&key, ttl))),
            ("delete", size_of_val(&store.delete(&key))),
        ];
        for (op, size) in sizes {
            assert!(size <= LIMIT, "{url}: the {op} future takes {size} bytes");
        }
    }
}
