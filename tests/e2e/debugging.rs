//! Seeing inside an image: every build writes a debug file beside the
//! image (both with one build id, no machine path in either), a panic's
//! backtrace (or an spt guest's fault) names each function with its file
//! and line (`mirage run` itself, and `mirage symbolize` for a log from
//! elsewhere), and `mirage run --gdb` stops the image under gdb with its
//! symbols.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{copy_tree, mirage, mirage_ok, repo, skipped, workspace};

/// A workspace with tests/crash's unikernel, which panics two calls deep.
pub fn crash_workspace() -> tempfile::TempDir {
    let ws = workspace();
    copy_tree(&repo().join("tests/crash"), ws.path());
    ws
}

/// The number of the line of tests/crash's source that contains `text`.
fn line_of(text: &str) -> usize {
    let source = std::fs::read_to_string(repo().join("tests/crash/app/src/lib.rs")).unwrap();
    source
        .lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?}"))
        + 1
}

/// Asserts `output` names, after the backtrace line `mark`, the function
/// on the line of tests/crash's source containing `inner` and its caller,
/// on the line containing `outer`: `(function, text)` each.
fn assert_named_frames(output: &str, mark: &str, inner: (&str, &str), outer: (&str, &str)) {
    let after = output
        .split_once(mark)
        .unwrap_or_else(|| panic!("no '{mark}' line:\n{output}"))
        .1;
    for (function, text) in [inner, outer] {
        let named = format!(" app::{function} at app/src/lib.rs:{}\n", line_of(text));
        assert!(
            after.contains(&named),
            "no '{}' in:\n{output}",
            named.trim()
        );
    }
}

/// [`assert_named_frames`] for the panic of `//app:app`.
fn assert_panic_named(output: &str) {
    assert!(
        output.contains("app: panic: panicked at workspace/app/src/lib.rs:"),
        "{output}"
    );
    assert_named_frames(
        output,
        "app: backtrace: 0x",
        ("check_depth", "panic!("),
        ("descend", "check_depth(core::hint"),
    );
}

/// The GNU build id `readelf -n` reads from `file`.
fn build_id(file: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-n")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .unwrap_or_else(|| panic!("no build id in {}:\n{text}", file.display()))
        .to_owned()
}

