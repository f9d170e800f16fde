//! Frames as smoltcp writes them and as Linux's tap hands them over,
//! checked with smoltcp's own checksum verification.

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, TcpControl, TcpPacket,
    TcpRepr, TcpSeqNumber,
};

use super::*;

const A: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
const B: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

/// A segment from port 40000 to 80 carrying `payload`; `syn` with an
/// MSS option of `mss`.
fn tcp_repr(payload: &[u8], syn: Option<u16>) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        control: if syn.is_some() {
            TcpControl::Syn
        } else {
            TcpControl::None
        },
        seq_number: TcpSeqNumber(1),
        ack_number: None,
        window_len: 1024,
        window_scale: None,
        max_seg_size: syn,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    }
}

/// An Ethernet frame with `tcp_repr(payload, syn)` from A to B, with a
/// valid checksum.
fn v4_frame(payload: &[u8], syn: Option<u16>) -> Vec<u8> {
    let tcp = tcp_repr(payload, syn);
    let ip = Ipv4Repr {
        src_addr: A,
        dst_addr: B,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        ethertype: EthernetProtocol::Ipv4,
    };
    let caps = ChecksumCapabilities::default();
    let mut buf = vec![0; HEADER + eth.buffer_len() + ip.buffer_len() + tcp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[HEADER..]);
    eth.emit(&mut frame);
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, &caps);
    tcp.emit(
        &mut TcpPacket::new_unchecked(packet.payload_mut()),
        &IpAddress::Ipv4(A),
        &IpAddress::Ipv4(B),
        &caps,
    );
    buf
}

/// Whether the TCP checksum of the IPv4 frame after the header is valid.
fn v4_valid(buf: &[u8]) -> bool {
    let frame = EthernetFrame::new_checked(&buf[HEADER..]).unwrap();
    let packet = Ipv4Packet::new_checked(frame.payload()).unwrap();
    TcpPacket::new_checked(packet.payload())
        .unwrap()
        .verify_checksum(&IpAddress::Ipv4(A), &IpAddress::Ipv4(B))
}

fn le(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}

/// What the host does with a `NEEDS_CSUM` frame: sums from `csum_start`
/// (the field holds the pseudo-header's sum) and stores the complement.
fn complete_as_the_host(buf: &mut [u8]) {
    let (start, offset) = (usize::from(le(buf, 6)), usize::from(le(buf, 8)));
    let eth = &mut buf[HEADER..];
    let check = !sum(&eth[start..]);
    eth[start + offset..start + offset + 2].copy_from_slice(&check.to_be_bytes());
}

#[test]
fn a_long_segment_goes_out_for_the_host_to_cut_and_checksum() {
    let payload: Vec<u8> = (0..60_000u32).map(|i| (i * 7) as u8).collect();
    let mut buf = v4_frame(&payload, None);
    // As smoltcp leaves it with checksum offload: zero.
    buf[HEADER + 34 + 16..HEADER + 34 + 18].fill(0);
    transmit(&mut buf, 1500);
    assert_eq!(buf[0], NEEDS_CSUM);
    assert_eq!(buf[1], GSO_TCPV4);
    assert_eq!(le(&buf, 2), 14 + 20 + 20, "hdr_len: headers to the payload");
    assert_eq!(le(&buf, 4), 1460, "gso_size: a 1,500-byte wire's payload");
    assert_eq!(
        (le(&buf, 6), le(&buf, 8)),
        (34, 16),
        "csum_start, csum_offset"
    );
    assert!(
        !v4_valid(&buf),
        "the field holds only the pseudo-header's sum"
    );
    complete_as_the_host(&mut buf);
    assert!(
        v4_valid(&buf),
        "the host's completion gives a valid checksum"
    );
}

#[test]
fn a_short_segment_is_checksummed_by_the_host_and_not_cut() {
    let mut buf = v4_frame(b"hello", None);
    buf[HEADER + 34 + 16..HEADER + 34 + 18].fill(0);
    transmit(&mut buf, 1500);
    assert_eq!((buf[0], buf[1], le(&buf, 4)), (NEEDS_CSUM, 0, 0));
    complete_as_the_host(&mut buf);
    assert!(v4_valid(&buf));
    // Exactly one wire segment: not cut either.
    let mut buf = v4_frame(&[1; 1460], None);
    transmit(&mut buf, 1500);
    assert_eq!(buf[1], 0, "1,460 bytes fit a 1,500-byte wire");
}

