//! littlefs's state on the heap: its configuration, caches and storage at
//! one address for their life, with the callbacks through which littlefs
//! reads and programs the [`Storage`].
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::MaybeUninit;

use littlefs_rust_core::{Lfs, LfsConfig};

use super::{Config, Error};

/// The device littlefs reads and programs, in bytes within its blocks.
pub trait Storage {
    /// Reads `buf.len()` bytes at `offset` of `block`.
    fn read(&mut self, block: u32, offset: u32, buf: &mut [u8]) -> Result<(), Error>;
    /// Programs `data` at `offset` of `block`.
    fn write(&mut self, block: u32, offset: u32, data: &[u8]) -> Result<(), Error>;
    /// Erases `block`.
    fn erase(&mut self, block: u32) -> Result<(), Error>;
    /// Makes every program so far durable.
    fn sync(&mut self) -> Result<(), Error>;
}

impl<S: Storage> Storage for &mut S {
    fn read(&mut self, block: u32, offset: u32, buf: &mut [u8]) -> Result<(), Error> {
        (**self).read(block, offset, buf)
    }
    fn write(&mut self, block: u32, offset: u32, data: &[u8]) -> Result<(), Error> {
        (**self).write(block, offset, data)
    }
    fn erase(&mut self, block: u32) -> Result<(), Error> {
        (**self).erase(block)
    }
    fn sync(&mut self) -> Result<(), Error> {
        (**self).sync()
    }
}

/// littlefs's state and its storage, at one heap address for their life.
pub(super) struct Mount<S> {
    pub(super) lfs: MaybeUninit<Lfs>,
    pub(super) config: LfsConfig,
    pub(super) storage: S,
    buffers: [Vec<u8>; 3],
}

/// The `S` a callback's configuration points at.
///
/// # Safety
/// `config` is the `config` of a live `Mount<S>`, whose `context` points
/// at its `storage`, and nothing else borrows that storage during the call.
unsafe fn storage<'a, S>(config: *const LfsConfig) -> &'a mut S {
    // SAFETY: the caller's contract.
    unsafe { &mut *(*config).context.cast::<S>() }
}

/// A storage result as a littlefs return code.
fn code(result: Result<(), Error>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(_) => littlefs_rust_core::LFS_ERR_IO,
    }
}

unsafe extern "C" fn read<S: Storage>(
    config: *const LfsConfig,
    block: u32,
    offset: u32,
    buffer: *mut u8,
    size: u32,
) -> i32 {
    // SAFETY: littlefs calls with its configuration (see `Mount::new`) and
    // a buffer of `size` bytes.
    let (storage, buf) = unsafe {
        (
            storage::<S>(config),
            core::slice::from_raw_parts_mut(buffer, size as usize),
        )
    };
    code(storage.read(block, offset, buf))
}

unsafe extern "C" fn prog<S: Storage>(
    config: *const LfsConfig,
    block: u32,
    offset: u32,
    buffer: *const u8,
    size: u32,
) -> i32 {
    // SAFETY: as `read`'s.
    let (storage, data) = unsafe {
        (
            storage::<S>(config),
            core::slice::from_raw_parts(buffer, size as usize),
        )
    };
    code(storage.write(block, offset, data))
}

unsafe extern "C" fn erase<S: Storage>(config: *const LfsConfig, block: u32) -> i32 {
    // SAFETY: as `read`'s.
    code(unsafe { storage::<S>(config) }.erase(block))
}

unsafe extern "C" fn sync<S: Storage>(config: *const LfsConfig) -> i32 {
    // SAFETY: as `read`'s.
    code(unsafe { storage::<S>(config) }.sync())
}

impl<S: Storage> Mount<S> {
    /// littlefs's configuration of `storage`, on the heap, its pointers
    /// set to the box's own fields.
    pub(super) fn new(storage: S, geometry: &Config) -> Box<Mount<S>> {
        let block = geometry.block_size as usize;
        let mut mount = Box::new(Mount {
            lfs: MaybeUninit::zeroed(),
            config: LfsConfig {
                context: core::ptr::null_mut(),
                read: Some(read::<S>),
                prog: Some(prog::<S>),
                erase: Some(erase::<S>),
                sync: Some(sync::<S>),
                read_size: geometry.read_size,
                prog_size: geometry.prog_size,
                block_size: geometry.block_size,
                block_count: geometry.block_count,
                // No wear levelling (not flash); no early compaction.
                block_cycles: -1,
                cache_size: geometry.block_size,
                lookahead_size: geometry.block_size,
                compact_thresh: u32::MAX,
                read_buffer: core::ptr::null_mut(),
                prog_buffer: core::ptr::null_mut(),
                lookahead_buffer: core::ptr::null_mut(),
                name_max: 255,
                file_max: i32::MAX as u32,
                attr_max: 1022,
                metadata_max: 0,
                inline_max: 0,
            },
            storage,
            buffers: [vec![0; block], vec![0; block], vec![0; block]],
        });
        mount.config.context = (&raw mut mount.storage).cast::<c_void>();
        let [read, prog, lookahead] = &mut mount.buffers;
        mount.config.read_buffer = read.as_mut_ptr().cast();
        mount.config.prog_buffer = prog.as_mut_ptr().cast();
        mount.config.lookahead_buffer = lookahead.as_mut_ptr().cast();
        mount
    }
}
