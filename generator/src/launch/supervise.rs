//! No orphans: the tender, QEMU or unix image that `mirage run` starts
//! ends with it.
//!
//! - SIGINT, SIGTERM and SIGHUP sent to `mirage` alone are forwarded to
//!   the child, and `mirage` waits for it and exits with its status.
//! - The child gets a parent-death signal (SIGKILL), so even a SIGKILL of
//!   `mirage`, which cannot be caught, ends it.
//! - A signal ignored when `mirage` started stays ignored by the child,
//!   as by any program: a background job of a non-interactive shell
//!   ignores SIGINT, and so does its image.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};

/// The running child's PID, 0 when none: read by the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Signals forwarded to the child.
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; a stale PID at worst
        // signals nothing (the child is reaped only after `wait`).
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Spawns `cmd` as the supervised child.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Supervised> {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the child between fork and exec and
    // calls only async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nobody waits.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    for sig in FORWARDED {
        // SAFETY: `forward` is async-signal-safe (see above); installing a
        // handler has no other precondition.
        unsafe {
            libc::signal(sig, forward as *const () as libc::sighandler_t);
        }
    }
    Ok(Supervised { child })
}

/// A running supervised child; forwarding stops when it is dropped.
pub struct Supervised {
    /// The child.
    pub child: Child,
}

impl Drop for Supervised {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
        for sig in FORWARDED {
            // SAFETY: restoring the default disposition has no precondition.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}
