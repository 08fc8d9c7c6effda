//! [`Changes`]: what a request changed in its session, so the change can be replayed on top of
//! a state that a concurrent request saved first.
//!
//! - **Values set or removed** are absolute: replaying copies the key's final value (or its
//!   absence) from this request's state, which is what replaying the operations would give,
//!   without a second copy of every value. After `clear`, the whole value map is copied.
//! - **Values updated** with [`Session::update`](crate::Session::update) are relative: the
//!   closures are kept and run again, in order, on the fresh value. A set or remove of the key
//!   before or after makes it absolute again.
//! - **Flashes** are operations on flash ids: "add this flash" and "remove the flashes with
//!   these ids" (the ones this request showed), so a flash another request added meanwhile
//!   survives and one already shown never comes back.

use std::fmt;

use crate::codec::{Codec, CodecError};
use crate::options::SessionOptions;
use crate::payload::{Flash, State};

/// A read-modify-write of one value: the value's current bytes (if any) to its new bytes.
pub(crate) type UpdateFn = Box<dyn Fn(&dyn Codec, Option<&[u8]>) -> Result<Vec<u8>, CodecError>>;

/// A request's changes to its session.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// `clear` was called: every value is copied from this request's state.
    cleared: bool,
    /// Keys changed since the last `clear` (none are tracked after one), each once.
    keys: Vec<(String, KeyChange)>,
    flashes: Vec<FlashChange>,
    options: bool,
}

enum KeyChange {
    /// Set or removed: the final value is this request's.
    Absolute,
    /// Only updated: these closures run on whatever value is stored.
    Relative(Vec<UpdateFn>),
}

impl fmt::Debug for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute => f.write_str("Absolute"),
            Self::Relative(updates) => write!(f, "Relative({} updates)", updates.len()),
        }
    }
}

#[derive(Debug)]
enum FlashChange {
    Add(String, Flash),
    /// The flashes with these ids were shown, and so removed.
    Take(String, Vec<u64>),
}

