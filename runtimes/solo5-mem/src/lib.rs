//! The C memory functions a freestanding image needs: `memcpy`, `memmove`,
//! `memset`, `memcmp`, `bcmp` and `strlen`.
//!
//! The prebuilt `core` and `alloc` of the host target call them, and so does
//! code LLVM generates; on Solo5 nothing else provides them (the bindings
//! object hides its own copies). `no_builtins` stops LLVM from turning these
//! loops back into calls to themselves.
//!
//! Invariant: each function has exactly the C standard's contract; callers
//! guarantee valid pointers and lengths, as in C.
#![no_std]
#![no_builtins]
#![allow(unsafe_code)]

/// Copies `n` bytes; the regions must not overlap.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes and do not overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    // Eight bytes at a time (unaligned loads and stores are fine on x86-64).
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both regions (caller's contract).
        unsafe {
            dst.add(i)
                .cast::<u64>()
                .write_unaligned(src.add(i).cast::<u64>().read_unaligned())
        };
        i += 8;
    }
    while i < n {
        // SAFETY: i < n, within both regions (caller's contract).
        unsafe { *dst.add(i) = *src.add(i) };
        i += 1;
    }
    dst
}

/// Copies `n` bytes; the regions may overlap.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) {
        let mut i = 0;
        while i < n {
            // SAFETY: forward copy is safe when dst precedes src.
            unsafe { *dst.add(i) = *src.add(i) };
            i += 1;
        }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: backward copy is safe when dst follows src.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
    dst
}

/// Fills `n` bytes with the low byte of `c`.
///
/// # Safety
/// `dst` is valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    let word = u64::from_ne_bytes([c as u8; 8]);
    while i + 8 <= n {
        // SAFETY: i + 8 <= n (caller's contract).
        unsafe { dst.add(i).cast::<u64>().write_unaligned(word) };
        i += 8;
    }
    while i < n {
        // SAFETY: i < n (caller's contract).
        unsafe { *dst.add(i) = c as u8 };
        i += 1;
    }
    dst
}

/// Compares `n` bytes: negative, zero or positive, as C's `memcmp`.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n (caller's contract).
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// Zero when `n` bytes are equal, non-zero otherwise.
///
/// # Safety
/// `a` and `b` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The length of a NUL-terminated string.
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated (caller's contract).
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}
