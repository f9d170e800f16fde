//! The path a new user walks, outside this checkout: install the CLI with
//! `cargo install`, `mirage new` an app and a device, add a key-value store,
//! then build and boot it on unix and spt with the installed CLI and with
//! Bazel (the store as crunch and as tar).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{cargo_target_dir, repo, unikernel_target_dir};

/// What a finished command printed, asserting it succeeded.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// `cargo install` of the generator into `root`; returns the binary.
fn install(root: &Path) -> PathBuf {
    run_ok(
        Command::new(env!("CARGO"))
            .args([
                "install",
                "--locked",
                "--offline",
                "--debug",
                "--quiet",
                "--path",
            ])
            .arg(repo().join("generator"))
            .arg("--root")
            .arg(root)
            // The suite's own: the generator this test binary runs is
            // built there already, so installing it only copies it.
            .env("CARGO_TARGET_DIR", cargo_target_dir()),
    );
    root.join("bin/mirage")
}

/// The installed `mirage`, run in `dir` with nothing pointing at the checkout.
fn mirage(bin: &Path, dir: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new(bin)
            .args(args)
            .current_dir(dir)
            .env_remove("MIRAGE_HOME")
            .env(
                "CARGO_TARGET_DIR",
                unikernel_target_dir(crate::support::named_target(args)),
            ),
    )
}

/// The app's start with a kv_ro store: it logs the one file it holds.
const APP_WITH_STORE: &str = r#"//! The unikernel app, with a store.
#![no_std]

use core::convert::Infallible;

use mirage_types::{KvRo, Time};

pub async fn start<T: Time, D: greeter::Greeter, K: KvRo>(
    time: T,
    greeter: D,
    files: K,
) -> Result<(), Infallible> {
    log::info!("hello from app");
    log::info!("greeter runs on {}", greeter.platform());
    match files.get("motd.txt").await {
        Ok(v) => log::info!("motd: {}", core::str::from_utf8(&v).unwrap_or("?").trim()),
        Err(e) => log::info!("motd: {e:?}"),
    }
    time.sleep_ns(1_000_000).await;
    Ok(())
}
"#;

/// Adds a `generic_kv_ro` store of `files/` to the scaffolded app.
fn add_store(app: &Path) {
    std::fs::create_dir_all(app.join("files")).unwrap();
    std::fs::write(app.join("files/motd.txt"), "served from a store\n").unwrap();
    let build = std::fs::read_to_string(app.join("BUILD.bazel")).unwrap();
    let build = build
        .replace(
            "\"mirage_unikernel\")",
            "\"generic_kv_ro\", \"mirage_unikernel\")\n\ngeneric_kv_ro(\n    name = \"files\",\n    dir = \"files\",\n)",
        )
        .replace(
            "        \"greeter\": \"greeter\",\n",
            "        \"greeter\": \"greeter\",\n        \"files\": \"kv_ro\",\n",
        )
        .replace(
            "        \"greeter\": \"//greeter\",\n",
            "        \"greeter\": \"//greeter\",\n        \"files\": \":files\",\n",
        );
    assert!(build.contains("\"files\": \":files\""), "{build}");
    std::fs::write(app.join("BUILD.bazel"), build).unwrap();
    std::fs::write(app.join("src/lib.rs"), APP_WITH_STORE).unwrap();
}

fn assert_booted(out: &str, platform: &str) {
    for line in [
        "[INFO] [application] hello from app".to_owned(),
        format!("[INFO] [application] greeter runs on {platform}"),
        "[INFO] [application] motd: served from a store".to_owned(),
    ] {
        assert!(out.contains(&line), "missing `{line}`:\n{out}");
    }
}

/// Bazel in the user's workspace; the server is stopped and its output
/// base removed on drop.
struct Bazel<'a>(&'a Path);

impl Bazel<'_> {
    fn run(&self, args: &[&str]) -> String {
        run_ok(Command::new("bazel").args(args).current_dir(self.0))
    }
}

impl Drop for Bazel<'_> {
    fn drop(&mut self) {
        let _ = Command::new("bazel")
            .args(["clean", "--expunge"])
            .current_dir(self.0)
            .output();
    }
}

#[test]
fn installed_mirage_scaffolds_an_app_that_boots_with_both_engines() {
    let tmp = tempfile::Builder::new()
        .prefix("mirage-user-")
        .tempdir()
        .unwrap();
    let bin = install(&tmp.path().join("root"));
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    mirage(&bin, &work, &["new", "app"]);
    let app = work.join("app");
    mirage(&bin, &app, &["new", "--device", "greeter"]);
    add_store(&app);

    // The installed CLI, from the app's directory.
    for (target, platform) in [("unix", "unix"), ("spt", "Solo5")] {
        for kv in ["--kv_ro=crunch", "--kv_ro=tar"] {
            let out = mirage(&bin, &app, &["run", "-t", target, kv, "//:app"]);
            assert_booted(&out, platform);
        }
    }

    // Bazel, offline, with the scaffold's WORKSPACE.bazel and .bazelrc.
    let bazel = Bazel(&app);
    for kv in ["crunch", "tar"] {
        let setting = format!("--@rules_mirage//rules_mirage:kv_ro={kv}");
        let out = bazel.run(&["run", &setting, "//:app_spt"]);
        assert_booted(&out, "Solo5");
    }
    let out = bazel.run(&["run", "//:app_unix"]);
    assert_booted(&out, "unix");

    // mirage-types by a path into the checkout: Bazel refuses it as the
    // CLI does (a_runtime_crate_named_by_path_..._is_refused), at its line.
    name_types_by_path(&app);
    let out = Command::new("bazel")
        .args(["build", "//:app_unix"])
        .current_dir(&app)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "BUILD.bazel:9:1: error: crate `app` names `mirage-types` by a path into rules_mirage"
        ),
        "{stderr}"
    );
}

