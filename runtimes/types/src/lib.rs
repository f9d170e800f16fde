//! Device signatures: what a unikernel's `start` is generic over.
//!
//! Each trait mirrors a MirageOS module type (`Mirage_time.S`,
//! `Mirage_clock.MCLOCK`, `Mirage_console.S`, ...). Implementations live in
//! the platform crates (`mirage-unix`, `mirage-solo5`) and in
//! `mirage-runtime`; the generator picks one per target, and rustc checks the
//! unikernel against it.
//!
//! Contract shared by every trait: device handles are cheap to clone and all
//! clones refer to the same device; operations that can fail return a
//! `Result` whose error type displays one line of cause.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod dns;
mod net;

pub use dns::{Dns, Kind};
pub use net::{
    Connect, Datagram, IpAddr, IpVersions, Net, NetError, SocketAddr, Stack, TcpFlow, TlsClient,
    TlsServer,
};

use core::fmt::Display;
use core::future::Future;

/// `Mirage_time.S`: waiting.
pub trait Time: Clone {
    /// Completes once at least `ns` nanoseconds have passed.
    fn sleep_ns(&self, ns: u64) -> impl Future<Output = ()>;
}

/// `Mirage_clock.MCLOCK`: a monotonic clock.
pub trait MonotonicClock: Clone {
    /// Nanoseconds since an arbitrary, fixed point in the past.
    fn elapsed_ns(&self) -> u64;
    /// The clock's resolution, if known.
    fn period_ns(&self) -> Option<u64>;
}

/// `Mirage_clock.PCLOCK`: the POSIX wall clock.
pub trait PosixClock: Clone {
    /// Time since the epoch as (days, picoseconds within the day).
    fn now_d_ps(&self) -> (i64, u64);
    /// The local time zone offset in seconds, if known.
    fn current_tz_offset_s(&self) -> Option<i32>;
}

/// `Mirage_random.S`: a source of random bytes.
pub trait Random: Clone {
    /// Fills `buf` with random bytes.
    fn generate(&self, buf: &mut [u8]);
}

/// `Mirage_console.S`: a text console.
pub trait Console: Clone {
    /// Why a write failed.
    type Error: Display;
    /// Writes all of `buf`.
    fn write(&self, buf: &[u8]) -> impl Future<Output = Result<(), Self::Error>>;
    /// Writes one line now, best effort: used by log reporters, which
    /// cannot wait.
    fn log(&self, line: &str);
}

/// What an image knows about how it was configured.
#[derive(Debug)]
pub struct BuildInfo {
    /// The unikernel's BUILD label.
    pub label: &'static str,
    /// The target it was built for.
    pub target: &'static str,
    /// Configure keys and their values, sorted by name.
    pub keys: &'static [(&'static str, &'static str)],
    /// Cargo packages the generated code depends on.
    pub crates: &'static [&'static str],
    /// Version of rules_mirage that generated it.
    pub generator: &'static str,
    /// The sha256 of the Cargo.lock it was built with, which its release's
    /// provenance and buildinfo record.
    pub lock_sha256: &'static str,
}

impl BuildInfo {
    /// The unikernel's name: the last part of its label.
    pub fn name(&self) -> &'static str {
        self.label.rsplit(':').next().unwrap_or(self.label)
    }
}

/// Build information, as Functoria's `app_info` device provides it.
pub trait Info: Clone {
    /// The configuration of this image.
    fn info(&self) -> &'static BuildInfo;
}

/// Why a block operation failed (`Mirage_block.error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// The sectors lie (partly) past the end of the device.
    OutOfRange,
    /// The buffer is not a whole number of sectors.
    Unaligned,
    /// The device is read-only.
    ReadOnly,
    /// The device reported an error.
    Io,
    /// The host cannot flush writes to stable storage (a Solo5 tender
    /// without rules_mirage's flush patch).
    NoFlush,
    /// A sector failed its integrity check: changed on the disk, or
    /// written under another key (an `encrypted_block`).
    Integrity,
}

impl Display for BlockError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BlockError::OutOfRange => "out of range",
            BlockError::Unaligned => "buffer not a multiple of the sector size",
            BlockError::ReadOnly => "read-only device",
            BlockError::Io => "I/O error",
            BlockError::NoFlush => "the host cannot flush writes to stable storage",
            BlockError::Integrity => "a sector failed its integrity check (changed on the disk)",
        })
    }
}

