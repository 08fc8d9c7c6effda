//! [`Changes`]: what a request changed in its session, so the change can be replayed on top of
//! a state that a concurrent request saved first.
//!
//! Values are tracked by key, not by operation: replaying copies each changed key's final
//! value (or its absence) from this request's state. That replays exactly what a log of
//! operations would, without keeping a second copy of every value. Flashes are an operation
//! log, because "take the first n" must not swallow flashes another request added meanwhile.

use crate::options::SessionOptions;
use crate::payload::State;

/// A request's changes to its session.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// `clear` was called: every value this request did not set afterwards is gone.
    cleared: bool,
    /// Keys set or removed (not tracked after a `clear`, which replays all values).
    keys: Keys,
    flashes: Vec<FlashChange>,
    options: bool,
}

/// The keys a request set or removed, each once. Requests mostly change one key, which is
/// kept without a second allocation.
#[derive(Debug, Default)]
struct Keys {
    first: Option<String>,
    rest: Vec<String>,
}

impl Keys {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn contains(&self, key: &str) -> bool {
        self.iter().any(|k| k == key)
    }

    fn push(&mut self, key: String) {
        match self.first {
            None => self.first = Some(key),
            Some(_) => self.rest.push(key),
        }
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }

    fn iter(&self) -> impl Iterator<Item = &String> {
        self.first.iter().chain(&self.rest)
    }
}

#[derive(Debug)]
enum FlashChange {
    Add(String, Vec<u8>),
    /// The first `n` flashes under the key were read, and so removed.
    Take(String, usize),
}

impl FlashChange {
    fn apply(&self, state: &mut State) {
        match self {
            Self::Add(key, value) => state.flashes.get_or_default(key).push(value.clone()),
            Self::Take(key, n) => {
                if let Some(values) = state.flashes.get_mut(key) {
                    values.drain(..(*n).min(values.len()));
                    if values.is_empty() {
                        state.flashes.remove(key);
                    }
                }
            }
        }
    }
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        !self.cleared && self.keys.is_empty() && self.flashes.is_empty() && !self.options
    }

    pub(crate) fn options_changed(&self) -> bool {
        self.options
    }

    fn note(&mut self, key: String) {
        if !self.cleared && !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// Sets `key` to `value` in `state`; storing the value a key already holds is no change.
    pub(crate) fn set(&mut self, state: &mut State, key: String, value: Vec<u8>) {
        match state.entries.get_mut(&key) {
            Some(current) if *current == value => return,
            Some(current) => *current = value,
            None => state.entries.insert(key.clone(), value),
        }
        self.note(key);
    }

    /// Removes `key` from `state`; returns whether it was there.
    pub(crate) fn remove(&mut self, state: &mut State, key: &str) -> bool {
        let present = state.entries.remove(key).is_some();
        if present {
            self.note(key.to_owned());
        }
        present
    }

    pub(crate) fn clear(&mut self, state: &mut State) {
        if !state.entries.is_empty() {
            state.entries.clear();
            self.cleared = true;
            self.keys.clear();
        }
    }

    pub(crate) fn add_flash(&mut self, state: &mut State, key: String, value: Vec<u8>) {
        self.flash(state, FlashChange::Add(key, value));
    }

    pub(crate) fn take_flashes(&mut self, state: &mut State, key: &str, n: usize) {
        if n > 0 {
            self.flash(state, FlashChange::Take(key.to_owned(), n));
        }
    }

    fn flash(&mut self, state: &mut State, change: FlashChange) {
        change.apply(state);
        self.flashes.push(change);
    }

    pub(crate) fn set_options(&mut self, state: &mut State, options: SessionOptions) {
        if state.options.as_deref() != Some(&options) {
            state.options = Some(Box::new(options));
            self.options = true;
        }
    }

    /// `theirs` with this request's changes applied, taking values from `mine` (this request's
    /// state after its changes).
    pub(crate) fn replay(&self, mine: &State, mut theirs: State) -> State {
        if self.cleared {
            theirs.entries = mine.entries.clone();
        }
        for key in self.keys.iter() {
            match mine.entries.get(key) {
                Some(value) => theirs.entries.insert(key.clone(), value.clone()),
                None => drop(theirs.entries.remove(key)),
            }
        }
        self.flashes
            .iter()
            .for_each(|change| change.apply(&mut theirs));
        if self.options {
            theirs.options.clone_from(&mine.options);
        }
        theirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(entries: &[(&str, u8)], flashes: &[u8]) -> State {
        let mut state = State::default();
        for (key, value) in entries {
            state.entries.insert((*key).to_owned(), vec![*value]);
        }
        if !flashes.is_empty() {
            state
                .flashes
                .insert("_flash".into(), flashes.iter().map(|f| vec![*f]).collect());
        }
        state
    }

    #[test]
    fn replay_keeps_concurrent_writes_to_other_keys_and_flashes() {
        let mut mine = state(&[("shared", 0)], &[1, 2, 3]);
        let mut changes = Changes::default();
        changes.set(&mut mine, "mine".into(), vec![2]);
        changes.take_flashes(&mut mine, "_flash", 2);
        changes.add_flash(&mut mine, "_flash".into(), vec![4]);
        let theirs = state(&[("shared", 0), ("theirs", 1)], &[1, 2, 3, 9]);
        let merged = changes.replay(&mine, theirs);
        assert_eq!(merged.entries.get("theirs"), Some(&vec![1]));
        assert_eq!(merged.entries.get("mine"), Some(&vec![2]));
        assert_eq!(
            merged.flashes.get("_flash"),
            Some(&vec![vec![3], vec![9], vec![4]])
        );
    }

    #[test]
    fn replay_of_remove_and_clear() {
        let mut mine = state(&[("a", 1), ("b", 2)], &[]);
        let mut changes = Changes::default();
        assert!(changes.remove(&mut mine, "a"));
        let merged = changes.replay(&mine, state(&[("a", 1), ("b", 2), ("c", 3)], &[]));
        assert_eq!(merged.entries.keys().collect::<Vec<_>>(), ["b", "c"]);

        let mut changes = Changes::default();
        changes.clear(&mut mine);
        changes.set(&mut mine, "d".into(), vec![4]);
        let merged = changes.replay(&mine, state(&[("b", 2), ("c", 3)], &[]));
        assert_eq!(merged.entries.keys().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn setting_the_same_value_is_no_change() {
        let mut mine = state(&[("a", 1)], &[]);
        let mut changes = Changes::default();
        changes.set(&mut mine, "a".into(), vec![1]);
        assert!(changes.is_empty());
        changes.set(&mut mine, "a".into(), vec![2]);
        changes.set(&mut mine, "a".into(), vec![3]);
        assert_eq!(changes.keys.iter().collect::<Vec<_>>(), ["a"]);
        changes.set(&mut mine, "b".into(), vec![1]);
        changes.remove(&mut mine, "a");
        changes.set(&mut mine, "c".into(), vec![1]);
        assert_eq!(changes.keys.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
