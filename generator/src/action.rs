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
    /// Exact contents.
    pub contents: Vec<u8>,
    /// Whether to mark it executable.
    pub executable: bool,
    /// Whether this is a symbolic link; `contents` is then its target.
    pub symlink: bool,
    /// A starting point the build may update (Cargo.lock): only its
    /// presence counts when deciding whether the output is current. Its
    /// provenance belongs in another, compared file.
    pub seed: bool,
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
                format!(
                    "write {} ({} bytes)\n",
                    self.dir.join(&f.path).display(),
                    f.contents.len()
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
            if f.seed {
                path.is_file()
            } else if f.symlink {
                std::fs::read_link(path)
                    .is_ok_and(|t| t.as_os_str().as_encoded_bytes() == f.contents)
            } else {
                std::fs::read(path).is_ok_and(|c| c == f.contents)
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
            .tempdir_in(parent)
            .io_context(|| format!("create a temporary directory in {}", parent.display()))?;
        for f in &self.files {
            let path = tmp.path().join(&f.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
            }
            if f.symlink {
                let target = String::from_utf8_lossy(&f.contents).into_owned();
                std::os::unix::fs::symlink(&target, &path)
                    .io_context(|| format!("link {}", path.display()))?;
                continue;
            }
            std::fs::write(&path, &f.contents)
                .io_context(|| format!("write {}", path.display()))?;
            if f.executable {
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

/// Writes `contents` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).io_context(|| format!("create {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(dir)
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
            files: vec![File {
                path: "a/main.rs".into(),
                contents: text.as_bytes().to_vec(),
                executable: false,
                symlink: false,
                seed: false,
            }],
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