/// The geometry of a block device (`Mirage_block.info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Whether writes are allowed.
    pub read_write: bool,
    /// Bytes per sector.
    pub sector_size: usize,
    /// Number of sectors.
    pub size_sectors: u64,
}

impl BlockInfo {
    /// Checks an I/O of `len` bytes at `sector`: whole sectors, in range.
    pub fn check(&self, sector: u64, len: usize) -> Result<(), BlockError> {
        // A device without sectors (size 0) holds nothing to address.
        if self.sector_size == 0 {
            return Err(BlockError::OutOfRange);
        }
        if !len.is_multiple_of(self.sector_size) {
            return Err(BlockError::Unaligned);
        }
        let sectors = (len / self.sector_size) as u64;
        match sector.checked_add(sectors) {
            Some(end) if end <= self.size_sectors => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }
}

/// `Mirage_block.S`: sector-addressed storage.
pub trait Block: Clone {
    /// The device's geometry.
    fn info(&self) -> BlockInfo;
    /// Reads whole sectors starting at `sector` into `buf`.
    fn read(&self, sector: u64, buf: &mut [u8]) -> impl Future<Output = Result<(), BlockError>>;
    /// Writes whole sectors starting at `sector` from `buf`.
    fn write(&self, sector: u64, buf: &[u8]) -> impl Future<Output = Result<(), BlockError>>;
    /// A barrier: returns once every write made before it is on stable
    /// storage (survives the host's crash, not just the image's).
    fn flush(&self) -> impl Future<Output = Result<(), BlockError>>;
}

/// Why a key-value operation failed (`Mirage_kv.error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// No entry at this key.
    NotFound(alloc::string::String),
    /// A value was expected, but the key names a dictionary.
    ValueExpected(alloc::string::String),
    /// A dictionary was expected, but the key names a value.
    DictionaryExpected(alloc::string::String),
    /// The key is not a relative, `/`-separated path without `.` or `..`.
    BadKey(alloc::string::String),
    /// The store itself failed (a corrupt archive, an I/O error).
    Store(alloc::string::String),
}

impl Display for KvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KvError::NotFound(k) => write!(f, "{k:?}: not found"),
            KvError::ValueExpected(k) => write!(f, "{k:?}: is a dictionary, expected a value"),
            KvError::DictionaryExpected(k) => write!(f, "{k:?}: is a value, expected a dictionary"),
            KvError::BadKey(k) => write!(
                f,
                "{k:?}: bad key (keys are relative paths without . or ..)"
            ),
            KvError::Store(why) => write!(f, "store error: {why}"),
        }
    }
}

/// What a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvKind {
    /// A value.
    Value,
    /// A dictionary of further keys.
    Dictionary,
}

/// Checks a key: `a/b/c`, no empty, `.` or `..` segment, not absolute. The
/// empty key is the root dictionary.
pub fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Ok(());
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(KvError::BadKey(key.into()));
    }
    Ok(())
}

/// `Mirage_kv.RO`: a read-only key-value store.
pub trait KvRo: Clone {
    /// What `key` names, if anything.
    fn exists(&self, key: &str) -> impl Future<Output = Result<Option<KvKind>, KvError>>;
    /// The whole value at `key`.
    fn get(&self, key: &str) -> impl Future<Output = Result<alloc::vec::Vec<u8>, KvError>>;
    /// Up to `length` bytes of the value at `key`, from `offset`.
    fn get_partial(
        &self,
        key: &str,
        offset: u64,
        length: usize,
    ) -> impl Future<Output = Result<alloc::vec::Vec<u8>, KvError>>;
    /// The entries of the dictionary at `key`, sorted by name.
    fn list(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<alloc::vec::Vec<(alloc::string::String, KvKind)>, KvError>>;
    /// When the value at `key` last changed, in seconds since the epoch.
    fn last_modified(&self, key: &str) -> impl Future<Output = Result<i64, KvError>>;
    /// The SHA-256 of the value at `key`.
    fn digest(&self, key: &str) -> impl Future<Output = Result<[u8; 32], KvError>>;
    /// The size in bytes of the value at `key`.
    fn size(&self, key: &str) -> impl Future<Output = Result<u64, KvError>>;
}

/// `Mirage_kv.RW`: a key-value store that can change.
pub trait KvRw: KvRo {
    /// Sets the value at `key`, creating dictionaries on the way.
    fn set(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), KvError>>;
    /// Removes the value or dictionary at `key`.
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), KvError>>;
}
