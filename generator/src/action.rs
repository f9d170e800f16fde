//! File writes as data: a [`Plan`] is computed, then shown or committed.
//!
//! Invariant: the output directory is either the complete old output or the
//! complete new one. [`Plan::commit`] writes into a temporary sibling and
//! renames it into place, so a failure leaves no half-written output.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the output directory.
    pub path: String,
    /// Exact contents (for a link, its target).
    pub contents: Vec<u8>,
    /// What kind of file, and how it is compared and written.
    pub kind: FileKind,
}

/// How a generated file is compared with the output and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Compared and written byte for byte.
    Plain,
    /// Like `Plain`, and executable.
    Executable,
    /// A symbolic link to `contents`.
    Symlink,
    /// A starting point the build may update (Cargo.lock): only its
    /// presence counts when deciding whether the output is current, and a
    /// new output starts from `contents`. Its provenance belongs in
    /// another, compared file.
    Seed,
    /// A disk of this many bytes the image changes: made from `contents`
    /// (a littlefs disk, or nothing) and zeros after them, sparse; only
    /// its presence counts, and a new output keeps the old file when there
    /// is one.
    Disk(u64),
}

impl File {
    /// A file with `kind`.
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>, kind: FileKind) -> File {
        File {
            path: path.into(),
            contents: contents.into(),
            kind,
        }
    }
}

/// The files of one output directory.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Output directory.
    pub dir: PathBuf,
    /// Files, in a fixed order.
    pub files: Vec<File>,
}

impl Plan {
    /// What `commit` would do, one line per file.
    pub fn dry_run(&self) -> String {
        self.files
            .iter()
            .map(|f| {
                let bytes = match f.kind {
                    FileKind::Disk(size) => size,
                    _ => f.contents.len() as u64,
                };
                format!(
                    "write {} ({bytes} bytes)\n",
                    self.dir.join(&f.path).display()
                )
            })
            .collect()
    }

    /// The contents of a file of the plan.
    pub fn file(&self, path: &str) -> Option<&File> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Whether the directory already holds exactly these files' contents.
    pub fn is_current(&self) -> bool {
        self.files.iter().all(|f| {
            let path = self.dir.join(&f.path);
            match f.kind {
                FileKind::Seed | FileKind::Disk(_) => path.is_file(),
                FileKind::Symlink => std::fs::read_link(path)
                    .is_ok_and(|t| t.as_os_str().as_encoded_bytes() == f.contents),
                FileKind::Plain | FileKind::Executable => {
                    std::fs::read(path).is_ok_and(|c| c == f.contents)
                }
            }
        })
    }

    /// Writes the files, replacing the directory atomically. Does nothing
    /// when it is current, so unchanged sources keep their mtimes and cargo
    /// does not rebuild.
    pub fn commit(&self) -> Result<()> {
        if self.is_current() {
            return Ok(());
        }
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).io_context(|| format!("create {}", parent.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".mirage-tmp-")
            .permissions(umasked(0o777))
            .tempdir_in(parent)
            .io_context(|| format!("create a temporary directory in {}", parent.display()))?;
        for f in &self.files {
            let path = tmp.path().join(&f.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
            }
            let old = self.dir.join(&f.path);
            match f.kind {
                FileKind::Symlink => {
                    let target = String::from_utf8_lossy(&f.contents).into_owned();
                    std::os::unix::fs::symlink(&target, &path)
                        .io_context(|| format!("link {}", path.display()))?;
                    continue;
                }
                FileKind::Disk(_) if old.is_file() => {
                    std::fs::copy(&old, &path).io_context(|| format!("keep {}", old.display()))?;
                    continue;
                }
                FileKind::Disk(size) => {
                    make_disk(&path, &f.contents, size)
                        .io_context(|| format!("make {}", path.display()))?;
                    continue;
                }
                _ => {}
            }
            std::fs::write(&path, &f.contents)
                .io_context(|| format!("write {}", path.display()))?;
            if f.kind == FileKind::Executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .io_context(|| format!("chmod {}", path.display()))?;
            }
        }
        let staged = tmp.keep();
        if self.dir.exists() {
            let old = tempfile::Builder::new()
                .prefix(".mirage-old-")
                .tempdir_in(parent)
                .io_context(|| format!("create a temporary directory in {}", parent.display()))?;
            let old_path = old.path().join("out");
            std::fs::rename(&self.dir, &old_path)
                .io_context(|| format!("move {} aside", self.dir.display()))?;
            std::fs::rename(&staged, &self.dir)
                .io_context(|| format!("rename into {}", self.dir.display()))?;
            drop(old);
        } else {
            std::fs::rename(&staged, &self.dir)
                .io_context(|| format!("rename into {}", self.dir.display()))?;
        }
        Ok(())
    }
}

