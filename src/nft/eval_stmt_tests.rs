use super::*;
use crate::nft::eval_testing::{syn, view};

#[test]
fn log_writes_the_prefix_then_the_packet() {
    let ip = syn();
    let pkt = view(&ip);
    let log = Log {
        prefix: Some("x: ".into()),
        ..Log::default()
    };
    assert_eq!(
        log_line(&log, &pkt).unwrap(),
        "x: IN=eth0 OUT= MAC=02:00:00:00:01:01:02:00:00:00:02:01:08:00 SRC=10.0.0.2 \
         DST=10.0.0.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 \
         DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 "
    );
    let bare = log_line(&Log::default(), &pkt).unwrap();
    assert!(bare.starts_with("IN=eth0 OUT= MAC="), "{bare}");
    let group = Log {
        group: Some(1),
        ..Log::default()
    };
    assert_eq!(log_line(&group, &pkt), None);
}

fn nat(kind: NatKind, to: NatTo) -> Nat {
    Nat {
        kind,
        family: None,
        to,
        flags: 0,
    }
}

#[test]
fn nat_statements_become_nat_requests() {
    let ip = syn();
    let pkt = view(&ip);
    let a = |s: &str| s.parse::<Ipv4Address>().unwrap();
    let range = |lo: u32, hi: u32, ports| NatTo::Range {
        addrs: Some((Value::Num(lo.into()), Value::Num(hi.into()))),
        ports,
    };
    assert_eq!(
        nat_step(
            &nat(
                NatKind::Dnat,
                range(0x0a00_0002, 0x0a00_0005, Some((8080, 8090)))
            ),
            &pkt,
            None
        ),
        NatStep::Bind(NatAction::Dnat {
            addrs: (a("10.0.0.2").into(), a("10.0.0.5").into()),
            ports: Some((8080, 8090)),
        })
    );
    assert_eq!(
        nat_step(
            &nat(NatKind::Snat, range(0x0102_0304, 0x0102_0304, None)),
            &pkt,
            None
        ),
        NatStep::Bind(NatAction::Snat {
            addrs: (a("1.2.3.4").into(), a("1.2.3.4").into()),
            ports: None,
        })
    );
    let ports_only = NatTo::Range {
        addrs: None,
        ports: Some((1000, 2000)),
    };
    assert_eq!(
        nat_step(&nat(NatKind::Masquerade, ports_only.clone()), &pkt, None),
        NatStep::Bind(NatAction::Masquerade {
            ports: Some((1000, 2000))
        })
    );
    assert_eq!(
        nat_step(&nat(NatKind::Redirect, NatTo::None), &pkt, None),
        NatStep::Bind(NatAction::Redirect { ports: None })
    );
    // dnat to :8080 keeps the destination address.
    assert_eq!(
        nat_step(&nat(NatKind::Dnat, ports_only), &pkt, None),
        NatStep::Bind(NatAction::Dnat {
            addrs: (a("10.0.0.1").into(), a("10.0.0.1").into()),
            ports: Some((1000, 2000)),
        })
    );
    let mut v6 = nat(NatKind::Snat, NatTo::None);
    v6.family = Some(NftFamily::Ip6);
    assert_eq!(nat_step(&v6, &pkt, None), NatStep::Skip);
}

#[test]
fn nat_maps_take_the_elements_address_and_port() {
    let ip = syn();
    let pkt = view(&ip);
    let key = crate::nft::expr::Expr::One(crate::nft::expr::Key::Payload(
        crate::nft::expr::Field::TcpDport,
    ));
    let to = NatTo::Map {
        key,
        map: crate::nft::model::SetRef::Named {
            name: "m".into(),
            index: 0,
        },
        with_port: true,
    };
    let n = nat(NatKind::Dnat, to);
    let data = ElemData::Values(vec![Value::Num(0x0a00_0009), Value::Num(2222)].into());
    let a = "10.0.0.9".parse().unwrap();
    assert_eq!(
        nat_step(&n, &pkt, Some(&data)),
        NatStep::Bind(NatAction::Dnat {
            addrs: (a, a),
            ports: Some((2222, 2222)),
        })
    );
    assert_eq!(nat_step(&n, &pkt, None), NatStep::Break);
}

#[test]
fn reject_answers() {
    assert_eq!(
        reject_with(Reject::Default, false),
        Some(RejectWith::IcmpPortUnreachable)
    );
    assert_eq!(
        reject_with(Reject::TcpReset, false),
        Some(RejectWith::TcpReset)
    );
    assert_eq!(
        reject_with(Reject::Icmpx(3), false),
        Some(RejectWith::IcmpAdminProhibited)
    );
    assert_eq!(
        reject_with(Reject::Icmpx(0), false),
        Some(RejectWith::IcmpNetUnreachable)
    );
    assert_eq!(
        reject_with(Reject::Icmp(10), false),
        Some(RejectWith::IcmpHostProhibited)
    );
    assert_eq!(
        reject_with(Reject::Icmp(1), false),
        Some(RejectWith::IcmpHostUnreachable)
    );
    assert_eq!(reject_with(Reject::Icmpv6(1), false), None);
    assert_eq!(
        reject_with(Reject::Default, true),
        Some(RejectWith::Icmp6Unreachable(4))
    );
    assert_eq!(
        reject_with(Reject::Icmpx(2), true),
        Some(RejectWith::Icmp6Unreachable(3))
    );
    assert_eq!(
        reject_with(Reject::Icmpv6(1), true),
        Some(RejectWith::Icmp6Unreachable(1))
    );
    assert_eq!(reject_with(Reject::Icmp(1), true), None);
}

#[test]
fn nat_statements_of_an_ipv6_packet_take_ipv6_addresses() {
    let ip = crate::nft::eval_testing::syn6();
    let pkt = view(&ip);
    let to = |s: &str| s.parse::<Ipv6Address>().unwrap();
    let v = Value::Num(to("2001:db8::80").to_bits());
    let dnat = Nat {
        family: Some(NftFamily::Ip6),
        ..nat(
            NatKind::Dnat,
            NatTo::Range {
                addrs: Some((v.clone(), v)),
                ports: Some((80, 80)),
            },
        )
    };
    assert_eq!(
        nat_step(&dnat, &pkt, None),
        NatStep::Bind(NatAction::Dnat {
            addrs: (to("2001:db8::80").into(), to("2001:db8::80").into()),
            ports: Some((80, 80)),
        })
    );
    // `snat ip to` in an inet table leaves an IPv6 packet alone; `ip6` an IPv4 one.
    let v4 = Nat {
        family: Some(NftFamily::Ip),
        ..nat(NatKind::Snat, NatTo::None)
    };
    assert_eq!(nat_step(&v4, &pkt, None), NatStep::Skip);
    let ip4 = syn();
    assert_eq!(nat_step(&dnat, &view(&ip4), None), NatStep::Skip);
    assert_eq!(
        nat_step(&nat(NatKind::Masquerade, NatTo::None), &pkt, None),
        NatStep::Bind(NatAction::Masquerade { ports: None })
    );
}
