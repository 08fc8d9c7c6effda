use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;

use super::*;

/// A connection that counts how many were opened, and can be closed from outside.
#[derive(Clone)]
struct Conn {
    number: usize,
    open: Arc<AtomicBool>,
}

impl ThreadConnection for Conn {
    fn is_open(&self) -> bool {
        self.open.load(SeqCst)
    }
}

#[derive(Clone, Default)]
struct Opener(Arc<AtomicUsize>);

impl Opener {
    async fn open(&self) -> Result<Conn, std::io::Error> {
        let number = self.0.fetch_add(1, SeqCst) + 1;
        Ok(Conn {
            number,
            open: Arc::new(AtomicBool::new(true)),
        })
    }

    fn opened(&self) -> usize {
        self.0.load(SeqCst)
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

async fn get(connections: &PerThread<Conn>, opener: &Opener) -> Lease<Conn> {
    connections.get(|| opener.open()).await.unwrap()
}

#[test]
fn each_thread_opens_its_own_connection_and_keeps_it() {
    let connections = Arc::new(PerThread::new(TIMEOUT));
    let opener = Opener::default();
    let running = Arc::new(std::sync::Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (connections, opener, running) = (
                Arc::clone(&connections),
                opener.clone(),
                Arc::clone(&running),
            );
            std::thread::spawn(move || {
                runtime().block_on(async {
                    let first = get(&connections, &opener).await.connection().number;
                    let again = get(&connections, &opener).await;
                    // Asserted after the barriers: a thread that panicked before them would
                    // leave the others waiting forever.
                    running.wait();
                    let open = connections.open_connections();
                    running.wait();
                    (first, again.connection().number, again.is_fresh(), open)
                })
            })
        })
        .collect();
    for thread in threads {
        let (first, again, fresh, open) = thread.join().unwrap();
        assert_eq!(
            (again, fresh),
            (first, false),
            "a thread's connection changed"
        );
        assert_eq!(open, 3);
    }
    assert_eq!(opener.opened(), 3);
    assert_eq!(connections.open_connections(), 0, "their runtimes are gone");
}

/// A thread that took its new slot but has not opened it yet keeps it when another thread
/// arrives (which drops the slots of threads whose runtime is gone): its first connection is
/// the one it keeps.
#[test]
fn a_slot_not_opened_yet_survives_another_thread_arriving() {
    let connections = Arc::new(PerThread::<Conn>::new(TIMEOUT));
    let opener = Opener::default();
    let slot = connections.slot();
    let other = Arc::clone(&connections);
    std::thread::spawn(move || drop(other.slot()))
        .join()
        .unwrap();
    runtime().block_on(async {
        let runtime = Handle::current().id();
        let first = slot.open(runtime, || opener.open()).await.unwrap();
        let again = get(&connections, &opener).await;
        assert_eq!(
            (again.connection().number, again.is_fresh()),
            (first.connection().number, false),
            "the thread opened a second connection"
        );
    });
    assert_eq!(opener.opened(), 1);
}

#[test]
fn a_new_runtime_on_the_same_thread_opens_a_new_connection() {
    let connections = PerThread::new(TIMEOUT);
    let opener = Opener::default();
    let first = runtime().block_on(async { get(&connections, &opener).await.connection().number });
    // The first runtime is dropped: the connection it drove is dead.
    let second = runtime().block_on(async { get(&connections, &opener).await });
    assert_ne!(second.connection().number, first);
    assert!(second.is_fresh());
}

#[test]
fn a_runtime_that_is_alive_but_not_the_callers_is_not_used() {
    let connections = PerThread::new(TIMEOUT);
    let opener = Opener::default();
    let kept = runtime();
    let first = kept.block_on(async { get(&connections, &opener).await.connection().number });
    // `kept` still exists but does not run while another runtime runs on this thread.
    let second = runtime().block_on(async { get(&connections, &opener).await.connection().number });
    assert_ne!(first, second);
}

#[test]
fn concurrent_calls_on_a_thread_wait_for_one_opening() {
    let connections = PerThread::new(TIMEOUT);
    let opens = AtomicUsize::new(0);
    runtime().block_on(async {
        let calls = (0..10).map(|_| {
            connections.get(|| async {
                opens.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, std::io::Error>(Conn {
                    number: 1,
                    open: Arc::new(AtomicBool::new(true)),
                })
            })
        });
        for lease in futures_util::future::join_all(calls).await {
            assert_eq!(lease.unwrap().connection().number, 1);
        }
    });
    assert_eq!(opens.load(SeqCst), 1);
}

#[test]
fn a_discarded_connection_is_replaced_and_a_stale_discard_keeps_the_replacement() {
    let connections = PerThread::new(TIMEOUT);
    let opener = Opener::default();
    runtime().block_on(async {
        let first = get(&connections, &opener).await;
        let other_call = get(&connections, &opener).await;
        first.discard();
        let second = get(&connections, &opener).await;
        assert_eq!(second.connection().number, 2);
        // A call that saw the first connection fail later must not close the second.
        other_call.discard();
        assert_eq!(get(&connections, &opener).await.connection().number, 2);
    });
}

#[test]
fn a_connection_that_closed_is_replaced_before_it_is_lent() {
    let connections = PerThread::new(TIMEOUT);
    let opener = Opener::default();
    runtime().block_on(async {
        let first = get(&connections, &opener).await;
        first.connection().open.store(false, SeqCst);
        assert_eq!(connections.open_connections(), 0);
        assert_eq!(get(&connections, &opener).await.connection().number, 2);
    });
}

#[test]
fn opening_is_bounded_and_a_failed_attempt_leaves_the_slot_to_the_next_call() {
    let connections = PerThread::<Conn>::new(Duration::from_millis(50));
    let opener = Opener::default();
    runtime().block_on(async {
        let hung = connections
            .get(std::future::pending::<Result<Conn, std::io::Error>>)
            .await;
        assert!(matches!(hung, Err(OpenError::TimedOut(_))), "{hung:?}");
        let refused = connections
            .get(|| async { Err::<Conn, _>(std::io::Error::other("refused")) })
            .await;
        assert!(matches!(refused, Err(OpenError::Failed(_))));
        assert_eq!(get(&connections, &opener).await.connection().number, 1);
    });
}

#[test]
fn outside_a_runtime_there_is_no_connection() {
    let connections = PerThread::<Conn>::new(TIMEOUT);
    let opener = Opener::default();
    let outside = futures_util::FutureExt::now_or_never(connections.get(|| opener.open()));
    assert!(matches!(outside, Some(Err(OpenError::NoRuntime))));
}

#[test]
fn threads_that_are_gone_leave_no_slot_behind() {
    let connections = Arc::new(PerThread::new(TIMEOUT));
    let opener = Opener::default();
    for _ in 0..5 {
        let (connections, opener) = (Arc::clone(&connections), opener.clone());
        std::thread::spawn(move || {
            runtime().block_on(async {
                get(&connections, &opener).await;
            })
        })
        .join()
        .unwrap();
    }
    runtime().block_on(async { get(&connections, &opener).await });
    assert_eq!(connections.read_slots().len(), 1, "{connections:?}");
}
