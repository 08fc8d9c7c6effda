//! Saving against concurrent requests: a time budget with jittered exponential backoff, and
//! the compare-and-set loop that merges this request's changes into what others saved.
//!
//! When an update conflicts (another request of the session saved first), the record is
//! reloaded, this request's changes are replayed on the fresh state ([`Changes::replay`]) and
//! the write is tried again, until it lands or the session's retry budget is spent.
//!
//! When an update's reply is lost ([`StoreError::outcome_unknown`]), the write may or may not
//! have landed. Each write pushes a random token into the payload's write history, so the
//! reload tells: our token is there (it landed); or the state is still the one we wrote over
//! (it has not landed, and if it does later, our next compare-and-set fails and the reload after
//! that finds it); or the write that followed the state we wrote over is someone else's (ours
//! lost the race and never will land). When the history is too short to tell, changes that are
//! safe to apply twice are replayed, and others give up with the store's error rather than risk
//! applying a read-modify-write or a flash twice.
//!
//! [`Changes::replay`]: crate::changes::Changes::replay
//! [`StoreError::outcome_unknown`]: crate::StoreError::outcome_unknown

use std::borrow::Cow;
use std::time::{Duration, Instant};

use futures_util::future::LocalBoxFuture;

use crate::SessionKey;
use crate::error::SessionError;
use crate::payload::State;
use crate::queue::Turn;
use crate::save::Ctx;
use crate::session::SessionData;
use crate::store::{StoreError, Stored, Version};
use crate::token;

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(50);
/// The first attempt's pause is up to twice this; each later one up to twice the one before.
const BASE_BACKOFF: Duration = Duration::from_millis(1);

/// Attempts under a time budget that starts at the first conflict.
#[derive(Debug)]
pub(crate) struct Retry {
    budget: Duration,
    started: Option<Instant>,
    attempts: u32,
}

impl Retry {
    pub(crate) fn new(budget: Duration) -> Self {
        Self {
            budget,
            started: None,
            attempts: 0,
        }
    }

    /// Waits a random time up to an exponentially growing bound ("full jitter", so that
    /// requests that conflicted together do not retry together); `false`, without waiting,
    /// once the budget is spent.
    pub(crate) async fn backoff(&mut self) -> bool {
        let started = *self.started.get_or_insert_with(Instant::now);
        let left = self.budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            return false;
        }
        self.attempts += 1;
        let bound = BASE_BACKOFF
            .saturating_mul(1 << self.attempts.min(16))
            .min(MAX_BACKOFF);
        let pause = bound.mul_f64(fraction(token::unique())).min(left);
        if !pause.is_zero() {
            actix_web::rt::time::sleep(pause).await;
        }
        true
    }

    /// The error for a budget spent on conflicts.
    pub(crate) fn exhausted(&self, ctx: &Ctx<'_>) -> SessionError {
        crate::observe::count(crate::observe::Event::RetriesExhausted, &ctx.config.name);
        SessionError::Contention {
            session: ctx.config.name.clone(),
            attempts: self.attempts as usize + 1,
            waited: self.started.map_or(Duration::ZERO, |s| s.elapsed()),
        }
    }
}

