//! Cargo's view of a generated crate: `cargo metadata`, for the host
//! triple images are compiled for, offline. One runner for the SBOM
//! (after a build, locked) and the build plan (before one).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::error::{Error, Result};

/// `cargo metadata` of the crate in `dir`; `--locked` when `locked`.
pub fn metadata(dir: &Path, locked: bool) -> Result<Value> {
    let out = Command::new(crate::build::step::tool("CARGO", "cargo"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", "x86_64-unknown-linux-gnu"])
        .args(locked.then_some("--locked"))
        .current_dir(dir)
        .output()
        .map_err(|e| Error::system(format!("cargo metadata: {e}")))?;
    if !out.status.success() {
        return Err(Error::system(format!(
            "cargo metadata in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Error::system(format!("cargo metadata: {e}")))
}
