//! [`Entries`]: a session's values, a small map kept as a sorted vector.
//!
//! Sessions hold a handful of values. A sorted `Vec` costs one allocation where a `BTreeMap`
//! costs a node per few entries, looks up by binary search, and iterates in key order, which
//! keeps encoded payloads deterministic (the golden fixtures rely on it).

/// Session values by name, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Entries(Vec<(String, Vec<u8>)>);

impl Entries {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(name, _)| name.as_str().cmp(key))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Vec<u8>> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Vec<u8>> {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub(crate) fn insert(&mut self, key: String, value: Vec<u8>) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
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

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
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
    }
}
