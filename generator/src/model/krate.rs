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
        if !dir.starts_with(&ws.home) {
            refuse_runtime_paths(&dir.join("Cargo.toml"), &package_name, &rule.loc)?;
        }
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

/// Refuses a crate outside rules_mirage that names a rules_mirage crate by
/// path into a checkout (`mirage-types = { path = ".../runtimes/types" }`):
/// the generated manifest names that crate itself, by where the build
/// finds rules_mirage, and cargo would see two packages of one name (Bazel
/// says `package collision in the lockfile`). Both engines stop here alike.
fn refuse_runtime_paths(manifest: &Path, package: &str, loc: &Loc) -> Result<()> {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        let (dep, value) = match section.rsplit_once('.') {
            // [dependencies.mirage-types] then `path = "..."`.
            Some((table, dep)) if table.ends_with("dependencies") && line.starts_with("path") => {
                (dep.to_owned(), line)
            }
            _ if section.ends_with("dependencies") => match line.split_once('=') {
                Some((dep, value)) => (dep.trim().to_owned(), value),
                None => continue,
            },
            _ => continue,
        };
        let by_path = value.contains("path") && value.contains("runtimes/");
        if dep.starts_with("mirage-") && by_path {
            return Err(Error::at(
                loc,
                format!(
                    "crate `{package}` names `{dep}` by a path into rules_mirage in its Cargo.toml: \
                     name it by version (`{dep} = \"0.1\"`); builds take it from the rules_mirage they run with"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(manifest: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        std::fs::write(&path, manifest).unwrap();
        let loc = Loc {
            file: "BUILD.bazel".into(),
            line: 1,
            col: 1,
        };
        refuse_runtime_paths(&path, "app", &loc)
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn runtime_crates_by_path_into_rules_mirage_are_refused() {
        for manifest in [
            "[dependencies]\nmirage-types = { path = \"/src/rules_mirage/runtimes/types\" }\n",
            "[target.'cfg(unix)'.dependencies]\nmirage-unix = { path = \"../rm/runtimes/unix\" }\n",
            "[dependencies.mirage-types]\npath = \"../rules_mirage/runtimes/types\"\n",
        ] {
            let e = refused(manifest).expect(manifest);
            assert!(e.contains("by version (`mirage-"), "{e}");
        }
        for manifest in [
            "[dependencies]\nmirage-types = \"0.1\"\ngreeter = { path = \"greeter\" }\n",
            "[patch.crates-io]\nmirage-types = { path = \"mirage-out/rules_mirage/runtimes/types\" }\n",
        ] {
            assert_eq!(refused(manifest), None, "{manifest}");
        }
    }
}
