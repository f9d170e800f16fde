//! The value cache: warm gets of more values than the block cache holds
//! cost the device nothing, what a get returns is what the disk holds
//! after every set, remove and failed set, and the cache keeps its bound.

use alloc::format;
use alloc::vec;

use mirage_runtime::executor::ready;
use mirage_types::{KvError, KvRo, KvRw};

use super::disk::{Cut, MemDisk};
use super::{formatted, mount};
use crate::values::{ValueCache, VALUE_CACHE_BYTES};
use crate::CACHE_BLOCKS;

#[test]
fn warm_gets_of_more_than_the_block_cache_holds_read_nothing() {
    let disk = formatted(8192);
    let store = mount(&disk);
    // 300 values of 4 KiB: 1.2 MB, beyond the 64 blocks of the block cache.
    const { assert!(300 * 4096 > CACHE_BLOCKS * 4096 * 4) };
    for i in 0..300 {
        ready(store.set(&format!("bench/{i}"), &[i as u8; 4096])).unwrap();
    }
    // Cold caches: a fresh mount of the same bytes.
    let disk = disk.reboot();
    let store = mount(&disk);
    for i in 0..300 {
        ready(store.get(&format!("bench/{i}"))).unwrap();
    }
    let before = disk.0.borrow().reads;
    for i in 0..300 {
        assert_eq!(
            ready(store.get(&format!("bench/{i}"))).unwrap(),
            [i as u8; 4096]
        );
    }
    assert_eq!(
        disk.0.borrow().reads,
        before,
        "device reads of 300 warm gets"
    );
}

/// What a get answers equals what a fresh mount of the same disk reads.
fn as_on_disk(store: &crate::Chamelon<MemDisk>, disk: &MemDisk, key: &str) {
    let fresh = mount(&disk.reboot());
    assert_eq!(
        ready(store.get(key)),
        ready(fresh.get(key)),
        "get {key} against the disk"
    );
}

#[test]
fn a_get_answers_what_the_disk_holds_after_each_change() {
    let disk = formatted(2048);
    let store = mount(&disk);
    ready(store.set("a/b", b"one")).unwrap();
    ready(store.get("a/b")).unwrap();
    ready(store.set("a/b", b"two")).unwrap();
    assert_eq!(ready(store.get("a/b")).unwrap(), b"two");
    as_on_disk(&store, &disk, "a/b");

    ready(store.remove("a/b")).unwrap();
    assert_eq!(
        ready(store.get("a/b")),
        Err(KvError::NotFound("a/b".into()))
    );

    ready(store.set("d/x", b"x")).unwrap();
    ready(store.set("d/e/y", b"y")).unwrap();
    ready(store.get("d/x")).unwrap();
    ready(store.get("d/e/y")).unwrap();
    ready(store.remove("d")).unwrap();
    assert!(ready(store.get("d/x")).is_err() && ready(store.get("d/e/y")).is_err());

    ready(store.set("k", b"old")).unwrap();
    ready(store.get("k")).unwrap();
    // The power goes during the next set: it fails, and the get must not
    // answer the new value the disk never committed.
    disk.cut(Cut::At(1));
    assert!(ready(store.set("k", &[7; 4096])).is_err());
    as_on_disk(&store, &disk, "k");
}

#[test]
fn the_cache_keeps_its_bound_and_drops_the_least_recently_used() {
    let mut cache = ValueCache::new();
    let value = vec![1; 4096];
    let fit = VALUE_CACHE_BYTES / (4096 + 2);
    for i in 0..fit {
        cache.insert(&format!("{i:02}"), &value);
    }
    assert!(cache.get("00").is_some(), "00 is used again");
    for i in fit..fit + 10 {
        cache.insert(&format!("{i:02}"), &value);
        assert!(cache.bytes() <= VALUE_CACHE_BYTES, "bound after {i}");
    }
    assert!(cache.get("00").is_some(), "the recently used stays");
    assert!(cache.get("01").is_none(), "the least recently used goes");

    cache.insert("big", &vec![0; VALUE_CACHE_BYTES / 8 + 1]);
    assert!(
        cache.get("big").is_none(),
        "a value over an eighth is not held"
    );

    cache.forget_below("");
    assert_eq!(cache.bytes(), 0);
}
