//! Packets the router makes itself: ICMP errors that quote the offending datagram byte for
//! byte (as much as fits in 576 bytes, as Linux does), echo replies, TCP resets; and the
//! per-destination rate limit of ICMP errors (`icmp_ratelimit` 1000 ms, burst 6).

use std::collections::BTreeMap;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    Icmpv4Message, Icmpv4Packet, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber,
};

use crate::link::ETH_HEADER_LEN;
use crate::time::{Duration, Instant};

/// Linux's `ip_default_ttl`.
pub const DEFAULT_TTL: u8 = 64;
/// An ICMP error is at most this long (RFC 1812 §4.3.2.3), quote included.
const ICMP_ERROR_MAX: usize = 576;

/// Writes an IPv4 header for a packet of `payload_len` bytes at `buf[..20]`.
pub fn ipv4_header(
    buf: &mut [u8],
    src: Ipv4Address,
    dst: Ipv4Address,
    proto: IpProtocol,
    ident: u16,
    payload_len: usize,
) {
    let mut ip = Ipv4Packet::new_unchecked(&mut buf[..20]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_dscp(0);
    ip.set_ecn(0);
    ip.set_total_len((20 + payload_len) as u16);
    ip.set_ident(ident);
    ip.clear_flags();
    ip.set_frag_offset(0);
    ip.set_hop_limit(DEFAULT_TTL);
    ip.set_next_header(proto);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
}

/// A frame buffer (Ethernet header left blank) holding an ICMP error about `original` (an IP
/// datagram). `extra` is the 4 bytes after the checksum (next-hop MTU for "fragmentation
/// needed", zero otherwise).
pub fn error(
    mut buf: Vec<u8>,
    src: Ipv4Address,
    original: &[u8],
    msg: Icmpv4Message,
    code: u8,
    extra: [u8; 4],
    ident: u16,
) -> Option<Vec<u8>> {
    let orig = Ipv4Packet::new_checked(original).ok()?;
    let dst = orig.src_addr();
    let quote = original.len().min(ICMP_ERROR_MAX - 20 - 8);
    let icmp_len = 8 + quote;
    buf.clear();
    buf.resize(ETH_HEADER_LEN + 20 + icmp_len, 0);
    ipv4_header(
        &mut buf[ETH_HEADER_LEN..],
        src,
        dst,
        IpProtocol::Icmp,
        ident,
        icmp_len,
    );
    {
        // An error travels as internetwork control, keeping the original's TOS bits
        // (`icmp_send`: `(tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL`).
        let tos = (orig.dscp() << 2 | orig.ecn()) & 0x1e | 0xc0;
        let mut ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..ETH_HEADER_LEN + 20]);
        ip.set_dscp(tos >> 2);
        ip.set_ecn(tos & 0x03);
        ip.fill_checksum();
    }
    let mut icmp = Icmpv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN + 20..]);
    icmp.set_msg_type(msg);
    icmp.set_msg_code(code);
    icmp.data_mut()[..quote].copy_from_slice(&original[..quote]);
    let raw = icmp.into_inner();
    raw[4..8].copy_from_slice(&extra);
    let mut icmp = Icmpv4Packet::new_unchecked(raw);
    icmp.fill_checksum();
    Some(buf)
}

/// An echo reply to `request` (an IP datagram carrying an echo request to `local`).
pub fn echo_reply(
    mut buf: Vec<u8>,
    request: &[u8],
    local: Ipv4Address,
    ident: u16,
) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(request).ok()?;
    let icmp_in = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    let len = ip.payload().len();
    buf.clear();
    buf.resize(ETH_HEADER_LEN + 20 + len, 0);
    ipv4_header(
        &mut buf[ETH_HEADER_LEN..],
        local,
        ip.src_addr(),
        IpProtocol::Icmp,
        ident,
        len,
    );
    {
        // The reply keeps the request's TOS byte (`icmp_reply`: `ipc.tos = ip_hdr(skb)->tos`).
        let mut out_ip = Ipv4Packet::new_unchecked(&mut buf[ETH_HEADER_LEN..ETH_HEADER_LEN + 20]);
        out_ip.set_dscp(ip.dscp());
        out_ip.set_ecn(ip.ecn());
        out_ip.fill_checksum();
    }
    let out = &mut buf[ETH_HEADER_LEN + 20..];
    out.copy_from_slice(icmp_in.into_inner());
    let mut icmp = Icmpv4Packet::new_unchecked(out);
    icmp.set_msg_type(Icmpv4Message::EchoReply);
    icmp.set_msg_code(0);
    icmp.fill_checksum();
    Some(buf)
}

