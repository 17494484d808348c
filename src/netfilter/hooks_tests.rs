use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket};

use super::*;
use crate::router::icmp::ipv4_header;

fn a(s: &str) -> Ipv4Address {
    s.parse().unwrap()
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut l4 = vec![0u8; 20];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    l4[12] = 0x50;
    l4[13] = flags;
    let mut p = vec![0u8; 40];
    ipv4_header(&mut p, a(src), a(dst), IpProtocol::Tcp, 1, 20);
    p[20..].copy_from_slice(&l4);
    TcpPacket::new_unchecked(&mut p[20..])
        .fill_checksum(&IpAddress::Ipv4(a(src)), &IpAddress::Ipv4(a(dst)));
    p
}

fn addrs(p: &[u8]) -> (Ipv4Address, Ipv4Address, u16, u16) {
    let ip = Ipv4Packet::new_checked(p).unwrap();
    let t = TcpPacket::new_checked(ip.payload()).unwrap();
    assert!(ip.verify_checksum());
    assert!(t.verify_checksum(
        &IpAddress::Ipv4(ip.src_addr()),
        &IpAddress::Ipv4(ip.dst_addr())
    ));
    (ip.src_addr(), ip.dst_addr(), t.src_port(), t.dst_port())
}

struct Host;
impl Env for Host {
    fn addr_type(&self, addr: IpAddress) -> AddrType {
        if addr == IpAddress::Ipv4(a("192.0.2.10")) || addr == IpAddress::Ipv4(a("172.17.0.1")) {
            AddrType::Local
        } else {
            AddrType::Unicast
        }
    }
}

/// Rules as a function of (table, hook, packet); records what it was asked.
struct Script<F: FnMut(Table, Hook, &PacketView<'_>) -> Verdict> {
    f: F,
    calls: Vec<(Table, Hook, Option<CtState>)>,
}
impl<F: FnMut(Table, Hook, &PacketView<'_>) -> Verdict> Rules for Script<F> {
    fn run(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView<'_>,
        _now: Instant,
        _conns: &dyn crate::netfilter::ConnQuery,
        _notes: &mut Notes,
    ) -> ChainOutcome {
        self.calls.push((table, hook, pkt.ct.map(|c| c.state)));
        ChainOutcome::verdict((self.f)(table, hook, pkt))
    }
}

/// A hook's fate with the packet's conntrack state, as the first hooks return them.
fn fate_of((out, tr): (Outcome, Tracked)) -> (Fate, Tracked) {
    (out.fate, tr)
}

fn nf() -> Netfilter {
    Netfilter::new(super::super::conntrack::DEFAULT_MAX, Rng::new(1))
}

#[test]
fn masquerade_out_and_back_with_nat_chains_on_the_first_packet_only() {
    let mut nf = nf();
    let mut rules = Script {
        f: |t, h, p: &PacketView<'_>| {
            if t == Table::Nat && h == Hook::Postrouting && p.out_iface == Some("eth0") {
                Verdict::Nat(NatAction::Masquerade { ports: None })
            } else {
                Verdict::Accept
            }
        },
        calls: Vec::new(),
    };
    let mut syn = tcp("172.17.0.2", "192.0.2.1", 40000, 80, 0x02);
    {
        let mut cx = Cx {
            now: Instant::ZERO,
            env: &Host,
            rules: &mut rules,
            mac: None,
            physdev: None,
        };
        let (fate, mut tr) =
            fate_of(nf.prerouting(&mut cx, &mut syn, "docker0", Some(a("172.17.0.1").into())));
        assert_eq!((fate, tr.state), (Fate::Continue, CtState::New));
        assert_eq!(
            nf.forward(&mut cx, &mut syn, &mut tr, "docker0", "eth0")
                .fate,
            Fate::Continue
        );
        let fate = nf
            .postrouting(
                &mut cx,
                &mut syn,
                &mut tr,
                (Some("docker0"), "eth0"),
                Some(a("192.0.2.10").into()),
            )
            .fate;
        assert_eq!(fate, Fate::Continue);
    }
    assert_eq!(addrs(&syn), (a("192.0.2.10"), a("192.0.2.1"), 40000, 80));
    assert_eq!(nf.conntrack.len(), 1);
    let first: Vec<_> = rules.calls.drain(..).map(|(t, h, _)| (t, h)).collect();
    assert_eq!(
        first,
        [
            (Table::Raw, Hook::Prerouting),
            (Table::Mangle, Hook::Prerouting),
            (Table::Nat, Hook::Prerouting),
            (Table::Mangle, Hook::Forward),
            (Table::Filter, Hook::Forward),
            (Table::Mangle, Hook::Postrouting),
            (Table::Nat, Hook::Postrouting),
        ]
    );

    // The reply is un-NATed at PREROUTING and never sees a nat chain.
    let mut synack = tcp("192.0.2.1", "192.0.2.10", 80, 40000, 0x12);
    {
        let mut cx = Cx {
            now: Instant::ZERO,
            env: &Host,
            rules: &mut rules,
            mac: None,
            physdev: None,
        };
        let (fate, mut tr) =
            fate_of(nf.prerouting(&mut cx, &mut synack, "eth0", Some(a("192.0.2.10").into())));
        assert_eq!(
            (fate, tr.state, tr.reply),
            (Fate::Continue, CtState::Established, true)
        );
        assert_eq!(addrs(&synack), (a("192.0.2.1"), a("172.17.0.2"), 80, 40000));
        nf.forward(&mut cx, &mut synack, &mut tr, "eth0", "docker0");
        nf.postrouting(
            &mut cx,
            &mut synack,
            &mut tr,
            (Some("eth0"), "docker0"),
            Some(a("172.17.0.1").into()),
        );
    }
    assert!(
        rules.calls.iter().all(|(t, _, _)| *t != Table::Nat),
        "{:?}",
        rules.calls
    );
    // The raw table runs before conntrack and sees no state (INVALID); every later table
    // sees the flow established.
    assert!(
        rules
            .calls
            .iter()
            .filter(|(t, _, _)| *t != Table::Raw)
            .all(|(_, _, s)| *s == Some(CtState::Established))
    );
}

