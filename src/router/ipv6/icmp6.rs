//! IPv6 packets the router makes itself: ICMPv6 errors quoting the offending packet (as
//! much as fits in 1280 bytes, the minimum MTU, as `icmp6_send` does), echo replies, TCP
//! resets, and neighbour discovery's solicitations and advertisements. Each is a whole
//! frame; the Ethernet header's addresses are the sender's to fill unless said otherwise.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv6Message, Icmpv6Packet, Icmpv6Repr,
    IpAddress, IpProtocol, Ipv6Address, Ipv6Packet, NdiscNeighborFlags, NdiscRepr,
    RawHardwareAddress, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

use crate::link::ETH_HEADER_LEN;

/// `net.ipv6.conf.*.hop_limit`.
pub const HOP_LIMIT: u8 = 64;
/// An ICMPv6 error is at most this long, quote included (RFC 4443 §2.4 (c)).
const ERROR_MAX: usize = 1280;
const IP6_LEN: usize = 40;

/// Writes an IPv6 header (traffic class and flow label 0) at `buf[..40]`.
pub fn ipv6_header(
    buf: &mut [u8],
    (src, dst): (Ipv6Address, Ipv6Address),
    next_header: IpProtocol,
    payload_len: usize,
    hop_limit: u8,
) {
    let mut ip = Ipv6Packet::new_unchecked(&mut buf[..IP6_LEN]);
    ip.set_version(6);
    ip.set_traffic_class(0);
    ip.set_flow_label(0);
    ip.set_payload_len(payload_len as u16);
    ip.set_next_header(next_header);
    ip.set_hop_limit(hop_limit);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
}

/// A frame of `len` bytes after the Ethernet header, its EtherType IPv6.
fn frame(mut buf: Vec<u8>, len: usize) -> Vec<u8> {
    buf.clear();
    buf.resize(ETH_HEADER_LEN + len, 0);
    EthernetFrame::new_unchecked(&mut buf[..]).set_ethertype(EthernetProtocol::Ipv6);
    buf
}

/// An ICMPv6 error from `src` about `original` (an IPv6 packet): `msg` and `code`, with
/// `param` in the four bytes after the checksum (the MTU of "packet too big", the pointer
/// of "parameter problem", zero otherwise).
pub fn error(
    buf: Vec<u8>,
    src: Ipv6Address,
    original: &[u8],
    (msg, code, param): (Icmpv6Message, u8, u32),
) -> Option<Vec<u8>> {
    let orig = Ipv6Packet::new_checked(original).ok()?;
    let dst = orig.src_addr();
    let quote = original.len().min(ERROR_MAX - IP6_LEN - 8);
    let len = 8 + quote;
    let mut buf = frame(buf, IP6_LEN + len);
    let ip = &mut buf[ETH_HEADER_LEN..];
    ipv6_header(ip, (src, dst), IpProtocol::Icmpv6, len, HOP_LIMIT);
    let mut icmp = Icmpv6Packet::new_unchecked(&mut ip[IP6_LEN..]);
    icmp.set_msg_type(msg);
    icmp.set_msg_code(code);
    let raw = icmp.into_inner();
    raw[4..8].copy_from_slice(&param.to_be_bytes());
    raw[8..].copy_from_slice(&original[..quote]);
    Icmpv6Packet::new_unchecked(raw).fill_checksum(&src, &dst);
    Some(buf)
}

/// The echo reply from `local` to `request` (an IPv6 packet carrying an echo request).
pub fn echo_reply(buf: Vec<u8>, request: &[u8], local: Ipv6Address) -> Option<Vec<u8>> {
    let ip = Ipv6Packet::new_checked(request).ok()?;
    let body = ip.payload();
    Icmpv6Packet::new_checked(body).ok()?;
    let dst = ip.src_addr();
    let mut buf = frame(buf, IP6_LEN + body.len());
    let out = &mut buf[ETH_HEADER_LEN..];
    ipv6_header(out, (local, dst), IpProtocol::Icmpv6, body.len(), HOP_LIMIT);
    out[IP6_LEN..].copy_from_slice(body);
    let mut icmp = Icmpv6Packet::new_unchecked(&mut out[IP6_LEN..]);
    icmp.set_msg_type(Icmpv6Message::EchoReply);
    icmp.set_msg_code(0);
    icmp.fill_checksum(&local, &dst);
    Some(buf)
}

/// The reset Linux sends for a TCP segment to a closed port (`tcp_v6_send_reset`).
pub fn tcp_reset(buf: Vec<u8>, segment_ip: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv6Packet::new_checked(segment_ip).ok()?;
    let (src, dst) = (ip.dst_addr(), ip.src_addr());
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    if tcp.rst() {
        return None;
    }
    let (seq, ack) = match tcp.ack() {
        true => (tcp.ack_number(), None),
        false => {
            let len = tcp.payload().len() + usize::from(tcp.syn()) + usize::from(tcp.fin());
            (TcpSeqNumber(0), Some(tcp.seq_number() + len))
        }
    };
    let repr = TcpRepr {
        src_port: tcp.dst_port(),
        dst_port: tcp.src_port(),
        control: TcpControl::Rst,
        seq_number: seq,
        ack_number: ack,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let len = repr.buffer_len();
    let mut buf = frame(buf, IP6_LEN + len);
    let out = &mut buf[ETH_HEADER_LEN..];
    ipv6_header(out, (src, dst), IpProtocol::Tcp, len, HOP_LIMIT);
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[IP6_LEN..]),
        &IpAddress::Ipv6(src),
        &IpAddress::Ipv6(dst),
        &ChecksumCapabilities::default(),
    );
    Some(buf)
}

