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
    // SAFETY: the caller's contract; forward is right without overlap.
    unsafe { copy_forward(dst, src, n) };
    dst
}

/// Copies `n` bytes; the regions may overlap.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize).wrapping_add(n) {
        // SAFETY: a forward copy reads each byte before it is written
        // when dst precedes src (or the regions are apart).
        unsafe { copy_forward(dst, src, n) };
    } else {
        // dst follows src inside it: from the end, a word at a time (each
        // word is read whole before it is written, and the words below it
        // are read later).
        let mut i = n;
        while i >= 8 {
            i -= 8;
            // SAFETY: i + 8 <= n, within both regions.
            unsafe {
                dst.add(i)
                    .cast::<u64>()
                    .write_unaligned(src.add(i).cast::<u64>().read_unaligned())
            };
        }
        while i > 0 {
            i -= 1;
            // SAFETY: i < n, within both regions.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
    dst
}

/// Copies `n` bytes from the first up: right for regions apart and for
/// `dst` before `src`, as every block is read whole before it is written
/// and only bytes already read are overwritten. 64 bytes at a time in four
/// SSE2 registers (x86-64's baseline; the images already use SSE), then
/// words, then bytes: bench/http.sh's 1 MiB responses spent 70% of the
/// image's samples here copying a word at a time. Not `rep movsb`: on this
/// project's AMD EPYC hosts it cost more CPU than a word loop.
///
/// # Safety
/// `dst` and `src` are valid for `n` bytes.
#[inline(always)]
unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_storeu_si128};
    let mut i = 0;
    while i + 64 <= n {
        // SAFETY: i + 64 <= n, within both regions; all four loads come
        // before the stores (the pointers may alias, so they stay in order).
        unsafe {
            let at = |k: usize| src.add(i + k).cast::<__m128i>();
            let (a, b, c, d) = (
                _mm_loadu_si128(at(0)),
                _mm_loadu_si128(at(16)),
                _mm_loadu_si128(at(32)),
                _mm_loadu_si128(at(48)),
            );
            let to = |k: usize| dst.add(i + k).cast::<__m128i>();
            _mm_storeu_si128(to(0), a);
            _mm_storeu_si128(to(16), b);
            _mm_storeu_si128(to(32), c);
            _mm_storeu_si128(to(48), d);
        }
        i += 64;
    }
    // Eight bytes at a time (unaligned loads and stores are fine on x86-64).
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both regions; each word is read
        // whole before it is written.
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
}

/// Fills `n` bytes with the low byte of `c`: 64 bytes at a time in SSE2
/// stores, then words, then bytes. Every TCP socket zeroes its two buffers
/// (2 x 256 KiB by default) when made, one per accepted connection: a word
/// at a time, that was 30% of the tender's samples for short connections.
///
/// # Safety
/// `dst` is valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    use core::arch::x86_64::{_mm_set1_epi8, _mm_storeu_si128};
    let mut i = 0;
    let wide = _mm_set1_epi8(c as i8);
    while i + 64 <= n {
        // SAFETY: i + 64 <= n (caller's contract).
        unsafe {
            let to = |k: usize| dst.add(i + k).cast();
            _mm_storeu_si128(to(0), wide);
            _mm_storeu_si128(to(16), wide);
            _mm_storeu_si128(to(32), wide);
            _mm_storeu_si128(to(48), wide);
        }
        i += 64;
    }
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
    // Equal words are skipped eight bytes at a time; the first differing
    // byte is then found one at a time.
    while i + 8 <= n {
        // SAFETY: i + 8 <= n (caller's contract).
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            break;
        }
        i += 8;
    }
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
