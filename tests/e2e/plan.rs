//! `mirage query plan`: the crate-level build plan is what cargo compiles
//! (every crate, with cargo's features), the same on every run, with no
//! path of this machine in it.

use serde_json::Value;

use crate::support::{mirage_ok, repo};

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
