//! Host clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.

pub(crate) fn gettime(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

/// The `default_monotonic_clock` device.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl MonotonicClock {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<MonotonicClock, std::convert::Infallible> {
        Ok(MonotonicClock)
    }
}

impl mirage_types::MonotonicClock for MonotonicClock {
    fn elapsed_ns(&self) -> u64 {
        crate::monotonic_ns()
    }

    fn period_ns(&self) -> Option<u64> {
        Some(1)
    }
}

/// The `default_posix_clock` device.
#[derive(Clone, Copy, Debug, Default)]
pub struct PosixClock;

impl PosixClock {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<PosixClock, std::convert::Infallible> {
        Ok(PosixClock)
    }
}

impl mirage_types::PosixClock for PosixClock {
    fn now_d_ps(&self) -> (i64, u64) {
        let ts = gettime(libc::CLOCK_REALTIME);
        let secs = ts.tv_sec;
        let days = secs.div_euclid(86_400);
        let ps = secs.rem_euclid(86_400) as u64 * 1_000_000_000_000 + ts.tv_nsec as u64 * 1_000;
        (days, ps)
    }

    fn current_tz_offset_s(&self) -> Option<i32> {
        None
    }
}
