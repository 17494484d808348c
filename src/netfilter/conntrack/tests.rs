use smoltcp::wire::Ipv4Address;

use super::*;
use crate::router::icmp::ipv4_header;

fn ip(last: u8) -> Ipv4Address {
    Ipv4Address::new(10, 0, 0, last)
}

fn packet(src: Ipv4Address, dst: Ipv4Address, proto: IpProtocol, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; 20 + l4.len()];
    ipv4_header(&mut v, src, dst, proto, 1, l4.len());
    v[20..].copy_from_slice(l4);
    v
}

fn tcp(src: u8, dst: u8, sport: u16, dport: u16, flags: u8) -> Flow {
    let mut l4 = [0u8; 20];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[12] = 0x50;
    l4[13] = flags;
    Flow::parse(&packet(ip(src), ip(dst), IpProtocol::Tcp, &l4)).unwrap()
}

fn udp_bytes(src: u8, dst: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = [0u8; 8];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[4..6].copy_from_slice(&8u16.to_be_bytes());
    packet(ip(src), ip(dst), IpProtocol::Udp, &l4)
}

fn udp(src: u8, dst: u8, sport: u16, dport: u16) -> Flow {
    Flow::parse(&udp_bytes(src, dst, sport, dport)).unwrap()
}

fn icmp(src: u8, dst: u8, kind: u8, id: u16, rest: &[u8]) -> Flow {
    let mut l4 = vec![kind, 0, 0, 0];
    l4.extend_from_slice(&id.to_be_bytes());
    l4.extend_from_slice(&[0, 1]);
    l4.extend_from_slice(rest);
    Flow::parse(&packet(ip(src), ip(dst), IpProtocol::Icmp, &l4)).unwrap()
}

fn t(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

fn confirmed(ct: &mut Conntrack, now: Instant, f: &Flow) -> Tracked {
    let mut tr = ct.track(now, f);
    assert_eq!(tr.state, CtState::New);
    assert_eq!(ct.confirm(&mut tr.slot), Confirm::Entered);
    tr
}

#[test]
fn tcp_handshake_becomes_established_and_assured() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &tcp(2, 9, 40000, 80, 0x02));
    let synack = ct.track(t(0), &tcp(9, 2, 80, 40000, 0x12));
    assert_eq!((synack.state, synack.reply), (CtState::Established, true));
    let ack = ct.track(t(0), &tcp(2, 9, 40000, 80, 0x10));
    assert_eq!((ack.state, ack.reply), (CtState::Established, false));
    assert_eq!(
        ct.listing(t(1), ListFilter::default()),
        "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.9 sport=40000 dport=80 src=10.0.0.9 dst=10.0.0.2 sport=80 dport=40000 [ASSURED] mark=0 use=1\n\
         conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n"
    );
}

#[test]
fn unreplied_udp_counts_down_and_expires() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &udp(2, 9, 5000, 53));
    let text = ct.listing(
        t(2),
        ListFilter {
            proto: Some(17),
            ..ListFilter::default()
        },
    );
    assert!(text.starts_with("udp      17 28 src=10.0.0.2 dst=10.0.0.9 sport=5000 dport=53 [UNREPLIED] src=10.0.0.9 dst=10.0.0.2 sport=53 dport=5000 mark=0 use=1\n"), "{text}");
    ct.expire(t(29));
    assert_eq!(ct.len(), 1);
    ct.expire(t(30));
    assert_eq!(ct.len(), 0);
}

#[test]
fn udp_stream_is_assured_after_two_seconds() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &udp(2, 9, 5000, 53));
    ct.track(t(0), &udp(9, 2, 53, 5000));
    assert!(!ct.flows()[0].assured);
    ct.track(t(3), &udp(2, 9, 5000, 53));
    assert!(ct.flows()[0].assured);
    assert!(
        ct.listing(t(3), ListFilter::default())
            .starts_with("udp      17 120 ")
    );
}

#[test]
fn icmp_echo_pairs_and_lists_types() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &icmp(2, 3, 8, 14517, &[]));
    let reply = ct.track(t(0), &icmp(3, 2, 0, 14517, &[]));
    assert_eq!((reply.state, reply.reply), (CtState::Established, true));
    assert!(ct.listing(t(4), ListFilter::default()).starts_with(
        "icmp     1 26 src=10.0.0.2 dst=10.0.0.3 type=8 code=0 id=14517 src=10.0.0.3 dst=10.0.0.2 type=0 code=0 id=14517 mark=0 use=1\n"
    ));
    // An echo reply nobody asked for is INVALID.
    assert_eq!(
        ct.track(t(0), &icmp(3, 2, 0, 999, &[])).state,
        CtState::Invalid
    );
}

#[test]
fn icmp_errors_are_related_to_the_quoted_flow() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &udp(2, 9, 49503, 7777));
    let quoted = udp_bytes(2, 9, 49503, 7777);
    let err = icmp(9, 2, 3, 0, &quoted);
    let tr = ct.track(t(0), &err);
    assert_eq!((tr.state, tr.reply), (CtState::Related, true));
    // The error does not make the flow replied.
    assert!(!ct.flows()[0].seen_reply);
    let stray = icmp(9, 2, 11, 0, &udp_bytes(2, 9, 1, 2));
    assert_eq!(ct.track(t(0), &stray).state, CtState::Invalid);
}

