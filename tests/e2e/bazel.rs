//! Bazel reads the same BUILD files (Debian's bazel-bootstrap 4.2, offline,
//! as set up by WORKSPACE.bazel and .bazelrc): its generated main.rs and
//! image bytes equal the CLI's, releases too, a rebuild after `bazel clean`
//! comes whole from the disk cache, and bad input names its BUILD line.
//! Hermeticity has its own module (`bazel_hermetic`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::support::{mirage_ok, repo};

/// Bazel commands in the repository take turns: `bazel clean` would pull
/// outputs from under another test. A [`Checkout`](crate::bazel_hermetic::Checkout),
/// with an output base of its own, needs no turn.
pub(crate) fn turn() -> MutexGuard<'static, ()> {
    static BAZEL: Mutex<()> = Mutex::new(());
    BAZEL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `bazel ARGS` in the repository: exit code and everything it printed.
pub(crate) fn bazel(args: &[&str]) -> (i32, String) {
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

pub(crate) fn bazel_ok(args: &[&str]) -> String {
    let (code, text) = bazel(args);
    assert_eq!(code, 0, "bazel {args:?}:\n{}", errors_first(&text));
    text
}

/// What a failed Bazel command printed, for a test's message: its ERROR
/// lines first (Bazel prints progress for hundreds of lines before them),
/// then its last lines.
pub(crate) fn errors_first(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let errors: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("ERROR:") || l.starts_with("FATAL:"))
        .take(20)
        .copied()
        .collect();
    let tail = &lines[lines.len().saturating_sub(40)..];
    format!(
        "errors:\n{}\n--- last {} lines:\n{}",
        errors.join("\n"),
        tail.len(),
        tail.join("\n")
    )
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    crate::support::sha256(&bytes)
}

/// A unikernel's image for one target: `//PACKAGE:NAME` for TARGET.
struct Image {
    package: &'static str,
    name: &'static str,
    target: &'static str,
}

impl Image {
    /// The image's file name in `dist/`.
    fn file(&self) -> String {
        if self.target == "unix" {
            self.name.to_owned()
        } else {
            format!("{}.{}", self.name, self.target)
        }
    }

    /// Its main.rs and its image's digest, from the output directory `out`.
    fn read(&self, out: &Path) -> (String, String) {
        let main_rs = std::fs::read_to_string(out.join("main.rs"))
            .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        (main_rs, sha256(&out.join("dist").join(self.file())))
    }
}

/// Builds `images` with Bazel (`flags` set keys), then with the CLI
/// (`keys`) in the checkout: same main.rs, same image bytes. Bazel builds
/// in its execution root, so the two also build in two directories. Each
/// CLI build and its reading take the image's turn, which tests that build
/// the same image with other keys take too; Bazel's outputs are read in
/// Bazel's turn. The CLI builds where the other tests do, so it reuses
/// their compiles: a copy of the checkout compiled every runtime crate
/// again, under the names of the checkout's (cargo names path crates by
/// their place in the generated crate), and the next test in the checkout
/// compiled them back.
fn engines_agree(images: &[Image], flags: &[&str], keys: &[&str]) {
    let bazel_built: Vec<(String, String)> = {
        let _turn = turn();
        let targets: Vec<String> = images
            .iter()
            .map(|i| format!("//{}:{}_{}", i.package, i.name, i.target))
            .collect();
        let mut args = vec!["build"];
        args.extend(flags);
        args.extend(targets.iter().map(String::as_str));
        bazel_ok(&args);
        images
            .iter()
            .map(|i| {
                i.read(
                    &repo()
                        .join("bazel-bin")
                        .join(i.package)
                        .join(format!("{}_{}.out", i.name, i.target)),
                )
            })
            .collect()
    };

    for (image, (bazel_main, bazel_image)) in images.iter().zip(bazel_built) {
        let label = format!("//{}:{}", image.package, image.name);
        let _turn = crate::running::turn(&label, image.target);
        let mut cli = vec!["build", "-t", image.target, &label];
        cli.extend(keys);
        mirage_ok(&repo(), &cli);
        let out = repo()
            .join("mirage-out")
            .join(image.package)
            .join(image.name)
            .join(image.target);
        let (cli_main, cli_image) = image.read(&out);
        assert_eq!(
            bazel_main, cli_main,
            "main.rs of {label} for {}",
            image.target
        );
        assert_eq!(
            bazel_image, cli_image,
            "image of {label} for {}",
            image.target
        );
    }
}

#[test]
fn engines_agree_on_main_rs_and_image_bytes() {
    let image = |package, name| Image {
        package,
        name,
        target: "spt",
    };
    engines_agree(&[image("examples/hello", "hello")], &[], &[]);
    // A configure key, as a Bazel build setting and as a CLI flag.
    engines_agree(
        &[image("examples/choice", "choice")],
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
    ("examples/notes", "notes"),
];

/// The images `bazel test //...` builds (spt and unix, every example)
/// equal the CLI's.
#[test]
fn every_example_agrees_across_engines_on_spt_and_unix() {
    let mut images: Vec<Image> = EXAMPLES
        .iter()
        .flat_map(|&(package, name)| {
            ["spt", "unix"].map(|target| Image {
                package,
                name,
                target,
            })
        })
        .collect();
    // Declared for spt alone: its tar archive is an output of the action.
    images.push(Image {
        package: "examples/kv_ro",
        name: "kv_ro_tar",
        target: "spt",
    });
    engines_agree(&images, &[], &[]);
}

/// `bazel build //examples/hello:release` and `mirage release
/// //examples/hello:release` (or `-t spt -t hvt -t virtio
/// //examples/hello:hello`) in another directory (same sources, same git
/// commit) write the same tarball; only their detached statements differ,
/// by the engine they name.
#[test]
fn release_is_the_same_bytes_from_both_engines() {
    let statement = |file: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    // Bazel's outputs, read in its turn; the CLI's releases do not hold it.
    let (release, debug, bazel) = {
        let _turn = turn();
        bazel_ok(&["build", "//examples/hello:release"]);
        let bin = repo().join("bazel-bin/examples/hello");
        (
            sha256(&bin.join("release.tar.gz")),
            sha256(&bin.join("release-debug.tar.gz")),
            statement(&bin.join("release.intoto.json")),
        )
    };

    let copy = tempfile::tempdir().unwrap();
    crate::support::copy_checkout_with_git(copy.path());
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
            release,
            sha256(&copy.path().join(&path)),
            "mirage {command:?} and bazel build //examples/hello:release differ"
        );
        // The debug files too: the release's SHA256SUMS lists them.
        assert_eq!(
            debug,
            sha256(
                &copy
                    .path()
                    .join("mirage-out/releases/hello-0.1.0-debug.tar.gz")
            ),
            "the debug files of mirage {command:?} and bazel build //examples/hello:release differ"
        );
    }

    let cli = statement(
        &copy
            .path()
            .join("mirage-out/releases/hello-0.1.0.intoto.json"),
    );
    assert_eq!(bazel["subject"], cli["subject"]);
    assert_eq!(bazel["subject"][0]["digest"]["sha256"], release.as_str());
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
pub(crate) struct TempPackage(pub(crate) PathBuf);

impl TempPackage {
    pub(crate) fn new(case: &str) -> TempPackage {
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
