//! Path-MTU discovery as Linux does it, for a stack smoltcp runs.
//!
//! Learning: an ICMP "fragmentation needed" (type 3 code 4) quoting a packet this host sent
//! lowers the path MTU to its destination (`__ip_rt_update_pmtu`): never raised by one,
//! never below `min_pmtu` (552), kept `mtu_expires` (600 s), as the route exception
//! `ip route get` shows (`cache expires 599sec mtu 1400`).
//!
//! Using: smoltcp reads its MTU once, per interface, when the interface is made, and a TCP
//! socket's send MSS cannot be changed after the handshake. So the device segments instead,
//! as Linux's GSO does: a TCP segment larger than the path MTU to its destination leaves as
//! consecutive segments that fit, with the sequence numbers, flags and checksums the kernel
//! would give them. On the wire this is what Linux sends once `tcp_sync_mss` lowered the
//! connection's MSS. The segment the router dropped is sent again when smoltcp retransmits
//! it (its RTO), where Linux retransmits at once (`tcp_simple_retransmit`).

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, IpAddress,
    IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket,
};

use crate::link::ETH_HEADER_LEN;
use crate::time::{Duration, Instant};

/// net.ipv4.route.mtu_expires.
pub const MTU_EXPIRES: Duration = Duration::from_secs(600);
const HALF_EXPIRES: Duration = Duration::from_secs(300);
/// net.ipv4.route.min_pmtu.
pub const MIN_PMTU: u32 = 552;

/// A route exception: the path MTU to `dst`, until `expires`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    pub dst: Ipv4Address,
    pub mtu: u32,
    pub expires: Instant,
}

/// The host's learned path MTUs, one per destination (few: kept in a small vector).
#[derive(Default, Debug)]
pub struct PathMtu {
    entries: Vec<Exception>,
}

impl PathMtu {
    /// The live exception for `dst`, if any.
    pub fn get(&self, dst: Ipv4Address, now: Instant) -> Option<Exception> {
        self.entries
            .iter()
            .find(|e| e.dst == dst && e.expires > now)
            .copied()
    }

