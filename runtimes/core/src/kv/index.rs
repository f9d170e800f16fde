//! An index of values by key, with the dictionary structure they imply.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mirage_types::{check_key, KvError, KvKind};

/// Values by key; `T` locates a value in its store.
#[derive(Debug, Clone)]
pub struct Index<T> {
    values: BTreeMap<String, T>,
}

impl<T> Default for Index<T> {
    fn default() -> Self {
        Index {
            values: BTreeMap::new(),
        }
    }
}

impl<T> Index<T> {
    /// Adds a value; fails if the key is bad or collides with a dictionary.
    pub fn insert(&mut self, key: &str, value: T) -> Result<(), KvError> {
        check_key(key)?;
        if key.is_empty() || self.kind(key)? == Some(KvKind::Dictionary) {
            return Err(KvError::ValueExpected(key.into()));
        }
        let mut prefix = String::new();
        for segment in key.split('/').take(key.split('/').count() - 1) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(segment);
            if self.values.contains_key(&prefix) {
                return Err(KvError::DictionaryExpected(prefix));
            }
        }
        self.values.insert(key.to_string(), value);
        Ok(())
    }

    /// Removes the value or the whole dictionary at `key`.
    pub fn remove(&mut self, key: &str) -> Result<(), KvError> {
        check_key(key)?;
        if self.values.remove(key).is_none() {
            let prefix = dict_prefix(key);
            self.values.retain(|k, _| !k.starts_with(&prefix));
        }
        Ok(())
    }

    /// What `key` names.
    pub fn kind(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        check_key(key)?;
        if self.values.contains_key(key) {
            return Ok(Some(KvKind::Value));
        }
        let prefix = dict_prefix(key);
        let has_children = self
            .values
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix));
        Ok((key.is_empty() || has_children).then_some(KvKind::Dictionary))
    }

    /// The value at `key`, or why there is none.
    pub fn value(&self, key: &str) -> Result<&T, KvError> {
        match self.kind(key)? {
            Some(KvKind::Value) => Ok(&self.values[key]),
            Some(KvKind::Dictionary) => Err(KvError::ValueExpected(key.into())),
            None => Err(KvError::NotFound(key.into())),
        }
    }

    /// The direct children of the dictionary at `key`, sorted.
    pub fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        match self.kind(key)? {
            Some(KvKind::Dictionary) => {}
            Some(KvKind::Value) => return Err(KvError::DictionaryExpected(key.into())),
            None => return Err(KvError::NotFound(key.into())),
        }
        let prefix = dict_prefix(key);
        let mut out: Vec<(String, KvKind)> = Vec::new();
        for k in self
            .values
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
        {
            let rest = &k[prefix.len()..];
            let entry = match rest.split_once('/') {
                Some((dir, _)) => (dir.to_string(), KvKind::Dictionary),
                None => (rest.to_string(), KvKind::Value),
            };
            if out.last() != Some(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }
}

/// The prefix shared by keys inside the dictionary `key`.
fn dict_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        let mut p = key.to_string();
        p.push('/');
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index<u32> {
        let mut i = Index::default();
        i.insert("a/b/c", 1).unwrap();
        i.insert("a/d", 2).unwrap();
        i.insert("e", 3).unwrap();
        i
    }

    #[test]
    fn dictionaries_are_implied_by_values() {
        let i = index();
        assert_eq!(i.kind("a").unwrap(), Some(KvKind::Dictionary));
        assert_eq!(i.kind("a/b/c").unwrap(), Some(KvKind::Value));
        assert_eq!(i.kind("x").unwrap(), None);
        assert_eq!(
            i.list("").unwrap(),
            [
                ("a".into(), KvKind::Dictionary),
                ("e".into(), KvKind::Value)
            ]
        );
        assert_eq!(
            i.list("a").unwrap(),
            [
                ("b".into(), KvKind::Dictionary),
                ("d".into(), KvKind::Value)
            ]
        );
    }

    #[test]
    fn bad_and_mistyped_keys_are_errors() {
        let i = index();
        assert_eq!(i.value("../e"), Err(KvError::BadKey("../e".into())));
        assert_eq!(i.value("/e"), Err(KvError::BadKey("/e".into())));
        assert_eq!(i.value("a"), Err(KvError::ValueExpected("a".into())));
        assert_eq!(i.list("e"), Err(KvError::DictionaryExpected("e".into())));
        assert_eq!(i.value("zz"), Err(KvError::NotFound("zz".into())));
    }

    #[test]
    fn a_value_cannot_hold_keys() {
        let mut i = index();
        assert_eq!(
            i.insert("e/f", 4),
            Err(KvError::DictionaryExpected("e".into()))
        );
        assert_eq!(i.insert("a", 4), Err(KvError::ValueExpected("a".into())));
        i.remove("a").unwrap();
        assert_eq!(i.kind("a/d").unwrap(), None);
    }
}
