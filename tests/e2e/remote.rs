//! Remote execution for real: PostgreSQL (Debian), BuildGrid (PyPI, in the
//! venv `scripts/setup.sh` makes) and the test worker
//! (`tests/remote/worker.py`) run on 127.0.0.1, started here and stopped
//! by PID. In a copy of the checkout with an empty output base, Bazel
//! executes every action of hello's images remotely, with no local
//! fallback, and gets the local build's bytes; a second copy with another
//! empty output base gets everything from the remote cache and executes
//! nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{copy_checkout, repo, sha256};

/// hello's images, built every way.
const TARGETS: &[&str] = &["//examples/hello:hello_spt", "//examples/hello:hello_unix"];
const IMAGES: &[&str] = &[
    "examples/hello/hello_spt.out/dist/hello.spt",
    "examples/hello/hello_unix.out/dist/hello",
];

/// PostgreSQL's programs (Debian installs them per major version).
fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (Debian package postgresql)")
        .map(|e| e.unwrap().path().join("bin"))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL server in /usr/lib/postgresql")
}

/// BuildGrid's venv (`scripts/setup.sh` makes it).
fn venv() -> PathBuf {
    std::env::var_os("MIRAGE_BUILDGRID").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rules_mirage/buildgrid"),
        PathBuf::from,
    )
}

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server in a process group of its own (BuildGrid starts helper
/// processes), stopped with `signal` to that group, by its PID, on drop.
struct Service {
    child: Child,
    signal: &'static str,
}

impl Service {
    fn start(cmd: &mut Command, log: &Path, signal: &'static str) -> Service {
        let log = std::fs::File::create(log).unwrap();
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        let child = cmd
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        Service { child, signal }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args([self.signal, "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// `program args` as user postgres (which PostgreSQL requires), exec'd
/// in place so that its PID is the program's.
fn as_postgres(program: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--clear-groups",
        "--",
    ])
    .arg(pg_bin().join(program));
    cmd
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_until(what: &str, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// PostgreSQL, BuildGrid and the worker; dropped in reverse order.
struct BuildGrid {
    port: u16,
    _worker: Service,
    _server: Service,
    _postgres: Service,
    _dir: tempfile::TempDir,
}

impl BuildGrid {
    fn start() -> BuildGrid {
        let dir = tempfile::Builder::new()
            .prefix("mirage-buildgrid-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("pg");
        std::fs::create_dir(&data).unwrap();
        run(Command::new("chown").arg("postgres").arg(&data));
        run(as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data));
        let pg_port = free_port().to_string();
        let pg_log = dir.path().join("postgres.log");
        // SIGINT: PostgreSQL's fast shutdown (SIGTERM waits for clients).
        let postgres = Service::start(
            as_postgres("postgres")
                .arg("-D")
                .arg(&data)
                .args(["-h", "127.0.0.1", "-p", &pg_port, "-k"])
                .arg(&data),
            &pg_log,
            "-INT",
        );
        wait_until("PostgreSQL", &pg_log, || {
            Command::new(pg_bin().join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &pg_port])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        run(as_postgres("createdb").args(["-h", "127.0.0.1", "-p", &pg_port, "bgd"]));
        let database = format!("postgresql://postgres@127.0.0.1:{pg_port}/bgd");
        let bgd = venv().join("bin/bgd");
        run(Command::new(&bgd).args(["migrate", "apply", &database]));

        let port = free_port();
        let config = std::fs::read_to_string(repo().join("tests/remote/buildgrid.yml"))
            .unwrap()
            .replace("@PORT@", &port.to_string())
            .replace("@DATABASE@", &database);
        let config_path = dir.path().join("buildgrid.yml");
        std::fs::write(&config_path, config).unwrap();
        let server_log = dir.path().join("buildgrid.log");
        let server = Service::start(
            Command::new(&bgd)
                .args(["server", "start"])
                .arg(&config_path)
                .current_dir(dir.path()),
            &server_log,
            "-TERM",
        );
        wait_until("BuildGrid", &server_log, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let worker = Service::start(
            Command::new(venv().join("bin/python"))
                .arg(repo().join("tests/remote/worker.py"))
                .arg("--server")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--work")
                .arg(dir.path().join("worker")),
            &dir.path().join("worker.log"),
            "-TERM",
        );
        BuildGrid {
            port,
            _worker: worker,
            _server: server,
            _postgres: postgres,
            _dir: dir,
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
    /// the process summary line.
    fn build(&self, flags: &[&str]) -> String {
        let out = Command::new("bazel")
            .arg(format!(
                "--output_base={}",
                self.output_base.path().display()
            ))
            .args(["build", "--disk_cache="])
            .args(flags)
            .args(TARGETS)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "bazel build {flags:?}:\n{text}");
        text.lines()
            .find(|l| l.starts_with("INFO: ") && l.contains(" processes"))
            .unwrap_or_else(|| panic!("no process summary:\n{text}"))
            .to_owned()
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

    let grid = BuildGrid::start();
    let endpoint = format!("grpc://127.0.0.1:{}", grid.port);

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