#[test]
fn frames_other_than_tcp_go_out_with_an_empty_header() {
    let mut buf = vec![0xaa; HEADER];
    buf.extend_from_slice(&crate::device::tests::arp_request());
    let arp = buf[HEADER..].to_vec();
    transmit(&mut buf, 1500);
    assert_eq!(buf[..HEADER], [0; HEADER]);
    assert_eq!(buf[HEADER..], arp[..], "the frame itself is untouched");
}

#[test]
fn tcp_from_the_host_is_trusted_and_any_other_verified() {
    let payload: Vec<u8> = (0..30_000u32).map(|i| (i * 13) as u8).collect();
    // As Linux hands over a coalesced segment of its own: the
    // pseudo-header's sum in the field, NEEDS_CSUM with where to start.
    let mut partial = v4_frame(&payload, None);
    partial[HEADER + 34 + 16..HEADER + 34 + 18].fill(0);
    transmit(&mut partial, 1500);
    let before = partial.clone();
    assert!(receive(&mut partial, 1500), "the host's own segment");
    assert_eq!(partial, before, "taken as it is");
    // Verified by the host (a NIC's): taken, whatever the field says.
    let mut valid = v4_frame(&payload, None);
    valid[0] = DATA_VALID;
    valid[HEADER + 34 + 16] ^= 0xff;
    assert!(receive(&mut valid, 1500));
    // No flags: verified here.
    let mut plain = v4_frame(&payload, None);
    assert!(receive(&mut plain, 1500));
    plain[HEADER + 34 + 16] ^= 0xff;
    assert!(!receive(&mut plain, 1500), "a bad checksum is dropped");
}

#[test]
fn a_partial_udp_checksum_from_the_host_is_completed() {
    use smoltcp::wire::{UdpPacket, UdpRepr};
    let udp = UdpRepr {
        src_port: 53,
        dst_port: 40000,
    };
    let payload = b"an answer of some length";
    let ip = Ipv4Repr {
        src_addr: A,
        dst_addr: B,
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: 64,
    };
    let caps = ChecksumCapabilities::default();
    let mut buf = vec![0; HEADER + 14 + 20 + udp.header_len() + payload.len()];
    buf[HEADER + 12..HEADER + 14].copy_from_slice(&[0x08, 0x00]);
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[HEADER + 14..]);
    ip.emit(&mut packet, &caps);
    udp.emit(
        &mut UdpPacket::new_unchecked(packet.payload_mut()),
        &IpAddress::Ipv4(A),
        &IpAddress::Ipv4(B),
        payload.len(),
        |b| b.copy_from_slice(payload),
        &caps,
    );
    let valid = |buf: &[u8]| {
        let packet = Ipv4Packet::new_checked(&buf[HEADER + 14..]).unwrap();
        UdpPacket::new_checked(packet.payload())
            .unwrap()
            .verify_checksum(&IpAddress::Ipv4(A), &IpAddress::Ipv4(B))
    };
    assert!(valid(&buf));
    // The host's partial form: the pseudo-header's sum in the field.
    let field = HEADER + 34 + 6;
    buf[field..field + 2].fill(0);
    let len = (udp.header_len() + payload.len()) as u32;
    let partial = add(sum(&buf[HEADER + 26..HEADER + 34]), add(17, len as u16));
    buf[field..field + 2].copy_from_slice(&partial.to_be_bytes());
    buf[0] = NEEDS_CSUM;
    buf[6..8].copy_from_slice(&34u16.to_le_bytes());
    buf[8..10].copy_from_slice(&6u16.to_le_bytes());
    assert!(!valid(&buf));
    assert!(receive(&mut buf, 1500));
    assert!(valid(&buf), "completed for smoltcp to verify");
}

#[test]
fn a_header_pointing_outside_its_frame_drops_the_frame() {
    let mut buf = v4_frame(b"hi", None);
    buf[0] = NEEDS_CSUM;
    buf[6..8].copy_from_slice(&60_000u16.to_le_bytes());
    assert!(!receive(&mut buf, 1500));
    assert!(!receive(&mut [0; 4], 1500), "shorter than the header");
}

