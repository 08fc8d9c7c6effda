//! [`Entries`]: a session's values (and its flashes), a small map kept as a sorted vector.
//!
//! Sessions hold a handful of values. A sorted `Vec` costs one allocation where a `BTreeMap`
//! costs a node per few entries (and even an empty one takes work to drop), looks up by binary
//! search, and iterates in key order, which keeps encoded payloads deterministic (the golden
//! fixtures rely on it).

/// Session values (or flashes) by name, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entries<V = Vec<u8>>(Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Entries<V> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(name, _)| name.as_str().cmp(key))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    /// The value under `key`, inserting `V::default()` first if there is none.
    pub(crate) fn get_or_default(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        let i = self.find(key).unwrap_or_else(|i| {
            self.0.insert(i, (key.to_owned(), V::default()));
            i
        });
        &mut self.0[i].1
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub(crate) fn insert(&mut self, key: String, value: V) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(key, _)| key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(key, value)| (key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut entries = Entries::default();
        for key in ["b", "a", "c", "a"] {
            entries.insert(key.to_owned(), key.as_bytes().to_vec());
        }
        assert_eq!(entries.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(entries.get("a"), Some(&b"a".to_vec()));
        assert_eq!(entries.remove("b"), Some(b"b".to_vec()));
        assert!(!entries.contains_key("b"));
        assert_eq!(entries.len(), 2);
        *entries.get_mut("c").unwrap() = vec![9];
        assert_eq!(
            entries.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            [b"a".to_vec(), vec![9]]
        );
        entries.get_or_default("b").push(1);
        entries.get_or_default("b").push(2);
        assert_eq!(entries.get("b"), Some(&vec![1, 2]));
        assert_eq!(entries.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
