//! Block devices: the tutorial's block example on every target that boots
//! here, and the errors of a missing file or an unattached device.

use crate::support::{copy_tree, mirage, mirage_ok, repo, workspace};

pub fn passes_block_test(target: &str, keys: &[&str], sectors: u64) {
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
    passes_block_test("unix", &[], 128);
}

#[test]
fn block_example_passes_on_spt_with_a_file_and_a_ramdisk() {
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
    passes_block_test("virtio", &[], 128);
}

/// The generated run.sh attaches what `mirage run` attaches: the disk the
/// build made, a tar store's archive, or a file given as `--block:NAME=`.
#[test]
fn run_sh_attaches_block_devices_like_mirage_run() {
    // The script, and the image's turn until it has booted: a build of the
    // same image with other keys would replace what the script runs.
    let run_sh = |target: &str, label: &str, keys: &[&str]| {
        let turn = crate::running::turn(label, target);
        let mut args = vec!["build", "-t", target, label];
        args.extend(keys);
        let image = mirage_ok(&repo(), &args).stdout;
        let script = std::path::Path::new(image.trim_end())
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("run.sh");
        (script, turn)
    };
    let boot = |script: &std::path::Path, args: &[&str], expect: &str| {
        // From another directory: the script finds everything itself.
        let out = std::process::Command::new(script)
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(expect), "{}: {stdout}", script.display());
    };
    for target in ["spt", "virtio", "unix"] {
        let (script, _turn) = run_sh(target, "//examples/block:block", &[]);
        boot(&script, &[], "[INFO] [application] block test passed");
        if target != "unix" {
            leaves_nothing_behind(&script, target);
        }
    }
    let (script, turn) = run_sh("spt", "//examples/kv_ro:kv_ro", &["--kv_ro=tar"]);
    boot(
        &script,
        &[],
        "Contents of extremely secret vital storage confirmed!",
    );
    drop(turn);
    // Another file, given to run.sh: a 4 KiB disk has 8 sectors.
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("small.img");
    std::fs::File::create(&disk).unwrap().set_len(4096).unwrap();
    let (script, _turn) = run_sh("spt", "//examples/block:block", &[]);
    let option = format!("--block:disk={}", disk.display());
    boot(&script, &[&option], "wrote and read back 8 sectors");
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

/// A workspace with the tests/kv_exact unikernel and its data: binary,
/// empty, nested, 10 MB, and names with spaces and UTF-8.
fn kv_workspace() -> tempfile::TempDir {
    let ws = workspace();
    copy_tree(&repo().join("tests/kv_exact"), ws.path());
    let data = ws.path().join("app/data");
    std::fs::create_dir_all(data.join("nested/a/b")).unwrap();
    std::fs::create_dir_all(data.join("names with spaces")).unwrap();
    std::fs::create_dir_all(ws.path().join("app/scratch")).unwrap();
    let binary: Vec<u8> = (0..1024u32).map(|i| i as u8).collect();
    std::fs::write(data.join("binary.bin"), binary).unwrap();
    std::fs::write(data.join("empty"), b"").unwrap();
    std::fs::write(data.join("nested/a/b/deep.txt"), b"deep\n").unwrap();
    std::fs::write(
        data.join("names with spaces/\u{fc}n\u{ef}c\u{f8}d\u{e9} \u{2713}.txt"),
        "\u{2713}\n",
    )
    .unwrap();
    // 10 MB from a linear congruential generator: incompressible, reproducible.
    let mut x: u32 = 12345;
    let big: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    std::fs::write(data.join("big.bin"), big).unwrap();
    ws
}

