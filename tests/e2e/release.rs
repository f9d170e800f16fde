//! `mirage release`: the same tarball, and the same tarball of debug
//! files, from two checkouts; their SHA256SUMS hold; its image is the one `mirage build` makes; its SBOM validates
//! with pyspdxtools and lists exactly the crates cargo builds.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::support::{
    cargo_target_dir, copy_checkout, mirage_in_checkout, mirage_in_checkout_ok, mirage_with_env,
    repo, sha256, unikernel_target_dir,
};

/// Where `mirage release` writes hello's release by default.
const RELEASE: &str = "mirage-out/releases/hello-0.1.0.tar.gz";

/// And its debug files.
const DEBUG: &str = "mirage-out/releases/hello-0.1.0-debug.tar.gz";

/// `mirage release -t spt -t unix //examples/hello:hello` in checkout
/// `dir`; returns the tarball's bytes.
fn release(dir: &Path) -> Vec<u8> {
    let args = [
        "release",
        "-t",
        "spt",
        "-t",
        "unix",
        "//examples/hello:hello",
    ];
    let out = mirage_in_checkout_ok(dir, &[&args[..], &["--", "--hello=Hi"]].concat());
    assert_eq!(out.stdout.trim(), RELEASE);
    std::fs::read(dir.join(RELEASE)).unwrap()
}

/// The crates `cargo tree` says the generated crate in `dir` links.
fn cargo_tree(dir: &Path) -> BTreeSet<String> {
    let out = Command::new("cargo")
        .args([
            "tree",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
            "--locked",
        ])
        .args(["--target", "x86_64-unknown-linux-gnu", "--format", "{p}"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (name, version) = (words.next()?, words.next()?);
            Some(format!("{name} {}", version.trim_start_matches('v')))
        })
        .collect()
}

