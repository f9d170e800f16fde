//! Panics, or faults, two calls deep: for the backtrace tests
//! (tests/e2e/debugging.rs); or spends its time in one function, for the
//! profiler's.
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

/// The steps of the Collatz sequence from `n` down to 1: the busy work.
#[inline(never)]
fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

/// Spends a second or so of CPU in `collatz_steps`, then exits 0.
pub async fn start_busy() -> Result<(), core::convert::Infallible> {
    let mut total = 0u64;
    for n in 1..3_000_000u64 {
        total += u64::from(collatz_steps(core::hint::black_box(n)));
    }
    core::hint::black_box(total);
    Ok(())
}
