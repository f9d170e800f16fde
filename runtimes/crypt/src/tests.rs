//! The device on a disk in memory: sectors round-trip and the disk below
//! holds none of their bytes in the clear; unwritten sectors read as
//! zeros; a reconnect reads what was written; a wrong key, a foreign disk
//! and bad keys fail at connect with their line; a changed, moved or
//! copied sector is a read error. (chamelon on top, power cuts included:
//! chamelon's tests.)

extern crate std;

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use mirage_runtime::block::Ramdisk;
use mirage_runtime::executor::ready;
use mirage_runtime::fuzz::SeededRandom;
use mirage_types::{Block, BlockError};

use crate::{EncryptedBlock, OVERHEAD};

/// A `random` device of its own seed for each connection, as two boots
/// have (two disks get two identities).
fn random() -> SeededRandom {
    static SEEDS: AtomicU64 = AtomicU64::new(1);
    SeededRandom::new(SEEDS.fetch_add(1, Ordering::Relaxed))
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn disk() -> Ramdisk {
    ready(Ramdisk::connect("below", 64)).unwrap()
}

fn open(below: &Ramdisk, key: &str) -> Result<EncryptedBlock<Ramdisk, SeededRandom>, String> {
    ready(EncryptedBlock::connect(
        below.clone(),
        random(),
        key.to_string(),
    ))
}

/// `n` sectors of a recognisable pattern.
fn pattern(inner: usize, n: usize) -> Vec<u8> {
    (0..inner * n).map(|i| b"plaintext!"[i % 10]).collect()
}

#[test]
fn sectors_round_trip_and_the_disk_below_holds_no_plaintext() {
    let below = disk();
    let dev = open(&below, KEY).unwrap();
    let info = dev.info();
    assert_eq!((info.sector_size, info.size_sectors), (512 - OVERHEAD, 63));
    let data = pattern(info.sector_size, 3);
    ready(dev.write(5, &data)).unwrap();
    let mut back = vec![0; data.len()];
    ready(dev.read(5, &mut back)).unwrap();
    assert_eq!(back, data);
    let raw = below.bytes();
    assert!(!raw.windows(10).any(|w| w == b"plaintext!"));

    let mut unwritten = vec![1; info.sector_size];
    ready(dev.read(9, &mut unwritten)).unwrap();
    assert!(unwritten.iter().all(|&b| b == 0));

    // Another connection, with the same key, reads the same.
    let again = open(&below, KEY).unwrap();
    let mut back = vec![0; data.len()];
    ready(again.read(5, &mut back)).unwrap();
    assert_eq!(back, data);
}

#[test]
fn a_wrong_key_a_foreign_disk_and_bad_keys_fail_at_connect() {
    let below = disk();
    open(&below, KEY).unwrap();
    let err = |r: Result<EncryptedBlock<Ramdisk, SeededRandom>, String>| r.err().unwrap();
    assert_eq!(
        err(open(&below, OTHER)),
        "the key does not open this disk (another key encrypted it)"
    );

    let foreign = disk();
    ready(foreign.write(0, &[7; 512])).unwrap();
    assert_eq!(
        err(open(&foreign, KEY)),
        "the block device holds no encrypted disk \
         (its first sector is neither blank nor an encrypted_block header)"
    );
    assert_eq!(
        err(open(&disk(), "")),
        "no key: give the disk's key, 64 hex digits (256 bits)"
    );
    assert_eq!(
        err(open(&disk(), "abcd")),
        "the key must be 64 hex digits (256 bits), not 4 characters"
    );
    assert_eq!(
        err(open(&disk(), &KEY.replace('0', "g"))),
        "the key must be 64 hex digits (256 bits), not 64 characters with non-hex ones"
    );
}

#[test]
fn a_changed_moved_or_copied_sector_is_a_read_error() {
    let below = disk();
    let dev = open(&below, KEY).unwrap();
    let inner = dev.info().sector_size;
    ready(dev.write(0, &pattern(inner, 4))).unwrap();
    let mut one = vec![0; inner];

    // A flipped bit in sector 1 (the device below's sector 2).
    let mut raw = vec![0; 512];
    ready(below.read(2, &mut raw)).unwrap();
    raw[100] ^= 1;
    ready(below.write(2, &raw)).unwrap();
    assert_eq!(ready(dev.read(1, &mut one)), Err(BlockError::Integrity));
    ready(dev.read(0, &mut one)).unwrap();

    // Sector 2's bytes where sector 3's were.
    ready(below.read(3, &mut raw)).unwrap();
    ready(below.write(4, &raw)).unwrap();
    assert_eq!(ready(dev.read(3, &mut one)), Err(BlockError::Integrity));

    // Sector 0 of another disk under the same key.
    let other = disk();
    let stranger = open(&other, KEY).unwrap();
    ready(stranger.write(0, &pattern(inner, 1))).unwrap();
    ready(other.read(1, &mut raw)).unwrap();
    ready(below.write(1, &raw)).unwrap();
    assert_eq!(ready(dev.read(0, &mut one)), Err(BlockError::Integrity));
}
