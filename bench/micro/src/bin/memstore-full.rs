//! Create latency on a full memory store: `memstore-full [SESSIONS]` (default 1,000,000).
//!
//! Fills a store with a capacity of SESSIONS with live sessions, then times creates that find
//! it full (a flood of new visitors), and creates on a full store whose sessions have all
//! expired (the steady state of a busy site between sweeps).

use std::time::{Duration, Instant};

use sessions_core::SessionStore;
use sessions_memstore::MemoryStore;

const TRIES: u32 = 200;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |arg| arg.parse().expect("a session count"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let long = Duration::from_secs(3600);
        let store = MemoryStore::builder()
            .capacity(n)
            .sweep_interval(long)
            .build();
        fill(&store, n, long).await;
        let per = time_creates(&store).await;
        println!("full of live sessions ({n}): {per:?} per refused create");

        let store = MemoryStore::builder()
            .capacity(n)
            .sweep_interval(long)
            .build();
        fill(&store, n, Duration::from_millis(1)).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let per = time_creates(&store).await;
        println!("full of expired sessions ({n}): {per:?} per create");
    });
}

async fn fill(store: &MemoryStore, n: usize, ttl: Duration) {
    for _ in 0..n {
        store.create(b"x", ttl).await.expect("room");
    }
}

async fn time_creates(store: &MemoryStore) -> Duration {
    let start = Instant::now();
    for _ in 0..TRIES {
        let _ = store.create(b"y", Duration::from_secs(3600)).await;
    }
    start.elapsed() / TRIES
}
