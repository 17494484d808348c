//! The supported fields: names, value kinds and one-line descriptions.

/// A supported field or protocol name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Frame,
    FrameLen,
    FrameComment,
    Eth,
    EthSrc,
    EthDst,
    EthAddr,
    EthType,
    Vlan,
    VlanId,
    VlanPriority,
    VlanDei,
    VlanEtype,
    Arp,
    ArpOpcode,
    ArpSrcHwMac,
    ArpDstHwMac,
    ArpSrcProtoIpv4,
    ArpDstProtoIpv4,
    Ip,
    IpSrc,
    IpDst,
    IpAddr,
    IpTtl,
    IpProto,
    IpLen,
    IpId,
    IpFlagsDf,
    Ipv6,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Addr,
    Ipv6Hlim,
    Ipv6Nxt,
    Ipv6Plen,
    Icmpv6,
    Icmpv6Type,
    Icmpv6Code,
    Icmpv6Mtu,
    Icmpv6NsTarget,
    Icmpv6NaTarget,
    Icmp,
    IcmpType,
    IcmpCode,
    IcmpIdent,
    IcmpSeq,
    Tcp,
    TcpSrcport,
    TcpDstport,
    TcpPort,
    TcpLen,
    TcpFlagsSyn,
    TcpFlagsAck,
    TcpFlagsReset,
    TcpFlagsFin,
    TcpFlagsPush,
    Udp,
    UdpSrcport,
    UdpDstport,
    UdpPort,
    UdpLength,
}

/// What values a field holds, which decides the literals it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A protocol: only a presence test.
    Protocol,
    /// An unsigned integer with this maximum.
    Uint(u64),
    /// A flag: `1`/`0` (any non-zero integer is true), `True`/`False`.
    Bool,
    /// An IPv4 address (also compared against CIDR prefixes).
    Ipv4,
    /// An IPv6 address (also compared against CIDR prefixes).
    Ipv6,
    /// A MAC address.
    Mac,
    /// A string (`==`, `!=`, ordering and `contains`).
    Str,
}

use Field as F;
use Kind as K;

const U8: Kind = K::Uint(u8::MAX as u64);
const U16: Kind = K::Uint(u16::MAX as u64);
const U32: Kind = K::Uint(u32::MAX as u64);

