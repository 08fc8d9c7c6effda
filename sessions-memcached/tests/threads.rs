//! The binary transport's shared connections across threads: each actix-web worker runs its
//! own runtime, a connection is driven by tasks on the runtime of the thread that opened it,
//! and other threads share it. When that runtime shuts down, the others must open a new
//! connection on their next call instead of failing (or hanging until the I/O timeout).

mod common;

use std::sync::Arc;
use std::time::Duration;

use sessions_core::SessionStore;
use sessions_memcached::MemcachedStore;

const TTL: Duration = Duration::from_secs(60);

/// Fails the test instead of hanging if `call` runs far past every configured timeout.
async fn no_hang<T>(call: impl Future<Output = T>) -> T {
    actix_web::rt::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the store call hung")
}

/// Runs `call` on a new thread with a runtime of its own, like an actix-web worker, and waits
/// for it; the runtime shuts down when `call` is done.
fn on_worker_thread<T: Send + 'static>(
    store: &MemcachedStore,
    call: impl AsyncFnOnce(MemcachedStore) -> T + Send + 'static,
) -> T {
    let store = store.clone();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(call(store)))
        .join()
        .expect("the worker thread panicked")
}

#[test]
fn threads_share_connections_and_survive_the_runtime_that_opened_one() {
    // One connection for all threads: the second thread uses the connection the first opened,
    // after the first thread's runtime (which ran that connection's tasks) is gone.
    let store = common::builder(&common::plain_binary_url())
        .pool_size(1)
        .build()
        .unwrap();
    let created = on_worker_thread(&store, async |store| store.create(b"shared", TTL).await)
        .expect("create on the first worker");
    let key = created.key().clone();
    let loaded = on_worker_thread(&store, async move |store| no_hang(store.load(&key)).await);
    let loaded = loaded.expect("a fresh connection on the second worker, at the first call");
    assert_eq!(loaded.unwrap().payload(), b"shared");
}

#[test]
fn calls_from_many_threads_all_succeed_on_fewer_connections() {
    const WORKERS: usize = 4;
    let store = common::builder(&common::plain_binary_url())
        .pool_size(2)
        .build()
        .unwrap();
    // A worker's runtime runs the connection it opened, which other workers share: like
    // actix-web's workers, they all run until every one is done.
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
                    assert!(printed.contains("open_connections: 2"), "{printed}");
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
    assert!(printed.contains("open_connections: 0"), "{printed}");
}
