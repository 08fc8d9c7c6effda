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
//! Waiting for a turn is bounded by the session's retry budget; a save that waited that long
//! goes ahead without its turn (compare-and-set still keeps it correct).

use std::collections::HashMap;
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
    turns: Mutex<HashMap<SessionKey, Arc<AsyncMutex<Hint>>>>,
}

/// A save's turn: held while it writes, given up when dropped.
#[derive(Debug)]
pub(crate) struct Turn<'q> {
    queue: &'q SaveQueue,
    key: SessionKey,
    guard: Option<OwnedMutexGuard<Hint>>,
}

impl SaveQueue {
    /// Waits (at most `patience`) until no other save of the session `key` runs in this
    /// process.
    pub(crate) async fn turn(&self, key: &SessionKey, patience: Duration) -> Turn<'_> {
        let slot = {
            let mut turns = self.lock();
            Arc::clone(turns.entry(key.clone()).or_default())
        };
        let guard = match Arc::clone(&slot).try_lock_owned() {
            Ok(guard) => Some(guard),
            Err(_) => actix_web::rt::time::timeout(patience, slot.lock_owned())
                .await
                .ok(),
        };
        Turn {
            queue: self,
            key: key.clone(),
            guard,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Arc<AsyncMutex<Hint>>>> {
        // Only map operations run under the lock: recover from a poisoning panic elsewhere.
        self.turns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions have saves in progress (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
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
            let turns = self.queue.lock();
            turns
                .get(&self.key)
                .is_some_and(|slot| Arc::strong_count(slot) > 2)
        };
        if let (true, Some(hint)) = (waiting, self.guard.as_mut()) {
            **hint = Some((state(), version));
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = self.queue.lock();
        // Let the next save go, then forget the session if nobody else holds its turn.
        drop(self.guard.take());
        if turns
            .get(&self.key)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
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
}
