//! The few C library symbols that crates written for Linux still name in a
//! Solo5 image, which has no C library: ring draws randomness through
//! `getrandom` 0.2, whose Linux backend calls `syscall(SYS_getrandom)` and
//! keeps a `/dev/urandom` fallback. `syscall` answers that one call from
//! `RDRAND`; every other entry point fails with `ENOSYS`, so the fallback
//! reports an error instead of reaching the host.
#![allow(unsafe_code)]

use core::ffi::{c_int, c_long, c_void};
use core::sync::atomic::{AtomicI32, Ordering};

use crate::random::Random;

const SYS_GETRANDOM: c_long = 318;
const ENOSYS: c_int = 38;

/// `errno`: one thread, one value.
static ERRNO: AtomicI32 = AtomicI32::new(0);

fn fail() -> c_long {
    ERRNO.store(ENOSYS, Ordering::Relaxed);
    -1
}

/// `syscall(2)`, for `getrandom(buf, len, flags)` alone. The C declaration
/// is variadic; on x86-64 its integer arguments arrive in the same
/// registers as these fixed ones.
///
/// # Safety
/// `buf` must be writable for `len` bytes, as getrandom(2) requires.
#[no_mangle]
pub unsafe extern "C" fn syscall(number: c_long, buf: *mut u8, len: usize) -> c_long {
    if number != SYS_GETRANDOM {
        return fail();
    }
    let Some(random) = Random::detect() else {
        return fail();
    };
    if len > 0 {
        // SAFETY: getrandom's caller passes a writable buffer of `len` bytes.
        let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
        mirage_types::Random::generate(&random, buf);
    }
    len as c_long
}

/// `errno`'s address.
#[no_mangle]
pub extern "C" fn __errno_location() -> *mut c_int {
    ERRNO.as_ptr()
}

/// No files: the `/dev/urandom` fallback fails here.
#[no_mangle]
pub extern "C" fn open(_path: *const u8, _flags: c_int) -> c_int {
    fail() as c_int
}

/// See [`open`].
#[no_mangle]
pub extern "C" fn read(_fd: c_int, _buf: *mut c_void, _len: usize) -> isize {
    fail() as isize
}

/// See [`open`].
#[no_mangle]
pub extern "C" fn poll(_fds: *mut c_void, _nfds: u64, _timeout: c_int) -> c_int {
    fail() as c_int
}

/// See [`open`].
#[no_mangle]
pub extern "C" fn close(_fd: c_int) -> c_int {
    fail() as c_int
}

/// One thread: locking always succeeds.
#[no_mangle]
pub extern "C" fn pthread_mutex_lock(_mutex: *mut c_void) -> c_int {
    0
}

/// See [`pthread_mutex_lock`].
#[no_mangle]
pub extern "C" fn pthread_mutex_unlock(_mutex: *mut c_void) -> c_int {
    0
}
