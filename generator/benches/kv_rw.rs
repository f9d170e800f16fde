//! chamelon, the store the images run, on a host file through `mirage
//! disk`'s block device (a flush is `fdatasync`), without HTTP: N sets of
//! 4 KiB values (durable when they return), then N gets. Prints `chamelon
//! SETS/S GETS/S BYTES-PER-SET` as bench/kv_rw.py does for its peers
//! (bytes: the kernel's `wchar` count for this process).
//!
//! `cargo bench -p mirage --bench kv_rw -- DIR N` (bench/kv_rw.sh runs it).

use std::time::Instant;

use mirage_chamelon::{Chamelon, Epoch};
use mirage_runtime::executor::ready;
use mirage_types::{KvRo, KvRw};

const VALUE: usize = 4096;
const DISK: u64 = 4 << 20;

fn value(n: usize) -> Vec<u8> {
    format!("{n:08}").into_bytes().repeat(VALUE / 8)
}

/// Bytes this process has handed to write(2) and its kin.
fn written() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("wchar in /proc/self/io")
}

fn main() {
    // cargo bench adds `--bench`; the rest is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (dir, n) = match args.as_slice() {
        [dir, n] => (dir.clone(), n.parse::<usize>().expect("N is a number")),
        _ => {
            eprintln!("usage: cargo bench -p mirage --bench kv_rw -- DIR N");
            std::process::exit(2);
        }
    };
    let path = std::path::Path::new(&dir).join("chamelon.img");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(DISK))
        .expect("disk file");
    let block = mirage::cli::disk::open(&path).expect("disk");
    mirage_chamelon::format(block.clone()).expect("format");
    let store = ready(Chamelon::connect(block, Epoch, false)).expect("mount");

    let before = written();
    let start = Instant::now();
    for i in 0..n {
        ready(store.set(&format!("bench/{i}"), &value(i))).expect("set");
    }
    let sets = n as f64 / start.elapsed().as_secs_f64();
    let per_set = (written() - before) as f64 / n as f64;
    let start = Instant::now();
    for i in 0..n {
        assert_eq!(
            ready(store.get(&format!("bench/{i}"))).expect("get"),
            value(i)
        );
    }
    let gets = n as f64 / start.elapsed().as_secs_f64();
    println!("chamelon {sets:.0} {gets:.0} {per_set:.0}");
    let _ = std::fs::remove_file(&path);
}
