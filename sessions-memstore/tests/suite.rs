//! The conformance suite against the memory store.

use sessions_memstore::MemoryStore;
use sessions_test::Capabilities;

sessions_test::suite!(|| async { MemoryStore::new() }, Capabilities::server_side());
