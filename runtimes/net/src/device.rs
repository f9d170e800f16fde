//! smoltcp's view of a `Net` device.
//!
//! `RawNet` erases the device type so the stack state is not generic; the
//! driver keeps the typed device for its `readable` future.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, Checksum, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::IpAddress;

use mirage_runtime::metrics::{self, Counter};
use mirage_types::{Net, NetError};

use crate::offload;
use crate::peers::{Admission, Key, Limits, Peers};

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
    /// The frame being sent, reused.
    tx: Vec<u8>,
    /// The wire's MTU when frames carry an offload header (see
    /// [`offload`]).
    offload: Option<usize>,
    /// Frames sent so far.
    pub(crate) sent: u64,
    /// Connection requests (TCP SYNs) the current poll may still take.
    pub(crate) syns: usize,
    /// A SYN read beyond that, kept for the next poll (its length).
    pub(crate) held: Option<usize>,
    /// Connections on listening ports: a SYN for one of them is dropped.
    pub(crate) peers: Peers,
    /// SYNs dropped at a connection limit.
    refused: u64,
    /// Frames and bytes each way, and drops, for `metrics`.
    traffic: Traffic,
}

/// The interface's metrics (see `mirage_runtime::metrics`).
pub(crate) struct Traffic {
    rx_frames: Counter,
    rx_bytes: Counter,
    tx_frames: Counter,
    tx_bytes: Counter,
    syn_drops: Counter,
    tx_drops: Counter,
}

impl Traffic {
    /// The series of the interface with MAC address `mac`.
    fn new(mac: [u8; 6]) -> Traffic {
        let mac = alloc::format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            mac[0],
            mac[1],
            mac[2],
            mac[3],
            mac[4],
            mac[5]
        );
        let frames = |direction| {
            metrics::counter(
                "mirage_net_frames_total",
                "Ethernet frames through the interface (a segment of up to 64 KiB with offload).",
                &[("mac", &mac), ("direction", direction)],
            )
        };
        let bytes = |direction| {
            metrics::counter(
                "mirage_net_bytes_total",
                "Bytes of Ethernet frames through the interface.",
                &[("mac", &mac), ("direction", direction)],
            )
        };
        let drops = |reason| {
            metrics::counter(
                "mirage_net_drops_total",
                "Frames dropped: SYNs past a connection limit, frames the device would not send.",
                &[("mac", &mac), ("reason", reason)],
            )
        };
        Traffic {
            rx_frames: frames("rx"),
            rx_bytes: bytes("rx"),
            tx_frames: frames("tx"),
            tx_bytes: bytes("tx"),
            syn_drops: drops("syn_limit"),
            tx_drops: drops("transmit_error"),
        }
    }
}

/// The connection `frame` opens, if it is a TCP SYN without ACK, over IPv4
/// or IPv6 (no extension headers).
pub(crate) fn syn_key(frame: &[u8]) -> Option<Key> {
    let (peer, tcp) = match frame.get(12..14)? {
        [0x08, 0x00] => {
            let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
            if frame.get(23) != Some(&6) {
                return None;
            }
            let src: [u8; 4] = frame.get(26..30)?.try_into().ok()?;
            (IpAddress::Ipv4(src.into()), 14 + ihl)
        }
        [0x86, 0xdd] => {
            if frame.get(20) != Some(&6) {
                return None;
            }
            let src: [u8; 16] = frame.get(22..38)?.try_into().ok()?;
            (IpAddress::Ipv6(src.into()), 54)
        }
        _ => return None,
    };
    let header = frame.get(tcp..tcp + 14)?;
    let port = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    (header[13] & 0x12 == 0x02).then(|| (peer, port(0), port(2)))
}

