//! `mirage disk`, the host tool for chamelon's disks: format, put, ls,
//! cat, info, check and rm on a disk of its own; littlefs-python (the
//! reference littlefs) reads what it wrote; a disk that holds no littlefs
//! is one line and exit 2.

use crate::support::{mirage, mirage_ok, repo, sha256, skipped};

/// `littlefs_disk.py ARGS` (littlefs-python): its output, or `None` when
/// littlefs-python is not installed here.
pub(crate) fn littlefs(args: &[&str]) -> Option<String> {
    let script = repo().join("tests/e2e/littlefs_disk.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'littlefs'") {
        return None;
    }
    assert!(out.status.success(), "littlefs_disk.py {args:?}: {stderr}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn mirage_disk_formats_writes_lists_and_reads_a_littlefs_disk() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let note = cwd.join("note");
    std::fs::write(&note, b"kept on a disk").unwrap();
    let note = note.to_str().unwrap();
    mirage_ok(cwd, &["disk", "format", "d.img", "1M"]);
    assert_eq!(std::fs::metadata(cwd.join("d.img")).unwrap().len(), 1 << 20);
    mirage_ok(cwd, &["disk", "put", "d.img", "2026/Dec/first", note]);
    mirage_ok(cwd, &["disk", "put", "d.img", "top", note]);
    assert_eq!(
        mirage_ok(cwd, &["disk", "ls", "d.img"]).stdout,
        "2026/Dec/first\ntop\n"
    );
    assert_eq!(
        mirage_ok(cwd, &["disk", "ls", "d.img", "2026"]).stdout,
        "2026/Dec/first\n"
    );
    assert_eq!(
        mirage_ok(cwd, &["disk", "cat", "d.img", "top"]).stdout,
        "kept on a disk"
    );
    let info = mirage_ok(cwd, &["disk", "info", "d.img"]).stdout;
    assert!(
        info.starts_with("block_size 4096\nblock_count 256\nbytes_used "),
        "{info}"
    );
    assert_eq!(
        mirage_ok(cwd, &["disk", "check", "d.img"]).stdout,
        "d.img: 2 values, all readable\n"
    );
    mirage_ok(cwd, &["disk", "rm", "d.img", "2026"]);
    assert_eq!(mirage_ok(cwd, &["disk", "ls", "d.img"]).stdout, "top\n");

    let missing = mirage(cwd, &["disk", "cat", "d.img", "gone"]);
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (2, "mirage: error: \"gone\": not found\n")
    );
    std::fs::write(cwd.join("zero.img"), vec![0; 8192]).unwrap();
    let zero = mirage(cwd, &["disk", "ls", "zero.img"]);
    assert_eq!(zero.code, 2);
    assert_eq!(
        zero.stderr,
        "mirage: error: zero.img: the block device holds no littlefs disk \
         (format it with `mirage disk format`, or boot once with --format)\n"
    );

    let disk = cwd.join("d.img");
    let Some(listing) = littlefs(&["list", disk.to_str().unwrap()]) else {
        return skipped(
            "disk::littlefs_python_reads_a_mirage_disk",
            "littlefs-python is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
    };
    assert_eq!(listing, format!("top 14 {}\n", sha256(b"kept on a disk")));
}

/// A workspace whose app `u` keeps a chamelon on a 64K disk the build makes
/// from `app/seed`, holding `files` (path, bytes).
fn seeded_app(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let ws = crate::support::workspace();
    let app = ws.path().join("app");
    for (path, bytes) in files {
        let file = app.join("seed").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    std::fs::write(
        app.join("BUILD.bazel"),
        "load(\"@rules_mirage//rules_mirage:defs.bzl\", \"block_of_file\", \"chamelon\", \
         \"mirage_unikernel\")\n\n\
         block_of_file(\n    name = \"disk\",\n    littlefs = \"seed\",\n    size = \"64K\",\n)\n\n\
         chamelon(\n    name = \"store\",\n    block = \":disk\",\n)\n\n\
         mirage_unikernel(\n    name = \"u\",\n    main = \"u::start\",\n    \
         params = {\"store\": \"kv_rw\"},\n    args = {\"store\": \":store\"},\n)\n",
    )
    .unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"u\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    ws
}

const SEEDED_DISK: &str = "mirage-out/app/u/unix/disks/disk.img";

#[test]
fn a_build_makes_a_littlefs_disk_from_a_directory_the_same_in_any_checkout() {
    let files: &[(&str, &[u8])] = &[("a.txt", b"first"), ("dir/b.bin", &[0, 1, 2, 255])];
    let one = seeded_app(files);
    let two = seeded_app(files);
    for ws in [&one, &two] {
        mirage_ok(ws.path(), &["configure", "-t", "unix", "//app:u"]);
    }
    let disk = |ws: &tempfile::TempDir| std::fs::read(ws.path().join(SEEDED_DISK)).unwrap();
    assert_eq!(disk(&one).len(), 65536);
    assert_eq!(
        sha256(&disk(&one)),
        sha256(&disk(&two)),
        "two checkouts, two disks"
    );
    let cwd = one.path();
    assert_eq!(
        mirage_ok(cwd, &["disk", "ls", SEEDED_DISK]).stdout,
        "a.txt\ndir/b.bin\n"
    );
    assert_eq!(
        mirage_ok(cwd, &["disk", "cat", SEEDED_DISK, "a.txt"]).stdout,
        "first"
    );

    // Once made, the disk is the image's: a new build keeps what it holds.
    std::fs::write(cwd.join("note"), b"written later").unwrap();
    mirage_ok(cwd, &["disk", "put", SEEDED_DISK, "later", "note"]);
    std::fs::write(cwd.join("app/BUILD.bazel"), {
        let text = std::fs::read_to_string(cwd.join("app/BUILD.bazel")).unwrap();
        text + "# edited\n"
    })
    .unwrap();
    mirage_ok(cwd, &["configure", "-t", "unix", "//app:u"]);
    assert_eq!(
        mirage_ok(cwd, &["disk", "ls", SEEDED_DISK]).stdout,
        "a.txt\ndir/b.bin\nlater\n"
    );

    let disk = two.path().join(SEEDED_DISK);
    let Some(listing) = littlefs(&["list", disk.to_str().unwrap()]) else {
        return skipped(
            "disk::littlefs_python_reads_a_disk_the_build_made",
            "littlefs-python is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
    };
    assert_eq!(
        listing,
        format!(
            "a.txt 5 {}\ndir/b.bin 4 {}\n",
            sha256(b"first"),
            sha256(&[0, 1, 2, 255])
        )
    );
}

#[test]
fn files_that_do_not_fit_their_disk_stop_the_build_at_its_line() {
    let ws = seeded_app(&[("big", &[7; 100 * 1024])]);
    let out = mirage(ws.path(), &["configure", "-t", "unix", "//app:u"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "app/BUILD.bazel:3:1: error: block_littlefs: app/seed/big onto a disk of 65536 bytes: \
         store error: \
         littlefs: no space left on device\n"
    );
    assert!(!ws.path().join("mirage-out").exists(), "output left behind");
}
