//! `mirage disk`, the host tool for chamelon's disks: format, put, ls,
//! cat, info, check and rm on a disk of its own; littlefs-python (the
//! reference littlefs) reads what it wrote; a disk that holds no littlefs
//! is one line and exit 2.

use crate::support::{mirage, mirage_ok, repo, sha256, skipped};

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

    let script = repo().join("tests/e2e/littlefs_disk.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(["list", "d.img"])
        .current_dir(cwd)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'littlefs'") {
        return skipped(
            "disk::littlefs_python_reads_a_mirage_disk",
            "littlefs-python is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("top 14 {}\n", sha256(b"kept on a disk")),
        "{stderr}"
    );
}
