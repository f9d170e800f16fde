//! When rustc rejects the generated code, the user hears it in BUILD terms:
//! the BUILD line of the declaration, paths they can open, the right fix.

use crate::support::{copy_tree, mirage, repo, workspace};

#[test]
fn a_wrong_main_path_is_blamed_on_the_unikernel_build_line() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let build = ws.path().join("app/BUILD.bazel");
    let text = std::fs::read_to_string(&build).unwrap();
    std::fs::write(&build, text.replace("app::start", "app::begin")).unwrap();
    let out = mirage(&ws.path().join("app"), &["build", "-t", "unix", ":app"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("--> ../mirage-out/app/app/unix/main.rs:"),
        "rustc's paths are relative to the user's directory:\n{}",
        out.stderr
    );
    let note = out
        .stderr
        .lines()
        .find(|l| l.contains(": note: "))
        .unwrap_or_else(|| panic!("no note:\n{}", out.stderr));
    assert!(
        note.starts_with("app/BUILD.bazel:") && note.contains("is the generated code of //app:app"),
        "{note}"
    );
}

#[test]
fn a_solo5_crate_without_no_std_is_named_before_rustc_runs() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let lib = ws.path().join("greeter/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text.replace("#![no_std]\n", "")).unwrap();
    let out = mirage(ws.path(), &["build", "-t", "spt", "//app:app"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("greeter/BUILD.bazel:")
            && out.stderr.contains("crate `greeter` is not `#![no_std]`"),
        "{}",
        out.stderr
    );
}
