//! Chains written as nft text, parsed by the module's parser, run on packets.

use crate::netfilter::hooks::{ChainOutcome, NoteLists, Notes};
use crate::netfilter::{CtState, Hook, NatAction, NoConns, PacketView, RejectWith, Verdict};
use crate::nft::eval_testing::{echo_hdr, ipv4, syn, tcp_hdr, udp_hdr, view};
use crate::nft::{ChainRef, Nft};
use crate::time::Instant;
use smoltcp::wire::Ipv4Address;

/// The ruleset of `nft -f -` reading `text`.
fn nft(text: &str) -> Nft {
    let mut n = Nft::new();
    let args: Vec<String> = ["-f", "-"].iter().map(|s| s.to_string()).collect();
    n.command(&args, text, &|_, _| None)
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    n
}

/// The chain `name` of the first table.
fn chain(n: &Nft, name: &str) -> ChainRef {
    let t = &n.ruleset.tables[0];
    let i = t.chains.iter().position(|c| &*c.name == name).unwrap();
    ChainRef::new(0, i)
}

fn run(n: &mut Nft, name: &str, pkt: &PacketView<'_>) -> (ChainOutcome, NoteLists) {
    let c = chain(n, name);
    let mut notes = Notes::default();
    let out = n.run(c, Hook::Input, pkt, Instant::ZERO, &NoConns, &mut notes);
    (out, notes.into_lists())
}

fn verdict(n: &mut Nft, name: &str, ip: &[u8]) -> Verdict {
    run(n, name, &view(ip)).0.verdict
}

fn tcp(dport: u16, flags: u8) -> Vec<u8> {
    ipv4(
        [10, 0, 0, 2],
        [10, 0, 0, 1],
        6,
        &tcp_hdr(40000, dport, flags),
    )
}

#[test]
fn a_filter_chain_from_text() {
    let mut n = nft("table inet filter {
        chain input {
            type filter hook input priority filter; policy drop;
            ct state established,related accept
            iifname \"lo\" accept
            tcp dport { 22, 80-90 } tcp flags syn / syn,ack counter accept
            ip saddr 192.168.0.0/16 udp dport 53 accept
            icmp type echo-request limit rate 2/second accept
        }
    }");
    assert_eq!(verdict(&mut n, "input", &syn()), Verdict::Accept);
    assert_eq!(verdict(&mut n, "input", &tcp(85, 0x02)), Verdict::Accept);
    assert_eq!(verdict(&mut n, "input", &tcp(91, 0x02)), Verdict::Drop);
    // A SYN-ACK to port 22 fails the flags test, and is new: dropped.
    assert_eq!(verdict(&mut n, "input", &tcp(22, 0x12)), Verdict::Drop);
    let ip = tcp(91, 0x10);
    let mut pkt = view(&ip);
    pkt.ct.as_mut().unwrap().state = CtState::Established;
    assert_eq!(run(&mut n, "input", &pkt).0.verdict, Verdict::Accept);
    let dns = ipv4([192, 168, 1, 1], [10, 0, 0, 1], 17, &udp_hdr(5000, 53));
    assert_eq!(verdict(&mut n, "input", &dns), Verdict::Accept);
    let dns = ipv4([192, 169, 1, 1], [10, 0, 0, 1], 17, &udp_hdr(5000, 53));
    assert_eq!(verdict(&mut n, "input", &dns), Verdict::Drop);
    let echo = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &echo_hdr());
    // The default burst of 5 packets, then the rate.
    let pings: Vec<Verdict> = (0..6).map(|_| verdict(&mut n, "input", &echo)).collect();
    assert_eq!(pings[..5], [Verdict::Accept; 5]);
    assert_eq!(pings[5], Verdict::Drop);
    let listing = n.list_ruleset(Default::default(), &|_, _| None);
    assert!(
        listing.contains("counter packets 2 bytes 80 accept"),
        "{listing}"
    );
}

