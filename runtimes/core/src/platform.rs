//! The platform hook: what each target provides to the runtime.

use core::cell::Cell;

use crate::global::Global;

/// What a target (unix, Solo5) provides to the runtime.
pub trait Platform {
    /// Monotonic time in nanoseconds.
    fn now_ns(&self) -> u64;
    /// Blocks until `deadline` (monotonic ns) passes or a device may be
    /// ready; `None` waits for a device only. May return early.
    fn wait(&self, deadline: Option<u64>);
    /// Writes bytes to the console, synchronously, best effort.
    fn write_console(&self, bytes: &[u8]);
    /// Ends the unikernel with `code`.
    fn exit(&self, code: i32) -> !;
    /// Bytes of heap in use, where the platform manages the heap itself.
    fn heap_used(&self) -> Option<usize> {
        None
    }
    /// The most bytes of heap ever in use at once, where the platform
    /// manages the heap itself.
    fn heap_peak(&self) -> Option<usize> {
        None
    }
}

#[allow(unsafe_code)] // Global::new
static PLATFORM: Global<Cell<Option<&'static dyn Platform>>> =
    // SAFETY: reached from the runtime's one thread only.
    unsafe { Global::new(Cell::new(None)) };

/// Installs the platform; the first thing generated `main` code does.
pub fn install(platform: &'static dyn Platform) {
    PLATFORM.get().set(Some(platform));
}

/// The installed platform.
///
/// # Panics
/// If called before [`install`]: generated code always installs first.
pub fn get() -> &'static dyn Platform {
    PLATFORM
        .get()
        .get()
        .expect("mirage_runtime::platform::install was not called")
}
