//! `tar_kv_ro`: a tar archive on a block device, read in place.
//!
//! [`TarKv::connect`] walks the archive's 512-byte headers once, checking
//! each header's checksum and that each member lies inside the device, and
//! indexes regular files (ustar names with prefix, and GNU long names).
//! A truncated or corrupt archive fails `connect` with a `Store` error; it
//! never panics. Values are read from the device on demand.

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use mirage_types::{Block, KvError, KvKind, KvRo};

use super::Index;

/// Where a member's data lies.
#[derive(Clone, Copy, Debug)]
struct Member {
    offset: u64,
    size: u64,
    mtime: i64,
}

/// A read-only store over a tar archive on a block device.
#[derive(Clone, Debug)]
pub struct TarKv<B> {
    block: B,
    index: Rc<Index<Member>>,
    digests: super::Digests,
    io: crate::metrics::Io,
}

const BLOCK: u64 = 512;

fn store(why: String) -> KvError {
    KvError::Store(why)
}

/// A NUL-terminated field as text.
fn field(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The longest GNU long name read: Linux's `PATH_MAX`.
const MAX_LONG_NAME: u64 = 4096;

/// An octal (or GNU base-256) number field.
fn number(bytes: &[u8], at: u64) -> Result<u64, KvError> {
    if bytes[0] & 0x80 != 0 {
        // Base-256, big-endian, the flag bit cleared; a negative number
        // (the sign bit set too) is no size or time of ours.
        let too_large = || store(format!("corrupt archive: a number too large at byte {at}"));
        if bytes[0] & 0x40 != 0 {
            return Err(too_large());
        }
        return core::iter::once(bytes[0] & 0x3f)
            .chain(bytes[1..].iter().copied())
            .try_fold(0u64, |n, b| n.checked_mul(256).map(|n| n | u64::from(b)))
            .ok_or_else(too_large);
    }
    let text = field(bytes);
    let text = core::str::from_utf8(text)
        .map_err(|_| store(format!("corrupt archive: bad number at byte {at}")))?;
    let text = text.trim_matches(|c| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8)
        .map_err(|_| store(format!("corrupt archive: bad number {text:?} at byte {at}")))
}

/// Bytes `[offset, offset + len)` of the device.
async fn read_bytes<B: Block>(block: &B, offset: u64, len: u64) -> Result<Vec<u8>, KvError> {
    let ss = block.info().sector_size as u64;
    let first = offset / ss;
    let last = (offset + len).div_ceil(ss);
    let mut buf = vec![0u8; ((last - first) * ss) as usize];
    block
        .read(first, &mut buf)
        .await
        .map_err(|e| store(format!("reading the archive at byte {offset}: {e}")))?;
    let start = (offset - first * ss) as usize;
    Ok(buf[start..start + len as usize].to_vec())
}

impl<B: Block> TarKv<B> {
    /// Indexes the archive on `block`.
    pub async fn connect(block: B) -> Result<TarKv<B>, KvError> {
        let info = block.info();
        let total = (info.sector_size as u64)
            .checked_mul(info.size_sectors)
            .filter(|&t| t > 0)
            .ok_or_else(|| {
                store(format!(
                    "a device of {} sectors of {} bytes holds no archive",
                    info.size_sectors, info.sector_size
                ))
            })?;
        let mut index = Index::default();
        let mut pos = 0;
        let mut long_name: Option<String> = None;
        loop {
            if pos + BLOCK > total {
                return Err(store(format!(
                    "truncated archive: no end marker within {total} bytes"
                )));
            }
            let header = read_bytes(&block, pos, BLOCK).await?;
            if header.iter().all(|&b| b == 0) {
                break;
            }
            let stored = number(&header[148..156], pos)?;
            let computed: u64 = header
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        u64::from(b' ')
                    } else {
                        u64::from(b)
                    }
                })
                .sum();
            if stored != computed {
                return Err(store(format!(
                    "corrupt archive: bad header checksum at byte {pos}"
                )));
            }
            let size = number(&header[124..136], pos)?;
            let mtime = number(&header[136..148], pos)? as i64;
            let data = pos + BLOCK;
            let next = size
                .checked_next_multiple_of(BLOCK)
                .and_then(|s| data.checked_add(s))
                .filter(|&end| end <= total)
                .ok_or_else(|| {
                    store(format!(
                        "truncated archive: member at byte {pos} ends past the device"
                    ))
                })?;
            let name = match long_name.take() {
                Some(name) => name,
                None => {
                    let mut name = String::from_utf8_lossy(field(&header[0..100])).into_owned();
                    if &header[257..263] == b"ustar\0" {
                        let prefix = String::from_utf8_lossy(field(&header[345..500])).into_owned();
                        if !prefix.is_empty() {
                            name = format!("{prefix}/{name}");
                        }
                    }
                    name
                }
            };
            match header[156] {
                b'0' | 0 => {
                    let key = name.strip_prefix("./").unwrap_or(&name).to_string();
                    index.insert(
                        &key,
                        Member {
                            offset: data,
                            size,
                            mtime,
                        },
                    )?;
                }
                b'L' => {
                    if size > MAX_LONG_NAME {
                        return Err(store(format!(
                            "corrupt archive: a long name of {size} bytes at byte {pos} (at most {MAX_LONG_NAME})"
                        )));
                    }
                    let bytes = read_bytes(&block, data, size).await?;
                    long_name = Some(String::from_utf8_lossy(field(&bytes)).into_owned());
                }
                // Directories are implied by their files; links and
                // devices have no place in a key-value store.
                _ => {}
            }
            pos = next;
        }
        Ok(TarKv {
            block,
            index: Rc::new(index),
            digests: super::Digests::default(),
            io: crate::metrics::Io::kv("tar"),
        })
    }

    async fn contents(&self, m: &Member, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        let start = offset.min(m.size);
        let len = (length as u64).min(m.size - start);
        let value = read_bytes(&self.block, m.offset + start, len).await?;
        self.io.read(value.len());
        Ok(value)
    }
}

