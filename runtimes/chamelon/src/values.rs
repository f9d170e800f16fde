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

use alloc::string::String;
use alloc::vec::Vec;

use crate::lru::Lru;

/// Bytes of keys and values the cache holds at most per mounted disk: the
/// size of SQLite's default page cache (`cache_size = -2000`, 2,048,000
/// bytes), the peer bench/kv_rw.sh measures chamelon against.
pub const VALUE_CACHE_BYTES: usize = 2_048_000;

/// Values by key, each costing its key's and its own length.
pub(crate) struct ValueCache(Lru<String, Vec<u8>>);

impl ValueCache {
    pub(crate) fn new() -> Self {
        ValueCache(Lru::new(VALUE_CACHE_BYTES))
    }

    /// A copy of the value at `key`, if held (it becomes the most recently
    /// used).
    pub(crate) fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).map(|v| v.clone())
    }

    /// Holds `value` as `key`'s, evicting the least recently used values
    /// until it fits.
    pub(crate) fn insert(&mut self, key: &str, value: &[u8]) {
        let size = key.len() + value.len();
        match size > VALUE_CACHE_BYTES / 8 {
            true => self.forget(key),
            false => self.0.insert(key.into(), value.to_vec(), size),
        }
    }

    /// Drops `key`'s value, if held.
    pub(crate) fn forget(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// Drops every value below the dictionary `dir` (all of them for the
    /// root, `""`).
    pub(crate) fn forget_below(&mut self, dir: &str) {
        let prefix = alloc::format!("{dir}/");
        self.0
            .remove_where(|key| dir.is_empty() || key.starts_with(&prefix));
    }

    /// Bytes of keys and values held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.0.cost()
    }
}
