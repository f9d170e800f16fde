//! The rules_mirage runtime, shared by every target.
//!
//! A unikernel is single-threaded and cooperative, like MirageOS on Lwt:
//! `async` code runs on the [`executor`], which sleeps through one
//! [`Platform`] hook ("wait until this deadline or until a device is ready").
//! Generated `main` code parses [`args`], connects every device once, then
//! awaits the unikernel's `start`.
//!
//! `no_std` + `alloc`: the same code runs in a unix process and on Solo5.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod args;
pub mod backtrace;
pub mod block;
pub mod executor;
pub mod fuzz;
pub mod global;
pub mod info;
pub mod kv;
pub mod log;
pub mod metrics;
pub mod platform;
pub mod suggest;
pub mod syslog;
pub mod time;

use alloc::format;
use alloc::string::String;
use core::fmt::Display;

pub use executor::{run, spawn};
pub use platform::Platform;

/// Exit code of a unikernel whose `start` returned an error or whose device
/// failed to connect.
pub const EXIT_FAILURE: i32 = 1;

/// A device that failed to connect, or a `start` that returned an error.
#[derive(Debug)]
pub struct Failure {
    /// Which device (variable name in the generated code) or `start`.
    pub device: &'static str,
    /// The error, displayed.
    pub message: String,
}

/// Wraps an error of `device` into a [`Failure`]; for `map_err`.
pub fn failed<E: Display>(device: &'static str) -> impl FnOnce(E) -> Failure {
    move |e| Failure {
        device,
        message: format!("{e}"),
    }
}

/// Reports a failure on the console, prefixed with the image's name, and
/// returns the process exit code.
pub fn exit_code(image: &str, result: Result<(), Failure>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(f) => {
            platform::get()
                .write_console(format!("{image}: {} failed: {}\n", f.device, f.message).as_bytes());
            EXIT_FAILURE
        }
    }
}

/// The `noop` device: a job that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Noop;

impl Noop {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<Noop, core::convert::Infallible> {
        Ok(Noop)
    }
}
