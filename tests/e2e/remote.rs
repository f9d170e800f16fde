//! Remote execution for real: PostgreSQL (Debian), BuildGrid (PyPI, in the
//! venv `scripts/setup.sh` makes) and the test worker
//! (`tests/remote/worker.py`) run on 127.0.0.1, started and stopped by PID
//! by `tests/remote/grid.py`. In a copy of the checkout with an empty
//! output base, Bazel executes every action of hello's images remotely,
//! with no local fallback, and gets the local build's bytes; a second copy
//! with another empty output base gets everything from the remote cache
//! and executes nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{copy_checkout, repo, sha256};

/// hello's images, built every way.
const TARGETS: &[&str] = &["//examples/hello:hello_spt", "//examples/hello:hello_unix"];
const IMAGES: &[&str] = &[
    "examples/hello/hello_spt.out/dist/hello.spt",
    "examples/hello/hello_unix.out/dist/hello",
];

/// The remote execution service (`tests/remote/grid.py`: PostgreSQL,
/// BuildGrid, the test worker, on 127.0.0.1), stopped by PID on drop.
struct Grid {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Grid {
    fn up() -> Grid {
        let dir = tempfile::Builder::new()
            .prefix("mirage-grid-")
            .tempdir()
            .unwrap();
        let mut child = Command::new("python3")
            .arg(repo().join("tests/remote/grid.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut endpoint = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut endpoint)
            .unwrap();
        assert!(
            endpoint.starts_with("grpc://"),
            "grid.py did not start: {endpoint:?}"
        );
        Grid {
            child,
            endpoint: endpoint.trim().to_owned(),
            dir,
        }
    }
}

impl Drop for Grid {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        // A failed build is explained by the services' logs, which go
        // with their directory.
        if std::thread::panicking() {
            for name in ["buildgrid", "worker"] {
                let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- {name}.log, last lines:");
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// A copy of the checkout with its own (empty) Bazel output base; Bazel's
/// server there is shut down on drop.
struct Checkout {
    dir: tempfile::TempDir,
    output_base: tempfile::TempDir,
}

impl Checkout {
    fn new() -> Checkout {
        let dir = tempfile::Builder::new()
            .prefix("mirage-remote-")
            .tempdir()
            .unwrap();
        copy_checkout(dir.path());
        let output_base = tempfile::Builder::new()
            .prefix("mirage-remote-ob-")
            .tempdir()
            .unwrap();
        Checkout { dir, output_base }
    }

    /// `bazel build FLAGS TARGETS` without the local disk cache; returns
    /// the process summary line. A transfer failure between Bazel and the
    /// service (Bazel's remote error, "Exit 34") is reported and the build
    /// is run once more, from where it stopped: the fixture service is
    /// not what is under test, and actions that failed still fail.
    fn build(&self, flags: &[&str]) -> String {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let out = Command::new("bazel")
                .arg(format!(
                    "--output_base={}",
                    self.output_base.path().display()
                ))
                .args(["build", "--disk_cache=", "--verbose_failures"])
                .args(flags)
                .args(TARGETS)
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr).into_owned();
            // --verbose_failures gives one stack trace per failed transfer.
            let head: String = text.lines().take(150).collect::<Vec<_>>().join("\n");
            if !out.status.success() && text.contains("(Exit 34)") && attempts == 1 {
                eprintln!("bazel build {flags:?}: transfer failure, once more:\n{head}");
                continue;
            }
            assert!(out.status.success(), "bazel build {flags:?}:\n{head}");
            return text
                .lines()
                .find(|l| l.starts_with("INFO: ") && l.contains(" processes"))
                .unwrap_or_else(|| panic!("no process summary:\n{text}"))
                .to_owned();
        }
    }

    fn image(&self, path: &str) -> String {
        let bin = self.dir.path().join("bazel-bin");
        sha256(&std::fs::read(bin.join(path)).unwrap())
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = Command::new("bazel")
            .arg(format!(
                "--output_base={}",
                self.output_base.path().display()
            ))
            .arg("shutdown")
            .current_dir(self.dir.path())
            .status();
        // Bazel leaves its outputs read-only.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(self.output_base.path())
            .status();
    }
}

#[test]
fn bazel_executes_remotely_on_buildgrid_and_a_second_checkout_hits_its_cache() {
    let _turn = crate::bazel::turn();
    // The local build, for its bytes.
    let local = Command::new("bazel")
        .arg("build")
        .args(TARGETS)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let local: Vec<String> = IMAGES
        .iter()
        .map(|p| sha256(&std::fs::read(repo().join("bazel-bin").join(p)).unwrap()))
        .collect();

    let grid = Grid::up();
    let endpoint = &grid.endpoint;

    // Every action remote: the generator, the Solo5 toolchain, the images.
    let a = Checkout::new();
    let executor = format!("--remote_executor={endpoint}");
    let summary = a.build(&[
        &executor,
        "--spawn_strategy=remote",
        "--remote_timeout=3600",
    ]);
    assert!(summary.contains(" remote"), "{summary}");
    for local_strategy in ["linux-sandbox", "local", "processwrapper-sandbox"] {
        assert!(!summary.contains(local_strategy), "{summary}");
    }
    for (path, local) in IMAGES.iter().zip(&local) {
        assert_eq!(&a.image(path), local, "{path}: remote and local differ");
    }

    // Another checkout, another empty output base: all from the cache.
    let b = Checkout::new();
    let cache = format!("--remote_cache={endpoint}");
    let summary = b.build(&[&cache]);
    assert!(summary.contains("remote cache hit"), "{summary}");
    for executed in [
        "linux-sandbox",
        "local",
        "processwrapper-sandbox",
        " remote,",
        " remote.",
    ] {
        assert!(!summary.contains(executed), "{summary}");
    }
    for (path, local) in IMAGES.iter().zip(&local) {
        assert_eq!(&b.image(path), local, "{path}: cached and local differ");
    }
}