/// `FILE key|size|sha256` for every file under `dir`, sorted by key.
fn expected_files(dir: &std::path::Path) -> Vec<String> {
    fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &key, out);
            } else {
                let bytes = std::fs::read(e.path()).unwrap();
                let sha = crate::support::sha256(&bytes);
                out.push(format!("FILE {key}|{}|{sha}", bytes.len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

#[test]
fn kv_content_is_byte_exact_through_every_backend() {
    let ws = kv_workspace();
    let expected = expected_files(&ws.path().join("app/data"));
    assert_eq!(expected.len(), 5);
    let rw_line = "RW two Some(DictionaryExpected(\"dir/value\")) None";
    for (target, keys) in [
        ("unix", vec!["--kv_ro=crunch"]),
        ("unix", vec!["--kv_ro=direct", "--rw=direct"]),
        ("unix", vec!["--kv_ro=tar"]),
        ("spt", vec!["--kv_ro=crunch"]),
        ("spt", vec!["--kv_ro=tar"]),
    ] {
        let mut args = vec!["run", "-t", target, "//app:app"];
        args.extend(&keys);
        let out = mirage(ws.path(), &args);
        assert_eq!(out.code, 0, "{target} {keys:?}: {out:?}");
        let files: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("FILE "))
            .collect();
        assert_eq!(files, expected, "{target} {keys:?}");
        assert!(
            out.stdout.contains(rw_line),
            "{target} {keys:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn corrupt_or_truncated_tar_fails_cleanly() {
    let ws = kv_workspace();
    let dir = ws.path();
    let ok = mirage(dir, &["run", "-t", "spt", "//app:app", "--kv_ro=tar"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    let tar = std::fs::read(dir.join("mirage-out/app/app/spt/disks/data.tar")).unwrap();
    let mut corrupt = tar.clone();
    corrupt[100] ^= 0xff;
    std::fs::write(dir.join("corrupt.tar"), &corrupt).unwrap();
    std::fs::write(dir.join("truncated.tar"), &tar[..8192]).unwrap();
    for (file, why) in [
        (
            "corrupt.tar",
            "store error: corrupt archive: bad header checksum at byte 0",
        ),
        (
            "truncated.tar",
            "store error: truncated archive: member at byte 0 ends past the device",
        ),
    ] {
        let attach = format!("data={file}");
        let out = mirage(
            dir,
            &[
                "run",
                "-t",
                "spt",
                "//app:app",
                "--kv_ro=tar",
                "--block-file",
                &attach,
            ],
        );
        assert_eq!(out.code, 1, "{file}: {out:?}");
        assert!(
            out.stdout
                .contains(&format!("app: data_tar failed: {why}\n")),
            "{file}: {}",
            out.stdout
        );
        assert!(!out.stdout.contains("panic"), "{}", out.stdout);
    }
}

pub fn kv_ro_example(target: &str, kv: &str) {
    let kv_key = format!("--kv_ro={kv}");
    let out = mirage(
        &repo(),
        &["run", "-t", target, "//examples/kv_ro:kv_ro", &kv_key],
    );
    assert_eq!(out.code, 0, "{target} {kv}: {out:?}");
    for line in [
        "\"secret\": 4 bytes, as expected",
        "\"docs/hello world.txt\": 14 bytes, as expected",
        "\"docs/empty\": 0 bytes, as expected",
        "root: docs/ secret",
        "get \"../secret\": \"../secret\": bad key (keys are relative paths without . or ..), as expected",
        "get \"/secret\": \"/secret\": bad key (keys are relative paths without . or ..), as expected",
        "Contents of extremely secret vital storage confirmed!",
    ] {
        assert!(out.stdout.contains(&format!("[INFO] [application] {line}\n")), "{target} {kv}: {}", out.stdout);
    }
}

#[test]
fn kv_ro_example_passes_with_every_store_on_unix() {
    for kv in ["crunch", "direct", "tar"] {
        kv_ro_example("unix", kv);
    }
}

#[test]
fn kv_ro_example_passes_on_spt_and_virtio() {
    for target in ["spt", "virtio"] {
        for kv in ["crunch", "tar"] {
            kv_ro_example(target, kv);
        }
    }
    let direct = mirage(
        &repo(),
        &[
            "configure",
            "-t",
            "spt",
            "//examples/kv_ro:kv_ro",
            "--kv_ro=direct",
        ],
    );
    assert_eq!(direct.code, 2);
    assert_eq!(
        direct.stderr,
        "examples/kv_ro/BUILD.bazel:5:1: error: //examples/kv_ro:data_direct has no implementation \
         for target `spt` (it has: unix)\n"
    );
}

/// As `bazel run` runs it (`$MIRAGE_ROOT` set: the disk boots from a
/// copy), `script` leaves nothing in its temporary directory: after its
/// image ends, and on virtio (where the script waits for QEMU and keeps
/// its console log) also when its process group is stopped mid-boot.
fn leaves_nothing_behind(script: &std::path::Path, target: &str) {
    use std::os::unix::process::CommandExt;
    let run = |tmp: &std::path::Path| {
        let mut cmd = std::process::Command::new(script);
        cmd.env("MIRAGE_ROOT", repo())
            .env("TMPDIR", tmp)
            .stdout(std::process::Stdio::null())
            .process_group(0);
        cmd
    };
    let entries = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    // On spt the copy goes once the exec'd tender holds it open, from a
    // background loop that looks every 0.1 s: allowed 5 s to see it go.
    let settled = |dir: &std::path::Path| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !entries(dir).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        entries(dir)
    };
    let tmp = tempfile::tempdir().unwrap();
    let status = run(tmp.path()).status().unwrap();
    assert!(
        status.success(),
        "{target} run.sh under MIRAGE_ROOT: {status}"
    );
    assert_eq!(
        settled(tmp.path()),
        Vec::<String>::new(),
        "{target}: left behind"
    );
    if target != "virtio" {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The shell's report of its killed pipeline goes to stderr: not shown.
    let mut child = run(tmp.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while entries(tmp.path()).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let made = entries(tmp.path());
    assert_eq!(
        made.len(),
        2,
        "virtio run.sh made its console log and disk copies: {made:?}"
    );
    crate::running::signal_group(child.id(), "TERM");
    let _ = child.wait();
    assert_eq!(
        settled(tmp.path()),
        Vec::<String>::new(),
        "virtio, stopped: left behind"
    );
}
