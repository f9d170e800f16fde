//! Launching goes wrong in ways a user can fix: run.sh before a build, and
//! an hvt image on a KVM that cannot run it.

use crate::support::{copy_tree, mirage, mirage_ok, repo, skipped, workspace};

#[test]
fn run_sh_without_an_image_names_the_build_to_run() {
    let ws = workspace();
    copy_tree(&repo().join("tests/external"), ws.path());
    mirage_ok(ws.path(), &["configure", "-t", "spt", "//app:app"]);
    let out = std::process::Command::new(ws.path().join("mirage-out/app/app/spt/run.sh"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "run.sh: no image yet: run `mirage build -t spt //app:app` first\n"
    );
}

/// On an emulating KVM (this CI machine's), the tender's `KVM: internal
/// error` is followed by a note naming the cause; on a KVM that runs the
/// image, there is nothing to explain.
#[test]
fn an_hvt_kvm_internal_error_names_its_cause() {
    if !std::path::Path::new("/dev/kvm").exists() {
        skipped(
            "launch_errors::an_hvt_kvm_internal_error_names_its_cause",
            "no /dev/kvm",
        );
        return;
    }
    let out = mirage(&repo(), &["run", "-t", "hvt", "//examples/hello:hello"]);
    if out.stderr.contains("KVM: internal error") {
        assert!(
            out.stderr
                .contains("mirage: note: this host's KVM could not run an instruction"),
            "{}",
            out.stderr
        );
    } else {
        assert_eq!(out.code, 0, "{out:?}");
    }
}
