//! Failover drills: an app under steady load while a test promotes a replica or restarts a
//! server, with the error window measured and the sessions written before the drill checked
//! afterwards.

use std::cell::Cell;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use sessions_core::{Key, SessionMiddleware};
use sessions_redis::RedisStore;
use sessions_redis::redis::aio::MultiplexedConnection;
use sessions_redis::redis::{self, Value};

/// Sessions written (and made durable) before the drill, then read back after it.
const DURABLE: usize = 20;
/// Clients sending requests during the drill, each one at a time.
const CLIENTS: usize = 4;
/// The pause between a client's requests: at most about 4 × 100 requests per second.
const PACE: Duration = Duration::from_millis(10);
/// Load before the failover starts.
const BEFORE: Duration = Duration::from_secs(1);
/// Load after the new primary is up; requests that start 2 s after it must all succeed.
const AFTER: Duration = Duration::from_secs(3);
pub(crate) const RECOVERY: Duration = Duration::from_secs(2);
/// Bounds on the load, whatever happens.
const MAX_REQUESTS_PER_CLIENT: usize = 3_000;
const MAX_LOAD: Duration = Duration::from_secs(60);

/// What a drill measured. Times are from the start of the failover.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) requests: usize,
    pub(crate) errors: usize,
    /// From the start of the first failed request to the end of the last one.
    pub(crate) error_window: Option<(Duration, Duration)>,
    /// When the new primary (or the restarted server) answered.
    pub(crate) primary_after: Duration,
    /// Failed requests that started before the failover, or 2 s or more after the new primary.
    pub(crate) errors_outside: usize,
    /// Sessions written before the drill that no longer load with their value.
    pub(crate) lost: usize,
}

impl Report {
    /// Prints the figures and checks them: no session lost, no error outside the window in
    /// which there was no primary (plus 2 s).
    pub(crate) fn check(&self, drill: &str) {
        eprintln!("{drill}: {self:?}");
        assert_eq!(
            self.lost, 0,
            "{drill}: sessions written before the drill were lost: {self:?}"
        );
        assert_eq!(
            self.errors_outside, 0,
            "{drill}: requests failed while a primary was up: {self:?}"
        );
        assert!(self.requests > 0);
    }
}

struct Outcome {
    started: Instant,
    ended: Instant,
    ok: bool,
}

/// Runs the drill on `store`: writes the durable sessions, calls `settle` (to make them durable
/// on a replica), then loads the app while `failover` runs (it returns once the new primary
/// answers), and reads the durable sessions back.
pub(crate) async fn run<S, F>(store: RedisStore, settle: S, failover: F) -> Report
where
    S: Future<Output = ()>,
    F: Future<Output = ()>,
{
    let middleware = SessionMiddleware::new(store, Key::generate());
    let mut durable = Vec::with_capacity(DURABLE);
    for i in 0..DURABLE {
        let (client, _) = sessions_test::client(middleware.clone()).await;
        client.ok(&format!("/set?key=durable&value={i}")).await;
        durable.push(client);
    }
    settle.await;

    let stop_at: Cell<Option<Instant>> = Cell::new(None);
    let began = Instant::now();
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(sessions_test::client(middleware.clone()).await.0);
    }
    let loads = clients.iter().map(|client| async {
        let mut outcomes = Vec::new();
        while outcomes.len() < MAX_REQUESTS_PER_CLIENT
            && began.elapsed() < MAX_LOAD
            && stop_at.get().is_none_or(|stop| Instant::now() < stop)
        {
            let started = Instant::now();
            let path = format!("/set?key=n&value={}", outcomes.len());
            let reply = client.get(&path).await;
            outcomes.push(Outcome {
                started,
                ended: Instant::now(),
                ok: reply.status == StatusCode::OK,
            });
            actix_web::rt::time::sleep(PACE).await;
        }
        outcomes
    });
    let control = async {
        actix_web::rt::time::sleep(BEFORE).await;
        let failing = Instant::now();
        failover.await;
        let primary = Instant::now();
        stop_at.set(Some(primary + AFTER));
        (failing, primary)
    };
    let (outcomes, (failing, primary)) =
        futures_util::future::join(futures_util::future::join_all(loads), control).await;
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();

    let mut lost = 0;
    for (i, client) in durable.iter().enumerate() {
        let reply = client.get("/get?key=durable").await;
        let value = (reply.status == StatusCode::OK)
            .then(|| reply.json::<Option<String>>())
            .flatten();
        if value != Some(i.to_string()) {
            lost += 1;
        }
    }
    report(&outcomes, failing, primary, lost)
}

fn report(outcomes: &[Outcome], failing: Instant, primary: Instant, lost: usize) -> Report {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    let since = |at: Instant| at.saturating_duration_since(failing);
    let error_window = failed
        .first()
        .zip(failed.iter().map(|o| o.ended).max())
        .map(|(first, last)| (since(first.started), since(last)));
    let errors_outside = failed
        .iter()
        .filter(|o| o.ended < failing || o.started >= primary + RECOVERY)
        .count();
    Report {
        requests: outcomes.len(),
        errors: failed.len(),
        error_window,
        primary_after: since(primary),
        errors_outside,
        lost,
    }
}

/// A direct connection to one server, `host:port`.
pub(crate) async fn connect(address: &str) -> MultiplexedConnection {
    redis::Client::open(format!("redis://{address}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("connect to {address}: {e}"))
}

/// Waits (a bounded time) until `check` holds, polling every 50 ms.
pub(crate) async fn until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the server at `address` is a primary (`ROLE`).
pub(crate) async fn is_primary(address: &str) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://{address}")) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let role: Result<Value, _> = redis::cmd("ROLE").query_async(&mut conn).await;
    matches!(role, Ok(Value::Array(items)) if items.first() == Some(&Value::BulkString(b"master".to_vec())))
}

/// Writes `marker` on `primary` and waits until a replica has it, and so everything written to
/// that primary before (replication keeps the order).
pub(crate) async fn replicate(primary: &str, marker: &str) {
    let mut conn = connect(primary).await;
    let () = redis::cmd("SET")
        .arg(marker)
        .arg("1")
        .query_async(&mut conn)
        .await
        .expect("write the marker");
    let acknowledged: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5_000)
        .query_async(&mut conn)
        .await
        .expect("WAIT");
    assert_eq!(
        acknowledged, 1,
        "no replica acknowledged the writes before the drill"
    );
}
