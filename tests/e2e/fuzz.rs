//! The front door under fuzzing: the examples' BUILD files and command
//! lines, mutated with a fixed seed, never panic the generator; every
//! failure is a user error (exit 2) of one line naming a BUILD file:line,
//! or `mirage:` for a command-line mistake.
//!
//! CI runs `MIRAGE_FUZZ_CASES` cases (default 3,000) from `MIRAGE_FUZZ_SEED`
//! (default 1). A longer run:
//! `MIRAGE_FUZZ_CASES=100000 cargo test --release -p mirage --test e2e fuzz -- --nocapture`.

use std::path::Path;

use mirage_runtime::fuzz::Rng;

use crate::support::{copy_checkout, repo};

/// Fragments that mean something to Starlark or to the generator.
const TOKENS: &[&str] = &[
    "\"",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "\n",
    "None",
    "True",
    "1",
    "-1",
    "\"\"",
    "\"*\"",
    "\"solo5\"",
    "\"spt\"",
    "\"amd64\"",
    "\":nope\"",
    "\"//nope:x\"",
    "\"@other//x:y\"",
    "select({\"//conditions:default\": None})",
    "\"{impl}({\"",
    "\"{key.nope}\"",
    "\"{arg.x}\"",
    "\"{{\"",
    "\"BLOCK_BASIC\"",
    "\"../..\"",
    "type = \"console\"",
    "params = {\"x\": \"y\"}",
    "args = {\"x\": \":x\"}",
    "load(\":nope.bzl\", \"x\")",
    "fail(\"boom\")",
    "glob([\"**\"])",
    "mirage_device(",
    "mirage_unikernel(name = \"u\", main = \"u::start\")",
    "\u{e9}",
    "\u{0}",
];

/// Words of command lines.
const WORDS: &[&str] = &[
    "configure",
    "--dry-run",
    "query",
    "main",
    "keys",
    "crates",
    "files",
    "manifest",
    "runtime-args",
    "describe",
    "--dot",
    "--eval",
    "-t",
    "unix",
    "spt",
    "hvt",
    "virtio",
    "xen",
    "amd64",
    "--net=direct",
    "--net=socket",
    "--net=x",
    "--dhcp=true",
    "--kv_ro=tar",
    "--block=ramdisk",
    "--reporter=none",
    "--colour=red",
    "--",
    "-x",
    ":",
    "//",
    "//examples/hello:hello",
    "//examples/echo:echo",
    ":nope",
    "@x//y:z",
    "--setting=net=direct",
    "--setting",
    "--rules-mirage",
    "/nonexistent",
    "",
];

/// Unikernels whose BUILD files are mutated.
const EXAMPLES: &[(&str, &str)] = &[
    ("examples/hello", "//examples/hello:hello"),
    ("examples/hello-key", "//examples/hello-key:hello_key"),
    ("examples/choice", "//examples/choice:choice"),
    ("examples/kv_ro", "//examples/kv_ro:kv_ro"),
    ("examples/echo", "//examples/echo:echo"),
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(s.len() + 1);
        match rng.below(5) {
            0 if !s.is_empty() => {
                let end = (at + 1 + rng.below(40)).min(s.len());
                s.drain(at.min(s.len())..end);
            }
            1 => {
                let t: Vec<char> = rng.pick(TOKENS).chars().collect();
                s.splice(at..at, t);
            }
            2 if !s.is_empty() => {
                let b = rng.below(s.len());
                let a = at.min(s.len() - 1);
                s.swap(a, b);
            }
            3 => s.truncate(at),
            _ => {
                // Duplicate a line: a repeated declaration, an argument twice.
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let line: Vec<char> = format!("{}\n", rng.pick(&lines)).chars().collect();
                    s.splice(at..at, line);
                }
            }
        }
    }
    s.into_iter().collect()
}