fn addr(s: &str) -> Ipv4Address {
    s.parse().unwrap()
}

#[test]
fn nat_chains_from_text() {
    let mut n = nft("table ip n {
        map portmap {
            type inet_service : ipv4_addr . inet_service
            elements = { 8022 : 10.0.0.22 . 22 }
        }
        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            tcp dport 80 dnat to 10.0.0.2-10.0.0.5:8080-8090
            tcp dport 8022 dnat to tcp dport map @portmap
            tcp dport 8000 redirect to :80
        }
        chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            oifname \"eth1\" masquerade
            ip saddr 10.0.0.0/24 snat to 1.2.3.4
        }
    }");
    assert_eq!(
        verdict(&mut n, "prerouting", &tcp(80, 2)),
        Verdict::Nat(NatAction::Dnat {
            addrs: (addr("10.0.0.2").into(), addr("10.0.0.5").into()),
            ports: Some((8080, 8090)),
        })
    );
    assert_eq!(
        verdict(&mut n, "prerouting", &tcp(8022, 2)),
        Verdict::Nat(NatAction::Dnat {
            addrs: (addr("10.0.0.22").into(), addr("10.0.0.22").into()),
            ports: Some((22, 22)),
        })
    );
    assert_eq!(
        verdict(&mut n, "prerouting", &tcp(8000, 2)),
        Verdict::Nat(NatAction::Redirect {
            ports: Some((80, 80))
        })
    );
    assert_eq!(verdict(&mut n, "prerouting", &tcp(443, 2)), Verdict::Accept);
    let ip = tcp(443, 2);
    let mut pkt = view(&ip);
    pkt.out_iface = Some("eth1");
    assert_eq!(
        run(&mut n, "postrouting", &pkt).0.verdict,
        Verdict::Nat(NatAction::Masquerade { ports: None })
    );
    pkt.out_iface = Some("eth2");
    assert_eq!(
        run(&mut n, "postrouting", &pkt).0.verdict,
        Verdict::Nat(NatAction::Snat {
            addrs: (addr("1.2.3.4").into(), addr("1.2.3.4").into()),
            ports: None,
        })
    );
}

#[test]
fn verdict_maps_jumps_and_named_sets_from_text() {
    let mut n = nft("table inet fw {
        set blocked {
            type ipv4_addr
            flags interval
            elements = { 10.9.0.0/16, 172.16.0.1 }
        }
        set pairs {
            type ipv4_addr . inet_service
            elements = { 10.0.0.2 . 22 }
        }
        chain input {
            type filter hook input priority 0; policy accept;
            ip saddr @blocked drop
            iifname \"veth*\" jump from_veth
            meta l4proto vmap { tcp : jump tcp_in, udp : drop }
        }
        chain from_veth {
            ip saddr . tcp dport @pairs return
            reject with icmp type host-prohibited
        }
        chain tcp_in {
            tcp dport 22 reject with tcp reset
            meta mark set 0x2a
        }
    }");
    let blocked = ipv4([10, 9, 3, 4], [10, 0, 0, 1], 6, &tcp_hdr(1, 22, 2));
    assert_eq!(verdict(&mut n, "input", &blocked), Verdict::Drop);
    assert_eq!(
        verdict(&mut n, "input", &syn()),
        Verdict::Reject(RejectWith::TcpReset)
    );
    let (out, _) = run(&mut n, "input", &view(&tcp(443, 2)));
    assert_eq!(out.verdict, Verdict::Accept);
    assert_eq!(out.marks.map(|m| m.mark), Some(0x2a));
    let udp = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 17, &udp_hdr(1, 53));
    assert_eq!(verdict(&mut n, "input", &udp), Verdict::Drop);
    // From a veth: the pair 10.0.0.2 . 22 returns to input (and its tcp_in), others are
    // rejected.
    let ip = syn();
    let mut pkt = view(&ip);
    pkt.in_iface = Some("veth12");
    assert_eq!(
        run(&mut n, "input", &pkt).0.verdict,
        Verdict::Reject(RejectWith::TcpReset)
    );
    let ip = tcp(23, 2);
    let mut pkt = view(&ip);
    pkt.in_iface = Some("veth12");
    assert_eq!(
        run(&mut n, "input", &pkt).0.verdict,
        Verdict::Reject(RejectWith::IcmpHostProhibited)
    );
}

