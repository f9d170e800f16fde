//! `mirage disk`: the host tool for chamelon's disks (littlefs v2 in a
//! file, as Mirage's `chamelon format/ls/cat`): format, list, read, write,
//! remove, check and describe them with the store the images run
//! (`mirage-chamelon`), over the file as a block device of 512-byte
//! sectors. The store flushes (`fdatasync`) at each littlefs commit, so
//! what a command wrote is durable when it returns.
//! Mistakes (a missing file, a size that is not whole littlefs blocks, a
//! file that holds no littlefs) are one line and exit 2; `check` exits 1
//! when a disk mounts but a value cannot be read.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::Subcommand;
use mirage_chamelon::{Chamelon, BLOCK_SIZE};
use mirage_runtime::executor::ready;
use mirage_types::{Block, BlockError, BlockInfo, KvKind, KvRo, KvRw};

use crate::error::{Error, Result};

/// What `mirage disk` does.
#[derive(Subcommand, Debug)]
pub enum Disk {
    /// Make DISK, a file of SIZE (512, 64K, 1M, 2G: whole 4 KiB blocks),
    /// an empty littlefs disk.
    Format { disk: PathBuf, size: String },
    /// List the keys below PREFIX (all of them by default), one per line.
    Ls {
        disk: PathBuf,
        prefix: Option<String>,
    },
    /// Print the value at KEY.
    Cat { disk: PathBuf, key: String },
    /// Store FILE's bytes at KEY.
    Put {
        disk: PathBuf,
        key: String,
        file: PathBuf,
    },
    /// Remove the value or dictionary at KEY.
    Rm { disk: PathBuf, key: String },
    /// Mount DISK and read every value; exit 1 with the reason if one
    /// cannot be read.
    Check { disk: PathBuf },
    /// Print block_size, block_count and bytes_used, one per line.
    Info { disk: PathBuf },
}

/// A disk file as a block device (also what `benches/kv_rw.rs` measures
/// the store on).
#[derive(Clone)]
pub struct FileBlock(Rc<RefCell<File>>, u64);

const SECTOR: usize = 512;

impl Block for FileBlock {
    fn info(&self) -> BlockInfo {
        BlockInfo {
            read_write: true,
            sector_size: SECTOR,
            size_sectors: self.1,
        }
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> std::result::Result<(), BlockError> {
        self.info().check(sector, buf.len())?;
        let at = sector * SECTOR as u64;
        self.0
            .borrow()
            .read_exact_at(buf, at)
            .map_err(|_| BlockError::Io)
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> std::result::Result<(), BlockError> {
        self.info().check(sector, buf.len())?;
        let at = sector * SECTOR as u64;
        self.0
            .borrow()
            .write_all_at(buf, at)
            .map_err(|_| BlockError::Io)
    }

    async fn flush(&self) -> std::result::Result<(), BlockError> {
        self.0.borrow().sync_data().map_err(|_| BlockError::Io)
    }
}

/// `disk`, opened as a block device of whole littlefs blocks.
pub fn open(disk: &Path) -> Result<FileBlock> {
    let shown = disk.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(disk)
        .map_err(|e| Error::user(format!("{shown}: {}", io_cause(&e))))?;
    let len = file
        .metadata()
        .map_err(|e| Error::system(format!("{shown}: {e}")))?
        .len();
    if len == 0 || len % u64::from(BLOCK_SIZE) != 0 {
        return Err(Error::user(format!(
            "{shown}: {len} bytes is not a whole number of {BLOCK_SIZE}-byte littlefs blocks"
        )));
    }
    Ok(FileBlock(Rc::new(RefCell::new(file)), len / SECTOR as u64))
}

/// The host's clock: what `put` writes is dated now.
#[derive(Clone, Copy)]
struct HostClock;

impl mirage_types::PosixClock for HostClock {
    fn now_d_ps(&self) -> (i64, u64) {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since.as_secs();
        let ps = (secs % 86_400) * 1_000_000_000_000 + u64::from(since.subsec_nanos()) * 1_000;
        ((secs / 86_400) as i64, ps)
    }
    fn current_tz_offset_s(&self) -> Option<i32> {
        None
    }
}

fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => e.to_string(),
    }
}

