//! What a rule's key reads from a packet (`nft_payload`, `nft_meta`, `nft_ct`, `nft_fib`),
//! from the [`PacketView`] the hooks give.
//!
//! Every key reads as a number, as the model's values are: a header field as its bytes read
//! big-endian, an interface name as its 16 NUL-padded bytes read big-endian (so that names
//! compare as the kernel's `memcmp` compares them, and `"eth*"` is the range of names with
//! that prefix). A key that finds nothing to read (no transport header in a fragment, no
//! connection for `ct mark`, an IPv6 field of an IPv4 packet) answers `None`: the kernel's
//! `NFT_BREAK`, which ends the rule as a mismatch. An `ip` field of an IPv6 packet (and an
//! `ip6` field of an IPv4 one) answers `None` too: in an `inet` table nft puts
//! `meta nfproto ipv4` (`ipv6`) before it, and a table of family `ip` (`ip6`) sees only its
//! own family's packets. Reads also check the dependency nft adds
//! before a protocol's field (`tcp dport` is `meta l4proto tcp` first; `ether saddr` is
//! `meta iiftype ether`); `th dport` has none and reads whatever transport header is there.

use super::expr::{CtDir, CtKey, FibFlags, FibResult, Field, Key, MetaKey, TupleKey};
use crate::netfilter::{AddrType, ConnQuery, CtState, PacketView};

/// Where a payload offset counts from (`NFT_PAYLOAD_*_HEADER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadBase {
    /// The Ethernet header (`ether`, `vlan`): only for a packet that came in on an
    /// interface, whose MAC header the skb keeps.
    Link,
    /// The IPv4 or IPv6 header.
    Network,
    /// The transport header (`tcp`, `udp`, `icmp`, `th`), after the IPv4 header's options
    /// or the IPv6 extension headers (`ipv6_find_hdr`).
    Transport,
}

/// `nft_payload_eval`: `len` bytes at `offset` from `base` into `out[..len]`.
pub fn load_payload(
    pkt: &PacketView<'_>,
    base: PayloadBase,
    offset: usize,
    len: usize,
    out: &mut [u8],
) -> Option<()> {
    let from: &[u8] = match base {
        PayloadBase::Link => match (&pkt.mac, pkt.in_iface) {
            (Some(mac), Some(_)) => mac,
            _ => return None,
        },
        PayloadBase::Network => ip_datagram(pkt.ip),
        PayloadBase::Transport => {
            // `NFT_PKTINFO_L4PROTO` is unset for a non-first fragment: its bytes are not a
            // transport header.
            if pkt.fragment {
                return None;
            }
            let ip = ip_datagram(pkt.ip);
            let hl = match pkt.is_v6() {
                false => usize::from(ip.first()? & 0x0f) * 4,
                true => crate::netfilter::conntrack::ipv6_upper(ip)?.1,
            };
            ip.get(hl..)?
        }
    };
    let bytes = from.get(offset..offset.checked_add(len)?)?;
    out.get_mut(..len)?.copy_from_slice(bytes);
    Some(())
}

/// The datagram as the skb holds it: `ip_rcv` trims the frame to the IPv4 total length,
/// `ipv6_rcv` to the fixed header and its payload length.
fn ip_datagram(ip: &[u8]) -> &[u8] {
    match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 4 => {
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            &ip[..total.clamp(ip.len().min(20), ip.len())]
        }
        Some(6) if ip.len() >= 6 => {
            let total = 40 + usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            &ip[..total.clamp(ip.len().min(40), ip.len())]
        }
        _ => ip,
    }
}

/// The kernel's interface name buffer.
pub const IFNAMSIZ: usize = 16;

/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u128 = 2;

/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u128 = 10;

