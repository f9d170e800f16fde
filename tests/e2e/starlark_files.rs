//! Every public .bzl and BUILD file of the repository evaluates in the
//! embedded engine, and none uses Bazel-only builtins.

use std::path::Path;

use mirage::label::{Label, Package};
use mirage::starlark::Loader;
use mirage::workspace::Workspace;

use crate::support::repo;

/// Paths that hold no public Starlark: build output, the Bazel-only
/// private rules and packages (private/'s macros are public code; the
/// generator's own build, the platforms, the stand-in repositories for
/// offline Bazel), and test inputs that are wrong on purpose.
const SKIP: &[&str] = &[
    ".git",
    "target",
    "mirage-out",
    "generator",
    "rules_mirage/platforms",
    "rules_mirage/repositories.bzl",
    "rules_mirage/private/BUILD.bazel",
    "rules_mirage/private/cargo.bzl",
    "rules_mirage/private/extensions.bzl",
    "rules_mirage/private/providers.bzl",
    "rules_mirage/private/release.bzl",
    "rules_mirage/private/repositories.bzl",
    "rules_mirage/private/rules.bzl",
    "rules_mirage/private/schema.bzl",
    "rules_mirage/private/solo5.bzl",
    "rules_mirage/private/toolchain.bzl",
    "rules_mirage/private/unikernel.bzl",
    "rules_mirage/private/units.bzl",
    "rules_mirage/private/workspace.bzl",
    "toolchains/bazel",
    "tests/cases",
];

fn walk(root: &Path, rel: &str, build: &mut Vec<String>, bzl: &mut Vec<String>) {
    // bazel-*: Bazel's output links; tests/bazel-*-tmp: packages the Bazel
    // tests make for a moment, wrong on purpose.
    if SKIP.contains(&rel) || rel.starts_with("bazel-") || rel.starts_with("tests/bazel-") {
        return;
    }
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if SKIP.contains(&path.as_str()) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            walk(root, &path, build, bzl);
        } else if name == "BUILD.bazel" || name == "BUILD" {
            build.push(rel.to_owned());
        } else if name.ends_with(".bzl") {
            bzl.push(path);
        }
    }
}

#[test]
fn every_public_starlark_file_evaluates() {
    let root = repo();
    let (mut build, mut bzl) = (Vec::new(), Vec::new());
    walk(&root, "", &mut build, &mut bzl);
    assert!(build.len() >= 8, "found only {build:?}");
    assert!(bzl.contains(&"rules_mirage/defs.bzl".to_owned()), "{bzl:?}");
    let ws = Workspace::discover(&root, Some(&root)).unwrap();
    let loader = Loader::new(&ws).unwrap();
    for package in &build {
        let p = Package {
            repo: None,
            path: package.clone(),
        };
        loader
            .package(&p, None)
            .unwrap_or_else(|e| panic!("{package}: {e}"));
    }
    for file in &bzl {
        let (package, name) = file.rsplit_once('/').unwrap_or(("", file));
        let label = Label {
            repo: None,
            package: package.to_owned(),
            name: name.to_owned(),
        };
        loader
            .load_bzl(&label)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let build_files = build.iter().map(|p| {
        if p.is_empty() {
            "BUILD.bazel".to_owned()
        } else {
            format!("{p}/BUILD.bazel")
        }
    });
    for file in bzl.iter().cloned().chain(build_files) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        for builtin in ["rule(", "attr.", "provider(", "ctx."] {
            assert!(
                !text
                    .lines()
                    .any(|l| !l.trim_start().starts_with('#') && l.contains(builtin)),
                "{file} uses the Bazel-only builtin `{builtin}`"
            );
        }
    }
}
