//! A real backend outage, driven through the app: [`check_outage`] and [`Sigstop`].

use std::process::Command;
use std::time::Duration;

use actix_web::http::StatusCode;
use sessions_core::{SessionConfig, SessionStore};

use crate::cases::single;
use crate::client;

/// Makes a backend unreachable and reachable again.
pub trait Outage {
    /// Starts the outage.
    fn begin(&self);
    /// Ends it.
    fn end(&self);
}

/// An outage made by pausing the server process with `SIGSTOP` and resuming it with `SIGCONT`:
/// connections stay open but nothing answers, the worst case for timeouts, and the server keeps
/// its data (so the test can check nothing was lost).
///
/// Pause only a server no other test uses at the same time.
///
/// ```no_run
/// use sessions_test::{Outage, Sigstop};
///
/// let pid: u32 = std::env::var("REDIS_OUTAGE_PID").unwrap().parse().unwrap();
/// let outage = Sigstop(pid);
/// outage.begin();
/// outage.end();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Sigstop(pub u32);

impl Sigstop {
    fn signal(self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.0.to_string())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "kill -{name} {} failed",
            self.0
        );
    }
}

impl Sigstop {
    /// Waits until every thread of the process is stopped. `kill` returns once the signal is
    /// sent, and a thread of a multi-threaded server (memcached's workers) stops only when it
    /// next leaves the kernel: a request sent at once could still be answered.
    fn wait_until_stopped(self) {
        let tasks = format!("/proc/{}/task", self.0);
        let stopped = || {
            let Ok(entries) = std::fs::read_dir(&tasks) else {
                return true; // no /proc: nothing to wait for
            };
            entries.flatten().all(|task| {
                std::fs::read_to_string(task.path().join("stat"))
                    .ok()
                    .and_then(|stat| {
                        stat.rsplit(')')
                            .next()?
                            .split_whitespace()
                            .next()
                            .map(str::to_owned)
                    })
                    .is_none_or(|state| state == "T" || state == "t")
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !stopped() {
            assert!(
                std::time::Instant::now() < deadline,
                "process {} did not stop",
                self.0
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Outage for Sigstop {
    fn begin(&self) {
        self.signal("STOP");
        self.wait_until_stopped();
    }

    fn end(&self) {
        self.signal("CONT");
    }
}

/// Ends the outage even when an assertion fails, so one failing test does not stall others.
struct EndOnDrop<'a, O: Outage>(&'a O);

impl<O: Outage> Drop for EndOnDrop<'_, O> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Runs an app on `store` through an outage of its backend:
///
/// 1. a session is written and read back;
/// 2. during the outage, requests that need the session get an empty 500 — no panic, no hang
///    (each must answer within `limit`, which should be a generous multiple of the store's
///    timeouts) — while a route that ignores sessions still answers 200;
/// 3. after the outage, the same cookie loads the same data and writes work again, without
///    restarting the app.
///
/// ```no_run
/// # async fn f(store: sessions_memstore::MemoryStore) {
/// use std::time::Duration;
/// use sessions_test::{Sigstop, check_outage};
///
/// let pid = std::env::var("REDIS_OUTAGE_PID").unwrap().parse().unwrap();
/// check_outage(store, &Sigstop(pid), Duration::from_secs(30)).await;
/// # }
/// ```
///
/// # Panics
///
/// Panics (failing the test) when any of the above does not hold.
pub async fn check_outage(store: impl SessionStore, outage: &impl Outage, limit: Duration) {
    let (c, _) = client(single(SessionConfig::new(store))).await;
    c.ok("/set?key=user&value=ann").await;
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("ann")
    );

    outage.begin();
    let guard = EndOnDrop(outage);
    for path in ["/get?key=user", "/set?key=user&value=eve"] {
        let reply = actix_web::rt::time::timeout(limit, c.get(path))
            .await
            .unwrap_or_else(|_| panic!("GET {path} hung for {limit:?} during the outage"));
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "GET {path} during the outage"
        );
        assert!(
            reply.body.is_empty(),
            "the error response leaks {:?}",
            reply.body
        );
        assert!(
            reply.set_cookies.is_empty(),
            "a cookie was set during the outage"
        );
    }
    assert_eq!(c.get("/untouched").await.status, StatusCode::OK);
    drop(guard);

    let reply = c.ok("/get?key=user").await;
    assert_eq!(
        reply.json::<Option<String>>().as_deref(),
        Some("ann"),
        "data lost in the outage"
    );
    c.ok("/set?key=user&value=bob").await;
    assert_eq!(
        c.ok("/get?key=user")
            .await
            .json::<Option<String>>()
            .as_deref(),
        Some("bob")
    );
}
