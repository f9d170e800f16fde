//! The store on a disk in memory: the KvRw contract, a remount, a blank
//! disk refused, and littlefs's power-loss guarantee applied to the store:
//! for a workload, the power is cut at every write in turn (the write and
//! every later one lost; in a second sweep, the cut write torn after its
//! first sector; in a third, the host crashes, and every write since the
//! last flush is lost with it), and after each cut the disk mounts, every
//! acknowledged `set` and `remove` holds, and no key holds a value never
//! written.

extern crate std;

mod cache;
mod disk;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use mirage_runtime::executor::ready;
use mirage_types::{KvError, KvKind, KvRo, KvRw};

use crate::{format, Chamelon};
use disk::{Cut, MemDisk, Restart};

fn formatted(sectors: usize) -> MemDisk {
    let disk = MemDisk::new(sectors);
    format(disk.clone()).unwrap();
    disk
}

fn mount(disk: &MemDisk) -> Chamelon<MemDisk> {
    ready(Chamelon::connect(disk.clone(), false)).unwrap()
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
        let e = ready(Chamelon::connect(disk, false)).err().unwrap();
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
    let store = ready(Chamelon::connect(disk.clone(), true)).unwrap();
    ready(store.set("kept", b"1")).unwrap();
    drop(store);
    let again = ready(Chamelon::connect(disk.reboot(), true)).unwrap();
    assert_eq!(ready(again.get("kept")).unwrap(), b"1");
}

/// One step of the workload.
enum Op {
    Set(&'static str, Vec<u8>),
    Remove(&'static str),
}

/// A few hundred writes: values of a few bytes to several blocks, over
/// nested keys, replaced and removed.
fn workload() -> Vec<Op> {
    let keys = ["a", "b/1", "b/2", "c/d/e", "big"];
    let mut ops = Vec::new();
    for round in 0..12u8 {
        for (i, key) in keys.iter().enumerate() {
            let len = match *key {
                "big" => 9000 + usize::from(round) * 1000,
                _ => 1 + usize::from(round) * 40 + i,
            };
            ops.push(Op::Set(key, vec![round * 16 + i as u8; len]));
        }
        ops.push(Op::Remove(keys[usize::from(round) % keys.len()]));
    }
    ops
}

/// Runs `ops` until one fails (the power is cut); what the store
/// acknowledged (each key's value, `None` when removed), and the step in
/// flight at the cut.
fn run(
    store: &Chamelon<MemDisk>,
    ops: &[Op],
) -> (BTreeMap<&'static str, Option<Vec<u8>>>, Option<usize>) {
    let mut acked = BTreeMap::new();
    for (n, op) in ops.iter().enumerate() {
        let done = match op {
            Op::Set(k, v) => ready(store.set(k, v)).map(|()| (*k, Some(v.clone()))),
            Op::Remove(k) => ready(store.remove(k)).map(|()| (*k, None)),
        };
        match done {
            Ok((k, v)) => {
                acked.insert(k, v);
            }
            Err(_) => return (acked, Some(n)),
        }
    }
    (acked, None)
}

/// The writes the workload makes with the power on.
fn writes_of_the_workload() -> usize {
    let disk = formatted(512);
    let store = mount(&disk);
    disk.cut(Cut::Never);
    let (_, failed) = run(&store, &workload());
    assert_eq!(failed, None);
    let writes = disk.0.borrow().writes;
    writes
}

/// Every value's key below `dir`.
fn keys(store: &Chamelon<MemDisk>, dir: &str) -> Vec<alloc::string::String> {
    let mut out = Vec::new();
    for (name, kind) in ready(store.list(dir)).unwrap() {
        let key = crate::join(dir, &name);
        match kind {
            KvKind::Value => out.push(key),
            KvKind::Dictionary => out.extend(keys(store, &key)),
        }
    }
    out
}

fn sweep(cut: fn(usize) -> Cut, restart: Restart) -> usize {
    let ops = workload();
    let writes = writes_of_the_workload();
    assert!(writes > 100, "{writes} writes");
    for n in 0..writes {
        let disk = formatted(512);
        let store = mount(&disk);
        disk.cut(cut(n));
        let (acked, in_flight) = run(&store, &ops);
        drop(store);
        let after = ready(Chamelon::connect(disk.restart(restart), false))
            .unwrap_or_else(|e| panic!("cut at write {n}: {e}"));
        let flight_key = in_flight.map(|i| match &ops[i] {
            Op::Set(k, _) | Op::Remove(k) => *k,
        });
        for key in keys(&after, "") {
            let known = acked.get(key.as_str()).is_some_and(Option::is_some);
            assert!(
                known || flight_key == Some(key.as_str()),
                "cut at write {n}: {key} was never acknowledged"
            );
        }
        for (key, want) in &acked {
            let got = match ready(after.get(key)) {
                Ok(v) => Some(v),
                Err(KvError::NotFound(_)) => None,
                Err(e) => panic!("cut at write {n}: {key}: {e}"),
            };
            if Some(*key) == flight_key {
                // Old or new, never a mix.
                let new = match &ops[in_flight.unwrap()] {
                    Op::Set(_, v) => Some(v.clone()),
                    Op::Remove(_) => None,
                };
                assert!(
                    got == *want || got == new,
                    "cut at write {n}: {key} holds neither"
                );
            } else {
                assert_eq!(got, *want, "cut at write {n}: {key}");
            }
        }
    }
    writes
}

#[test]
fn an_acknowledged_write_survives_a_power_cut_at_every_write() {
    let writes = sweep(Cut::At, Restart::Process);
    std::println!("power cut at each of {writes} writes: every acknowledged write held");
}

#[test]
fn an_acknowledged_write_survives_a_torn_write_at_every_write() {
    let writes = sweep(Cut::Torn, Restart::Process);
    std::println!("torn write at each of {writes} writes: every acknowledged write held");
}

#[test]
fn an_acknowledged_write_survives_a_host_crash_at_every_write() {
    let writes = sweep(Cut::At, Restart::Host);
    std::println!(
        "host crash at each of {writes} writes, unflushed writes lost: \
         every acknowledged write held"
    );
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
    if let Ok(store) = ready(Chamelon::connect(half, false)) {
        let _ = ready(store.get("a/b"));
    }
    // One copy of the superblock's pair damaged: littlefs mounts from the
    // other and the value is there.
    for damaged in [0usize, 1] {
        let mut copy = bytes.clone();
        let at = damaged * crate::BLOCK_SIZE as usize;
        copy[at..at + 64].iter_mut().for_each(|b| *b ^= 0x5a);
        match ready(Chamelon::connect(with(copy), false)) {
            Ok(store) => assert_eq!(ready(store.get("a/b")).unwrap(), b"value"),
            Err(e) => panic!("superblock copy {damaged} damaged: {e}"),
        }
    }
    // Both copies damaged: one line.
    let mut copy = bytes.clone();
    copy[..2 * crate::BLOCK_SIZE as usize]
        .iter_mut()
        .for_each(|b| *b ^= 0x5a);
    let e = ready(Chamelon::connect(with(copy), false)).err().unwrap();
    assert!(
        e.starts_with("the block device holds no littlefs disk"),
        "{e}"
    );
}
