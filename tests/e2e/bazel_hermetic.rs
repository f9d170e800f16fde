//! Hermetic Bazel actions, every input declared: platforms pick targets,
//! no action names a path of this machine, macros and keys of other
//! packages take effect, and a stale Cargo.lock stops both engines alike. Also the
//! [`Checkout`] the remote tests build in.

use std::path::Path;
use std::process::Command;

use crate::bazel::{bazel, bazel_ok, errors_first, turn, TempPackage};
use crate::support::{copy_checkout, mirage_ok, repo, sha256};

/// A copy of the checkout (without its tests) with its own (empty) Bazel
/// output base; Bazel's server there is shut down on drop.
pub(crate) struct Checkout {
    dir: tempfile::TempDir,
    output_base: tempfile::TempDir,
}

impl Checkout {
    pub(crate) fn new() -> Checkout {
        let dir = tempfile::Builder::new()
            .prefix("mirage-bazel-")
            .tempdir()
            .unwrap();
        copy_checkout(dir.path());
        let output_base = tempfile::Builder::new()
            .prefix("mirage-bazel-ob-")
            .tempdir()
            .unwrap();
        // The server's temporary files: Bazel 4.2 leaves one behind per
        // build with --execution_log_json_file (5-200 MB).
        std::fs::create_dir(output_base.path().join("tmp")).unwrap();
        Checkout { dir, output_base }
    }

    /// `bazel` with this checkout's startup options: its own output base
    /// and a temporary directory inside it, which goes with it.
    fn command(&self) -> Command {
        let base = self.output_base.path().display();
        let mut cmd = Command::new("bazel");
        cmd.arg(format!("--output_base={base}"))
            .arg(format!("--host_jvm_args=-Djava.io.tmpdir={base}/tmp"))
            .current_dir(self.dir.path());
        cmd
    }

    /// Its directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `bazel ARGS` there: exit code and everything it printed.
    pub(crate) fn bazel(&self, args: &[&str]) -> (i32, String) {
        let out = self.command().args(args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// `bazel build FLAGS TARGETS` without the local disk cache; returns
    /// the process summary line. A transfer failure between Bazel and the
    /// service (Bazel's remote error, "Exit 34") is reported and the build
    /// is run once more, from where it stopped: the fixture service is
    /// not what is under test, and actions that failed still fail.
    pub(crate) fn build(&self, flags: &[&str], targets: &[&str]) -> String {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let args = [
                &["build", "--disk_cache=", "--verbose_failures"],
                flags,
                targets,
            ]
            .concat();
            let (code, text) = self.bazel(&args);
            if code != 0 && text.contains("(Exit 34)") && attempts == 1 {
                eprintln!(
                    "bazel build {flags:?}: transfer failure, once more:\n{}",
                    errors_first(&text)
                );
                continue;
            }
            assert_eq!(code, 0, "bazel build {flags:?}:\n{}", errors_first(&text));
            return text
                .lines()
                .find(|l| l.starts_with("INFO: ") && l.contains(" processes"))
                .unwrap_or_else(|| panic!("no process summary:\n{text}"))
                .to_owned();
        }
    }

    /// The sha256 of `bazel-bin/PATH`.
    pub(crate) fn image(&self, path: &str) -> String {
        let bin = self.dir.path().join("bazel-bin");
        sha256(&std::fs::read(bin.join(path)).unwrap())
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = self.command().arg("shutdown").status();
        // Bazel leaves its outputs read-only.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(self.output_base.path())
            .status();
    }
}

/// Bazel tests make and remove packages in the checkout (`TempPackage`)
/// while other tests copy it: the copy leaves them out and never fails
/// for them (tar did, every time with a package churning beside it:
/// "./tests: file changed as we read it").
#[test]
fn a_checkout_copies_while_packages_come_and_go() {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Stops the other thread however the copies end (a failed assert
    /// must not leave the scope waiting for it).
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let package = repo().join("tests/bazel-copy_race-tmp");
    let stopped = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stopped.load(Ordering::Relaxed) {
                std::fs::create_dir_all(&package).unwrap();
                std::fs::write(package.join("BUILD.bazel"), "").unwrap();
                std::fs::remove_dir_all(&package).unwrap();
            }
        });
        let _stop = Stop(&stopped);
        for _ in 0..20 {
            let to = tempfile::tempdir().unwrap();
            copy_checkout(to.path());
            assert!(to.path().join("MODULE.bazel").is_file());
            assert!(!to.path().join("tests/bazel-copy_race-tmp").exists());
        }
    });
}

/// `--platforms=//rules_mirage/platforms:T` picks a unikernel's T image,
/// as `NAME_T` does; under it, `//...` skips what other targets make (the
/// spt and unix boot tests), and a unikernel without T is incompatible.
#[test]
fn platforms_choose_the_target() {
    let _turn = turn();
    let text = bazel_ok(&[
        "build",
        "--platforms=//rules_mirage/platforms:hvt",
        "//examples/hello:hello",
    ]);
    assert!(
        text.contains("bazel-bin/examples/hello/hello_hvt.out/dist/hello.hvt"),
        "{text}"
    );
    assert!(!text.contains("hello.spt"), "{text}");
    let text = bazel_ok(&[
        "test",
        "--platforms=//rules_mirage/platforms:hvt",
        "//examples/hello/...",
    ]);
    assert!(
        text.contains("Executed 0 out of 2 tests: 2 were skipped."),
        "{text}"
    );
    let (code, text) = bazel(&[
        "build",
        "--platforms=//rules_mirage/platforms:hvt",
        "//examples/kv_ro:kv_ro_tar",
    ]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("//examples/kv_ro:kv_ro_tar is incompatible"),
        "{text}"
    );
}