#[test]
fn dnat_happens_before_filter_and_the_reply_source_is_restored() {
    let mut nf = nf();
    let mut rules = Script {
        f: |t, h, p: &PacketView<'_>| match (t, h) {
            (Table::Nat, Hook::Prerouting) if p.dport == Some(8080) => {
                Verdict::Nat(NatAction::Dnat {
                    addrs: (a("172.17.0.2").into(), a("172.17.0.2").into()),
                    ports: Some((80, 80)),
                })
            }
            // Filter sees the container's address and port, as Docker's rules expect.
            (Table::Filter, Hook::Forward)
                if p.dst == IpAddress::Ipv4(a("172.17.0.2")) && p.dport == Some(80) =>
            {
                Verdict::Accept
            }
            (Table::Filter, Hook::Forward) => Verdict::Drop,
            _ => Verdict::Accept,
        },
        calls: Vec::new(),
    };
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let mut syn = tcp("192.0.2.1", "192.0.2.10", 5555, 8080, 0x02);
    let (_, mut tr) =
        fate_of(nf.prerouting(&mut cx, &mut syn, "eth0", Some(a("192.0.2.10").into())));
    assert_eq!(addrs(&syn), (a("192.0.2.1"), a("172.17.0.2"), 5555, 80));
    assert_eq!(
        nf.forward(&mut cx, &mut syn, &mut tr, "eth0", "docker0")
            .fate,
        Fate::Continue
    );
    let fate = nf
        .postrouting(
            &mut cx,
            &mut syn,
            &mut tr,
            (Some("eth0"), "docker0"),
            Some(a("172.17.0.1").into()),
        )
        .fate;
    assert_eq!(fate, Fate::Continue);
    let mut synack = tcp("172.17.0.2", "192.0.2.1", 80, 5555, 0x12);
    let (_, mut tr) = fate_of(nf.prerouting(
        &mut cx,
        &mut synack,
        "docker0",
        Some(a("172.17.0.1").into()),
    ));
    let fate = nf
        .forward(&mut cx, &mut synack, &mut tr, "docker0", "eth0")
        .fate;
    assert_eq!(fate, Fate::Drop, "filter drops what it does not accept");
    nf.postrouting(
        &mut cx,
        &mut synack,
        &mut tr,
        (Some("docker0"), "eth0"),
        Some(a("192.0.2.10").into()),
    );
    assert_eq!(
        addrs(&synack),
        (a("192.0.2.10"), a("192.0.2.1"), 8080, 5555)
    );
}

