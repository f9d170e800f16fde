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

use crate::lru::Lru;

/// Blocks the cache holds at most: 64 of 4 KiB, 256 KiB per mounted disk.
pub const CACHE_BLOCKS: usize = 64;

/// Whole blocks by number (each costs 1 of the [`CACHE_BLOCKS`]).
pub(crate) struct BlockCache(Lru<u32, Box<[u8]>>);

impl BlockCache {
    pub(crate) fn new() -> Self {
        BlockCache(Lru::new(CACHE_BLOCKS))
    }

    /// The bytes of `block`, if held (it becomes the most recently used).
    pub(crate) fn get(&mut self, block: u32) -> Option<&[u8]> {
        self.0.get(&block).map(|b| &**b)
    }

    /// Holds `bytes` as `block`, evicting the least recently used block
    /// when full.
    pub(crate) fn insert(&mut self, block: u32, bytes: Box<[u8]>) {
        self.0.insert(block, bytes, 1);
    }

    /// `data` written at `offset` of `block`: the held copy follows.
    pub(crate) fn write(&mut self, block: u32, offset: usize, data: &[u8]) {
        let Some(held) = self.0.peek_mut(&block) else {
            return;
        };
        match held.get_mut(offset..offset + data.len()) {
            Some(held) => held.copy_from_slice(data),
            // Past the block's end (littlefs never writes so): not held.
            None => self.0.remove(&block),
        }
    }

    /// Drops `block`, if held.
    pub(crate) fn forget(&mut self, block: u32) {
        self.0.remove(&block);
    }
}
