//! Renewing a session: its latest state moves to a new key, and the old record ends.
//!
//! The first phase stores the state under a new key. The second ends the old record by
//! writing a tombstone over it with compare-and-set, from the version the new record's state
//! is based on. Whenever another request saved the old record first, the new record takes the
//! fresh state plus this request's changes and the tombstone is tried again; so no write that
//! landed before the renewal is lost. If the old record was purged (or renewed by another
//! request) meanwhile, the new record keeps only this request's own changes: a log-out is never
//! undone. The tombstone names the new key, so that a log-out that loaded the session before
//! the renewal can follow it (see `purge.rs`); the new key is never handed to a client from it.

use actix_web::http::header::HeaderValue;
use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::error::SessionError;
use crate::payload::{State, Tombstone};
use crate::retry::Retry;
use crate::save::Ctx;
use crate::session::SessionData;
use crate::store::{Stored, Version};

/// A renewal between its phases.
#[derive(Debug)]
pub(crate) struct Renewal {
    old: SessionKey,
    /// The old record's version that the new record's state is based on.
    expected: Version,
    /// The old record's write history at that version.
    old_writes: Vec<u64>,
    new: Stored,
    /// What the new record holds.
    state: State,
    data: SessionData,
}

/// How an attempt to end the old record went.
enum Ended {
    Yes,
    Conflict,
    Unknown,
}

impl Renewal {
    /// The first phase: the new record, holding this request's state. (Boxed: see "Small
    /// futures" in docs/DESIGN.md.)
    pub(crate) fn begin<'a>(
        ctx: &'a Ctx<'a>,
        data: SessionData,
        old: SessionKey,
        expected: Version,
    ) -> LocalBoxFuture<'a, Result<Self, SessionError>> {
        Box::pin(async move {
            let mut state = data.state.clone();
            let new = ctx.create(&mut state).await?;
            Ok(Self {
                old,
                expected,
                old_writes: data.state.writes.clone(),
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
        let mut retry = Retry::new(ctx.config.retry_budget);
        // A store without compare-and-set keeps no old record to end (the cookie store).
        while ctx.config.store.compares_versions() {
            match self.end_old(ctx).await? {
                Ended::Yes => break,
                Ended::Conflict if !retry.backoff().await => return Err(retry.exhausted(ctx)),
                Ended::Conflict | Ended::Unknown => {}
            }
            let moved_here = Some(Tombstone::Renewed(self.new.key().clone()));
            match ctx.reload(&self.old).await? {
                Some((old, _)) if old.tombstone == moved_here => break,
                Some((fresh, version)) if fresh.tombstone.is_none() => {
                    self.rebase(ctx, fresh, version).await?;
                }
                _ => return self.keep_own_changes(ctx, cookies).await,
            }
        }
        cookies.push(ctx.cookie(self.new.key(), &self.state)?);
        crate::observe::count(crate::observe::Event::Renewed, &ctx.config.name);
        Ok(())
    }

    async fn end_old(&self, ctx: &Ctx<'_>) -> Result<Ended, SessionError> {
        let mut tombstone = State::tombstone(
            Tombstone::Renewed(self.new.key().clone()),
            self.old_writes.clone(),
        );
        ctx.stamp(&mut tombstone);
        match ctx.write(&self.old, &tombstone, self.expected).await {
            Ok(_) => Ok(Ended::Yes),
            Err(err) if err.is_conflict() => Ok(Ended::Conflict),
            Err(err) if err.is_outcome_unknown() => Ok(Ended::Unknown),
            Err(err) => Err(ctx.store_error(err)),
        }
    }

    /// The old record moved on to `fresh` at `version`: the new record takes it, plus this
    /// request's changes.
    async fn rebase(
        &mut self,
        ctx: &Ctx<'_>,
        fresh: State,
        version: Version,
    ) -> Result<(), SessionError> {
        self.old_writes.clone_from(&fresh.writes);
        let state = ctx.merge(&self.data, fresh)?;
        self.overwrite(ctx, state).await?;
        self.expected = version;
        Ok(())
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
        if state.entries.is_empty() && state.flashes.is_empty() && state.options.is_none() {
            let deleted = ctx.config.store.delete(self.new.key()).await;
            return ctx.store_result(deleted);
        }
        self.overwrite(ctx, state).await?;
        cookies.push(ctx.cookie(self.new.key(), &self.state)?);
        Ok(())
    }

    /// Replaces the new record's state. No other request knows its key, so it cannot
    /// conflict; a lost reply is settled by reading the record back.
    async fn overwrite(&mut self, ctx: &Ctx<'_>, state: State) -> Result<(), SessionError> {
        let key = self.new.key().clone();
        match ctx.write(&key, &state, self.new.version()).await {
            Ok(stored) => self.new = stored,
            Err(err) if err.is_outcome_unknown() => {
                let found = ctx.reload(&key).await?;
                match found {
                    Some((held, version)) if held.last_write() == state.last_write() => {
                        self.new = Stored::new(key, version);
                    }
                    _ => return Err(ctx.store_error(err)),
                }
            }
            Err(err) => return Err(ctx.store_error(err)),
        }
        self.state = state;
        Ok(())
    }
}
