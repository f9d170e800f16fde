//! The block cache: a warm lookup costs the device nothing, the cache holds
//! at most its bound, and a write the device refused is never served
//! from it.

use alloc::vec;

use crate::lfs::Storage;
use mirage_runtime::executor::ready;
use mirage_types::{KvKind, KvRo, KvRw};

use super::disk::{Cut, MemDisk};
use super::{formatted, mount};
use crate::cache::{BlockCache, CACHE_BLOCKS};
use crate::sectors::Sectors;
use crate::BLOCK_SIZE;

#[test]
fn a_warm_lookup_reads_nothing_from_the_device() {
    let disk = formatted(4096);
    let store = mount(&disk);
    for i in 0..100 {
        ready(store.set(&alloc::format!("notes/{i}"), &[i as u8; 4096])).unwrap();
    }
    // A lookup walks the metadata (a get would be answered by the value
    // cache, not the block cache).
    ready(store.exists("notes/7")).unwrap();
    let before = disk.0.borrow().reads;
    assert_eq!(ready(store.exists("notes/7")).unwrap(), Some(KvKind::Value));
    assert_eq!(
        disk.0.borrow().reads,
        before,
        "device reads of a warm lookup"
    );
}

#[test]
fn the_least_recently_used_block_goes_first() {
    let mut cache = BlockCache::new();
    for block in 0..CACHE_BLOCKS as u32 {
        cache.insert(block, vec![block as u8; 4].into_boxed_slice());
    }
    assert!(cache.get(0).is_some(), "block 0 is used again");
    cache.insert(1000, vec![0; 4].into_boxed_slice());
    assert!(
        cache.get(1).is_none(),
        "block 1 was the least recently used"
    );
    assert!(cache.get(0).is_some() && cache.get(1000).is_some());
    let held = (0..=1000).filter(|&b| cache.get(b).is_some()).count();
    assert_eq!(held, CACHE_BLOCKS);
}

#[test]
fn a_refused_write_is_read_back_from_the_device() {
    let disk = MemDisk::new(64);
    let mut sectors = Sectors::new(disk.clone()).unwrap();
    let mut block = vec![0; BLOCK_SIZE as usize];
    sectors.read(1, 0, &mut block).unwrap();
    // The power goes during the write: its first sector lands, no more.
    disk.cut(Cut::Torn(0));
    assert!(sectors.write(1, 0, &[9; 1024]).is_err());
    sectors.read(1, 0, &mut block).unwrap();
    assert_eq!(&block[..512], &[9; 512]);
    assert_eq!(
        &block[512..1024],
        &[0; 512],
        "the lost sector was served from the cache"
    );
}
