//! Segmentation and checksum offload through the tap: when the tender
//! opened it with `IFF_VNET_HDR` (toolchains/solo5/patches/
//! 0002-net-offload.patch), every frame carries a `struct virtio_net_hdr`
//! ([`HEADER`] bytes) in front, and the host cuts and checksums for us.
//!
//! Sending: smoltcp sees an MTU of 64 KiB and leaves TCP checksums to us.
//! Every TCP frame goes out with `NEEDS_CSUM` and the pseudo-header sum in
//! its checksum field, which the host completes; a segment longer than
//! one wire segment goes out as GSO (`TCPV4` or `TCPV6`) with `gso_size`
//! a full wire segment's payload, and the host cuts it for the wire (the
//! device's MTU, 1,500 bytes on an ordinary tap).
//!
//! smoltcp sends no segment longer than the peer's MSS, so a SYN's MSS
//! that covers a full wire segment is raised to [`RAISED_MSS`] on the way
//! in; a smaller one (a peer behind a tunnel) is left alone, and smoltcp's
//! segments to that peer never need cutting.
//!
//! Receiving: the host may hand us coalesced segments of up to 64 KiB.
//! A TCP segment the host's own stack wrote (`NEEDS_CSUM`: its checksum
//! left partial, its bytes never on a wire) or one whose checksum the host
//! verified (`DATA_VALID`) is taken as it is, as virtio-net drivers take
//! them; any other is verified here, so smoltcp verifies no TCP checksum.
//! A partial checksum of another protocol (UDP) is completed for smoltcp
//! to verify.

/// Bytes of `struct virtio_net_hdr` (without `num_buffers`, which needs
/// `VIRTIO_NET_F_MRG_RXBUF`).
pub(crate) const HEADER: usize = 10;

/// The largest IP packet either way (IPv4's total length is 16 bits).
pub(crate) const IP_MTU: usize = 65535;

/// The largest frame after the header: Ethernet, an IPv6 header and a
/// payload of 64 KiB.
pub(crate) const MAX_FRAME: usize = 14 + 40 + IP_MTU;

/// The MSS a peer's SYN is raised to: a segment with headers and options
/// stays under [`IP_MTU`] (smoltcp leaves options out of its sizing).
pub(crate) const RAISED_MSS: u16 = 64_000;

const NEEDS_CSUM: u8 = 1;
const DATA_VALID: u8 = 2;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const TCP: u8 = 6;

/// Where a frame's TCP segment lies.
struct Tcp {
    /// Offset of the IP header.
    ip: usize,
    /// Offset of the TCP header.
    at: usize,
    /// Bytes from the TCP header to the end of the IP packet.
    len: usize,
    v6: bool,
}

/// The big-endian 16 bits at `at` in `frame`, if it is that long.
fn be16(frame: &[u8], at: usize) -> Option<usize> {
    let bytes = frame.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([bytes[0], bytes[1]])))
}

/// The TCP segment of an Ethernet frame, if it has one (IPv4 without
/// fragments, or IPv6 without extension headers), within the frame.
fn tcp(frame: &[u8]) -> Option<Tcp> {
    let ip = 14;
    let (at, end, v6) = match frame.get(12..14)? {
        [0x08, 0x00] => {
            let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
            let total = be16(frame, ip + 2)?;
            let fragment = be16(frame, ip + 6)? & 0x3fff;
            if *frame.get(ip + 9)? != TCP || ihl < 20 || fragment != 0 {
                return None;
            }
            (ip + ihl, ip + total, false)
        }
        [0x86, 0xdd] => {
            let payload = be16(frame, ip + 4)?;
            if *frame.get(ip + 6)? != TCP {
                return None;
            }
            (ip + 40, ip + 40 + payload, true)
        }
        _ => return None,
    };
    (end <= frame.len() && at + 20 <= end).then(|| Tcp {
        ip,
        at,
        len: end - at,
        v6,
    })
}

/// Where the IP packet in `frame` ends (Ethernet padding follows), or
/// the frame's end if that is not known.
fn packet_end(frame: &[u8]) -> usize {
    let end = match frame.get(12..14) {
        Some([0x08, 0x00]) => be16(frame, 16).map(|total| total + 14),
        Some([0x86, 0xdd]) => be16(frame, 18).map(|payload| payload + 54),
        _ => None,
    };
    end.map_or(frame.len(), |e| e.min(frame.len()))
}

/// The one's-complement sum of `data` as 16-bit big-endian words, folded
/// (not complemented); an odd last byte counts as its high half.
fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc += u64::from(u32::from_be_bytes(tail));
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// One's-complement addition of folded sums.
fn add(a: u16, b: u16) -> u16 {
    let s = u32::from(a) + u32::from(b);
    ((s & 0xffff) + (s >> 16)) as u16
}

