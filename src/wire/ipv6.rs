//! IPv6 packets hoplab writes itself that hosts and routers share: the fixed header, and
//! neighbour discovery's solicitations and advertisements (RFC 4861) as Linux sends them.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv6Packet, Icmpv6Repr, IpProtocol,
    Ipv6Address, Ipv6Packet, NdiscNeighborFlags, NdiscRepr, RawHardwareAddress,
};

const ETH_HEADER_LEN: usize = 14;
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
    let mut buf = buf;
    buf.clear();
    buf.resize(ETH_HEADER_LEN + IP6_LEN + len, 0);
    {
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(eth_dst);
        eth.set_src_addr(mac);
        eth.set_ethertype(EthernetProtocol::Ipv6);
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
