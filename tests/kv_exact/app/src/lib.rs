//! Prints the size and SHA-256 of every value in a read-only store, checks
//! partial reads, exercises a read-write store, and with `--repeat=N` times
//! N reads of the largest value.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mirage_types::{Console, KvError, KvKind, KvRo, KvRw, MonotonicClock};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every value's key, recursively, in listing order.
async fn keys<K: KvRo>(kv: &K) -> Result<Vec<String>, KvError> {
    let mut out = Vec::new();
    let mut todo = alloc::vec![String::new()];
    while let Some(dir) = todo.pop() {
        for (name, kind) in kv.list(&dir).await? {
            let key = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            match kind {
                KvKind::Value => out.push(key),
                KvKind::Dictionary => todo.push(key),
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn say<C: Console>(console: &C, line: String) -> Result<(), String> {
    console.write(format!("{line}\n").as_bytes()).await.map_err(|e| format!("console: {e}"))
}

/// See the crate documentation.
pub async fn start<K: KvRo, W: KvRw, C: Console, M: MonotonicClock>(
    kv: K,
    rw: W,
    console: C,
    clock: M,
    repeat: i64,
) -> Result<(), String> {
    let err = |e: KvError| format!("{e}");
    let mut largest = (String::new(), 0);
    for key in keys(&kv).await.map_err(err)? {
        let value = kv.get(&key).await.map_err(err)?;
        let size = kv.size(&key).await.map_err(err)?;
        if size != value.len() as u64 {
            return Err(format!("{key}: size {size} but {} bytes read", value.len()));
        }
        // The host compares this digest with the file's own.
        let digest = kv.digest(&key).await.map_err(err)?;
        let middle = value.len() / 3;
        let part = kv.get_partial(&key, middle as u64, 1000).await.map_err(err)?;
        if part[..] != value[middle..(middle + 1000).min(value.len())] {
            return Err(format!("{key}: get_partial differs from get"));
        }
        if value.len() > largest.1 {
            largest = (key.clone(), value.len());
        }
        say(&console, format!("FILE {key}|{}|{}", value.len(), hex(&digest))).await?;
    }
    rw.set("dir/value", b"one").await.map_err(err)?;
    rw.set("dir/value", b"two").await.map_err(err)?;
    let read = rw.get("dir/value").await.map_err(err)?;
    let refused = rw.set("dir/value/below", b"x").await;
    rw.remove("dir").await.map_err(err)?;
    let gone = rw.exists("dir/value").await.map_err(err)?;
    say(&console, format!("RW {} {:?} {:?}", String::from_utf8_lossy(&read), refused.err(), gone)).await?;
    if repeat > 0 {
        let start = clock.elapsed_ns();
        for _ in 0..repeat {
            kv.get(&largest.0).await.map_err(err)?;
        }
        let ns = (clock.elapsed_ns() - start).max(1);
        let mb = largest.1 as u64 * repeat as u64 / 1_000_000;
        say(&console, format!("THROUGHPUT {} MB/s ({mb} MB in {} ms)", mb * 1_000_000_000 / ns, ns / 1_000_000)).await?;
    }
    Ok(())
}
