//! The one compare-and-set loop that every write of a session goes through: an update with
//! its merge, both phases of a renewal, a purge and the renewals it follows.
//!
//! Like [`AtomicUsize::fetch_update`](std::sync::atomic::AtomicUsize::fetch_update), the loop
//! owns "try to write, on conflict look again and decide again"; each caller passes only the
//! decision ([`Seen`] in, [`Step`] out). The loop owns the rest, once for every kind of write:
//!
//! - **Turns.** The first conflict queues the write behind the others of the same session in
//!   this process (`queue.rs`), and the state the one before it wrote is taken as what it sees,
//!   instead of a reload.
//! - **Budget.** Conflicts retry under the session's retry budget, which starts once the write
//!   has its turn, with jittered exponential pauses ("full jitter": writes that collided do not
//!   collide again in step). A spent budget is [`SessionError::Contention`].
//! - **Lost replies.** After [`StoreError::outcome_unknown`] the write may or may not have
//!   landed. Every payload carries the random tokens of its last writes, so the reload tells:
//!   our token is there (it landed); or the state is still the one we wrote over (it has not
//!   landed, and if it does later, our next compare-and-set fails and the reload after that
//!   finds it); or the write that followed the state we wrote over is someone else's (ours lost
//!   the race and never will land). When the history cannot tell, a write that is safe to apply
//!   twice is decided again; any other gives up with the store's error, never with a
//!   retryable one (the write may still land).
//! - **What was found.** A reload is classified once ([`Seen`]): a live state, a tombstone of
//!   a purge or of a renewal, or nothing. "Nothing" read long after the request loaded the
//!   record cannot rule out a renewal whose tombstone has expired since: that is
//!   [`Seen::Untraced`], so no caller mistakes it for a plain expiry.
//!
//! [`StoreError::outcome_unknown`]: crate::StoreError::outcome_unknown

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::SessionKey;
use crate::ctx::{Ctx, TOMBSTONE_TTL};
use crate::error::SessionError;
use crate::observe::{self, Event};
use crate::payload::{State, Tombstone};
use crate::queue::Turn;
use crate::store::{StoreError, Stored, Version};
use crate::token;

/// What a write found at its record when it could not simply write.
#[derive(Debug)]
pub(crate) enum Seen {
    /// A live session, at this version.
    Live(State, Version),
    /// A log-out ended it.
    Purged,
    /// A renewal moved it to the session under this key.
    Renewed(SessionKey),
    /// Nothing: it expired (or could not be read) while the request ran.
    Gone,
    /// Nothing, and the request read it live longer ago than a tombstone lasts: a renewal
    /// since cannot be ruled out.
    Untraced,
}

/// A caller's decision on what its write found.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// Write this state, expecting this version.
    Write(State, Version),
    /// Stop without writing.
    Stop(T),
}

/// How a write ended.
#[derive(Debug)]
pub(crate) enum Done<'a, T> {
    /// The record (under `stored`'s key, which a client-side store changes) holds `state`.
    /// After a lost reply that landed, `state` is what the reload found, which may already be
    /// a later request's tombstone.
    Written {
        stored: Stored,
        state: Cow<'a, State>,
    },
    /// The caller stopped.
    Stopped(T),
}

/// One write through the loop: the record, the first state to try and what it expects.
#[derive(Debug)]
pub(crate) struct Write<'a> {
    pub(crate) key: &'a SessionKey,
    pub(crate) state: Cow<'a, State>,
    pub(crate) expected: Version,
    /// When the request read the record live (for [`Seen::Untraced`]).
    pub(crate) read_at: Instant,
    /// Whether writing it again after a lost reply that cannot be settled is harmless.
    pub(crate) repeatable: bool,
}

/// Writes `write`, and on every conflict or lost reply looks at the record again and asks
/// `decide` what to do.
///
/// # Errors
///
/// [`SessionError::Contention`] when the budget is spent, a store error (including a lost
/// reply that stayed unknown), or whatever `decide` returns.
pub(crate) async fn write<'a, T>(
    ctx: &Ctx<'_>,
    write: Write<'a>,
    decide: impl FnMut(Seen) -> Result<Step<T>, SessionError>,
) -> Result<Done<'a, T>, SessionError> {
    match ctx.write(write.key, &write.state, write.expected).await {
        Ok(stored) => Ok(Done::Written {
            stored,
            state: write.state,
        }),
        // Boxed, as the rare outcomes are: see "Small futures" in docs/DESIGN.md.
        Err(first) => Box::pin(retry(ctx, write, first, decide)).await,
    }
}

