//! One peer, 10.0.0.1:40000, and a listener on port 80, on a fake
//! device: segments in, segments out, time as the test says.

use alloc::boxed::Box;
use alloc::rc::Rc;

use smoltcp::iface::{Config, Interface};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::AnySocket;
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, HardwareAddress, IpAddress,
    IpCidr, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket,
    TcpRepr, TcpSeqNumber,
};

use super::*;
use crate::device::tests::{arp_request, FakeNet, MAC};
use crate::device::Device;
use crate::peers::Limits;

const US: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);

/// A TCP segment from the peer's port 40000 to port 80.
fn segment(control: TcpControl, seq: i32, ack: Option<TcpSeqNumber>) -> Vec<u8> {
    segment_from(40000, control, seq, ack)
}

/// A TCP segment from the peer's `port` to port 80.
fn segment_from(port: u16, control: TcpControl, seq: i32, ack: Option<TcpSeqNumber>) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: port,
        dst_port: 80,
        control,
        seq_number: TcpSeqNumber(seq),
        ack_number: ack,
        window_len: 64240,
        window_scale: None,
        max_seg_size: (control == TcpControl::Syn).then_some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: PEER,
        dst_addr: US,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress([0x02, 0, 0, 0, 0, 2]),
        dst_addr: EthernetAddress(MAC),
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf);
    eth.emit(&mut frame);
    let caps = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    tcp.emit(
        &mut TcpPacket::new_unchecked(packet.payload_mut()),
        &IpAddress::Ipv4(PEER),
        &IpAddress::Ipv4(US),
        &caps,
    );
    buf
}

/// A segment the stack sent.
#[derive(Debug)]
struct Sent {
    synack: bool,
    rst: bool,
    seq: TcpSeqNumber,
}

struct Harness {
    net: FakeNet,
    device: Device,
    iface: Interface,
    sockets: Table,
    listener: Listener,
}

impl Harness {
    /// The listener, with a hole in the lowest slot of the socket set,
    /// where the next listening socket goes; no connection limits.
    fn new() -> Harness {
        Harness::with_limits(Limits::NONE)
    }

    fn with_limits(limits: Limits) -> Harness {
        let net = FakeNet::default();
        let mut device = Device::new(net.clone(), limits);
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC))),
            &mut device,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(US, 24)));
        });
        let mut sockets = Table::new();
        let hole = sockets.add(tcp_socket(64));
        let handler: Handler<Flow> = Rc::new(|_| Box::pin(async {}));
        let listener = Listener::new(&mut sockets, 80, 1024, handler).unwrap();
        sockets.remove(hole);
        net.rx.borrow_mut().push_back(arp_request());
        Harness {
            net,
            device,
            iface,
            sockets,
            listener,
        }
    }

    /// One driver turn at `ms` with `frames` received: the connections
    /// accepted, the connections known by peer, the segments sent.
    fn turn(&mut self, ms: i64, frames: &[Vec<u8>]) -> (usize, usize, Vec<Sent>) {
        self.net.rx.borrow_mut().extend(frames.iter().cloned());
        self.device.syns = BACKLOG;
        let now = Instant::from_millis(ms);
        self.iface.poll(now, &mut self.device, &mut self.sockets);
        let accepted = self
            .listener
            .accept(&mut self.sockets, &mut self.device.peers, 1024);
        self.device.peers.settle();
        let sent = self
            .net
            .tx
            .borrow_mut()
            .drain(..)
            .filter_map(|f| {
                let frame = EthernetFrame::new_checked(&f[..]).ok()?;
                let ip = Ipv4Packet::new_checked(frame.payload()).ok()?;
                let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
                Some(Sent {
                    synack: tcp.syn() && tcp.ack(),
                    rst: tcp.rst(),
                    seq: tcp.seq_number(),
                })
            })
            .collect();
        (accepted.len(), self.device.peers.len(), sent)
    }

    /// Sockets that are not listening.
    fn connections(&self) -> Vec<tcp::State> {
        self.sockets
            .iter()
            .filter_map(|(_, s)| tcp::Socket::downcast(s).map(tcp::Socket::state))
            .filter(|s| *s != tcp::State::Listen)
            .collect()
    }

    /// The handshake at 0 ms: the SYN-ACK's sequence number.
    fn connect(&mut self) -> TcpSeqNumber {
        let (accepted, peers, sent) = self.turn(0, &[segment(TcpControl::Syn, 1000, None)]);
        assert_eq!((accepted, peers), (0, 1));
        let synack: Vec<&Sent> = sent.iter().filter(|s| s.synack).collect();
        assert_eq!(synack.len(), 1, "{sent:?}");
        let isn = synack[0].seq;
        let ack = segment(TcpControl::None, 1001, Some(isn + 1));
        assert_eq!(self.turn(1, &[ack]).0, 1, "accepted");
        isn
    }
}