#[test]
fn a_docker_style_drop_is_noted_with_its_rule() {
    let mut n = nft("table ip docker-bridges {
        chain filter-forward {
            type filter hook forward priority filter; policy accept;
            oifname \"bridge1\" jump filter-forward-in__bridge1
        }
        chain filter-forward-in__bridge1 {
            ct state established,related counter accept
            ip daddr 172.18.0.2 tcp dport 80 counter accept
            counter drop comment \"UNPUBLISHED PORT DROP\"
        }
    }");
    n.set_detail(true);
    let ip = tcp(22, 2);
    let mut pkt = view(&ip);
    pkt.out_iface = Some("bridge1");
    let (out, notes) = run(&mut n, "filter-forward", &pkt);
    assert_eq!(out.verdict, Verdict::Drop);
    let handle = n.ruleset.tables[0].chains[1].rules[2].handle;
    assert_eq!(
        notes.decisions,
        [format!(
            "nft ip docker-bridges filter-forward-in__bridge1: dropped by handle {handle}: \
             counter packets 1 bytes 40 drop comment \"UNPUBLISHED PORT DROP\""
        )
        .into_boxed_str()]
    );
}

#[test]
fn a_changed_ruleset_is_read_again_before_the_next_packet() {
    let mut n = nft("table ip t {
        set ports { type inet_service; elements = { 22 } }
        chain input { type filter hook input priority 0; tcp dport @ports drop; }
    }");
    assert_eq!(verdict(&mut n, "input", &tcp(80, 2)), Verdict::Accept);
    let args: Vec<String> = "add element ip t ports { 80 }"
        .split(' ')
        .map(str::to_string)
        .collect();
    n.command(&args, "", &|_, _| None).unwrap();
    assert_eq!(verdict(&mut n, "input", &tcp(80, 2)), Verdict::Drop);
    assert_eq!(verdict(&mut n, "input", &tcp(22, 2)), Verdict::Drop);
    let args: Vec<String> = "delete element ip t ports { 22 }"
        .split(' ')
        .map(str::to_string)
        .collect();
    n.command(&args, "", &|_, _| None).unwrap();
    assert_eq!(verdict(&mut n, "input", &tcp(22, 2)), Verdict::Accept);
}

#[test]
fn an_ipv6_nat_address_before_a_port_is_bracketed_both_ways() {
    let mut n = nft("table ip6 t {\n\
        chain c {\n\
        type nat hook prerouting priority dstnat;\n\
        tcp dport 81 dnat to [2001:db8::1]-[2001:db8::5]:80-90\n\
        tcp dport 82 dnat to 2001:db8::7\n\
        tcp dport 83 dnat to [2001:db8::8]\n\
        }\n}\n");
    let listing = n.list_ruleset(Default::default(), &|_, _| None);
    for rule in [
        "tcp dport 81 dnat to [2001:db8::1]-[2001:db8::5]:80-90\n",
        "tcp dport 82 dnat to 2001:db8::7\n",
        "tcp dport 83 dnat to 2001:db8::8\n",
    ] {
        assert!(listing.contains(rule), "{rule}{listing}");
    }
    // nft's scanner takes `[` only before an IPv6 address.
    let args: Vec<String> = ["add", "rule", "ip6", "t", "c", "dnat", "to", "[zz]:80"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (_, err) = n.command(&args, "", &|_, _| None).unwrap_err();
    assert!(
        err.starts_with("Error: syntax error, unexpected '['\n"),
        "{err}"
    );
}
