//! `direct_kv_ro` and `direct_kv_rw` on unix: a host directory.
//!
//! Contract: every key resolves inside the directory. Symbolic links in
//! the tree are followed only while they stay inside it; a key that a
//! link leads out of (or to nowhere, where a write would create the
//! target) is a store error, so a link planted in a served tree cannot
//! expose or overwrite the host's files.

use std::path::PathBuf;

use mirage_types::{check_key, KvError, KvKind, KvRo, KvRw};

/// A host directory as a key-value store; keys are paths inside it.
#[derive(Clone, Debug)]
pub struct DirectKv {
    root: PathBuf,
}

fn io(key: &str, e: std::io::Error) -> KvError {
    match e.kind() {
        std::io::ErrorKind::NotFound => KvError::NotFound(key.into()),
        _ => KvError::Store(format!("{key:?}: {e}")),
    }
}

impl DirectKv {
    /// The store over `root` (relative to where the image runs).
    pub async fn connect(root: &'static str) -> Result<DirectKv, String> {
        let given = PathBuf::from(root);
        if !given.is_dir() {
            return Err(format!("{}: not a directory", given.display()));
        }
        let root = given
            .canonicalize()
            .map_err(|e| format!("{}: {e}", given.display()))?;
        Ok(DirectKv { root })
    }

    /// Where `key` is, once checked to resolve inside the root: its
    /// deepest existing part, links followed, must be inside it.
    fn path(&self, key: &str) -> Result<PathBuf, KvError> {
        check_key(key)?;
        let path = self.root.join(key);
        let outside = || KvError::Store(format!("{key:?}: a link leads outside the store"));
        let mut existing = path.as_path();
        loop {
            match std::fs::symlink_metadata(existing) {
                Ok(_) => {
                    // A dangling link does not canonicalize: refused too.
                    let real = existing.canonicalize().map_err(|_| outside())?;
                    return if real.starts_with(&self.root) {
                        Ok(path)
                    } else {
                        Err(outside())
                    };
                }
                // Missing, or under a value: its parent decides.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    existing = existing.parent().ok_or_else(outside)?;
                }
                Err(e) => return Err(io(key, e)),
            }
        }
    }

    fn value_path(&self, key: &str) -> Result<PathBuf, KvError> {
        let path = self.path(key)?;
        let meta = std::fs::metadata(&path).map_err(|e| io(key, e))?;
        if meta.is_dir() {
            return Err(KvError::ValueExpected(key.into()));
        }
        Ok(path)
    }
}

impl KvRo for DirectKv {
    async fn exists(&self, key: &str) -> Result<Option<KvKind>, KvError> {
        match std::fs::metadata(self.path(key)?) {
            Ok(m) if m.is_dir() => Ok(Some(KvKind::Dictionary)),
            Ok(_) => Ok(Some(KvKind::Value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        std::fs::read(self.value_path(key)?).map_err(|e| io(key, e))
    }

    async fn get_partial(&self, key: &str, offset: u64, length: usize) -> Result<Vec<u8>, KvError> {
        Ok(mirage_runtime::kv::slice(
            &self.get(key).await?,
            offset,
            length,
        ))
    }

    async fn list(&self, key: &str) -> Result<Vec<(String, KvKind)>, KvError> {
        let path = self.path(key)?;
        if path.is_file() {
            return Err(KvError::DictionaryExpected(key.into()));
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(|e| io(key, e))? {
            let entry = entry.map_err(|e| io(key, e))?;
            let kind = if entry.path().is_dir() {
                KvKind::Dictionary
            } else {
                KvKind::Value
            };
            out.push((entry.file_name().to_string_lossy().into_owned(), kind));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn last_modified(&self, key: &str) -> Result<i64, KvError> {
        let meta = std::fs::metadata(self.value_path(key)?).map_err(|e| io(key, e))?;
        let modified = meta.modified().map_err(|e| io(key, e))?;
        Ok(modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64))
    }

    async fn digest(&self, key: &str) -> Result<[u8; 32], KvError> {
        Ok(mirage_runtime::kv::sha256(&self.get(key).await?))
    }

    async fn size(&self, key: &str) -> Result<u64, KvError> {
        let meta = std::fs::metadata(self.value_path(key)?).map_err(|e| io(key, e))?;
        Ok(meta.len())
    }
}

impl KvRw for DirectKv {
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let path = self.path(key)?;
        if key.is_empty() || path.is_dir() {
            return Err(KvError::ValueExpected(key.into()));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|_| {
                let dict = key.rsplit_once('/').map_or("", |(d, _)| d);
                KvError::DictionaryExpected(dict.into())
            })?;
        }
        std::fs::write(&path, value).map_err(|e| io(key, e))
    }

    async fn remove(&self, key: &str) -> Result<(), KvError> {
        let path = self.path(key)?;
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(key, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirage_runtime::executor::ready as now;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_out_of_the_tree_are_refused() {
        let base = std::env::temp_dir().join(format!("mirage-kv-{}", std::process::id()));
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "s").unwrap();
        std::fs::write(root.join("sub/page"), "p").unwrap();
        symlink(outside.join("secret"), root.join("leak")).unwrap();
        symlink(&outside, root.join("dir")).unwrap();
        symlink(outside.join("new"), root.join("dangling")).unwrap();
        symlink("sub/page", root.join("inside")).unwrap();
        let kv = now(DirectKv::connect(Box::leak(
            root.to_str().unwrap().to_owned().into_boxed_str(),
        )))
        .unwrap();

        assert_eq!(now(kv.get("inside")).unwrap(), b"p");
        assert_eq!(now(kv.get("sub/page")).unwrap(), b"p");
        for key in ["leak", "dir/secret", "dir"] {
            let err = now(kv.get(key)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("store error: {key:?}: a link leads outside the store")
            );
        }
        assert!(now(kv.set("dir/planted", b"x")).is_err());
        assert!(now(kv.set("dangling", b"x")).is_err());
        assert!(!outside.join("planted").exists() && !outside.join("new").exists());
        now(kv.set("sub/new/deep", b"d")).unwrap();
        // Below a value: the value is no dictionary, as before links.
        assert_eq!(
            now(kv.set("sub/page/below", b"x")).unwrap_err(),
            KvError::DictionaryExpected("sub/page".into())
        );
        assert_eq!(now(kv.get("sub/new/deep")).unwrap(), b"d");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
