//! A bounded cache of whole values in front of littlefs.
//!
//! littlefs finds a file by walking its directory's metadata log entry by
//! entry; with every block in the [`BlockCache`](crate::cache::BlockCache)
//! that walk is still most of a get (`lfs_dir_traverse` under perf, for a
//! dictionary of 300 values). The image is the disk's only writer while it
//! is mounted, so a value it read or committed stays what the disk holds
//! until the image itself sets or removes that key.
//!
//! Contract: keys and values held take at most [`VALUE_CACHE_BYTES`]; a
//! value larger than an eighth of that is never held (it would push out
//! everything else); the least recently used goes first. The store
//! forgets a key before it changes it and holds the new value only once
//! the change is committed, so a change that failed is read back from the
//! disk.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Bytes of keys and values the cache holds at most per mounted disk: the
/// size of SQLite's default page cache (`cache_size = -2000`, 2,048,000
/// bytes), the peer bench/kv_rw.sh measures chamelon against.
pub const VALUE_CACHE_BYTES: usize = 2_048_000;

/// Values by key, with the time of their last use.
pub(crate) struct ValueCache {
    values: BTreeMap<String, (u64, Vec<u8>)>,
    /// Keys by the time of their last use: the first is the next to go.
    order: BTreeMap<u64, String>,
    bytes: usize,
    clock: u64,
}

fn cost(key: &str, value: &[u8]) -> usize {
    key.len() + value.len()
}

impl ValueCache {
    pub(crate) fn new() -> Self {
        ValueCache {
            values: BTreeMap::new(),
            order: BTreeMap::new(),
            bytes: 0,
            clock: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A copy of the value at `key`, if held (it becomes the most recently
    /// used).
    pub(crate) fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        let now = self.tick();
        let (used, value) = self.values.get_mut(key)?;
        let key = self.order.remove(used).expect("a held key is in the order");
        *used = now;
        let copy = value.clone();
        self.order.insert(now, key);
        Some(copy)
    }

    /// Holds `value` as `key`'s, evicting the least recently used values
    /// until it fits.
    pub(crate) fn insert(&mut self, key: &str, value: &[u8]) {
        self.forget(key);
        let cost = cost(key, value);
        if cost > VALUE_CACHE_BYTES / 8 {
            return;
        }
        while self.bytes + cost > VALUE_CACHE_BYTES {
            let (_, oldest) = self.order.pop_first().expect("held bytes are held by keys");
            let (_, value) = self.values.remove(&oldest).expect("an ordered key is held");
            self.bytes -= self::cost(&oldest, &value);
        }
        let used = self.tick();
        self.bytes += cost;
        self.order.insert(used, key.into());
        self.values.insert(key.into(), (used, value.to_vec()));
    }

    /// Drops `key`'s value, if held.
    pub(crate) fn forget(&mut self, key: &str) {
        if let Some((used, value)) = self.values.remove(key) {
            self.order.remove(&used);
            self.bytes -= cost(key, &value);
        }
    }

    /// Drops every value below the dictionary `dir` (all of them for the
    /// root, `""`).
    pub(crate) fn forget_below(&mut self, dir: &str) {
        let below: Vec<String> = match dir.is_empty() {
            true => self.values.keys().cloned().collect(),
            false => {
                let prefix = alloc::format!("{dir}/");
                self.values
                    .range(prefix.clone()..)
                    .take_while(|(key, _)| key.starts_with(&prefix))
                    .map(|(key, _)| key.clone())
                    .collect()
            }
        };
        for key in below {
            self.forget(&key);
        }
    }

    /// Bytes of keys and values held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}
