//! Locked builds: an image is built from the crate versions Cargo.lock
//! pins, or not at all. Before cargo runs, each workspace that holds the
//! unikernel's crates (rules_mirage's home, and the user's root when it
//! has its own lock) must resolve to its Cargo.lock unchanged; otherwise
//! the build stops with [`STALE`], the message Bazel's `@mirage_crates`
//! repository rule gives for the same lock (tested across both engines).
//!
//! Under Bazel the crates come vendored (`$MIRAGE_CRATES`) by `cargo vendor
//! --locked`, which made this check when it vendored them; the image
//! action holds only the manifests its graph names, not whole workspaces.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::build::step;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// What both engines say, after the lock's path, when it no longer
/// matches the manifests.
pub const STALE: &str = "does not match the Cargo.toml files of its workspace: \
                         update it (`cargo update --workspace --offline`) and build again";

/// Cargo's words for a lock that `--locked` kept from changing.
const CARGO_LOCKED: &str = "--locked was passed";

/// The workspace roots whose lock this process has found current: a
/// command that builds many images (`pin`, `release`) asks cargo once.
static CURRENT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Checks that every workspace of `ws` with a Cargo.lock resolves to it.
pub fn check(ws: &Workspace) -> Result<()> {
    if std::env::var_os("MIRAGE_CRATES").is_some() {
        return Ok(());
    }
    let mut roots = vec![ws.home.as_path()];
    if !ws.home_is_root() {
        roots.push(ws.root.as_path());
    }
    for root in roots {
        let current = |set: &BTreeSet<PathBuf>| set.contains(root);
        if CURRENT.lock().is_ok_and(|set| current(&set)) {
            continue;
        }
        check_root(ws, root)?;
        if let Ok(mut set) = CURRENT.lock() {
            set.insert(root.to_path_buf());
        }
    }
    Ok(())
}

fn check_root(ws: &Workspace, root: &Path) -> Result<()> {
    let (manifest, lock) = (root.join("Cargo.toml"), root.join("Cargo.lock"));
    if !manifest.is_file() || !lock.is_file() {
        return Ok(());
    }
    let out = Command::new(step::tool("CARGO", "cargo"))
        .args(["metadata", "--format-version", "1"])
        .args(["--locked", "--offline", "--manifest-path"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| Error::system(format!("run cargo metadata: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Other failures (a crate missing from the offline cache) are cargo's
    // to report when it builds.
    if out.status.success() || !stderr.contains(CARGO_LOCKED) {
        return Ok(());
    }
    let shown = lock
        .strip_prefix(&ws.root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| lock.display().to_string());
    Err(Error::user(format!("{shown} {STALE}")))
}
