//! The conformance suite against the memory store.

use sessions_memstore::MemoryStore;
use sessions_test::Capabilities;

sessions_test::suite!(|| async { MemoryStore::new() }, Capabilities::server_side());

/// The outage check itself, with an outage simulated in-process (the memory store cannot fail).
#[test]
fn outage_check_detects_recovery() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    struct Switch(Arc<AtomicBool>);
    impl sessions_test::Outage for Switch {
        fn begin(&self) {
            self.0.store(false, Ordering::Relaxed);
        }
        fn end(&self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    let store = sessions_test::Switchable::new(MemoryStore::new());
    let switch = Switch(store.switch());
    sessions_test::run(sessions_test::check_outage(
        store,
        &switch,
        Duration::from_secs(5),
    ));
}

/// Contention on a slow backend (every store call 15 ms, as a remote store on a busy machine
/// may be): two instances of the app each queue their saves of one session, so the first save
/// of the instance that falls behind waits while the other instance's whole queue writes. 64
/// parallel requests still all succeed within the default retry budget.
#[test]
fn contention_on_a_slow_store_never_fails() {
    use std::time::Duration;

    sessions_test::run(
        sessions_test::cases::distinct_keys_under_64_parallel_requests_all_survive(
            || async { sessions_test::Slow::new(MemoryStore::new(), Duration::from_millis(15)) },
            Capabilities::server_side(),
        ),
    );
}
