//! [`stress`]: many writers of one session at once, against a real backend.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use futures_util::future::join_all;
use sessions_core::{Key, SessionConfig, SessionMiddleware, SessionStore};

use crate::client;

/// What [`stress`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StressReport {
    /// Concurrent writers.
    pub writers: usize,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, usize>,
    /// Increments the session holds afterwards.
    pub kept: u64,
    /// How long the writers took, all together.
    pub elapsed: Duration,
}

impl StressReport {
    /// Requests answered 200.
    #[must_use]
    pub fn succeeded(&self) -> usize {
        self.statuses.get(&200).copied().unwrap_or(0)
    }
}

impl fmt::Display for StressReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writers: {} answered 200, statuses {:?}, {} increments kept, {:.0?}",
            self.writers,
            self.succeeded(),
            self.statuses,
            self.kept,
            self.elapsed
        )
    }
}

/// `writers` requests of one session at once, each incrementing one counter with
/// `Session::update`, spread over two instances of the app (as two processes would be) on
/// `store`. Prints the report, and checks that no increment was lost or applied twice: the
/// counter ends at exactly the number of requests answered 200, and every other answer is a
/// 503 (contention past the retry budget), never a 500.
///
/// ```no_run
/// # async fn f(store: sessions_memstore::MemoryStore) {
/// let report = sessions_test::stress(store, 256).await;
/// assert_eq!(report.succeeded(), 256);
/// # }
/// ```
///
/// # Panics
///
/// When an increment was lost or applied twice, or a request failed with another status.
pub async fn stress(store: impl SessionStore, writers: usize) -> StressReport {
    let store = Arc::new(store);
    let key = Key::generate();
    let app = |store: Arc<_>| {
        SessionMiddleware::builder(key.clone())
            .session(SessionConfig::new(store))
            .build()
            .expect("valid configuration")
    };
    let (one, _) = client(app(Arc::clone(&store))).await;
    let (two, _) = client(app(store)).await;
    one.ok("/set?key=start&value=0").await;
    two.set_cookie("id", one.cookie("id").as_deref());
    let started = Instant::now();
    let requests = (0..writers).map(|i| [&one, &two][i % 2].get("/update?key=n"));
    let replies = join_all(requests).await;
    let elapsed = started.elapsed();
    let mut statuses = BTreeMap::new();
    for reply in &replies {
        *statuses.entry(reply.status.as_u16()).or_insert(0) += 1;
    }
    let kept = one.ok("/update?key=n").await.json::<u64>() - 1;
    let report = StressReport {
        writers,
        statuses,
        kept,
        elapsed,
    };
    println!("stress: {report}");
    let other = replies
        .iter()
        .filter(|r| r.status != StatusCode::OK && r.status != StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(other.count(), 0, "{report}");
    assert_eq!(
        report.kept,
        report.succeeded() as u64,
        "increments lost or applied twice: {report}"
    );
    report
}
