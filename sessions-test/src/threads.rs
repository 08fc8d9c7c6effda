//! Checks for stores whose connections belong to the worker thread that uses them (see
//! `sessions_net`).
//!
//! actix-web runs each worker on a thread with a runtime of its own, and a connection is driven
//! by tasks on the runtime that opened it. Each worker thread must therefore have its own
//! connection, and a thread whose runtime was replaced (a restarted worker, a test's runtime on
//! a reused thread) must open a new one on its next call instead of failing. These checks run
//! calls from several such threads.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use sessions_core::SessionStore;

const TTL: Duration = Duration::from_secs(60);

/// Fails the test instead of hanging if `call` runs far past every configured timeout.
async fn no_hang<T>(call: impl Future<Output = T>) -> T {
    actix_web::rt::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the store call hung")
}

/// Checks that a thread whose runtime was replaced opens a new connection: on one thread, a
/// session is created on a first runtime, which then shuts down (killing the connection it
/// drove); a second runtime on the same thread loads it at the first call. Then another thread
/// loads it too.
///
/// Call it from a plain `#[test]` (it starts its own thread and runtimes).
///
/// ```no_run
/// sessions_test::check_a_new_runtime_on_a_thread_reconnects(sessions_memstore::MemoryStore::new());
/// ```
///
/// # Panics
///
/// When a call fails or hangs, or the payload read back differs.
pub fn check_a_new_runtime_on_a_thread_reconnects<S>(store: S)
where
    S: SessionStore + Clone + Send + 'static,
{
    let first = store.clone();
    let key = std::thread::spawn(move || {
        let created = actix_web::rt::System::new()
            .block_on(async { no_hang(first.create(b"kept", TTL)).await })
            .expect("create on the first runtime");
        let key = created.key().clone();
        let loaded = actix_web::rt::System::new()
            .block_on(async { no_hang(first.load(&key)).await })
            .expect("a new connection on the second runtime, at the first call");
        assert_eq!(loaded.expect("just created").payload(), b"kept");
        key
    })
    .join()
    .expect("the worker thread panicked");
    let loaded = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async { no_hang(store.load(&key)).await })
    })
    .join()
    .expect("the second thread panicked")
    .expect("load on another thread");
    assert_eq!(loaded.expect("just created").payload(), b"kept");
}

/// Checks that each of four worker threads, all running until every one is done (as
/// actix-web's workers do), creates and loads 50 sessions concurrently on a connection of its
/// own: four are open while the workers run, none once their runtimes are gone.
/// `open_in_debug(n)` is what the store's `Debug` output contains when `n` connections are
/// open.
///
/// Call it from a plain `#[test]`.
///
/// ```no_run
/// // With a store whose `Debug` output shows `open: <n>`:
/// sessions_test::check_each_worker_has_its_own_connection(
///     sessions_memstore::MemoryStore::new(),
///     |n| format!("open: {n}"),
/// );
/// ```
///
/// # Panics
///
/// When a call fails or hangs, a payload read back differs, or the `Debug` output does not
/// show the expected number of open connections.
pub fn check_each_worker_has_its_own_connection<S>(store: S, open_in_debug: fn(usize) -> String)
where
    S: SessionStore + Clone + Debug + Send + 'static,
{
    const WORKERS: usize = 4;
    let done = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let store = store.clone();
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async {
                    let payloads: Vec<String> = (0..50).map(|i| i.to_string()).collect();
                    let creates = payloads.iter().map(|p| store.create(p.as_bytes(), TTL));
                    let stored = no_hang(futures_util::future::join_all(creates)).await;
                    let loads = stored
                        .iter()
                        .map(|stored| store.load(stored.as_ref().expect("create").key()));
                    let loaded = no_hang(futures_util::future::join_all(loads)).await;
                    for (payload, loaded) in payloads.iter().zip(loaded) {
                        let loaded = loaded.expect("load").expect("just created");
                        assert_eq!(loaded.payload(), payload.as_bytes());
                    }
                    done.wait().await;
                    // Every worker is done and running: each has its connection open.
                    let printed = format!("{store:?}");
                    assert!(printed.contains(&open_in_debug(WORKERS)), "{printed}");
                    done.wait().await;
                });
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker failed");
    }
    // The runtimes that ran the connections are gone, and the store knows it.
    let printed = format!("{store:?}");
    assert!(printed.contains(&open_in_debug(0)), "{printed}");
}