/// The pseudo-header's sum for `t` in `frame`.
fn pseudo(frame: &[u8], t: &Tcp) -> u16 {
    let addrs = match t.v6 {
        false => &frame[t.ip + 12..t.ip + 20],
        true => &frame[t.ip + 8..t.ip + 40],
    };
    let len = t.len as u32;
    add(
        sum(addrs),
        add(u16::from(TCP), add((len >> 16) as u16, len as u16)),
    )
}

/// Fills `frame[..HEADER]` for the Ethernet frame after it, as smoltcp
/// wrote it with TCP checksums left zero: `NEEDS_CSUM` for TCP, and GSO
/// when its payload is longer than one segment of a `wire_mtu` wire.
pub(crate) fn transmit(frame: &mut [u8], wire_mtu: usize) {
    frame[..HEADER].fill(0);
    let eth = &mut frame[HEADER..];
    let Some(t) = tcp(eth) else {
        return;
    };
    let tcp_header = (usize::from(eth[t.at + 12] >> 4) * 4).min(t.len);
    let check = pseudo(eth, &t);
    eth[t.at + 16..t.at + 18].copy_from_slice(&check.to_be_bytes());
    let ip_header = t.at - t.ip;
    let segment = wire_mtu.saturating_sub(ip_header + tcp_header);
    let gso = t.len - tcp_header > segment && segment > 0;
    let mut header = [0u8; HEADER];
    header[0] = NEEDS_CSUM;
    if gso {
        header[1] = if t.v6 { GSO_TCPV6 } else { GSO_TCPV4 };
        header[2..4].copy_from_slice(&((t.at + tcp_header) as u16).to_le_bytes());
        header[4..6].copy_from_slice(&(segment as u16).to_le_bytes());
    }
    header[6..8].copy_from_slice(&(t.at as u16).to_le_bytes());
    header[8..10].copy_from_slice(&16u16.to_le_bytes());
    frame[..HEADER].copy_from_slice(&header);
}

/// Makes the frame after `frame[..HEADER]` one smoltcp takes as it is
/// (see the module's contract), and raises the MSS of a SYN that covers a
/// full segment of a `wire_mtu` wire. False when the frame is to be
/// dropped: its header is malformed, or its TCP checksum is wrong.
pub(crate) fn receive(frame: &mut [u8], wire_mtu: usize) -> bool {
    let Some(header) = frame.get(..HEADER) else {
        return false;
    };
    let flags = header[0];
    let start = usize::from(u16::from_le_bytes([header[6], header[7]]));
    let offset = usize::from(u16::from_le_bytes([header[8], header[9]]));
    let eth = &mut frame[HEADER..];
    let segment = tcp(eth);
    if flags & NEEDS_CSUM != 0 {
        let end = packet_end(eth);
        let Some(field) = start.checked_add(offset).filter(|f| f + 2 <= end) else {
            return false;
        };
        if segment.as_ref().is_none_or(|t| t.at != start) {
            let check = !sum(&eth[start..end]);
            eth[field..field + 2].copy_from_slice(&check.to_be_bytes());
        }
    } else if flags & DATA_VALID == 0 {
        if let Some(t) = &segment {
            if add(pseudo(eth, t), sum(&eth[t.at..t.at + t.len])) != 0xffff {
                return false;
            }
        }
    }
    if let Some(t) = &segment {
        raise_mss(eth, t, wire_mtu);
    }
    true
}

/// Raises the MSS option of `t`, if a TCP SYN in `frame`, to
/// [`RAISED_MSS`] if it covers a full wire segment, and recomputes the
/// checksum if the segment had a valid one.
fn raise_mss(frame: &mut [u8], t: &Tcp, wire_mtu: usize) {
    if frame[t.at + 13] & 0x02 == 0 {
        return;
    }
    let tcp_header = (usize::from(frame[t.at + 12] >> 4) * 4).min(t.len);
    let full = wire_mtu.saturating_sub(t.at - t.ip + 20);
    let mut i = t.at + 20;
    let end = t.at + tcp_header;
    while i < end {
        match frame[i] {
            0 => return,
            1 => i += 1,
            kind => {
                let Some(&len) = frame.get(i + 1).filter(|_| i + 1 < end) else {
                    return;
                };
                let len = usize::from(len);
                if len < 2 || i + len > end {
                    return;
                }
                if kind == 2 && len == 4 {
                    let mss = u16::from_be_bytes([frame[i + 2], frame[i + 3]]);
                    if usize::from(mss) < full || mss >= RAISED_MSS {
                        return;
                    }
                    let segment = t.at..t.at + t.len;
                    let valid = add(pseudo(frame, t), sum(&frame[segment.clone()])) == 0xffff;
                    frame[i + 2..i + 4].copy_from_slice(&RAISED_MSS.to_be_bytes());
                    if valid {
                        frame[t.at + 16..t.at + 18].fill(0);
                        let check = !add(pseudo(frame, t), sum(&frame[segment]));
                        frame[t.at + 16..t.at + 18].copy_from_slice(&check.to_be_bytes());
                    }
                    return;
                }
                i += len;
            }
        }
    }
}

#[cfg(test)]
mod tests;
