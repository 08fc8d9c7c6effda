//! The small pieces network stores share: idle checks, timeouts, TTL rounding, the mapping of
//! opening failures to store errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use sessions_core::{StoreError, StoreErrorKind};
use sessions_net::{
    IdleCheck, OpenError, PerThread, ThreadConnection, Timeouts, ZeroTimeout, ttl_millis,
    ttl_seconds,
};

#[derive(Clone)]
struct Conn(usize);
impl ThreadConnection for Conn {}

fn opener(opened: &AtomicUsize) -> impl Fn() -> std::future::Ready<Result<Conn, StoreError>> {
    move || std::future::ready(Ok(Conn(opened.fetch_add(1, SeqCst))))
}

#[tokio::test]
async fn an_idle_check_runs_only_on_connections_due_one() {
    let opened = AtomicUsize::new(0);
    let connections = PerThread::<Conn>::new(Duration::from_secs(1));
    let checked = Arc::new(AtomicBool::new(false));
    let check = IdleCheck::new(Duration::from_secs(3600), Duration::from_secs(1));
    let record = |_: Conn| {
        checked.store(true, SeqCst);
        async { true }
    };
    let first = check
        .lease(&connections, opener(&opened), record, &"test")
        .await
        .unwrap();
    assert!(first.is_fresh());
    let again = check
        .lease(&connections, opener(&opened), record, &"test")
        .await
        .unwrap();
    assert_eq!(again.connection().0, 0);
    assert!(!checked.load(SeqCst), "used within the hour: not checked");
}

#[tokio::test]
async fn a_connection_that_fails_or_outlasts_its_check_is_replaced() {
    let opened = AtomicUsize::new(0);
    let connections = PerThread::<Conn>::new(Duration::from_secs(1));
    let check = IdleCheck::new(Duration::ZERO, Duration::from_millis(50));
    connections.get(opener(&opened)).await.unwrap();
    let passed = check
        .lease(&connections, opener(&opened), |_| async { true }, &"test")
        .await
        .unwrap();
    assert_eq!(
        passed.connection().0,
        0,
        "a passing check keeps the connection"
    );
    let failed = check
        .lease(&connections, opener(&opened), |_| async { false }, &"test")
        .await
        .unwrap();
    assert_eq!(failed.connection().0, 1, "a failing check replaces it");
    assert_eq!(connections.open_connections(), 1);
    let hung = check
        .lease(
            &connections,
            opener(&opened),
            |_| std::future::pending::<bool>(),
            &"test",
        )
        .await
        .unwrap();
    assert_eq!(
        hung.connection().0,
        2,
        "a check that never answers is bounded"
    );
}

#[test]
fn timeouts_name_the_setter_of_a_zero_one() {
    let second = Duration::from_secs(1);
    assert!(Timeouts::new(second, second).validate().is_ok());
    let zero_connect = Timeouts::new(Duration::ZERO, Duration::ZERO).validate();
    assert_eq!(zero_connect.unwrap_err().setting(), "connect_timeout");
    let zero_io = Timeouts::new(second, second)
        .with_io(Duration::ZERO)
        .validate();
    assert_eq!(
        zero_io.unwrap_err().to_string(),
        "io_timeout must be longer than zero"
    );
    assert_eq!(
        ZeroTimeout::check("retry_interval", Duration::ZERO)
            .unwrap_err()
            .setting(),
        "retry_interval"
    );
}

#[test]
fn ttls_round_up_and_never_become_zero() {
    assert_eq!(ttl_seconds(Duration::ZERO), 1);
    assert_eq!(ttl_seconds(Duration::from_nanos(1)), 1);
    assert_eq!(ttl_seconds(Duration::from_secs(60)), 60);
    assert_eq!(ttl_seconds(Duration::from_millis(60_001)), 61);
    assert_eq!(ttl_seconds(Duration::MAX), u64::MAX);
    assert_eq!(ttl_millis(Duration::ZERO), 1);
    assert_eq!(ttl_millis(Duration::from_nanos(1)), 1);
    assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
    assert_eq!(ttl_millis(Duration::from_nanos(1_500_001)), 2);
    assert_eq!(ttl_millis(Duration::MAX), u64::MAX);
}

#[test]
fn opening_failures_become_store_errors_that_keep_their_cause() {
    let refused = StoreError::unavailable("refused").with_message("cannot connect to X");
    let err = OpenError::Failed(refused).into_store_error(&"X");
    assert!(err.to_string().starts_with("cannot connect to X"), "{err}");
    let err = OpenError::<StoreError>::TimedOut(Duration::from_millis(20)).into_store_error(&"X");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    let io = std::error::Error::source(&err)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .expect("an io::Error source");
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    let err = OpenError::<StoreError>::NoRuntime.into_store_error(&"X");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
}
