//! A single-threaded executor with timers.
//!
//! [`run`] polls the main future and any [`spawn`]ed tasks when woken, fires
//! due timers, and otherwise sleeps in [`Platform::wait`] until the earliest
//! timer deadline. It never busy-polls: with nothing ready it waits.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};

use crate::global::Global;
use crate::platform::{self, Platform};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Task id of the main future.
const MAIN: usize = usize::MAX;

/// A task slot. A task being polled is out of its slot, which stays
/// `Running` so that tasks it spawns cannot take (and lose) its place.
enum Slot {
    Free,
    Running,
    Parked(Task),
}

struct Executor {
    tasks: Vec<Slot>,
    ready: VecDeque<usize>,
    /// Wakers by (deadline, sequence number): ordered, and unique.
    timers: BTreeMap<(u64, u64), Waker>,
    next_timer: u64,
}

// SAFETY: the executor runs on the unikernel's one thread (on a host, in
// a test holding `mirage_unix::run_test`'s lock).
#[allow(unsafe_code)] // Global::new
static EXECUTOR: Global<RefCell<Executor>> = unsafe {
    Global::new(RefCell::new(Executor {
        tasks: Vec::new(),
        ready: VecDeque::new(),
        timers: BTreeMap::new(),
        next_timer: 0,
    }))
};

fn with<R>(f: impl FnOnce(&mut Executor) -> R) -> R {
    f(&mut EXECUTOR.get().borrow_mut())
}

struct TaskWaker(usize);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        with(|e| {
            if !e.ready.contains(&self.0) {
                e.ready.push_back(self.0);
            }
        });
    }
}

/// Starts `task` in the background, like `Lwt.async`.
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    with(|e| {
        let id = e
            .tasks
            .iter()
            .position(|s| matches!(s, Slot::Free))
            .unwrap_or(e.tasks.len());
        if id == e.tasks.len() {
            e.tasks.push(Slot::Free);
        }
        e.tasks[id] = Slot::Parked(Box::pin(task));
        e.ready.push_back(id);
    });
}

/// Registers `waker` to be woken at `deadline`; returns the timer's key.
pub(crate) fn add_timer(deadline: u64, waker: Waker) -> (u64, u64) {
    with(|e| {
        let key = (deadline, e.next_timer);
        e.next_timer += 1;
        e.timers.insert(key, waker);
        key
    })
}

/// Forgets a timer (its future was dropped or re-registered).
pub(crate) fn remove_timer(key: (u64, u64)) {
    with(|e| e.timers.remove(&key));
}

/// Runs `main` to completion on `platform`, with every spawned task.
pub fn run<F: Future>(platform: &'static dyn Platform, main: F) -> F::Output {
    platform::install(platform);
    let mut main = pin!(main);
    let main_waker = Waker::from(Arc::new(TaskWaker(MAIN)));
    with(|e| e.ready.push_back(MAIN));
    loop {
        while let Some(id) = with(|e| e.ready.pop_front()) {
            if id == MAIN {
                if let Poll::Ready(v) = main.as_mut().poll(&mut Context::from_waker(&main_waker)) {
                    return v;
                }
                continue;
            }
            // Take the task out so it may spawn or wake others while polled.
            let taken = with(|e| match e.tasks.get_mut(id) {
                Some(slot @ Slot::Parked(_)) => match core::mem::replace(slot, Slot::Running) {
                    Slot::Parked(task) => Some(task),
                    _ => None,
                },
                _ => None,
            });
            let Some(mut task) = taken else {
                continue;
            };
            let waker = Waker::from(Arc::new(TaskWaker(id)));
            let pending = task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending();
            // A finished task is dropped here, outside the executor's
            // borrow: its destructors may wake or spawn.
            let slot = if pending {
                Slot::Parked(task)
            } else {
                Slot::Free
            };
            with(|e| {
                e.tasks[id] = slot;
                // After a burst of tasks the table gives back what it no
                // longer needs (a woken id past its end is skipped above).
                while matches!(e.tasks.last(), Some(Slot::Free)) {
                    e.tasks.pop();
                }
                if e.tasks.len() * 4 < e.tasks.capacity() {
                    e.tasks.shrink_to(e.tasks.len() * 2);
                }
            });
        }
        let now = platform.now_ns();
        let due: Vec<Waker> = with(|e| {
            let later = e.timers.split_off(&(now.saturating_add(1), 0));
            core::mem::replace(&mut e.timers, later)
                .into_values()
                .collect()
        });
        if !due.is_empty() {
            due.into_iter().for_each(Waker::wake);
            continue;
        }
        let next = with(|e| e.timers.keys().next().map(|k| k.0));
        platform.wait(next);
    }
}

/// The output of `fut`, which must complete on its first poll (a store's
/// file or memory I/O in a host test); panics if it would wait.
pub fn ready<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future waited"),
    }
}
