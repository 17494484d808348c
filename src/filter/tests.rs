//! Unit tests: evaluation on frames built with smoltcp, and robustness.

use super::*;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, IpAddress, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket,
    UdpRepr,
};

const M1: EthernetAddress = EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
const M2: EthernetAddress = EthernetAddress([0x02, 0x42, 0xac, 0x11, 0x00, 0x03]);
const A1: Ipv4Address = Ipv4Address::new(172, 17, 0, 2);
const A2: Ipv4Address = Ipv4Address::new(172, 17, 0, 3);
const FAR: Ipv4Address = Ipv4Address::new(10, 0, 0, 5);

fn eth(ty: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: M1,
        dst_addr: M2,
        ethertype: ty,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
    repr.emit(&mut f);
    f.payload_mut().copy_from_slice(payload);
    buf
}

fn ip(src: Ipv4Address, dst: Ipv4Address, proto: IpProtocol, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: proto,
        payload_len: payload.len(),
        hop_limit: ttl,
    };
    let mut buf = vec![0; repr.buffer_len() + payload.len()];
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut p, &ChecksumCapabilities::default());
    p.payload_mut().copy_from_slice(payload);
    buf
}

fn tcp(
    src: Ipv4Address,
    dst: Ipv4Address,
    control: TcpControl,
    ack: bool,
    payload: &[u8],
) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: 40010,
        dst_port: 40001,
        control,
        seq_number: TcpSeqNumber(100),
        ack_number: ack.then_some(TcpSeqNumber(200)),
        window_len: 1000,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    };
    let mut buf = vec![0; repr.buffer_len()];
    let mut p = TcpPacket::new_unchecked(&mut buf[..]);
    repr.emit(
        &mut p,
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        &ChecksumCapabilities::default(),
    );
    ip(src, dst, IpProtocol::Tcp, 64, &buf)
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: sport,
        dst_port: dport,
    };
    let mut buf = vec![0; repr.header_len() + payload.len()];
    let mut p = UdpPacket::new_unchecked(&mut buf[..]);
    let (s, d) = (IpAddress::Ipv4(A1), IpAddress::Ipv4(FAR));
    repr.emit(
        &mut p,
        &s,
        &d,
        payload.len(),
        |b| b.copy_from_slice(payload),
        &ChecksumCapabilities::default(),
    );
    ip(A1, FAR, IpProtocol::Udp, 1, &buf)
}

fn icmp(repr: Icmpv4Repr) -> Vec<u8> {
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        &ChecksumCapabilities::default(),
    );
    buf
}

/// Named test frames.
fn frame(name: &str) -> Vec<u8> {
    let v4 = EthernetProtocol::Ipv4;
    match name {
        "arp" => {
            let repr = ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                source_hardware_addr: M1,
                source_protocol_addr: A1,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: A2,
            };
            let mut buf = vec![0; repr.buffer_len()];
            repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            eth(EthernetProtocol::Arp, &buf)
        }
        "syn" => eth(v4, &tcp(A1, A2, TcpControl::Syn, false, b"")),
        "psh" => eth(v4, &tcp(A1, A2, TcpControl::Psh, true, b"hello")),
        "udp" => eth(v4, &udp(40000, 40020, b"probe")),
        "echo" => {
            let e = icmp(Icmpv4Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 7,
                data: b"x",
            });
            eth(v4, &ip(A1, A2, IpProtocol::Icmp, 64, &e))
        }
        "unreach" => {
            // Port unreachable from 172.17.0.3 quoting 8 bytes of the "udp" datagram.
            let orig = udp(40000, 40020, b"probe");
            let inner = Ipv4Packet::new_checked(&orig[..]).unwrap();
            let header = Ipv4Repr::parse(&inner, &ChecksumCapabilities::ignored()).unwrap();
            let reason = Icmpv4DstUnreachable::PortUnreachable;
            let e = icmp(Icmpv4Repr::DstUnreachable {
                reason,
                header,
                data: &inner.payload()[..8],
            });
            eth(v4, &ip(A2, A1, IpProtocol::Icmp, 64, &e))
        }
        "raw" => eth(EthernetProtocol::Unknown(0x88b5), b"opaque"),
        // The "echo" frame tagged VLAN 10, priority 5; and twice tagged (20 outside, 30
        // inside) around the "arp" frame.
        "tagged" => {
            let mut out = Vec::new();
            let t = crate::wire::vlan::Tci {
                pcp: 5,
                dei: false,
                vid: 10,
            };
            crate::wire::vlan::retag(&frame("echo"), Some(t), &mut out);
            out
        }
        "qinq" => {
            let (mut inner, mut outer) = (Vec::new(), Vec::new());
            crate::wire::vlan::retag(
                &frame("arp"),
                Some(crate::wire::vlan::Tci::vid(30)),
                &mut inner,
            );
            // A second tag in front of the first: MACs, 0x8100 + TCI 20, then the inner tag.
            outer.extend_from_slice(&inner[..12]);
            outer.extend_from_slice(&[0x81, 0x00, 0x00, 20]);
            outer.extend_from_slice(&inner[12..]);
            outer
        }
        _ => panic!("no frame {name}"),
    }
}

