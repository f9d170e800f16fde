//! Bazel reads the same BUILD files (Debian's bazel-bootstrap 4.2, offline,
//! as set up by WORKSPACE.bazel and .bazelrc): its generated main.rs and
//! image bytes equal the CLI's, a rebuild after `bazel clean` comes whole
//! from the disk cache, and bad input names its BUILD line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::support::{copy_checkout, copy_tree, mirage_ok, repo};

/// Bazel commands take turns: `bazel clean` would pull outputs from under
/// another test.
pub(crate) fn turn() -> MutexGuard<'static, ()> {
    static BAZEL: Mutex<()> = Mutex::new(());
    BAZEL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `bazel ARGS` in the repository: exit code and everything it printed.
fn bazel(args: &[&str]) -> (i32, String) {
    let out = Command::new("bazel")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("bazel is installed (Debian package bazel-bootstrap)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn bazel_ok(args: &[&str]) -> String {
    let (code, text) = bazel(args);
    assert_eq!(code, 0, "bazel {args:?}:\n{text}");
    text
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    crate::support::sha256(&bytes)
}

/// The sources of this checkout (no build output, no tests) in a fresh
/// directory; its git history too `with_git`.
fn checkout_copy(with_git: bool) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let skip = (name.starts_with('.') && !(with_git && name == ".git"))
            || name.starts_with("bazel-")
            || ["target", "mirage-out", "tests"].contains(&name.as_str());
        if skip {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(copy.path().join(&name)).unwrap();
            copy_tree(&entry.path(), &copy.path().join(&name));
        } else {
            std::fs::copy(entry.path(), copy.path().join(&name)).unwrap();
        }
    }
    copy
}

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
        Checkout { dir, output_base }
    }

    /// Its directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `bazel ARGS` there: exit code and everything it printed.
    pub(crate) fn bazel(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new("bazel")
            .arg(format!(
                "--output_base={}",
                self.output_base.path().display()
            ))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
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
            // --verbose_failures gives one stack trace per failed transfer.
            let head: String = text.lines().take(150).collect::<Vec<_>>().join("\n");
            if code != 0 && text.contains("(Exit 34)") && attempts == 1 {
                eprintln!("bazel build {flags:?}: transfer failure, once more:\n{head}");
                continue;
            }
            assert_eq!(code, 0, "bazel build {flags:?}:\n{head}");
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
        sha256(&bin.join(path))
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

/// Builds `//PACKAGE:NAME_TARGET` with Bazel (`flags` set keys) and
/// `//PACKAGE:NAME` with the CLI (`keys`) in a copy of the checkout: same
/// main.rs, same image bytes.
fn engines_agree(package: &str, name: &str, target: &str, flags: &[&str], keys: &[&str]) {
    let image = if target == "unix" {
        name.to_owned()
    } else {
        format!("{name}.{target}")
    };
    let mut args = vec!["build"];
    args.extend(flags);
    let bazel_target = format!("//{package}:{name}_{target}");
    args.push(&bazel_target);
    bazel_ok(&args);
    let out: PathBuf = repo()
        .join("bazel-bin")
        .join(package)
        .join(format!("{name}_{target}.out"));

    // The CLI in a copy of the checkout: another directory, and no clash
    // with the other tests' builds of the same example.
    let copy = checkout_copy(false);
    let home = copy.path().display().to_string();
    let label = format!("//{package}:{name}");
    let mut cli = vec!["--rules-mirage", &home, "build", "-t", target, &label];
    cli.extend(keys);
    mirage_ok(copy.path(), &cli);
    let dir = copy
        .path()
        .join("mirage-out")
        .join(package)
        .join(name)
        .join(target);

    let bazel_main = std::fs::read_to_string(out.join("main.rs")).unwrap();
    let cli_main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    assert_eq!(bazel_main, cli_main, "main.rs of {label} for {target}");
    assert_eq!(
        sha256(&out.join("dist").join(&image)),
        sha256(&dir.join("dist").join(&image)),
        "image of {label} for {target}"
    );
}

#[test]
fn engines_agree_on_main_rs_and_image_bytes() {
    let _turn = turn();
    engines_agree("examples/hello", "hello", "spt", &[], &[]);
    // A configure key, as a Bazel build setting and as a CLI flag.
    engines_agree(
        "examples/choice",
        "choice",
        "spt",
        &["--//examples/choice:reporter=none"],
        &["--reporter=none"],
    );
}

/// Every example's unikernels, as (package, name).
const EXAMPLES: &[(&str, &str)] = &[
    ("examples/noop", "noop"),
    ("examples/hello", "hello"),
    ("examples/hello-key", "hello_key"),
    ("examples/choice", "choice"),
    ("examples/block", "block"),
    ("examples/kv_ro", "kv_ro"),
    ("examples/network", "network"),
    ("examples/echo", "echo"),
    ("examples/static_website", "static_website"),
    ("examples/static_website", "static_website_tls"),
    ("examples/dns", "dns"),
    ("examples/http_fetch", "http_fetch"),
];

/// The images `bazel test //...` builds (spt and unix, every example)
/// equal the CLI's.
#[test]
fn every_example_agrees_across_engines_on_spt_and_unix() {
    let _turn = turn();
    for (package, name) in EXAMPLES {
        for target in ["spt", "unix"] {
            engines_agree(package, name, target, &[], &[]);
        }
    }
    // Declared for spt alone: its tar archive is an output of the action.
    engines_agree("examples/kv_ro", "kv_ro_tar", "spt", &[], &[]);
}

/// `bazel build //examples/hello:release` and `mirage release
/// //examples/hello:release` (or `-t spt -t hvt -t virtio
/// //examples/hello:hello`) in another directory (same sources, same git
/// commit) write the same tarball; only their detached statements differ,
/// by the engine they name.
#[test]
fn release_is_the_same_bytes_from_both_engines() {
    let _turn = turn();
    bazel_ok(&["build", "//examples/hello:release"]);
    let bin = repo().join("bazel-bin/examples/hello");

    let copy = checkout_copy(true);
    let home = copy.path().display().to_string();
    // The rule's label, and the same release spelled out.
    let spelled = [
        "-t",
        "spt",
        "-t",
        "hvt",
        "-t",
        "virtio",
        "//examples/hello:hello",
    ];
    for args in [&["//examples/hello:release"][..], &spelled[..]] {
        let command = [&["--rules-mirage", &home, "release"][..], args].concat();
        let out = mirage_ok(copy.path(), &command);
        let path = out.stdout.trim().to_owned();
        assert_eq!(path, "mirage-out/releases/hello-0.1.0.tar.gz");
        assert_eq!(
            sha256(&bin.join("release.tar.gz")),
            sha256(&copy.path().join(&path)),
            "mirage {command:?} and bazel build //examples/hello:release differ"
        );
    }

    let statement = |file: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    let bazel = statement(&bin.join("release.intoto.json"));
    let cli = statement(
        &copy
            .path()
            .join("mirage-out/releases/hello-0.1.0.intoto.json"),
    );
    assert_eq!(bazel["subject"], cli["subject"]);
    assert_eq!(
        bazel["subject"][0]["digest"]["sha256"],
        sha256(&bin.join("release.tar.gz")).as_str()
    );
    let engine = |s: &serde_json::Value| {
        s["predicate"]["buildDefinition"]["internalParameters"]["engine"].clone()
    };
    assert_eq!(engine(&bazel), "bazel");
    assert_eq!(engine(&cli), "mirage-cli");
    // Both know the commit: Bazel from its workspace status.
    let commit =
        &cli["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"];
    assert!(commit.is_string(), "no git commit recorded: {cli}");
    assert_eq!(
        commit,
        &bazel["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"]
    );
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
    for path in [repo.as_str(), output_base.as_str(), home.as_str()] {
        let line = text.lines().find(|l| l.contains(path));
        assert!(line.is_none(), "{path} in an action: {line:?}");
    }
}

/// The summary line: "INFO: N processes: ...".
fn processes(text: &str) -> &str {
    text.lines()
        .find(|l| l.starts_with("INFO: ") && l.contains(" processes"))
        .unwrap_or_else(|| panic!("no process summary in:\n{text}"))
}

#[test]
fn after_bazel_clean_every_action_comes_from_the_disk_cache() {
    let _turn = turn();
    // .bazelrc keeps a disk cache: this build fills it (or already hits).
    bazel_ok(&["build", "//examples/hello:hello_spt"]);
    bazel_ok(&["clean"]);
    let text = bazel_ok(&["build", "//examples/hello:hello_spt"]);
    let summary = processes(&text);
    assert!(summary.contains("remote cache hit"), "{summary}");
    for executed in ["linux-sandbox", "local", "processwrapper-sandbox", "worker"] {
        assert!(
            !summary.contains(executed),
            "an action ran ({executed}): {summary}"
        );
    }
}

/// A package made from `tests/bazel/CASE` for one test (each `NAME.in`
/// there becomes `NAME`, `BUILD.in` becomes `BUILD.bazel`); removed on
/// drop.
struct TempPackage(PathBuf);

impl TempPackage {
    fn new(case: &str) -> TempPackage {
        let dir = repo().join(format!("tests/bazel-{case}-tmp"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        copy_cases(&repo().join("tests/bazel").join(case), &dir);
        TempPackage(dir)
    }
}

fn copy_cases(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(to.join(&name)).unwrap();
            copy_cases(&entry.path(), &to.join(&name));
            continue;
        }
        let name = match name.strip_suffix(".in") {
            Some("BUILD") => "BUILD.bazel",
            Some(stem) => stem,
            None => continue,
        };
        std::fs::copy(entry.path(), to.join(name)).unwrap();
    }
}

impl Drop for TempPackage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn bad_input_fails_with_its_build_line() {
    let _turn = turn();
    // A device of the wrong type: the generator's own message, at the
    // unikernel's line, as the CLI gives it.
    let _pkg = TempPackage::new("wrong_type");
    let (code, text) = bazel(&["build", "//tests/bazel-wrong_type-tmp:u_spt"]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains(
            "tests/bazel-wrong_type-tmp/BUILD.bazel:3:1: error: type mismatch: argument `time` \
             of //tests/bazel-wrong_type-tmp:u expects `time`, but \
             //rules_mirage/devices:default_console is `console`"
        ),
        "{text}"
    );

    // An unknown target name: the macro fails while loading, at the line.
    let _pkg = TempPackage::new("unknown_target");
    let (code, text) = bazel(&["build", "//tests/bazel-unknown_target-tmp:all"]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("tests/bazel-unknown_target-tmp/BUILD.bazel\", line 3"),
        "{text}"
    );
    assert!(
        text.contains(
            "unknown target `vax`: expected one of unix, hvt, spt, virtio, muen, xen, qubes"
        ),
        "{text}"
    );
}

/// A macro in the unikernel's own package is an input of its image: an
/// edit to it rebuilds the image, which then does what the macro says.
#[test]
fn an_edited_macro_rebuilds_the_image() {
    let _turn = turn();
    let pkg = TempPackage::new("macro");
    let greeting = || {
        bazel_ok(&["build", "//tests/bazel-macro-tmp:m_unix"]);
        let image = repo().join("bazel-bin/tests/bazel-macro-tmp/m_unix.out/dist/m");
        let out = Command::new(&image).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split_once("[application] ").map(|(_, g)| g.to_owned()))
            .unwrap_or_else(|| panic!("no greeting:\n{text}"))
    };
    assert_eq!(greeting(), "first greeting");
    let macros = pkg.0.join("macros.bzl");
    let text = std::fs::read_to_string(&macros).unwrap();
    let edited = text.replace("default = greeting,", "default = greeting + \", edited\",");
    assert_ne!(text, edited);
    std::fs::write(&macros, edited).unwrap();
    assert_eq!(greeting(), "first greeting, edited");
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

    let _turn = turn();
    let (code, text) = checkout.bazel(&["build", "//examples/hello:hello_unix"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains(message), "{text}");
}