/// The MSS option's value in the IPv4 SYN after the header.
fn mss(buf: &[u8]) -> u16 {
    let frame = EthernetFrame::new_checked(&buf[HEADER..]).unwrap();
    let packet = Ipv4Packet::new_checked(frame.payload()).unwrap();
    let tcp = TcpPacket::new_checked(packet.payload()).unwrap();
    let repr = TcpRepr::parse(
        &tcp,
        &IpAddress::Ipv4(A),
        &IpAddress::Ipv4(B),
        &ChecksumCapabilities::ignored(),
    )
    .unwrap();
    repr.max_seg_size.unwrap()
}

#[test]
fn a_syn_covering_a_wire_segment_has_its_mss_raised_and_stays_valid() {
    let mut buf = v4_frame(&[], Some(1460));
    assert!(receive(&mut buf, 1500));
    assert_eq!(mss(&buf), RAISED_MSS);
    assert!(v4_valid(&buf));
    // A peer behind a tunnel keeps its MSS: smoltcp's segments to it fit.
    let mut buf = v4_frame(&[], Some(1400));
    assert!(receive(&mut buf, 1500));
    assert_eq!(mss(&buf), 1400);
    // A SYN with a bad checksum is dropped, as any segment.
    let mut buf = v4_frame(&[], Some(1460));
    buf[HEADER + 34 + 16] ^= 0xff;
    assert!(!receive(&mut buf, 1500));
}

#[test]
fn ipv6_segments_are_cut_as_tcpv6_and_their_syns_raised() {
    let (a, b) = (
        Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        Ipv6Address::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
    );
    let frame_with = |payload: &[u8], syn: Option<u16>| {
        let tcp = tcp_repr(payload, syn);
        let ip = Ipv6Repr {
            src_addr: a,
            dst_addr: b,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0; HEADER + 14 + ip.buffer_len() + tcp.buffer_len()];
        buf[HEADER + 12..HEADER + 14].copy_from_slice(&[0x86, 0xdd]);
        let mut packet = Ipv6Packet::new_unchecked(&mut buf[HEADER + 14..]);
        ip.emit(&mut packet);
        tcp.emit(
            &mut TcpPacket::new_unchecked(packet.payload_mut()),
            &IpAddress::Ipv6(a),
            &IpAddress::Ipv6(b),
            &ChecksumCapabilities::default(),
        );
        buf
    };
    let valid = |buf: &[u8]| {
        let packet = Ipv6Packet::new_checked(&buf[HEADER + 14..]).unwrap();
        TcpPacket::new_checked(packet.payload())
            .unwrap()
            .verify_checksum(&IpAddress::Ipv6(a), &IpAddress::Ipv6(b))
    };
    let mut buf = frame_with(&[9; 20_000], None);
    buf[HEADER + 54 + 16..HEADER + 54 + 18].fill(0);
    transmit(&mut buf, 1500);
    assert_eq!((buf[1], le(&buf, 4), le(&buf, 6)), (GSO_TCPV6, 1440, 54));
    complete_as_the_host(&mut buf);
    assert!(valid(&buf));

    let mut syn = frame_with(&[], Some(1440));
    assert!(receive(&mut syn, 1500));
    assert!(valid(&syn));
    assert_eq!(
        &syn[HEADER + 54 + 22..HEADER + 54 + 24],
        RAISED_MSS.to_be_bytes()
    );
}

#[test]
fn short_and_random_frames_never_panic_the_offload_path() {
    use mirage_runtime::fuzz::Rng;
    // A header, then the start of an IPv4 or IPv6 frame cut anywhere.
    let whole = v4_frame(&[7; 64], Some(1460));
    for cut in 0..whole.len() {
        let mut short = whole[..cut].to_vec();
        let _ = receive(&mut short, 1500);
    }
    let mut rng = Rng::new(0x5eed_0ff1_0ad5_eed5);
    for _ in 0..200_000 {
        let len = (rng.next_u64() % 200) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if len > HEADER + 14 {
            let types: [[u8; 2]; 2] = [[0x08, 0x00], [0x86, 0xdd]];
            let ethertype = types[(rng.next_u64() % 2) as usize];
            f[HEADER + 12..HEADER + 14].copy_from_slice(&ethertype);
            if len > HEADER + 23 && rng.next_u64().is_multiple_of(2) {
                f[HEADER + 14] = 0x45;
                f[HEADER + 23] = TCP;
            }
        }
        let mut sent = f.clone();
        let _ = receive(&mut f, 1500);
        if sent.len() >= HEADER {
            transmit(&mut sent, 1500);
        }
    }
}
