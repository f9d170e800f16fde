//! Shared helpers: running `mirage`, temporary workspaces, golden files.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The rules_mirage checkout under test.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("generator/ has a parent")
        .to_path_buf()
}

/// The cargo target directory this test binary was built in (cargo does
/// not hold it locked while tests run): what a build of this workspace's
/// own crates reuses.
pub fn cargo_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/e2e-HASH -> target
    exe.ancestors()
        .nth(3)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Cargo target directory for the tests' unikernels of `target`, beside
/// [`cargo_target_dir`]: one for unix, one for the Solo5 targets. Cargo
/// holds a target directory locked for a whole build, and an image's
/// final compile (fat LTO, one codegen unit) keeps one core busy: two
/// directories let a unix and a Solo5 build run at once. Any directory
/// gives the same images; these are caches.
pub fn unikernel_target_dir(target: &str) -> PathBuf {
    cargo_target_dir().join(format!("e2e-unikernels-{}", family(target)))
}

/// As [`unikernel_target_dir`], for builds with rules_mirage from a copy
/// of the checkout. Cargo names a checkout's own crates (the runtimes, the
/// examples) by their path inside the generated crate, the same in every
/// copy, and compiles them again for another checkout (`REMAPS_ENV` in
/// rustc_wrapper.rs): a copy building in this checkout's directories made
/// every image built there after it compile its runtimes and final crate
/// again. Copies share these directories among themselves.
pub fn copy_target_dir(target: &str) -> PathBuf {
    cargo_target_dir().join(format!("e2e-copies-{}", family(target)))
}

/// The target's family, as the generator names it (a target `mirage`
/// refuses builds nothing: any directory does for it).
fn family(target: &str) -> &'static str {
    mirage::target::Target::parse(target).map_or("solo5", |t| t.family().name())
}

/// The target a `mirage` command line names (`-t T`, `--target T` or
/// `--target=T`; the first), else unix (what a label without a recorded
/// configuration builds for).
pub fn named_target<'a>(args: &[&'a str]) -> &'a str {
    let mut words = args.iter().take_while(|a| **a != "--");
    while let Some(word) = words.next() {
        if let Some(t) = word.strip_prefix("--target=") {
            return t;
        }
        if matches!(*word, "-t" | "--target") {
            return words.next().copied().unwrap_or("unix");
        }
    }
    "unix"
}

/// The sha256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    mirage::render::files::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// What a finished command showed.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// `mirage ARGS` in `cwd`, with rules_mirage from this checkout.
pub fn mirage(cwd: &Path, args: &[&str]) -> Output {
    mirage_with_home(&repo(), cwd, args)
}

/// `mirage ARGS` run in `checkout`, a copy of this one that is its own
/// rules_mirage home ([`copy_checkout`]).
pub fn mirage_in_checkout(checkout: &Path, args: &[&str]) -> Output {
    mirage_with_home(checkout, checkout, args)
}

/// Like [`mirage_in_checkout`], asserting exit code 0.
pub fn mirage_in_checkout_ok(checkout: &Path, args: &[&str]) -> Output {
    let out = mirage_in_checkout(checkout, args);
    assert_eq!(
        out.code, 0,
        "mirage {args:?} failed:\n{}{}",
        out.stdout, out.stderr
    );
    out
}

fn mirage_with_home(home: &Path, cwd: &Path, args: &[&str]) -> Output {
    mirage_with_env(cwd, args, &[("MIRAGE_HOME", home.as_os_str())])
}

/// `mirage ARGS` in `cwd` with rules_mirage from this checkout and the
/// tests' target directory (a copy's, when `env` names a copy as
/// `MIRAGE_HOME`), unless `env` (set last) says otherwise.
pub fn mirage_with_env(cwd: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Output {
    let home = env.iter().rev().find(|(k, _)| *k == "MIRAGE_HOME");
    let target_dir = match home {
        Some((_, home)) if Path::new(home) != repo() => copy_target_dir(named_target(args)),
        _ => unikernel_target_dir(named_target(args)),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_mirage"))
        .args(args)
        .current_dir(cwd)
        .env("MIRAGE_HOME", repo())
        .env("CARGO_TARGET_DIR", target_dir)
        .envs(env.iter().copied())
        .output()
        .expect("run mirage");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Like [`mirage`], asserting exit code 0.
pub fn mirage_ok(cwd: &Path, args: &[&str]) -> Output {
    let out = mirage(cwd, args);
    assert_eq!(
        out.code, 0,
        "mirage {args:?} failed:\n{}{}",
        out.stdout, out.stderr
    );
    out
}

/// A fresh workspace outside the repository.
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("mirage-ws-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("WORKSPACE.bazel"),
        "workspace(name = \"test\")\n",
    )
    .unwrap();
    dir
}

/// Compares `actual` with the golden file `path` (relative to tests/);
/// `MIRAGE_BLESS=1` rewrites it instead.
pub fn golden(path: &str, actual: &str) {
    let file = repo().join("tests").join(path);
    if mirage::golden::blessing() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with MIRAGE_BLESS=1 to create it)",
            file.display()
        )
    });
    assert_eq!(
        expected,
        actual,
        "{} differs (MIRAGE_BLESS=1 updates it)",
        file.display()
    );
}

