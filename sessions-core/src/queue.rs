//! Saves of one session from this process take turns, and hand each other what they wrote.
//!
//! Compare-and-set keeps concurrent saves correct, but when many requests of one session save
//! at once, each round lets one through and makes every other one reload and write again: the
//! backend does work for all of them, and a slow backend cannot finish them within the retry
//! budget. Within one process the saves need not compete: a save that conflicted waits here for
//! the others, and each one leaves the state it wrote and its version for the next, which
//! replays its changes on that instead of reloading. The next compare-and-set then usually
//! succeeds at once, so N concurrent saves cost about two writes each. Saves from other
//! processes still meet at the store's compare-and-set, so the hint is only ever a shortcut: a
//! conflict falls back to a reload. A save that does not conflict never comes here.
//!
//! Waiting for a turn is bounded by progress, not by the length of the queue: a save waits as
//! long as the saves ahead of it keep finishing, and goes ahead without its turn
//! (compare-and-set still keeps it correct) only when no save of the session has finished for
//! a whole `patience`. A fixed bound on the whole wait would make the last of many queued saves
//! give up on a slow backend although the queue moves, and a save without its turn competes
//! with the queue at the store until its retry budget is spent (a 503).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::SessionKey;
use crate::payload::State;
use crate::store::Version;

/// What the last save of a session left for the next one: the state it wrote, at its version.
pub(crate) type Hint = Option<(State, Version)>;

/// The sessions with saves in progress in this process, each with its turn.
#[derive(Debug, Default)]
pub(crate) struct SaveQueue {
    turns: Mutex<HashMap<SessionKey, Arc<Slot>>>,
}

/// One session's turn, and how often it has been handed on.
#[derive(Debug, Default)]
struct Slot {
    turn: Arc<AsyncMutex<Hint>>,
    handoffs: AtomicU64,
}

/// A save's turn: held while it writes, given up when dropped.
#[derive(Debug)]
pub(crate) struct Turn<'q> {
    queue: &'q SaveQueue,
    key: SessionKey,
    /// Counted by the queue: the map holds one reference, each waiting or holding save one.
    slot: Arc<Slot>,
    guard: Option<OwnedMutexGuard<Hint>>,
}

impl SaveQueue {
    /// Waits until no other save of the session `key` runs in this process, or until no save
    /// of it has finished for `patience`.
    pub(crate) async fn turn(&self, key: &SessionKey, patience: Duration) -> Turn<'_> {
        let slot = {
            let mut turns = self.lock();
            Arc::clone(turns.entry(key.clone()).or_default())
        };
        let guard = match Arc::clone(&slot.turn).try_lock_owned() {
            Ok(guard) => Some(guard),
            Err(_) => slot.wait(patience).await,
        };
        Turn {
            queue: self,
            key: key.clone(),
            slot,
            guard,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Arc<Slot>>> {
        // Only map operations run under the lock: recover from a poisoning panic elsewhere.
        self.turns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions have saves in progress (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Slot {
    /// Waits for the turn (keeping this save's place: the lock is first come, first served)
    /// while the turn keeps being handed on at least once every `patience`.
    async fn wait(&self, patience: Duration) -> Option<OwnedMutexGuard<Hint>> {
        let mut turn = std::pin::pin!(Arc::clone(&self.turn).lock_owned());
        let mut seen = self.handoffs.load(Ordering::Relaxed);
        loop {
            if let Ok(guard) = actix_web::rt::time::timeout(patience, &mut turn).await {
                return Some(guard);
            }
            let now = self.handoffs.load(Ordering::Relaxed);
            if now == seen {
                return None;
            }
            seen = now;
        }
    }
}

impl Turn<'_> {
    /// What the previous save left, taken.
    pub(crate) fn take_hint(&mut self) -> Hint {
        self.guard.as_mut().and_then(|hint| hint.take())
    }

    /// Leaves `state` at `version` for the next save, if one waits.
    pub(crate) fn leave_hint(&mut self, state: impl FnOnce() -> State, version: Version) {
        let waiting = {
            // Saves join the slot under the map's lock.
            let _turns = self.queue.lock();
            Arc::strong_count(&self.slot) > 2
        };
        if let (true, Some(hint)) = (waiting, self.guard.as_mut()) {
            **hint = Some((state(), version));
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = self.queue.lock();
        // Let the next save go, then forget the session if nobody else waits for its turn.
        if self.guard.take().is_some() {
            self.slot.handoffs.fetch_add(1, Ordering::Relaxed);
        }
        let last = Arc::strong_count(&self.slot) == 2;
        if last
            && turns
                .get(&self.key)
                .is_some_and(|s| Arc::ptr_eq(s, &self.slot))
        {
            turns.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn saves_take_turns_and_pass_their_state_on() {
        let queue = SaveQueue::default();
        let key = SessionKey::generate();
        let mut first = queue.turn(&key, Duration::from_secs(5)).await;
        assert_eq!(first.take_hint(), None);
        let second = queue.turn(&key, Duration::from_secs(5));
        let (mut second, ()) = futures_util::future::join(second, async {
            // The second waits: it can only have its turn once the first is dropped.
            actix_web::rt::task::yield_now().await;
            first.leave_hint(State::default, Version::new(7));
            drop(first);
        })
        .await;
        assert_eq!(
            second.take_hint(),
            Some((State::default(), Version::new(7)))
        );
        drop(second);
        assert_eq!(queue.len(), 0, "a finished session stays in the queue");
    }

    #[actix_web::test]
    async fn no_hint_is_left_when_nobody_waits() {
        let queue = SaveQueue::default();
        let key = SessionKey::generate();
        let mut only = queue.turn(&key, Duration::from_secs(5)).await;
        only.leave_hint(|| unreachable!("nobody waits"), Version::new(1));
        drop(only);
        let mut next = queue.turn(&key, Duration::from_secs(5)).await;
        assert_eq!(next.take_hint(), None);
    }

    #[actix_web::test]
    async fn a_turn_not_given_in_time_is_taken_anyway() {
        let queue = SaveQueue::default();
        let key = SessionKey::generate();
        let _held = queue.turn(&key, Duration::from_secs(5)).await;
        let mut impatient = queue.turn(&key, Duration::from_millis(10)).await;
        assert_eq!(impatient.take_hint(), None);
    }

    /// A queue that keeps moving is waited for, however long it is: only a turn that is not
    /// handed on for a whole `patience` is skipped.
    #[actix_web::test]
    async fn a_moving_queue_is_waited_for_past_the_patience() {
        let queue = SaveQueue::default();
        let key = SessionKey::generate();
        let patience = Duration::from_millis(400);
        let hold = Duration::from_millis(100);
        let started = std::time::Instant::now();
        let saves = (0..8).map(|_| async {
            let turn = queue.turn(&key, patience).await;
            let had_it = turn.guard.is_some();
            actix_web::rt::time::sleep(hold).await;
            had_it
        });
        let had_turns = futures_util::future::join_all(saves).await;
        assert!(
            started.elapsed() > patience,
            "the queue was shorter than the patience"
        );
        assert_eq!(had_turns, [true; 8], "a save behind a moving queue gave up");
        assert_eq!(queue.len(), 0);
    }
}
