//! Panics, or faults, two calls deep: for the backtrace tests
//! (tests/e2e/debugging.rs).
#![no_std]

/// Checks a depth; panics past 2.
#[inline(never)]
fn check_depth(depth: u32) {
    if depth > 2 {
        panic!("depth {depth} is too deep");
    }
}

/// Goes one level deeper.
#[inline(never)]
fn descend(depth: u32) {
    check_depth(core::hint::black_box(depth + 1));
}

/// Descends from depth 2, which panics.
pub async fn start() -> Result<(), core::convert::Infallible> {
    descend(core::hint::black_box(2));
    Ok(())
}

/// Writes `depth` to an address no image maps, past depth 2: a fault.
#[inline(never)]
fn poke(depth: u32) {
    if depth > 2 {
        let nowhere = core::hint::black_box(8usize) as *mut u32;
        // SAFETY: none; faulting is the point.
        unsafe { core::ptr::write_volatile(nowhere, depth) };
    }
}

/// Goes one level deeper, to the fault.
#[inline(never)]
fn descend_to_fault(depth: u32) {
    poke(core::hint::black_box(depth + 1));
}

/// Descends from depth 2, which faults.
pub async fn start_fault() -> Result<(), core::convert::Infallible> {
    descend_to_fault(core::hint::black_box(2));
    Ok(())
}