/// Copies a directory tree, turning `NAME.in` files into `NAME` with
/// `@RULES_MIRAGE@` replaced by the checkout's path.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let src = entry.path();
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(to.join(&name)).unwrap();
            copy_tree(&src, &to.join(&name));
        } else if let Some(stem) = name.strip_suffix(".in") {
            let text = std::fs::read_to_string(&src).unwrap();
            let text = text.replace("@RULES_MIRAGE@", &repo().display().to_string());
            std::fs::write(to.join(stem), text).unwrap();
        } else {
            std::fs::copy(&src, to.join(&name)).unwrap();
        }
    }
}

/// hello-key's `--help` (exit 63, every argument) and a bad argument
/// (exit 64, the cause), as run by `mirage run ... -- ARGS` on `target`.
pub fn assert_hello_key_arguments(target: &str) {
    let label = "//examples/hello-key:hello_key";
    let help = mirage(&repo(), &["run", "-t", target, label, "--", "--help"]);
    assert_eq!(help.code, 63, "--help exits 63 on {target}: {help:?}");
    for option in [
        "--hello=STRING (default: Hello World!)",
        "-l STRING, --logs=STRING",
    ] {
        assert!(help.stdout.contains(option), "{target}: {}", help.stdout);
    }
    let bad = mirage(&repo(), &["run", "-t", target, label, "--", "--bye=Ciao"]);
    assert_eq!(bad.code, 64, "a bad argument exits 64 on {target}: {bad:?}");
    assert!(
        bad.stdout.contains("hello_key: unknown option `--bye`"),
        "{target}: {}",
        bad.stdout
    );
}

/// Copies the checkout's sources (not its build output, nor the packages
/// Bazel tests make for themselves) to `to`.
pub fn copy_checkout(to: &Path) {
    copy_sources(to, false);
}

/// Like [`copy_checkout`], with the git history (a release records the
/// commit).
pub fn copy_checkout_with_git(to: &Path) {
    copy_sources(to, true);
}

/// What other tests write into the checkout while this one copies it:
/// build output at the top (the outputs a release leaves out of its
/// sources, `.git` unless asked) and Bazel tests' packages
/// (`tests/bazel-*-tmp`). A walk of our own rather than tar, which fails
/// ("file changed as we read it") when one of them comes or goes in a
/// directory it reads.
fn excluded(relative: &Path, with_git: bool) -> bool {
    let name = relative
        .file_name()
        .map_or("".into(), OsStr::to_string_lossy);
    match relative.parent().and_then(Path::to_str) {
        Some("") => mirage::release::verify::is_output(&name) && !(with_git && name == ".git"),
        Some("tests") => name.starts_with("bazel-") && name.ends_with("-tmp"),
        _ => false,
    }
}

fn copy_sources(to: &Path, with_git: bool) {
    let root = repo();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(root.join(&dir))
            .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect());
        let names: Vec<_> =
            entries.unwrap_or_else(|e| panic!("copying {}: {e}", root.join(&dir).display()));
        for name in names {
            let relative = dir.join(name);
            if excluded(&relative, with_git) {
                continue;
            }
            let (from, into) = (root.join(&relative), to.join(&relative));
            match copy_entry(&from, &into) {
                Ok(true) => pending.push(relative),
                Ok(false) => {}
                Err(e) => panic!("copying {}: {e}", from.display()),
            }
        }
    }
}

/// Copies a file or a symlink, or makes a directory (then true).
fn copy_entry(from: &Path, into: &Path) -> std::io::Result<bool> {
    let kind = std::fs::symlink_metadata(from)?.file_type();
    if kind.is_dir() {
        std::fs::create_dir_all(into)?;
    } else if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, into)?;
    } else {
        std::fs::copy(from, into)?;
    }
    Ok(kind.is_dir())
}

/// A server a test started (nginx, dnsmasq, rsyslog), with the scratch
/// directory it works in: on drop it is stopped by its PID and waited
/// for, then the directory goes.
pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
}

impl Daemon {
    /// Spawns `cmd`, its output discarded, working in `dir`; `what` names
    /// the Debian package when it is missing.
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir, what: &str) -> Daemon {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} is installed: {e}"));
        Daemon { child, dir }
    }

    /// Its scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A check this machine cannot make: says SKIPPED with `why` on stderr
/// (shown under `--nocapture`) and appends it to `$MIRAGE_SKIPPED`, the
/// file `scripts/test.sh` counts in its closing line. The caller returns
/// without passing anything it did not check.
pub fn skipped(test: &str, why: &str) {
    let line = format!("SKIPPED: {test}: {why}");
    eprintln!("{line}");
    if let Some(file) = std::env::var_os("MIRAGE_SKIPPED") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .expect("MIRAGE_SKIPPED is writable");
        writeln!(f, "{line}").unwrap();
    }
}