#[test]
fn panics_name_their_functions_and_lines_on_spt_and_unix() {
    let ws = crash_workspace();
    let spt = mirage(ws.path(), &["run", "-t", "spt", "//app:app"]);
    assert_eq!(spt.code, 255, "{}{}", spt.stdout, spt.stderr);
    assert_panic_named(&spt.stdout);

    // A unix image's panic goes to its standard error, aborting the process.
    let unix = mirage(ws.path(), &["run", "-t", "unix", "//app:app"]);
    assert_eq!(unix.code, 128 + 6, "{}{}", unix.stdout, unix.stderr);
    assert_panic_named(&unix.stderr);

    // A console log kept from elsewhere: run.sh, then `mirage symbolize`.
    let dist = ws.path().join("mirage-out/app/app/spt/dist");
    let log = Command::new(ws.path().join("mirage-out/app/app/spt/run.sh"))
        .output()
        .unwrap();
    let mut symbolize = Command::new(env!("CARGO_BIN_EXE_mirage"))
        .arg("symbolize")
        .arg(dist.join("app.spt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    symbolize
        .stdin
        .take()
        .unwrap()
        .write_all(&log.stdout)
        .unwrap();
    let out = symbolize.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // The log passes through as it was, the named frames added.
    let console = String::from_utf8_lossy(&log.stdout);
    assert!(text.starts_with(console.lines().next().unwrap()), "{text}");
    assert_panic_named(&text);
}

/// A fault kills an spt guest's tender: the tender (patched, see
/// toolchains/solo5/patches/0003-spt-fault-backtrace.patch) says where,
/// with the guest's frames, and exits as a process SIGSEGV killed.
#[test]
fn a_fault_on_spt_names_its_function_and_line() {
    let ws = crash_workspace();
    let out = mirage(ws.path(), &["run", "-t", "spt", "//app:fault"]);
    assert_eq!(out.code, 128 + 11, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("solo5-spt: guest fault: signal 11 at 0x")
            && out.stdout.contains(", address 0x8\n"),
        "{}",
        out.stdout
    );
    assert_named_frames(
        &out.stdout,
        "solo5-spt: backtrace: 0x",
        ("poke", "write_volatile("),
        ("descend_to_fault", "poke(core::hint"),
    );
}

#[test]
fn the_debug_file_carries_the_images_build_id_and_no_machine_path() {
    let ws = crash_workspace();
    for (target, image) in [("spt", "app.spt"), ("unix", "app")] {
        mirage_ok(ws.path(), &["build", "-t", target, "//app:app"]);
        let dist = ws.path().join(format!("mirage-out/app/app/{target}/dist"));
        let image = dist.join(image);
        let debug = dist.join(format!(
            "{}.debug",
            image.file_name().unwrap().to_string_lossy()
        ));
        let id = build_id(&image);
        assert_eq!(id.len(), 40, "{id}");
        assert_eq!(build_id(&debug), id, "{target}");
        // The image has no DWARF; the debug file has line tables.
        let sections = |file: &Path| {
            let out = Command::new("readelf")
                .arg("-SW")
                .arg(file)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        for dwarf in [".debug_info", ".debug_line"] {
            assert!(!sections(&image).contains(dwarf), "{target}: {dwarf}");
            assert!(sections(&debug).contains(dwarf), "{target}: {dwarf}");
        }
        let bytes = std::fs::read(&debug).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for path in [
            ws.path().to_str().unwrap(),
            repo().to_str().unwrap(),
            std::env::var("HOME").unwrap().as_str(),
        ] {
            assert!(
                !text.contains(path),
                "{target}: {} names {path}",
                debug.display()
            );
        }
    }
}

/// `mirage run --gdb` with `commands` on gdb's standard input: what it
/// printed, both streams.
fn under_gdb(ws: &Path, target: &str, label: &str, commands: &str) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mirage"));
    cmd.args(["run", "-t", target, "--gdb", label])
        .current_dir(ws)
        .env("MIRAGE_HOME", repo())
        .env(
            "CARGO_TARGET_DIR",
            crate::support::unikernel_target_dir(target),
        );
    gdb_session(cmd, commands)
}

/// `cmd`, which starts gdb, with `commands` on its standard input: what
/// it printed, both streams, once it exited 0.
fn gdb_session(mut cmd: Command, commands: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn gdb_stops_at_start_with_its_file_and_line_on_spt_and_unix() {
    if Command::new("gdb").arg("--version").output().is_err() {
        skipped(
            "debugging::gdb_stops_at_start_with_its_file_and_line_on_spt_and_unix",
            "gdb is not installed (scripts/setup.sh installs it with SETUP_PEERS=1)",
        );
        return;
    }
    let root = repo();
    let commands = "break start\ncontinue\nbt\ncontinue\n";
    for target in ["spt", "unix"] {
        let text = under_gdb(&root, target, "//examples/hello:hello", commands);
        assert!(
            text.contains("is stopped before it starts, with its symbols"),
            "{target}:\n{text}"
        );
        assert_stopped_at_start(target, &text);
        // The run.sh beside the image (what `bazel run` runs) takes
        // `--gdb` first and does the same.
        let run_sh = root.join(format!("mirage-out/examples/hello/hello/{target}/run.sh"));
        let mut cmd = Command::new(&run_sh);
        cmd.arg("--gdb");
        let text = gdb_session(cmd, commands);
        assert_stopped_at_start(&format!("{target} run.sh"), &text);
    }
}

/// Asserts gdb stopped in the generated main's `start` (which awaits the
/// unikernel's) and named its file, then saw the image exit 0.
fn assert_stopped_at_start(what: &str, text: &str) {
    let hit = text
        .lines()
        .find(|l| l.starts_with("(gdb) #0  start () at ") || l.starts_with("#0  start () at "))
        .unwrap_or_else(|| panic!("{what}: no frame of start:\n{text}"));
    assert!(hit.contains("main.rs:"), "{what}: {hit}");
    assert!(text.contains("exited normally]"), "{what}:\n{text}");
}
