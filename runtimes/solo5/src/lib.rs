//! The Solo5 targets (hvt, spt, virtio, muen, xen): a unikernel as a
//! freestanding image.
//!
//! [`boot`] is what the generated `solo5_app_main` calls first: it hands the
//! heap to the image's [`Heap`] (leaving [`STACK_SIZE`] at its top for the
//! initial stack) and splits the command line into runtime arguments.
//! [`Platform`] implements the runtime's hook with `solo5_yield`; devices
//! wrap Solo5's clocks and console; [`panic`] prints a panic and aborts.
//! The generated crate declares the lang items (`#[panic_handler]`,
//! `#[global_allocator]`) with these. The same device traits as on unix make
//! examples portable.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;
// Linked for its `memcpy` and friends, which nothing here calls by name.
extern crate mirage_solo5_mem as _;

mod block;
mod ffi;
mod heap;
mod libc;
mod net;
mod random;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt::Write;

use mirage_runtime::global::Global;

pub use block::Block;
pub use ffi::StartInfo;
pub use heap::Heap;
pub use net::Net;
pub use random::Random;

/// Bytes at the top of the heap left to the initial stack.
pub const STACK_SIZE: usize = 1 << 20;

/// The Solo5 platform hook.
#[derive(Debug)]
pub struct Platform;

static PLATFORM: Platform = Platform;

/// The image's heap, handed over by [`boot`].
#[allow(unsafe_code)] // Global::new
static HEAP: Global<Cell<Option<&'static Heap>>> =
    // SAFETY: reached from the runtime's one thread only.
    unsafe { Global::new(Cell::new(None)) };

/// Sets up the heap and returns the platform and the runtime arguments
/// (the command line split on whitespace).
///
/// # Safety
/// `info` is the start info Solo5 passed to `solo5_app_main`, `heap` is the
/// image's global allocator, and this is called once, before anything
/// allocates.
#[allow(unsafe_code)]
pub unsafe fn boot(
    info: *const StartInfo,
    heap: &'static Heap,
) -> (&'static Platform, Vec<String>) {
    // SAFETY: Solo5 passes a valid start info (caller's contract).
    let info = unsafe { &*info };
    // SAFETY: the heap region is ours alone, and this is the only call.
    unsafe { heap.init(info.heap_start, info.heap_size.saturating_sub(STACK_SIZE)) };
    HEAP.get().set(Some(heap));
    let mut argv = Vec::new();
    if !info.cmdline.is_null() {
        // SAFETY: Solo5 passes a NUL-terminated command line.
        let len = unsafe { mirage_solo5_mem::strlen(info.cmdline) };
        // SAFETY: `len` bytes before the NUL are readable.
        let bytes = unsafe { core::slice::from_raw_parts(info.cmdline, len) };
        let text = String::from_utf8_lossy(bytes);
        argv.extend(text.split_whitespace().map(ToString::to_string));
    }
    (&PLATFORM, argv)
}

#[allow(unsafe_code)]
fn console_write(bytes: &[u8]) {
    // SAFETY: a valid buffer of `len` bytes.
    unsafe { ffi::solo5_console_write(bytes.as_ptr(), bytes.len()) }
}

#[allow(unsafe_code)]
fn monotonic_ns() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::solo5_clock_monotonic() }
}

impl mirage_runtime::Platform for Platform {
    fn now_ns(&self) -> u64 {
        monotonic_ns()
    }

    #[allow(unsafe_code)]
    fn wait(&self, deadline: Option<u64>) {
        // Without a deadline only a network device can wake us.
        let deadline = deadline.unwrap_or(u64::MAX);
        let mut ready = 0;
        // SAFETY: `ready` is a valid handle set to fill in.
        unsafe { ffi::solo5_yield(deadline, &mut ready) };
        net::wake_ready(ready);
    }

    fn write_console(&self, bytes: &[u8]) {
        console_write(bytes);
    }

    #[allow(unsafe_code)]
    fn exit(&self, code: i32) -> ! {
        // SAFETY: no preconditions.
        unsafe { ffi::solo5_exit(code) }
    }

    fn heap_used(&self) -> Option<usize> {
        HEAP.get().get().map(Heap::used)
    }

    fn heap_peak(&self) -> Option<usize> {
        HEAP.get().get().map(Heap::peak)
    }
}

/// The `default_console` device: Solo5's console.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl Console {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<Console, core::convert::Infallible> {
        Ok(Console)
    }
}

impl mirage_types::Console for Console {
    type Error = core::convert::Infallible;

    async fn write(&self, buf: &[u8]) -> Result<(), Self::Error> {
        console_write(buf);
        Ok(())
    }

    fn log(&self, line: &str) {
        console_write(line.as_bytes());
        console_write(b"\n");
    }
}

/// The `default_monotonic_clock` device.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl MonotonicClock {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<MonotonicClock, core::convert::Infallible> {
        Ok(MonotonicClock)
    }
}

impl mirage_types::MonotonicClock for MonotonicClock {
    fn elapsed_ns(&self) -> u64 {
        monotonic_ns()
    }

    fn period_ns(&self) -> Option<u64> {
        None
    }
}

/// The `default_posix_clock` device: Solo5's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct PosixClock;

impl PosixClock {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<PosixClock, core::convert::Infallible> {
        Ok(PosixClock)
    }
}

impl mirage_types::PosixClock for PosixClock {
    #[allow(unsafe_code)]
    fn now_d_ps(&self) -> (i64, u64) {
        // SAFETY: no preconditions.
        let ns = unsafe { ffi::solo5_clock_wall() };
        let day_ns = 86_400 * 1_000_000_000;
        ((ns / day_ns) as i64, (ns % day_ns) * 1_000)
    }

    fn current_tz_offset_s(&self) -> Option<i32> {
        None
    }
}

/// Prints the panic on the console, prefixed with the image's name, then
/// aborts (exit status 255): the image's `#[panic_handler]`.
#[allow(unsafe_code)]
pub fn panic(image: &str, info: &core::panic::PanicInfo) -> ! {
    let mut line = String::new();
    let _ = writeln!(line, "{image}: panic: {info}");
    // Linked where it runs: file addresses are run-time addresses.
    let frames = mirage_runtime::backtrace::walk(0);
    let _ = writeln!(line, "{}", mirage_runtime::backtrace::line(image, &frames));
    console_write(line.as_bytes());
    // SAFETY: no preconditions.
    unsafe { ffi::solo5_abort() }
}

/// The prebuilt `alloc` refers to the unwinder even with `panic = "abort"`;
/// nothing unwinds here, so reaching it is a bug: abort.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: no preconditions.
    unsafe { ffi::solo5_abort() }
}

/// See [`_Unwind_Resume`]: the personality routine is never called.
#[no_mangle]
#[allow(unsafe_code)]
pub extern "C" fn rust_eh_personality() -> ! {
    // SAFETY: no preconditions.
    unsafe { ffi::solo5_abort() }
}