fn command_line(rng: &mut Rng, label: &str) -> Vec<String> {
    let base: &[&str] = match rng.below(4) {
        0 => &["configure", "--dry-run", "-t", "spt"],
        1 => &["query", "main", "-t", "unix"],
        2 => &["describe", "--eval", "-t", "virtio"],
        _ => &["query", "keys"],
    };
    let mut words: Vec<String> = std::iter::once("mirage")
        .chain(base.iter().copied())
        .chain([label])
        .map(str::to_owned)
        .collect();
    if rng.below(3) == 0 {
        for _ in 0..=rng.below(2) {
            let at = 1 + rng.below(words.len());
            match rng.below(3) {
                0 if words.len() > 2 => {
                    words.remove(at.min(words.len() - 1));
                }
                1 => words.insert(at, rng.pick(WORDS).to_string()),
                _ => {
                    let i = 1 + rng.below(words.len() - 1);
                    words[i] = rng.pick(WORDS).to_string();
                }
            }
        }
    }
    words
}

/// Whether a command line could do more than read and print: those are
/// skipped (building, running and cleaning are not the front door).
fn has_effects(argv: &[String]) -> bool {
    let writes = ["build", "run", "clean", "toolchain"];
    let configures = argv.iter().any(|w| w == "configure");
    argv.iter().any(|w| writes.contains(&w.as_str()))
        || (configures && !argv.iter().any(|w| w == "--dry-run"))
}

/// One line, `mirage: error: ...` or `FILE:LINE:COL: error: ...`.
fn well_formed(message: &str) -> bool {
    if message.contains('\n') {
        return false;
    }
    if message.starts_with("mirage: error: ") {
        return true;
    }
    let mut parts = message.splitn(4, ':');
    let (file, line, col) = (parts.next(), parts.next(), parts.next());
    let rest = parts.next().unwrap_or_default();
    file.is_some_and(|f| !f.is_empty())
        && line.is_some_and(|l| l.parse::<usize>().is_ok())
        && col.is_some_and(|c| c.parse::<usize>().is_ok())
        && rest.starts_with(" error: ")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_build_files_and_command_lines_fail_cleanly() {
    let cases = env_number("MIRAGE_FUZZ_CASES", 3_000);
    let seed = env_number("MIRAGE_FUZZ_SEED", 1);
    let tmp = tempfile::Builder::new()
        .prefix("mirage-fuzz-")
        .tempdir()
        .unwrap();
    let root = tmp.path();
    copy_checkout(root);
    let originals: Vec<String> = EXAMPLES
        .iter()
        .map(|(dir, _)| std::fs::read_to_string(repo().join(dir).join("BUILD.bazel")).unwrap())
        .collect();
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (mut ok, mut failed, mut skipped) = (0u64, 0u64, 0u64);
    // The generator's own panics are the finding: keep the report short.
    std::panic::set_hook(Box::new(|_| {}));
    for case in 0..cases {
        let which = rng.below(EXAMPLES.len());
        let (dir, label) = EXAMPLES[which];
        let build = if rng.below(4) == 0 {
            originals[which].clone()
        } else {
            mutate(&mut rng, &originals[which])
        };
        let argv = command_line(&mut rng, label);
        if has_effects(&argv) {
            skipped += 1;
            continue;
        }
        let path = root.join(dir).join("BUILD.bazel");
        std::fs::write(&path, &build).unwrap();
        let cwd: &Path = root;
        let result = std::panic::catch_unwind(|| mirage::cli::run(argv.clone(), cwd));
        std::fs::write(&path, &originals[which]).unwrap();
        match result {
            Err(_) => {
                let _ = std::panic::take_hook();
                panic!(
                    "case {case} (seed {seed}) panicked: {argv:?} on {dir}/BUILD.bazel:\n{build}"
                );
            }
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                let message = e.to_string();
                if e.exit_code() != 2 || !well_formed(&message) {
                    let _ = std::panic::take_hook();
                    panic!(
                        "case {case} (seed {seed}): exit {} with {message:?}\n{argv:?} on {dir}/BUILD.bazel:\n{build}",
                        e.exit_code()
                    );
                }
                failed += 1;
            }
        }
    }
    let _ = std::panic::take_hook();
    let run = ok + failed;
    eprintln!(
        "fuzz: {run} cases run from seed {seed} ({cases} drawn, {skipped} with effects not run): {ok} passed, {failed} failed cleanly"
    );
    assert!(
        run > cases / 2,
        "most drawn cases must run: {run} of {cases}"
    );
    assert!(
        failed > run / 10,
        "the mutations must reach the error paths: {failed} of {run}"
    );
    assert!(ok > cases / 20, "some cases must still pass");
}
