//! Sleeping on the executor's timers: the `default_time` device.

use core::future::Future;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};

use crate::executor;
use crate::platform;

/// A future that completes at a monotonic deadline.
#[derive(Debug)]
pub struct Sleep {
    deadline: u64,
    timer: Option<(u64, u64)>,
}

/// Completes once `ns` nanoseconds have passed.
pub fn sleep_ns(ns: u64) -> Sleep {
    Sleep {
        deadline: platform::get().now_ns().saturating_add(ns),
        timer: None,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(key) = self.timer.take() {
            executor::remove_timer(key);
        }
        if platform::get().now_ns() >= self.deadline {
            return Poll::Ready(());
        }
        self.timer = Some(executor::add_timer(self.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.timer.take() {
            executor::remove_timer(key);
        }
    }
}

/// The `default_time` device: sleeping on the runtime's timers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Time;

impl Time {
    /// Connects the device; never fails.
    pub async fn connect() -> Result<Time, core::convert::Infallible> {
        Ok(Time)
    }
}

impl mirage_types::Time for Time {
    fn sleep_ns(&self, ns: u64) -> impl Future<Output = ()> {
        sleep_ns(ns)
    }
}

/// `fut`'s output, unless `ns` nanoseconds pass first (`None`).
pub async fn within<T: mirage_types::Time, F: Future>(
    time: &T,
    ns: u64,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    // The sleep, which reads the clock, starts only once the future waits:
    // one ready at once (a write the socket takes whole) needs no timer.
    let mut sleep = pin!(None);
    core::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if sleep.is_none() {
            sleep.set(Some(time.sleep_ns(ns)));
        }
        if sleep
            .as_mut()
            .as_pin_mut()
            .is_some_and(|s| s.poll(cx).is_ready())
        {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The longest timeout a runtime arg may set: a year. Deadlines are
/// `now + timeout` in nanoseconds, which a larger value could overflow.
pub const MAX_TIMEOUT_S: i64 = 365 * 24 * 3600;

/// A runtime arg of seconds that must be positive and at most
/// [`MAX_TIMEOUT_S`] (timeouts), in nanoseconds; the error names `arg`.
pub fn positive_seconds_ns(value: i64, arg: &str) -> Result<u64, alloc::string::String> {
    if !(1..=MAX_TIMEOUT_S).contains(&value) {
        return Err(alloc::format!(
            "--{arg} must be between 1 and {MAX_TIMEOUT_S} seconds (a year), not {value}"
        ));
    }
    Ok(value as u64 * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_between_a_second_and_a_year() {
        assert_eq!(positive_seconds_ns(1, "t"), Ok(1_000_000_000));
        assert_eq!(
            positive_seconds_ns(MAX_TIMEOUT_S, "t").unwrap(),
            31_536_000_000_000_000
        );
        for bad in [0, -1, MAX_TIMEOUT_S + 1, i64::MAX] {
            let err = positive_seconds_ns(bad, "http-timeout").unwrap_err();
            assert!(
                err.starts_with("--http-timeout must be between 1 and"),
                "{err}"
            );
        }
    }
}
