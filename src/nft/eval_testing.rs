//! Packets for the evaluation tests: real IPv4 bytes (payload expressions read them) and
//! the view the hooks would make of them.

use crate::netfilter::{AddrType, CtState, CtView, PacketView};

/// An IPv4 datagram of protocol `proto` from `src` to `dst` carrying `l4` (TTL 64, DF,
/// id 0x1234).
pub(crate) fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len() as u16;
    let mut ip = vec![0x45, 0x00];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(l4);
    ip
}

/// A TCP segment's header with these ports and flags (window 64240, no options).
pub(crate) fn tcp_hdr(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    t
}

/// A UDP header with these ports and 4 bytes of payload.
pub(crate) fn udp_hdr(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 12, 0, 0, b'p', b'i', b'n', b'g']);
    u
}

/// An ICMP echo request (identifier 7, sequence 1).
pub(crate) fn echo_hdr() -> Vec<u8> {
    vec![8, 0, 0, 0, 0, 7, 0, 1]
}

/// An IPv6 packet of next header `proto` from `src` to `dst` carrying `l4` (hop limit 64).
pub(crate) fn ipv6(src: &str, dst: &str, proto: u8, l4: &[u8]) -> Vec<u8> {
    let a = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[proto, 64]);
    ip.extend_from_slice(&a(src));
    ip.extend_from_slice(&a(dst));
    ip.extend_from_slice(l4);
    ip
}

/// A TCP SYN [2001:db8::2]:40000 -> [2001:db8::1]:22.
pub(crate) fn syn6() -> Vec<u8> {
    ipv6("2001:db8::2", "2001:db8::1", 6, &tcp_hdr(40000, 22, 0x02))
}

/// The view of `ip` (IPv4 or IPv6) arriving on eth0 for this host (its destination
/// local), tracked as a new connection.
pub(crate) fn view(ip: &[u8]) -> PacketView<'_> {
    let v6 = ip[0] >> 4 == 6;
    let (src, dst, proto, l4) = match v6 {
        false => (
            smoltcp::wire::IpAddress::Ipv4(smoltcp::wire::Ipv4Address::from_octets(
                ip[12..16].try_into().unwrap(),
            )),
            smoltcp::wire::IpAddress::Ipv4(smoltcp::wire::Ipv4Address::from_octets(
                ip[16..20].try_into().unwrap(),
            )),
            ip[9],
            &ip[20..],
        ),
        true => {
            let (proto, at, _) = crate::netfilter::conntrack::ipv6_upper(ip).unwrap();
            let a = |r: std::ops::Range<usize>| {
                let b: [u8; 16] = ip[r].try_into().unwrap();
                smoltcp::wire::IpAddress::Ipv6(smoltcp::wire::Ipv6Address::from(b))
            };
            (a(8..24), a(24..40), proto, &ip[at..])
        }
    };
    let ports = matches!(proto, 6 | 17).then(|| {
        (
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        )
    });
    PacketView {
        len: ip.len() as u32,
        src,
        dst,
        proto,
        sport: ports.map(|p| p.0),
        dport: ports.map(|p| p.1),
        tcp_flags: (proto == 6).then(|| l4[13]),
        icmp: matches!(proto, 1 | 58).then(|| (l4[0], l4[1])),
        fragment: false,
        in_iface: Some("eth0"),
        out_iface: None,
        ct: Some(CtView {
            state: CtState::New,
            orig_src: src,
            orig_dst: dst,
            orig_sport: ports.map(|p| p.0),
            orig_dport: ports.map(|p| p.1),
            reply: false,
            snat: false,
            dnat: false,
            mark: 0,
            detail: Default::default(),
        }),
        src_type: AddrType::Unicast,
        dst_type: AddrType::Local,
        ip,
        mac: Some(match v6 {
            false => [0x02, 0, 0, 0, 1, 1, 0x02, 0, 0, 0, 2, 1, 0x08, 0x00],
            true => [0x02, 0, 0, 0, 1, 1, 0x02, 0, 0, 0, 2, 1, 0x86, 0xdd],
        }),
        mark: 0,
        physdev: None,
    }
}

/// A TCP SYN 10.0.0.2:40000 -> 10.0.0.1:22.
pub(crate) fn syn() -> Vec<u8> {
    ipv4([10, 0, 0, 2], [10, 0, 0, 1], 6, &tcp_hdr(40000, 22, 0x02))
}