/// The loop, after the first attempt failed with `first`.
async fn retry<'a, T>(
    ctx: &Ctx<'_>,
    write: Write<'a>,
    first: StoreError,
    mut decide: impl FnMut(Seen) -> Result<Step<T>, SessionError>,
) -> Result<Done<'a, T>, SessionError> {
    let Write {
        key,
        state: mut candidate,
        mut expected,
        read_at,
        repeatable,
    } = write;
    let mut attempt = Attempts::new(ctx);
    let mut written = Err(first);
    loop {
        let fresh = match attempt
            .failed(ctx, key, written, &candidate, expected)
            .await?
        {
            Failed::No(stored) => {
                attempt.leave_hint(|| candidate.clone().into_owned(), stored.version());
                return Ok(Done::Written {
                    stored,
                    state: candidate,
                });
            }
            Failed::Yes(fresh) => fresh,
        };
        if let Some((state, version)) = attempt.landed(ctx, fresh.as_ref(), repeatable)? {
            return Ok(Done::Written {
                stored: Stored::new(key.clone(), version),
                state: Cow::Owned(state),
            });
        }
        attempt.check_budget(ctx)?;
        match decide(seen(fresh, read_at))? {
            Step::Write(state, version) => (candidate, expected) = (Cow::Owned(state), version),
            Step::Stop(stop) => return Ok(Done::Stopped(stop)),
        }
        written = ctx.write(key, &candidate, expected).await;
    }
}

/// Classifies what a reload found.
pub(crate) fn seen(found: Option<(State, Version)>, read_at: Instant) -> Seen {
    match found {
        Some((state, version)) => match state.tombstone {
            None => Seen::Live(state, version),
            Some(Tombstone::Purged) => Seen::Purged,
            Some(Tombstone::Renewed(next)) => Seen::Renewed(next),
        },
        None if read_at.elapsed() >= TOMBSTONE_TTL => Seen::Untraced,
        None => Seen::Gone,
    }
}

/// The state of one write's attempts: its turn, its budget and its lost replies.
struct Attempts<'q> {
    /// Taken at the first conflict: a write that does not conflict never queues.
    turn: Option<Turn<'q>>,
    retry: Retry,
    unsettled: Vec<Unsettled>,
    /// The last lost reply's error.
    lost: Option<StoreError>,
    conflicted: bool,
}

/// What a write's result means for the loop.
enum Failed {
    No(Stored),
    /// It failed; this is the record as it is now (from the queue's hint or a reload).
    Yes(Option<(State, Version)>),
}

impl<'q> Attempts<'q> {
    fn new(ctx: &Ctx<'_>) -> Self {
        Self {
            turn: None,
            retry: Retry::new(ctx.config.retry_budget),
            unsettled: Vec::new(),
            lost: None,
            conflicted: false,
        }
    }

    /// After a write: its result, or the record as it is now.
    async fn failed(
        &mut self,
        ctx: &'q Ctx<'_>,
        key: &SessionKey,
        written: Result<Stored, StoreError>,
        candidate: &State,
        expected: Version,
    ) -> Result<Failed, SessionError> {
        match written {
            Ok(stored) => {
                if self.conflicted {
                    observe::count(Event::Merged, &ctx.config.name);
                }
                return Ok(Failed::No(stored));
            }
            Err(err) if err.is_conflict() => {
                self.conflicted = true;
                // The budget starts once the write has its turn: queueing is not contention.
                if self.turn.is_some() && !self.retry.backoff().await {
                    return Err(self.give_up(ctx));
                }
            }
            Err(err) if err.is_outcome_unknown() => match Unsettled::of(candidate, expected) {
                Some(write) => {
                    self.unsettled.push(write);
                    self.lost = Some(err);
                }
                None => return Err(ctx.store_error(err)),
            },
            Err(err) => return Err(ctx.store_error(err)),
        }
        if self.turn.is_none() {
            let turn = self.turn.insert(ctx.take_turn(key).await);
            // Another write of this session from this process landed after this request read
            // it: decide on what it wrote instead of reloading.
            if let (true, Some(hint)) = (self.unsettled.is_empty(), turn.take_hint()) {
                return Ok(Failed::Yes(Some(hint)));
            }
        }
        ctx.reload(key).await.map(Failed::Yes)
    }