/// Every supported name: (name, field, kind, description). `FIELDS` is derived from it.
pub(crate) const DEFS: &[(&str, Field, Kind, &str)] = &[
    ("frame", F::Frame, K::Protocol, "every frame"),
    ("frame.len", F::FrameLen, U32, "frame length in bytes"),
    (
        "frame.comment",
        F::FrameComment,
        K::Str,
        "pcapng frame comment (absent when none)",
    ),
    ("eth", F::Eth, K::Protocol, "Ethernet header present"),
    ("eth.src", F::EthSrc, K::Mac, "Ethernet source MAC"),
    ("eth.dst", F::EthDst, K::Mac, "Ethernet destination MAC"),
    (
        "eth.addr",
        F::EthAddr,
        K::Mac,
        "Ethernet source or destination MAC",
    ),
    (
        "eth.type",
        F::EthType,
        U16,
        "EtherType (absent for 802.3 length frames)",
    ),
    ("vlan", F::Vlan, K::Protocol, "802.1Q VLAN tag present"),
    ("vlan.id", F::VlanId, U16, "802.1Q VLAN id (0-4095)"),
    (
        "vlan.priority",
        F::VlanPriority,
        U16,
        "802.1Q priority code point (0-7)",
    ),
    (
        "vlan.dei",
        F::VlanDei,
        K::Bool,
        "802.1Q drop eligible indicator",
    ),
    (
        "vlan.etype",
        F::VlanEtype,
        U16,
        "EtherType the 802.1Q tag carries",
    ),
    ("arp", F::Arp, K::Protocol, "ARP packet present"),
    (
        "arp.opcode",
        F::ArpOpcode,
        U16,
        "ARP opcode (1 request, 2 reply)",
    ),
    ("arp.src.hw_mac", F::ArpSrcHwMac, K::Mac, "ARP sender MAC"),
    ("arp.dst.hw_mac", F::ArpDstHwMac, K::Mac, "ARP target MAC"),
    (
        "arp.src.proto_ipv4",
        F::ArpSrcProtoIpv4,
        K::Ipv4,
        "ARP sender IPv4 address",
    ),
    (
        "arp.dst.proto_ipv4",
        F::ArpDstProtoIpv4,
        K::Ipv4,
        "ARP target IPv4 address",
    ),
    ("ip", F::Ip, K::Protocol, "IPv4 header present"),
    ("ip.src", F::IpSrc, K::Ipv4, "IPv4 source address"),
    ("ip.dst", F::IpDst, K::Ipv4, "IPv4 destination address"),
    (
        "ip.addr",
        F::IpAddr,
        K::Ipv4,
        "IPv4 source or destination address",
    ),
    ("ip.ttl", F::IpTtl, U8, "IPv4 time to live"),
    (
        "ip.proto",
        F::IpProto,
        U8,
        "IPv4 protocol number (1 ICMP, 6 TCP, 17 UDP)",
    ),
    ("ip.len", F::IpLen, U16, "IPv4 total length"),
    ("ip.id", F::IpId, U16, "IPv4 identification"),
    (
        "ip.flags.df",
        F::IpFlagsDf,
        K::Bool,
        "IPv4 don't-fragment flag",
    ),
    ("ipv6", F::Ipv6, K::Protocol, "IPv6 header present"),
    ("ipv6.src", F::Ipv6Src, K::Ipv6, "IPv6 source address"),
    ("ipv6.dst", F::Ipv6Dst, K::Ipv6, "IPv6 destination address"),
    (
        "ipv6.addr",
        F::Ipv6Addr,
        K::Ipv6,
        "IPv6 source or destination address",
    ),
    ("ipv6.hlim", F::Ipv6Hlim, U8, "IPv6 hop limit"),
    (
        "ipv6.nxt",
        F::Ipv6Nxt,
        U8,
        "IPv6 next header (58 ICMPv6, 6 TCP, 17 UDP, 0 hop-by-hop)",
    ),
    ("ipv6.plen", F::Ipv6Plen, U16, "IPv6 payload length"),
    ("icmpv6", F::Icmpv6, K::Protocol, "ICMPv6 message present"),
    (
        "icmpv6.type",
        F::Icmpv6Type,
        U8,
        "ICMPv6 type (128 echo request, 129 reply, 135 NS, 136 NA, 1, 3, ...)",
    ),
    ("icmpv6.code", F::Icmpv6Code, U8, "ICMPv6 code"),
    (
        "icmpv6.mtu",
        F::Icmpv6Mtu,
        U32,
        "the MTU a packet too big (type 2) gives",
    ),
    (
        "icmpv6.nd.ns.target_address",
        F::Icmpv6NsTarget,
        K::Ipv6,
        "neighbor solicitation's target address",
    ),
    (
        "icmpv6.nd.na.target_address",
        F::Icmpv6NaTarget,
        K::Ipv6,
        "neighbor advertisement's target address",
    ),
    ("icmp", F::Icmp, K::Protocol, "ICMP message present"),
    (
        "icmp.type",
        F::IcmpType,
        U8,
        "ICMP type (8 echo request, 0 echo reply, 3, 11, ...)",
    ),
    ("icmp.code", F::IcmpCode, U8, "ICMP code"),
    (
        "icmp.ident",
        F::IcmpIdent,
        U16,
        "ICMP echo/timestamp/mask identifier",
    ),
    (
        "icmp.seq",
        F::IcmpSeq,
        U16,
        "ICMP echo/timestamp/mask sequence number",
    ),
    ("tcp", F::Tcp, K::Protocol, "TCP segment present"),
    ("tcp.srcport", F::TcpSrcport, U16, "TCP source port"),
    ("tcp.dstport", F::TcpDstport, U16, "TCP destination port"),
    (
        "tcp.port",
        F::TcpPort,
        U16,
        "TCP source or destination port",
    ),
    ("tcp.len", F::TcpLen, U32, "TCP payload length"),
    ("tcp.flags.syn", F::TcpFlagsSyn, K::Bool, "TCP SYN flag"),
    ("tcp.flags.ack", F::TcpFlagsAck, K::Bool, "TCP ACK flag"),
    ("tcp.flags.reset", F::TcpFlagsReset, K::Bool, "TCP RST flag"),
    ("tcp.flags.fin", F::TcpFlagsFin, K::Bool, "TCP FIN flag"),
    ("tcp.flags.push", F::TcpFlagsPush, K::Bool, "TCP PSH flag"),
    ("udp", F::Udp, K::Protocol, "UDP datagram present"),
    ("udp.srcport", F::UdpSrcport, U16, "UDP source port"),
    ("udp.dstport", F::UdpDstport, U16, "UDP destination port"),
    (
        "udp.port",
        F::UdpPort,
        U16,
        "UDP source or destination port",
    ),
    (
        "udp.length",
        F::UdpLength,
        U16,
        "UDP length field (header + payload)",
    ),
];

