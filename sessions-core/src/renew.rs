//! Renewing a session: its latest state moves to a new key, and the old record ends.
//!
//! The first phase stores the state under a new key. The second ends the old record by
//! writing a tombstone over it through the compare-and-set loop, from the version the new
//! record's state is based on; the tombstone names the new key, so that a log-out that loaded
//! the session before the renewal can follow it (see `purge.rs`; the new key is never handed
//! to a client from it). What the loop finds decides the rest:
//!
//! - another request saved the old record first: the tombstone goes over that state, and the
//!   new record then takes it plus this request's changes, so no write that landed before the
//!   renewal is lost;
//! - the old record was purged (or expired): the new record keeps only this request's own
//!   changes, never the loaded state: a log-out is never undone;
//! - another request renewed it first: this renewal is abandoned (its new record deleted, no
//!   cookie sent), since the client has, or will get, that renewal's cookie.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::http::header::HeaderValue;
use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::cas::{self, Done, Seen, Step, Write};
use crate::ctx::Ctx;
use crate::error::SessionError;
use crate::observe::{self, Event};
use crate::payload::{State, Tombstone};
use crate::session::{Origin, SessionData};
use crate::store::Stored;

/// A renewal between its phases.
#[derive(Debug)]
pub(crate) struct Renewal {
    old: Origin,
    new: Stored,
    /// What the new record holds.
    state: State,
    data: SessionData,
}

/// What became of the old record.
enum Old {
    /// This renewal's tombstone ended it.
    Ended,
    /// Another renewal ended it first.
    RenewedAway,
    /// A purge (or its expiry) ended it first.
    Gone,
}

impl Renewal {
    /// The first phase: the new record, holding this request's state. (Boxed: see "Small
    /// futures" in docs/DESIGN.md.)
    pub(crate) fn begin<'a>(
        ctx: &'a Ctx<'a>,
        data: SessionData,
        old: Origin,
    ) -> LocalBoxFuture<'a, Result<Self, SessionError>> {
        Box::pin(async move {
            let mut state = data.state.clone();
            let new = ctx.create(&mut state, Some(&old.key)).await?;
            Ok(Self {
                old,
                new,
                state,
                data,
            })
        })
    }

    /// The second phase: ends the old record and sends the new cookie.
    pub(crate) fn finish<'a>(
        self,
        ctx: &'a Ctx<'a>,
        cookies: &'a mut Vec<HeaderValue>,
    ) -> LocalBoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.finish_boxed(ctx, cookies))
    }

    async fn finish_boxed(
        mut self,
        ctx: &Ctx<'_>,
        cookies: &mut Vec<HeaderValue>,
    ) -> Result<(), SessionError> {
        // A store without compare-and-set keeps no old record to end (the cookie store).
        if !ctx.config.store.compares_versions() {
            return self.send(ctx, cookies);
        }
        let (old, rebased) = self.end_old(ctx).await?;
        match old {
            Old::Ended => {
                if let Some(fresh) = rebased {
                    let state = ctx.merge(&self.data, fresh)?;
                    if !self.overwrite(ctx, state).await? {
                        return Ok(()); // a log-out that followed the tombstone ended it
                    }
                }
                self.send(ctx, cookies)
            }
            Old::RenewedAway => {
                self.abandon(ctx).await;
                Err(ctx.renewed_away())
            }
            Old::Gone => self.keep_own_changes(ctx, cookies).await,
        }
    }

    /// Writes the tombstone over the old record; what became of it, and the state the
    /// tombstone went over when another request had saved it since this one loaded it.
    async fn end_old(&self, ctx: &Ctx<'_>) -> Result<(Old, Option<State>), SessionError> {
        let new = self.new.key();
        let mut rebased = None;
        let write = Write {
            key: &self.old.key,
            state: Cow::Owned(tombstone(ctx, new, self.data.state.writes.clone())),
            expected: self.old.version,
            read_at: self.old.read_at,
            repeatable: true,
        };
        let done = cas::write(ctx, write, |seen| match seen {
            Seen::Live(fresh, version) => {
                let over = tombstone(ctx, new, fresh.writes.clone());
                rebased = Some(fresh);
                Ok(Step::Write(over, version))
            }
            Seen::Renewed(key) if key == *new => Ok(Step::Stop(Old::Ended)),
            Seen::Renewed(_) | Seen::Untraced => Ok(Step::Stop(Old::RenewedAway)),
            Seen::Purged | Seen::Gone => Ok(Step::Stop(Old::Gone)),
        })
        .await?;
        let old = match done {
            Done::Written { .. } => Old::Ended,
            Done::Stopped(old) => old,
        };
        Ok((old, rebased))
    }

    /// The old record is gone: the new record keeps only this request's own changes (or goes,
    /// when there are none).
    async fn keep_own_changes(
        mut self,
        ctx: &Ctx<'_>,
        cookies: &mut Vec<HeaderValue>,
    ) -> Result<(), SessionError> {
        // A new session: `merge` gives it a creation time, if it needs one.
        let state = ctx.merge(&self.data, State::default())?;
        if state.is_empty() {
            let deleted = ctx.config.store.delete(self.new.key()).await;
            return ctx.store_result(deleted);
        }
        if self.overwrite(ctx, state).await? {
            return self.send(ctx, cookies);
        }
        ctx.keep_own_changes(&self.data, &self.old.key, cookies)
            .await
    }

    /// Replaces the new record's state; `false` when a log-out that followed the tombstone
    /// ended the new record first. No other request writes it live, so a live record found by
    /// a reload is this request's own (a lost reply that did not land).
    async fn overwrite(&mut self, ctx: &Ctx<'_>, state: State) -> Result<bool, SessionError> {
        let key = self.new.key().clone();
        let write = Write {
            key: &key,
            state: Cow::Borrowed(&state),
            expected: self.new.version(),
            read_at: Instant::now(),
            repeatable: true,
        };
        let done = cas::write(ctx, write, |seen| match seen {
            Seen::Live(_, version) => Ok(Step::Write(state.clone(), version)),
            _ => Ok(Step::Stop(())),
        })
        .await?;
        match done {
            Done::Written { stored, state } => {
                self.state = state.into_owned();
                self.new = stored;
                Ok(true)
            }
            Done::Stopped(()) => Ok(false),
        }
    }

    /// Another renewal won: this one's new record goes (it expires anyway if that fails).
    async fn abandon(&self, ctx: &Ctx<'_>) {
        if let Err(err) = ctx.config.store.delete(self.new.key()).await {
            tracing::warn!(session = %ctx.config.name, error = %err, "could not delete an abandoned renewal's record");
        }
    }

    fn send(&self, ctx: &Ctx<'_>, cookies: &mut Vec<HeaderValue>) -> Result<(), SessionError> {
        cookies.push(ctx.cookie(self.new.key(), &self.state)?);
        observe::count(Event::Renewed, &ctx.config.name);
        Ok(())
    }
}

/// The tombstone that ends the old record, pointing to `new`, written over a state with
/// `writes` (so a lost reply is settled like any write).
fn tombstone(ctx: &Ctx<'_>, new: &SessionKey, writes: Vec<u64>) -> State {
    let mut tombstone = State::tombstone(Tombstone::Renewed(new.clone()), writes);
    ctx.stamp(&mut tombstone);
    tombstone
}
