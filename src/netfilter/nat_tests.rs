use smoltcp::wire::{
    Icmpv4Packet, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket, UdpPacket,
};

use super::*;
use crate::netfilter::conntrack::{Conntrack, DEFAULT_MAX, Flow, Slot};
use crate::router::icmp::ipv4_header;
use crate::time::Instant;

fn a(s: &str) -> Ipv4Address {
    s.parse().unwrap()
}

fn packet(src: &str, dst: &str, proto: IpProtocol, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 20 + l4.len()];
    ipv4_header(&mut v, a(src), a(dst), proto, 7, l4.len());
    v[20..].copy_from_slice(l4);
    v
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = vec![0u8; 24];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[12] = 0x50;
    l4[13] = 0x02;
    l4[20..].copy_from_slice(b"data");
    let mut p = packet(src, dst, IpProtocol::Tcp, &l4);
    let (s, d) = (IpAddress::Ipv4(a(src)), IpAddress::Ipv4(a(dst)));
    TcpPacket::new_unchecked(&mut p[20..]).fill_checksum(&s, &d);
    p
}

fn udp(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = vec![0u8; 12];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&12u16.to_be_bytes());
    l4[8..].copy_from_slice(b"ping");
    let mut p = packet(src, dst, IpProtocol::Udp, &l4);
    let (s, d) = (IpAddress::Ipv4(a(src)), IpAddress::Ipv4(a(dst)));
    UdpPacket::new_unchecked(&mut p[20..]).fill_checksum(&s, &d);
    p
}

fn valid(p: &[u8]) -> (Ipv4Address, Ipv4Address, u16, u16) {
    let ip = Ipv4Packet::new_checked(p).unwrap();
    assert!(ip.verify_checksum(), "IP checksum");
    let (s, d) = (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    );
    let ports = match ip.next_header() {
        IpProtocol::Tcp => {
            let t = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(t.verify_checksum(&s, &d), "TCP checksum");
            (t.src_port(), t.dst_port())
        }
        IpProtocol::Udp => {
            let u = UdpPacket::new_checked(ip.payload()).unwrap();
            assert!(u.verify_checksum(&s, &d), "UDP checksum");
            (u.src_port(), u.dst_port())
        }
        IpProtocol::Icmp => {
            let i = Icmpv4Packet::new_checked(ip.payload()).unwrap();
            assert!(i.verify_checksum(), "ICMP checksum");
            (i.echo_ident(), 0)
        }
        _ => (0, 0),
    };
    (ip.src_addr(), ip.dst_addr(), ports.0, ports.1)
}

fn confirmed(ct: &mut Conntrack, pkt: &[u8], action: Option<NatAction>, rng: &mut Rng) -> u32 {
    let mut tr = ct.track(Instant::ZERO, &Flow::parse(pkt).unwrap());
    if let Some(action) = action {
        let Slot::Pending(mut conn) = std::mem::replace(&mut tr.slot, Slot::None) else {
            panic!()
        };
        bind(
            ct,
            &mut conn,
            action,
            Some(a("192.0.2.10").into()),
            Some(a("192.0.2.10").into()),
            rng,
        )
        .unwrap();
        tr.slot = Slot::Pending(conn);
    }
    assert_eq!(
        ct.confirm(&mut tr.slot),
        crate::netfilter::conntrack::Confirm::Entered
    );
    match tr.slot {
        Slot::Table(id) => id,
        _ => panic!(),
    }
}

#[test]
fn incremental_adjust_equals_a_full_recompute() {
    let mut p = tcp("172.17.0.2", "192.0.2.1", 40000, 80);
    let hl = 20;
    let before = u16::from_be_bytes([p[10], p[11]]);
    let old: [u8; 4] = p[12..16].try_into().unwrap();
    p[12..16].copy_from_slice(&[10, 9, 8, 7]);
    let adjusted = adjust(before, &old, &[10, 9, 8, 7]);
    let mut full = Ipv4Packet::new_unchecked(&mut p[..hl]);
    full.fill_checksum();
    assert_eq!(adjusted, full.checksum());
}

#[test]
fn masquerade_keeps_the_port_then_remaps_a_collision() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let masq = Some(NatAction::Masquerade { ports: None });
    let c1 = tcp("172.17.0.2", "192.0.2.1", 40000, 80);
    let c2 = tcp("172.17.0.3", "192.0.2.1", 40000, 80);
    confirmed(&mut ct, &c1, masq, &mut rng);
    confirmed(&mut ct, &c2, masq, &mut rng);
    let flows = ct.flows();
    assert_eq!(flows[0].reply.dport, 40000);
    let second = flows[1].reply.dport;
    assert_ne!(second, 40000);
    assert!((1024..=65535).contains(&second));
    assert!(
        flows
            .iter()
            .all(|f| f.reply.dst == IpAddress::Ipv4(a("192.0.2.10")) && f.snat)
    );
}

