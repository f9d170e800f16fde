//! The unix target: a unikernel as a host process.
//!
//! [`Platform`] implements the runtime's hook with `ppoll(2)` over the file
//! descriptors devices wait on (see [`readable`] and [`writable`]), so a
//! waiting unikernel sleeps in the kernel. Devices wrap the host's clocks,
//! `getrandom(2)`, standard output, files, directories, tap interfaces and
//! the host's own TCP/IP stack (sockets).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::Write;
use std::os::fd::RawFd;
use std::task::{Poll, Waker};

mod admission;
mod block;
mod clock;
mod console;
mod kv;
mod random;
mod socket;
mod socket_flow;
mod tap;
mod udp;

pub use block::BlockFile;
pub use clock::{MonotonicClock, PosixClock};
pub use console::Console;
pub use kv::DirectKv;
pub use random::Random;
pub use socket::SocketStack;
pub use socket_flow::SocketFlow;
pub use tap::Tap;

/// Descriptors found ready, and the wakers waiting for them, each with its
/// `poll(2)` events.
struct Waiters {
    ready: Vec<(RawFd, libc::c_short)>,
    waiting: Vec<(RawFd, libc::c_short, Waker)>,
}

thread_local! {
    static WAITERS: RefCell<Waiters> = const {
        RefCell::new(Waiters {
            ready: Vec::new(),
            waiting: Vec::new(),
        })
    };
}

/// Completes when `fd` may have any of `events` (`POLLIN`, `POLLOUT`);
/// errors and hang-ups count as ready, so the next call reports them.
fn ready(fd: RawFd, events: libc::c_short) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        WAITERS.with_borrow_mut(|Waiters { ready, waiting }| {
            if let Some(i) = ready.iter().position(|&(r, e)| r == fd && e == events) {
                ready.swap_remove(i);
                return Poll::Ready(());
            }
            waiting.retain(|(f, e, _)| (*f, *e) != (fd, events));
            waiting.push((fd, events, cx.waker().clone()));
            Poll::Pending
        })
    })
}

/// Forgets whatever waits on `fd` or was found ready for it: it is about
/// to close, and its number may come back as another descriptor's.
pub(crate) fn forget(fd: RawFd) {
    WAITERS.with_borrow_mut(|Waiters { ready, waiting }| {
        ready.retain(|&(r, _)| r != fd);
        waiting.retain(|(f, ..)| *f != fd);
    });
}

/// Completes when `fd` may be readable.
pub fn readable(fd: RawFd) -> impl Future<Output = ()> {
    ready(fd, libc::POLLIN)
}

/// Completes when `fd` may be writable.
pub fn writable(fd: RawFd) -> impl Future<Output = ()> {
    ready(fd, libc::POLLOUT)
}

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

/// Makes a panic print as on Solo5, on standard error: `IMAGE: panic:
/// MESSAGE`, then the backtrace line (`mirage run` names its frames), in
/// addresses of the image file: the executable is position-independent, so
/// the walk takes off where the ELF header was loaded. Generated `main`
/// code calls it first, after marking its frame the top of the walk.
pub fn on_panic(image: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        extern "C" {
            /// The linker's symbol for the executable's ELF header.
            static __ehdr_start: u8;
        }
        let bias = std::ptr::addr_of!(__ehdr_start) as usize;
        let frames = mirage_runtime::backtrace::walk(bias);
        let _ = std::io::stderr().write_all(
            format!(
                "{image}: panic: {info}\n{}\n",
                mirage_runtime::backtrace::line(image, &frames)
            )
            .as_bytes(),
        );
    }));
}

/// Runs `main` to completion on this platform, from a host test (`cargo
/// test` of a unikernel's crate, its `start` with unix devices). The
/// runtime is single-threaded and process-wide, as in an image, so runs
/// take turns: tests on other threads wait for this one.
pub fn run_test<F: Future>(main: F) -> F::Output {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A test that panicked during its turn poisons the lock; the next
    // test still gets its turn.
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    mirage_runtime::run(Platform::get(), main)
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
        let mut fds: Vec<libc::pollfd> = WAITERS.with_borrow(|w| {
            w.waiting
                .iter()
                .map(|&(fd, events, _)| libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                })
                .collect()
        });
        // EINTR just returns early, which the hook allows.
        // SAFETY: `fds` is a valid array of `fds.len()` pollfds; `ts` is
        // valid or null.
        unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                ts,
                std::ptr::null(),
            )
        };
        let woken: Vec<Waker> = WAITERS.with_borrow_mut(|Waiters { ready, waiting }| {
            let now_ready: Vec<(RawFd, libc::c_short)> = fds
                .iter()
                .filter(|p| p.revents != 0)
                .map(|p| (p.fd, p.events))
                .collect();
            ready.extend(&now_ready);
            let (wake, keep): (Vec<_>, Vec<_>) = waiting
                .drain(..)
                .partition(|(f, e, _)| now_ready.contains(&(*f, *e)));
            *waiting = keep;
            wake.into_iter().map(|(_, _, w)| w).collect()
        });
        woken.into_iter().for_each(Waker::wake);
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
