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
        steps[5].contains("objcopy --strip-debug ") && steps[5].ends_with(" bindings.o"),
        "Solo5's objects are linked without their debug info:\n{}",
        out.stdout
    );
    assert!(
        steps[6].contains(" ld -nostdlib -static "),
        "{}",
        out.stdout
    );
    assert!(steps[6].contains("/solo5_spt.lds "), "{}", out.stdout);
    assert!(
        steps[6].contains("/libapp_spt.a -o image"),
        "{}",
        out.stdout
    );
    assert!(
        steps[7].contains("objcopy --strip-debug "),
        "{}",
        out.stdout
    );
    assert!(
        steps[8].contains("objcopy --only-keep-debug "),
        "{}",
        out.stdout
    );
    assert!(steps[9].starts_with("digest "), "{}", out.stdout);
    assert!(
        steps[12].starts_with("install -m 755 ") && steps[12].ends_with("/dist/app.spt"),
        "{}",
        out.stdout
    );
    assert!(
        steps[13].starts_with("install -m 644 ") && steps[13].ends_with("/dist/app.spt.debug"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("mirage-out/app/app/spt/dist/app.spt\n"),
        "the image path comes last:\n{}",
        out.stdout
    );
    assert!(!ws.path().join("mirage-out").exists(), "nothing is written");
}

#[test]
fn build_dry_run_on_unix_splits_cargo_output() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    let out = mirage_ok(ws.path(), &["build", "--dry-run", "//app:app"]);
    let steps: Vec<&str> = out.stdout.lines().collect();
    let n = steps.len();
    assert!(
        steps[n - 3].starts_with("install -m 755 ") && steps[n - 3].ends_with("/dist/app"),
        "{}",
        out.stdout
    );
    assert!(steps[n - 2].ends_with("/dist/app.debug"), "{}", out.stdout);
    assert!(
        steps
            .iter()
            .any(|s| s.contains("objcopy --strip-debug ") && s.contains("/release/app ")),
        "the image is cargo's output, split from its debug info:\n{}",
        out.stdout
    );
    assert!(!ws.path().join("mirage-out").exists(), "nothing is written");
}