#[test]
fn hello_release_is_identical_from_two_checkouts_and_accounts_for_itself() {
    let a = tempfile::Builder::new()
        .prefix("mirage-rel-a-")
        .tempdir()
        .unwrap();
    let b = tempfile::Builder::new()
        .prefix("mirage-release-b-")
        .tempdir()
        .unwrap();
    copy_checkout(a.path());
    copy_checkout(b.path());
    let tarball = release(a.path());
    assert!(
        tarball == release(b.path()),
        "the releases differ between checkouts"
    );
    // The images' debug files, beside the release: the same bytes too
    // (the second checkout reuses crates the first compiled).
    let debug = std::fs::read(a.path().join(DEBUG)).unwrap();
    assert!(
        debug == std::fs::read(b.path().join(DEBUG)).unwrap(),
        "the debug tarballs differ between checkouts"
    );
    let debug_files = mirage::release::verify::unpack(&debug).unwrap();
    let names: Vec<&str> = debug_files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "spt/dist/hello.spt.debug",
            "unix/dist/hello.debug"
        ]
    );
    let debug_sums = String::from_utf8_lossy(&debug_files["SHA256SUMS"]).into_owned();
    for (path, bytes) in &debug_files {
        if path != "SHA256SUMS" {
            assert!(
                debug_sums.contains(&format!("{}  {path}\n", sha256(bytes))),
                "{path}: {debug_sums}"
            );
        }
    }

    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(a.path().join(RELEASE))
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(status.success());
    let root = unpacked.path().join("hello-0.1.0");

    // Every file but SHA256SUMS is listed there with its digest, and the
    // debug files' tarball beside the release.
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let (sum, path) = line.split_once("  ").unwrap();
        let file = match path {
            "hello-0.1.0-debug.tar.gz" => a.path().join(DEBUG),
            path => root.join(path),
        };
        assert_eq!(sha256(&std::fs::read(file).unwrap()), sum, "{path}");
        listed.insert(path.to_owned());
    }
    assert!(listed.contains("hello-0.1.0-debug.tar.gz"), "{sums}");
    for must in [
        "spt/dist/hello.spt",
        "spt/run.sh",
        "spt/manifest.json",
        "unix/dist/hello",
    ] {
        assert!(listed.contains(must), "{must} not in:\n{sums}");
    }
    let built = a
        .path()
        .join("mirage-out/examples/hello/hello/spt/dist/hello.spt");
    assert_eq!(
        std::fs::read(root.join("spt/dist/hello.spt")).unwrap(),
        std::fs::read(built).unwrap()
    );

    // The SBOM validates, describes the images by digest, and its crates
    // are those cargo builds for the two targets.
    let sbom_path = root.join("sbom.spdx.json");
    let check = Command::new("pyspdxtools")
        .arg("-i")
        .arg(&sbom_path)
        .output()
        .expect("pyspdxtools is installed (pip install spdx-tools)");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let sbom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sbom_path).unwrap()).unwrap();
    let packages = sbom["packages"].as_array().unwrap();
    let crates: BTreeSet<String> = packages
        .iter()
        .filter(|p| p["SPDXID"].as_str().unwrap().starts_with("SPDXRef-Crate-"))
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["versionInfo"].as_str().unwrap()
            )
        })
        .collect();
    let out = a.path().join("mirage-out/examples/hello/hello");
    let mut built: BTreeSet<String> = cargo_tree(&out.join("spt"));
    built.extend(cargo_tree(&out.join("unix")));
    assert_eq!(crates, built);
    let image_sha = sha256(&std::fs::read(root.join("spt/dist/hello.spt")).unwrap());
    let described = packages.iter().any(|p| {
        p["name"] == "spt/dist/hello.spt"
            && p["checksums"][0]["checksumValue"] == image_sha.as_str()
    });
    assert!(described, "no package for the spt image with its digest");

    // `mirage query sbom` prints the SBOM of one target's image.
    let query = mirage_in_checkout_ok(
        a.path(),
        &["query", "sbom", "-t", "spt", "//examples/hello:hello"],
    );
    let alone: serde_json::Value = serde_json::from_str(&query.stdout).unwrap();
    let alone = alone["packages"].as_array().unwrap();
    assert!(alone.iter().any(|p| p["name"] == "spt/dist/hello.spt"
        && p["checksums"][0]["checksumValue"] == image_sha.as_str()));
    assert!(!alone.iter().any(|p| p["name"] == "unix/dist/hello"));

    // The spt OCI layout: umoci unpacks the image urunc will run, with the
    // release's bytes; skopeo reads urunc's annotations.
    let oci = unpacked.path().join("oci");
    std::fs::create_dir(&oci).unwrap();
    let untar = Command::new("tar")
        .arg("xf")
        .arg(root.join("spt/oci.tar"))
        .arg("-C")
        .arg(&oci)
        .status()
        .unwrap();
    assert!(untar.success());
    let bundle = unpacked.path().join("bundle");
    let unpack = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:0.1.0", oci.display()))
        .arg(&bundle)
        .output()
        .expect("umoci is installed");
    assert!(
        unpack.status.success(),
        "{}",
        String::from_utf8_lossy(&unpack.stderr)
    );
    let from_oci = std::fs::read(bundle.join("rootfs/unikernel/hello.spt")).unwrap();
    assert_eq!(sha256(&from_oci), image_sha);
    let inspect = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:0.1.0", oci.display()))
        .output()
        .expect("skopeo is installed");
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let labels = &inspect["Labels"];
    assert_eq!(labels["com.urunc.unikernel.hypervisor"], "spt");
    assert_eq!(labels["com.urunc.unikernel.binary"], "/unikernel/hello.spt");
    assert_eq!(labels["com.urunc.unikernel.cmdline"], "--hello=Hi");
    assert!(
        !listed.contains("unix/oci.tar"),
        "urunc has no monitor for unix"
    );

    // A released image says what it was built from: the Cargo.lock digest
    // its buildinfo records.
    let buildinfo = std::fs::read_to_string(root.join("buildinfo")).unwrap();
    let lock = buildinfo
        .lines()
        .find_map(|l| l.strip_prefix("cargo-lock-sha256: "))
        .unwrap();
    let version = Command::new(root.join("unix/dist/hello"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&version.stdout);
    assert_eq!(version.status.code(), Some(63), "{text}");
    assert!(
        text.starts_with("hello //examples/hello:hello for unix\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("cargo-lock-sha256: {lock}\n")),
        "{text}"
    );

    // The provenance names its subjects by the same digests.
    let provenance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("provenance.json")).unwrap())
            .unwrap();
    assert_eq!(
        provenance["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    assert!(provenance["subject"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["digest"]["sha256"] == image_sha.as_str()));
}

/// `mirage verify RELEASE --source DIR`: exit code and report.
fn verify(dir: &Path, source: &Path) -> (i32, String) {
    let release = dir.join(RELEASE);
    let release = release.to_str().unwrap();
    let out = mirage_with_env(
        dir,
        &["verify", release, "--source", source.to_str().unwrap()],
        &[("MIRAGE_HOME", source.as_os_str())],
    );
    (out.code, out.stdout + &out.stderr)
}

/// A fresh release verifies, after an unrelated edit too; a changed
/// source file or Cargo.lock fails, naming what differs.
#[test]
fn verify_rebuilds_a_release_and_names_what_differs() {
    let dir = tempfile::Builder::new()
        .prefix("mirage-verify-")
        .tempdir()
        .unwrap();
    copy_checkout(dir.path());
    mirage_in_checkout_ok(
        dir.path(),
        &["release", "-t", "spt", "//examples/hello:hello"],
    );
    let (code, report) = verify(dir.path(), dir.path());
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("rebuilt identically"), "{report}");

    // A file no image is made from changes nothing.
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "edited\n").unwrap();
    let (code, report) = verify(dir.path(), dir.path());
    assert_eq!(code, 0, "an unrelated edit: {report}");

    // The program changed: the image differs, and so does the tree.
    let lib = dir.path().join("examples/hello/src/lib.rs");
    let original = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        original.replace("log::info!(\"hello\")", "log::info!(\"hullo\")"),
    )
    .unwrap();
    let (code, report) = verify(dir.path(), dir.path());
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("the sources differ from the release's"),
        "{report}"
    );
    assert!(report.contains("spt/dist/hello.spt differs"), "{report}");
    std::fs::write(&lib, original).unwrap();

    // Cargo.lock changed (a comment: same crates): the source is not what
    // the release records, and the images carry the lock's digest.
    let lock = dir.path().join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, format!("# edited\n{text}")).unwrap();
    let (code, report) = verify(dir.path(), dir.path());
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("cargo-lock-sha256: recorded"), "{report}");
    assert!(report.contains("spt/dist/hello.spt differs"), "{report}");
}

