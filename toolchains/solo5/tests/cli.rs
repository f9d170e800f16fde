//! `mirage-toolchain-solo5`'s command line: a mistaken argument gets one
//! line naming it and exit 2, and nothing is built.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mirage-toolchain-solo5");

/// An empty directory of cargo's for this test (no dev-dependency, so
/// Cargo.lock and every cache keyed by it stay as they are).
fn empty_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with `args` and an empty cache: exit code, stderr, and
/// whether the cache was written.
fn run(cache: &str, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, bool) {
    let cache = empty_dir(cache);
    let out = Command::new(BIN)
        .args(args)
        .env("MIRAGE_CACHE", &cache)
        .output()
        .unwrap();
    let written = std::fs::read_dir(&cache).unwrap().next().is_some();
    (
        out.status.code(),
        String::from_utf8(out.stderr).unwrap(),
        written,
    )
}

#[test]
fn no_checkout_is_a_usage_error() {
    let (code, stderr, written) = run("cache-no-checkout", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "mirage-toolchain-solo5: error: give the rules_mirage checkout: mirage-toolchain-solo5 CHECKOUT\n"
    );
    assert!(!written);
}

#[test]
fn a_directory_without_cargo_lock_is_named() {
    let dir = empty_dir("not-a-checkout");
    let (code, stderr, written) = run("cache-not-a-checkout", &[dir.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "mirage-toolchain-solo5: error: {} is not a rules_mirage checkout: it has no Cargo.lock\n",
            dir.display()
        )
    );
    assert!(!written);
}