impl Device {
    pub(crate) fn new<N: Net + 'static>(net: N, limits: Limits) -> Device {
        let offload = net.offload().then(|| net.mtu());
        let frame = match offload {
            Some(_) => vec![0; offload::HEADER + offload::MAX_FRAME],
            None => vec![0; net.mtu() + ETHERNET_HEADER],
        };
        Device {
            traffic: Traffic::new(net.mac()),
            net: Box::new(net),
            tx: frame.clone(),
            frame,
            offload,
            sent: 0,
            syns: usize::MAX,
            held: None,
            peers: Peers::new(limits),
            refused: 0,
        }
    }

    /// The largest IP packet the wire carries (UDP datagrams are not cut
    /// for it).
    pub(crate) fn mtu(&self) -> usize {
        self.net.mtu()
    }

    /// The largest IP packet a frame carries.
    fn ip_mtu(&self) -> usize {
        match self.offload {
            Some(_) => offload::IP_MTU,
            None => self.net.mtu(),
        }
    }
}

/// Bytes in front of each frame: the offload header, if frames carry it.
fn skip(offload: Option<usize>) -> usize {
    offload.map_or(0, |_| offload::HEADER)
}

pub(crate) struct RxToken<'a>(&'a [u8]);
pub(crate) struct TxToken<'a> {
    net: &'a dyn RawNet,
    traffic: &'a Traffic,
    buf: &'a mut Vec<u8>,
    sent: &'a mut u64,
    offload: Option<usize>,
}

impl phy::Device for Device {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let skip = skip(self.offload);
        let len = loop {
            // A held frame has been through `offload::receive` already.
            let len = match self.held.take() {
                Some(len) => len,
                None => match self.net.read(&mut self.frame) {
                    Ok(Some(len)) => match self.offload {
                        Some(wire) if !offload::receive(&mut self.frame[..len], wire) => continue,
                        _ => len,
                    },
                    Ok(None) => return None,
                    Err(e) => {
                        log::warn!(target: "tcpip", "receive: {e}");
                        return None;
                    }
                },
            };
            let Some(key) = syn_key(&self.frame[skip..len]) else {
                break len;
            };
            if self.syns == 0 {
                self.held = Some(len);
                return None;
            }
            match self.peers.admit(key) {
                Admission::Admit => {
                    self.syns -= 1;
                    break len;
                }
                Admission::Again => {
                    log::debug!(target: "tcpip", "SYN again from {}:{}: left to its connection", key.0, key.1);
                }
                Admission::Full(limit) => {
                    self.refused += 1;
                    self.traffic.syn_drops.inc();
                    // Every power of two: an attack shows, and does not
                    // flood the console.
                    if self.refused.is_power_of_two() {
                        log::warn!(target: "tcpip", "{} SYNs dropped so far, the last from {} at {limit}", self.refused, key.0);
                    }
                }
            }
        };
        self.traffic.rx_frames.inc();
        self.traffic.rx_bytes.add((len - skip) as u64);
        Some((
            RxToken(&self.frame[skip..len]),
            TxToken {
                net: &*self.net,
                traffic: &self.traffic,
                buf: &mut self.tx,
                sent: &mut self.sent,
                offload: self.offload,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            net: &*self.net,
            traffic: &self.traffic,
            buf: &mut self.tx,
            sent: &mut self.sent,
            offload: self.offload,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.ip_mtu() + ETHERNET_HEADER;
        if self.offload.is_some() {
            // Verified or trusted on the way in, completed by the host on
            // the way out (see `offload`).
            caps.checksum.tcp = Checksum::None;
        }
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
        let skip = skip(self.offload);
        if self.buf.len() < skip + len {
            self.buf.resize(skip + len, 0);
        }
        let frame = &mut self.buf[..skip + len];
        let result = f(&mut frame[skip..]);
        if let Some(wire) = self.offload {
            offload::transmit(frame, wire);
        }
        match self.net.write(frame) {
            Ok(()) => {
                *self.sent += 1;
                self.traffic.tx_frames.inc();
                self.traffic.tx_bytes.add(len as u64);
            }
            Err(e) => {
                self.traffic.tx_drops.inc();
                log::warn!(target: "tcpip", "transmit: {e}");
            }
        }
        result
    }
}

#[cfg(test)]
pub(crate) mod tests;