/// No action of `//examples/...` (and what they depend on: the
/// generator, the Solo5 toolchain) names a path of this machine in its
/// command line, environment or inputs: not the checkout, not Bazel's
/// output base, not the home directory. They can run anywhere.
#[test]
fn actions_name_no_path_of_this_machine() {
    let _turn = turn();
    let output_base = bazel_ok(&["info", "output_base"]);
    let output_base = output_base
        .lines()
        .rev()
        .find(|l| l.starts_with('/'))
        .unwrap()
        .to_owned();
    let text = bazel_ok(&["aquery", "--output=text", "deps(//examples/...)"]);
    assert!(
        text.contains("Mnemonic: MirageBuild") && text.contains("Mnemonic: Solo5Toolchain"),
        "{text}"
    );
    let home = std::env::var("HOME").unwrap();
    let repo = repo().display().to_string();
    // As directories: HOME=/root is not in examples/http_fetch/roots/.
    for path in [repo.as_str(), output_base.as_str(), home.as_str()] {
        let dir = format!("{}/", path.trim_end_matches('/'));
        let line = text.lines().find(|l| l.contains(&dir));
        assert!(line.is_none(), "{path} in an action: {line:?}");
    }
}

/// What `//tests/bazel-macro-tmp:m_unix` logs, built with Bazel `flags`.
fn macro_case_output(flags: &[&str]) -> String {
    bazel_ok(&[&["build"], flags, &["//tests/bazel-macro-tmp:m_unix"]].concat());
    let image = repo().join("bazel-bin/tests/bazel-macro-tmp/m_unix.out/dist/m");
    let out = Command::new(&image).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line `start` logs.
fn greeting(output: &str) -> &str {
    output
        .lines()
        .find_map(|l| l.split_once("[application] ").map(|(_, g)| g))
        .unwrap_or_else(|| panic!("no greeting:\n{output}"))
}

/// A .bzl file two loads away from the BUILD file, in a package of its
/// own, shapes the image: an edit to it rebuilds the image, which then
/// does what the edited macro says. (Bazel hands the generator the
/// declarations as it evaluated them; see rules.bzl.)
#[test]
fn an_edited_macro_in_another_package_rebuilds_the_image() {
    let _turn = turn();
    let pkg = TempPackage::new("macro");
    assert_eq!(greeting(&macro_case_output(&[])), "first greeting");
    let words = pkg.0.join("lib/words/words.bzl");
    let text = std::fs::read_to_string(&words).unwrap();
    let edited = text.replace("return greeting", "return greeting + \", edited\"");
    assert_ne!(text, edited);
    std::fs::write(&words, edited).unwrap();
    assert_eq!(greeting(&macro_case_output(&[])), "first greeting, edited");
}

/// A key declared in another package and read only through a select()
/// takes effect when set on Bazel's command line, as `--KEY` does for the
/// CLI: `quiet=true` selects no reporter, so the image logs nothing.
#[test]
fn a_key_of_another_package_read_only_through_select_takes_effect() {
    let _turn = turn();
    let _pkg = TempPackage::new("macro");
    assert_eq!(greeting(&macro_case_output(&[])), "first greeting");
    let quiet = macro_case_output(&["--//tests/bazel-macro-tmp/lib:quiet=true"]);
    assert!(!quiet.contains("first greeting"), "{quiet}");

    let label = "//tests/bazel-macro-tmp:m";
    let cli = mirage_ok(&repo(), &["run", "-t", "unix", label, "--quiet=true"]);
    assert!(!cli.stdout.contains("first greeting"), "{}", cli.stdout);
    let cli = mirage_ok(&repo(), &["run", "-t", "unix", label]);
    assert_eq!(greeting(&cli.stdout), "first greeting");
}

/// A dependency added to a crate's Cargo.toml without updating Cargo.lock
/// stops the build under both engines, with the same message, and the
/// CLI writes no image.
#[test]
fn a_stale_cargo_lock_stops_both_engines_with_the_same_message() {
    let checkout = Checkout::new();
    let manifest = checkout.path().join("examples/hello/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    // memchr is in Cargo.lock, but not among hello's dependencies there.
    text.push_str("memchr = { version = \"2\", default-features = false }\n");
    std::fs::write(&manifest, text).unwrap();
    let message = "Cargo.lock does not match the Cargo.toml files of its workspace: \
                   update it (`cargo update --workspace --offline`) and build again";

    let cli = crate::support::mirage_in_checkout(
        checkout.path(),
        &["build", "-t", "unix", "//examples/hello:hello"],
    );
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    assert_eq!(
        cli.stderr.trim_end().lines().last(),
        Some(&*format!("mirage: error: {message}"))
    );
    assert!(!checkout
        .path()
        .join("mirage-out/examples/hello/hello/unix/dist")
        .exists());

    let (code, text) = checkout.bazel(&["build", "//examples/hello:hello_unix"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains(message), "{text}");
}