#[test]
fn a_packet_dropped_in_filter_leaves_no_flow() {
    let mut nf = nf();
    let mut rules = Script {
        f: |t, _h, _p: &PacketView<'_>| {
            if t == Table::Filter {
                Verdict::Drop
            } else {
                Verdict::Accept
            }
        },
        calls: Vec::new(),
    };
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let mut syn = tcp("10.0.0.1", "10.0.0.2", 1, 2, 0x02);
    let (_, mut tr) = fate_of(nf.prerouting(&mut cx, &mut syn, "eth0", None));
    assert_eq!(
        nf.forward(&mut cx, &mut syn, &mut tr, "eth0", "eth1").fate,
        Fate::Drop
    );
    assert!(nf.conntrack.is_empty());
}

/// NETMAP maps the host part 1:1 into the new prefix: the destination in PREROUTING, the
/// source in POSTROUTING; ports are kept and replies are mapped back.
#[test]
fn netmap_maps_host_parts_one_to_one_on_each_side() {
    let mut nf = nf();
    let mut rules = Script {
        f: |t, h, _p: &PacketView<'_>| match (t, h) {
            (Table::Nat, Hook::Prerouting) => Verdict::Nat(NatAction::Netmap {
                to: a("192.168.0.0").into(),
                mask: 0xFFFF_0000,
            }),
            (Table::Nat, Hook::Postrouting) => Verdict::Nat(NatAction::Netmap {
                to: a("10.5.5.0").into(),
                mask: 0xFFFF_FF00,
            }),
            _ => Verdict::Accept,
        },
        calls: Vec::new(),
    };
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let mut syn = tcp("172.16.1.77", "10.1.3.4", 5555, 80, 0x02);
    let (_, mut tr) =
        fate_of(nf.prerouting(&mut cx, &mut syn, "eth0", Some(a("192.0.2.10").into())));
    assert_eq!(addrs(&syn), (a("172.16.1.77"), a("192.168.3.4"), 5555, 80));
    nf.forward(&mut cx, &mut syn, &mut tr, "eth0", "eth1");
    let fate = nf
        .postrouting(&mut cx, &mut syn, &mut tr, (Some("eth0"), "eth1"), None)
        .fate;
    assert_eq!(fate, Fate::Continue);
    assert_eq!(addrs(&syn), (a("10.5.5.77"), a("192.168.3.4"), 5555, 80));
    let mut synack = tcp("192.168.3.4", "10.5.5.77", 80, 5555, 0x12);
    let (_, mut tr) = fate_of(nf.prerouting(&mut cx, &mut synack, "eth1", None));
    nf.forward(&mut cx, &mut synack, &mut tr, "eth1", "eth0");
    nf.postrouting(&mut cx, &mut synack, &mut tr, (Some("eth1"), "eth0"), None);
    assert_eq!(addrs(&synack), (a("10.1.3.4"), a("172.16.1.77"), 80, 5555));
}

/// Rules whose only chain is nat POSTROUTING's MASQUERADE: every other chain passes all.
struct OnlyMasquerade {
    calls: usize,
}
impl Rules for OnlyMasquerade {
    fn run(
        &mut self,
        table: Table,
        hook: Hook,
        _pkt: &PacketView<'_>,
        _now: Instant,
        _conns: &dyn crate::netfilter::ConnQuery,
        _notes: &mut Notes,
    ) -> ChainOutcome {
        self.calls += 1;
        ChainOutcome::verdict(match (table, hook) {
            (Table::Nat, Hook::Postrouting) => Verdict::Nat(NatAction::Masquerade { ports: None }),
            _ => Verdict::Accept,
        })
    }

    fn passes_all(&self, _family: Family, table: Table, hook: Hook) -> bool {
        (table, hook) != (Table::Nat, Hook::Postrouting)
    }
}

