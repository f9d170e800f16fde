//! smoltcp's view of a `Net` device.
//!
//! `RawNet` erases the device type so the stack state is not generic; the
//! driver keeps the typed device for its `readable` future.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use mirage_types::{Net, NetError};

/// Ethernet header bytes, which the MTU of `Net` leaves out.
const ETHERNET_HEADER: usize = 14;

/// The non-async part of `Net`.
pub(crate) trait RawNet {
    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError>;
    fn write(&self, frame: &[u8]) -> Result<(), NetError>;
    fn mtu(&self) -> usize;
}

impl<N: Net> RawNet for N {
    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        Net::read(self, buf)
    }

    fn write(&self, frame: &[u8]) -> Result<(), NetError> {
        Net::write(self, frame)
    }

    fn mtu(&self) -> usize {
        Net::mtu(self)
    }
}

/// A `Net` device as a smoltcp PHY.
pub(crate) struct Device {
    net: Box<dyn RawNet>,
    frame: Vec<u8>,
}

impl Device {
    pub(crate) fn new<N: Net + 'static>(net: N) -> Device {
        let frame = vec![0; net.mtu() + ETHERNET_HEADER];
        Device {
            net: Box::new(net),
            frame,
        }
    }
}

pub(crate) struct RxToken<'a>(&'a [u8]);
pub(crate) struct TxToken<'a>(&'a dyn RawNet);

impl phy::Device for Device {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        match self.net.read(&mut self.frame) {
            Ok(Some(len)) => Some((RxToken(&self.frame[..len]), TxToken(&*self.net))),
            Ok(None) => None,
            Err(e) => {
                log::warn!(target: "tcpip", "receive: {e}");
                None
            }
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&*self.net))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.net.mtu() + ETHERNET_HEADER;
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        if let Err(e) = self.0.write(&frame) {
            log::warn!(target: "tcpip", "transmit: {e}");
        }
        result
    }
}