fn check(filter: &str, name: &str, comment: Option<&str>) -> bool {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter:?}: {e}"));
    f.matches(&frame(name), comment)
}

#[test]
fn matching_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("vlan", "tagged", true),
        ("vlan", "echo", false),
        ("vlan.id == 10", "tagged", true),
        ("vlan.id != 10", "tagged", false),
        ("vlan.priority == 5 && vlan.dei == 0", "tagged", true),
        ("vlan.etype == 0x0800", "tagged", true),
        ("eth.type == 0x8100", "tagged", true),
        ("icmp.type == 8 && ip.src == 172.17.0.2", "tagged", true),
        (
            "vlan.id == 20 && vlan.id == 30 && arp.opcode == 1",
            "qinq",
            true,
        ),
        ("vlan.etype == 0x8100", "qinq", true),
        ("vlan.id != 30", "qinq", false),
        ("", "raw", true),
        ("eth && !ip", "raw", true),
        ("eth.type == 0x88b5", "raw", true),
        ("arp && arp.opcode == 1", "arp", true),
        ("arp.dst.hw_mac == 00:00:00:00:00:00", "arp", true),
        ("arp.src.proto_ipv4 == 172.17.0.0/16", "arp", true),
        ("arp.dst.proto_ipv4 != 172.17.0.3", "arp", false),
        ("eth.src == 02-42-ac-11-00-02", "arp", true),
        ("eth.dst eq 0242.ac11.0003", "arp", true),
        ("eth.addr != 02:42:ac:11:00:03", "arp", false),
        ("eth.addr != 02:42:ac:11:00:09", "arp", true),
        ("eth.src < 02:42:ac:11:00:03", "arp", true),
        ("ip", "arp", false),
        ("tcp.port != 80", "udp", false),
        ("!(tcp.port == 80)", "udp", true),
        ("tcp.flags.syn", "psh", true),
        ("tcp.flags.syn == 0", "psh", true),
        ("tcp.flags.syn == True", "syn", true),
        ("tcp.flags.syn == 2", "syn", true),
        ("tcp.flags.syn > 0", "psh", false),
        ("tcp.flags.ack == FALSE", "syn", true),
        (
            "tcp.flags.push && tcp.flags.ack == 1 && tcp.len == 5",
            "psh",
            true,
        ),
        ("tcp.len > 0", "syn", false),
        ("tcp.port == 40001 && tcp.port == 40010", "syn", true),
        ("tcp.port != 40001", "syn", false),
        ("tcp.srcport != 40001", "syn", true),
        ("ip.flags.df", "syn", true),
        ("ip.ttl == 0100", "syn", true),
        ("ip.ttl == 0x40 && ip.proto == 6", "syn", true),
        (
            "ip.ttl >= 64 and ip.ttl <= 64 and ip.ttl gt 63 and ip.ttl lt 65",
            "syn",
            true,
        ),
        ("ip.addr == 10.0.0.5", "unreach", true),
        ("ip.src == 172.17.0.2", "unreach", true),
        ("ip.src != 172.17.0.2", "unreach", false),
        ("ip.ttl == 1", "unreach", true),
        ("udp.dstport == 40020 && udp.length == 13", "unreach", true),
        ("udp", "unreach", true),
        ("icmp.type == 3 && icmp.code == 3", "unreach", true),
        ("icmp.ident", "unreach", false),
        (
            "icmp.ident == 0x1234 && icmp.seq == 7 && icmp.type == 8",
            "echo",
            true,
        ),
        ("ip.dst == 172.17.0.0/24", "echo", true),
        ("ip.dst > 172.17.0.0/24", "echo", false),
        ("ip.dst >= 172.17.0.0/24", "echo", true),
        ("ip.dst == 0.0.0.0/0", "echo", true),
        ("frame.len == 43", "echo", true),
        ("arp || tcp && ip.ttl == 1", "arp", true),
        ("(arp || tcp) && ip.ttl == 1", "arp", false),
        ("!arp && ip || arp", "arp", true),
        ("not not arp", "arp", true),
        ("udp.port == 40000 or tcp", "udp", true),
    ];
    for &(filter, name, want) in cases {
        assert_eq!(check(filter, name, None), want, "{filter:?} on {name}");
    }
}

