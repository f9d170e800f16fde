//! chamelon's binding to littlefs: `littlefs-rust-core`, the reference C
//! ported function by function (raw pointers in, C error codes out),
//! wrapped in the few safe calls the store makes on a mounted disk.
//!
//! Its own, not the `littlefs-rust` crate's: that wrapper turns on the
//! port's `loop_limits`, debugging caps that panic on disks littlefs
//! itself accepts (a dictionary of a few hundred values, a metadata block
//! torn by a power cut). Here they are off, as in the C, and an error code
//! the binding does not know is an I/O error, never a panic.
//!
//! Contract: a [`Filesystem`] owns its storage and littlefs's state on the
//! heap, where littlefs's pointers into them stay valid until it is
//! dropped (unmounted); files and directories are opened and closed
//! within one call, so none outlives it.
#![allow(unsafe_code)]

mod error;
mod mount;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

use littlefs_rust_core::lfs_type::lfs_open_flags::{
    LFS_O_CREAT, LFS_O_RDONLY, LFS_O_TRUNC, LFS_O_WRONLY,
};
use littlefs_rust_core::lfs_type::lfs_type::LFS_TYPE_DIR;
use littlefs_rust_core::{Lfs, LfsAttr, LfsDir, LfsFile, LfsFileConfig, LfsInfo};

use error::checked;
pub use error::Error;
use mount::Mount;
pub use mount::Storage;

/// The geometry littlefs works with; its caches and lookahead are a block
/// each.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks on the device.
    pub block_count: u32,
    /// The smallest read.
    pub read_size: u32,
    /// The smallest program.
    pub prog_size: u32,
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A file.
    File,
    /// A directory.
    Dir,
}

/// `path` as littlefs takes it: NUL-terminated (a NUL inside is refused).
fn c_path(path: &str) -> Result<Vec<u8>, Error> {
    if path.as_bytes().contains(&0) {
        return Err(Error::Invalid);
    }
    let mut bytes = Vec::with_capacity(path.len() + 1);
    bytes.extend_from_slice(path.as_bytes());
    bytes.push(0);
    Ok(bytes)
}

/// A mounted littlefs disk.
pub struct Filesystem<S: Storage> {
    /// From `Box::into_raw`; freed on drop, after the unmount.
    mount: *mut Mount<S>,
}

impl<S: Storage> Filesystem<S> {
    /// Formats `storage` as an empty disk.
    pub fn format(storage: &mut S, geometry: &Config) -> Result<(), Error> {
        let mut mount = Mount::new(storage, geometry);
        let lfs = mount.lfs.as_mut_ptr();
        checked(littlefs_rust_core::lfs_format(lfs, &raw const mount.config)).map(drop)
    }

    /// Mounts the disk on `storage`, or gives the storage back with why not.
    pub fn mount(storage: S, geometry: Config) -> Result<Self, (Error, S)> {
        let mut mount = Mount::new(storage, &geometry);
        let lfs = mount.lfs.as_mut_ptr();
        match checked(littlefs_rust_core::lfs_mount(lfs, &raw const mount.config)) {
            Ok(_) => Ok(Filesystem {
                mount: Box::into_raw(mount),
            }),
            Err(e) => Err((e, mount.storage)),
        }
    }

    fn lfs(&self) -> *mut Lfs {
        // SAFETY: `mount` is live until drop; this takes no reference.
        unsafe { (&raw mut (*self.mount).lfs).cast() }
    }

    /// Removes a file or an empty directory.
    pub fn remove(&self, path: &str) -> Result<(), Error> {
        let path = c_path(path)?;
        checked(littlefs_rust_core::lfs_remove(self.lfs(), path.as_ptr())).map(drop)
    }

