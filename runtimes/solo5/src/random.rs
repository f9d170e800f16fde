//! The `default_random` device on Solo5: the CPU's `RDRAND`.
//!
//! Solo5 has no entropy device; x86-64 CPUs since 2012 have `RDRAND`, which
//! every tender here passes through. Connecting fails cleanly on a CPU
//! without it.
#![allow(unsafe_code)]

use core::arch::x86_64::{__cpuid, _rdrand64_step};

/// Random bytes from `RDRAND`. Only [`Random::connect`] makes one (the
/// private field), so every `Random` has seen RDRAND detected.
#[derive(Clone, Copy, Debug)]
pub struct Random {
    _detected: (),
}

impl Random {
    /// Connects the device; fails if the CPU lacks `RDRAND`.
    pub async fn connect() -> Result<Random, &'static str> {
        Random::detect().ok_or("this CPU has no RDRAND instruction")
    }

    /// The device, if the CPU has `RDRAND`.
    pub(crate) fn detect() -> Option<Random> {
        // CPUID leaf 1, ECX bit 30: RDRAND.
        (__cpuid(1).ecx & (1 << 30) != 0).then_some(Random { _detected: () })
    }
}

/// Tries of RDRAND before it counts as broken: Intel's guidance is that
/// ten failures in a row mean a CPU fault, not a transient one.
const TRIES: usize = 10;

#[target_feature(enable = "rdrand")]
fn rdrand() -> Option<u64> {
    (0..TRIES).find_map(|_| {
        let mut v = 0;
        // All ones with success set is what some AMD processors return
        // once RDRAND is broken (after a resume): never a random value.
        (_rdrand64_step(&mut v) == 1 && v != u64::MAX).then_some(v)
    })
}

impl mirage_types::Random for Random {
    fn generate(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            // SAFETY: a `Random` exists only once RDRAND was detected.
            let v = unsafe { rdrand() };
            // Without randomness keys and TLS are not safe: stop loudly.
            let v = v.unwrap_or_else(|| {
                panic!("RDRAND failed {TRIES} times in a row: no randomness, stopping")
            });
            chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
        }
    }
}