#[test]
fn comments() {
    let c = Some("id=42 learned 02:42:ac:11:00:02 on veth1 \"q\" \\");
    let cases: &[(&str, bool)] = &[
        ("frame.comment", true),
        ("frame.comment contains \"learned\"", true),
        ("frame.comment contains \"LEARNED\"", false),
        ("frame.comment contains \"\"", false),
        ("frame.comment contains \"\\\"q\\\" \\\\\"", true),
        ("frame.comment contains \"\\x6c\\145arned\"", true),
        ("frame.comment == \"id=42\"", false),
        ("frame.comment != \"id=42\"", true),
        ("frame.comment > \"ia\" && frame.comment < \"ie\"", true),
    ];
    for &(filter, want) in cases {
        assert_eq!(check(filter, "raw", c), want, "{filter:?}");
        // Without a comment every comparison is false, `!=` included.
        assert!(!check(filter, "raw", None), "{filter:?} without comment");
    }
}

#[test]
fn text_and_fields() {
    let f = Filter::parse("  ip.ttl==64 ").unwrap();
    assert_eq!(f.text(), "  ip.ttl==64 ");
    assert!(FIELDS.iter().any(|&(n, _)| n == "tcp.flags.reset"));
    // Every field is documented in the module's table.
    let doc = include_str!("mod.rs");
    for (name, _) in FIELDS {
        assert!(
            doc.contains(&format!("`{name}`")),
            "{name} missing from the docs"
        );
    }
}

/// Every supported field, bare and compared, on a frame.
fn all_filters() -> Vec<Filter> {
    FIELDS
        .iter()
        .flat_map(|&(name, _)| {
            let value = match name {
                n if n.contains("mac") || n.starts_with("eth.") && n != "eth.type" => {
                    "02:42:ac:11:00:02"
                }
                n if n.starts_with("ipv6.")
                    && (n.ends_with("src") || n.ends_with("dst") || n.ends_with("addr"))
                    || n.ends_with("target_address") =>
                {
                    "2001:db8::/32"
                }
                n if n.starts_with("ip.") && n.ends_with("src")
                    || n.ends_with("dst")
                    || n.ends_with("addr") =>
                {
                    "172.17.0.0/16"
                }
                n if n.contains("ipv4") => "172.17.0.2",
                "frame.comment" => "\"x\"",
                _ => "1",
            };
            let is_proto = !name.contains('.');
            let mut v = vec![Filter::parse(name).unwrap()];
            if !is_proto {
                for op in ["==", "!=", "<", ">="] {
                    v.push(Filter::parse(&format!("{name} {op} {value}")).unwrap());
                }
            }
            v
        })
        .collect()
}

#[test]
fn truncated_and_garbage_frames_never_panic() {
    let filters = all_filters();
    for name in [
        "arp", "syn", "psh", "udp", "echo", "unreach", "raw", "tagged", "qinq",
    ] {
        let full = frame(name);
        for len in 0..=full.len() {
            for f in &filters {
                f.matches(&full[..len], Some(""));
            }
        }
    }
    // A deterministic xorshift stream of random frames, some shaped like IPv4 or IPv6.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..3000 {
        let len = (next() % 120) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 5 == 1 && len > 18 {
            bytes[12] = 0x81;
            bytes[13] = 0x00;
        }
        if i % 2 == 0 && len > 34 {
            bytes[12] = 0x08;
            bytes[13] = 0x00;
            bytes[14] = 0x45;
            bytes[23] = [1, 6, 17][i % 3];
        }
        if i % 3 == 2 && len > 54 {
            // IPv6: ICMPv6 (errors quote more), TCP, UDP, or extension headers.
            bytes[12] = 0x86;
            bytes[13] = 0xdd;
            bytes[14] = 0x60 | (bytes[14] & 0x0f);
            bytes[20] = [58, 6, 17, 0, 43, 60][i % 6];
            bytes[54] = [1, 2, 3, 4, 135, 136][(i / 3) % 6];
        }
        for f in &filters {
            f.matches(&bytes, None);
        }
    }
}
