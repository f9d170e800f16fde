//! `netif` on Solo5: a NET_BASIC device named in the manifest, attached by
//! the tender (`--net:NAME=TAP`).
//!
//! Readiness: [`Net::readable`] registers a waker for the device's handle;
//! the platform hook passes a ready set to `solo5_yield` and wakes the
//! handles it returns (see [`wake_ready`]).
#![allow(unsafe_code)]

use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::task::{Poll, Waker};

use mirage_runtime::global::Global;
use mirage_types::NetError;

use crate::ffi;

/// Handles that became ready, and the wakers waiting for them.
struct Registry {
    ready: u64,
    waiting: Vec<(u64, Waker)>,
}

// SAFETY: a Solo5 unikernel has one thread and no interrupt handlers.
static REGISTRY: Global<RefCell<Registry>> = unsafe {
    Global::new(RefCell::new(Registry {
        ready: 0,
        waiting: Vec::new(),
    }))
};

/// Marks the handles in `set` ready and wakes whoever waits for them.
pub(crate) fn wake_ready(set: u64) {
    let woken: Vec<Waker> = {
        let mut r = REGISTRY.get().borrow_mut();
        r.ready |= set;
        let (ready, waiting): (Vec<_>, Vec<_>) =
            r.waiting.drain(..).partition(|(h, _)| set & (1 << h) != 0);
        r.waiting = waiting;
        ready.into_iter().map(|(_, w)| w).collect()
    };
    woken.into_iter().for_each(Waker::wake);
}

/// A Solo5 network interface.
#[derive(Clone, Copy, Debug)]
pub struct Net {
    handle: u64,
    mac: [u8; 6],
    mtu: usize,
    offload: bool,
}

impl Net {
    /// Acquires the interface `name`.
    pub async fn connect(name: &'static str) -> Result<Net, String> {
        let cname =
            CString::new(name).map_err(|_| format!("network device name {name:?} has a NUL"))?;
        let mut handle = 0;
        let mut info = ffi::NetInfo::default();
        // SAFETY: valid NUL-terminated name and out-pointers.
        let r = unsafe { ffi::solo5_net_acquire(cname.as_ptr().cast(), &mut handle, &mut info) };
        if r != ffi::R_OK {
            return Err(format!(
                "network device {name}: not attached (solo5_net_acquire: {r})"
            ));
        }
        Ok(Net {
            handle,
            mac: info.mac_address,
            mtu: info.mtu,
            offload: info.offload != 0,
        })
    }
}

impl mirage_types::Net for Net {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn offload(&self) -> bool {
        self.offload
    }

    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        let mut len = 0;
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        match unsafe { ffi::solo5_net_read(self.handle, buf.as_mut_ptr(), buf.len(), &mut len) } {
            ffi::R_OK => Ok(Some(len)),
            ffi::R_AGAIN => Ok(None),
            r => Err(NetError::Device(format!("solo5_net_read: {r}"))),
        }
    }

    fn readable(&self) -> impl Future<Output = ()> {
        let handle = self.handle;
        poll_fn(move |cx| {
            let mut r = REGISTRY.get().borrow_mut();
            if r.ready & (1 << handle) != 0 {
                r.ready &= !(1 << handle);
                return Poll::Ready(());
            }
            r.waiting.retain(|(h, _)| *h != handle);
            r.waiting.push((handle, cx.waker().clone()));
            Poll::Pending
        })
    }

    fn write(&self, frame: &[u8]) -> Result<(), NetError> {
        // SAFETY: `frame` is valid for `frame.len()` bytes.
        match unsafe { ffi::solo5_net_write(self.handle, frame.as_ptr(), frame.len()) } {
            ffi::R_OK => Ok(()),
            r => Err(NetError::Device(format!("solo5_net_write: {r}"))),
        }
    }
}
