//! The store on a disk in memory: the KvRw contract, a remount, a blank
//! disk refused, bad disks; power cuts in [`power`], the block cache in
//! [`cache`], the value cache in [`values`].

extern crate std;

mod cache;
mod disk;
mod power;
mod values;

use alloc::vec;
use alloc::vec::Vec;

use mirage_runtime::executor::ready;
use mirage_types::{KvError, KvKind, KvRo, KvRw};

use crate::{format, Chamelon, Epoch};
use disk::MemDisk;

fn formatted(sectors: usize) -> MemDisk {
    let disk = MemDisk::new(sectors);
    format(disk.clone()).unwrap();
    disk
}

fn mount(disk: &MemDisk) -> Chamelon<MemDisk> {
    ready(Chamelon::connect(disk.clone(), Epoch, false)).unwrap()
}

#[test]
fn it_is_a_kv_rw_with_nested_keys() {
    let store = mount(&formatted(256));
    ready(store.set("a/b/c", b"deep")).unwrap();
    ready(store.set("top", b"1")).unwrap();
    assert_eq!(ready(store.get("a/b/c")).unwrap(), b"deep");
    assert_eq!(
        ready(store.exists("a/b")).unwrap(),
        Some(KvKind::Dictionary)
    );
    assert_eq!(ready(store.exists("nope")).unwrap(), None);
    assert_eq!(ready(store.exists("top/x")).unwrap(), None);
    assert_eq!(
        ready(store.list("")).unwrap(),
        vec![
            ("a".into(), KvKind::Dictionary),
            ("top".into(), KvKind::Value)
        ]
    );
    assert_eq!(ready(store.size("a/b/c")).unwrap(), 4);
    assert_eq!(ready(store.get_partial("a/b/c", 1, 2)).unwrap(), b"ee");
    assert_eq!(
        ready(store.digest("top")).unwrap(),
        mirage_runtime::kv::sha256(b"1")
    );
    assert_eq!(
        ready(store.set("top/x", b"")),
        Err(KvError::DictionaryExpected("top".into()))
    );
    assert_eq!(
        ready(store.set("a", b"")),
        Err(KvError::ValueExpected("a".into()))
    );
    assert_eq!(
        ready(store.get("a")),
        Err(KvError::ValueExpected("a".into()))
    );
    assert_eq!(
        ready(store.list("top")),
        Err(KvError::DictionaryExpected("top".into()))
    );
    assert!(matches!(ready(store.get("../x")), Err(KvError::BadKey(_))));
    // Replacing, and a value of several blocks.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    ready(store.set("top", &big)).unwrap();
    assert_eq!(ready(store.get("top")).unwrap(), big);
    // Removing the last value below a dictionary removes the dictionary.
    ready(store.remove("a/b/c")).unwrap();
    assert_eq!(ready(store.exists("a")).unwrap(), None);
    ready(store.remove("missing")).unwrap();
    ready(store.set("d/1", b"x")).unwrap();
    ready(store.set("d/2", b"y")).unwrap();
    ready(store.remove("d")).unwrap();
    assert_eq!(
        ready(store.list("")).unwrap(),
        vec![("top".into(), KvKind::Value)]
    );
}

/// A value set on `disk` is there after a restart of the image.
fn kept_across_a_restart(disk: MemDisk) {
    let store = mount(&disk);
    ready(store.set("notes/first", b"kept")).unwrap();
    drop(store);
    let again = mount(&disk.reboot());
    assert_eq!(ready(again.get("notes/first")).unwrap(), b"kept");
}

#[test]
fn values_survive_a_remount() {
    kept_across_a_restart(formatted(256));
}

/// An unpatched Solo5 tender: the store mounts (saying so once), and
/// what it acknowledged outlives the image, if not the host.
#[test]
fn a_host_that_cannot_flush_still_keeps_values_across_a_restart() {
    let disk = formatted(256);
    disk.0.borrow_mut().flushes = false;
    kept_across_a_restart(disk);
}

