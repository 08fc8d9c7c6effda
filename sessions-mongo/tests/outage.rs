//! A server that stops answering: the store gives up within its operation timeout, the app
//! answers empty 500s, and both recover once the server answers again, with nothing lost.
//!
//! The outage is a `SIGSTOP` to a server used by nothing else (`MONGODB_OUTAGE_URL`,
//! `MONGODB_OUTAGE_PID`: the second SecantusDB that `scripts/services.sh start` runs), so the
//! tests running in parallel against `MONGODB_URL` never see it. When `MONGODB_URL` names a
//! server of your own and these two are unset, the tests here are skipped.

mod common;

use std::error::Error as _;
use std::fs::File;
use std::time::Duration;

use sessions_core::{SessionKey, SessionStore, StoreErrorKind};
use sessions_mongo::MongoStore;
use sessions_test::{Outage, Sigstop, check_outage};

/// Short, so the tests are quick; the outage must cost no more than this per operation.
const OPERATION_TIMEOUT: Duration = Duration::from_millis(500);
/// A generous bound on one request during the outage: it tells "gave up after the operation
/// timeout" from "hung", without timing anything finely.
const LIMIT: Duration = Duration::from_secs(20);
const TTL: Duration = Duration::from_secs(60);

/// The dedicated server, or `None` when the tests should be skipped.
struct OutageServer {
    url: String,
    pid: u32,
}

impl OutageServer {
    fn from_env(test: &str) -> Option<Self> {
        let url = std::env::var("MONGODB_OUTAGE_URL");
        let pid = std::env::var("MONGODB_OUTAGE_PID");
        match (url, pid) {
            (Ok(url), Ok(pid)) => Some(Self {
                url,
                pid: pid.parse().expect("MONGODB_OUTAGE_PID is a process id"),
            }),
            (Err(_), Err(_)) if std::env::var_os("MONGODB_URL").is_some() => {
                eprintln!(
                    "{test}: skipped: MONGODB_URL names a server of your own, and this test needs \
                     one it may pause (SIGSTOP) that no other test uses; set MONGODB_OUTAGE_URL \
                     and MONGODB_OUTAGE_PID to run it"
                );
                None
            }
            _ => panic!(
                "MONGODB_OUTAGE_URL and MONGODB_OUTAGE_PID are not both set: run \
                 `scripts/services.sh start` and `source .services/env`"
            ),
        }
    }

    async fn store(&self, database: &str) -> MongoStore {
        MongoStore::builder(&self.url)
            .database(database)
            .server_selection_timeout(OPERATION_TIMEOUT)
            .connect_timeout(OPERATION_TIMEOUT)
            .io_timeout(OPERATION_TIMEOUT)
            .build()
            .await
            .expect("MONGODB_OUTAGE_URL is a valid MongoDB URL")
    }

    /// The server's outage, to begin and end while the returned value lives. Tests that pause
    /// the same server take turns (nextest runs each test in a process of its own): the value
    /// holds a lock on a file, so take it before the test's first request.
    fn exclusive(&self) -> Paused {
        let lock = std::env::temp_dir().join(format!("sessions-mongo-outage-{}.lock", self.pid));
        let lock = File::create(&lock).expect("creates the lock file");
        lock.lock().expect("locks the lock file");
        Paused {
            sigstop: Sigstop(self.pid),
            _lock: lock,
        }
    }
}

/// [`Sigstop`], but `begin` returns only once every thread of the server has stopped: `kill`
/// returns once the signal is queued, and a thread still running could answer one more request.
struct Paused {
    sigstop: Sigstop,
    _lock: File,
}

impl Outage for Paused {
    fn begin(&self) {
        self.sigstop.begin();
        wait_until_stopped(self.sigstop.0);
    }

    fn end(&self) {
        self.sigstop.end();
    }
}

fn wait_until_stopped(pid: u32) {
    let tasks = format!("/proc/{pid}/task");
    for _ in 0..500 {
        let stopped = std::fs::read_dir(&tasks)
            .expect("the server runs on this machine")
            .all(|task| {
                let status = std::fs::read_to_string(task.unwrap().path().join("status"))
                    .unwrap_or_default();
                status
                    .lines()
                    .any(|line| line.starts_with("State:") && line.contains("stopped"))
            });
        if stopped {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server (PID {pid}) did not stop");
}

/// Ends the outage even when an assertion fails.
struct Resume<'a>(&'a Paused);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The store itself: unavailable (with the driver's error as the source) within the operation
/// timeout, and working again afterwards.
#[test]
fn paused_server_store_is_unavailable_and_recovers() {
    let Some(server) = OutageServer::from_env("paused_server_store_is_unavailable_and_recovers")
    else {
        return;
    };
    sessions_test::run(async {
        let paused = server.exclusive();
        let database = common::unique_database();
        let store = server.store(&database).await;
        let stored = store.create(b"payload", TTL).await.unwrap();

        paused.begin();
        let resume = Resume(&paused);
        let err = tokio::time::timeout(LIMIT, store.load(stored.key()))
            .await
            .expect("the operation timeout bounds the load")
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
        assert!(err.source().is_some(), "{err:?}");
        let err = tokio::time::timeout(LIMIT, store.create(b"x", TTL))
            .await
            .expect("the operation timeout bounds the create")
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
        drop(resume);

        let loaded = store
            .load(stored.key())
            .await
            .expect("the store recovers once the server answers");
        assert_eq!(loaded.unwrap().payload(), b"payload");
        assert_eq!(store.load(&SessionKey::generate()).await.unwrap(), None);
        store
            .collection()
            .client()
            .database(&database)
            .drop()
            .await
            .unwrap();
    });
}

/// The app: empty 500s during the outage, no hang, and the same cookie works afterwards.
#[test]
fn paused_server_app_answers_500_and_recovers() {
    let Some(server) = OutageServer::from_env("paused_server_app_answers_500_and_recovers") else {
        return;
    };
    sessions_test::run(async {
        let paused = server.exclusive();
        let database = common::unique_database();
        let store = server.store(&database).await;
        let collection = store.collection().clone();
        check_outage(store, &paused, LIMIT).await;
        collection
            .client()
            .database(&database)
            .drop()
            .await
            .unwrap();
    });
}
