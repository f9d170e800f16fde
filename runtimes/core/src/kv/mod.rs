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

use alloc::vec::Vec;
use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `bytes[offset..offset + length]`, clamped to the value.
pub fn slice(bytes: &[u8], offset: u64, length: usize) -> Vec<u8> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let end = start.saturating_add(length).min(bytes.len());
    bytes[start..end].to_vec()
}
