//! One-line, tcpdump-like summaries of frames, for traces and logs.

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet,
    IpProtocol, Ipv4Packet, TcpPacket, UdpPacket,
};

/// `172.17.0.2 > 172.17.0.3: ICMP echo request, id 1, seq 1, length 64` and the like.
pub fn summarize(frame: &[u8]) -> String {
    if let Some(tci) = super::vlan::tag(frame) {
        // tcpdump -e's words for the tag, then what it carries.
        let mut inner = Vec::with_capacity(frame.len());
        super::vlan::retag(frame, None, &mut inner);
        return format!("vlan {}, p {}, {}", tci.vid, tci.pcp, untagged(&inner));
    }
    untagged(frame)
}

/// A frame's summary without looking for a tag (a second tag is shown as an EtherType).
fn untagged(frame: &[u8]) -> String {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return format!("truncated frame, length {}", frame.len());
    };
    match eth.ethertype() {
        EthernetProtocol::Arp => arp(eth.payload()),
        EthernetProtocol::Ipv4 => ipv4(eth.payload()),
        EthernetProtocol::Ipv6 => ipv6(eth.payload()),
        other => format!(
            "{} > {}, ethertype {other}, length {}",
            super::Mac(eth.src_addr()),
            super::Mac(eth.dst_addr()),
            frame.len()
        ),
    }
}

fn arp(data: &[u8]) -> String {
    let parsed = ArpPacket::new_checked(data).and_then(|p| ArpRepr::parse(&p));
    match parsed {
        Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) => match operation {
            ArpOperation::Request => {
                format!("ARP, Request who-has {target_protocol_addr} tell {source_protocol_addr}")
            }
            ArpOperation::Reply => {
                format!(
                    "ARP, Reply {source_protocol_addr} is-at {}",
                    super::Mac(source_hardware_addr)
                )
            }
            ArpOperation::Unknown(op) => format!("ARP, unknown operation {op}"),
        },
        _ => "ARP, malformed".into(),
    }
}

fn ipv4(data: &[u8]) -> String {
    let Ok(ip) = Ipv4Packet::new_checked(data) else {
        return "IP, malformed".into();
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let payload = ip.payload();
    match ip.next_header() {
        IpProtocol::Icmp => match Icmpv4Packet::new_checked(payload) {
            Ok(icmp) => {
                let what = match icmp.msg_type() {
                    Icmpv4Message::EchoRequest => format!(
                        "ICMP echo request, id {}, seq {}",
                        icmp.echo_ident(),
                        icmp.echo_seq_no()
                    ),
                    Icmpv4Message::EchoReply => format!(
                        "ICMP echo reply, id {}, seq {}",
                        icmp.echo_ident(),
                        icmp.echo_seq_no()
                    ),
                    Icmpv4Message::TimeExceeded => "ICMP time exceeded in-transit".into(),
                    Icmpv4Message::DstUnreachable => {
                        format!("ICMP unreachable, code {}", icmp.msg_code())
                    }
                    other => format!("ICMP {other}"),
                };
                format!("{src} > {dst}: {what}, length {}", payload.len())
            }
            Err(_) => format!("{src} > {dst}: ICMP, malformed"),
        },
        IpProtocol::Tcp => tcp(&src, &dst, payload),
        IpProtocol::Udp => udp(&src, &dst, payload),
        other => format!("{src} > {dst}: {other}, length {}", payload.len()),
    }
}

/// `10.0.0.1.80 > 10.0.0.2.40000: Flags [S.], length 0` (v6 addresses take the port the
/// same way, as in tcpdump).
fn tcp(src: &dyn std::fmt::Display, dst: &dyn std::fmt::Display, payload: &[u8]) -> String {
    let Ok(tcp) = TcpPacket::new_checked(payload) else {
        return format!("{src} > {dst}: TCP, malformed");
    };
    let mut flags = String::new();
    for (on, c) in [
        (tcp.syn(), 'S'),
        (tcp.fin(), 'F'),
        (tcp.rst(), 'R'),
        (tcp.psh(), 'P'),
    ] {
        if on {
            flags.push(c);
        }
    }
    if tcp.ack() {
        flags.push('.');
    }
    let len = payload.len().saturating_sub(usize::from(tcp.header_len()));
    format!(
        "{src}.{} > {dst}.{}: Flags [{flags}], length {len}",
        tcp.src_port(),
        tcp.dst_port()
    )
}

fn udp(src: &dyn std::fmt::Display, dst: &dyn std::fmt::Display, payload: &[u8]) -> String {
    match UdpPacket::new_checked(payload) {
        Ok(udp) => format!(
            "{src}.{} > {dst}.{}: UDP, length {}",
            udp.src_port(),
            udp.dst_port(),
            udp.payload().len()
        ),
        Err(_) => format!("{src} > {dst}: UDP, malformed"),
    }
}

/// An IPv6 packet as tcpdump words it, without its `IP6` prefix (as IPv4 goes without
/// `IP`): `fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2,
/// length 32`. Hop-by-hop options ahead of the payload are named (`HBH`) and skipped.
fn ipv6(data: &[u8]) -> String {
    use std::net::Ipv6Addr;
    let Some(header) = data.get(..40).filter(|h| h[0] >> 4 == 6) else {
        return "IP6, malformed".into();
    };
    let addr = |b: &[u8]| Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap_or([0; 16]));
    let (src, dst) = (addr(&header[8..24]), addr(&header[24..40]));
    let end = (40 + usize::from(u16::from_be_bytes([header[4], header[5]]))).min(data.len());
    let (mut next, mut off, mut hbh) = (header[6], 40, "");
    if next == 0 {
        let Some(ext) = data.get(off..off + 2) else {
            return format!("{src} > {dst}: HBH, malformed");
        };
        (next, off, hbh) = (ext[0], off + (usize::from(ext[1]) + 1) * 8, "HBH ");
    }
    let payload = data.get(off..end).unwrap_or_default();
    match next {
        58 => format!("{src} > {dst}: {hbh}{}", icmpv6(payload)),
        6 => tcp(&src, &dst, payload),
        17 => udp(&src, &dst, payload),
        other => format!(
            "{src} > {dst}: {hbh}{}, length {}",
            IpProtocol::from(other),
            payload.len()
        ),
    }
}

