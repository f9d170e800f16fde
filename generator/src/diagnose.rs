//! Cargo's errors in BUILD terms. When rustc fails in the generated
//! `main.rs`, the cause is a BUILD declaration (an `impls` path, `params`
//! out of `start`'s order, a missing crate): each error line is passed
//! through with paths the user can open, cargo's `cargo add` advice is
//! replaced by the fix that applies here, and a note names the BUILD
//! file:line of each device whose code failed.

use std::collections::BTreeSet;
use std::path::Path;

use crate::paths::{relative, WORKSPACE_LINK};

/// Rewrites cargo's stderr as it streams, remembering the generated
/// lines it blames.
pub struct Diagnose {
    /// `main.rs` as the user can open it, relative to their directory.
    main_rs: String,
    /// The workspace root as the user can name it.
    root: String,
    /// Lines of the generated `main.rs` that errors point at.
    blamed: BTreeSet<usize>,
}

impl Diagnose {
    /// For a build of the crate in `dir`, for a user in `cwd`, of the
    /// workspace at `root`.
    pub fn new(cwd: &Path, dir: &Path, root: &Path) -> Diagnose {
        Diagnose {
            main_rs: relative(cwd, &dir.join("main.rs")),
            root: relative(cwd, root),
            blamed: BTreeSet::new(),
        }
    }

    /// One line of cargo's stderr, as the user should see it.
    pub fn line(&mut self, line: &str) -> String {
        if line.contains("cargo add") {
            return "help: name the crate in the device's `crates` (a mirage_crate), \
                    or add it to its Cargo.toml"
                .to_owned();
        }
        if let Some(rest) = line.trim_start().strip_prefix("--> main.rs:") {
            if let Some(n) = rest.split(':').next().and_then(|n| n.parse().ok()) {
                self.blamed.insert(n);
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            return format!("{indent}--> {}:{rest}", self.main_rs);
        }
        let link = format!("{WORKSPACE_LINK}/");
        if let Some(i) = line.find(&format!("--> {link}")) {
            let path = &line[i + 4 + link.len()..];
            let root = if self.root == "." {
                String::new()
            } else {
                format!("{}/", self.root)
            };
            return format!("{}--> {root}{path}", &line[..i]);
        }
        line.to_owned()
    }

    /// After a failure: a note per declaration whose generated code rustc
    /// rejected, found from the comment above each statement of `main_rs`
    /// (`// LABEL at FILE:LINE:COL`).
    pub fn notes(&self, main_rs: &str) -> Vec<String> {
        let lines: Vec<&str> = main_rs.lines().collect();
        let mut seen = BTreeSet::new();
        let mut notes = Vec::new();
        for &n in &self.blamed {
            let owner = lines[..n.min(lines.len())].iter().rev().find_map(|l| {
                let l = l.trim_start().strip_prefix("// ")?;
                let l = l.strip_prefix("The unikernel ").unwrap_or(l);
                let (label, loc) = l.split_once(" at ")?;
                (label.starts_with("//") || label.starts_with('@')).then_some((label, loc))
            });
            let Some((label, loc)) = owner else { continue };
            if !seen.insert(label) {
                continue;
            }
            notes.push(format!(
                "{loc}: note: {}:{n} is the generated code of {label}: check its `impls` paths, \
                 its `crates`, and its `params` against the Rust function's parameters, in order",
                self.main_rs
            ));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_point_at_files_the_user_can_open_and_at_build_lines() {
        let mut d = Diagnose::new(
            Path::new("/w/app"),
            Path::new("/w/mirage-out/app/app/unix"),
            Path::new("/w"),
        );
        assert_eq!(
            d.line("  --> main.rs:41:5"),
            "  --> ../mirage-out/app/app/unix/main.rs:41:5"
        );
        assert_eq!(
            d.line("   --> workspace/app/src/lib.rs:3:1"),
            "   --> ../app/src/lib.rs:3:1"
        );
        assert!(d
            .line("help: consider `cargo add foo`")
            .contains("mirage_crate"));
        let main = "fn x() {\n    // //app:greeter at app/BUILD.bazel:3:1\n    // greeter\n    let g = greeter::G::connect()\n";
        let mut text = String::from(main);
        text.push_str(&"\n".repeat(40));
        assert_eq!(
            d.notes(&text),
            ["app/BUILD.bazel:3:1: note: ../mirage-out/app/app/unix/main.rs:41 is the generated code of //app:greeter: \
              check its `impls` paths, its `crates`, and its `params` against the Rust function's parameters, in order"]
        );
    }
}