#[test]
fn a_reset_answering_a_syn_leaves_no_entry() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &tcp(2, 9, 40000, 81, 0x02));
    ct.track(t(0), &tcp(9, 2, 81, 40000, 0x14));
    ct.expire(t(0));
    assert!(ct.is_empty());
}

#[test]
fn only_syns_and_acks_start_tcp_flows() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    assert_eq!(
        ct.track(t(0), &tcp(2, 9, 1, 2, 0x01)).state,
        CtState::Invalid
    );
    assert_eq!(ct.track(t(0), &tcp(2, 9, 1, 2, 0x10)).state, CtState::New);
}

#[test]
fn a_dropped_first_packet_leaves_no_entry_and_the_table_is_bounded() {
    let mut ct = Conntrack::new(1);
    let pending = ct.track(t(0), &udp(2, 9, 1, 2));
    drop(pending);
    assert!(ct.is_empty());
    confirmed(&mut ct, t(0), &udp(2, 9, 1, 2));
    let mut second = ct.track(t(0), &udp(2, 9, 3, 4));
    assert_eq!(ct.confirm(&mut second.slot), Confirm::TableFull);
    assert_eq!(ct.stats.drop, 1);
    // A larger nf_conntrack_max lets the next new flow in.
    ct.set_max(2);
    let mut third = ct.track(t(0), &udp(2, 9, 3, 4));
    assert_eq!(ct.confirm(&mut third.slot), Confirm::Entered);
    assert_eq!((ct.len(), ct.stats.drop, ct.stats.insert_failed), (2, 1, 0));
    // Raised past what the index was made for: the flows in it are still found.
    ct.set_max(5000);
    for port in 10..4000 {
        confirmed(&mut ct, t(0), &udp(2, 9, port, 53));
    }
    for early in [udp(2, 9, 3, 4), udp(2, 9, 1, 2)] {
        assert!(matches!(ct.track(t(0), &early).slot, Slot::Table(_)));
    }
    assert_eq!(ct.len(), 3992);
}

#[test]
fn thousands_of_flows_come_and_go() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    // The first 3,000 flows expire at 30 s; the second 3,000, made at 20 s, stay.
    for port in 1000..4000 {
        confirmed(&mut ct, t(0), &udp(2, 9, port, 53));
    }
    for port in 1000..4000 {
        confirmed(&mut ct, t(20), &udp(3, 9, port, 53));
    }
    ct.expire(t(30));
    assert_eq!(ct.len(), 3000);
    for port in 1000..4000 {
        let gone = ct.track(t(31), &udp(2, 9, port, 53));
        assert_eq!(gone.state, CtState::New, "{port}");
        let back = ct.track(t(31), &udp(9, 3, 53, port));
        assert_eq!(
            (back.state, back.reply),
            (CtState::Established, true),
            "{port}"
        );
    }
    // Expired slots are taken again.
    confirmed(&mut ct, t(31), &udp(4, 9, 7, 53));
    assert_eq!(ct.len(), 3001);
}

#[test]
fn a_syn_reopening_a_time_wait_tuple_starts_a_new_flow() {
    let mut ct = Conntrack::new(DEFAULT_MAX);
    confirmed(&mut ct, t(0), &tcp(2, 9, 40000, 80, 0x02));
    for (src, dst, sport, dport, flags) in [
        (9, 2, 80, 40000, 0x12),
        (2, 9, 40000, 80, 0x10),
        (2, 9, 40000, 80, 0x11),
        (9, 2, 80, 40000, 0x11),
        (2, 9, 40000, 80, 0x10),
    ] {
        ct.track(t(1), &tcp(src, dst, sport, dport, flags));
    }
    assert_eq!(ct.flows()[0].tcp, TcpState::TimeWait);
    // The same tuple again, within TIME_WAIT's 120 s: NEW, as the kernel kills the old one.
    let tr = confirmed(&mut ct, t(2), &tcp(2, 9, 40000, 80, 0x02));
    assert!(!tr.reply);
    assert_eq!(ct.len(), 1);
    assert_eq!(ct.flows()[0].tcp, TcpState::SynSent);
    // An ACK on a TIME_WAIT flow does not reopen it: it is the old flow's.
    for (src, dst, sport, dport, flags) in [
        (9, 2, 80, 40000, 0x12),
        (2, 9, 40000, 80, 0x10),
        (2, 9, 40000, 80, 0x11),
        (9, 2, 80, 40000, 0x11),
        (2, 9, 40000, 80, 0x10),
    ] {
        ct.track(t(3), &tcp(src, dst, sport, dport, flags));
    }
    let ack = ct.track(t(4), &tcp(2, 9, 40000, 80, 0x10));
    assert_eq!(ack.state, CtState::Established);
    assert_eq!(ct.len(), 1);
}

#[test]
fn a_flow_fills_two_cache_lines_at_most() {
    // Either family's tuples (two 16-byte addresses each) fit with the flow's state in two
    // lines; IPv4's alone used to fit in one.
    assert!(
        std::mem::size_of::<Conn>() <= 128,
        "{}",
        std::mem::size_of::<Conn>()
    );
}
