//! An nft chain's walk allocates nothing per packet once the ruleset is read: matches,
//! set and map lookups, counters, limits, jumps and verdict maps, marks, NAT requests.

mod counting_alloc;

use hoplab::netfilter::hooks::{Env, Notes};
use hoplab::netfilter::{AddrType, CtState, CtView, Hook, NoConns, Verdict};
use hoplab::nft::{ChainRef, Nft};
use hoplab::time::Instant;
use smoltcp::wire::{IpAddress, Ipv4Address};

struct Host;

impl Env for Host {
    fn addr_type(&self, a: IpAddress) -> AddrType {
        let IpAddress::Ipv4(a) = a else {
            return AddrType::Unicast;
        };
        match a.octets() {
            [10, 0, 0, 1] => AddrType::Local,
            _ => AddrType::Unicast,
        }
    }
}

fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
    ];
    ip.extend_from_slice(&sport.to_be_bytes());
    ip.extend_from_slice(&dport.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
    ip
}

#[test]
fn nft_chain_walks_do_not_allocate_per_packet() {
    let text = "table inet t {
        set blocked { type ipv4_addr; flags interval; elements = { 192.168.0.0/16, 172.16.0.1 } }
        set pairs { type ipv4_addr . inet_service; elements = { 10.0.0.2 . 22, 10.0.0.3 . 80 } }
        map portmap { type inet_service : ipv4_addr . inet_service; elements = { 8022 : 10.0.0.9 . 22 } }
        chain input {
            type filter hook input priority 0; policy drop;
            ip saddr @blocked counter drop
            iifname \"eth*\" ct state new,established counter jump checks
            tcp dport { 22, 80, 8000-8100 } limit rate 1000/second counter meta mark set 0x1 accept
            tcp dport vmap { 443 : accept, 444 : drop }
        }
        chain pre {
            type nat hook prerouting priority dstnat; policy accept;
            tcp dport 8022 dnat ip to tcp dport map @portmap
        }
        chain checks {
            ip saddr . tcp dport @pairs counter return
            tcp flags syn / syn,ack counter
        }
    }";
    let mut n = Nft::new();
    n.command(&["-f".to_string(), "-".to_string()], text, &|_, _| None)
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    let at = |n: &Nft, name: &str| {
        let t = &n.ruleset.tables[0];
        ChainRef::new(0, t.chains.iter().position(|c| &*c.name == name).unwrap())
    };
    let (input, pre) = (at(&n, "input"), at(&n, "pre"));
    let packets: Vec<Vec<u8>> = [22, 80, 443, 444, 8022, 8050, 9999]
        .iter()
        .map(|&p| tcp(40000, p))
        .collect();
    let run = |n: &mut Nft, ip: &[u8], now: Instant| {
        let mut ct = CtView {
            state: CtState::New,
            orig_src: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            orig_dst: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
            orig_sport: None,
            orig_dport: None,
            reply: false,
            snat: false,
            dnat: false,
            mark: 0,
            detail: Default::default(),
        };
        ct.state = CtState::New;
        let pkt = hoplab::netfilter::hooks::view(ip, Some("eth0"), None, Some(ct), &Host)
            .expect("a packet");
        let mut notes = Notes::default();
        let nat = n.run(pre, Hook::Prerouting, &pkt, now, &NoConns, &mut notes);
        let out = n.run(input, Hook::Input, &pkt, now, &NoConns, &mut notes);
        assert!(notes.is_empty());
        (nat.verdict, out.verdict)
    };
    // The first packet reads the ruleset (set indexes, buckets).
    for ip in &packets {
        run(&mut n, ip, Instant::ZERO);
    }
    let before = counting_alloc::allocations();
    let (mut accepted, mut nats) = (0, 0);
    for i in 1..=100 {
        // 10 ms apart: the limit's bucket refills between rounds.
        let now = Instant::from_nanos(i * 10_000_000);
        for ip in &packets {
            let (nat, filter) = run(&mut n, ip, now);
            accepted += usize::from(filter == Verdict::Accept);
            nats += usize::from(matches!(nat, Verdict::Nat(_)));
        }
    }
    let after = counting_alloc::allocations();
    // 22, 80, 8022, 8050 (in the set, within the limit) and 443 (the verdict map).
    assert_eq!(accepted, 500);
    assert_eq!(nats, 100);
    assert_eq!(after - before, 0, "allocations in 700 chain walks");
}
