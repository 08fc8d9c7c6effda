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