fn mount(disk: &Path) -> Result<Chamelon<FileBlock>> {
    let block = open(disk)?;
    ready(Chamelon::connect(block, HostClock, false))
        .map_err(|e| Error::user(format!("{}: {e}", disk.display())))
}

/// Every value's key below `dir`, in order.
fn keys(store: &Chamelon<FileBlock>, dir: &str, out: &mut Vec<String>) -> Result<()> {
    for (name, kind) in ready(store.list(dir)).map_err(kv)? {
        let key = match dir.is_empty() {
            true => name,
            false => format!("{dir}/{name}"),
        };
        match kind {
            KvKind::Value => out.push(key),
            KvKind::Dictionary => keys(store, &key, out)?,
        }
    }
    Ok(())
}

fn kv(e: mirage_types::KvError) -> Error {
    Error::user(e.to_string())
}

/// Runs `mirage disk ...`.
pub fn main(command: Disk) -> Result<i32> {
    match command {
        Disk::Format { disk, size } => {
            let bytes = crate::model::resource::parse_size(&size).map_err(Error::user)?;
            if bytes % u64::from(BLOCK_SIZE) != 0 {
                return Err(Error::user(format!(
                    "disk size `{size}` is not a whole number of {BLOCK_SIZE}-byte littlefs blocks"
                )));
            }
            let file = File::create(&disk)
                .and_then(|f| f.set_len(bytes).map(|()| f))
                .map_err(|e| Error::user(format!("{}: {}", disk.display(), io_cause(&e))))?;
            drop(file);
            let block = open(&disk)?;
            // littlefs syncs (our flush) as it formats.
            mirage_chamelon::format(block).map_err(Error::system)?;
        }
        Disk::Ls { disk, prefix } => {
            let store = mount(&disk)?;
            let mut out = Vec::new();
            let prefix = prefix.unwrap_or_default();
            let prefix = prefix.trim_matches('/');
            match ready(store.exists(prefix)).map_err(kv)? {
                Some(KvKind::Value) => out.push(prefix.to_owned()),
                Some(KvKind::Dictionary) => keys(&store, prefix, &mut out)?,
                None => return Err(Error::user(format!("{prefix:?}: not found"))),
            }
            out.iter().for_each(|k| println!("{k}"));
        }
        Disk::Cat { disk, key } => {
            let store = mount(&disk)?;
            let value = ready(store.get(&key)).map_err(kv)?;
            use std::io::Write;
            std::io::stdout()
                .write_all(&value)
                .map_err(|e| Error::system(format!("stdout: {e}")))?;
        }
        Disk::Put { disk, key, file } => {
            let value = std::fs::read(&file)
                .map_err(|e| Error::user(format!("{}: {}", file.display(), io_cause(&e))))?;
            let store = mount(&disk)?;
            ready(store.set(&key, &value)).map_err(kv)?;
        }
        Disk::Rm { disk, key } => {
            let store = mount(&disk)?;
            ready(store.remove(&key)).map_err(kv)?;
        }
        Disk::Check { disk } => {
            let store = mount(&disk)?;
            let mut all = Vec::new();
            keys(&store, "", &mut all)?;
            for key in &all {
                if let Err(e) = ready(store.get(key)) {
                    eprintln!("mirage: {}: {key}: {e}", disk.display());
                    return Ok(1);
                }
            }
            println!("{}: {} values, all readable", disk.display(), all.len());
        }
        Disk::Info { disk } => {
            let store = mount(&disk)?;
            let (blocks, used) = store.usage().map_err(Error::system)?;
            println!("block_size {BLOCK_SIZE}");
            println!("block_count {blocks}");
            println!("bytes_used {}", u64::from(used) * u64::from(BLOCK_SIZE));
        }
    }
    Ok(0)
}