#[test]
fn masqueraded_packets_and_replies_are_rewritten_with_valid_checksums() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let mut out = tcp("172.17.0.2", "192.0.2.1", 40000, 80);
    let id = confirmed(
        &mut ct,
        &out,
        Some(NatAction::Masquerade { ports: None }),
        &mut rng,
    );
    let conn = ct.conn(&Slot::Table(id)).unwrap().clone();
    assert!(
        !apply(&conn, false, Manip::Dst, &mut out),
        "nothing to do at PREROUTING"
    );
    assert!(apply(&conn, false, Manip::Src, &mut out));
    assert_eq!(valid(&out), (a("192.0.2.10"), a("192.0.2.1"), 40000, 80));
    let mut back = tcp("192.0.2.1", "192.0.2.10", 80, 40000);
    assert!(apply(&conn, true, Manip::Dst, &mut back));
    assert_eq!(valid(&back), (a("192.0.2.1"), a("172.17.0.2"), 80, 40000));
}

#[test]
fn dnat_rewrites_the_destination_and_the_reply_source() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let mut inbound = tcp("192.0.2.1", "192.0.2.10", 5555, 8080);
    let dnat = NatAction::Dnat {
        addrs: (a("172.17.0.2").into(), a("172.17.0.2").into()),
        ports: Some((80, 80)),
    };
    let id = confirmed(&mut ct, &inbound, Some(dnat), &mut rng);
    let conn = ct.conn(&Slot::Table(id)).unwrap().clone();
    assert!(conn.dnat && !conn.snat);
    assert!(apply(&conn, false, Manip::Dst, &mut inbound));
    assert_eq!(valid(&inbound), (a("192.0.2.1"), a("172.17.0.2"), 5555, 80));
    let mut reply = tcp("172.17.0.2", "192.0.2.1", 80, 5555);
    assert!(apply(&conn, true, Manip::Src, &mut reply));
    assert_eq!(valid(&reply), (a("192.0.2.10"), a("192.0.2.1"), 8080, 5555));
    let listing = ct.listing(
        Instant::ZERO,
        crate::netfilter::conntrack::ListFilter {
            dnat: true,
            ..Default::default()
        },
    );
    assert!(listing.contains("src=192.0.2.1 dst=192.0.2.10 sport=5555 dport=8080 [UNREPLIED] src=172.17.0.2 dst=192.0.2.1 sport=80 dport=5555"), "{listing}");
}

#[test]
fn echo_identifiers_are_translated_both_ways() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let echo = |src: &str, dst: &str, kind: u8, id: u16| {
        let mut l4 = vec![kind, 0, 0, 0, (id >> 8) as u8, id as u8, 0, 1, 1, 2, 3, 4];
        let mut i = Icmpv4Packet::new_unchecked(&mut l4[..]);
        i.fill_checksum();
        packet(src, dst, IpProtocol::Icmp, &l4)
    };
    let masq = Some(NatAction::Masquerade { ports: None });
    confirmed(
        &mut ct,
        &echo("172.17.0.2", "192.0.2.1", 8, 77),
        masq,
        &mut rng,
    );
    let mut second = echo("172.17.0.3", "192.0.2.1", 8, 77);
    let id = confirmed(&mut ct, &second, masq, &mut rng);
    let conn = ct.conn(&Slot::Table(id)).unwrap().clone();
    assert!(apply(&conn, false, Manip::Src, &mut second));
    let (_, _, mapped, _) = valid(&second);
    assert_ne!(mapped, 77, "the colliding identifier is remapped");
    let mut reply = echo("192.0.2.1", "192.0.2.10", 0, mapped);
    assert!(apply(&conn, true, Manip::Dst, &mut reply));
    assert_eq!(valid(&reply), (a("192.0.2.1"), a("172.17.0.3"), 77, 0));
}

