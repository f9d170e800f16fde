//! The Solo5 interface (`include/solo5.h` of Solo5 v0.7.2), as used here.
#![allow(unsafe_code)]

/// `struct solo5_start_info`.
#[repr(C)]
#[derive(Debug)]
pub struct StartInfo {
    /// NUL-terminated command line.
    pub cmdline: *const u8,
    /// Start of the heap (the initial stack grows down from its end).
    pub heap_start: usize,
    /// Size of the heap region.
    pub heap_size: usize,
}

extern "C" {
    pub fn solo5_exit(status: i32) -> !;
    pub fn solo5_abort() -> !;
    pub fn solo5_clock_monotonic() -> u64;
    pub fn solo5_clock_wall() -> u64;
    pub fn solo5_yield(deadline: u64, ready_set: *mut u64);
    pub fn solo5_console_write(buf: *const u8, size: usize);
}
