//! A panic's stack, as return addresses the host turns into names.
//!
//! Images keep frame pointers (Rust's x86_64 code and its prebuilt `core`
//! and `std` push `rbp`), so the stack is a chain of frames, each holding
//! its caller's frame and a return address. [`walk`] follows that chain
//! from its caller up to the frame [`record_top`] marked in `main`, with no
//! unwinder and no allocation, and [`line`] prints what it found, in
//! addresses of the image file (a unix image is position-independent: the
//! caller gives its load bias). `mirage run` and `mirage symbolize` read
//! the line back with [`parse_line`] and name each address from the
//! image's debug file: one definition of the format, on both sides.
#![allow(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Frames a backtrace shows at most: a runaway chain stops here.
pub const MAX_FRAMES: usize = 64;

/// What follows the image's name on the backtrace line.
const MARK: &str = ": backtrace:";

/// The frame [`record_top`] marked: no frame of this program is above it.
static TOP: AtomicUsize = AtomicUsize::new(0);

/// Marks its caller's frame as the top of the stack [`walk`] follows.
/// Generated `main` code calls it first.
#[inline(never)]
pub fn record_top() {
    if let Some(own) = frame_pointer() {
        // SAFETY: `own` is this function's frame (frame pointers are
        // kept), whose first word is its caller's frame pointer.
        let caller = unsafe { *(own as *const usize) };
        TOP.store(caller, Ordering::Relaxed);
    }
}

/// The return addresses of the frames between the caller and the frame
/// [`record_top`] marked, innermost first, minus `bias` (the image's load
/// address; 0 for an image linked where it runs). Empty before
/// `record_top`, or off x86_64.
#[inline(never)]
pub fn walk(bias: usize) -> Vec<usize> {
    let top = TOP.load(Ordering::Relaxed);
    let mut frames = Vec::new();
    let Some(mut fp) = frame_pointer() else {
        return frames;
    };
    let mut below = 0;
    // Each frame lies above the one it called, at most up to the top: a
    // word that breaks that order ends the chain before it is read.
    while fp != 0 && fp % 8 == 0 && fp > below && fp < top && frames.len() < MAX_FRAMES {
        // SAFETY: `fp` lies between this function's frame and the top
        // frame, within the live stack, and frames are word-aligned.
        let (caller, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if ret == 0 {
            break;
        }
        frames.push(ret.wrapping_sub(bias));
        below = fp;
        fp = caller;
    }
    frames
}

/// The current frame pointer.
#[inline(always)]
fn frame_pointer() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let fp: usize;
        // SAFETY: reads a register.
        unsafe { core::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack)) };
        Some(fp)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// The console line of a backtrace: `IMAGE: backtrace: 0x… 0x…`.
pub fn line(image: &str, frames: &[usize]) -> String {
    let mut text = String::from(image);
    text.push_str(MARK);
    for f in frames {
        let _ = write!(text, " {f:#x}");
    }
    text
}

/// The image name and addresses of a [`line`], wherever it sits in `text`
/// (a console may prefix it); `None` for any other line.
pub fn parse_line(text: &str) -> Option<(&str, Vec<usize>)> {
    let (head, addresses) = text.split_once(MARK)?;
    let image = head.rsplit(char::is_whitespace).next().unwrap_or(head);
    let frames = addresses
        .split_whitespace()
        .map(|a| usize::from_str_radix(a.strip_prefix("0x")?, 16).ok())
        .collect::<Option<Vec<_>>>()?;
    (!image.is_empty()).then_some((image, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back() {
        let text = line("hello", &[0x10be0c, 0x105c4b]);
        assert_eq!(text, "hello: backtrace: 0x10be0c 0x105c4b");
        assert_eq!(
            parse_line(&text),
            Some(("hello", alloc::vec![0x10be0c, 0x105c4b]))
        );
        assert_eq!(
            parse_line(&alloc::format!("[12.5] {text}")),
            Some(("hello", alloc::vec![0x10be0c, 0x105c4b]))
        );
        assert_eq!(parse_line("hello: backtrace: 0xzz"), None);
        assert_eq!(parse_line("hello: panic: boom"), None);
    }
}
