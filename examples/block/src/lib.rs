//! The tutorial's block test: write a pattern to every sector, read it
//! back, then check that bad requests fail with the expected errors.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;

use mirage_types::{Block, BlockError};

/// The byte written at `offset` of `sector`: differs per sector and offset.
fn pattern(sector: u64, offset: usize) -> u8 {
    (sector as usize * 7 + offset) as u8
}

/// Runs the test; any mismatch or unexpected result is an error.
pub async fn start<B: Block>(disk: B) -> Result<(), String> {
    let info = disk.info();
    log::info!(
        "sectors = {}, sector size = {}, read-write = {}",
        info.size_sectors,
        info.sector_size,
        info.read_write
    );
    let size = info.sector_size;
    let mut buf = vec![0u8; size];
    for sector in 0..info.size_sectors {
        buf.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = pattern(sector, i));
        disk.write(sector, &buf)
            .await
            .map_err(|e| format!("write {sector}: {e}"))?;
    }
    for sector in 0..info.size_sectors {
        disk.read(sector, &mut buf)
            .await
            .map_err(|e| format!("read {sector}: {e}"))?;
        if let Some(i) = (0..size).find(|&i| buf[i] != pattern(sector, i)) {
            return Err(format!(
                "sector {sector} byte {i}: read {} wrote {}",
                buf[i],
                pattern(sector, i)
            ));
        }
    }
    log::info!("wrote and read back {} sectors", info.size_sectors);
    expect(
        disk.read(info.size_sectors, &mut buf).await,
        BlockError::OutOfRange,
        "reading past the end",
    )?;
    expect(
        disk.write(info.size_sectors - 1, &vec![0; 2 * size]).await,
        BlockError::OutOfRange,
        "writing across the end",
    )?;
    expect(
        disk.read(0, &mut buf[..size / 2]).await,
        BlockError::Unaligned,
        "reading half a sector",
    )?;
    log::info!("block test passed");
    Ok(())
}

fn expect(result: Result<(), BlockError>, expected: BlockError, what: &str) -> Result<(), String> {
    match result {
        Err(e) if e == expected => {
            log::info!("{what}: {e}, as expected");
            Ok(())
        }
        other => Err(format!("{what}: expected {expected}, got {other:?}")),
    }
}
