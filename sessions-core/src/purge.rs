//! Ending a session on log-out, in a way no concurrent request can undo.
//!
//! The record is first replaced by a tombstone with compare-and-set, then deleted. A request
//! that loaded the session before and saves after finds the tombstone (or nothing) and keeps
//! only its own changes, in a new session. If a concurrent renewal ended the record first, its
//! tombstone names the key the session moved to, and the purge follows it and ends that record
//! too: the log-out wins whichever request landed first.

use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::error::SessionError;
use crate::payload::{State, Tombstone};
use crate::retry::Retry;
use crate::save::Ctx;
use crate::store::Version;
use crate::token;

/// How many renewals in a row a purge follows.
const MAX_FOLLOW: usize = 4;

/// Ends the record under `key`, loaded at `version`, and any record it was renewed into.
/// (Boxed: see "Small futures" in docs/DESIGN.md.)
pub(crate) fn end<'a>(
    ctx: &'a Ctx<'a>,
    key: &SessionKey,
    version: Version,
) -> LocalBoxFuture<'a, Result<(), SessionError>> {
    let key = key.clone();
    Box::pin(async move {
        end_record(ctx, key, version, 0).await?;
        crate::observe::count(crate::observe::Event::Purged, &ctx.config.name);
        Ok(())
    })
}

async fn end_record(
    ctx: &Ctx<'_>,
    key: SessionKey,
    mut expected: Version,
    depth: usize,
) -> Result<(), SessionError> {
    let mut retry = Retry::new(ctx.config.retry_budget);
    // A store without compare-and-set has nothing to race with: the delete is enough.
    while ctx.config.store.compares_versions() {
        let tombstone = State::tombstone(Tombstone::Purged, vec![token::unique()]);
        match ctx.write(&key, &tombstone, expected).await {
            Ok(_) => break,
            // Contention that outlasts the budget is rare; the log-out happens all the same,
            // by the delete below.
            Err(err) if err.is_conflict() && !retry.backoff().await => break,
            Err(err) if err.is_conflict() || err.is_outcome_unknown() => {}
            Err(err) => return Err(ctx.store_error(err)),
        }
        match ctx.reload(&key).await? {
            None => return Ok(()),
            Some((state, version)) => match state.tombstone {
                Some(Tombstone::Purged) => break,
                Some(Tombstone::Renewed(next)) => return follow(ctx, next, depth).await,
                None => expected = version,
            },
        }
    }
    if let Err(err) = ctx.config.store.delete(&key).await {
        // The tombstone already ended the session; it expires on its own.
        tracing::warn!(session = %ctx.config.name, error = %err, "could not delete a purged session's tombstone");
    }
    Ok(())
}

/// Ends the record a renewal moved the session to.
async fn follow(ctx: &Ctx<'_>, next: SessionKey, depth: usize) -> Result<(), SessionError> {
    if depth >= MAX_FOLLOW {
        return Ok(());
    }
    match ctx.reload(&next).await? {
        Some((state, version)) if state.tombstone.is_none() => {
            Box::pin(end_record(ctx, next, version, depth + 1)).await
        }
        Some((state, _)) => match state.tombstone {
            Some(Tombstone::Renewed(further)) => Box::pin(follow(ctx, further, depth + 1)).await,
            _ => Ok(()),
        },
        None => Ok(()),
    }
}