/// The reset that answers `tcp` (a segment from `from` to `to`, its checksum right, not
/// itself a reset) as Linux's `tcp_v4_send_reset` and `tcp_v6_send_reset` make it: the
/// segment's acknowledgement as the sequence number, else an acknowledgement of all it
/// carried.
pub fn reset_for(
    tcp: &TcpPacket<&[u8]>,
    from: IpAddress,
    to: IpAddress,
) -> Option<TcpRepr<'static>> {
    if tcp.rst() {
        return None;
    }
    let repr_in = TcpRepr::parse(tcp, &from, &to, &ChecksumCapabilities::default()).ok()?;
    let (seq, ack) = if tcp.ack() {
        (tcp.ack_number(), None)
    } else {
        (
            TcpSeqNumber(0),
            Some(repr_in.seq_number + repr_in.segment_len()),
        )
    };
    Some(TcpRepr {
        src_port: tcp.dst_port(),
        dst_port: tcp.src_port(),
        control: TcpControl::Rst,
        seq_number: seq,
        ack_number: ack,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    })
}

/// The reset Linux sends for a TCP segment to a closed port (`tcp_v4_send_reset`).
pub fn tcp_reset(mut buf: Vec<u8>, segment_ip: &[u8], ident: u16) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(segment_ip).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let (src, dst) = (ip.dst_addr(), ip.src_addr());
    let repr = reset_for(&tcp, IpAddress::Ipv4(dst), IpAddress::Ipv4(src))?;
    let caps = ChecksumCapabilities::default();
    let len = repr.header_len();
    buf.clear();
    buf.resize(ETH_HEADER_LEN + 20 + len, 0);
    ipv4_header(
        &mut buf[ETH_HEADER_LEN..],
        src,
        dst,
        IpProtocol::Tcp,
        ident,
        len,
    );
    let mut out = TcpPacket::new_unchecked(&mut buf[ETH_HEADER_LEN + 20..]);
    repr.emit(
        &mut out,
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        &caps,
    );
    Some(buf)
}

/// Per-destination token bucket for ICMP errors (`inet_peer_xrlim_allow`), keyed by the
/// destination's address (IPv4's or IPv6's).
#[derive(Debug)]
pub struct RateLimit<K = Ipv4Address> {
    peers: BTreeMap<K, (Duration, Instant)>,
}

impl<K> Default for RateLimit<K> {
    fn default() -> Self {
        RateLimit {
            peers: BTreeMap::new(),
        }
    }
}

/// `icmp_ratelimit`.
const RATE: Duration = Duration::from_secs(1);
/// `XRLIM_BURST_FACTOR`.
const BURST: u64 = 6;
/// Peers remembered at most; beyond it the oldest is forgotten.
const PEERS: usize = 4096;

impl<K: Ord + Copy> RateLimit<K> {
    pub fn allow(&mut self, now: Instant, to: K) -> bool {
        self.allow_every(now, to, RATE)
    }

