//! Key-value stores on every target: `crunch` (files embedded in the image),
//! `tar_kv_ro` (a tar archive on a block device) and `kv_rw_mem`.
//!
//! Keys are relative `/`-separated paths (see `mirage_types::check_key`);
//! the empty key is the root. Dictionaries are implied by the values below
//! them. Every store answers through an [`Index`] of its values, so their
//! lookup and listing rules are one piece of code.

mod crunch;
mod index;
mod mem;
mod tar;

pub use crunch::Crunch;
pub use index::Index;
pub use mem::KvMem;
pub use tar::TarKv;

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The digests of a read-only store's values, each computed once: a web
/// server's `ETag` would otherwise hash the whole value on every request
/// (a 1 MiB file's SHA-256 cost more than sending it). Only a key whose
/// value was read is remembered (keys are exact, as the index's): at most
/// one entry per value of the store, whose values never change.
#[derive(Clone, Debug, Default)]
pub(crate) struct Digests(Rc<RefCell<BTreeMap<String, [u8; 32]>>>);

impl Digests {
    /// The digest of `key`'s value, if computed before.
    pub(crate) fn get(&self, key: &str) -> Option<[u8; 32]> {
        self.0.borrow().get(key).copied()
    }

    /// Remembers `digest` for `key`; returns it.
    pub(crate) fn put(&self, key: &str, digest: [u8; 32]) -> [u8; 32] {
        self.0.borrow_mut().insert(key.into(), digest);
        digest
    }
}

/// `bytes[offset..offset + length]`, clamped to the value.
pub fn slice(bytes: &[u8], offset: u64, length: usize) -> Vec<u8> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let end = start.saturating_add(length).min(bytes.len());
    bytes[start..end].to_vec()
}
