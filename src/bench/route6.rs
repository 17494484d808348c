//! The benchmarks of IPv6 forwarding: 64-byte UDP frames through a router between two
//! IPv6 links, its neighbours already found by neighbour discovery; without rules
//! (`forward6_mpps`) and through ip6tables' stateful filter and MASQUERADE (`nat6_mpps`).

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv6Address, Ipv6Cidr,
    Ipv6Packet, Ipv6Repr, UdpPacket, UdpRepr,
};

use super::nat::NatBench;
use crate::netfilter::rules::IptablesVersion;
use crate::router::ipv6::icmp6;
use crate::router::{Router, RouterConfig, RouterIface};

const INSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x10]);
const OUTSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x11]);
const SRC_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 1]);
const SINK_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 2, 1]);
const SRC: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10);
const SINK: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x20);
const ROUTER_IN: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const ROUTER_OUT: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);

/// A 64-byte Ethernet frame carrying IPv6 and UDP (2 bytes of payload) from the source
/// to the sink.
fn udp6_frame() -> Vec<u8> {
    udp6((SRC_MAC, INSIDE_MAC), (SRC, 40000), (SINK, 5000))
}

/// A 64-byte Ethernet frame carrying IPv6 and UDP between these MACs and endpoints.
fn udp6(
    (src_mac, dst_mac): (EthernetAddress, EthernetAddress),
    (src, sport): (Ipv6Address, u16),
    (dst, dport): (Ipv6Address, u16),
) -> Vec<u8> {
    let payload = [0x5au8; 64 - 14 - 40 - 8];
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        hop_limit: 64,
    };
    let mut buf = vec![0u8; 64];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.set_src_addr(src_mac);
    eth.set_dst_addr(dst_mac);
    eth.set_ethertype(EthernetProtocol::Ipv6);
    let mut ipp = Ipv6Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut ipp);
    let udp = UdpRepr {
        src_port: sport,
        dst_port: dport,
    };
    udp.emit(
        &mut UdpPacket::new_unchecked(ipp.payload_mut()),
        &IpAddress::Ipv6(src),
        &IpAddress::Ipv6(dst),
        payload.len(),
        |b| b.copy_from_slice(&payload),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// src — router — sink, over IPv6: the sink has solicited the router's address, so the
/// router knows it.
fn forward6_bench() -> NatBench {
    forward6_bench_with(&[])
}

/// [`forward6_bench`] with these ip6tables commands on the router.
fn forward6_bench_with(ip6tables: &[&str]) -> NatBench {
    let iface = |name: &str, mac, cidr: Ipv6Cidr| RouterIface {
        name: name.into(),
        mac,
        addrs: Vec::new(),
        mtu: 1500,
        ipv6: Some(vec![cidr]),
    };
    let config = RouterConfig {
        name: "router".into(),
        ifaces: vec![
            iface("eth0", INSIDE_MAC, Ipv6Cidr::new(ROUTER_IN, 64)),
            iface("eth1", OUTSIDE_MAC, Ipv6Cidr::new(ROUTER_OUT, 64)),
        ],
        forwarding: true,
        routes: Vec::new(),
        iptables_version: IptablesVersion::V1_8_10,
        iptables: ip6tables
            .iter()
            .map(|c| c.split_whitespace().map(String::from).collect())
            .collect(),
    };
    let router = Router::new(config, 1).expect("router");
    let mut b = NatBench::around(router);
    let ns = icmp6::neighbor_solicit(Vec::new(), (SINK_MAC, SINK), ROUTER_OUT, None);
    b.send(b.sink, vec![ns]);
    b
}

/// 64-byte UDP frames forwarded over IPv6, in millions per second.
pub fn forward6_mpps(frames: u64) -> f64 {
    let mut b = forward6_bench();
    b.blast(vec![udp6_frame()], frames) / 1e6
}

/// The rules of `nat6_mpps`: a stateful forward chain, and MASQUERADE toward the sink.
const NAT6: [&str; 4] = [
    "ip6tables -P FORWARD DROP",
    "ip6tables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "ip6tables -A FORWARD -i eth0 -p udp --dport 5000 -j ACCEPT",
    "ip6tables -t nat -A POSTROUTING -s 2001:db8:1::/64 -o eth1 -j MASQUERADE",
];

/// [`forward6_bench`] through [`NAT6`], its flow made and answered once: ESTABLISHED.
fn nat6_bench() -> NatBench {
    let mut b = forward6_bench_with(&NAT6);
    b.send(b.src, vec![udp6_frame()]);
    let reply = udp6((SINK_MAC, OUTSIDE_MAC), (SINK, 5000), (ROUTER_OUT, 40000));
    b.send(b.sink, vec![reply]);
    b
}

/// 64-byte UDP frames of an established flow through ip6tables' stateful filter and
/// MASQUERADE, in millions per second.
pub fn nat6_mpps(frames: u64) -> f64 {
    let mut b = nat6_bench();
    b.blast(vec![udp6_frame()], frames) / 1e6
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_frame_crosses_the_masquerading_router() {
        let mut b = super::nat6_bench();
        let (got, _) = b.blast_timed(vec![super::udp6_frame()], 1000);
        assert_eq!(got, 1000);
    }

    #[test]
    fn every_frame_crosses_the_router() {
        let mut b = super::forward6_bench();
        let (got, _) = b.blast_timed(vec![super::udp6_frame()], 1000);
        assert_eq!(got, 1000);
    }
}
