//! Least-recently-used bookkeeping shared by chamelon's two caches (whole
//! blocks in [`crate::cache`], whole values in [`crate::values`]).
//!
//! Contract: the entries' costs (given by the owner at insert) sum to at
//! most the bound given at construction; [`Lru::insert`] evicts the least
//! recently used entries until the new one fits; [`Lru::get`] makes an
//! entry the most recently used, [`Lru::peek_mut`] does not.

use alloc::collections::BTreeMap;
use core::borrow::Borrow;

/// Entries by key, each with its cost and the time of its last use.
pub(crate) struct Lru<K: Ord + Clone, V> {
    entries: BTreeMap<K, Entry<V>>,
    /// Keys by the time of their last use: the first is the next to go.
    order: BTreeMap<u64, K>,
    cost: usize,
    bound: usize,
    clock: u64,
}

struct Entry<V> {
    used: u64,
    cost: usize,
    value: V,
}

impl<K: Ord + Clone, V> Lru<K, V> {
    /// An empty cache whose entries may cost `bound` in all.
    pub(crate) fn new(bound: usize) -> Self {
        Lru {
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            cost: 0,
            bound,
            clock: 0,
        }
    }

    /// The value at `key`, if held; it becomes the most recently used.
    pub(crate) fn get<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.clock += 1;
        let entry = self.entries.get_mut(key)?;
        let key = self
            .order
            .remove(&entry.used)
            .expect("a held key is in the order");
        entry.used = self.clock;
        self.order.insert(self.clock, key);
        Some(&mut entry.value)
    }

    /// The value at `key`, if held, its place in the order unchanged.
    pub(crate) fn peek_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.entries.get_mut(key).map(|e| &mut e.value)
    }

    /// Holds `value` at `key` (replacing what was there) at `cost`,
    /// evicting the least recently used entries until it fits. Nothing
    /// is held when `cost` alone is over the bound.
    pub(crate) fn insert(&mut self, key: K, value: V, cost: usize) {
        self.remove(&key);
        if cost > self.bound {
            return;
        }
        while self.cost + cost > self.bound {
            let (_, oldest) = self.order.pop_first().expect("a cost is held by entries");
            let gone = self
                .entries
                .remove(&oldest)
                .expect("an ordered key is held");
            self.cost -= gone.cost;
        }
        self.clock += 1;
        self.cost += cost;
        self.order.insert(self.clock, key.clone());
        let used = self.clock;
        self.entries.insert(key, Entry { used, cost, value });
    }

    /// Drops `key`'s entry, if held.
    pub(crate) fn remove<Q: Ord + ?Sized>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
    {
        if let Some(gone) = self.entries.remove(key) {
            self.order.remove(&gone.used);
            self.cost -= gone.cost;
        }
    }

    /// Drops every entry whose key `doomed` says so.
    pub(crate) fn remove_where(&mut self, doomed: impl Fn(&K) -> bool) {
        let keys: alloc::vec::Vec<K> = self.entries.keys().filter(|k| doomed(k)).cloned().collect();
        for key in keys {
            self.remove(&key);
        }
    }

    /// The cost of what is held.
    #[cfg(test)]
    pub(crate) fn cost(&self) -> usize {
        self.cost
    }
}