#[test]
fn hooks_whose_chains_all_accept_still_track_and_nat_and_say_the_rewrite() {
    use crate::netfilter::base::Family;
    let mut nf = nf();
    nf.detail = true;
    let mut rules = OnlyMasquerade { calls: 0 };
    assert!(!nf.chains().accepts_all(Family::Ipv4, Hook::Postrouting));
    nf.rules_changed(&rules);
    for hook in [Hook::Prerouting, Hook::Forward, Hook::Postrouting] {
        assert!(nf.chains().accepts_all(Family::Ipv4, hook), "{hook:?}");
    }
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let mut syn = tcp("172.17.0.2", "192.0.2.1", 40000, 80, 0x02);
    let (out, mut tr) = nf.prerouting(&mut cx, &mut syn, "docker0", Some(a("172.17.0.1").into()));
    assert_eq!((out.fate, tr.state), (Fate::Continue, CtState::New));
    assert!(out.notes.is_empty());
    let out = nf.forward(&mut cx, &mut syn, &mut tr, "docker0", "eth0");
    assert_eq!(out.fate, Fate::Continue);
    let out = nf.postrouting(
        &mut cx,
        &mut syn,
        &mut tr,
        (Some("docker0"), "eth0"),
        Some(a("192.0.2.10").into()),
    );
    assert_eq!(out.fate, Fate::Continue);
    assert_eq!(addrs(&syn), (a("192.0.2.10"), a("192.0.2.1"), 40000, 80));
    let notes = out.notes.into_lists();
    assert_eq!(notes.rewrites.len(), 1);
    let r = notes.rewrites[0];
    assert_eq!((r.by, r.reply, r.source), ("MASQUERADE", false, true));
    assert_eq!(r.before, (IpAddress::Ipv4(a("172.17.0.2")), 40000));
    assert_eq!(r.after, (IpAddress::Ipv4(a("192.0.2.10")), 40000));

    // The reply is un-NATed with no chain walked; the first packet met nat POSTROUTING only.
    let mut synack = tcp("192.0.2.1", "192.0.2.10", 80, 40000, 0x12);
    let (out, mut tr) = nf.prerouting(&mut cx, &mut synack, "eth0", Some(a("192.0.2.10").into()));
    assert_eq!(
        (out.fate, tr.state, tr.reply),
        (Fate::Continue, CtState::Established, true)
    );
    assert_eq!(addrs(&synack), (a("192.0.2.1"), a("172.17.0.2"), 80, 40000));
    let notes = out.notes.into_lists();
    assert_eq!(notes.rewrites.len(), 1);
    assert!(notes.rewrites[0].reply);
    let fwd = nf.forward(&mut cx, &mut synack, &mut tr, "eth0", "docker0");
    let post = nf.postrouting(
        &mut cx,
        &mut synack,
        &mut tr,
        (Some("eth0"), "docker0"),
        None,
    );
    assert_eq!(fwd.then(post).fate, Fate::Continue);
    assert_eq!(rules.calls, 1);
}

#[test]
fn an_unreadable_packet_is_dropped_by_its_first_hook() {
    let mut nf = nf();
    let mut rules = OnlyMasquerade { calls: 0 };
    nf.rules_changed(&rules);
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let mut short = tcp("172.17.0.2", "192.0.2.1", 40000, 80, 0x02);
    short.truncate(12);
    let (out, _) = nf.prerouting(&mut cx, &mut short, "docker0", None);
    assert_eq!(out.fate, Fate::Drop);
    assert!(nf.conntrack.is_empty());
}

#[test]
fn the_bridge_ports_of_the_hook_call_reach_the_rules_in_the_packets_view() {
    let mut nf = nf();
    let mut rules = Script {
        f: |_, _, p: &PacketView<'_>| match p.physdev {
            Some(("veth1", Some("veth2"))) => Verdict::Drop,
            _ => Verdict::Accept,
        },
        calls: Vec::new(),
    };
    let mut seen = Vec::new();
    for physdev in [None, Some(("veth1", None)), Some(("veth1", Some("veth2")))] {
        let mut cx = Cx {
            now: Instant::ZERO,
            env: &Host,
            rules: &mut rules,
            mac: None,
            physdev,
        };
        let mut syn = tcp("172.17.0.2", "172.17.0.3", 40000, 80, 0x02);
        let (out, mut tr) = nf.prerouting(&mut cx, &mut syn, "docker0", None);
        let fwd = nf.forward(&mut cx, &mut syn, &mut tr, "docker0", "docker0");
        seen.push((out.fate, fwd.fate));
    }
    assert_eq!(
        seen,
        [
            (Fate::Continue, Fate::Continue),
            (Fate::Continue, Fate::Continue),
            (Fate::Drop, Fate::Drop),
        ]
    );
}

/// Rules with nft base chains too: each chain (an iptables table's or an nft chain's)
/// answers from a list, and the order of calls is kept.
struct Mixed {
    calls: Vec<String>,
    nft: Vec<(u32, Verdict)>,
    nat_table: Verdict,
}
impl Rules for Mixed {
    fn run(
        &mut self,
        table: Table,
        hook: Hook,
        _pkt: &PacketView<'_>,
        _now: Instant,
        _conns: &dyn crate::netfilter::ConnQuery,
        _notes: &mut Notes,
    ) -> ChainOutcome {
        self.calls
            .push(format!("{} {}", table.name(), hook.chain_name()));
        ChainOutcome::verdict(match table {
            Table::Nat => self.nat_table,
            _ => Verdict::Accept,
        })
    }