/// An interface name as the number its NUL-padded `IFNAMSIZ` bytes make, big-endian (a
/// kernel name has at most 15 bytes; longer text is cut there). The empty name is 0.
pub fn name_num(name: &str) -> u128 {
    let mut b = [0u8; IFNAMSIZ];
    let n = name.len().min(IFNAMSIZ - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    u128::from_be_bytes(b)
}

/// The names a rule's interface name stands for, as an inclusive range of [`name_num`]s:
/// one name, or with a trailing `*` every name it begins.
pub fn name_range(pattern: &str) -> (u128, u128) {
    match pattern.strip_suffix('*') {
        Some(prefix) => {
            let n = prefix.len().min(IFNAMSIZ - 1);
            let mut lo = [0u8; IFNAMSIZ];
            lo[..n].copy_from_slice(&prefix.as_bytes()[..n]);
            let mut hi = [0xffu8; IFNAMSIZ];
            hi[..n].copy_from_slice(&prefix.as_bytes()[..n]);
            (u128::from_be_bytes(lo), u128::from_be_bytes(hi))
        }
        None => {
            let v = name_num(pattern);
            (v, v)
        }
    }
}

/// What a key reads of the packet; `conns` answers fib's route lookups.
pub fn read(key: Key, pkt: &PacketView<'_>, conns: &dyn ConnQuery) -> Option<u128> {
    match key {
        Key::Payload(f) => read_field(f, pkt),
        Key::Meta(m) => Some(read_meta(m, pkt)),
        Key::Ct(c) => read_ct(c, pkt),
        Key::CtTuple(dir, t) => read_tuple(dir, t, pkt),
        Key::Fib(flags, r) => read_fib(flags, r, pkt, conns),
    }
}

/// A header field: where it is, which protocol it needs, how it is cut from its bytes.
fn read_field(f: Field, pkt: &PacketView<'_>) -> Option<u128> {
    use PayloadBase::{Link, Network, Transport};
    let v6 = pkt.is_v6();
    // The IP family a field of the network header belongs to.
    let (base, offset, len, proto, family) = match f {
        Field::EtherDaddr => (Link, 0, 6, None, None),
        Field::EtherSaddr => (Link, 6, 6, None, None),
        Field::EtherType => (Link, 12, 2, None, None),
        Field::IpSaddr => (Network, 12, 4, None, Some(false)),
        Field::IpDaddr => (Network, 16, 4, None, Some(false)),
        Field::IpProtocol => (Network, 9, 1, None, Some(false)),
        Field::IpTtl => (Network, 8, 1, None, Some(false)),
        Field::IpLength => (Network, 2, 2, None, Some(false)),
        Field::IpDscp => (Network, 1, 1, None, Some(false)),
        Field::Ip6Saddr => (Network, 8, 16, None, Some(true)),
        Field::Ip6Daddr => (Network, 24, 16, None, Some(true)),
        // The fixed header's field, not the protocol after extension headers
        // (`meta l4proto`).
        Field::Ip6Nexthdr => (Network, 6, 1, None, Some(true)),
        Field::Ip6Hoplimit => (Network, 7, 1, None, Some(true)),
        Field::Icmpv6Type => (Transport, 0, 1, Some(58), None),
        Field::TcpSport => (Transport, 0, 2, Some(6), None),
        Field::TcpDport => (Transport, 2, 2, Some(6), None),
        Field::TcpFlags => (Transport, 13, 1, Some(6), None),
        Field::UdpSport => (Transport, 0, 2, Some(17), None),
        Field::UdpDport => (Transport, 2, 2, Some(17), None),
        Field::ThSport => (Transport, 0, 2, None, None),
        Field::ThDport => (Transport, 2, 2, None, None),
        Field::IcmpType => (Transport, 0, 1, Some(1), None),
        Field::IcmpCode => (Transport, 1, 1, Some(1), None),
    };
    if family.is_some_and(|f| f != v6) {
        return None;
    }
    if proto.is_some_and(|p| p != pkt.proto) {
        return None;
    }
    // `ether` fields depend on `meta iiftype ether`.
    if base == Link && pkt.in_iface.is_none_or(|i| arphrd(i) != 1) {
        return None;
    }
    let mut buf = [0u8; 16];
    load_payload(pkt, base, offset, len, &mut buf)?;
    let mut v = [0u8; 16];
    v[16 - len..].copy_from_slice(&buf[..len]);
    let v = u128::from_be_bytes(v);
    // `ip dscp` is the byte's upper six bits.
    Some(if f == Field::IpDscp { v >> 2 } else { v })
}

/// `nft_meta_get_eval`. A missing interface reads as the empty name (index 0), as the
/// kernel stores it, so `oifname != "eth0"` matches a packet not yet routed.
fn read_meta(m: MetaKey, pkt: &PacketView<'_>) -> u128 {
    match m {
        // Rules name an interface by its name (`iif "lo"`), which hoplab's interfaces are
        // known by; the index is the name here.
        MetaKey::Iifname | MetaKey::Iif => name_num(pkt.in_iface.unwrap_or("")),
        MetaKey::Oifname | MetaKey::Oif => name_num(pkt.out_iface.unwrap_or("")),
        MetaKey::L4proto => u128::from(pkt.proto),
        MetaKey::Nfproto if pkt.is_v6() => NFPROTO_IPV6,
        MetaKey::Nfproto => NFPROTO_IPV4,
        MetaKey::Protocol if pkt.is_v6() => 0x86dd,
        MetaKey::Protocol => 0x0800,
        MetaKey::Mark => u128::from(pkt.mark),
        MetaKey::Pkttype => u128::from(pkt_type(pkt)),
    }
}

fn arphrd(name: &str) -> u16 {
    match name {
        "lo" => 772,
        _ => 1,
    }
}

/// `skb->pkt_type`: how the link layer addressed a received frame (from its destination
/// MAC, or from the destination address when the frame is not at hand); a packet this host
/// sends is `PACKET_HOST`.
fn pkt_type(pkt: &PacketView<'_>) -> u8 {
    if pkt.in_iface.is_none() {
        return 0;
    }
    match pkt.mac {
        Some(mac) if mac[..6] == [0xff; 6] => 1,
        Some(mac) if mac[0] & 1 == 1 => 2,
        Some(_) => 0,
        None => match pkt.dst_type {
            AddrType::Broadcast => 1,
            AddrType::Multicast => 2,
            _ => 0,
        },
    }
}

/// `ct state`'s bits (`NF_CT_STATE_*_BIT`), as nft names them.
pub mod ct_state {
    pub const INVALID: u32 = 1;
    pub const ESTABLISHED: u32 = 2;
    pub const RELATED: u32 = 4;
    pub const NEW: u32 = 8;
    pub const UNTRACKED: u32 = 64;
}

/// `ct status`'s bits (`IPS_*`) that hoplab's conntrack keeps.
pub mod ct_status {
    pub const EXPECTED: u32 = 1;
    pub const SEEN_REPLY: u32 = 2;
    pub const ASSURED: u32 = 4;
    pub const CONFIRMED: u32 = 8;
    pub const SNAT: u32 = 16;
    pub const DNAT: u32 = 32;
}

/// The packet's `ct state` bits: a packet without a connection is `invalid` or
/// `untracked`.
pub fn ct_state_bits(pkt: &PacketView<'_>) -> u32 {
    match pkt.ct.map(|c| c.state) {
        Some(CtState::New) => ct_state::NEW,
        Some(CtState::Established) => ct_state::ESTABLISHED,
        Some(CtState::Related) => ct_state::RELATED,
        Some(CtState::Untracked) => ct_state::UNTRACKED,
        Some(CtState::Invalid) | None => ct_state::INVALID,
    }
}

/// The packet's connection, if it has one (an invalid or untracked packet has none).
fn conn(pkt: &PacketView<'_>) -> Option<crate::netfilter::CtView> {
    pkt.ct
        .filter(|c| !matches!(c.state, CtState::Invalid | CtState::Untracked))
}

/// `nft_ct_get_eval`: every key but `state` breaks without a connection.
fn read_ct(key: CtKey, pkt: &PacketView<'_>) -> Option<u128> {
    if key == CtKey::State {
        return Some(u128::from(ct_state_bits(pkt)));
    }
    let ct = conn(pkt)?;
    Some(match key {
        CtKey::State => unreachable!("answered above"),
        CtKey::Status => u128::from(
            ct.detail.status
                | (u32::from(ct.snat) * ct_status::SNAT)
                | (u32::from(ct.dnat) * ct_status::DNAT),
        ),
        CtKey::Direction => u128::from(ct.reply),
        CtKey::Mark => u128::from(ct.mark),
    })
}

/// `ct original ip saddr` and the like: one direction's tuple; ports only for protocols
/// that have them.
fn read_tuple(dir: CtDir, key: TupleKey, pkt: &PacketView<'_>) -> Option<u128> {
    let ct = conn(pkt)?;
    let d = &ct.detail;
    // `ct original ip saddr` reads an IPv4 flow's address, `ip6 saddr` an IPv6 flow's.
    let addr = |a: smoltcp::wire::IpAddress, v6: bool| match a {
        smoltcp::wire::IpAddress::Ipv4(a) if !v6 => Some(u128::from(a.to_bits())),
        smoltcp::wire::IpAddress::Ipv6(a) if v6 => Some(a.to_bits()),
        _ => None,
    };
    let port = |p: Option<u16>| p.map(u128::from);
    let v6 = matches!(key, TupleKey::Ip6Saddr | TupleKey::Ip6Daddr);
    match (dir, key) {
        (CtDir::Original, TupleKey::IpSaddr | TupleKey::Ip6Saddr) => addr(ct.orig_src, v6),
        (CtDir::Original, TupleKey::IpDaddr | TupleKey::Ip6Daddr) => addr(ct.orig_dst, v6),
        (CtDir::Reply, TupleKey::IpSaddr | TupleKey::Ip6Saddr) => addr(d.repl_src, v6),
        (CtDir::Reply, TupleKey::IpDaddr | TupleKey::Ip6Daddr) => addr(d.repl_dst, v6),
        (CtDir::Original, TupleKey::ProtoSrc) => port(ct.orig_sport),
        (CtDir::Original, TupleKey::ProtoDst) => port(ct.orig_dport),
        (CtDir::Reply, TupleKey::ProtoSrc) => port(d.repl_sport),
        (CtDir::Reply, TupleKey::ProtoDst) => port(d.repl_dport),
    }
}

/// `nft_fib4_eval_type` and `nft_fib4_eval`. The type is the address's class as the host
/// sees it (`RTN_*`). The output interface is only known for the reverse-path check
/// (`fib saddr . iif oif`), which conntrack's host answers: the input interface when the
/// route back leaves by it, else 0 (`missing`); other lookups have no routing table here.
fn read_fib(
    flags: FibFlags,
    r: FibResult,
    pkt: &PacketView<'_>,
    conns: &dyn ConnQuery,
) -> Option<u128> {
    let daddr = flags.0 & FibFlags::DADDR != 0;
    match r {
        FibResult::Type => Some(u128::from(fib_type(pkt, daddr))),
        FibResult::Oif | FibResult::Oifname => {
            let iif = pkt.in_iface?;
            if daddr {
                return None;
            }
            let strict = flags.0 & FibFlags::IIF != 0;
            match conns.reverse_path(pkt.src, iif, false, !strict)? {
                true => Some(name_num(iif)),
                false => Some(0),
            }
        }
    }
}

/// `fib saddr type` / `fib daddr type`: the route type (`RTN_*`) of the address, as
/// `inet_addr_type` classes it.
pub fn fib_type(pkt: &PacketView<'_>, daddr: bool) -> u32 {
    let t = if daddr { pkt.dst_type } else { pkt.src_type };
    match t {
        AddrType::Unspec => 0,
        AddrType::Unicast => 1,
        AddrType::Local => 2,
        AddrType::Broadcast => 3,
        AddrType::Multicast => 5,
    }
}

#[cfg(test)]
#[path = "eval_packet_tests.rs"]
mod tests;
