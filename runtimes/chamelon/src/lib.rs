//! `chamelon`: a `kv_rw` on any block device that survives a restart, in
//! the littlefs v2 on-disk format (as Mirage's chamelon, whose name it
//! keeps), so host tools (littlefs-python, `mirage disk`) read and write
//! the same disks.
//!
//! Contract: keys are littlefs paths below the root (`a/b` is the file
//! `b` in the directory `a`); `set` makes the directories on the way and
//! replaces a value whole, atomically: it writes [`PARTIAL`] and renames
//! it over the key (littlefs commits a file when it closes and a rename in
//! one commit, so after a power cut a key holds its old value or its new
//! one, never a mix or an empty file), and returns once both are
//! committed; `remove`
//! takes a value or a whole dictionary, and a dictionary left empty goes
//! too, as in the other stores, where dictionaries are implied by the
//! values below them. A disk that holds no littlefs is refused at connect
//! with one line; nothing a disk holds panics the image.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod cache;
mod lfs;
mod lru;
mod sectors;
#[cfg(test)]
mod tests;
mod values;

pub use cache::CACHE_BLOCKS;
use sectors::Sectors;
pub use sectors::BLOCK_SIZE;
use values::ValueCache;
pub use values::VALUE_CACHE_BYTES;

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use lfs::{Config, Error, FileType, Filesystem};
use mirage_runtime::metrics::Io;
use mirage_types::{check_key, Block, KvError, KvKind, KvRo, KvRw, PosixClock};

/// The root file a value is written to before it is renamed over its key
/// (a key of its own name is refused, and listings leave it out).
pub const PARTIAL: &str = ".chamelon-partial";

/// The littlefs configuration of `storage`: its geometry, I/O in sectors.
fn config<B: Block>(storage: &Sectors<B>) -> Config {
    Config {
        block_size: storage.block_size(),
        block_count: storage.block_count(),
        read_size: storage.sector_size(),
        prog_size: storage.sector_size(),
    }
}

/// The littlefs path of `key`.
fn path(key: &str) -> String {
    format!("/{key}")
}

/// The littlefs path of `key`, after checking it ([`PARTIAL`] is no key).
fn checked(key: &str) -> Result<String, KvError> {
    check_key(key)?;
    match key == PARTIAL {
        true => Err(KvError::BadKey(key.into())),
        false => Ok(path(key)),
    }
}

/// Why a disk does not mount, in one line.
fn refused(e: Error) -> String {
    match e {
        Error::Corrupt => "the block device holds no littlefs disk \
                           (format it with `mirage disk format`, or boot once with --format)"
            .to_string(),
        e => format!("cannot mount the littlefs disk: {e}"),
    }
}

fn store(e: Error) -> KvError {
    KvError::Store(format!("littlefs: {e}"))
}

/// Formats `block` as an empty littlefs disk (what `--format` and `mirage
/// disk format` do).
pub fn format<B: Block>(block: B) -> Result<(), String> {
    let mut storage = Sectors::new(block)?;
    let config = config(&storage);
    Filesystem::format(&mut storage, &config).map_err(|e| format!("format: {e}"))
}

/// The littlefs user attribute holding when a value was set: 8 bytes,
/// little-endian seconds since the epoch (`t`).
pub const MTIME: u8 = b't';

/// A clock that always says the epoch: for disks the build makes (no
/// times in outputs) and tests.
#[derive(Clone, Copy, Debug)]
pub struct Epoch;

impl PosixClock for Epoch {
    fn now_d_ps(&self) -> (i64, u64) {
        (0, 0)
    }
    fn current_tz_offset_s(&self) -> Option<i32> {
        None
    }
}

/// The `chamelon` device: a littlefs disk, mounted.
pub struct Chamelon<B: Block> {
    fs: Rc<Filesystem<Sectors<B>>>,
    values: Rc<RefCell<ValueCache>>,
    blocks: u32,
    /// Seconds since the epoch, from the device's clock.
    now: Rc<dyn Fn() -> i64>,
    io: Io,
}