    fn run_nft(
        &mut self,
        chain: u32,
        _hook: Hook,
        _pkt: &PacketView<'_>,
        _now: Instant,
        _conns: &dyn crate::netfilter::ConnQuery,
        _notes: &mut Notes,
    ) -> ChainOutcome {
        self.calls.push(format!("nft {chain}"));
        let v = self.nft.iter().find(|(c, _)| *c == chain).map(|(_, v)| *v);
        ChainOutcome::verdict(v.unwrap_or(Verdict::Accept))
    }
}

fn nft_hook(hook: Hook, priority: i32, nat: bool, chain: u32) -> super::super::base::NftHook {
    super::super::base::NftHook {
        family: Family::Ipv4,
        hook,
        priority,
        nat,
        chain,
    }
}

#[test]
fn nft_base_chains_run_among_the_iptables_tables_by_priority() {
    let mut nf = nf();
    nf.set_nft(&[
        nft_hook(Hook::Forward, 10, false, 1),
        nft_hook(Hook::Forward, -200, false, 2),
        nft_hook(Hook::Forward, 0, false, 3),
    ]);
    let mut rules = Mixed {
        calls: Vec::new(),
        nft: vec![(3, Verdict::Drop)],
        nat_table: Verdict::Accept,
    };
    nf.rules_changed(&rules);
    let mut syn = tcp("172.17.0.2", "192.0.2.1", 40000, 80, 0x02);
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let (_, mut tr) = nf.prerouting(&mut cx, &mut syn, "docker0", None);
    let fate = nf
        .forward(&mut cx, &mut syn, &mut tr, "docker0", "eth0")
        .fate;
    // Chain 3 (priority 0) comes after filter's FORWARD, registered first at 0; its drop
    // ends the hook before chain 1 (priority 10).
    assert_eq!(fate, Fate::Drop);
    let forward: Vec<&str> = rules.calls.iter().map(String::as_str).skip(3).collect();
    assert_eq!(
        forward,
        ["nft 2", "mangle FORWARD", "filter FORWARD", "nft 3"]
    );
}

#[test]
fn the_first_nat_chain_to_bind_wins_and_later_ones_are_skipped() {
    let mut nf = nf();
    // An nft nat chain before iptables' nat table (dstnat - 10) binds a DNAT; the nat
    // table's DNAT never runs. Another after it does not run either.
    nf.set_nft(&[
        nft_hook(Hook::Prerouting, -110, true, 7),
        nft_hook(Hook::Prerouting, -90, true, 8),
    ]);
    let to = NatAction::Dnat {
        addrs: (a("172.17.0.2").into(), a("172.17.0.2").into()),
        ports: Some((80, 80)),
    };
    let mut rules = Mixed {
        calls: Vec::new(),
        nft: vec![(7, Verdict::Nat(to))],
        nat_table: Verdict::Nat(NatAction::Dnat {
            addrs: (a("172.17.0.9").into(), a("172.17.0.9").into()),
            ports: None,
        }),
    };
    nf.rules_changed(&rules);
    let mut syn = tcp("192.0.2.1", "192.0.2.10", 40000, 8080, 0x02);
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    let (out, _) = nf.prerouting(&mut cx, &mut syn, "eth0", None);
    assert_eq!(out.fate, Fate::Continue);
    assert_eq!(addrs(&syn), (a("192.0.2.1"), a("172.17.0.2"), 40000, 80));
    assert_eq!(
        rules.calls,
        ["raw PREROUTING", "mangle PREROUTING", "nft 7"]
    );
    // Without chain 7's binding the nat table's chain binds, and chain 8 is skipped.
    let mut nf2 = self::nf();
    nf2.set_nft(&[nft_hook(Hook::Prerouting, -90, true, 8)]);
    rules.calls.clear();
    let mut syn = tcp("192.0.2.1", "192.0.2.10", 40001, 8080, 0x02);
    let mut cx = Cx {
        now: Instant::ZERO,
        env: &Host,
        rules: &mut rules,
        mac: None,
        physdev: None,
    };
    nf2.prerouting(&mut cx, &mut syn, "eth0", None);
    assert_eq!(addrs(&syn).1, a("172.17.0.9"));
    assert_eq!(
        rules.calls,
        ["raw PREROUTING", "mangle PREROUTING", "nat PREROUTING"]
    );
}
