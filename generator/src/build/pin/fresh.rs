//! Whether mirage.plan.json still pins what the workspace builds: each
//! image records the sha256 of its generated Cargo.toml and of the
//! manifests its crates are compiled from (Cargo.lock, every path crate's
//! Cargo.toml). `mirage pin --check` and Bazel's image action ask.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Unit;
use crate::error::{Error, Result};
use crate::render::files::hex;
use crate::workspace::Workspace;

/// The manifests unit `i` is compiled from, by sha256: Cargo.lock and
/// the Cargo.toml of every path crate it reads. A changed one (a new
/// dependency, other features) makes the plan stale.
pub(super) fn manifests(
    ws: &Workspace,
    units: &[Unit],
    i: usize,
) -> Result<BTreeMap<String, String>> {
    let mut seen = BTreeSet::from([i]);
    let mut todo = vec![i];
    while let Some(u) = todo.pop() {
        for &r in &units[u].refs {
            if seen.insert(r) {
                todo.push(r);
            }
        }
    }
    let mut files = BTreeMap::new();
    files.insert("Cargo.lock".to_owned(), String::new());
    for u in seen.into_iter().filter(|&u| u != i) {
        let source = &units[u].source;
        if !source.starts_with("crates/") {
            files.insert(format!("{source}/Cargo.toml"), String::new());
        }
    }
    for (file, sha) in files.iter_mut() {
        *sha = sha256_file(&ws.root.join(file.as_str()))?;
    }
    Ok(files)
}

/// sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::system(format!("{}: {e}", path.display())))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// What changed since `image` (an image of the plan) was pinned, given
/// its generated Cargo.toml now: one description per file; none when it
/// is fresh.
pub fn stale(ws: &Workspace, image: &Value, cargo_toml: &[u8]) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    if image["cargo_toml"].as_str() != Some(&hex(&Sha256::digest(cargo_toml))) {
        changed.push(format!(
            "the generated Cargo.toml of {} for {}",
            image["label"].as_str().unwrap_or_default(),
            image["target"].as_str().unwrap_or_default()
        ));
    }
    for (file, sha) in image["inputs"].as_object().into_iter().flatten() {
        if sha.as_str() != Some(&sha256_file(&ws.root.join(file))?) {
            changed.push(file.clone());
        }
    }
    Ok(changed)
}

/// The one error for a plan that no longer pins what is built: `what`
/// says what changed.
pub fn stale_error(what: &str) -> Error {
    Error::user(mirage_unit::stale_message(what))
}
