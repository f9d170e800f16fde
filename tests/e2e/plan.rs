//! `mirage query plan`: the crate-level build plan is what cargo compiles
//! (every crate, with cargo's features), the same on every run, with no
//! path of this machine in it. And what cargo hashes of its own does not
//! reach the image: every crate's `-C metadata` is the plan's.

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

use crate::support::{mirage_ok, mirage_with_env, repo, sha256};

#[test]
fn the_plan_is_what_cargo_compiles() {
    let args = ["query", "plan", "-t", "spt", "//examples/hello:hello"];
    let text = mirage_ok(&repo(), &args).stdout;
    assert_eq!(text, mirage_ok(&repo(), &args).stdout, "not deterministic");
    for path in [repo().display().to_string(), std::env::var("HOME").unwrap()] {
        let dir = format!("{}/", path.trim_end_matches('/'));
        assert!(!text.contains(&dir), "{dir} in the plan:\n{text}");
    }
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["profile"]["panic"], "abort");
    assert!(
        plan["link"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("$CACHE/solo5-v0.7.2")),
        "{text}"
    );
    let mut planned: Vec<(String, Vec<String>)> = plan["crates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["lib_name"].is_null())
        .map(|c| {
            let features = c["features"].as_array().unwrap();
            (
                c["lib_name"].as_str().unwrap().to_owned(),
                features
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    planned.sort();
    let build_scripts = plan["crates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["build_script"].is_null())
        .count();

    // What cargo compiles, from scratch, in the generated crate.
    let target = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("cargo")
        .args([
            "build",
            "--release",
            "--offline",
            "--message-format=json",
            "--target-dir",
        ])
        .arg(target.path())
        .current_dir(repo().join("mirage-out/examples/hello/hello/spt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compiled = Vec::new();
    let mut scripts = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        if m["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = m["target"]["kind"].as_array().unwrap();
        if kinds.iter().any(|k| k == "custom-build") {
            scripts += 1;
            continue;
        }
        let features = m["features"].as_array().unwrap();
        let mut features: Vec<String> = features
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        features.sort();
        compiled.push((m["target"]["name"].as_str().unwrap().to_owned(), features));
    }
    compiled.sort();
    assert_eq!(planned, compiled);
    // Each build script is compiled once (and run, which emits no artifact).
    assert_eq!(build_scripts, scripts);
}

/// The rlib names in `target` (cargo's hashes are in them) and the bytes
/// of hello.spt built there with cargo's metadata salted by `salt`.
fn hello_built_with_cargo_salt(target: &Path, salt: &str) -> (Vec<String>, String) {
    let out = mirage_with_env(
        &repo(),
        &["build", "-t", "spt", "//examples/hello:hello"],
        &[
            ("CARGO_TARGET_DIR", target.as_os_str()),
            // Cargo's own input to every crate's -C metadata and file names
            // (it is how Rust's own build tells its stages apart).
            ("__CARGO_DEFAULT_LIB_METADATA", OsStr::new(salt)),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut rlibs: Vec<String> = std::fs::read_dir(target.join("release/deps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rlib"))
        .collect();
    rlibs.sort();
    let image =
        std::fs::read(repo().join("mirage-out/examples/hello/hello/spt/dist/hello.spt")).unwrap();
    (rlibs, sha256(&image))
}

/// Cargo names and hashes every crate differently under another salt, yet
/// the image is the same bytes: the rustc wrapper gives each compile the
/// metadata of what it is, which an executor other than cargo can give
/// too. (Without the wrapper, this salt changed hello.spt's code.)
#[test]
fn cargos_own_hashes_do_not_reach_the_image() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (rlibs_a, image_a) = hello_built_with_cargo_salt(a.path(), "a");
    let (rlibs_b, image_b) = hello_built_with_cargo_salt(b.path(), "b");
    assert!(
        rlibs_a.iter().any(|r| r.starts_with("liblog-")),
        "{rlibs_a:?}"
    );
    assert!(
        rlibs_a.iter().all(|r| !rlibs_b.contains(r)),
        "cargo hashed alike: {rlibs_a:?}"
    );
    assert_eq!(image_a, image_b);
}
