//! Launching an image: the backend plans a [`Launch`] (the command and how
//! to read the unikernel's exit status from it); this module runs it.
//!
//! Exit statuses: a unix image's is its own; a tender passes the guest's
//! through, and a refusal to start (a device not attached, a file it cannot
//! open) becomes a user error; QEMU always exits 83 after `solo5_exit`, so
//! the guest's status is read from the console line the bindings print.
//! The child never outlives `mirage` (see [`supervise`]). A backtrace it
//! prints is followed by its frames' names (see [`symbolize`]). [`gdb`] and
//! [`profile`] wrap a launch in a debugger or a profiler.

pub mod gdb;
pub mod profile;
mod supervise;
pub mod symbolize;

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use crate::build::step::Cmd;
use crate::error::{Error, IoContext, Result};
use crate::model::resource::Solo5Kind;
use crate::resolve::Resolved;
use crate::workspace::Workspace;

/// A device to attach: its Solo5 name and the host file or tap interface.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The device's name in the manifest.
    pub name: String,
    /// Block or network.
    pub kind: Solo5Kind,
    /// The file, or the tap interface's name.
    pub path: PathBuf,
    /// A network device's frames go with segmentation and checksum
    /// offload when the tender can (`--net-offload:NAME=off` otherwise).
    pub offload: bool,
}

/// What a backend needs to plan a launch.
pub struct LaunchCx<'a> {
    /// The workspace.
    pub ws: &'a Workspace,
    /// The configured unikernel.
    pub r: &'a Resolved,
    /// The built image.
    pub image: &'a Path,
    /// Devices to attach.
    pub attach: &'a [Attachment],
    /// Arguments for the image.
    pub runtime_args: &'a [String],
}

/// How the unikernel's exit status is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The process's own status.
    Process,
    /// A Solo5 tender's: the guest's, or a refusal on stderr.
    Tender,
    /// QEMU's: the guest's from the console's `solo5_exit(N)` line.
    Qemu,
}

/// A planned launch.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The command.
    pub cmd: Cmd,
    /// How to read its status.
    pub status: Status,
}

/// QEMU's exit status when a Solo5 guest calls `solo5_exit`, whatever the
/// guest's status (Solo5's virtio bindings always write 41 to
/// isa-debug-exit).
const QEMU_SOLO5_EXIT: i32 = 83;

/// Runs a launch of `image`; returns the unikernel's exit code. The
/// stream a backtrace goes to is relayed with its frames named.
pub fn run(r: &Resolved, launch: &Launch, image: &Path) -> Result<i32> {
    let mut cmd = launch.cmd.command();
    let shown = launch.cmd.program.to_string_lossy().into_owned();
    match launch.status {
        Status::Process => {
            let mut running = supervise::spawn(cmd.stderr(std::process::Stdio::piped()))
                .io_context(|| format!("run {shown}"))?;
            let stderr = running.child.stderr.take().expect("piped");
            relay(stderr, std::io::stderr(), image).join();
            let status = running
                .child
                .wait()
                .io_context(|| format!("wait for {shown}"))?;
            Ok(exit_code(status))
        }
        Status::Tender => run_tender(r, &mut cmd, &shown, image),
        Status::Qemu => run_qemu(&mut cmd, image),
    }
}

/// Relays `from` to `to` on a thread of its own, naming backtraces'
/// frames from `image`'s debug file.
fn relay(from: impl Read + Send + 'static, to: impl Write + Send + 'static, image: &Path) -> Relay {
    let image = image.to_path_buf();
    Relay(std::thread::spawn(move || {
        symbolize::relay(from, to, &symbolize::Symbolizer::for_image(&image));
    }))
}

/// A relay's thread: it ends when its stream does.
struct Relay(std::thread::JoinHandle<()>);

impl Relay {
    fn join(self) {
        let _ = self.0.join();
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn run_tender(
    r: &Resolved,
    cmd: &mut std::process::Command,
    shown: &str,
    image: &Path,
) -> Result<i32> {
    let mut running = supervise::spawn(
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
    .io_context(|| format!("run {shown}"))?;
    let child = &mut running.child;
    let console = relay(
        child.stdout.take().expect("piped"),
        std::io::stdout(),
        image,
    );
    let mut refusal = None;
    for line in std::io::BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line.io_context(|| "read the tender's errors".to_owned())?;
        if refusal.is_none() && line.starts_with("solo5-") && !line.contains("KVM: internal error")
        {
            refusal = Some(line.clone());
        }
        let _ = writeln!(std::io::stderr(), "{line}");
        if line.contains("KVM: internal error") {
            let _ = writeln!(
                std::io::stderr(),
                "mirage: note: this host's KVM could not run an instruction of the image; \
                 an emulating KVM (kvm-pvm, as in some cloud VMs) faults on SSE: \
                 run hvt images on a host with hardware KVM, or use spt"
            );
        }
    }
    console.join();
    let status = exit_code(
        child
            .wait()
            .io_context(|| "wait for the tender".to_owned())?,
    );
    match refusal {
        Some(why) if status != 0 => Err(Error::at(
            &r.loc,
            format!(
                "the {} tender refused to start {}: {why}",
                r.target, r.label
            ),
        )),
        _ => Ok(status),
    }
}

fn run_qemu(cmd: &mut std::process::Command, image: &Path) -> Result<i32> {
    let mut running = supervise::spawn(cmd.stdout(std::process::Stdio::piped()))
        .io_context(|| "run qemu-system-x86_64 (Debian package qemu-system-x86)".to_owned())?;
    let child = &mut running.child;
    let mut guest_status = None;
    let stdout = std::io::stdout();
    let symbolizer = symbolize::Symbolizer::for_image(image);
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.io_context(|| "read QEMU's console".to_owned())?;
        // The serial console may end lines with "\r\n".
        let text = line.trim_end_matches('\r');
        if let Some(n) = text
            .strip_prefix("Solo5: solo5_exit(")
            .and_then(|l| l.strip_suffix(") called"))
        {
            guest_status = n.parse().ok();
        } else if text == "Solo5: solo5_abort() called" {
            guest_status = Some(255);
        }
        let _ = writeln!(stdout.lock(), "{line}");
        for named in symbolizer.frames(text).unwrap_or_default() {
            let _ = writeln!(stdout.lock(), "{named}");
        }
    }
    let status = exit_code(child.wait().io_context(|| "wait for QEMU".to_owned())?);
    Ok(match (status, guest_status) {
        (QEMU_SOLO5_EXIT, Some(code)) => code,
        _ => status,
    })
}
