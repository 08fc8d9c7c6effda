//! [`check_blocked_workers_do_not_stall_others`]: a worker stuck in a synchronous handler must
//! delay only its own requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use sessions_core::{Key, Session, SessionMiddleware, SessionStore};

use crate::wire::WireClient;

/// Worker threads of the app under test.
const WORKERS: usize = 8;
/// Workers that block.
const BLOCKED: usize = 3;
/// How long a blocked handler blocks (a slow synchronous call).
const BLOCK: Duration = Duration::from_secs(3);
/// How long the free workers are sent requests, starting once every blocked handler runs. Well
/// inside [`BLOCK`], so a request sent at the end still has seconds to finish before the
/// blocked handlers return, even on a loaded machine.
const LOAD_WINDOW: Duration = Duration::from_millis(1000);
/// At most this many requests per free connection.
const MAX_REQUESTS: usize = 200;
/// Connections opened to find every worker; actix-web hands them out in turn.
const MAX_CONNECTIONS: usize = 64;
/// A bound on any one read, far above any timeout of a store: a hang fails the test.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the blocking handlers share with the test.
#[derive(Debug, Default)]
struct Blocking {
    /// Blocked handlers running now.
    entered: AtomicUsize,
    /// When the first blocked handler returned.
    first_end: Mutex<Option<Instant>>,
}

/// Checks that workers blocked in a synchronous handler delay no other worker's session
/// requests: a real `HttpServer` with 8 workers on loopback, each worker's first store call
/// made in turn; then the first 3 workers to have used the store block for 3 s, and the other 5
/// serve session requests (load and save) meanwhile. Every one of those must succeed, and finish
/// before the blocked handlers return (so none waited for them).
///
/// Call it from a plain `#[test]` with a store whose server is running. A store whose
/// connections are driven by the runtime of the worker that opened them, and shared with other
/// workers, fails it.
///
/// ```no_run
/// sessions_test::check_blocked_workers_do_not_stall_others(sessions_memstore::MemoryStore::new());
/// ```
///
/// # Panics
///
/// When a request on a free worker fails, returns a wrong count, or finished only after the
/// blocked workers were released; or when the server cannot be started.
pub fn check_blocked_workers_do_not_stall_others<S>(store: S)
where
    S: SessionStore + Clone,
{
    let blocking = Arc::new(Blocking::default());
    let (addr, server, handle) = start_server(store, Arc::clone(&blocking));
    let workers = connections_by_worker(addr);
    let (blocked, free) = workers.split_at(BLOCKED);
    let blockers: Vec<JoinHandle<()>> = blocked.iter().map(block_on_worker).collect();
    wait_until_blocked(&blocking);
    let loads: Vec<JoinHandle<Vec<Outcome>>> = free
        .iter()
        .flat_map(|worker| &worker.connections)
        .map(|conn| {
            let conn = Arc::clone(conn);
            std::thread::spawn(move || load(&conn))
        })
        .collect();
    let outcomes: Vec<Outcome> = loads
        .into_iter()
        .flat_map(|load| load.join().expect("a client thread panicked"))
        .collect();
    for blocker in blockers {
        blocker.join().expect("a blocking request failed");
    }
    let released = blocking
        .first_end
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .expect("the blocked handlers returned");
    stop_server(server, handle);
    judge(&outcomes, released);
}

/// One request on a free worker.
#[derive(Debug)]
struct Outcome {
    error: Option<String>,
    finished: Instant,
    took: Duration,
}

/// The connections that reached one worker, in the order the workers first used the store.
#[derive(Debug)]
struct Worker {
    name: String,
    connections: Vec<Arc<Mutex<Counted>>>,
}

/// A connection and the count its session is at.
#[derive(Debug)]
struct Counted {
    client: WireClient,
    count: u64,
}

fn start_server<S: SessionStore + Clone>(
    store: S,
    blocking: Arc<Blocking>,
) -> (SocketAddr, JoinHandle<()>, ServerHandle) {
    let middleware = SessionMiddleware::new(store, Key::generate());
    let (sender, receiver) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let blocking = web::Data::from(blocking);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(blocking.clone())
                    .wrap(middleware.clone())
                    .route("/incr", web::get().to(incr))
                    .route("/block", web::get().to(block))
            })
            .workers(WORKERS)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind a loopback port");
            let addr = server.addrs()[0];
            let server = server.run();
            sender
                .send((addr, server.handle()))
                .expect("the test waits for the address");
            server.await.expect("the server ran");
        });
    });
    let (addr, handle) = receiver.recv().expect("the server started");
    (addr, server, handle)
}