/// `bits` as a number in `[0, 1)`.
fn fraction(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

/// A write whose reply was lost.
#[derive(Debug)]
struct Unsettled {
    token: u64,
    /// The token of the state it was written over, if that state had one.
    parent: Option<u64>,
    /// The version it was written over.
    expected: Version,
}

impl Unsettled {
    /// The write of `candidate` over `expected`; `None` when it carries no token (a store
    /// without compare-and-set, which should not lose replies this way).
    fn of(candidate: &State, expected: Version) -> Option<Self> {
        let mut writes = candidate.writes.iter().rev();
        Some(Self {
            token: *writes.next()?,
            parent: writes.next().copied(),
            expected,
        })
    }

    /// Whether this write can be shown never to land on `state` (at `version`): it is not in
    /// flight anymore because another write followed the state it was written over, or it has
    /// simply not landed yet (the state is still that one; if it lands later, the next
    /// compare-and-set fails and the reload after it finds it).
    fn not_landed(&self, state: &State, version: Version) -> bool {
        if version == self.expected {
            return true;
        }
        let Some(parent) = self.parent else {
            return false;
        };
        state
            .writes
            .iter()
            .position(|&t| t == parent)
            .is_some_and(|i| i + 1 < state.writes.len())
    }
}

/// What a reload says about this request's writes whose replies were lost.
#[derive(Debug, PartialEq, Eq)]
enum Settled {
    /// One of them landed.
    Landed,
    /// None did (or there were none).
    NotLanded,
    /// Cannot tell.
    Unknown,
}

fn settle(unsettled: &[Unsettled], fresh: Option<&(State, Version)>) -> Settled {
    let Some((state, version)) = fresh else {
        // Gone: whatever landed was ended since (a log-out); the caller starts over.
        return Settled::NotLanded;
    };
    if unsettled.iter().any(|w| state.writes.contains(&w.token)) {
        Settled::Landed
    } else if unsettled.iter().all(|w| w.not_landed(state, *version)) {
        Settled::NotLanded
    } else {
        Settled::Unknown
    }
}

/// How a save with retries ended.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    /// The record (under `stored`'s key, which a client-side store changes) now holds `state`,
    /// this request's changes included.
    Stored {
        stored: Stored,
        state: Cow<'a, State>,
    },
    /// The record is gone (purged, renewed or expired meanwhile).
    Gone,
}

/// After the first write of `data`'s state over the record under `key` (loaded at `loaded`)
/// failed with `first` (a conflict or a lost reply): merges this request's changes into the
/// fresh state and retries, or settles the lost reply (see the module documentation).
/// `data.state` carries its write token.
///
/// Boxed, outside any `async fn`: see "Small futures" in docs/DESIGN.md.
///
/// # Errors
///
/// [`SessionError::Contention`] when the budget is spent, a store error (including an outcome
/// that stayed unknown), or [`SessionError::Codec`] when a replayed update fails.
pub(crate) fn update<'a>(
    ctx: &'a Ctx<'a>,
    key: &'a SessionKey,
    data: &'a SessionData,
    loaded: Version,
    first: StoreError,
) -> LocalBoxFuture<'a, Result<Outcome<'a>, SessionError>> {
    Box::pin(merge(ctx, key, data, loaded, first))
}

async fn merge<'a>(
    ctx: &'a Ctx<'a>,
    key: &'a SessionKey,
    data: &'a SessionData,
    loaded: Version,
    first: StoreError,
) -> Result<Outcome<'a>, SessionError> {
    let mut candidate = Cow::Borrowed(&data.state);
    let mut expected = loaded;
    let mut written: Result<Stored, StoreError> = Err(first);
    // Taken at the first conflict: a save that does not conflict never queues.
    let mut turn: Option<Turn<'_>> = None;
    let mut retry = Retry::new(ctx.config.retry_budget);
    let mut unsettled = Vec::new();
    loop {
        let mut lost: Option<StoreError> = None;
        match written {
            Ok(stored) => {
                if let Some(turn) = &mut turn {
                    turn.leave_hint(|| candidate.clone().into_owned(), stored.version());
                }
                return Ok(Outcome::Stored {
                    stored,
                    state: candidate,
                });
            }
            // The first conflict queues this save behind the others of this process (below);
            // the budget for conflicts starts once it has its turn.
            Err(err) if err.is_conflict() && turn.is_none() => {}
            Err(err) if err.is_conflict() => {
                if !retry.backoff().await && unsettled.is_empty() {
                    return Err(retry.exhausted(ctx));
                }
            }
            Err(err) if err.is_outcome_unknown() => match Unsettled::of(&candidate, expected) {
                Some(write) => {
                    unsettled.push(write);
                    lost = Some(err);
                }
                None => return Err(ctx.store_error(err)),
            },
            Err(err) => return Err(ctx.store_error(err)),
        }
        if unsettled.is_empty() && retry.spent() {
            return Err(retry.exhausted(ctx));
        }
        if turn.is_none() {
            let turn = turn.insert(ctx.take_turn(key).await);
            if let (true, Some((state, version))) = (unsettled.is_empty(), turn.take_hint()) {
                // Another save of this session from this process wrote after this request
                // loaded: replay on what it wrote instead of reloading.
                candidate = Cow::Owned(ctx.merge(data, state)?);
                expected = version;
                written = ctx.write(key, &candidate, expected).await;
                continue;
            }
        }
        let fresh = ctx.reload_live(key).await?;
        match settle(&unsettled, fresh.as_ref()) {
            Settled::Landed => {
                let (state, version) = fresh.expect("a landed write was found in a record");
                if let Some(turn) = &mut turn {
                    turn.leave_hint(|| state.clone(), version);
                }
                return Ok(Outcome::Stored {
                    stored: Stored::new(key.clone(), version),
                    state: Cow::Owned(state),
                });
            }
            Settled::Unknown if !data.changes.is_idempotent() => {
                let err = lost.unwrap_or_else(|| StoreError::outcome_unknown("an earlier write"));
                return Err(ctx.store_error(err));
            }
            Settled::Unknown | Settled::NotLanded => {}
        }
        if retry.spent() {
            return Err(retry.exhausted(ctx));
        }
        let Some((fresh, version)) = fresh else {
            return Ok(Outcome::Gone);
        };
        candidate = Cow::Owned(ctx.merge(data, fresh)?);
        expected = version;
        written = ctx.write(key, &candidate, expected).await;
    }
}