#[test]
fn a_disk_without_littlefs_is_refused_with_one_line() {
    for disk in [MemDisk::new(256), {
        let d = MemDisk::new(256);
        d.0.borrow_mut()
            .bytes
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (i * 31 % 251) as u8);
        d
    }] {
        let e = ready(Chamelon::connect(disk, Epoch, false)).err().unwrap();
        assert_eq!(
            e,
            "the block device holds no littlefs disk \
             (format it with `mirage disk format`, or boot once with --format)"
        );
    }
}

#[test]
fn format_makes_a_blank_disk_a_store_and_keeps_a_store() {
    let disk = MemDisk::new(256);
    let store = ready(Chamelon::connect(disk.clone(), Epoch, true)).unwrap();
    ready(store.set("kept", b"1")).unwrap();
    drop(store);
    let again = ready(Chamelon::connect(disk.reboot(), Epoch, true)).unwrap();
    assert_eq!(ready(again.get("kept")).unwrap(), b"1");
}

#[test]
fn bad_disks_are_refused_or_read_never_a_panic() {
    let disk = formatted(256);
    let store = mount(&disk);
    ready(store.set("a/b", b"value")).unwrap();
    drop(store);
    let bytes = disk.0.borrow().bytes.clone();
    let with = |bytes: Vec<u8>| {
        let d = MemDisk::new(0);
        d.0.borrow_mut().bytes = bytes;
        d
    };
    // Half the disk: refused, or mounted and read without a panic.
    let half = with(bytes[..bytes.len() / 2].to_vec());
    if let Ok(store) = ready(Chamelon::connect(half, Epoch, false)) {
        let _ = ready(store.get("a/b"));
    }
    // One copy of the superblock's pair damaged: littlefs mounts from the
    // other and the value is there.
    for damaged in [0usize, 1] {
        let mut copy = bytes.clone();
        let at = damaged * crate::BLOCK_SIZE as usize;
        copy[at..at + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        match ready(Chamelon::connect(with(copy), Epoch, false)) {
            Ok(store) => assert_eq!(ready(store.get("a/b")).unwrap(), b"value"),
            Err(e) => panic!("superblock copy {damaged} damaged: {e}"),
        }
    }
    // Both copies damaged: one line.
    let mut copy = bytes.clone();
    copy[..2 * crate::BLOCK_SIZE as usize]
        .iter_mut()
        .for_each(|b| *b ^= 0x5a);
    let e = ready(Chamelon::connect(with(copy), Epoch, false))
        .err()
        .unwrap();
    assert!(
        e.starts_with("the block device holds no littlefs disk"),
        "{e}"
    );
}

/// 300 values in one dictionary: the port's `loop_limits` (see `lfs`)
/// panicked on this disk, as a client putting notes could make it.
#[test]
fn a_dictionary_of_300_values_is_kept() {
    let disk = formatted(2048);
    let store = mount(&disk);
    for i in 0..300 {
        ready(store.set(&alloc::format!("n{i}"), b"x")).unwrap();
    }
    drop(store);
    let store = mount(&disk);
    assert_eq!(ready(store.get("n299")).unwrap(), b"x");
}

/// A clock at 2025-12-04 12:00:00 UTC.
#[derive(Clone, Copy)]
struct Noon;

impl mirage_types::PosixClock for Noon {
    fn now_d_ps(&self) -> (i64, u64) {
        (20_426, 43_200 * 1_000_000_000_000)
    }
    fn current_tz_offset_s(&self) -> Option<i32> {
        None
    }
}

#[test]
fn a_value_is_dated_by_the_clock_when_set_and_kept_across_a_remount() {
    let disk = formatted(256);
    let store = ready(Chamelon::connect(disk.clone(), Noon, false)).unwrap();
    ready(store.set("a/dated", b"1")).unwrap();
    assert_eq!(ready(store.last_modified("a/dated")), Ok(1_764_849_600));
    assert_eq!(
        ready(store.last_modified("a/none")),
        Err(KvError::NotFound("a/none".into()))
    );
    assert_eq!(
        ready(store.last_modified("a")),
        Err(KvError::ValueExpected("a".into()))
    );
    drop(store);
    let store = mount(&disk);
    assert_eq!(ready(store.last_modified("a/dated")), Ok(1_764_849_600));
}