/// The mode to create a file or directory with; `open(2)` and `mkdir(2)`
/// take the umask off it. (Temporary files are 0600 and directories 0700
/// otherwise, unreadable to a teammate once renamed into place.)
fn umasked(mode: u32) -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(mode)
}

/// A disk file of `size` bytes starting with `contents`: only its 4 KiB
/// chunks that are not all zeros are written, the rest is a hole.
fn make_disk(path: &Path, contents: &[u8], size: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::create(path)?;
    file.set_len(size)?;
    for (i, chunk) in contents.chunks(4096).enumerate() {
        if chunk.iter().any(|&b| b != 0) {
            file.write_all_at(chunk, i as u64 * 4096)?;
        }
    }
    Ok(())
}

/// Writes `contents` to `path` through a temporary file and a rename; the
/// file gets the mode a new file gets (0644 under umask 022).
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .permissions(umasked(0o666))
        .tempfile_in(dir)
        .io_context(|| format!("create a file in {}", dir.display()))?;
    std::fs::write(tmp.path(), contents)
        .io_context(|| format!("write {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| crate::error::Error::system(format!("write {}: {e}", path.display())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(dir: &Path, text: &str) -> Plan {
        Plan {
            dir: dir.join("out"),
            files: vec![File::new("a/main.rs", text, FileKind::Plain)],
        }
    }

    #[test]
    fn commit_replaces_the_whole_directory() {
        let tmp = tempfile::tempdir().unwrap();
        plan(tmp.path(), "one").commit().unwrap();
        std::fs::write(tmp.path().join("out/stale"), "x").unwrap();
        plan(tmp.path(), "two").commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("out/a/main.rs")).unwrap(),
            "two"
        );
        assert!(!tmp.path().join("out/stale").exists());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary directories must be gone");
    }

    #[test]
    fn kept_files_survive_a_new_output() {
        let tmp = tempfile::tempdir().unwrap();
        let mut p = plan(tmp.path(), "one");
        p.files.push(File::new("disk.img", "", FileKind::Disk(4)));
        p.commit().unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("out/disk.img")).unwrap(),
            [0; 4]
        );
        std::fs::write(tmp.path().join("out/disk.img"), "data").unwrap();
        p.files[0].contents = b"two".to_vec();
        p.commit().unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("out/disk.img")).unwrap(),
            b"data"
        );
        assert_eq!(
            std::fs::read(tmp.path().join("out/a/main.rs")).unwrap(),
            b"two"
        );
    }

    #[test]
    fn a_disk_starts_with_its_contents_and_holes_after() {
        let tmp = tempfile::tempdir().unwrap();
        let mut contents = vec![0; 8192];
        contents[4096] = 7;
        let p = Plan {
            dir: tmp.path().join("out"),
            files: vec![File::new("disk.img", contents, FileKind::Disk(16384))],
        };
        p.commit().unwrap();
        let disk = std::fs::read(tmp.path().join("out/disk.img")).unwrap();
        assert_eq!(disk.len(), 16384);
        assert_eq!(disk.iter().position(|&b| b != 0), Some(4096));
        assert_eq!(disk.iter().filter(|&&b| b != 0).count(), 1);
    }

    #[test]
    fn current_plan_is_not_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let p = plan(tmp.path(), "same");
        p.commit().unwrap();
        let before = std::fs::metadata(tmp.path().join("out/a/main.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert!(p.is_current());
        p.commit().unwrap();
        let after = std::fs::metadata(tmp.path().join("out/a/main.rs"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }
}
