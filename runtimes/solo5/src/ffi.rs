//! The Solo5 interface (`include/solo5.h` of Solo5 v0.7.2 with the patches
//! in toolchains/solo5/patches/), as used here.
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

/// `struct solo5_block_info`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct BlockInfo {
    /// Capacity in bytes.
    pub capacity: u64,
    /// Minimum I/O unit in bytes.
    pub block_size: u64,
}

/// `SOLO5_R_OK`.
pub const R_OK: i32 = 0;
/// `SOLO5_R_ENOTSUP` (rules_mirage's patch): the tender cannot do it.
pub const R_ENOTSUP: i32 = 4;

extern "C" {
    pub fn solo5_block_acquire(name: *const u8, handle: *mut u64, info: *mut BlockInfo) -> i32;
    pub fn solo5_block_read(handle: u64, offset: u64, buf: *mut u8, size: usize) -> i32;
    pub fn solo5_block_write(handle: u64, offset: u64, buf: *const u8, size: usize) -> i32;
    /// rules_mirage's patch (toolchains/solo5/patches/0001-block-flush.patch).
    pub fn solo5_block_flush(handle: u64) -> i32;
}

/// `struct solo5_net_info`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct NetInfo {
    /// MAC address.
    pub mac_address: [u8; 6],
    /// MTU, without the Ethernet header.
    pub mtu: usize,
    /// rules_mirage's patch (toolchains/solo5/patches/0002-net-offload.patch):
    /// nonzero when frames carry a `virtio_net_hdr` and may be 64 KiB.
    pub offload: i32,
}

/// `SOLO5_R_AGAIN`.
pub const R_AGAIN: i32 = 1;

extern "C" {
    pub fn solo5_net_acquire(name: *const u8, handle: *mut u64, info: *mut NetInfo) -> i32;
    pub fn solo5_net_read(handle: u64, buf: *mut u8, size: usize, read_size: *mut usize) -> i32;
    pub fn solo5_net_write(handle: u64, buf: *const u8, size: usize) -> i32;
}
