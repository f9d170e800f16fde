//! The input path under garbage: frames that are random, or nearly
//! valid (right MAC and EtherType, mangled ARP, IPv4, IPv6, ICMP, TCP,
//! UDP), must never panic the stack.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;

use mirage_runtime::fuzz::Rng;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr,
};

use super::*;

/// The stack's MAC address in the tests.
pub(crate) const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

/// A `Net` whose received frames are queued by the test and whose sent
/// frames it reads.
#[derive(Clone, Default)]
pub(crate) struct FakeNet {
    pub(crate) rx: Rc<RefCell<VecDeque<Vec<u8>>>>,
    pub(crate) tx: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl Net for FakeNet {
    fn mac(&self) -> [u8; 6] {
        MAC
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        Ok(self.rx.borrow_mut().pop_front().map(|f| {
            let n = f.len().min(buf.len());
            buf[..n].copy_from_slice(&f[..n]);
            n
        }))
    }
    async fn readable(&self) {}
    fn write(&self, frame: &[u8]) -> Result<(), NetError> {
        self.tx.borrow_mut().push(frame.to_vec());
        Ok(())
    }
}

/// Our IPv6 address in the test: fd00::2.
const IPV6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// A frame: random, or a valid Ethernet header to us with a mangled
/// IPv4 or IPv6 (often TCP or UDP to the listening port, or ICMP) or ARP
/// payload.
fn frame(rng: &mut Rng) -> Vec<u8> {
    let len = (rng.next_u64() % 1514) as usize;
    let mut f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    if len < 58 || rng.next_u64().is_multiple_of(4) {
        return f;
    }
    f[..6].copy_from_slice(if rng.next_u64().is_multiple_of(2) {
        &MAC
    } else {
        &[0xff; 6]
    });
    let (ethertype, transport) = match rng.next_u64() % 5 {
        0 => ([0x08, 0x06], None),
        1 | 2 => {
            f[14] = 0x45;
            if rng.next_u64().is_multiple_of(2) {
                f[16..18].copy_from_slice(&((len - 14) as u16).to_be_bytes());
            }
            f[23] = [6, 17, 1, (rng.next_u64() as u8)][(rng.next_u64() % 4) as usize];
            f[30..34].copy_from_slice(&[10, 0, 0, 2]);
            ([0x08, 0x00], Some((f[23], 34)))
        }
        _ => {
            f[14] = 0x60;
            if rng.next_u64().is_multiple_of(2) {
                f[18..20].copy_from_slice(&((len - 54) as u16).to_be_bytes());
            }
            f[20] = [6, 17, 58, (rng.next_u64() as u8)][(rng.next_u64() % 4) as usize];
            f[38..54].copy_from_slice(&IPV6);
            ([0x86, 0xdd], Some((f[20], 54)))
        }
    };
    f[12..14].copy_from_slice(&ethertype);
    if let Some((6 | 17, at)) = transport {
        if len >= at + 4 {
            f[at + 2..at + 4].copy_from_slice(&7u16.to_be_bytes());
        }
    }
    f
}

#[test]
fn a_million_malformed_frames_do_not_panic_the_stack() {
    let net = FakeNet::default();
    let mut device = Device::new(net.clone(), Limits::NONE);
    let config = Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC)));
    let mut iface = Interface::new(config, &mut device, Instant::from_millis(0));
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(
            Ipv4Address::new(10, 0, 0, 2),
            24,
        )));
        let _ = a.push(IpCidr::Ipv6(Ipv6Cidr::new(Ipv6Address::from(IPV6), 64)));
    });
    let mut sockets = SocketSet::new(Vec::new());
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4096]),
        tcp::SocketBuffer::new(vec![0; 4096]),
    );
    socket.listen(7).unwrap();
    sockets.add(socket);
    let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
    let mut socket = udp::Socket::new(buffer(), buffer());
    socket.bind(7).unwrap();
    let udp = sockets.add(socket);
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let frames = 1_000_000;
    for i in 0..frames {
        net.rx.borrow_mut().push_back(frame(&mut rng));
        iface.poll(Instant::from_millis(i as i64), &mut device, &mut sockets);
        // As the stack does after each poll (lib.rs): the SYNs it saw are
        // settled, not counted again for every later frame.
        device.peers.settle();
        while sockets.get_mut::<udp::Socket>(udp).recv().is_ok() {}
        net.tx.borrow_mut().clear();
    }
    assert!(net.rx.borrow().is_empty(), "every frame was consumed");
    // The stack still works: a valid ARP request gets its reply.
    net.rx.borrow_mut().push_back(arp_request());
    iface.poll(
        Instant::from_millis(frames as i64),
        &mut device,
        &mut sockets,
    );
    assert_eq!(net.tx.borrow().len(), 1, "no ARP reply after the garbage");
}

/// "Who has 10.0.0.2? Tell 10.0.0.1", from 02:00:00:00:00:02.
pub(crate) fn arp_request() -> Vec<u8> {
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, EthernetRepr,
    };
    let peer = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: peer,
        source_protocol_addr: Ipv4Address::new(10, 0, 0, 1),
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: Ipv4Address::new(10, 0, 0, 2),
    };
    let eth = EthernetRepr {
        src_addr: peer,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let mut buf = vec![0; eth.buffer_len() + arp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf);
    eth.emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

#[test]
fn syns_are_told_from_other_segments_and_name_their_connection() {
    // Ethernet, IPv4 (IHL 5, protocol TCP) from 10.0.0.1, TCP from
    // port 40000 to 80, flags at offset 13.
    let mut v4 = vec![0u8; 14 + 20 + 20];
    v4[12..14].copy_from_slice(&[0x08, 0x00]);
    v4[14] = 0x45;
    v4[23] = 6;
    v4[26..30].copy_from_slice(&[10, 0, 0, 1]);
    v4[34..36].copy_from_slice(&40000u16.to_be_bytes());
    v4[36..38].copy_from_slice(&80u16.to_be_bytes());
    v4[14 + 20 + 13] = 0x02;
    let peer = IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 1));
    assert_eq!(syn_key(&v4), Some((peer, 40000, 80)));
    v4[14 + 20 + 13] = 0x12;
    assert_eq!(syn_key(&v4), None, "SYN-ACK");
    let mut v6 = vec![0u8; 14 + 40 + 20];
    v6[12..14].copy_from_slice(&[0x86, 0xdd]);
    v6[20] = 6;
    v6[22..38].copy_from_slice(&IPV6);
    v6[54..56].copy_from_slice(&40000u16.to_be_bytes());
    v6[56..58].copy_from_slice(&443u16.to_be_bytes());
    v6[54 + 13] = 0x02;
    let peer = IpAddress::Ipv6(Ipv6Address::from(IPV6));
    assert_eq!(syn_key(&v6), Some((peer, 40000, 443)));
    assert_eq!(syn_key(&v6[..40]), None, "truncated");
    assert_eq!(syn_key(&v6[..60]), None, "truncated TCP header");
}