/// Makes the app at `app` name mirage-types by a path into this checkout,
/// as users wrote when the README said so.
fn name_types_by_path(app: &Path) {
    let manifest = app.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "mirage-types = \"0.1\"",
        &format!(
            "mirage-types = {{ path = \"{}/runtimes/types\" }}",
            repo().display()
        ),
    );
    std::fs::write(&manifest, text).unwrap();
}

/// `cargo SUBCOMMAND ARGS` in `dir`, offline, as an editor or the user runs
/// it; returns what it printed, asserting it succeeded.
fn cargo_ok(dir: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new(env!("CARGO"))
            .arg(args[0])
            .arg("--offline")
            .args(&args[1..])
            .current_dir(dir)
            .env(
                "CARGO_TARGET_DIR",
                unikernel_target_dir("unix").join("scaffold"),
            ),
    )
}

/// The octal permission bits of every file and directory under `dir`,
/// but `mirage-out`.
fn modes(dir: &Path, out: &mut Vec<(String, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "mirage-out" {
            continue;
        }
        let meta = entry.metadata().unwrap();
        out.push((
            entry.path().display().to_string(),
            meta.permissions().mode() & 0o777,
        ));
        if meta.is_dir() {
            modes(&entry.path(), out);
        }
    }
}

#[test]
fn a_scaffolded_app_checks_lints_and_tests_with_plain_cargo() {
    let tmp = tempfile::Builder::new()
        .prefix("mirage-editor-")
        .tempdir()
        .unwrap();
    // `mirage new` under the usual umask, in a shell that sets it.
    let new = |cwd: &Path, args: &str| {
        run_ok(
            Command::new("sh")
                .arg("-c")
                .arg(format!("umask 022 && exec \"$MIRAGE\" new {args}"))
                .env("MIRAGE", env!("CARGO_BIN_EXE_mirage"))
                .env("MIRAGE_HOME", repo())
                .current_dir(cwd),
        )
    };
    new(tmp.path(), "app");
    let app = tmp.path().join("app");
    new(&app, "--device greeter");
    let mut seen = Vec::new();
    modes(&app, &mut seen);
    for (path, mode) in &seen {
        let want = if Path::new(path).is_dir() {
            0o755
        } else {
            0o644
        };
        assert_eq!(*mode, want, "{path} is {mode:o} under umask 022");
    }
    assert!(seen.len() >= 8, "{seen:?}");
    // No file the user commits names this machine's paths.
    let home = repo().display().to_string();
    for (path, _) in seen.iter().filter(|(p, _)| Path::new(p).is_file()) {
        let text = std::fs::read_to_string(path).unwrap();
        if !path.ends_with("WORKSPACE.bazel") {
            assert!(!text.contains(&home), "{path} names {home}");
        }
    }

    cargo_ok(&app, &["check", "--all-targets"]);
    cargo_ok(&app, &["clippy", "--all-targets", "--", "-D", "warnings"]);
    let tested = cargo_ok(&app, &["test"]);
    assert!(
        tested.contains("test tests::start_ends_well ... ok"),
        "{tested}"
    );
    // The device crate on its own, as an editor opening it checks it.
    cargo_ok(&app.join("greeter"), &["check"]);

    // A teammate's clone has no link until a `mirage` command makes one.
    std::fs::remove_dir_all(app.join("mirage-out")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["check", "--offline"])
        .current_dir(&app)
        .env(
            "CARGO_TARGET_DIR",
            unikernel_target_dir("unix").join("scaffold"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success(), "cargo check without the link");
    crate::support::mirage_ok(&app, &["clean"]);
    cargo_ok(&app, &["check"]);
}

#[test]
fn a_runtime_crate_named_by_path_into_rules_mirage_is_refused_at_its_build_line() {
    let tmp = tempfile::Builder::new()
        .prefix("mirage-bypath-")
        .tempdir()
        .unwrap();
    crate::support::mirage_ok(tmp.path(), &["new", "app"]);
    let app = tmp.path().join("app");
    name_types_by_path(&app);
    let out = crate::support::mirage(&app, &["build", "-t", "unix", "//:app"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr.trim(),
        "BUILD.bazel:4:1: error: crate `app` names `mirage-types` by a path into rules_mirage \
         in its Cargo.toml: name it by version (`mirage-types = \"0.1\"`); builds take it from \
         the rules_mirage they run with"
    );
    assert!(
        !app.join("mirage-out/app/unix").exists(),
        "half-written output"
    );
}