impl FlashChange {
    fn apply(&self, state: &mut State) {
        match self {
            Self::Add(key, flash) => {
                let flashes = state.flashes.get_or_default(key);
                if flashes.iter().all(|f| f.id != flash.id) {
                    flashes.push(flash.clone());
                }
            }
            Self::Take(key, ids) => {
                if let Some(flashes) = state.flashes.get_mut(key) {
                    flashes.retain(|flash| !ids.contains(&flash.id));
                    if flashes.is_empty() {
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

    /// Whether replaying these changes twice gives what replaying them once does: no
    /// read-modify-write and no added flash (a repeated add could show a flash twice).
    pub(crate) fn is_idempotent(&self) -> bool {
        let relative = self
            .keys
            .iter()
            .any(|(_, change)| matches!(change, KeyChange::Relative(_)));
        let adds = self
            .flashes
            .iter()
            .any(|change| matches!(change, FlashChange::Add(..)));
        !relative && !adds
    }

    fn change_of(&mut self, key: &str) -> Option<&mut KeyChange> {
        self.keys
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, change)| change)
    }

    /// Notes that `key` now holds this request's value whatever was stored.
    fn note_absolute<K: AsRef<str> + Into<String>>(&mut self, key: K) {
        if self.cleared {
            return;
        }
        match self.change_of(key.as_ref()) {
            Some(change) => *change = KeyChange::Absolute,
            None => self.keys.push((key.into(), KeyChange::Absolute)),
        }
    }

    /// Sets `key` to `value` in `state`; storing the value a key already holds is no change.
    pub(crate) fn set(&mut self, state: &mut State, key: String, value: Vec<u8>) {
        match state.entries.get_mut(&key) {
            Some(current) if *current == value => return,
            Some(current) => *current = value,
            None => {
                self.note_absolute(key.as_str());
                state.entries.insert(key, value);
                return;
            }
        }
        self.note_absolute(key);
    }

    /// Removes `key` from `state`; returns whether it was there.
    pub(crate) fn remove(&mut self, state: &mut State, key: &str) -> bool {
        let present = state.entries.remove(key).is_some();
        if present {
            self.note_absolute(key);
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

    /// Sets `key` to `value`, which `update` computed from the key's value in `state`, and
    /// keeps `update` to run again on a fresh value.
    pub(crate) fn update(
        &mut self,
        state: &mut State,
        key: String,
        value: Vec<u8>,
        update: UpdateFn,
    ) {
        state.entries.insert(key.clone(), value);
        if self.cleared {
            return;
        }
        match self.change_of(&key) {
            Some(KeyChange::Absolute) => {}
            Some(KeyChange::Relative(updates)) => updates.push(update),
            None => self.keys.push((key, KeyChange::Relative(vec![update]))),
        }
    }

    pub(crate) fn add_flash(&mut self, state: &mut State, key: String, flash: Flash) {
        self.flash(state, FlashChange::Add(key, flash));
    }

    /// Removes the flashes with `ids` under `key`, which this request has shown.
    pub(crate) fn take_flashes(&mut self, state: &mut State, key: &str, ids: Vec<u64>) {
        if !ids.is_empty() {
            self.flash(state, FlashChange::Take(key.to_owned(), ids));
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

    /// `theirs` with this request's changes applied, taking absolute values from `mine` (this
    /// request's state after its changes) and running updates on `theirs`' values.
    ///
    /// # Errors
    ///
    /// [`CodecError`] when an update cannot read the value it finds in `theirs` (another
    /// request stored a value of another type under its key) or cannot encode its result.
    pub(crate) fn replay(
        &self,
        codec: &dyn Codec,
        mine: &State,
        mut theirs: State,
    ) -> Result<State, CodecError> {
        if self.cleared {
            theirs.entries = mine.entries.clone();
        }
        for (key, change) in &self.keys {
            match change {
                KeyChange::Absolute => match mine.entries.get(key) {
                    Some(value) => theirs.entries.insert(key.clone(), value.clone()),
                    None => drop(theirs.entries.remove(key)),
                },
                KeyChange::Relative(updates) => {
                    let mut value = theirs.entries.remove(key);
                    for update in updates {
                        value = Some(update(codec, value.as_deref())?);
                    }
                    if let Some(value) = value {
                        theirs.entries.insert(key.clone(), value);
                    }
                }
            }
        }
        for change in &self.flashes {
            change.apply(&mut theirs);
        }
        if self.options {
            theirs.options.clone_from(&mine.options);
        }
        Ok(theirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MsgPack;
    use crate::codec::{decode_value, encode_value};

    fn flash(id: u64) -> Flash {
        Flash {
            id,
            value: vec![id as u8],
        }
    }

    fn state(entries: &[(&str, u8)], flashes: &[u64]) -> State {
        let mut state = State::default();
        for (key, value) in entries {
            state.entries.insert((*key).to_owned(), vec![*value]);
        }
        if !flashes.is_empty() {
            state.flashes.insert(
                "_flash".into(),
                flashes.iter().map(|id| flash(*id)).collect(),
            );
        }
        state
    }

    fn ids(state: &State) -> Vec<u64> {
        state
            .flashes
            .get("_flash")
            .map(|flashes| flashes.iter().map(|f| f.id).collect())
            .unwrap_or_default()
    }

    fn increment() -> UpdateFn {
        Box::new(|codec, bytes| {
            let n: u64 = bytes
                .map(|b| decode_value(codec, b))
                .transpose()?
                .unwrap_or(0);
            encode_value(codec, &(n + 1))
        })
    }

    #[test]
    fn replay_keeps_concurrent_writes_to_other_keys_and_flashes() {
        let mut mine = state(&[("shared", 0)], &[1, 2, 3]);
        let mut changes = Changes::default();
        changes.set(&mut mine, "mine".into(), vec![2]);
        changes.take_flashes(&mut mine, "_flash", vec![1, 2]);
        changes.add_flash(&mut mine, "_flash".into(), flash(4));
        let theirs = state(&[("shared", 0), ("theirs", 1)], &[1, 2, 3, 9]);
        let merged = changes.replay(&MsgPack, &mine, theirs).unwrap();
        assert_eq!(merged.entries.get("theirs"), Some(&vec![1]));
        assert_eq!(merged.entries.get("mine"), Some(&vec![2]));
        assert_eq!(ids(&merged), [3, 9, 4]);
    }

    /// Both requests read [1, 2, 3]; the other one showed them all and added 9. Replaying by
    /// position ("take 3") would remove 9; by id it survives, and 1–3 stay gone.
    #[test]
    fn flashes_taken_by_both_requests_are_not_taken_twice() {
        let mut mine = state(&[], &[1, 2, 3]);
        let mut changes = Changes::default();
        changes.take_flashes(&mut mine, "_flash", vec![1, 2, 3]);
        let theirs = state(&[], &[9]);
        let merged = changes.replay(&MsgPack, &mine, theirs).unwrap();
        assert_eq!(ids(&merged), [9]);
    }

    #[test]
    fn replaying_an_add_twice_adds_once() {
        let mut mine = State::default();
        let mut changes = Changes::default();
        changes.add_flash(&mut mine, "_flash".into(), flash(5));
        let once = changes.replay(&MsgPack, &mine, state(&[], &[1])).unwrap();
        let twice = changes.replay(&MsgPack, &mine, once.clone()).unwrap();
        assert_eq!(ids(&once), [1, 5]);
        assert_eq!(once, twice);
        assert!(
            !changes.is_idempotent(),
            "adds are not counted as idempotent"
        );
    }

    #[test]
    fn replay_of_remove_and_clear() {
        let mut mine = state(&[("a", 1), ("b", 2)], &[]);
        let mut changes = Changes::default();
        assert!(changes.remove(&mut mine, "a"));
        let merged = changes
            .replay(&MsgPack, &mine, state(&[("a", 1), ("b", 2), ("c", 3)], &[]))
            .unwrap();
        assert_eq!(merged.entries.keys().collect::<Vec<_>>(), ["b", "c"]);

        let mut changes = Changes::default();
        changes.clear(&mut mine);
        changes.set(&mut mine, "d".into(), vec![4]);
        let merged = changes
            .replay(&MsgPack, &mine, state(&[("b", 2), ("c", 3)], &[]))
            .unwrap();
        assert_eq!(merged.entries.keys().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn updates_run_again_on_the_fresh_value() {
        let mut mine = State::default();
        let mut changes = Changes::default();
        for n in 1..=2_u64 {
            let value = encode_value(&MsgPack, &n).unwrap();
            changes.update(&mut mine, "n".into(), value, increment());
        }
        let read = |state: &State| -> u64 {
            decode_value(&MsgPack, state.entries.get("n").unwrap()).unwrap()
        };
        assert_eq!(read(&mine), 2);
        let mut theirs = State::default();
        theirs
            .entries
            .insert("n".into(), encode_value(&MsgPack, &40_u64).unwrap());
        let merged = changes.replay(&MsgPack, &mine, theirs).unwrap();
        assert_eq!(read(&merged), 42);
        assert!(!changes.is_idempotent());

        // A set after the updates makes the key absolute: the fresh value no longer matters.
        changes.set(
            &mut mine,
            "n".into(),
            encode_value(&MsgPack, &7_u64).unwrap(),
        );
        let merged = changes
            .replay(&MsgPack, &mine, state(&[("n", 1)], &[]))
            .unwrap();
        assert_eq!(read(&merged), 7);
        assert!(changes.is_idempotent());
    }

    #[test]
    fn an_update_of_a_value_of_another_type_is_an_error() {
        let mut mine = State::default();
        let mut changes = Changes::default();
        let one = encode_value(&MsgPack, &1_u64).unwrap();
        changes.update(&mut mine, "n".into(), one, increment());
        let mut theirs = State::default();
        theirs
            .entries
            .insert("n".into(), encode_value(&MsgPack, &"text").unwrap());
        assert!(changes.replay(&MsgPack, &mine, theirs).is_err());
    }

    #[test]
    fn setting_the_same_value_is_no_change() {
        let mut mine = state(&[("a", 1)], &[]);
        let mut changes = Changes::default();
        changes.set(&mut mine, "a".into(), vec![1]);
        assert!(changes.is_empty());
        changes.set(&mut mine, "a".into(), vec![2]);
        changes.set(&mut mine, "a".into(), vec![3]);
        assert_eq!(changes.keys.len(), 1);
        changes.set(&mut mine, "b".into(), vec![1]);
        changes.remove(&mut mine, "a");
        changes.set(&mut mine, "c".into(), vec![1]);
        let keys: Vec<&str> = changes.keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }
}
