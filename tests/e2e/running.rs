//! A unikernel booted for a test in a [`Netns`]: built and run by `mirage
//! run`, or run from the `run.sh` beside a built image, in a process group
//! of its own that is ended on drop; its console output is read from a
//! log. Tests that build the same label for the same target take turns.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::network::{Netns, Stack};
use crate::support::{mirage_ok, repo, unikernel_target_dir};

/// A unikernel's output directory is one per label and target: tests that
/// build the same one (with different keys) take turns.
pub(crate) fn turn(label: &str, target: &str) -> MutexGuard<'static, ()> {
    static TURNS: Mutex<BTreeMap<String, &'static Mutex<()>>> = Mutex::new(BTreeMap::new());
    let lock: &'static Mutex<()> = TURNS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(format!("{label} {target}"))
        .or_insert_with(|| Box::leak(Box::default()));
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A unikernel running in the namespace; killed on drop.
pub(crate) struct Running {
    child: std::process::Child,
    log: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Running {
    /// Builds `label` on `stack` with configure `keys`, boots it in the
    /// namespace (on tap0 for the direct stack) with runtime `args`, and
    /// waits for `ready` in its console output.
    pub(crate) fn start(
        ns: &Netns,
        stack: Stack,
        label: &str,
        keys: &[&str],
        args: &[&str],
        ready: &str,
    ) -> Running {
        Running::start_with(ns, stack, label, keys, &[], args, ready)
    }

    /// As [`Running::start`], with `flags` for `mirage run` alone.
    pub(crate) fn start_with(
        ns: &Netns,
        stack: Stack,
        label: &str,
        keys: &[&str],
        flags: &[&str],
        args: &[&str],
        ready: &str,
    ) -> Running {
        let target = stack.target();
        let turn = turn(label, target);
        let mut keys = keys.to_vec();
        keys.extend(stack.keys());
        let mut build = vec!["build", "-t", target, label];
        build.extend(&keys);
        mirage_ok(&repo(), &build);
        let log = std::env::temp_dir().join(format!("{}.log", ns.client));
        let mut cmd = ns.unikernel_command(env!("CARGO_BIN_EXE_mirage"));
        cmd.args(["run", "-t", target, label]);
        if stack.direct() {
            cmd.args(["--tap", "service=tap0"]);
        }
        cmd.args(&keys)
            .args(flags)
            .arg("--")
            .args(args)
            .current_dir(repo())
            .env("MIRAGE_HOME", repo())
            .env("CARGO_TARGET_DIR", unikernel_target_dir(target));
        Running::spawn(cmd, log, turn, ready)
    }

    /// Boots the image `mirage build` last made of `label` for `stack`
    /// through the `run.sh` beside it (what a deployment runs: the tender
    /// or the image itself, no build), with runtime `args`, and waits for
    /// `ready`.
    pub(crate) fn start_built(
        ns: &Netns,
        stack: Stack,
        label: &str,
        args: &[&str],
        ready: &str,
    ) -> Running {
        let target = stack.target();
        let turn = turn(label, target);
        let out = label.trim_start_matches("//").replace(':', "/");
        let script = repo().join(format!("mirage-out/{out}/{target}/run.sh"));
        let mut cmd = ns.unikernel_command(script.to_str().unwrap());
        if stack.direct() {
            cmd.arg("--net:service=tap0");
        }
        cmd.args(args).current_dir(repo());
        let log = std::env::temp_dir().join(format!("{}.log", ns.client));
        Running::spawn(cmd, log, turn, ready)
    }

    /// Starts `cmd` in a process group of its own, its output in `log`,
    /// and waits for `ready` there.
    fn spawn(
        mut cmd: Command,
        log: PathBuf,
        turn: MutexGuard<'static, ()>,
        ready: &str,
    ) -> Running {
        cmd.stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let running = Running {
            child: cmd.spawn().unwrap(),
            log,
            _turn: turn,
        };
        running.wait_for(ready);
        running
    }

    /// Waits up to 60 s for `text` in the console output.
    pub(crate) fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.output().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to 60 s for the unikernel to exit by itself: its exit code
    /// and console output.
    pub(crate) fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code().unwrap_or(-1), self.output());
            }
            assert!(
                Instant::now() < deadline,
                "still running after 60 s:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Running {
    /// The process group of `mirage run` and what it started (the tender,
    /// QEMU or the unix image).
    pub(crate) fn group(&self) -> u32 {
        self.child.id()
    }

    /// Kills the unikernel as a power cut would: SIGKILL to the whole
    /// process group (the tender, or the unix image, gets no signal it can
    /// handle), and waits for every process of it: the tender is a
    /// grandchild, and the next boot cannot attach the tap (or open the
    /// disk) while it still holds them.
    pub(crate) fn kill_hard(mut self) {
        signal_group(self.child.id(), "KILL");
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(30);
        while group_alive(self.child.id()) {
            assert!(Instant::now() < deadline, "the killed group lives on");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether a process of group `leader`, other than a zombie (whose files
/// are closed), is still there.
fn group_alive(leader: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // After the command's closing parenthesis: state, ppid, pgrp.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        fields.len() > 2 && fields[2] == leader.to_string() && fields[0] != "Z"
    })
}

/// Sends `signal` (`KILL`, `TERM`) to the process group `leader` leads.
pub(crate) fn signal_group(leader: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{leader}")])
        .status();
}

impl Drop for Running {
    fn drop(&mut self) {
        // The tender is a grandchild: end the whole process group, unless
        // it has already ended and been waited for.
        if let Ok(None) = self.child.try_wait() {
            signal_group(self.child.id(), "TERM");
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
