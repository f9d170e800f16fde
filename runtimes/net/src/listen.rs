//! Listening TCP ports. [`BACKLOG`] sockets listen on each port; a socket
//! that takes a SYN is replaced at once and completes its handshake among
//! the pending; established ones are handed to the port's handler.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

use crate::peers::Peers;
use crate::{socket_addr, Flow, Handler, TCP_TIMEOUT};

/// Sockets listening on each port, and connection requests (SYNs) taken
/// per driver turn (the listening sockets are renewed between turns):
/// connections that arrive together (wrk opens 32 at once) find one each
/// instead of a reset.
pub(crate) const BACKLOG: usize = 16;

/// A TCP socket with `buffer` bytes each way, tuned for the tap.
pub(crate) fn tcp_socket(buffer: usize) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; buffer]),
        tcp::SocketBuffer::new(vec![0; buffer]),
    );
    // Acknowledge every segment: smoltcp's 10 ms delayed ACK holds the
    // sender's window back (bench/network.sh: 381 -> 450-510 MB/s on spt).
    socket.set_ack_delay(None);
    // No Nagle (nginx sets TCP_NODELAY too): a response's last small
    // segment would wait for the ACK a Linux peer delays by 40 ms
    // (bench/network.sh, 1 MiB responses: 24 MB/s with Nagle).
    socket.set_nagle_enabled(false);
    socket
}

fn listening_socket(
    sockets: &mut SocketSet<'static>,
    port: u16,
    buffer: usize,
) -> Result<SocketHandle, String> {
    let mut socket = tcp_socket(buffer);
    // A SYN never acknowledged (a SYN flood) frees its socket in time.
    socket.set_timeout(Some(TCP_TIMEOUT));
    socket
        .listen(port)
        .map_err(|e| format!("listen on {port}: {e}"))?;
    Ok(sockets.add(socket))
}

/// One listening port.
pub(crate) struct Listener {
    port: u16,
    /// [`BACKLOG`] sockets listening on `port`.
    sockets: Vec<SocketHandle>,
    /// Sockets that left `sockets` with a SYN, until they are established.
    pending: Vec<SocketHandle>,
    handler: Handler<Flow>,
}

impl Listener {
    /// Listens on `port` with connections of `buffer` bytes each way.
    pub(crate) fn new(
        sockets: &mut SocketSet<'static>,
        port: u16,
        buffer: usize,
        handler: Handler<Flow>,
    ) -> Result<Listener, String> {
        Ok(Listener {
            port,
            sockets: (0..BACKLOG)
                .map(|_| listening_socket(sockets, port, buffer))
                .collect::<Result<_, _>>()?,
            pending: Vec::new(),
            handler,
        })
    }

    /// Established connections, each with its handler and peer; a socket
    /// listens again in the place of each that took a SYN.
    /// Each socket that took a SYN is its peer's in `peers`.
    pub(crate) fn accept(
        &mut self,
        sockets: &mut SocketSet<'static>,
        peers: &mut Peers,
        buffer: usize,
    ) -> Vec<(Handler<Flow>, SocketHandle, String)> {
        for slot in &mut self.sockets {
            let socket = sockets.get::<tcp::Socket>(*slot);
            if socket.state() == tcp::State::Listen {
                continue;
            }
            peers.taken(socket, *slot);
            let Ok(fresh) = listening_socket(sockets, self.port, buffer) else {
                continue;
            };
            self.pending.push(core::mem::replace(slot, fresh));
        }
        let mut accepted = Vec::new();
        self.pending.retain(|&h| {
            let socket = sockets.get::<tcp::Socket>(h);
            match socket.state() {
                tcp::State::SynReceived => true,
                // Reset during the handshake (smoltcp listens again), or
                // timed out: nothing to hand over.
                tcp::State::Listen | tcp::State::Closed => {
                    sockets.remove(h);
                    peers.freed(h);
                    false
                }
                _ => {
                    let peer = socket
                        .remote_endpoint()
                        .map_or_else(|| "?".into(), |e| format!("{}", socket_addr(e)));
                    accepted.push((self.handler.clone(), h, peer));
                    false
                }
            }
        });
        accepted
    }
}

#[cfg(test)]
mod tests {
    //! A SYN sent again while its handshake is under way, with a listening
    //! socket in a lower slot of the set than the handshake's socket.

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

    const US: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
    const PEER: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);

    /// A TCP segment from 10.0.0.1:40000 to port 80.
    fn segment(control: TcpControl, seq: i32, ack: Option<TcpSeqNumber>) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: 40000,
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

    /// The TCP segments the stack sent: (SYN-ACK?, RST?, sequence number).
    fn sent(net: &FakeNet) -> Vec<(bool, bool, TcpSeqNumber)> {
        net.tx
            .borrow_mut()
            .drain(..)
            .filter_map(|f| {
                let frame = EthernetFrame::new_checked(&f[..]).ok()?;
                let ip = Ipv4Packet::new_checked(frame.payload()).ok()?;
                let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
                Some((tcp.syn() && tcp.ack(), tcp.rst(), tcp.seq_number()))
            })
            .collect()
    }

    #[test]
    fn a_syn_sent_again_is_left_to_its_handshake_not_taken_by_a_listening_socket() {
        let net = FakeNet::default();
        let mut device = Device::new(net.clone());
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC))),
            &mut device,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(US, 24)));
        });
        let mut sockets = SocketSet::new(Vec::new());
        // A hole in the lowest slot, where the next listening socket goes.
        let hole = sockets.add(tcp_socket(64));
        let handler: Handler<Flow> = Rc::new(|_| Box::pin(async {}));
        let mut listener = Listener::new(&mut sockets, 80, 1024, handler).unwrap();
        sockets.remove(hole);
        let mut turn = |t: i64, frames: &[Vec<u8>], listener: &mut Listener| {
            net.rx.borrow_mut().extend(frames.iter().cloned());
            device.syns = BACKLOG;
            iface.poll(Instant::from_millis(t), &mut device, &mut sockets);
            let accepted = listener.accept(&mut sockets, &mut device.peers, 1024);
            device.peers.settle();
            (accepted.len(), device.peers.len())
        };
        let syn = segment(TcpControl::Syn, 1000, None);
        assert_eq!(
            turn(0, &[arp_request(), syn.clone()], &mut listener),
            (0, 1)
        );
        let replies = sent(&net);
        let synack: Vec<_> = replies.iter().filter(|r| r.0).collect();
        assert_eq!(synack.len(), 1, "{replies:?}");
        let isn = synack[0].2;
        // The peer's SYN again (its SYN-ACK was late), then its ACK.
        assert_eq!(turn(1000, &[syn], &mut listener), (0, 1));
        // Its own SYN-ACK may be sent again, never another one.
        let replies = sent(&net);
        assert!(
            replies.iter().all(|r| (!r.0 || r.2 == isn) && !r.1),
            "a second handshake: {replies:?}"
        );
        let ack = segment(TcpControl::None, 1001, Some(isn + 1));
        assert_eq!(turn(1001, &[ack], &mut listener), (1, 1));
        assert!(sent(&net).iter().all(|r| !r.1), "the connection was reset");
        assert_eq!(
            sockets
                .iter()
                .filter(|(_, s)| matches!(
                    tcp::Socket::downcast(s),
                    Some(s) if s.state() != tcp::State::Listen
                ))
                .count(),
            1,
            "one socket for the peer"
        );
    }
}