#[test]
fn icmp_errors_translate_the_quoted_packet_too() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let mut out = udp("172.17.0.2", "192.0.2.1", 49503, 7777);
    let id = confirmed(
        &mut ct,
        &out,
        Some(NatAction::Masquerade { ports: None }),
        &mut rng,
    );
    let conn = ct.conn(&Slot::Table(id)).unwrap().clone();
    apply(&conn, false, Manip::Src, &mut out);
    // The remote host answers port unreachable, quoting the translated datagram.
    let mut l4 = vec![3, 3, 0, 0, 0, 0, 0, 0];
    l4.extend_from_slice(&out);
    Icmpv4Packet::new_unchecked(&mut l4[..]).fill_checksum();
    let mut err = packet("192.0.2.1", "192.0.2.10", IpProtocol::Icmp, &l4);
    let tr = ct.track(Instant::ZERO, &Flow::parse(&err).unwrap());
    assert_eq!(tr.state, crate::netfilter::CtState::Related);
    assert!(apply(&conn, tr.reply, Manip::Dst, &mut err));
    let ip = Ipv4Packet::new_checked(&err[..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.dst_addr(), a("172.17.0.2"));
    let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum());
    let inner = Ipv4Packet::new_checked(icmp.data()).unwrap();
    assert!(inner.verify_checksum());
    assert_eq!(inner.src_addr(), a("172.17.0.2"));
    assert_eq!(
        UdpPacket::new_checked(inner.payload()).unwrap().src_port(),
        49503
    );
}

#[test]
fn netmap_keeps_the_host_part_and_takes_the_prefix() {
    assert_eq!(
        netmap_addr(a("10.1.3.4").into(), a("192.168.0.0").into(), 0xFFFF_0000),
        IpAddress::Ipv4(a("192.168.3.4"))
    );
    assert_eq!(
        netmap_addr(
            a("10.1.3.4").into(),
            a("172.16.9.9").into(),
            u128::from(u32::MAX)
        ),
        IpAddress::Ipv4(a("172.16.9.9")),
        "a /32 maps everything to one address"
    );
    assert_eq!(
        netmap_addr(a("10.1.3.4").into(), a("0.0.0.0").into(), 0),
        IpAddress::Ipv4(a("10.1.3.4"))
    );
    let orig = Tuple {
        src: a("192.168.1.77").into(),
        dst: a("10.1.3.4").into(),
        sport: 1,
        dport: 2,
        proto: 6,
    };
    let nm = NatAction::Netmap {
        to: a("10.5.5.0").into(),
        mask: 0xFFFF_FF00,
    };
    assert_eq!(
        netmap(nm, false, &orig),
        NatAction::Snat {
            addrs: (a("10.5.5.77").into(), a("10.5.5.77").into()),
            ports: None
        }
    );
    assert_eq!(
        netmap(nm, true, &orig),
        NatAction::Dnat {
            addrs: (a("10.5.5.4").into(), a("10.5.5.4").into()),
            ports: None
        }
    );
}

/// A DNAT or REDIRECT to a port range keeps a port already in the range, else takes the
/// first one whose reply tuple is free, from the range's start (the kernel's order for a
/// destination).
#[test]
fn destination_port_ranges_keep_a_port_in_range_else_take_the_first_free() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    let mut rng = Rng::new(1);
    let dnat = NatAction::Dnat {
        addrs: (a("172.17.0.2").into(), a("172.17.0.2").into()),
        ports: Some((100, 200)),
    };
    let dport = |ct: &Conntrack, id| ct.conn(&Slot::Table(id)).unwrap().reply.sport;
    let first = tcp("192.0.2.1", "192.0.2.10", 5555, 8080);
    let id = confirmed(&mut ct, &first, Some(dnat), &mut rng);
    assert_eq!(dport(&ct, id), 100);
    // Same client and port to another port: 100 would make the same reply tuple.
    let second = tcp("192.0.2.1", "192.0.2.10", 5555, 8081);
    let id = confirmed(&mut ct, &second, Some(dnat), &mut rng);
    assert_eq!(dport(&ct, id), 101);
    let in_range = tcp("192.0.2.1", "192.0.2.10", 5555, 150);
    let id = confirmed(&mut ct, &in_range, Some(dnat), &mut rng);
    assert_eq!(dport(&ct, id), 150);
    let redirect = NatAction::Redirect {
        ports: Some((3000, 3001)),
    };
    let to_3001 = udp("192.0.2.1", "198.51.100.1", 4444, 3001);
    let id = confirmed(&mut ct, &to_3001, Some(redirect), &mut rng);
    let conn = ct.conn(&Slot::Table(id)).unwrap().clone();
    assert_eq!(
        (conn.reply.src, conn.reply.sport),
        (IpAddress::Ipv4(a("192.0.2.10")), 3001)
    );
}
