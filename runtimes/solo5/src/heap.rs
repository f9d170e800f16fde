//! The heap allocator, over the region Solo5 hands to the application.
//!
//! Invariant: [`Heap::init`] runs once, before the first allocation, with a
//! region nothing else uses; the stack lives above it (see `STACK_SIZE`).
//! The generated crate declares the `#[global_allocator]` static: lang
//! items belong to the final image, not to this library.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use linked_list_allocator::LockedHeap;

/// A first-fit heap allocator for the image, which remembers its peak.
pub struct Heap(LockedHeap, AtomicUsize);

impl Heap {
    /// An allocator with no memory yet.
    pub const fn empty() -> Heap {
        Heap(LockedHeap::empty(), AtomicUsize::new(0))
    }

    /// Bytes currently allocated.
    pub fn used(&self) -> usize {
        self.0.lock().used()
    }

    /// The most bytes ever allocated at once.
    pub fn peak(&self) -> usize {
        self.1.load(Ordering::Relaxed)
    }

    /// Gives `size` bytes at `start` to the allocator.
    ///
    /// # Safety
    /// See the module invariant.
    pub unsafe fn init(&self, start: usize, size: usize) {
        // SAFETY: the region is valid and unused (module invariant).
        unsafe { self.0.lock().init(start as *mut u8, size) };
    }
}

// SAFETY: delegates to `LockedHeap`, a correct `GlobalAlloc`.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // As `LockedHeap` allocates, and the peak read under the same lock.
        let mut heap = self.0.lock();
        let block = heap
            .allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), |b| b.as_ptr());
        // One thread (see `mirage_runtime::global`): no read-modify-write
        // needed, and a plain load and store cost next to nothing.
        if heap.used() > self.1.load(Ordering::Relaxed) {
            self.1.store(heap.used(), Ordering::Relaxed);
        }
        block
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}
