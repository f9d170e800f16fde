//! The tutorial's kv_ro: check the store's files against known contents,
//! whichever store `--kv_ro` chose, and that bad requests fail cleanly.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use mirage_types::{KvError, KvKind, KvRo};

/// Files of `t/` and their known contents.
const EXPECTED: &[(&str, &[u8])] = &[
    ("secret", b"foo\n"),
    ("docs/hello world.txt", "h\u{e9}llo w\u{f6}rld\n".as_bytes()),
    ("docs/empty", b""),
];

/// Checks every file, the listing, and the expected errors.
pub async fn start<K: KvRo>(kv: K) -> Result<(), String> {
    for (key, want) in EXPECTED {
        let got = kv.get(key).await.map_err(|e| format!("get: {e}"))?;
        if got != *want {
            return Err(format!("{key:?}: read {got:?}, expected {want:?}"));
        }
        let size = kv.size(key).await.map_err(|e| format!("size: {e}"))?;
        log::info!("{key:?}: {size} bytes, as expected");
    }
    let root = kv.list("").await.map_err(|e| format!("list: {e}"))?;
    let names: alloc::vec::Vec<String> = root
        .iter()
        .map(|(n, k)| format!("{n}{}", if *k == KvKind::Dictionary { "/" } else { "" }))
        .collect();
    log::info!("root: {}", names.join(" "));
    for (key, expected) in [
        ("docs", KvError::ValueExpected("docs".into())),
        ("missing", KvError::NotFound("missing".into())),
        ("../secret", KvError::BadKey("../secret".into())),
        ("/secret", KvError::BadKey("/secret".into())),
    ] {
        match kv.get(key).await {
            Err(e) if e == expected => log::info!("get {key:?}: {e}, as expected"),
            other => return Err(format!("get {key:?}: expected {expected}, got {other:?}")),
        }
    }
    log::info!("Contents of extremely secret vital storage confirmed!");
    Ok(())
}