#[test]
fn a_syn_sent_again_is_left_to_its_handshake_not_taken_by_a_listening_socket() {
    let mut h = Harness::new();
    let syn = segment(TcpControl::Syn, 1000, None);
    let (_, _, sent) = h.turn(0, core::slice::from_ref(&syn));
    let isn = sent.iter().find(|s| s.synack).expect("a SYN-ACK").seq;
    // The peer's SYN again (its SYN-ACK was late): the listening
    // socket in the lowest slot would take it. Its own SYN-ACK may be
    // sent again, never another one.
    let (accepted, peers, sent) = h.turn(1000, &[syn]);
    assert_eq!((accepted, peers), (0, 1));
    assert!(
        sent.iter().all(|s| (!s.synack || s.seq == isn) && !s.rst),
        "a second handshake: {sent:?}"
    );
    let ack = segment(TcpControl::None, 1001, Some(isn + 1));
    let (accepted, peers, sent) = h.turn(1001, &[ack]);
    assert_eq!((accepted, peers), (1, 1));
    assert!(
        sent.iter().all(|s| !s.rst),
        "the connection was reset: {sent:?}"
    );
    assert_eq!(h.connections(), [tcp::State::Established]);
}

#[test]
fn an_idle_connection_lives_while_its_peer_answers_probes() {
    let mut h = Harness::new();
    let isn = h.connect();
    // Ten minutes quiet on both sides, but for the stack's keep-alive
    // probes, which the peer acknowledges.
    let mut probes = 0;
    for second in 1..=600 {
        let (_, _, sent) = h.turn(second * 1000, &[]);
        assert!(sent.iter().all(|s| !s.rst), "reset at {second} s: {sent:?}");
        if !sent.is_empty() {
            probes += 1;
            h.turn(
                second * 1000 + 1,
                &[segment(TcpControl::None, 1001, Some(isn + 1))],
            );
        }
    }
    // One every TCP_KEEP_ALIVE (10 s) of quiet, seen at whole seconds.
    assert!((50..=60).contains(&probes), "{probes} probes");
    assert_eq!(h.connections(), [tcp::State::Established]);
}

#[test]
fn a_connection_whose_peer_went_silent_is_aborted_after_the_timeout() {
    let mut h = Harness::new();
    h.connect();
    let mut aborted = None;
    for second in 1..=60 {
        let (_, _, sent) = h.turn(second * 1000, &[]);
        if sent.iter().any(|s| s.rst) {
            aborted = Some(second);
            break;
        }
    }
    // The peer's last segment came at 1 ms: TCP_TIMEOUT (30 s) later,
    // at the first turn after.
    assert_eq!(aborted, Some(31), "aborted after the peer's last segment");
    assert_eq!(h.connections(), [tcp::State::Closed]);
}

/// A SYN flood: the port keeps HALF_OPEN half-open connections, the
/// newest, and a client that completes its handshake gets in.
#[test]
fn a_syn_flood_keeps_only_the_newest_half_open_connections() {
    let mut h = Harness::new();
    let mut synacks = alloc::collections::BTreeMap::new();
    for (turn, ports) in (1..=1000u16)
        .collect::<Vec<_>>()
        .chunks(BACKLOG)
        .enumerate()
    {
        let syns: Vec<_> = ports
            .iter()
            .map(|&p| segment_from(p, TcpControl::Syn, 1000, None))
            .collect();
        let (_, peers, sent) = h.turn(turn as i64, &syns);
        assert!(peers <= HALF_OPEN, "{peers} half-open kept");
        for (s, &p) in sent.iter().filter(|s| s.synack).zip(ports) {
            synacks.insert(p, s.seq);
        }
    }
    assert_eq!(h.connections().len(), HALF_OPEN);
    let isn = synacks[&1000];
    let ack = segment_from(1000, TcpControl::None, 1001, Some(isn + 1));
    assert_eq!(h.turn(100, &[ack]).0, 1, "the newest handshake completes");
}

/// Past its limits a SYN is dropped: no SYN-ACK, no socket, no reset.
#[test]
fn syns_past_the_connection_limits_are_dropped() {
    let mut h = Harness::with_limits(Limits {
        max: 3,
        per_peer: 2,
    });
    let syns: Vec<_> = (1..=3)
        .map(|p| segment_from(p, TcpControl::Syn, 1000, None))
        .collect();
    let (_, peers, sent) = h.turn(0, &syns);
    assert_eq!(peers, 2, "two from one peer");
    assert_eq!(sent.iter().filter(|s| s.synack).count(), 2, "{sent:?}");
    assert!(sent.iter().all(|s| !s.rst), "{sent:?}");
}
