//! Where built toolchains are kept: `$MIRAGE_CACHE`,
//! `$XDG_CACHE_HOME/rules_mirage`, `~/.cache/rules_mirage`, or without a
//! home `/tmp/rules_mirage-UID`.
//!
//! Contract: nothing in a cache is trusted (a marker file says a
//! toolchain is complete, and its tools are run) unless the directory
//! belongs to this user and no one else may write in it.

use std::path::{Path, PathBuf};

/// The cache root: `$MIRAGE_CACHE`, `$XDG_CACHE_HOME/rules_mirage` or
/// `~/.cache/rules_mirage`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MIRAGE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    match base {
        Some(base) => base.join("rules_mirage"),
        // Shared /tmp: a directory of this user's own (checked by
        // `private_cache` before anything in it is trusted).
        None => PathBuf::from(format!("/tmp/rules_mirage-{}", user())),
    }
}

/// This process's user: the owner of `/proc/self`.
fn user() -> u32 {
    std::fs::metadata("/proc/self").map_or(0, |m| std::os::unix::fs::MetadataExt::uid(&m))
}

/// Makes `cache` (0700) or checks that it is this user's and that no one
/// else may write in it: a toolchain found there is run, so another local
/// user must not be able to plant one.
pub(crate) fn private_cache(cache: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if !cache.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(cache)
            .map_err(|e| format!("create {}: {e}", cache.display()))?;
    }
    let meta = std::fs::metadata(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    if meta.uid() != user() {
        return Err(format!(
            "{}: the toolchain cache belongs to user {}, not to this one ({}); set MIRAGE_CACHE to a directory of your own",
            cache.display(),
            meta.uid(),
            user()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{}: the toolchain cache is writable by others (mode {:o}); chmod go-w it or set MIRAGE_CACHE",
            cache.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn caches_others_may_write_are_refused() {
        let base = std::env::temp_dir().join(format!("mirage-cache-{}", std::process::id()));
        let fresh = base.join("a/b");
        private_cache(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = private_cache(&fresh).unwrap_err();
        assert!(err.contains("writable by others (mode 777)"), "{err}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
