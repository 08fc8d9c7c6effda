//! Checks for stores whose connections are shared between threads.
//!
//! actix-web runs each worker on a thread with a runtime of its own. A store that shares a
//! connection between threads drives it with tasks on the runtime of the thread that opened
//! it; when that runtime shuts down, the other threads must open a new connection on their next
//! call instead of failing. These checks run calls from several such threads.

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

/// Runs `call` on a new thread with a runtime of its own, like an actix-web worker, and waits
/// for it; the runtime shuts down when `call` is done.
fn on_worker_thread<S, T>(store: &S, call: impl AsyncFnOnce(S) -> T + Send + 'static) -> T
where
    S: Clone + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(call(store)))
        .join()
        .expect("the worker thread panicked")
}

/// Checks that a session created on one worker thread loads, at the first call, on a second
/// worker thread started after the first one's runtime shut down. Build `store` with a single
/// shared connection, so that the second thread finds the connection the first one opened.
///
/// Call it from a plain `#[test]` (it starts its own threads and runtimes).
///
/// ```no_run
/// # fn one_connection_store() -> sessions_memstore::MemoryStore { unimplemented!() }
/// // In a store crate's tests, with a store built to open a single connection:
/// sessions_test::check_connections_survive_their_runtime(one_connection_store());
/// ```
///
/// # Panics
///
/// When a call fails or hangs, or the payload read back differs.
pub fn check_connections_survive_their_runtime<S>(store: S)
where
    S: SessionStore + Clone + Send + 'static,
{
    let created = on_worker_thread(&store, async |store| store.create(b"shared", TTL).await)
        .expect("create on the first worker");
    let key = created.key().clone();
    let loaded = on_worker_thread(&store, async move |store| no_hang(store.load(&key)).await);
    let loaded = loaded.expect("a fresh connection on the second worker, at the first call");
    assert_eq!(loaded.expect("just created").payload(), b"shared");
}

/// Checks that four worker threads, all running until every one is done (as actix-web's
/// workers do), each create and load 50 sessions concurrently on a store built with two shared
/// connections. `open_in_debug(n)` is what the store's `Debug` output contains when `n`
/// connections are open: two while the workers run, none once their runtimes are gone.
///
/// Call it from a plain `#[test]`.
///
/// ```no_run
/// # fn two_connection_store() -> sessions_memstore::MemoryStore { unimplemented!() }
/// // In a store crate's tests, with a store built to open two connections, whose `Debug`
/// // output shows `open: <n>`:
/// sessions_test::check_threads_share_connections(two_connection_store(), |n| format!("open: {n}"));
/// ```
///
/// # Panics
///
/// When a call fails or hangs, a payload read back differs, or the `Debug` output does not
/// show the expected number of open connections.
pub fn check_threads_share_connections<S>(store: S, open_in_debug: fn(usize) -> String)
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
                    // Every worker is done and running: both connections are open.
                    let printed = format!("{store:?}");
                    assert!(printed.contains(&open_in_debug(2)), "{printed}");
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
