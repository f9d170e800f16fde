//! A `Block` device as littlefs's storage: a littlefs block is
//! [`BLOCK_SIZE`] bytes when sectors divide it (every plain disk), else as
//! many whole sectors as fit in it (an `encrypted_block`'s sectors of 484
//! bytes give blocks of 3,872); reads and writes are whole sectors too (littlefs reads and programs in multiples of its
//! `read_size` and `prog_size`, set to the sector size). Erasing is a
//! no-op: a disk needs none before it is written.
//!
//! littlefs's `sync` (after each commit) is the device's `flush`, so a
//! commit that returned is on stable storage. A device that cannot flush
//! (a Solo5 tender without rules_mirage's patch) is said once at connect:
//! its values then survive the image's crash, not the host's.
//!
//! littlefs calls its storage synchronously; a `Block` answers with a
//! future. Solo5's and the unix file's complete on their first poll (they
//! are hypercalls and system calls); a device that would wait is an I/O
//! error, said once in the log, never a hang.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use crate::lfs::{Error, Storage};
use mirage_types::{Block, BlockError};

use crate::cache::BlockCache;

/// Bytes per littlefs block on every disk of 512-byte or 4 KiB sectors
/// (littlefs-python and `mirage disk` must be given the same).
pub const BLOCK_SIZE: u32 = 4096;

/// Bytes per littlefs block on sectors of `sector_size` bytes: the most
/// whole sectors that fit in [`BLOCK_SIZE`] (littlefs needs at least 128).
fn block_size(sector_size: u32) -> Option<u32> {
    let size = (BLOCK_SIZE / sector_size.max(1)) * sector_size;
    (sector_size > 0 && size >= 128).then_some(size)
}

/// `block` as littlefs's storage.
pub struct Sectors<B> {
    pub(crate) block: B,
    sector_size: u32,
    block_size: u32,
    /// Writes that reached the device, for the store's own accounting.
    pub(crate) writes: u64,
    /// Whether the device flushes (see the module's contract).
    flushes: bool,
    /// Blocks read or written lately, as the device holds them.
    cache: BlockCache,
}

impl<B: Block> Sectors<B> {
    /// The storage over `block`, or why littlefs cannot use it.
    pub fn new(block: B) -> Result<Self, String> {
        let info = block.info();
        let sector_size = u32::try_from(info.sector_size).unwrap_or(0);
        let Some(block_size) = block_size(sector_size) else {
            return Err(format!(
                "sectors of {} bytes do not fit littlefs blocks of at most {BLOCK_SIZE}",
                info.sector_size
            ));
        };
        let flushes = match poll_once(block.flush()) {
            Ok(()) => true,
            Err(BlockError::NoFlush) => {
                log::warn!(target: "chamelon", "the host cannot flush this block device: \
                    values survive the unikernel's crash, not the host's");
                false
            }
            Err(e) => return Err(format!("block device: flush: {e}")),
        };
        Ok(Sectors {
            block,
            sector_size,
            block_size,
            writes: 0,
            flushes,
            cache: BlockCache::new(),
        })
    }

    /// The number of littlefs blocks the device holds.
    pub fn block_count(&self) -> u32 {
        let bytes = self.block.info().size_sectors * u64::from(self.sector_size);
        u32::try_from(bytes / u64::from(self.block_size)).unwrap_or(u32::MAX)
    }

    /// Bytes per littlefs block (see [`block_size`]).
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// Bytes per sector: littlefs's read and program size.
    pub fn sector_size(&self) -> u32 {
        self.sector_size
    }

    fn sector(&self, block: u32, offset: u32) -> u64 {
        (u64::from(block) * u64::from(self.block_size) + u64::from(offset))
            / u64::from(self.sector_size)
    }
}

/// The output of an I/O future that completes at once; one that would
/// wait is an I/O error.
fn poll_once<F: core::future::Future<Output = Result<(), BlockError>>>(
    io: F,
) -> Result<(), BlockError> {
    match pin!(io).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(done) => done,
        Poll::Pending => {
            log::error!(target: "chamelon", "block device: an I/O would wait (unsupported)");
            Err(BlockError::Io)
        }
    }
}

/// [`poll_once`], as littlefs sees it.
fn at_once<F: core::future::Future<Output = Result<(), BlockError>>>(io: F) -> Result<(), Error> {
    poll_once(io).map_err(|e| {
        log::error!(target: "chamelon", "block device: {e}");
        Error::Io
    })
}

impl<B: Block> Storage for Sectors<B> {
    fn read(&mut self, block: u32, offset: u32, buf: &mut [u8]) -> Result<(), Error> {
        let range = offset as usize..offset as usize + buf.len();
        if let Some(held) = self.cache.get(block).and_then(|b| b.get(range.clone())) {
            buf.copy_from_slice(held);
            return Ok(());
        }
        // A miss reads the whole block: littlefs reads on in it.
        let mut whole = vec![0; self.block_size as usize].into_boxed_slice();
        at_once(self.block.read(self.sector(block, 0), &mut whole))?;
        let Some(wanted) = whole.get(range) else {
            return Err(Error::Invalid);
        };
        buf.copy_from_slice(wanted);
        self.cache.insert(block, whole);
        Ok(())
    }

    fn write(&mut self, block: u32, offset: u32, data: &[u8]) -> Result<(), Error> {
        self.writes += 1;
        let done = at_once(self.block.write(self.sector(block, offset), data));
        match done {
            Ok(()) => self.cache.write(block, offset as usize, data),
            Err(_) => self.cache.forget(block),
        }
        done
    }

    fn erase(&mut self, _block: u32) -> Result<(), Error> {
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        match self.flushes {
            true => at_once(self.block.flush()),
            false => Ok(()),
        }
    }
}
