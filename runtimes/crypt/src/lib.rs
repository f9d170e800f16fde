//! `encrypted_block`: a block device whose sectors are encrypted and
//! authenticated on the device below it (Mirage's `ccm_block`, with
//! AES-256-GCM from ring), so a disk read on the host, or changed there,
//! gives away nothing and deceives nobody.
//!
//! Contract: each sector of the device below holds one sector of this
//! one: a fresh random nonce, the sector encrypted, its tag, so a sector
//! is written in one write of the device below, as atomic as that write
//! (a power cut leaves each sector old or new, never a mix, and littlefs's
//! recovery works as on a plain disk). A sector is authenticated with its
//! number and the disk's identity, so a sector changed, moved, or copied
//! from another disk is a read error ([`BlockError::Integrity`]), never
//! data. A sector the device below holds as zeros was never written and
//! reads as zeros (a blank disk needs no formatting). The first sector of
//! the device below is the header (see [`header`]): the disk's identity
//! and a check of the key, so a wrong key fails at connect with one line.
//! Random nonces bound a key to about 2^32 sector writes (GCM's limit for
//! random 96-bit nonces); encrypt a disk anew under another key before.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod header;
mod sector;
#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::vec;

use mirage_types::{Block, BlockError, BlockInfo, Random};
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};

use header::Header;
pub use sector::OVERHEAD;

/// The `encrypted_block` device over `B`, with nonces from `R`.
pub struct EncryptedBlock<B: Block, R: Random> {
    below: B,
    random: R,
    key: alloc::rc::Rc<LessSafeKey>,
    disk: [u8; header::DISK_ID],
    info: BlockInfo,
}

impl<B: Block, R: Random> Clone for EncryptedBlock<B, R> {
    fn clone(&self) -> Self {
        EncryptedBlock {
            below: self.below.clone(),
            random: self.random.clone(),
            key: self.key.clone(),
            disk: self.disk,
            info: self.info,
        }
    }
}

/// The 256-bit key written as 64 hex digits.
fn parse_key(hex: &str) -> Result<LessSafeKey, String> {
    if hex.is_empty() {
        return Err("no key: give the disk's key, 64 hex digits (256 bits)".into());
    }
    let digits: Option<alloc::vec::Vec<u8>> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = core::str::from_utf8(pair).ok()?;
            (pair.len() == 2).then(|| u8::from_str_radix(pair, 16).ok())?
        })
        .collect();
    match digits {
        Some(bytes) if bytes.len() == 32 => {
            let key =
                UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "AES-256-GCM refused the key")?;
            Ok(LessSafeKey::new(key))
        }
        _ => Err(format!(
            "the key must be 64 hex digits (256 bits), not {} characters{}",
            hex.chars().count(),
            if hex.chars().all(|c| c.is_ascii_hexdigit()) {
                ""
            } else {
                " with non-hex ones"
            }
        )),
    }
}

impl<B: Block, R: Random> EncryptedBlock<B, R> {
    /// Opens the encrypted disk on `below` with `key` (64 hex digits); a
    /// blank device (a zeroed first sector) becomes an encrypted disk
    /// under this key.
    pub async fn connect(below: B, random: R, key: String) -> Result<Self, String> {
        let key = parse_key(&key)?;
        let outer = below.info();
        if outer.sector_size <= OVERHEAD || outer.size_sectors < 2 {
            return Err(format!(
                "the block device below ({} sectors of {} bytes) is too small to encrypt",
                outer.size_sectors, outer.sector_size
            ));
        }
        let mut first = vec![0; outer.sector_size];
        below
            .read(0, &mut first)
            .await
            .map_err(|e| format!("read the header: {e}"))?;
        let disk = match Header::read(&first) {
            header::Found::Blank => {
                let header = Header::new(&random);
                header.write(&key, &mut first);
                below
                    .write(0, &first)
                    .await
                    .map_err(|e| format!("write the header: {e}"))?;
                match below.flush().await {
                    Ok(()) | Err(BlockError::NoFlush) => {}
                    Err(e) => return Err(format!("flush the header: {e}")),
                }
                log::info!(target: "encrypted_block", "encrypted a blank disk of {} sectors", outer.size_sectors - 1);
                header.disk
            }
            header::Found::Header(header) => {
                header.check(&key)?;
                header.disk
            }
            header::Found::Foreign => {
                return Err("the block device holds no encrypted disk \
                            (its first sector is neither blank nor an encrypted_block header)"
                    .into())
            }
        };
        Ok(EncryptedBlock {
            below,
            random,
            key: alloc::rc::Rc::new(key),
            disk,
            info: BlockInfo {
                read_write: outer.read_write,
                sector_size: outer.sector_size - OVERHEAD,
                size_sectors: outer.size_sectors - 1,
            },
        })
    }
}

impl<B: Block, R: Random> Block for EncryptedBlock<B, R> {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let (inner, outer) = (self.info.sector_size, inner_to_outer(self.info.sector_size));
        let mut sealed = vec![0; buf.len() / inner * outer];
        self.below.read(sector + 1, &mut sealed).await?;
        for (i, (plain, sealed)) in buf
            .chunks_mut(inner)
            .zip(sealed.chunks_mut(outer))
            .enumerate()
        {
            let at = sector + i as u64;
            sector::open(&self.key, &self.disk, at, sealed, plain).inspect_err(|_| {
                log::error!(target: "encrypted_block", "sector {at} failed its integrity check");
            })?;
        }
        Ok(())
    }

    async fn write(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        self.info.check(sector, buf.len())?;
        let (inner, outer) = (self.info.sector_size, inner_to_outer(self.info.sector_size));
        let mut sealed = vec![0; buf.len() / inner * outer];
        for (i, (plain, sealed)) in buf.chunks(inner).zip(sealed.chunks_mut(outer)).enumerate() {
            sector::seal(
                &self.key,
                &self.random,
                &self.disk,
                sector + i as u64,
                plain,
                sealed,
            );
        }
        self.below.write(sector + 1, &sealed).await
    }

    async fn flush(&self) -> Result<(), BlockError> {
        self.below.flush().await
    }
}

/// Bytes on the device below per sector of `inner` bytes.
fn inner_to_outer(inner: usize) -> usize {
    inner + OVERHEAD
}
