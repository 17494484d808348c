//! IPv6 packets the router makes itself: ICMPv6 errors quoting the offending packet (as
//! much as fits in 1280 bytes, the minimum MTU, as `icmp6_send` does), echo replies and
//! TCP resets (neighbour discovery's messages are `wire::ipv6`'s, which hosts share). Each
//! is a whole frame; the Ethernet header's addresses are the sender's to fill.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv6Message, Icmpv6Packet, IpAddress, IpProtocol,
    Ipv6Address, Ipv6Packet, TcpPacket,
};

use crate::link::ETH_HEADER_LEN;
pub use crate::wire::ipv6::{
    ipv6_header, multicast_mac, neighbor_advert, neighbor_solicit, solicited_node,
};

/// `net.ipv6.conf.*.hop_limit`.
pub const HOP_LIMIT: u8 = 64;
/// An ICMPv6 error is at most this long, quote included (RFC 4443 §2.4 (c)).
const ERROR_MAX: usize = 1280;
const IP6_LEN: usize = 40;

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
    let repr = super::super::icmp::reset_for(&tcp, IpAddress::Ipv6(dst), IpAddress::Ipv6(src))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Address {
        s.parse().unwrap()
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
}