const N: usize = DEFS.len();

/// `DEFS` reduced to (name, description), built at compile time.
pub(crate) const NAMES: [(&str, &str); N] = {
    let mut out = [("", ""); N];
    let mut i = 0;
    while i < N {
        out[i] = (DEFS[i].0, DEFS[i].3);
        i += 1;
    }
    out
};

/// Looks a name up.
pub(crate) fn lookup(name: &str) -> Option<(Field, Kind)> {
    DEFS.iter()
        .find(|d| d.0 == name)
        .map(|&(_, field, kind, _)| (field, kind))
}

/// The name of a field (for messages).
pub(crate) fn name_of(field: Field) -> &'static str {
    DEFS.iter().find(|d| d.1 == field).map_or("?", |d| d.0)
}

/// Why a Wireshark field that exists is not offered, if it is a known case.
pub(crate) fn unsupported_reason(name: &str) -> Option<&'static str> {
    match name {
        "tcp.seq" | "tcp.ack" | "tcp.nxseq" | "tcp.seq_raw" | "tcp.ack_raw" => Some(
            "is not supported: Wireshark shows relative sequence numbers, which depend on the whole stream",
        ),
        "tcp.flags.rst" => Some("is not a Wireshark field; did you mean `tcp.flags.reset`?"),
        _ => None,
    }
}

/// The closest known name within edit distance 2 (ignoring case), if any.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for &(known, ..) in DEFS {
        let d = edit_distance(&name, known);
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, known));
        }
    }
    best.map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_resolve() {
        for (i, &(name, field, kind, desc)) in DEFS.iter().enumerate() {
            assert_eq!(lookup(name), Some((field, kind)), "{name}");
            assert_eq!(name_of(field), name);
            assert!(!desc.is_empty());
            assert!(
                DEFS[i + 1..].iter().all(|d| d.0 != name && d.1 != field),
                "{name} twice"
            );
            assert_eq!(NAMES[i], (name, desc));
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ip.srcc", "ip.src"), 1);
        assert_eq!(edit_distance("tcp.flags.rst", "tcp.flags.reset"), 2);
        assert_eq!(suggest("ip.srcc"), Some("ip.src"));
        assert_eq!(suggest("udp.lenght"), Some("udp.length"));
        assert_eq!(suggest("tcp.len"), Some("tcp.len"));
        assert_eq!(suggest("tcp.dport"), Some("tcp.port"));
        assert_eq!(suggest("nothing.like.it"), None);
    }
}