impl<B: Block> Clone for Chamelon<B> {
    fn clone(&self) -> Self {
        Chamelon {
            fs: self.fs.clone(),
            values: self.values.clone(),
            blocks: self.blocks,
            now: self.now.clone(),
            io: self.io.clone(),
        }
    }
}

impl<B: Block> Chamelon<B> {
    /// Mounts the littlefs disk on `block`; with `format` (`--format`),
    /// formats it first if it holds no littlefs. `clock` dates each value
    /// set ([`MTIME`]).
    pub async fn connect<C: PosixClock + 'static>(
        block: B,
        clock: C,
        format: bool,
    ) -> Result<Self, String> {
        let now = Rc::new(move || {
            let (days, ps) = clock.now_d_ps();
            days * 86_400 + (ps / 1_000_000_000_000) as i64
        });
        let storage = Sectors::new(block)?;
        let blocks = storage.block_count();
        let config = config(&storage);
        let storage = match Filesystem::mount(storage, config) {
            Err((Error::Corrupt, mut storage)) if format => {
                let config = self::config(&storage);
                Filesystem::format(&mut storage, &config).map_err(|e| format!("format: {e}"))?;
                log::info!(target: "chamelon", "formatted a blank disk of {} blocks", storage.block_count());
                storage
            }
            Ok(fs) => return Self::mounted(fs, blocks, now),
            Err((e, _)) => return Err(refused(e)),
        };
        let config = self::config(&storage);
        match Filesystem::mount(storage, config) {
            Ok(fs) => Self::mounted(fs, blocks, now),
            Err((e, _)) => Err(refused(e)),
        }
    }

    fn mounted(
        fs: Filesystem<Sectors<B>>,
        blocks: u32,
        now: Rc<dyn Fn() -> i64>,
    ) -> Result<Self, String> {
        // A value a power cut stopped before its rename.
        match fs.remove(&path(PARTIAL)) {
            Ok(()) | Err(Error::NoEntry) => Ok(Chamelon {
                fs: Rc::new(fs),
                values: Rc::new(RefCell::new(ValueCache::new())),
                blocks,
                now,
                io: Io::kv("chamelon"),
            }),
            Err(e) => Err(format!("cannot mount the littlefs disk: {e}")),
        }
    }

    /// The disk's littlefs blocks ([`BLOCK_SIZE`] bytes each on a plain
    /// disk): how many
    /// there are, and how many are in use.
    pub fn usage(&self) -> Result<(u32, u32), String> {
        let used = self.fs.fs_size().map_err(|e| format!("littlefs: {e}"))?;
        Ok((self.blocks, used))
    }

    /// What `key` names (after checking it).
    fn kind(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        match self.fs.stat(&checked(key)?) {
            Ok((FileType::Dir, _)) => Ok(Some(KvKind::Dictionary)),
            Ok(_) => Ok(Some(KvKind::Value)),
            Err(Error::NoEntry | Error::NotDir) => Ok(None),
            Err(e) => Err(store(e)),
        }
    }

    /// The value at `key`, which must be one.
    fn value(&self, key: &str) -> Result<Vec<u8>, KvError> {
        // Only checked keys are ever held.
        if let Some(value) = self.values.borrow_mut().get(key) {
            return Ok(value);
        }
        // One walk of the tree (not a stat, then an open).
        match self.fs.read_to_vec(&checked(key)?) {
            Ok(value) => {
                self.values.borrow_mut().insert(key, &value);
                Ok(value)
            }
            Err(Error::IsDir) => Err(KvError::ValueExpected(key.into())),
            Err(Error::NoEntry | Error::NotDir) => Err(KvError::NotFound(key.into())),
            Err(e) => Err(store(e)),
        }
    }

    /// Removes the dictionary at `dir` and everything below it (its
    /// entries first: littlefs removes empty directories only).
    fn remove_tree(&self, dir: &str) -> Result<(), KvError> {
        for (name, kind) in self.entries(dir)? {
            let key = join(dir, &name);
            match kind {
                KvKind::Value => self.fs.remove(&path(&key)).map_err(store)?,
                KvKind::Dictionary => self.remove_tree(&key)?,
            }
        }
        match dir.is_empty() {
            true => Ok(()),
            false => self.fs.remove(&path(dir)).map_err(store),
        }
    }

    /// The entries of the directory `dir`, sorted by name.
    fn entries(&self, dir: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        let mut out: Vec<(String, KvKind)> = self
            .fs
            .list_dir(&path(dir))
            .map_err(store)?
            .into_iter()
            .filter(|(name, ..)| !(dir.is_empty() && name == PARTIAL))
            .map(|(name, kind, _)| match kind {
                FileType::Dir => (name, KvKind::Dictionary),
                FileType::File => (name, KvKind::Value),
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// `dir/name`, or `name` in the root.
fn join(dir: &str, name: &str) -> String {
    match dir.is_empty() {
        true => name.to_string(),
        false => format!("{dir}/{name}"),
    }
}

impl<B: Block> KvRo for Chamelon<B> {
    async fn exists(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        self.kind(key)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        let value = self.value(key)?;
        self.io.read(value.len());
        Ok(value)
    }

    async fn get_partial(&self, key: &str, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        let value = mirage_runtime::kv::slice(&self.value(key)?, offset, length);
        self.io.read(value.len());
        Ok(value)
    }

    async fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        match self.kind(key)? {
            Some(KvKind::Dictionary) => self.entries(key),
            Some(KvKind::Value) => Err(KvError::DictionaryExpected(key.into())),
            None => Err(KvError::NotFound(key.into())),
        }
    }

    async fn last_modified(&self, key: &str) -> Result<i64, KvError> {
        let mut time = [0; 8];
        match self.fs.getattr(&checked(key)?, MTIME, &mut time) {
            Ok(8) => Ok(i64::from_le_bytes(time)),
            // A value another tool wrote, undated: the epoch.
            Ok(_) | Err(Error::NoAttribute) => self.value(key).map(|_| 0),
            Err(Error::NoEntry | Error::NotDir) => Err(KvError::NotFound(key.into())),
            Err(e) => Err(store(e)),
        }
    }

    async fn digest(&self, key: &str) -> Result<[u8; 32], KvError> {
        Ok(mirage_runtime::kv::sha256(&self.value(key)?))
    }

    async fn size(&self, key: &str) -> Result<u64, KvError> {
        match self.kind(key)? {
            Some(KvKind::Value) => Ok(u64::from(self.fs.stat(&path(key)).map_err(store)?.1)),
            Some(KvKind::Dictionary) => Err(KvError::ValueExpected(key.into())),
            None => Err(KvError::NotFound(key.into())),
        }
    }
}

impl<B: Block> KvRw for Chamelon<B> {
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        check_key(key)?;
        if key.is_empty() {
            return Err(KvError::ValueExpected(key.into()));
        }
        let mut dir = String::new();
        for segment in key.split('/').take(key.split('/').count() - 1) {
            dir = join(&dir, segment);
            match self.kind(&dir)? {
                None => self.fs.mkdir(&path(&dir)).map_err(store)?,
                Some(KvKind::Value) => return Err(KvError::DictionaryExpected(dir)),
                Some(KvKind::Dictionary) => {}
            }
        }
        if self.kind(key)? == Some(KvKind::Dictionary) {
            return Err(KvError::ValueExpected(key.into()));
        }
        let partial = path(PARTIAL);
        let time = (self.now)().to_le_bytes();
        self.values.borrow_mut().forget(key);
        self.fs
            .write_file(&partial, value, (MTIME, &time))
            .map_err(store)?;
        self.fs.rename(&partial, &path(key)).map_err(store)?;
        self.values.borrow_mut().insert(key, value);
        self.io.write(value.len());
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), KvError> {
        match self.kind(key)? {
            None => return Ok(()),
            Some(KvKind::Value) => {
                self.values.borrow_mut().forget(key);
                self.fs.remove(&path(key)).map_err(store)?
            }
            Some(KvKind::Dictionary) => {
                self.values.borrow_mut().forget_below(key);
                self.remove_tree(key)?
            }
        }
        self.io.write(0);
        // Dictionaries live while values are below them.
        let mut dir = key;
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if !self.entries(parent)?.is_empty() {
                break;
            }
            self.fs.remove(&path(parent)).map_err(store)?;
            dir = parent;
        }
        Ok(())
    }
}
