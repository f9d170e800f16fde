//! `block_of_file` on unix: a host file as a block device.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use mirage_runtime::metrics::Io;
use mirage_types::{Block, BlockError, BlockInfo};

/// Sector size of file-backed devices.
const SECTOR_SIZE: usize = 512;

/// A host file as a block device; its size is rounded down to sectors.
#[derive(Clone, Debug)]
pub struct BlockFile {
    file: Rc<File>,
    info: BlockInfo,
    io: Io,
}

impl BlockFile {
    /// Opens `path` (relative to where the image runs), read-write if
    /// allowed, else read-only. `name` is the device's Solo5 name.
    pub async fn connect(name: &'static str, path: &'static str) -> Result<BlockFile, String> {
        let (file, read_write) = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => (f, true),
            Err(_) => (
                File::open(path).map_err(|e| format!("block device {name}: {path}: {e}"))?,
                false,
            ),
        };
        let len = file
            .metadata()
            .map_err(|e| format!("block device {name}: {path}: {e}"))?
            .len();
        Ok(BlockFile {
            file: Rc::new(file),
            io: Io::block(name),
            info: BlockInfo {
                read_write,
                sector_size: SECTOR_SIZE,
                size_sectors: len / SECTOR_SIZE as u64,
            },
        })
    }
}

impl Block for BlockFile {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        self.file
            .read_exact_at(buf, sector * SECTOR_SIZE as u64)
            .map_err(|_| BlockError::Io)?;
        self.io.read(buf.len());
        Ok(())
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        if !self.info.read_write {
            return Err(BlockError::ReadOnly);
        }
        self.info.check(sector, buf.len())?;
        self.file
            .write_all_at(buf, sector * SECTOR_SIZE as u64)
            .map_err(|_| BlockError::Io)?;
        self.io.write(buf.len());
        Ok(())
    }

    async fn flush(&self) -> Result<(), BlockError> {
        if !self.info.read_write {
            return Ok(());
        }
        self.file.sync_data().map_err(|_| BlockError::Io)
    }
}
