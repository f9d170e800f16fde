//! Crates: the Rust packages generated code depends on.
//!
//! A `mirage_crate` sits in the BUILD file at its crate root, beside its
//! `Cargo.toml`. The generated manifest depends on it by relative path.

use std::path::{Path, PathBuf};

use super::rule::Rule;
use crate::error::{Error, Loc, Result};
use crate::label::Label;
use crate::workspace::Workspace;

/// A crate found at a package directory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    /// The Rust name used in paths (`mirage_unix`).
    pub lib_name: String,
    /// The Cargo package name (`mirage-unix`).
    pub package_name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its declared files (`srcs`), relative to `dir`; empty when the
    /// BUILD file lists none.
    pub srcs: Vec<String>,
    /// The label that declared it.
    pub label: Label,
    /// Where it is declared.
    pub loc: Loc,
}

impl Crate {
    /// Reads the crate declared by `rule` (a `mirage_crate` or a unikernel).
    pub fn from_rule(rule: &Rule, ws: &Workspace) -> Result<Crate> {
        let dir = ws
            .package_dir(&rule.label.package())
            .map_err(|e| Error::at(&rule.loc, e))?;
        let package_name = package_name(&dir.join("Cargo.toml"), &rule.loc)?;
        let lib_name = rule
            .str("crate_name")
            .map(str::to_owned)
            .unwrap_or_else(|| package_name.replace('-', "_"));
        Ok(Crate {
            lib_name,
            package_name,
            dir,
            srcs: rule
                .str_list("srcs")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            label: rule.label.clone(),
            loc: rule.loc.clone(),
        })
    }

    /// Checks that the crate's `src/lib.rs` is `#![no_std]`, as a crate
    /// linked into a Solo5 image must be: rustc would only say
    /// `duplicate lang item` deep in the generated code.
    pub fn check_no_std(&self) -> Result<()> {
        let lib = self.dir.join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else {
            return Ok(());
        };
        let no_std = text.lines().any(|l| {
            let l = l.trim();
            l.starts_with("#![") && l.contains("no_std")
        });
        if no_std {
            return Ok(());
        }
        Err(Error::at(
            &self.loc,
            format!(
                "crate `{}` is not `#![no_std]`, and Solo5 images have no standard library: \
                 add `#![no_std]` at the top of its src/lib.rs (and `extern crate alloc;` for Vec and String)",
                self.package_name
            ),
        ))
    }
}

/// The `[package] name` of a Cargo manifest.
fn package_name(manifest: &Path, loc: &Loc) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| Error::at(loc, format!("cannot read {}: {e}", manifest.display())))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix('='))
            {
                return Ok(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    Err(Error::at(
        loc,
        format!("{} has no [package] name", manifest.display()),
    ))
}
