//! The sources a release is made from: the workspace files its images'
//! configuration and build read — the BUILD files of every declaration in
//! each resolved graph, each crate's declared `srcs` (by default its
//! manifest, build script and `src/`),
//! the directories embedded or archived into images, and the workspace's
//! Cargo.toml and Cargo.lock. Files of rules_mirage itself count when it
//! is the workspace; otherwise the generator's version stands for them.
//! Unrelated files (a README) leave the digest alone.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::Built;
use crate::error::{IoContext, Result};
use crate::model::resource::{Backing, Resource};
use crate::render::files::{hex, list_files};
use crate::workspace::Workspace;

/// `dir` (relative to `root`) if it is a file, else every file under it.
fn files_under(root: &Path, dir: &str, out: &mut BTreeSet<String>) -> Result<()> {
    let path = root.join(dir);
    if path.is_file() {
        out.insert(dir.to_owned());
    } else if path.is_dir() {
        let files = list_files(&path).io_context(|| format!("list {dir}"))?;
        out.extend(files.into_iter().map(|f| format!("{dir}/{f}")));
    }
    Ok(())
}

/// The input files of `built`, relative to the workspace root, sorted.
pub fn files(ws: &Workspace, built: &[Built]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let in_workspace = |file: &str| !file.starts_with('@');
    for name in ["Cargo.toml", "Cargo.lock"] {
        if ws.root.join(name).is_file() {
            out.insert(name.to_owned());
        }
    }
    for b in built {
        let r = &b.r;
        let locs = std::iter::once(&r.loc)
            .chain(r.instances.iter().map(|i| &i.loc))
            .chain(r.crates.iter().map(|c| &c.loc))
            .chain(r.runtime_args.iter().map(|a| &a.loc));
        for loc in locs.filter(|l| in_workspace(&l.file)) {
            out.insert(loc.file.clone());
        }
        for c in &r.crates {
            let Ok(dir) = c.dir.strip_prefix(&ws.root) else {
                continue;
            };
            let dir = dir.to_string_lossy();
            let in_crate = |file: &str| match dir.is_empty() {
                true => file.to_owned(),
                false => format!("{dir}/{file}"),
            };
            // The files its BUILD file declares (what Bazel's actions
            // see), else those cargo reads by convention.
            let declared: Vec<&str> = match c.srcs.is_empty() {
                true => vec!["Cargo.toml", "build.rs", "src"],
                false => c.srcs.iter().map(String::as_str).collect(),
            };
            for file in declared {
                files_under(&ws.root, &in_crate(file), &mut out)?;
            }
        }
        for i in &r.instances {
            for res in &i.resources {
                match res {
                    Resource::Embedded { dir } => files_under(&ws.root, dir, &mut out)?,
                    Resource::Solo5Device(d) => {
                        if let Backing::Archive(dir) = &d.backing {
                            files_under(&ws.root, dir, &mut out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The sha256 of [`files`]: of one line per file, `SHA256  PATH`.
pub fn sha256(ws: &Workspace, built: &[Built]) -> Result<String> {
    let mut lines = String::new();
    for f in files(ws, built)? {
        let bytes = std::fs::read(ws.root.join(&f)).io_context(|| format!("read {f}"))?;
        lines += &format!("{}  {f}\n", hex(&Sha256::digest(&bytes)));
    }
    Ok(hex(&Sha256::digest(lines.as_bytes())))
}