/// The same images from two checkouts in different directories, with
/// different cargo homes (the same registry under another path) and
/// target directories: hello on every target, and the TLS site (the
/// largest graph) on spt; its unix build, a second compile of every TLS
/// crate from nothing for B, is left to `bench/repro.sh`, which runs every
/// example on every target. A is this checkout, as the other tests build
/// in it (their images, when up to date, are reused); B is a copy.
#[test]
fn images_are_identical_across_checkouts_cargo_homes_and_target_dirs() {
    let mut cases: Vec<(&str, &str)> = mirage::target::Target::ALL
        .iter()
        .map(|t| ("//examples/hello:hello", t.name()))
        .collect();
    cases.push(("//examples/static_website:static_website_tls", "spt"));
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo")
        });
    // B's cargo home reaches the same registry under another path; its
    // target directory is kept next to the shared one, so a warm machine
    // builds it once.
    let cargo_home_b = tempfile::Builder::new()
        .prefix("mirage-cargo-home-b-")
        .tempdir()
        .unwrap();
    std::os::unix::fs::symlink(home.join("registry"), cargo_home_b.path().join("registry"))
        .unwrap();
    let b = tempfile::Builder::new()
        .prefix("mirage-checkout-b-")
        .tempdir()
        .unwrap();
    copy_checkout(b.path());
    let a = repo();
    // B's environment also has RUSTC_BOOTSTRAP, which makes a stable
    // rustc act as a nightly one (it changed hello's bytes before the CLI
    // removed it from cargo's environment).
    let sides = [
        (a.as_path(), home.clone(), None, ""),
        (
            b.path(),
            cargo_home_b.path().to_path_buf(),
            Some(cargo_target_dir().join("e2e-unikernels-b")),
            "1",
        ),
    ];
    for (label, target) in cases {
        let mut sums = Vec::new();
        for (dir, cargo_home, target_dir, bootstrap) in &sides {
            // A: the tests' own directory; B: one of its own.
            let target_dir = target_dir
                .clone()
                .unwrap_or_else(|| unikernel_target_dir(target));
            // Other tests build A's images too.
            let _turn = (*dir == a.as_path()).then(|| crate::running::turn(label, target));
            let out = mirage_with_env(
                dir,
                &["build", "-t", target, label],
                &[
                    ("MIRAGE_HOME", dir.as_os_str()),
                    ("CARGO_HOME", cargo_home.as_os_str()),
                    ("CARGO_TARGET_DIR", target_dir.as_os_str()),
                    ("RUSTC_BOOTSTRAP", OsStr::new(bootstrap)),
                ],
            );
            assert_eq!(out.code, 0, "{label} on {target}: {}", out.stderr);
            let image = out.stdout.trim().to_owned();
            sums.push(sha256(&std::fs::read(dir.join(image)).unwrap()));
        }
        assert_eq!(
            sums[0], sums[1],
            "{label} on {target} differs between checkouts"
        );
    }
}

