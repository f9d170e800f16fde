//! Remote execution for real: PostgreSQL (Debian), BuildGrid (PyPI, in the
//! venv `scripts/setup.sh` makes) and the test worker
//! (`tests/remote/worker.py`) run on 127.0.0.1, started and stopped by PID
//! by `tests/remote/grid.py`. In a copy of the checkout with an empty
//! output base, Bazel executes every action of hello's spt image remotely
//! but the generator's and the unit runner's builds (taken from the local
//! disk cache), with no local fallback, and gets the local build's bytes;
//! a second copy with another empty output base gets everything from the
//! remote cache and executes nothing. The same holds with a plain HTTP
//! cache: nginx accepting WebDAV PUT (for the unit runner's build).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::bazel::{bazel_ok, errors_first};
use crate::bazel_hermetic::Checkout;
use crate::support::{repo, sha256, Daemon};

/// Targets to build and the outputs (under bazel-bin) whose bytes must
/// match the local build's.
struct Build {
    targets: &'static [&'static str],
    outputs: &'static [&'static str],
    /// Built first in each checkout, from the local disk cache.
    seeded: &'static [&'static str],
}

/// hello's spt image: the Solo5 toolchain's builder and the toolchain,
/// its units and the image's link are each an action executed remotely.
/// The generator and the unit runner come from the local disk cache, as
/// tools of hello's unix image (its units and link are cached with them,
/// and none of them is an action of the spt image): the generator's
/// dependencies are the suite's costliest action (about 270 CPU-seconds
/// from nothing), the builder is built remotely by the same rule
/// (`cargo_binary`), and `bench/bazel.sh remote` executes every action of
/// every example remotely, the generator's too.
const HELLO: Build = Build {
    targets: &["//examples/hello:hello_spt"],
    outputs: &["examples/hello/hello_spt.out/dist/hello.spt"],
    seeded: &["//examples/hello:hello_unix"],
};

/// One of those actions, the unit runner's cargo build: the plain HTTP
/// cache stores and serves any action alike (BuildGrid's cache above
/// serves all of them), and building the generator from nothing twice
/// more (everything else needs it) would triple the test's time.
const UNIT_RUNNER: Build = Build {
    targets: &["//generator:mirage_unit"],
    outputs: &["generator/mirage_unit"],
    seeded: &[],
};

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
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut endpoint = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut endpoint)
            .unwrap();
        if !endpoint.starts_with("grpc://") {
            // grid.py has exited: its one message says which service did
            // not start, and that service's log.
            let mut why = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut why);
            panic!("grid.py did not start: {endpoint:?}\n{why}");
        }
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

/// The local build's digests of `build`'s outputs, in their order (built
/// in the repository, whose Bazel commands take turns; the checkouts have
/// output bases of their own).
fn local_outputs(build: &Build) -> Vec<String> {
    let _turn = crate::bazel::turn();
    // The seeded targets too: so they are in the disk cache.
    bazel_ok(&[&["build"][..], build.targets, build.seeded].concat());
    build
        .outputs
        .iter()
        .map(|p| sha256(&std::fs::read(repo().join("bazel-bin").join(p)).unwrap()))
        .collect()
}

/// A copy of the checkout with `build`'s seeded targets in its output
/// base, from the local disk cache that [`local_outputs`] filled (or
/// built here, locally, if there is none: said on stderr).
fn checkout(build: &Build) -> Checkout {
    let checkout = Checkout::new();
    if build.seeded.is_empty() {
        return checkout;
    }
    let (code, text) = checkout.bazel(&[&["build"][..], build.seeded].concat());
    assert_eq!(
        code,
        0,
        "bazel build {:?}:\n{}",
        build.seeded,
        errors_first(&text)
    );
    if !text.contains("disk cache hit") {
        eprintln!(
            "{:?} were not in the disk cache: built locally",
            build.seeded
        );
    }
    checkout
}

/// A fresh checkout builds `build` with `--remote_cache=CACHE`: every
/// action comes from the cache (none executed) and the outputs are
/// `local`'s.
fn all_from_cache(cache: &str, build: &Build, local: &[String]) {
    let b = checkout(build);
    let summary = b.build(&[&format!("--remote_cache={cache}")], build.targets);
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
    for (path, local) in build.outputs.iter().zip(local) {
        assert_eq!(&b.image(path), local, "{path}: cached and local differ");
    }
}

#[test]
fn bazel_executes_remotely_on_buildgrid_and_a_second_checkout_hits_its_cache() {
    let local = local_outputs(&HELLO);
    let grid = Grid::up();
    let endpoint = &grid.endpoint;

    // Every action remote (the generator and unit runner seeded): the
    // Solo5 toolchain's builder and the toolchain, the units, the image.
    let a = checkout(&HELLO);
    let executor = format!("--remote_executor={endpoint}");
    let summary = a.build(
        &[
            &executor,
            "--spawn_strategy=remote",
            "--remote_timeout=3600",
        ],
        HELLO.targets,
    );
    assert!(summary.contains(" remote"), "{summary}");
    for local_strategy in ["linux-sandbox", "local", "processwrapper-sandbox"] {
        assert!(!summary.contains(local_strategy), "{summary}");
    }
    for (path, local) in HELLO.outputs.iter().zip(&local) {
        assert_eq!(&a.image(path), local, "{path}: remote and local differ");
    }

    // Another checkout, another empty output base: all from the cache.
    all_from_cache(endpoint, &HELLO, &local);
}

/// nginx as a plain HTTP cache: WebDAV PUT into a scratch directory, GET
/// from it, on a free port of 127.0.0.1.
struct WebDav {
    nginx: Daemon,
    url: String,
}

impl WebDav {
    fn start() -> WebDav {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\nuser root;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n\
             client_body_temp_path {d}/body;\n    client_max_body_size 0;\n\
             server {{\n        listen 127.0.0.1:{port};\n        root {d}/www;\n\
             dav_methods PUT;\n        create_full_put_path on;\n    }}\n}}\n"
        );
        std::fs::create_dir(dir.path().join("www")).unwrap();
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let mut cmd = Command::new("nginx");
        cmd.args(["-e", "stderr", "-c"]).arg(&path);
        let cache = WebDav {
            nginx: Daemon::spawn(cmd, dir, "nginx"),
            url: format!("http://127.0.0.1:{port}/cache"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return cache;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nginx did not listen on 127.0.0.1:{port}");
    }
}

#[test]
fn an_http_cache_that_accepts_put_serves_a_second_checkout() {
    let local = local_outputs(&UNIT_RUNNER);
    let cache = WebDav::start();
    // A checkout builds locally and fills the cache...
    let a = checkout(&UNIT_RUNNER);
    let summary = a.build(
        &[&format!("--remote_cache={}", cache.url)],
        UNIT_RUNNER.targets,
    );
    assert!(!summary.contains("remote cache hit"), "{summary}");
    let stored = std::fs::read_dir(cache.nginx.dir().join("www/cache/cas"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(stored > 0, "nothing was PUT into the cache");
    // ...another one gets everything from it.
    all_from_cache(&cache.url, &UNIT_RUNNER, &local);
}
