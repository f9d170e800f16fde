//! `mirage run --profile`: perf samples the running image, and when it
//! ends a flame graph and its folded stacks name the function the image
//! spent its time in (tests/crash's `busy`, in `app::collatz_steps`), on
//! the targets that run as host processes.

use std::process::Command;

use crate::debugging::crash_workspace;
use crate::support::{mirage, skipped};

/// Why perf cannot sample here, if it cannot.
fn perf_missing() -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("perf")
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(dir.path().join("perf.data"))
        .args(["--", "true"])
        .output();
    match out {
        Err(e) => Some(format!("perf: {e} (Debian package linux-perf)")),
        Ok(out) if !out.status.success() => Some(format!(
            "perf record fails here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

#[test]
fn a_profile_names_the_hot_function_on_spt_and_unix() {
    if let Some(why) = perf_missing() {
        skipped("a_profile_names_the_hot_function_on_spt_and_unix", &why);
        return;
    }
    let ws = crash_workspace();
    for target in ["spt", "unix"] {
        let flag = format!("--profile=busy-{target}.svg");
        let out = mirage(ws.path(), &["run", "-t", target, &flag, "//app:busy"]);
        assert_eq!(out.code, 0, "{target}: {}{}", out.stdout, out.stderr);
        let svg_path = ws.path().join(format!("busy-{target}.svg"));
        assert!(
            out.stderr.contains(&format!(
                "samples; flame graph {}, folded stacks ",
                svg_path.display()
            )),
            "{target}: {}",
            out.stderr
        );
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<?xml"), "{target}: {svg:.200}");
        assert!(
            svg.contains("app::collatz_steps"),
            "{target}: no hot function in the SVG"
        );
        // The hot function is the leaf of most of the CPU time.
        let folded = std::fs::read_to_string(svg_path.with_extension("folded")).unwrap();
        let (mut hot, mut all) = (0u64, 0u64);
        for line in folded.lines() {
            let (stack, n) = line.rsplit_once(' ').unwrap();
            let n: u64 = n.parse().unwrap();
            all += n;
            if stack.contains(";app::collatz_steps") {
                hot += n;
            }
        }
        assert!(
            hot * 2 > all,
            "{target}: collatz_steps has {hot} of {all}:\n{folded}"
        );
        let root = if target == "spt" {
            "solo5-spt;"
        } else {
            "busy;"
        };
        assert!(folded.starts_with(root), "{target}:\n{folded}");
    }
}

#[test]
fn a_profile_is_written_when_the_image_panics() {
    if let Some(why) = perf_missing() {
        skipped("a_profile_is_written_when_the_image_panics", &why);
        return;
    }
    let ws = crash_workspace();
    let out = mirage(ws.path(), &["run", "-t", "spt", "--profile", "//app:app"]);
    assert_eq!(out.code, 255, "{}{}", out.stdout, out.stderr);
    let svg = ws.path().join("app-spt.svg");
    assert!(
        out.stderr
            .contains(&format!("flame graph {}", svg.display())),
        "{}",
        out.stderr
    );
    assert!(svg.is_file() && svg.with_extension("folded").is_file());
}

#[test]
fn profiling_a_target_perf_cannot_see_is_refused() {
    let ws = crash_workspace();
    let out = mirage(
        ws.path(),
        &["run", "-t", "virtio", "--profile", "//app:busy"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("building"), "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().last().unwrap(),
        "mirage: error: mirage run --profile: virtio images cannot be profiled from here \
         (unix and spt can: they run as host processes)"
    );
}