impl Ctx<'_> {
    /// This save's turn among the saves of the session `key` from this process. Queueing
    /// behind them is not contention: it lasts as long as the queue moves, however long that
    /// is, and only a turn not handed on for a whole budget is skipped.
    async fn take_turn(&self, key: &SessionKey) -> Turn<'_> {
        self.config.saves.turn(key, self.config.retry_budget).await
    }
}

impl Retry {
    /// Whether the budget started and is spent.
    fn spent(&self) -> bool {
        self.started
            .is_some_and(|started| started.elapsed() >= self.budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(writes: &[u64]) -> State {
        State {
            writes: writes.to_vec(),
            ..State::default()
        }
    }

    fn unsettled(token: u64, parent: Option<u64>, expected: u64) -> Unsettled {
        Unsettled {
            token,
            parent,
            expected: Version::new(expected),
        }
    }

    #[test]
    fn a_lost_write_found_in_the_history_landed() {
        let w = [unsettled(7, Some(1), 10)];
        let fresh = (state(&[1, 7, 8]), Version::new(12));
        assert_eq!(settle(&w, Some(&fresh)), Settled::Landed);
    }

    #[test]
    fn a_lost_write_over_an_unchanged_state_has_not_landed() {
        let w = [unsettled(7, Some(1), 10)];
        let fresh = (state(&[1]), Version::new(10));
        assert_eq!(settle(&w, Some(&fresh)), Settled::NotLanded);
    }

    #[test]
    fn another_write_after_our_parent_means_ours_lost() {
        let w = [unsettled(7, Some(1), 10)];
        let fresh = (state(&[1, 5, 6]), Version::new(12));
        assert_eq!(settle(&w, Some(&fresh)), Settled::NotLanded);
    }

    #[test]
    fn a_history_that_moved_past_our_parent_cannot_tell() {
        let w = [unsettled(7, Some(1), 10)];
        let fresh = (state(&[3, 4, 5, 6]), Version::new(15));
        assert_eq!(settle(&w, Some(&fresh)), Settled::Unknown);
        let orphan = [unsettled(7, None, 10)];
        assert_eq!(settle(&orphan, Some(&fresh)), Settled::Unknown);
    }

    #[test]
    fn nothing_to_settle_or_nothing_left() {
        let fresh = (state(&[1]), Version::new(1));
        assert_eq!(settle(&[], Some(&fresh)), Settled::NotLanded);
        assert_eq!(settle(&[unsettled(7, None, 1)], None), Settled::NotLanded);
    }

    #[test]
    fn fractions_stay_below_one() {
        assert_eq!(fraction(0), 0.0);
        assert!(fraction(u64::MAX) < 1.0);
    }

    #[actix_web::test]
    async fn the_budget_ends_the_retries() {
        let mut retry = Retry::new(Duration::from_millis(30));
        let started = Instant::now();
        let mut attempts = 0;
        while retry.backoff().await {
            attempts += 1;
            assert!(attempts < 10_000, "the budget never ran out");
        }
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(retry.spent());
    }
}
