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
    let mut sleep = pin!(time.sleep_ns(ns));
    core::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// A runtime arg of seconds that must be positive (timeouts), in
/// nanoseconds; the error names `arg`.
pub fn positive_seconds_ns(value: i64, arg: &str) -> Result<u64, alloc::string::String> {
    u64::try_from(value)
        .ok()
        .filter(|&s| s > 0)
        .map(|s| s.saturating_mul(1_000_000_000))
        .ok_or_else(|| alloc::format!("--{arg} must be a positive number of seconds"))
}