/// `ICMP6, echo request, id 1, seq 1, length 64` and the like (tcpdump's words).
fn icmpv6(m: &[u8]) -> String {
    use std::net::Ipv6Addr;
    let Some(&[ty, code, ..]) = m.get(..4) else {
        return "ICMP6, malformed".into();
    };
    let u16_at = |i: usize| {
        m.get(i..i + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    let target = || {
        m.get(8..24)
            .map(|t| Ipv6Addr::from(<[u8; 16]>::try_from(t).unwrap_or([0; 16])).to_string())
            .unwrap_or_else(|| "?".into())
    };
    let what = match ty {
        128 | 129 => format!(
            "echo {}, id {}, seq {}",
            if ty == 128 { "request" } else { "reply" },
            u16_at(4),
            u16_at(6)
        ),
        135 => format!("neighbor solicitation, who has {}", target()),
        136 => format!("neighbor advertisement, tgt is {}", target()),
        133 => "router solicitation".into(),
        134 => "router advertisement".into(),
        137 => "redirect".into(),
        143 => "multicast listener report v2".into(),
        1 => {
            let why = match code {
                0 => "unreachable route",
                1 => "unreachable prohibited",
                3 => "unreachable address",
                4 => "unreachable port",
                _ => "unreachable",
            };
            format!("destination unreachable, {why}")
        }
        2 => format!(
            "packet too big, mtu {}",
            m.get(4..8)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        ),
        3 => "time exceeded in-transit".into(),
        4 => format!("parameter problem, code {code}"),
        other => format!("type-#{other}"),
    };
    format!("ICMP6, {what}, length {}", m.len())
}

#[cfg(test)]
mod tests {
    /// An IPv6 packet (hop limit 255) carrying `payload` with next header `nh`.
    fn v6(src: [u8; 16], dst: [u8; 16], nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0xff, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(&[nh, 255]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(payload);
        f
    }

    const LL1: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const LL2: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn ndp_and_echo_read_as_tcpdump_words_them() {
        let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
        ns.extend_from_slice(&LL2);
        ns.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 1]);
        let mut sn = [0u8; 16];
        sn[..2].copy_from_slice(&[0xff, 0x02]);
        sn[11..].copy_from_slice(&[1, 0xff, 0, 0, 2]);
        assert_eq!(
            super::summarize(&v6(LL1, sn, 58, &ns)),
            "fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 32"
        );
        let mut na = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        na.extend_from_slice(&LL2);
        assert_eq!(
            super::summarize(&v6(LL2, LL1, 58, &na)),
            "fe80::2 > fe80::1: ICMP6, neighbor advertisement, tgt is fe80::2, length 24"
        );
        let echo = [128, 0, 0, 0, 0, 7, 0, 3, b'x', b'y'];
        assert_eq!(
            super::summarize(&v6(LL1, LL2, 58, &echo)),
            "fe80::1 > fe80::2: ICMP6, echo request, id 7, seq 3, length 10"
        );
        let udp = [0x9c, 0x40, 0, 53, 0, 10, 0, 0, 1, 2];
        assert_eq!(
            super::summarize(&v6(LL1, LL2, 17, &udp)),
            "fe80::1.40000 > fe80::2.53: UDP, length 2"
        );
        // Cut short: no panic, a word for it.
        assert_eq!(
            super::summarize(&v6(LL1, LL2, 58, &[128])),
            "fe80::1 > fe80::2: ICMP6, malformed"
        );
        let mut short = v6(LL1, LL2, 58, &echo);
        short.truncate(30);
        assert_eq!(super::summarize(&short), "IP6, malformed");
    }

    #[test]
    fn a_tagged_frame_names_its_vlan_then_what_it_carries() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x20, 0x0a, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 10, 2]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 10, 1]);
        assert_eq!(
            super::summarize(&f),
            "vlan 10, p 1, ARP, Request who-has 10.0.10.1 tell 10.0.10.2"
        );
    }
}