/// Rewrites the release at `path` with `edit` applied to its files
/// (paths inside `NAME/`).
fn rewrite_release(path: &Path, edit: impl FnOnce(&mut BTreeMap<String, Vec<u8>>)) {
    use mirage::{archive, release::verify};
    let mut files = verify::unpack(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut files);
    let name = path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".tar.gz")
        .to_owned();
    let mut entries: Vec<archive::Entry> = files
        .into_iter()
        .map(|(p, contents)| archive::Entry {
            executable: p.contains("/dist/") || p.ends_with("run.sh"),
            path: format!("{name}/{p}"),
            contents,
        })
        .collect();
    std::fs::write(path, archive::tar_gz(&mut entries).unwrap()).unwrap();
}

/// A release whose recorded keys did not make its images (its provenance
/// edited, SHA256SUMS made to match) fails, naming the key; a file that
/// does not match SHA256SUMS fails, naming the file.
#[test]
fn verify_names_a_differing_key_and_a_tampered_file() {
    let dir = tempfile::Builder::new()
        .prefix("mirage-verify-key-")
        .tempdir()
        .unwrap();
    copy_checkout(dir.path());
    mirage_in_checkout_ok(
        dir.path(),
        &[
            "release",
            "-t",
            "spt",
            "//examples/choice:choice",
            "--reporter=none",
        ],
    );
    let release = dir.path().join("mirage-out/releases/choice-0.1.0.tar.gz");
    let verify = |path: &Path| {
        let out = mirage_in_checkout(dir.path(), &["verify", path.to_str().unwrap()]);
        (out.code, out.stdout + &out.stderr)
    };
    let sums = |files: &BTreeMap<String, Vec<u8>>| -> Vec<u8> {
        files
            .iter()
            .filter(|(p, _)| p.as_str() != "SHA256SUMS")
            .map(|(p, b)| format!("{}  {p}\n", sha256(b)))
            .collect::<String>()
            .into_bytes()
    };

    let forged = dir.path().join("forged/choice-0.1.0.tar.gz");
    std::fs::create_dir_all(forged.parent().unwrap()).unwrap();
    std::fs::copy(&release, &forged).unwrap();
    rewrite_release(&forged, |files| {
        let p = files.get_mut("provenance.json").unwrap();
        let text = String::from_utf8_lossy(p)
            .replace("\"reporter\": \"none\"", "\"reporter\": \"console\"");
        assert!(text.contains("\"reporter\": \"console\""), "{text}");
        *p = text.into_bytes();
        let s = sums(files);
        files.insert("SHA256SUMS".into(), s);
    });
    let (code, report) = verify(&forged);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("spt/dist/choice.spt differs"), "{report}");
    assert!(
        report.contains("keys: recorded \"--reporter=none\", now \"--reporter=console\""),
        "{report}"
    );
    assert!(!report.contains("SHA256SUMS"), "{report}");

    let tampered = dir.path().join("tampered/choice-0.1.0.tar.gz");
    std::fs::create_dir_all(tampered.parent().unwrap()).unwrap();
    std::fs::copy(&release, &tampered).unwrap();
    rewrite_release(&tampered, |files| {
        files.get_mut("spt/run.sh").unwrap().extend(b"# edited\n");
    });
    let (code, report) = verify(&tampered);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("spt/run.sh does not match the release's SHA256SUMS"),
        "{report}"
    );
    assert!(report.contains("spt/run.sh differs"), "{report}");
}
