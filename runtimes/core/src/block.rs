//! The `ramdisk` device: a block device in memory, zeroed at boot.

use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use mirage_types::{Block, BlockError, BlockInfo};

/// Sector size of ramdisks.
pub const SECTOR_SIZE: usize = 512;

/// A block device backed by memory.
#[derive(Clone, Debug)]
pub struct Ramdisk {
    data: Rc<RefCell<Vec<u8>>>,
    info: BlockInfo,
}

impl Ramdisk {
    /// A ramdisk of `sectors` zeroed sectors; `name` is for messages.
    pub async fn connect(
        name: &'static str,
        sectors: i64,
    ) -> Result<Ramdisk, alloc::string::String> {
        let sectors = u64::try_from(sectors)
            .map_err(|_| alloc::format!("ramdisk {name}: negative size {sectors}"))?;
        let bytes = usize::try_from(sectors)
            .ok()
            .and_then(|s| s.checked_mul(SECTOR_SIZE))
            .ok_or_else(|| alloc::format!("ramdisk {name}: {sectors} sectors is too large"))?;
        Ok(Ramdisk {
            data: Rc::new(RefCell::new(vec![0; bytes])),
            info: BlockInfo {
                read_write: true,
                sector_size: SECTOR_SIZE,
                size_sectors: sectors,
            },
        })
    }
}

impl Ramdisk {
    /// A copy of its bytes (the generator writes a disk it made in one out).
    pub fn bytes(&self) -> Vec<u8> {
        self.data.borrow().clone()
    }
}

impl Block for Ramdisk {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let start = sector as usize * SECTOR_SIZE;
        buf.copy_from_slice(&self.data.borrow()[start..start + buf.len()]);
        Ok(())
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let start = sector as usize * SECTOR_SIZE;
        self.data.borrow_mut()[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    /// Memory is all there is: nothing outlives the image.
    async fn flush(&self) -> Result<(), BlockError> {
        Ok(())
    }
}
