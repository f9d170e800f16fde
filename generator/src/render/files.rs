//! Files the generator reads from the workspace: directories to embed and
//! directories to archive. Deterministic: sorted keys, tar entries with
//! zero times and owners.

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

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
