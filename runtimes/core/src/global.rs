//! Global state of the single-threaded runtime (also used by platform
//! crates for their device registries).
//!
//! Invariant: a unikernel has exactly one thread, and no interrupt handler
//! touches runtime state, so a `static` may hand out shared references to
//! its `RefCell` without synchronisation. Host tests, which have threads,
//! run the runtime through `mirage_unix::run_test`, one at a time under a
//! lock, so no two threads touch it at once. This is the crate's only
//! `unsafe`.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;

/// A `static`-friendly cell; see the module invariant. Making one is
/// `unsafe`: whoever declares the `static` promises it.
pub struct Global<T>(UnsafeCell<T>);

// SAFETY: every `Global` was made under the promise of `Global::new`: one
// thread at a time, so no data race can occur.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// A cell holding `value`.
    ///
    /// # Safety
    /// The cell is only ever reached from one thread at a time: the
    /// unikernel's thread, or a host test holding the runtime's lock.
    pub const unsafe fn new(value: T) -> Self {
        Global(UnsafeCell::new(value))
    }

    /// Shared access to the contents. Mutation goes through an inner
    /// `Cell`/`RefCell`, which enforces exclusivity at run time.
    pub fn get(&self) -> &T {
        // SAFETY: no `&mut T` is ever created; see the module invariant.
        unsafe { &*self.0.get() }
    }
}
