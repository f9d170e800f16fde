//! littlefs's power-loss guarantee applied to the store: for a workload,
//! the power is cut at every write in turn (the write and every later one
//! lost; in a second sweep, the cut write torn after its first sector; in
//! a third, the host crashes, and every write since the last flush is
//! lost with it), and after each cut the disk mounts, every acknowledged
//! `set` and `remove` holds, and no key holds a value never written. The
//! first two sweeps run on an `encrypted_block` too, whose sectors stay
//! whole through a cut.

extern crate std;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use mirage_crypt::EncryptedBlock;
use mirage_runtime::executor::ready;
use mirage_runtime::fuzz::SeededRandom;
use mirage_types::{Block, KvError, KvKind, KvRo, KvRw};

use super::disk::{Cut, MemDisk, Restart};
use crate::{format, Chamelon, Epoch};

/// The store's device on a disk: the disk itself, or a layer on it.
type Layer<B> = fn(MemDisk) -> B;

fn plain(disk: MemDisk) -> MemDisk {
    disk
}

/// An encrypted block on `disk` (a blank one becomes an encrypted disk).
fn encrypted(disk: MemDisk) -> EncryptedBlock<MemDisk, SeededRandom> {
    let key = "5c".repeat(32);
    ready(EncryptedBlock::connect(
        disk,
        SeededRandom::new(disk_seed()),
        key,
    ))
    .unwrap()
}

/// A seed no connection used before: each boot draws its own nonces.
fn disk_seed() -> u64 {
    static SEEDS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
    SEEDS.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
}

/// A formatted store's disk of `sectors`, through `layer`.
fn formatted<B: Block>(sectors: usize, layer: Layer<B>) -> MemDisk {
    let disk = MemDisk::new(sectors);
    format(layer(disk.clone())).unwrap();
    disk
}

fn mount<B: Block>(disk: &MemDisk, layer: Layer<B>) -> Chamelon<B> {
    ready(Chamelon::connect(layer(disk.clone()), Epoch, false)).unwrap()
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
fn run<B: Block>(
    store: &Chamelon<B>,
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
fn writes_of_the_workload<B: Block>(layer: Layer<B>) -> usize {
    let disk = formatted(512, layer);
    let store = mount(&disk, layer);
    disk.cut(Cut::Never);
    let (_, failed) = run(&store, &workload());
    assert_eq!(failed, None);
    let writes = disk.0.borrow().writes;
    writes
}

/// Every value's key below `dir`.
fn keys<B: Block>(store: &Chamelon<B>, dir: &str) -> Vec<alloc::string::String> {
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

fn sweep<B: Block>(cut: fn(usize) -> Cut, restart: Restart, layer: Layer<B>) -> usize {
    let ops = workload();
    let writes = writes_of_the_workload(layer);
    assert!(writes > 100, "{writes} writes");
    for n in 0..writes {
        let disk = formatted(512, layer);
        let store = mount(&disk, layer);
        disk.cut(cut(n));
        let (acked, in_flight) = run(&store, &ops);
        drop(store);
        let after = ready(Chamelon::connect(
            layer(disk.restart(restart)),
            Epoch,
            false,
        ))
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
    let writes = sweep(Cut::At, Restart::Process, plain);
    std::println!("power cut at each of {writes} writes: every acknowledged write held");
}

#[test]
fn an_acknowledged_write_survives_a_torn_write_at_every_write() {
    let writes = sweep(Cut::Torn, Restart::Process, plain);
    std::println!("torn write at each of {writes} writes: every acknowledged write held");
}

#[test]
fn an_acknowledged_write_survives_a_host_crash_at_every_write() {
    let writes = sweep(Cut::At, Restart::Host, plain);
    std::println!(
        "host crash at each of {writes} writes, unflushed writes lost: \
         every acknowledged write held"
    );
}

#[test]
fn an_acknowledged_write_survives_a_power_cut_at_every_write_when_encrypted() {
    let writes = sweep(Cut::At, Restart::Process, encrypted);
    std::println!("encrypted, power cut at each of {writes} writes: every acknowledged write held");
}

#[test]
fn an_acknowledged_write_survives_a_torn_write_at_every_write_when_encrypted() {
    let writes = sweep(Cut::Torn, Restart::Process, encrypted);
    std::println!(
        "encrypted, torn write at each of {writes} writes: every acknowledged write held"
    );
}
