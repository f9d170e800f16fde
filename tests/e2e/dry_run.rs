//! `--dry-run`: configure and build print every file they would write and
//! every command they would run, and touch nothing.

use crate::support::{copy_tree, mirage_ok, repo, workspace};

#[test]
fn configure_dry_run_lists_files_and_writes_nothing() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let out = mirage_ok(
        ws.path(),
        &["configure", "--dry-run", "-t", "virtio", "//app:app"],
    );
    let files: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split(" (").next().unwrap())
        .map(|l| l.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "main.rs",
            "Cargo.toml",
            "Cargo.lock",
            "run.sh",
            "context.json",
            "workspace",
            "manifest.json",
            "app.virtio.xml"
        ],
        "{}",
        out.stdout
    );
    assert!(out.stdout.starts_with("write "), "{}", out.stdout);
    assert!(!ws.path().join("mirage-out").exists(), "nothing is written");
}

#[test]
fn build_dry_run_shows_cargo_and_the_solo5_link() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let out = mirage_ok(ws.path(), &["build", "--dry-run", "-t", "spt", "//app:app"]);
    let steps: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("write "))
        .collect();
    assert!(
        steps[0].contains("cargo build --release --manifest-path "),
        "{}",
        out.stdout
    );
    assert!(
        steps[0].contains("CARGO_ENCODED_RUSTFLAGS=$'--remap-path-prefix="),
        "{}",
        out.stdout
    );
    assert!(
        steps[1].starts_with("build the Solo5 toolchain into "),
        "{}",
        out.stdout
    );
    assert!(
        steps[3].contains("/elftool/solo5-elftool gen-manifest "),
        "{}",
        out.stdout
    );
    assert!(
        steps[5].contains(" ld -nostdlib -static "),
        "{}",
        out.stdout
    );
    assert!(steps[5].contains("/solo5_spt.lds "), "{}", out.stdout);
    assert!(
        steps[5].contains("/libapp_spt.a -o image"),
        "{}",
        out.stdout
    );
    assert!(steps[6].starts_with("install "), "{}", out.stdout);
    assert!(
        out.stdout
            .ends_with("mirage-out/app/app/spt/dist/app.spt\n"),
        "the image path comes last:\n{}",
        out.stdout
    );
    assert!(!ws.path().join("mirage-out").exists(), "nothing is written");
}

#[test]
fn build_dry_run_on_unix_installs_cargo_output() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let out = mirage_ok(ws.path(), &["build", "--dry-run", "//app:app"]);
    let last_step = out.stdout.lines().rev().nth(1).unwrap();
    assert!(last_step.starts_with("install "), "{}", out.stdout);
    assert!(last_step.contains("/release/app "), "{}", out.stdout);
    assert!(!ws.path().join("mirage-out").exists(), "nothing is written");
}