    /// Whether one of this write's lost replies landed (the record as it is then), or the
    /// error when that cannot be told and the write must not be repeated.
    fn landed(
        &mut self,
        ctx: &Ctx<'_>,
        fresh: Option<&(State, Version)>,
        repeatable: bool,
    ) -> Result<Option<(State, Version)>, SessionError> {
        match settle(&self.unsettled, fresh) {
            Settled::Landed => {
                let (state, version) = fresh.cloned().expect("a landed write was found");
                self.leave_hint(|| state.clone(), version);
                Ok(Some((state, version)))
            }
            Settled::Unknown if !repeatable => Err(self.lost_error(ctx)),
            Settled::Unknown | Settled::NotLanded => Ok(None),
        }
    }

    fn check_budget(&self, ctx: &Ctx<'_>) -> Result<(), SessionError> {
        match self.retry.spent() {
            true => Err(self.give_up(ctx)),
            false => Ok(()),
        }
    }

    /// The error for a spent budget: contention, unless a write whose reply was lost may still
    /// land, which no client may be told to retry.
    fn give_up(&self, ctx: &Ctx<'_>) -> SessionError {
        if !self.unsettled.is_empty() {
            return self.lost_error(ctx);
        }
        observe::count(Event::RetriesExhausted, &ctx.config.name);
        SessionError::Contention {
            session: ctx.config.name.clone(),
            attempts: self.retry.attempts as usize + 1,
            waited: self.retry.started.map_or(Duration::ZERO, |s| s.elapsed()),
        }
    }

    fn lost_error(&self, ctx: &Ctx<'_>) -> SessionError {
        let err = self.lost.as_ref().map_or_else(
            || StoreError::outcome_unknown("an earlier write"),
            |lost| StoreError::outcome_unknown(lost.to_string()),
        );
        ctx.store_error(err)
    }

    fn leave_hint(&mut self, state: impl FnOnce() -> State, version: Version) {
        if let Some(turn) = &mut self.turn {
            turn.leave_hint(state, version);
        }
    }
}

impl Ctx<'_> {
    /// This write's turn among the writes of the session `key` from this process. Queueing
    /// behind them is not contention: it lasts as long as the queue moves, however long that
    /// is, and only a turn not handed on for a whole budget is skipped.
    async fn take_turn(&self, key: &SessionKey) -> Turn<'_> {
        self.config.saves.turn(key, self.config.retry_budget).await
    }
}

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(50);
/// The first attempt's pause is up to twice this; each later one up to twice the one before.
const BASE_BACKOFF: Duration = Duration::from_millis(1);

/// Attempts under a time budget that starts at the first pause.
#[derive(Debug)]
struct Retry {
    budget: Duration,
    started: Option<Instant>,
    attempts: u32,
}

impl Retry {
    fn new(budget: Duration) -> Self {
        Self {
            budget,
            started: None,
            attempts: 0,
        }
    }

    /// Waits a random time up to an exponentially growing bound; `false`, without waiting,
    /// once the budget is spent.
    async fn backoff(&mut self) -> bool {
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

    /// Whether the budget started and is spent.
    fn spent(&self) -> bool {
        self.started
            .is_some_and(|started| started.elapsed() >= self.budget)
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

    /// Whether this write can be shown never to land on `state` (at `version`): another write
    /// followed the state it was written over, or it has not landed yet (the state is still
    /// that one).
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

/// What a reload says about a write's lost replies.
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
    if unsettled.is_empty() {
        return Settled::NotLanded;
    }
    let Some((state, version)) = fresh else {
        // Gone: whatever landed was ended since (a log-out, an expiry); the caller decides
        // on the record being gone.
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
    fn nothing_read_long_after_the_load_cannot_rule_out_a_renewal() {
        assert!(matches!(seen(None, Instant::now()), Seen::Gone));
        let long_ago = Instant::now().checked_sub(TOMBSTONE_TTL);
        if let Some(read_at) = long_ago {
            assert!(matches!(seen(None, read_at), Seen::Untraced));
        }
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