    /// Renames `from` to `to`, replacing a file there, in one commit.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        let (from, to) = (c_path(from)?, c_path(to)?);
        checked(littlefs_rust_core::lfs_rename(
            self.lfs(),
            from.as_ptr(),
            to.as_ptr(),
        ))
        .map(drop)
    }

    /// Makes a directory.
    pub fn mkdir(&self, path: &str) -> Result<(), Error> {
        let path = c_path(path)?;
        checked(littlefs_rust_core::lfs_mkdir(self.lfs(), path.as_ptr())).map(drop)
    }

    /// What `path` names, and its size in bytes.
    pub fn stat(&self, path: &str) -> Result<(FileType, u32), Error> {
        let path = c_path(path)?;
        let mut info = MaybeUninit::<LfsInfo>::zeroed();
        checked(littlefs_rust_core::lfs_stat(
            self.lfs(),
            path.as_ptr(),
            info.as_mut_ptr(),
        ))?;
        // SAFETY: zeroed is a valid LfsInfo (integers and bytes), and
        // littlefs filled it.
        let info = unsafe { info.assume_init() };
        Ok((kind(&info), info.size))
    }

    /// Opens the file at `path` with `flags`, runs `io` on it, closes it:
    /// `io`'s result, or the first error (closing commits a write).
    fn with_file<T>(
        &self,
        path: &str,
        flags: i32,
        attrs: &mut [LfsAttr],
        io: impl FnOnce(*mut LfsFile) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let path = c_path(path)?;
        // SAFETY: `mount` is live; this reads a plain integer.
        let cache = unsafe { (*self.mount).config.cache_size } as usize;
        let mut buffer = vec![0u8; cache];
        let config = LfsFileConfig {
            buffer: buffer.as_mut_ptr().cast(),
            attrs: attrs.as_mut_ptr(),
            attr_count: attrs.len() as u32,
        };
        // littlefs links an open file into its state: it must not move
        // before it is closed.
        let mut slot = Box::new(MaybeUninit::<LfsFile>::zeroed());
        let file = slot.as_mut_ptr();
        checked(littlefs_rust_core::lfs_file_opencfg(
            self.lfs(),
            file,
            path.as_ptr(),
            flags,
            &raw const config,
        ))?;
        let done = io(file);
        let closed = checked(littlefs_rust_core::lfs_file_close(self.lfs(), file));
        let value = done?;
        closed.map(|_| value)
    }

    /// The whole file at `path`.
    pub fn read_to_vec(&self, path: &str) -> Result<Vec<u8>, Error> {
        let lfs = self.lfs();
        self.with_file(path, LFS_O_RDONLY, &mut [], |file| {
            let size = checked(littlefs_rust_core::lfs_file_size(lfs, file))? as usize;
            let mut data = vec![0u8; size];
            let mut at = 0;
            while at < size {
                let rest = &mut data[at..];
                let n = checked(littlefs_rust_core::lfs_file_read(
                    lfs,
                    file,
                    rest.as_mut_ptr().cast(),
                    rest.len() as u32,
                ))? as usize;
                if n == 0 {
                    break;
                }
                at += n;
            }
            data.truncate(at);
            Ok(data)
        })
    }

    /// Writes `data` as the whole file at `path` (created or truncated),
    /// with the user attribute `attr` (type, bytes), committed when this
    /// returns.
    pub fn write_file(&self, path: &str, data: &[u8], attr: (u8, &[u8])) -> Result<(), Error> {
        let lfs = self.lfs();
        let flags = LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC;
        let mut bytes = attr.1.to_vec();
        let mut attrs = [LfsAttr {
            type_: attr.0,
            buffer: bytes.as_mut_ptr().cast(),
            size: bytes.len() as u32,
        }];
        self.with_file(path, flags, &mut attrs, |file| {
            let mut at = 0;
            while at < data.len() {
                let rest = &data[at..];
                at += checked(littlefs_rust_core::lfs_file_write(
                    lfs,
                    file,
                    rest.as_ptr().cast(),
                    u32::try_from(rest.len()).map_err(|_| Error::Invalid)?,
                ))? as usize;
            }
            Ok(())
        })
    }

    /// The entries of the directory at `path` (not `.` and `..`).
    pub fn list_dir(&self, path: &str) -> Result<Vec<(String, FileType, u32)>, Error> {
        let path = c_path(path)?;
        // Linked into littlefs's state while open, as a file is.
        let mut slot = Box::new(MaybeUninit::<LfsDir>::zeroed());
        let dir = slot.as_mut_ptr();
        checked(littlefs_rust_core::lfs_dir_open(
            self.lfs(),
            dir,
            path.as_ptr(),
        ))?;
        let mut entries = Vec::new();
        let read = loop {
            let mut info = MaybeUninit::<LfsInfo>::zeroed();
            match checked(littlefs_rust_core::lfs_dir_read(
                self.lfs(),
                dir,
                info.as_mut_ptr(),
            )) {
                Ok(0) => break Ok(()),
                Ok(_) => {
                    // SAFETY: as in `stat`.
                    let info = unsafe { info.assume_init() };
                    let len = info.name.iter().position(|&b| b == 0).unwrap_or(0);
                    let name = String::from_utf8_lossy(&info.name[..len]).into_owned();
                    if name != "." && name != ".." {
                        entries.push((name, kind(&info), info.size));
                    }
                }
                Err(e) => break Err(e),
            }
        };
        let closed = checked(littlefs_rust_core::lfs_dir_close(self.lfs(), dir));
        read?;
        closed.map(|_| entries)
    }

    /// The user attribute `kind` of `path` into `buf`: its length, or
    /// [`Error::NoAttribute`].
    pub fn getattr(&self, path: &str, kind: u8, buf: &mut [u8]) -> Result<usize, Error> {
        let path = c_path(path)?;
        let n = checked(littlefs_rust_core::lfs_getattr(
            self.lfs(),
            path.as_ptr(),
            kind,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
        ))?;
        Ok(n as usize)
    }

    /// Blocks in use.
    pub fn fs_size(&self) -> Result<u32, Error> {
        checked(littlefs_rust_core::lfs_fs_size(self.lfs()))
    }
}

fn kind(info: &LfsInfo) -> FileType {
    match u32::from(info.type_) {
        LFS_TYPE_DIR => FileType::Dir,
        _ => FileType::File,
    }
}

impl<S: Storage> Drop for Filesystem<S> {
    fn drop(&mut self) {
        let _ = littlefs_rust_core::lfs_unmount(self.lfs());
        // SAFETY: from `Box::into_raw` in `mount`, freed once, here.
        drop(unsafe { Box::from_raw(self.mount) });
    }
}
