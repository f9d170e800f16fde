//! What rustls takes from the platform: randomness from the `random`
//! device (never a system call inside a Solo5 image) and the wall clock
//! from the `pclock` device.

use core::fmt;

use mirage_types::{PosixClock, Random};
use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom};
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;

/// ring's cipher suites and key exchanges, with the platform's randomness.
pub fn crypto<R: Random + Send + Sync + 'static>(random: R) -> CryptoProvider {
    let rng: &'static PlatformRandom<R> =
        alloc::boxed::Box::leak(alloc::boxed::Box::new(PlatformRandom(random)));
    CryptoProvider {
        secure_random: rng,
        ..rustls::crypto::ring::default_provider()
    }
}

/// The `random` device as rustls's source of randomness.
struct PlatformRandom<R>(R);

impl<R> fmt::Debug for PlatformRandom<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlatformRandom")
    }
}

impl<R: Random + Send + Sync> SecureRandom for PlatformRandom<R> {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        self.0.generate(buf);
        Ok(())
    }
}

/// The `pclock` device as rustls's wall clock.
pub struct Time<P>(pub P);

impl<P> fmt::Debug for Time<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlatformTime")
    }
}

impl<P: PosixClock + Send + Sync> TimeProvider for Time<P> {
    fn current_time(&self) -> Option<UnixTime> {
        let (days, ps) = self.0.now_d_ps();
        let secs = u64::try_from(days).ok()? * 86_400 + ps / 1_000_000_000_000;
        Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
            secs,
        )))
    }
}
