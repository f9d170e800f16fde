//! No orphans: `mirage run` signalled alone (not its process group) leaves
//! no tender or image running, for SIGINT, SIGTERM, SIGHUP and SIGKILL.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{mirage_ok, repo, unikernel_target_dir};

/// The children of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        if fields[1].parse::<u32>() == Ok(pid) {
            out.push(child);
        }
    }
    out
}

/// Whether `pid` still runs (a zombie does not).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .unwrap()
            .1
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Boots hello on `target` (4 lines, one second apart), signals `mirage`
/// alone after the first line, and checks its child is gone, and was
/// ended before hello would have ended by itself.
fn signal_leaves_no_orphan(target: &str, sig: libc::c_int) {
    let label = "//examples/hello:hello";
    mirage_ok(&repo(), &["build", "-t", target, label]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mirage"));
    cmd.args(["run", "-t", target, label])
        .current_dir(repo())
        .env("MIRAGE_HOME", repo())
        .env("CARGO_TARGET_DIR", unikernel_target_dir(target))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // As from an interactive shell: a test run started in the background
    // of a script inherits SIGINT ignored, and so would mirage and its
    // child (POSIX background jobs), whatever mirage forwards.
    // SAFETY: signal(2) is async-signal-safe and has no precondition.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut mirage = cmd.spawn().unwrap();
    let mut lines = BufReader::new(mirage.stdout.take().unwrap()).lines();
    let mut hellos = 0;
    while hellos == 0 {
        let line = lines.next().expect("hello says hello").unwrap();
        hellos += usize::from(line.ends_with("hello"));
    }
    let kids = children(mirage.id());
    assert_eq!(kids.len(), 1, "one tender or image: {kids:?}");
    let child = kids[0];
    let sent = Instant::now();
    // SAFETY: kill(2) on a PID we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(mirage.id() as i32, sig) }, 0);
    let status = mirage.wait().unwrap();
    while running(child) && sent.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !running(child),
        "{target}: signal {sig} to mirage left pid {child} running"
    );
    // Hello logs four lines when it ends by itself: the signal ended it
    // if it logged fewer (a clock bound fails on a loaded machine).
    hellos += lines
        .map_while(Result::ok)
        .filter(|l| l.ends_with("hello"))
        .count();
    assert!(hellos < 4, "{target}: the child ended only by itself");
    assert!(
        !status.success(),
        "{target}: mirage reports the signal: {status:?}"
    );
}

#[test]
fn signals_to_mirage_run_end_the_spt_tender() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGKILL] {
        signal_leaves_no_orphan("spt", sig);
    }
}

#[test]
fn signals_to_mirage_run_end_the_unix_image() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGKILL] {
        signal_leaves_no_orphan("unix", sig);
    }
}
