//! A bounded cache of whole littlefs blocks in front of the block device.
//!
//! littlefs walks the directory tree from the root on every lookup and
//! rereads each metadata block it passes (a get of a 4 KiB value read
//! about 30 times and 48 KiB from the device without it). The image is
//! the disk's only writer while it is mounted, so what it wrote is what
//! the disk holds: the cache is written through (a write reaches the
//! device first, then the cached copy) and never stale. A write the
//! device refused drops the block, whose bytes are then unknown.
//!
//! Contract: at most [`CACHE_BLOCKS`] blocks are held; the least recently
//! used goes first.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// Blocks the cache holds at most: 64 of 4 KiB, 256 KiB per mounted disk.
pub const CACHE_BLOCKS: usize = 64;

/// Whole blocks by number, with the time of their last use.
pub(crate) struct BlockCache {
    entries: Vec<Entry>,
    clock: u64,
}

struct Entry {
    block: u32,
    used: u64,
    bytes: Box<[u8]>,
}

impl BlockCache {
    pub(crate) fn new() -> Self {
        BlockCache {
            entries: Vec::with_capacity(CACHE_BLOCKS),
            clock: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The bytes of `block`, if held (it becomes the most recently used).
    pub(crate) fn get(&mut self, block: u32) -> Option<&[u8]> {
        let now = self.tick();
        let entry = self.entries.iter_mut().find(|e| e.block == block)?;
        entry.used = now;
        Some(&entry.bytes)
    }

    /// Holds `bytes` as `block`, evicting the least recently used block
    /// when full.
    pub(crate) fn insert(&mut self, block: u32, bytes: Box<[u8]>) {
        let used = self.tick();
        self.forget(block);
        if self.entries.len() == CACHE_BLOCKS {
            let oldest = (0..self.entries.len())
                .min_by_key(|&i| self.entries[i].used)
                .expect("a full cache holds a block");
            self.entries.swap_remove(oldest);
        }
        self.entries.push(Entry { block, used, bytes });
    }

    /// `data` written at `offset` of `block`: the held copy follows.
    pub(crate) fn write(&mut self, block: u32, offset: usize, data: &[u8]) {
        let Some(i) = self.entries.iter().position(|e| e.block == block) else {
            return;
        };
        match self.entries[i].bytes.get_mut(offset..offset + data.len()) {
            Some(held) => held.copy_from_slice(data),
            // Past the block's end (littlefs never writes so): not held.
            None => {
                self.entries.swap_remove(i);
            }
        }
    }

    /// Drops `block`, if held.
    pub(crate) fn forget(&mut self, block: u32) {
        self.entries.retain(|e| e.block != block);
    }
}
