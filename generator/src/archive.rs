//! Archives, deterministic by construction (the release tarball, its OCI
//! layer, and the tar_kv_ro store's disk): entries sorted by path,
//! modification times zero, owner and group 0 with empty names, modes 0644
//! or 0755, and a gzip header without a time or a name (as rules_pkg's
//! `pkg_tar` makes them).

use std::io::Write;

use flate2::{Compression, GzBuilder};

use crate::error::{Error, Result};

/// One file of the archive.
pub struct Entry {
    /// Its path inside the archive, `/`-separated.
    pub path: String,
    /// Its bytes.
    pub contents: Vec<u8>,
    /// Whether it is executable.
    pub executable: bool,
}

fn fail(e: std::io::Error) -> Error {
    Error::system(format!("archive: {e}"))
}

/// The `.tar` bytes of `entries`, whatever their order; a path ending in
/// `/` is a directory.
pub fn tar(entries: &mut [Entry]) -> Result<Vec<u8>> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tar = tar::Builder::new(Vec::new());
    for e in entries.iter() {
        let mut header = tar::Header::new_ustar();
        let dir = e.path.ends_with('/');
        header.set_size(e.contents.len() as u64);
        header.set_mode(if e.executable || dir { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("").map_err(fail)?;
        header.set_groupname("").map_err(fail)?;
        header.set_entry_type(match dir {
            true => tar::EntryType::Directory,
            false => tar::EntryType::Regular,
        });
        tar.append_data(&mut header, &e.path, e.contents.as_slice())
            .map_err(fail)?;
    }
    tar.into_inner().map_err(fail)
}

/// The `.tar.gz` bytes of `entries`, whatever their order.
pub fn tar_gz(entries: &mut [Entry]) -> Result<Vec<u8>> {
    let tar = tar(entries)?;
    // No file name, time zero, the "unknown" operating system byte.
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    gz.write_all(&tar).map_err(fail)?;
    gz.finish().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, contents: &str) -> Entry {
        Entry {
            path: path.into(),
            contents: contents.into(),
            executable: false,
        }
    }

    #[test]
    fn order_does_not_change_the_bytes() {
        let a = tar_gz(&mut [entry("b", "2"), entry("a/x", "1")]).unwrap();
        let b = tar_gz(&mut [entry("a/x", "1"), entry("b", "2")]).unwrap();
        assert_eq!(a, b);
        // gzip header: magic, deflate, no flags, mtime 0, best, OS unknown.
        assert_eq!(&a[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    }
}