/// `ff02::1:ffXX:XXXX`, the group a solicitation for `a` goes to.
pub fn solicited_node(a: Ipv6Address) -> Ipv6Address {
    let o = a.octets();
    Ipv6Address::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The MAC of an IPv6 multicast group: `33:33` and its last 32 bits (RFC 2464 §7).
pub fn multicast_mac(group: Ipv6Address) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// A neighbour discovery message from `src` (at `mac`) to `dst`, hop limit 255, addressed
/// at layer 2 to `eth_dst`.
fn ndisc(
    buf: Vec<u8>,
    (mac, src): (EthernetAddress, Ipv6Address),
    (eth_dst, dst): (EthernetAddress, Ipv6Address),
    repr: &NdiscRepr<'_>,
) -> Vec<u8> {
    let repr = Icmpv6Repr::Ndisc(*repr);
    let len = repr.buffer_len();
    let mut buf = frame(buf, IP6_LEN + len);
    {
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(eth_dst);
        eth.set_src_addr(mac);
    }
    let out = &mut buf[ETH_HEADER_LEN..];
    ipv6_header(out, (src, dst), IpProtocol::Icmpv6, len, 255);
    repr.emit(
        &src,
        &dst,
        &mut Icmpv6Packet::new_unchecked(&mut out[IP6_LEN..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// A neighbour solicitation for `target` from `src` (at `mac`): to the target's
/// solicited-node group, or unicast to `to` when probing a neighbour already known.
pub fn neighbor_solicit(
    buf: Vec<u8>,
    (mac, src): (EthernetAddress, Ipv6Address),
    target: Ipv6Address,
    to: Option<EthernetAddress>,
) -> Vec<u8> {
    let (eth_dst, dst) = match to {
        Some(m) => (m, target),
        None => {
            let group = solicited_node(target);
            (multicast_mac(group), group)
        }
    };
    let repr = NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(mac)),
    };
    ndisc(buf, (mac, src), (eth_dst, dst), &repr)
}

/// The advertisement answering a solicitation for `target` (ours, at `mac`) from `to`
/// (at `to_mac`): Solicited and Override, and Router when the namespace forwards. A
/// solicitation from `::` (duplicate address detection) is answered to all nodes.
pub fn neighbor_advert(
    buf: Vec<u8>,
    (mac, target): (EthernetAddress, Ipv6Address),
    (to_mac, to): (EthernetAddress, Ipv6Address),
    router: bool,
) -> Vec<u8> {
    let mut flags = NdiscNeighborFlags::OVERRIDE;
    if router {
        flags |= NdiscNeighborFlags::ROUTER;
    }
    let (eth_dst, dst) = match to.is_unspecified() {
        true => {
            let all = Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
            (multicast_mac(all), all)
        }
        false => {
            flags |= NdiscNeighborFlags::SOLICITED;
            (to_mac, to)
        }
    };
    let repr = NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        lladdr: Some(RawHardwareAddress::from(mac)),
    };
    ndisc(buf, (mac, target), (eth_dst, dst), &repr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Address {
        s.parse().unwrap()
    }

    #[test]
    fn solicited_node_group_and_its_mac() {
        let g = solicited_node(a("2001:db8:1::20"));
        assert_eq!(g, a("ff02::1:ff00:20"));
        assert_eq!(
            multicast_mac(g),
            EthernetAddress([0x33, 0x33, 0xff, 0, 0, 0x20])
        );
    }

    #[test]
    fn an_error_quotes_at_most_1232_bytes_and_checks_out() {
        let (src, dst) = (a("2001:db8:1::1"), a("2001:db8:2::9"));
        let mut original = vec![0u8; 40 + 1400];
        ipv6_header(
            &mut original,
            (dst, a("2001:db8:3::3")),
            IpProtocol::Udp,
            1400,
            1,
        );
        let f = error(
            Vec::new(),
            src,
            &original,
            (Icmpv6Message::TimeExceeded, 0, 0),
        )
        .unwrap();
        assert_eq!(f.len(), ETH_HEADER_LEN + 1280);
        let ip = Ipv6Packet::new_checked(&f[ETH_HEADER_LEN..]).unwrap();
        assert_eq!(ip.dst_addr(), dst);
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum(&src, &dst));
        assert_eq!(icmp.msg_type(), Icmpv6Message::TimeExceeded);
    }

    #[test]
    fn an_advertisement_is_solicited_and_overrides() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let f = neighbor_advert(
            Vec::new(),
            (mac, a("2001:db8:1::1")),
            (EthernetAddress([2, 0, 0, 0, 0, 2]), a("2001:db8:1::2")),
            true,
        );
        let ip = Ipv6Packet::new_checked(&f[ETH_HEADER_LEN..]).unwrap();
        assert_eq!(ip.hop_limit(), 255);
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
        match NdiscRepr::parse(&icmp).unwrap() {
            NdiscRepr::NeighborAdvert { flags, lladdr, .. } => {
                assert_eq!(flags.bits(), 0xe0);
                assert_eq!(lladdr, Some(RawHardwareAddress::from(mac)));
            }
            other => panic!("{other:?}"),
        }
    }
}