    /// One error to `to` per `rate`, in bursts of up to six.
    pub fn allow_every(&mut self, now: Instant, to: K, rate: Duration) -> bool {
        let max = Duration::from_nanos(rate.nanos() * BURST);
        if self.peers.len() >= PEERS && !self.peers.contains_key(&to) {
            let oldest = self
                .peers
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.peers.remove(&k);
            }
        }
        let (tokens, last) = self.peers.entry(to).or_insert((max, now));
        let refill = now.saturating_sub(*last);
        *tokens = (*tokens + refill).min(max);
        *last = now;
        if *tokens >= rate {
            *tokens = Duration::from_nanos(tokens.nanos() - rate.nanos());
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The port unreachable the kernel sent, and logged, for a UDP datagram to a closed port
    /// (a LOG rule in INPUT on a network-namespace testbed):
    /// `IN=va OUT= MAC=... SRC=10.9.0.2 DST=10.9.0.1 LEN=58 TOS=0x00 PREC=0xC0 TTL=64
    /// ID=28857 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.9.0.1 DST=10.9.0.2 LEN=30 TOS=0x00
    /// PREC=0x00 TTL=64 ID=43770 DF PROTO=UDP SPT=60344 DPT=5000 LEN=10 ] `
    #[test]
    fn an_icmp_error_logs_as_the_kernel_logs_it() {
        use crate::netfilter::rules::LogLine;
        use crate::netfilter::{AddrType, PacketView, Table};
        let (a, b) = (Ipv4Address::new(10, 9, 0, 1), Ipv4Address::new(10, 9, 0, 2));
        let mut udp = vec![0u8; 30];
        ipv4_header(&mut udp, a, b, IpProtocol::Udp, 43770, 10);
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut udp[..]);
            ip.set_dont_frag(true);
            ip.fill_checksum();
        }
        udp[20..28].copy_from_slice(&[0xeb, 0xb8, 0x13, 0x88, 0, 10, 0, 0]);
        let code = u8::from(smoltcp::wire::Icmpv4DstUnreachable::PortUnreachable);
        let msg = Icmpv4Message::DstUnreachable;
        let frame = error(Vec::new(), b, &udp, msg, code, [0; 4], 28857).unwrap();
        let ip = &frame[ETH_HEADER_LEN..];
        let view = PacketView {
            len: 58,
            src: b.into(),
            dst: a.into(),
            proto: 1,
            sport: None,
            dport: None,
            tcp_flags: None,
            icmp: Some((3, 3)),
            fragment: false,
            in_iface: Some("va"),
            out_iface: None,
            ct: None,
            src_type: AddrType::Unicast,
            dst_type: AddrType::Local,
            ip,
            mac: None,
            mark: 0,
            physdev: None,
        };
        let line = LogLine {
            table: Table::Filter,
            chain: "INPUT",
            rule: 1,
            prefix: "kdlog2: ",
            level: 4,
            packet: &view,
        };
        assert_eq!(
            line.to_string(),
            "kdlog2: IN=va OUT= SRC=10.9.0.2 DST=10.9.0.1 LEN=58 TOS=0x00 PREC=0xC0 TTL=64 \
             ID=28857 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.9.0.1 DST=10.9.0.2 LEN=30 TOS=0x00 \
             PREC=0x00 TTL=64 ID=43770 DF PROTO=UDP SPT=60344 DPT=5000 LEN=10 ] "
        );
    }

    #[test]
    fn rate_limit_bursts_six_then_one_per_second() {
        let mut r = RateLimit::default();
        let to = Ipv4Address::new(10, 0, 0, 1);
        let t0 = Instant::ZERO + Duration::from_secs(10);
        let allowed = (0..10).filter(|_| r.allow(t0, to)).count();
        assert_eq!(allowed, 6);
        assert!(!r.allow(t0 + Duration::from_millis(999), to));
        assert!(r.allow(t0 + Duration::from_millis(1000), to));
        assert!(
            r.allow(t0, Ipv4Address::new(10, 0, 0, 2)),
            "another peer has its own bucket"
        );
    }

    #[test]
    fn error_quotes_the_original_bytes() {
        let mut orig = vec![0u8; 60];
        ipv4_header(
            &mut orig,
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 9, 9),
            IpProtocol::Udp,
            0x1234,
            40,
        );
        let buf = error(
            Vec::new(),
            Ipv4Address::new(10, 0, 0, 254),
            &orig,
            Icmpv4Message::TimeExceeded,
            0,
            [0; 4],
            7,
        )
        .unwrap();
        let ip = Ipv4Packet::new_checked(&buf[ETH_HEADER_LEN..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.dst_addr(), Ipv4Address::new(10, 0, 0, 1));
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum());
        assert_eq!(icmp.data(), &orig[..]);
    }

    #[test]
    fn an_echo_reply_keeps_the_requests_tos() {
        let mut req = vec![0u8; 28];
        ipv4_header(
            &mut req,
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 254),
            IpProtocol::Icmp,
            1,
            8,
        );
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut req[..]);
            ip.set_dscp(46);
            ip.set_ecn(1);
            ip.fill_checksum();
            let mut icmp = Icmpv4Packet::new_unchecked(ip.payload_mut());
            icmp.set_msg_type(Icmpv4Message::EchoRequest);
            icmp.fill_checksum();
        }
        let buf = echo_reply(Vec::new(), &req, Ipv4Address::new(10, 0, 0, 254), 9).unwrap();
        let ip = Ipv4Packet::new_checked(&buf[ETH_HEADER_LEN..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.dscp(), ip.ecn()), (46, 1));
    }
}
