//! `mirage run --gdb`: the image under gdb, stopped before its first
//! instruction of its own, with its symbols from the debug file.
//!
//! - unix: gdb runs the image (`starti`), its symbols from `IMAGE.debug`.
//!   (`run.sh --gdb` does the same, and the spt case below: see
//!   [`commands`].)
//! - spt: the image runs inside the tender's process, at the addresses it
//!   was linked at; gdb runs the tender to `spt_run`, where the image is
//!   loaded and about to start, and adds the image's symbols there.
//! - hvt: Solo5's `solo5-hvt-debug --gdb` serves the guest on a local
//!   port; gdb starts it and attaches there.
//!
//! gdb reads the user's commands afterwards, from the terminal or from
//! standard input (a test's batch), and the run's status is gdb's.

use std::fmt::Write as _;
use std::path::Path;

use super::{Launch, Status};
use crate::build::debug_file;
use crate::build::step::{quote, Cmd};
use crate::error::{Error, Result};
use crate::target::Target;

/// The gdb command file for `launch` of `image` (run from `root`), and the
/// launch that runs gdb with it from `script`.
pub fn wrap(
    launch: &Launch,
    target: Target,
    image: &Path,
    root: &Path,
    script: &Path,
) -> Result<(String, Launch)> {
    let debug = debug_file::path(image);
    let mut text = String::from("set pagination off\nset confirm off\n");
    let _ = writeln!(text, "directory {}", root.display());
    let mut gdb = Cmd::new("gdb").args(["-q", "-nx", "-x"]).arg(script);
    if let Some(dir) = &launch.cmd.cwd {
        gdb = gdb.current_dir(dir);
    }
    for (k, v) in &launch.cmd.env {
        gdb = gdb.env(k, v);
    }
    match target {
        Target::Unix | Target::Spt => {
            for command in commands(target, &debug.to_string_lossy()).unwrap_or_default() {
                let _ = writeln!(text, "{command}");
            }
            gdb = gdb.arg("--args").arg(&launch.cmd.program);
        }
        Target::Hvt => {
            let port = free_port()?;
            let tender = format!("{}-debug", launch.cmd.program.to_string_lossy());
            let mut line = format!("shell {} --gdb --gdb-port={port}", quote(tender.as_ref()));
            for a in &launch.cmd.args {
                line.push(' ');
                line.push_str(&quote(a));
            }
            let _ = writeln!(
                text,
                "{line} &\nsymbol-file {}\ntarget remote localhost:{port}",
                debug.display()
            );
            let _ = writeln!(text, "echo mirage: attached to {tender} on port {port}\\n");
        }
        other => return Err(refusal(other)),
    }
    if target != Target::Hvt {
        gdb = gdb.args(launch.cmd.args.iter().cloned());
    }
    let _ = writeln!(
        text,
        "echo mirage: {} is stopped before it starts, with its symbols: set breakpoints, then `continue`\\n",
        image.display()
    );
    Ok((
        text,
        Launch {
            cmd: gdb,
            status: Status::Process,
        },
    ))
}

/// The gdb commands that stop a process running an image of `target`
/// before the image starts, with its symbols from `debug`, for gdb
/// started on that process (unix: the image; spt: the tender). `run.sh
/// --gdb` gives gdb the same ones.
pub fn commands(target: Target, debug: &str) -> Option<Vec<String>> {
    match target {
        Target::Unix => Some(vec![format!("symbol-file {debug}"), "starti".into()]),
        Target::Spt => Some(vec![
            "tbreak spt_run".into(),
            "run".into(),
            format!("add-symbol-file {debug}"),
        ]),
        _ => None,
    }
}

/// Whether images of `target` can be debugged from here.
pub fn check(target: Target) -> Result<()> {
    match target {
        Target::Unix | Target::Spt | Target::Hvt => Ok(()),
        other => Err(refusal(other)),
    }
}

fn refusal(target: Target) -> Error {
    Error::user(format!(
        "mirage run --gdb: {target} images cannot be debugged from here (unix, spt and hvt can)"
    ))
}

/// A local TCP port free now, for the hvt tender's gdb server.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::system(format!("find a free port for gdb: {e}")))
}
