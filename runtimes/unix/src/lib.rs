//! The unix target: a unikernel as a host process.
//!
//! [`Platform`] implements the runtime's hook with `ppoll(2)`, so a waiting
//! unikernel sleeps in the kernel. Devices wrap the host's clocks, its
//! `getrandom(2)` and its standard output.

use std::io::Write;

mod block;
mod clock;
mod console;
mod kv;
mod random;

pub use block::BlockFile;
pub use clock::{MonotonicClock, PosixClock};
pub use console::Console;
pub use kv::DirectKv;
pub use random::Random;

/// The unix platform hook.
#[derive(Debug)]
pub struct Platform;

/// Monotonic nanoseconds from `CLOCK_MONOTONIC`.
pub(crate) fn monotonic_ns() -> u64 {
    let ts = clock::gettime(libc::CLOCK_MONOTONIC);
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

impl Platform {
    /// The platform, for the lifetime of the process.
    pub fn get() -> &'static Platform {
        static PLATFORM: Platform = Platform;
        &PLATFORM
    }

    /// The process arguments, without the program name.
    pub fn argv() -> Vec<String> {
        std::env::args().skip(1).collect()
    }
}

impl mirage_runtime::Platform for Platform {
    fn now_ns(&self) -> u64 {
        monotonic_ns()
    }

    fn wait(&self, deadline: Option<u64>) {
        let timeout = deadline.map(|d| {
            let ns = d.saturating_sub(monotonic_ns());
            libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            }
        });
        let ts = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // No device registers a file descriptor yet, so this is a pure
        // timed sleep; EINTR just returns early, which the hook allows.
        // SAFETY: an empty fd set and a valid (or null) timespec.
        unsafe { libc::ppoll(std::ptr::null_mut(), 0, ts, std::ptr::null()) };
    }

    fn write_console(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }

    fn exit(&self, code: i32) -> ! {
        let _ = std::io::stdout().flush();
        std::process::exit(code)
    }
}
