//! Files the generator reads from the workspace: directories to embed,
//! directories to archive and directories to put on a littlefs disk.
//! Deterministic: sorted keys, tar entries with zero times and owners,
//! littlefs values written in key order.

use std::path::Path;

use crate::error::{Error, IoContext, Loc, Result};
use crate::workspace::Workspace;

/// The regular files under `dir` (through symlinks), as sorted
/// `/`-separated relative keys.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| std::io::Error::other(format!("file name {n:?} is not UTF-8")))?;
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // Symlinks are followed: Bazel's sandbox links every input.
            let kind = std::fs::metadata(entry.path())?.file_type();
            if kind.is_dir() {
                walk(&entry.path(), &key, out)?;
            } else if kind.is_file() {
                out.push(key);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// The files of `dir` (workspace-relative), or an error at `loc` naming
/// `what` needs them.
pub fn files_of(ws: &Workspace, dir: &str, loc: &Loc, what: &str) -> Result<Vec<String>> {
    let path = ws.root.join(dir);
    if !path.is_dir() {
        return Err(Error::at(loc, format!("{what}: no such directory {dir}")));
    }
    list_files(&path).map_err(|e| Error::at(loc, format!("{what}: {dir}: {e}")))
}

/// A tar archive of `dir`'s files, deterministic ([`crate::archive`]).
pub fn tar_archive(ws: &Workspace, dir: &str, loc: &Loc) -> Result<Vec<u8>> {
    let mut entries = Vec::new();
    for key in files_of(ws, dir, loc, "tar_kv_ro")? {
        let contents = std::fs::read(ws.root.join(dir).join(&key))
            .io_context(|| format!("read {dir}/{key}"))?;
        entries.push(crate::archive::Entry {
            path: key,
            contents,
            executable: false,
        });
    }
    crate::archive::tar(&mut entries)
}

/// The largest disk [`littlefs_disk`] makes (in the build's memory).
const MAX_LITTLEFS_DISK: u64 = 1 << 30;

/// A littlefs disk of `size` bytes holding `dir`'s files (workspace-
/// relative), one value per file at its relative path, as chamelon reads
/// it; an error at `loc` when a file name is no key or the files do not
/// fit. Deterministic: the same files give the same bytes.
pub fn littlefs_disk(ws: &Workspace, dir: &str, size: u64, loc: &Loc) -> Result<Vec<u8>> {
    use mirage_chamelon::{Chamelon, Epoch, BLOCK_SIZE};
    use mirage_runtime::block::{Ramdisk, SECTOR_SIZE};
    use mirage_runtime::executor::ready;
    use mirage_types::KvRw;

    let block_size = u64::from(BLOCK_SIZE);
    if !size.is_multiple_of(block_size) {
        return Err(Error::at(
            loc,
            format!("block_littlefs: a disk of {size} bytes is not whole {block_size}-byte littlefs blocks"),
        ));
    }
    if size > MAX_LITTLEFS_DISK {
        return Err(Error::at(
            loc,
            format!("block_littlefs: a disk of {size} bytes is made in memory at build time: at most 1G"),
        ));
    }
    let keys = files_of(ws, dir, loc, "block_littlefs")?;
    let sectors = (size / SECTOR_SIZE as u64) as i64;
    let disk = ready(Ramdisk::connect("block_littlefs", sectors)).map_err(|e| Error::at(loc, e))?;
    mirage_chamelon::format(disk.clone())
        .map_err(|e| Error::at(loc, format!("block_littlefs: {e}")))?;
    let store = ready(Chamelon::connect(disk.clone(), Epoch, false))
        .map_err(|e| Error::at(loc, format!("block_littlefs: {e}")))?;
    for key in keys {
        let value = std::fs::read(ws.root.join(dir).join(&key))
            .io_context(|| format!("read {dir}/{key}"))?;
        ready(store.set(&key, &value)).map_err(|e| {
            Error::at(
                loc,
                format!("block_littlefs: {dir}/{key} onto a disk of {size} bytes: {e}"),
            )
        })?;
    }
    Ok(disk.bytes())
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
