//! The `default_random` device on Solo5: the CPU's `RDRAND`.
//!
//! Solo5 has no entropy device; x86-64 CPUs since 2012 have `RDRAND`, which
//! every tender here passes through. Connecting fails cleanly on a CPU
//! without it.
#![allow(unsafe_code)]

use core::arch::x86_64::{__cpuid, _rdrand64_step};

/// Random bytes from `RDRAND`.
#[derive(Clone, Copy, Debug)]
pub struct Random;

impl Random {
    /// Connects the device; fails if the CPU lacks `RDRAND`.
    pub async fn connect() -> Result<Random, &'static str> {
        Random::detect().ok_or("this CPU has no RDRAND instruction")
    }

    /// The device, if the CPU has `RDRAND`.
    pub(crate) fn detect() -> Option<Random> {
        // CPUID leaf 1, ECX bit 30: RDRAND.
        (__cpuid(1).ecx & (1 << 30) != 0).then_some(Random)
    }
}

#[target_feature(enable = "rdrand")]
fn rdrand() -> u64 {
    let mut v = 0;
    // RDRAND may transiently fail; retry as Intel recommends.
    while _rdrand64_step(&mut v) != 1 {}
    v
}

impl mirage_types::Random for Random {
    fn generate(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            // SAFETY: a `Random` exists only once RDRAND was detected.
            let v = unsafe { rdrand() };
            chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
        }
    }
}
