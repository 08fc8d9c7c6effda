//! What an operator can watch: a `tracing` span around every store call, and counters and
//! histograms through the `metrics` facade (feature `metrics`). Neither ever carries a session
//! key or a value: only the session's cookie name, the store's name, the operation and its
//! outcome.
//!
//! | metric | kind | labels | meaning |
//! |---|---|---|---|
//! | `sessions_created_total` | counter | `session` | new sessions stored |
//! | `sessions_renewed_total` | counter | `session` | sessions moved to a new key (`renew`) |
//! | `sessions_purged_total` | counter | `session` | sessions ended (`purge`) |
//! | `sessions_merged_total` | counter | `session` | saves that met a concurrent change and merged with it |
//! | `sessions_retries_exhausted_total` | counter | `session` | saves that gave up under contention (503) |
//! | `sessions_forged_cookies_total` | counter | `session` | cookies that failed authentication |
//! | `sessions_store_errors_total` | counter | `store`, `op`, `kind` | failed store calls, by [`StoreErrorKind`] |
//! | `sessions_store_call_seconds` | histogram | `store`, `op` | store call latency |

use std::future::Future;
use std::time::Instant;

use futures_util::future::LocalBoxFuture;
use tracing::Instrument as _;

use crate::store::{StoreError, StoreErrorKind};

/// A session event counted by a metric.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Created,
    Renewed,
    Purged,
    Merged,
    RetriesExhausted,
    ForgedCookie,
}

impl Event {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn metric(self) -> &'static str {
        match self {
            Self::Created => "sessions_created_total",
            Self::Renewed => "sessions_renewed_total",
            Self::Purged => "sessions_purged_total",
            Self::Merged => "sessions_merged_total",
            Self::RetriesExhausted => "sessions_retries_exhausted_total",
            Self::ForgedCookie => "sessions_forged_cookies_total",
        }
    }
}

/// Counts `event` for the session named `session` (a no-op without the `metrics` feature).
pub(crate) fn count(event: Event, session: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(event.metric(), "session" => session.to_owned()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (event, session);
}

/// One store call, boxed: inside a `session_store` span (fields `store`, `op`, `outcome`,
/// `micros`) with its latency and errors recorded as metrics when anyone listens, the bare
/// call otherwise.
///
/// Whether anyone listens is decided here, before boxing, so that the usual box holds the
/// store's future alone: an `async fn` taking the call keeps it twice (the argument and the
/// future it awaits), which doubled every store call's box and put memcached's past glibc's
/// per-thread cache (see "Small futures" in docs/DESIGN.md).
pub(crate) fn store_call<'a, T: 'a>(
    store: &'static str,
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>> + 'a,
) -> LocalBoxFuture<'a, Result<T, StoreError>> {
    // Nothing listening (no `metrics`, no subscriber taking debug spans): the bare call. A
    // disabled span still costs about 500 instructions per call through `tracing`'s `log`
    // fallback, which actix-web turns on: 4.8 % of a memory-store request (callgrind).
    if !cfg!(feature = "metrics") && !tracing::enabled!(tracing::Level::DEBUG) {
        return Box::pin(call);
    }
    Box::pin(observed(store, op, call))
}

async fn observed<T>(
    store: &'static str,
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let span = tracing::debug_span!(
        "session_store",
        store,
        op,
        outcome = tracing::field::Empty,
        micros = tracing::field::Empty,
    );
    // The clock is read only when someone is listening.
    let start = (cfg!(feature = "metrics") || !span.is_disabled()).then(Instant::now);
    let result = call.instrument(span.clone()).await;
    if let Some(start) = start {
        let elapsed = start.elapsed();
        let outcome = result
            .as_ref()
            .err()
            .map_or("ok", |err| kind_name(err.kind()));
        span.record("outcome", outcome);
        span.record(
            "micros",
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        #[cfg(feature = "metrics")]
        record_store_call(store, op, &result, elapsed);
    }
    result
}

#[cfg(feature = "metrics")]
fn record_store_call<T>(
    store: &'static str,
    op: &'static str,
    result: &Result<T, StoreError>,
    elapsed: std::time::Duration,
) {
    metrics::histogram!("sessions_store_call_seconds", "store" => store, "op" => op)
        .record(elapsed.as_secs_f64());
    if let Err(err) = result {
        let kind = kind_name(err.kind());
        metrics::counter!("sessions_store_errors_total", "store" => store, "op" => op, "kind" => kind)
            .increment(1);
    }
}

fn kind_name(kind: StoreErrorKind) -> &'static str {
    match kind {
        StoreErrorKind::Conflict => "conflict",
        StoreErrorKind::Unavailable => "unavailable",
        StoreErrorKind::Corrupt => "corrupt",
        StoreErrorKind::TooLarge => "too_large",
        StoreErrorKind::OutcomeUnknown => "outcome_unknown",
        StoreErrorKind::Other => "other",
    }
}