fn stop_server(server: JoinHandle<()>, handle: ServerHandle) {
    actix_web::rt::System::new().block_on(handle.stop(false));
    server.join().expect("the server thread panicked");
}

/// The session's counter, and the worker that served the request.
async fn incr(session: Session) -> actix_web::Result<HttpResponse> {
    let count = session.get::<u64>("count")?.map_or(0, |n| n + 1);
    session.insert("count", count)?;
    let worker = std::thread::current().name().map_or_else(
        || format!("{:?}", std::thread::current().id()),
        str::to_owned,
    );
    Ok(HttpResponse::Ok().body(format!("{count} {worker}")))
}

/// Blocks the worker, as a synchronous database call or a CPU-heavy handler would.
async fn block(blocking: web::Data<Blocking>) -> HttpResponse {
    blocking.entered.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(BLOCK);
    let mut first_end = blocking
        .first_end
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    first_end.get_or_insert_with(Instant::now);
    HttpResponse::Ok().finish()
}

/// Opens connections one at a time, each making one session request (so the workers use the
/// store for the first time in this order), until every worker has at least one.
fn connections_by_worker(addr: SocketAddr) -> Vec<Worker> {
    let mut workers: Vec<Worker> = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let mut client = WireClient::connect(addr, READ_TIMEOUT).expect("connect");
        let reply = client.get("/incr").expect("a first session request");
        assert_eq!(reply.status, 200, "a first session request: {reply:?}");
        let (count, name) = reply.body.split_once(' ').expect("count and worker");
        assert_eq!(count, "0");
        let counted = Arc::new(Mutex::new(Counted { client, count: 0 }));
        match workers.iter_mut().find(|worker| worker.name == name) {
            Some(worker) => worker.connections.push(counted),
            None => workers.push(Worker {
                name: name.to_owned(),
                connections: vec![counted],
            }),
        }
        if workers.len() == WORKERS {
            return workers;
        }
    }
    panic!(
        "{MAX_CONNECTIONS} connections reached only {} of {WORKERS} workers",
        workers.len()
    );
}

/// Sends `/block` on a connection of `worker`, in a thread of its own. (A connection stays
/// with the worker that accepted it.)
fn block_on_worker(worker: &Worker) -> JoinHandle<()> {
    let target = Arc::clone(&worker.connections[0]);
    std::thread::spawn(move || {
        let mut counted = target.lock().unwrap_or_else(PoisonError::into_inner);
        let reply = counted.client.get("/block").expect("the blocking request");
        assert_eq!(reply.status, 200);
    })
}

fn wait_until_blocked(blocking: &Blocking) {
    let started = Instant::now();
    while blocking.entered.load(Ordering::SeqCst) < BLOCKED {
        assert!(
            started.elapsed() < READ_TIMEOUT,
            "the blocking handlers did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Session requests on one free connection, one after another, during [`LOAD_WINDOW`].
fn load(conn: &Mutex<Counted>) -> Vec<Outcome> {
    let mut counted = conn.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let mut outcomes = Vec::new();
    while started.elapsed() < LOAD_WINDOW && outcomes.len() < MAX_REQUESTS {
        let sent = Instant::now();
        let error = match counted.client.get("/incr") {
            Ok(reply) if reply.status == 200 => {
                let expected = counted.count + 1;
                let count = reply.body.split(' ').next().unwrap_or_default();
                if count == expected.to_string() {
                    counted.count = expected;
                    None
                } else {
                    Some(format!("count {count}, expected {expected}"))
                }
            }
            Ok(reply) => Some(format!("status {}", reply.status)),
            Err(err) => Some(err.to_string()),
        };
        let failed = error.is_some();
        outcomes.push(Outcome {
            error,
            finished: Instant::now(),
            took: sent.elapsed(),
        });
        if failed {
            // The connection's session may be out of step now; stop using it.
            break;
        }
    }
    outcomes
}

fn judge(outcomes: &[Outcome], released: Instant) {
    let errors: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    let late = outcomes.iter().filter(|o| o.finished >= released).count();
    let mut took: Vec<Duration> = outcomes.iter().map(|o| o.took).collect();
    took.sort();
    let median = took.get(took.len() / 2).copied().unwrap_or_default();
    let slowest = took.last().copied().unwrap_or_default();
    let summary = format!(
        "{} requests on free workers: {} errors {errors:?}, {late} finished only after the \
         blocked workers were released; median {median:?}, slowest {slowest:?}",
        outcomes.len(),
        errors.len()
    );
    eprintln!("{summary}");
    assert!(!outcomes.is_empty(), "no request was made");
    assert!(errors.is_empty() && late == 0, "{summary}");
}
