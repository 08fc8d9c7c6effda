//! Ending a session on log-out, in a way no concurrent request can undo.
//!
//! The record is replaced by a tombstone through the compare-and-set loop. A request that
//! loaded the session before and saves after finds the tombstone and keeps only its own
//! changes, in a new session. If a renewal ended the record first, its tombstone names the key
//! the session moved to, and the purge follows it and ends that record too, however many
//! renewals there were: the log-out wins whichever request landed first. A log-out that cannot
//! tell whether the session lives on fails ([`SessionError::LogOutUnconfirmed`]) rather than
//! answer a quiet success.
//!
//! The tombstone is left to expire (it is not deleted), so a second log-out at the same time
//! finds it and succeeds, and a request that loaded the session before finds "purged", not
//! "gone".

use std::borrow::Cow;
use std::time::Instant;

use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::cas::{self, Done, Seen, Step, Write};
use crate::ctx::Ctx;
use crate::error::SessionError;
use crate::observe::{self, Event};
use crate::payload::{State, Tombstone};
use crate::session::Origin;
use crate::store::Version;
use crate::token;

/// How many renewals in a row a purge follows. Each renewal needs a request, and a tombstone
/// lives a minute: a longer chain is a loop in a damaged store, not a user.
const MAX_FOLLOW: usize = 64;

/// Ends the record `origin` names, and any record it was renewed into. (Boxed: see "Small
/// futures" in docs/DESIGN.md.)
pub(crate) fn end<'a>(
    ctx: &'a Ctx<'a>,
    origin: &'a Origin,
) -> LocalBoxFuture<'a, Result<(), SessionError>> {
    Box::pin(async move {
        // A store without compare-and-set has nothing to race with: the delete is enough.
        if !ctx.config.store.compares_versions() {
            return ctx.store_result(ctx.config.store.delete(&origin.key).await);
        }
        let mut next = end_record(ctx, &origin.key, origin.version, origin.read_at).await?;
        let mut followed = 0;
        while let Some(key) = next {
            followed += 1;
            if followed > MAX_FOLLOW {
                return Err(ctx.unconfirmed_log_out());
            }
            let read_at = Instant::now();
            next = match cas::seen(ctx.reload(&key).await?, read_at) {
                Seen::Live(_, version) => end_record(ctx, &key, version, read_at).await?,
                Seen::Renewed(further) => Some(further),
                Seen::Purged | Seen::Gone | Seen::Untraced => None,
            };
        }
        observe::count(Event::Purged, &ctx.config.name);
        Ok(())
    })
}

/// Writes a "purged" tombstone over the record under `key`; the key a renewal moved the
/// session to, if one did first.
async fn end_record(
    ctx: &Ctx<'_>,
    key: &SessionKey,
    expected: Version,
    read_at: Instant,
) -> Result<Option<SessionKey>, SessionError> {
    let write = Write {
        key,
        state: Cow::Owned(purged()),
        expected,
        read_at,
        repeatable: true,
    };
    let done = cas::write(ctx, write, |seen| match seen {
        Seen::Live(_, version) => Ok(Step::Write(purged(), version)),
        Seen::Renewed(next) => Ok(Step::Stop(Some(next))),
        Seen::Purged | Seen::Gone => Ok(Step::Stop(None)),
        Seen::Untraced => Err(ctx.unconfirmed_log_out()),
    })
    .await?;
    match done {
        Done::Written { .. } => Ok(None),
        Done::Stopped(next) => Ok(next),
    }
}

fn purged() -> State {
    State::tombstone(Tombstone::Purged, vec![token::unique()])
}

impl Ctx<'_> {
    pub(crate) fn unconfirmed_log_out(&self) -> SessionError {
        SessionError::LogOutUnconfirmed {
            session: self.config.name.clone(),
        }
    }
}