    /// The live exceptions, oldest first.
    pub fn live(&self, now: Instant) -> impl Iterator<Item = &Exception> {
        self.entries.iter().filter(move |e| e.expires > now)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The path MTU to `dst` when a live exception lowers it below `link_mtu`.
    #[inline]
    pub fn lowered(&self, dst: Ipv4Address, link_mtu: u32, now: Instant) -> Option<u32> {
        self.get(dst, now).map(|e| e.mtu).filter(|&m| m < link_mtu)
    }

    /// Records "fragmentation needed" for `dst` with the next hop's `mtu`, as
    /// `__ip_rt_update_pmtu` does; `link_mtu` is the route's own MTU.
    pub fn update(&mut self, dst: Ipv4Address, mtu: u32, link_mtu: u32, now: Instant) {
        self.entries.retain(|e| e.expires > now);
        let old = self.get(dst, now).map_or(link_mtu, |e| e.mtu);
        if mtu > old {
            return;
        }
        let mtu = if mtu < MIN_PMTU {
            old.min(MIN_PMTU)
        } else {
            mtu
        };
        let entry = Exception {
            dst,
            mtu,
            expires: now + MTU_EXPIRES,
        };
        match self.entries.iter_mut().find(|e| e.dst == dst) {
            // The kernel keeps the expiry while the value is unchanged and young.
            Some(e) if e.mtu == mtu && e.expires > now + HALF_EXPIRES => {}
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }
}

/// A "fragmentation needed" in an IPv4 packet: (the quoted packet's source, its destination,
/// the next-hop MTU, the quoted transport protocol and the quoted bytes after the IP header).
pub fn frag_needed(ip: &[u8]) -> Option<(Ipv4Address, Ipv4Address, u32, IpProtocol, &[u8])> {
    let ip = Ipv4Packet::new_checked(ip).ok()?;
    if ip.next_header() != IpProtocol::Icmp {
        return None;
    }
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    if icmp.msg_type() != Icmpv4Message::DstUnreachable
        || Icmpv4DstUnreachable::from(icmp.msg_code()) != Icmpv4DstUnreachable::FragRequired
    {
        return None;
    }
    // The next-hop MTU is the low half of the "unused" word (RFC 1191).
    let raw = ip.payload();
    let mtu = u32::from(u16::from_be_bytes([raw[6], raw[7]]));
    let quote = icmp.data();
    // The quote is cut short of the packet's own length: check only its header.
    if quote.len() < 20 {
        return None;
    }
    let inner = Ipv4Packet::new_unchecked(quote);
    let hl = usize::from(inner.header_len());
    let rest = quote.get(hl.max(20)..)?;
    Some((
        inner.src_addr(),
        inner.dst_addr(),
        mtu,
        inner.next_header(),
        rest,
    ))
}

/// Whether `frame` (Ethernet, IPv4, TCP) needs segmenting to fit `pmtu`, and to whom it goes.
#[inline]
pub fn tcp_dst(frame: &[u8]) -> Option<Ipv4Address> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    (ip.next_header() == IpProtocol::Tcp).then(|| ip.dst_addr())
}

/// Where segments go: pooled buffers in, frames out (the engine's outbox, in a host).
pub trait Out {
    fn buffer(&mut self) -> Vec<u8>;
    fn send(&mut self, frame: Vec<u8>);
}

/// Sends the TCP segment in `frame` (Ethernet, IPv4, TCP) as segments whose IP packets fit
/// `pmtu`, in order; `frame` itself becomes the last. A frame that fits, or that cannot be
/// split (no payload, headers too long), is sent unchanged.
pub fn segment(mut frame: Vec<u8>, pmtu: usize, out: &mut impl Out) {
    let Some((ip_hl, tcp_hl, total)) = headers(&frame) else {
        return out.send(frame);
    };
    let head = ETH_HEADER_LEN + ip_hl + tcp_hl;
    let payload = total - ip_hl - tcp_hl;
    if total <= pmtu || payload == 0 || pmtu <= ip_hl + tcp_hl {
        return out.send(frame);
    }
    let mss = pmtu - ip_hl - tcp_hl;
    let mut offset = 0;
    let mut piece = 0u16;
    while payload - offset > mss {
        let mut buf = out.buffer();
        buf.extend_from_slice(&frame[..head]);
        buf.extend_from_slice(&frame[head + offset..head + offset + mss]);
        fix(&mut buf, offset, piece, false);
        out.send(buf);
        offset += mss;
        piece += 1;
    }
    frame.copy_within(head + offset..head + payload, head);
    frame.truncate(head + payload - offset);
    fix(&mut frame, offset, piece, true);
    out.send(frame);
}

/// (IP header length, TCP header length, IP total length) of a well-formed frame.
fn headers(frame: &[u8]) -> Option<(usize, usize, usize)> {
    let ip = Ipv4Packet::new_checked(frame.get(ETH_HEADER_LEN..)?).ok()?;
    let ip_hl = usize::from(ip.header_len());
    let total = usize::from(ip.total_len());
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let tcp_hl = usize::from(tcp.header_len());
    (ip.next_header() == IpProtocol::Tcp && ip_hl + tcp_hl <= total)
        .then_some((ip_hl, tcp_hl, total))
}

/// Makes a piece a segment of its own: its length, IP id (one more per piece, as GSO
/// numbers them), sequence number and flags (PSH and FIN only on the last), checksums.
fn fix(buf: &mut [u8], offset: usize, piece: u16, last: bool) {
    let mut ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..]);
    let len = ip.as_ref().len() as u16;
    ip.set_total_len(len);
    ip.set_ident(ip.ident().wrapping_add(piece));
    ip.fill_checksum();
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
    tcp.set_seq_number(tcp.seq_number() + offset);
    if !last {
        tcp.set_psh(false);
        tcp.set_fin(false);
    }
    tcp.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Out for Vec<Vec<u8>> {
        fn buffer(&mut self) -> Vec<u8> {
            Vec::new()
        }
        fn send(&mut self, frame: Vec<u8>) {
            self.push(frame);
        }
    }

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }
    const D: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

    #[test]
    fn frag_needed_lowers_never_raises_and_expires() {
        let mut p = PathMtu::default();
        p.update(D, 1400, 1500, at(1));
        assert_eq!(p.lowered(D, 1500, at(2)), Some(1400));
        p.update(D, 1450, 1500, at(3));
        assert_eq!(p.get(D, at(3)).unwrap().mtu, 1400);
        p.update(D, 1300, 1500, at(4));
        assert_eq!(p.get(D, at(4)).unwrap().expires, at(604));
        assert_eq!(p.lowered(D, 1500, at(603)), Some(1300));
        assert_eq!(p.lowered(D, 1500, at(604)), None);
        // An MTU at or above the link's is no exception.
        p.update(D, 1500, 1500, at(700));
        assert!(p.get(D, at(700)).is_some_and(|e| e.mtu == 1500));
        assert_eq!(p.lowered(D, 1500, at(700)), None);
    }

    #[test]
    fn below_min_pmtu_is_min_pmtu() {
        let mut p = PathMtu::default();
        p.update(D, 300, 1500, at(0));
        assert_eq!(p.get(D, at(0)).unwrap().mtu, MIN_PMTU);
    }

    #[test]
    fn same_value_keeps_a_young_expiry() {
        let mut p = PathMtu::default();
        p.update(D, 1400, 1500, at(0));
        p.update(D, 1400, 1500, at(10));
        assert_eq!(p.get(D, at(10)).unwrap().expires, at(600));
        p.update(D, 1400, 1500, at(400));
        assert_eq!(p.get(D, at(400)).unwrap().expires, at(1000));
    }

    fn segment_frame(payload: usize, flags: u8) -> Vec<u8> {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{Ipv4Repr, TcpControl, TcpRepr, TcpSeqNumber};
        let data: Vec<u8> = (0..payload).map(|i| i as u8).collect();
        let tcp = TcpRepr {
            src_port: 80,
            dst_port: 40000,
            control: if flags == 1 {
                TcpControl::Fin
            } else {
                TcpControl::Psh
            },
            seq_number: TcpSeqNumber(1000),
            ack_number: Some(TcpSeqNumber(5)),
            window_len: 64000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &data,
        };
        let ip = Ipv4Repr {
            src_addr: Ipv4Address::new(10, 0, 1, 2),
            dst_addr: D,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0; ETH_HEADER_LEN + ip.buffer_len() + tcp.buffer_len()];
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_ethertype(EthernetProtocol::Ipv4);
        let caps = ChecksumCapabilities::default();
        let mut p = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip.emit(&mut p, &caps);
        p.set_ident(7);
        p.fill_checksum();
        tcp.emit(
            &mut TcpPacket::new_unchecked(p.payload_mut()),
            &IpAddress::Ipv4(ip.src_addr),
            &IpAddress::Ipv4(ip.dst_addr),
            &caps,
        );
        buf
    }

    #[test]
    fn a_big_segment_leaves_as_valid_segments_that_fit() {
        let frame = segment_frame(3000, 0);
        assert_eq!(tcp_dst(&frame), Some(D));
        let mut out: Vec<Vec<u8>> = Vec::new();
        segment(frame, 1400, &mut out);
        assert_eq!(out.len(), 3);
        let mut next = 1000u32;
        let mut bytes = Vec::new();
        for (i, f) in out.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(&f[ETH_HEADER_LEN..]).unwrap();
            assert!(ip.verify_checksum());
            assert!(usize::from(ip.total_len()) <= 1400);
            assert_eq!(ip.ident(), 7 + i as u16);
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
            assert_eq!(tcp.seq_number().0 as u32, next);
            assert_eq!(tcp.psh(), i == 2);
            next += tcp.payload().len() as u32;
            bytes.extend_from_slice(tcp.payload());
        }
        assert_eq!(out[0].len() - ETH_HEADER_LEN, 1400);
        assert_eq!(bytes, (0..3000).map(|i| i as u8).collect::<Vec<_>>());
    }

    #[test]
    fn fin_only_on_the_last_and_small_frames_pass() {
        let mut out: Vec<Vec<u8>> = Vec::new();
        segment(segment_frame(2000, 1), 1400, &mut out);
        let fin = |f: &Vec<u8>| {
            let ip = Ipv4Packet::new_checked(&f[ETH_HEADER_LEN..]).unwrap();
            TcpPacket::new_checked(ip.payload()).unwrap().fin()
        };
        assert_eq!(out.iter().map(fin).collect::<Vec<_>>(), [false, true]);
        let small = segment_frame(100, 0);
        let mut out: Vec<Vec<u8>> = Vec::new();
        segment(small.clone(), 1400, &mut out);
        assert_eq!(out, [small]);
    }

    #[test]
    fn garbage_is_sent_unchanged() {
        let mut out: Vec<Vec<u8>> = Vec::new();
        segment(vec![1, 2, 3], 1400, &mut out);
        assert_eq!(out, [vec![1, 2, 3]]);
        assert_eq!(frag_needed(&[0x45, 0, 0]), None);
    }
}
