//! Helpers for store authors' tests. Enabled by the `testing` feature; not for production.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::SessionKey;

thread_local! {
    static FORCED: RefCell<VecDeque<SessionKey>> = const { RefCell::new(VecDeque::new()) };
}

/// Makes the next calls to [`SessionKey::generate`] on this thread return `keys`, in order.
///
/// This is how the conformance suite checks that [`SessionStore::create`] never overwrites an
/// existing record: it forces a key that is already taken, then a free one.
///
/// ```
/// use sessions_core::SessionKey;
/// use sessions_core::testing::force_next_keys;
///
/// let taken = SessionKey::generate();
/// force_next_keys([taken.clone()]);
/// assert_eq!(SessionKey::generate(), taken);
/// assert_ne!(SessionKey::generate(), taken);
/// ```
///
/// [`SessionStore::create`]: crate::SessionStore::create
pub fn force_next_keys(keys: impl IntoIterator<Item = SessionKey>) {
    FORCED.with(|forced| forced.borrow_mut().extend(keys));
}

/// Forgets keys queued by [`force_next_keys`] that were not used.
///
/// ```
/// sessions_core::testing::force_next_keys([sessions_core::SessionKey::generate()]);
/// sessions_core::testing::clear_forced_keys();
/// ```
pub fn clear_forced_keys() {
    FORCED.with(|forced| forced.borrow_mut().clear());
}

pub(crate) fn next_forced_key() -> Option<SessionKey> {
    FORCED.with(|forced| forced.borrow_mut().pop_front())
}

/// Whether `payload`, as a store holds it, is a live session: not a tombstone (what
/// [`Session::purge`](crate::Session::purge) and [`Session::renew`](crate::Session::renew)
/// leave for a short while in place of the record they ended), and not garbage.
///
/// ```
/// assert!(!sessions_core::testing::holds_session(b"garbage"));
/// ```
#[must_use]
pub fn holds_session(payload: &[u8]) -> bool {
    let Some(&codec) = payload.get(1) else {
        return false;
    };
    crate::payload::State::decode(payload, codec).is_ok_and(|state| state.tombstone.is_none())
}
