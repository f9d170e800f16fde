//! `block_of_file` on Solo5: a BLOCK_BASIC device named in the manifest,
//! attached by the tender (`--block:NAME=PATH`).
#![allow(unsafe_code)]

use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;

use mirage_types::{BlockError, BlockInfo};

use mirage_runtime::metrics::Io;

use crate::ffi;

/// A Solo5 block device.
#[derive(Clone, Debug)]
pub struct Block {
    handle: u64,
    info: BlockInfo,
    io: Io,
}

impl Block {
    /// Acquires the device `name`; `path` is the host file the tender
    /// attaches (unused inside the image).
    pub async fn connect(name: &'static str, path: &'static str) -> Result<Block, String> {
        let _ = path;
        let cname =
            CString::new(name).map_err(|_| format!("block device name {name:?} has a NUL"))?;
        let mut handle = 0;
        let mut info = ffi::BlockInfo::default();
        // SAFETY: valid NUL-terminated name and out-pointers.
        let r = unsafe { ffi::solo5_block_acquire(cname.as_ptr().cast(), &mut handle, &mut info) };
        if r != ffi::R_OK {
            return Err(format!(
                "block device {name}: not attached (solo5_block_acquire: {r})"
            ));
        }
        let sector_size = usize::try_from(info.block_size)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| format!("block device {name}: block size {}", info.block_size))?;
        Ok(Block {
            handle,
            io: Io::block(name),
            info: BlockInfo {
                read_write: true,
                sector_size,
                size_sectors: info.capacity / info.block_size,
            },
        })
    }
}

impl mirage_types::Block for Block {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let size = self.info.sector_size;
        // Solo5 moves one block per call.
        for (i, chunk) in buf.chunks_mut(size).enumerate() {
            let offset = (sector + i as u64) * size as u64;
            // SAFETY: `chunk` is a valid buffer of one block.
            let r = unsafe { ffi::solo5_block_read(self.handle, offset, chunk.as_mut_ptr(), size) };
            if r != ffi::R_OK {
                return Err(BlockError::Io);
            }
        }
        self.io.read(buf.len());
        Ok(())
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let size = self.info.sector_size;
        for (i, chunk) in buf.chunks(size).enumerate() {
            let offset = (sector + i as u64) * size as u64;
            // SAFETY: `chunk` is a valid buffer of one block.
            let r = unsafe { ffi::solo5_block_write(self.handle, offset, chunk.as_ptr(), size) };
            if r != ffi::R_OK {
                return Err(BlockError::Io);
            }
        }
        self.io.write(buf.len());
        Ok(())
    }

    async fn flush(&self) -> Result<(), BlockError> {
        // SAFETY: a handle from solo5_block_acquire.
        match unsafe { ffi::solo5_block_flush(self.handle) } {
            ffi::R_OK => Ok(()),
            // A tender without the patch: the bindings do not try.
            ffi::R_ENOTSUP => Err(BlockError::NoFlush),
            _ => Err(BlockError::Io),
        }
    }
}
