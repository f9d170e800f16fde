//! The set-up from nothing: `scripts/setup.sh` and the Solo5 toolchain
//! with every cache they fill pointed at an empty directory, as on a new
//! machine. Both must finish and say what they installed or built.

use std::path::Path;
use std::process::Command;

use crate::support::{mirage_with_env, repo};

/// `bash scripts/setup.sh` with the peers asked for and `env` set.
fn setup(env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/setup.sh"))
        .env("SETUP_PEERS", "1")
        .env("SETUP_BAZEL", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn setup_from_an_empty_cache_installs_buildgrid_and_says_so() {
    let empty = tempfile::Builder::new()
        .prefix("mirage-setup-")
        .tempdir()
        .unwrap();
    let venv = empty.path().join("buildgrid");
    let out = setup(&[("MIRAGE_BUILDGRID", &venv)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("setup: installing PyPI packages buildgrid 0.8.16 and psycopg2-binary in"),
        "{stdout}"
    );
    let bgd = Command::new(venv.join("bin/bgd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(bgd.status.success(), "{bgd:?}");
    // A second run finds it and installs nothing.
    let again = setup(&[("MIRAGE_BUILDGRID", &venv)]);
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stdout).contains("buildgrid"));
}

#[test]
fn setup_without_a_python_3_12_names_what_to_install() {
    let empty = tempfile::Builder::new()
        .prefix("mirage-setup-")
        .tempdir()
        .unwrap();
    // What pyenv's shim does when 3.12 is installed but not selected.
    let bin = empty.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let shim = bin.join("python3.12");
    std::fs::write(
        &shim,
        "#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n",
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = setup(&[
        ("MIRAGE_BUILDGRID", &empty.path().join("buildgrid")),
        ("PYENV_ROOT", &empty.path().join("pyenv")),
        ("PATH", Path::new(&path)),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "setup: BuildGrid 0.8.16 needs Python 3.12: install it \
         (pyenv install 3.12, or Debian's python3.12 and python3.12-venv)"
    );
    assert!(!empty.path().join("buildgrid").exists());
}

#[test]
fn the_solo5_toolchain_builds_into_an_empty_cache_and_says_so() {
    let empty = tempfile::Builder::new()
        .prefix("mirage-setup-")
        .tempdir()
        .unwrap();
    let out = mirage_with_env(
        &repo(),
        &["toolchain"],
        &[("MIRAGE_CACHE", empty.path().as_os_str())],
    );
    let (stdout, stderr) = (out.stdout, out.stderr);
    assert_eq!(out.code, 0, "{stderr}");
    assert!(stderr.contains("building the Solo5"), "{stderr}");
    let dir = Path::new(stdout.trim());
    assert!(dir.starts_with(empty.path()), "{stdout}");
    for tender in [
        "tenders/spt/solo5-spt",
        "tenders/hvt/solo5-hvt",
        "elftool/solo5-elftool",
    ] {
        assert!(
            dir.join(tender).is_file(),
            "{} has no {tender}",
            dir.display()
        );
    }
}
