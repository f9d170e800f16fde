//! Block devices: the tutorial's block example on every target that boots
//! here, and the errors of a missing file or an unattached device.

use crate::support::{copy_tree, mirage, repo, workspace};

/// The example's disk file; created (64 KiB) when absent.
fn disk_image() {
    let path = repo().join("examples/block/disk.img");
    if !path.exists() {
        std::fs::File::create(&path)
            .unwrap()
            .set_len(64 * 1024)
            .unwrap();
    }
}

fn passes_block_test(target: &str, keys: &[&str], sectors: u64) {
    let mut args = vec!["run", "-t", target, "//examples/block:block"];
    args.extend(keys);
    // Only the chosen device's runtime arguments exist in the image.
    if keys.contains(&"--block=ramdisk") {
        args.extend(["--", "--ramdisk-sectors=32"]);
    }
    let out = mirage(&repo(), &args);
    assert_eq!(out.code, 0, "{target} {keys:?}: {out:?}");
    for expected in [
        format!("sectors = {sectors}, sector size = 512, read-write = true"),
        format!("wrote and read back {sectors} sectors"),
        "reading past the end: out of range, as expected".to_owned(),
        "writing across the end: out of range, as expected".to_owned(),
        "reading half a sector: buffer not a multiple of the sector size, as expected".to_owned(),
        "block test passed".to_owned(),
    ] {
        assert!(
            out.stdout
                .contains(&format!("[INFO] [application] {expected}\n")),
            "{target}: {}",
            out.stdout
        );
    }
}

#[test]
fn block_example_passes_on_unix() {
    disk_image();
    passes_block_test("unix", &[], 128);
}

#[test]
fn block_example_passes_on_spt_with_a_file_and_a_ramdisk() {
    disk_image();
    passes_block_test("spt", &[], 128);
    passes_block_test("spt", &["--block=ramdisk"], 32);
    let manifest = mirage(
        &repo(),
        &[
            "query",
            "manifest",
            "-t",
            "spt",
            "//examples/block:block",
            "--block=file",
        ],
    );
    let manifest: serde_json::Value = serde_json::from_str(&manifest.stdout).unwrap();
    assert_eq!(
        manifest["devices"],
        serde_json::json!([{"name": "disk", "type": "BLOCK_BASIC"}])
    );
}

#[test]
fn block_example_passes_on_virtio() {
    disk_image();
    passes_block_test("virtio", &[], 128);
}

#[test]
fn missing_block_file_is_named_with_its_build_line() {
    let ws = workspace();
    copy_tree(&repo().join("tests/devices_missing"), ws.path());
    let out = mirage(ws.path(), &["run", "-t", "spt", "//app:uses_missing"]);
    assert_eq!(out.code, 2, "{out:?}");
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("app/BUILD.bazel:4:1: error: block device `missing`: no such file ")
            && last.ends_with("app/missing.img (create it, or pass --block-file missing=PATH)"),
        "{last}"
    );
    let out = mirage(
        ws.path(),
        &[
            "run",
            "-t",
            "spt",
            "//app:uses_missing",
            "--block-file",
            "other=x",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("has no block device `other` (it has: missing)"),
        "{}",
        out.stderr
    );
}

#[test]
fn tender_refusal_is_surfaced() {
    let ws = workspace();
    copy_tree(&repo().join("tests/devices_missing"), ws.path());
    let out = mirage(ws.path(), &["run", "-t", "spt", "//app:uses_unattached"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.lines().last().unwrap().starts_with(
            "app/BUILD.bazel:21:5: error: the spt tender refused to start //app:uses_unattached: \
             solo5-spt: Device 'data' of type BLOCK_BASIC declared but not attached."
        ),
        "{}",
        out.stderr
    );
}