impl<B: Block> KvRo for TarKv<B> {
    async fn exists(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        self.index.kind(key)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        let m = *self.index.value(key)?;
        self.contents(&m, 0, m.size as usize).await
    }

    async fn get_partial(&self, key: &str, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        let m = *self.index.value(key)?;
        self.contents(&m, offset, length).await
    }

    async fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        self.index.list(key)
    }

    async fn last_modified(&self, key: &str) -> Result<i64, KvError> {
        Ok(self.index.value(key)?.mtime)
    }

    async fn digest(&self, key: &str) -> Result<[u8; 32], KvError> {
        if let Some(digest) = self.digests.get(key) {
            return Ok(digest);
        }
        let digest = super::sha256(&self.get(key).await?);
        Ok(self.digests.put(key, digest))
    }

    async fn size(&self, key: &str) -> Result<u64, KvError> {
        Ok(self.index.value(key)?.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Ramdisk;
    use crate::executor::ready as now;

    /// A header of type `kind` for `size` bytes, its checksum set.
    fn header(kind: u8, size: u64) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"name");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = kind;
        h[148..156].fill(b' ');
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    /// A GNU long name as large as the device allows is refused, not read
    /// into memory.
    #[test]
    fn a_long_name_past_path_max_is_refused() {
        let disk = now(Ramdisk::connect("t", 20_000)).unwrap();
        now(disk.write(0, &header(b'L', 9 << 20))).unwrap();
        let err = now(TarKv::connect(disk)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "store error: corrupt archive: a long name of 9437184 bytes at byte 0 (at most 4096)"
        );
    }

    #[test]
    fn base_256_numbers_that_do_not_fit_are_errors() {
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[11] = 0x2a;
        assert_eq!(number(&field, 0).unwrap(), 42);
        field[3] = 1; // 2^64: one bit too many
        let err = number(&field, 512).unwrap_err();
        assert_eq!(
            err.to_string(),
            "store error: corrupt archive: a number too large at byte 512"
        );
        let negative = [0xff; 12];
        assert!(number(&negative, 0).is_err());
        assert_eq!(number(b"00000000017\0", 0).unwrap(), 15);
    }
}
