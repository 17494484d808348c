//! Evaluation of each match and of the terminating targets.

use super::super::Tables;
use super::super::testing::{ct, icmp, tables, tcp, udp};
use crate::netfilter::packet::{
    AddrType, CtState, CtView, Hook, NatAction, PacketView, RejectWith, Table, Verdict,
};
use crate::time::Instant;

fn verdict(t: &mut Tables, table: Table, hook: Hook, pkt: &PacketView) -> Verdict {
    t.run(table, hook, pkt, Instant::ZERO, &mut |_| {})
}

/// Whether `rule` (appended to filter INPUT, ACCEPT, policy DROP) matches `pkt`.
fn hits(rule: &str, pkt: &PacketView) -> bool {
    let mut t = tables(&["-P INPUT DROP", &format!("-A INPUT {rule} -j ACCEPT")]);
    verdict(&mut t, Table::Filter, Hook::Input, pkt) == Verdict::Accept
}

#[test]
fn each_match_decides_as_the_kernel_does() {
    let syn = tcp("10.0.0.5", 40000, "192.168.1.10", 80);
    let ack = PacketView {
        tcp_flags: Some(0x10),
        ..syn
    };
    let out = PacketView {
        in_iface: None,
        out_iface: Some("docker0"),
        ..syn
    };
    let frag = PacketView {
        fragment: true,
        sport: None,
        dport: None,
        ..syn
    };
    let dns = udp("10.0.0.5", 5353, "8.8.8.8", 53);
    let ping = icmp("10.0.0.5", "192.168.1.10", 8, 0);
    let unreach = icmp("10.0.0.5", "192.168.1.10", 3, 3);
    let est = PacketView {
        ct: Some(ct(CtState::Established, &syn)),
        ..syn
    };
    let dnat = PacketView {
        ct: Some(CtView {
            dnat: true,
            ..ct(CtState::New, &syn)
        }),
        ..syn
    };
    let cases: &[(&str, &PacketView, bool)] = &[
        ("-s 10.0.0.0/8", &syn, true),
        ("! -s 10.0.0.0/8", &syn, false),
        ("-d 192.168.1.10", &syn, true),
        ("-d 192.168.1.11", &syn, false),
        ("-p tcp", &syn, true),
        ("! -p tcp", &syn, false),
        ("-p udp", &syn, false),
        ("-i eth0", &syn, true),
        ("-i eth+", &syn, true),
        ("-i eth", &syn, false),
        ("! -i docker0", &syn, true),
        ("-i +", &out, true),
        ("! -i docker0", &out, true),
        ("-i eth0", &out, false),
        ("-f", &frag, true),
        ("-f", &syn, false),
        ("! -f", &frag, false),
        ("-p tcp --dport 80", &syn, true),
        ("-p tcp --dport 80", &frag, false),
        ("-p tcp ! --dport 80", &syn, false),
        ("-p tcp --sport 1024:65535", &syn, true),
        ("-p tcp --dport 1:79", &syn, false),
        ("-p tcp --syn", &syn, true),
        ("-p tcp --syn", &ack, false),
        ("-p tcp ! --syn", &ack, true),
        ("-p tcp --tcp-flags ACK ACK", &ack, true),
        ("-p udp --dport 53", &dns, true),
        ("-p udp --sport 53", &dns, false),
        ("-p icmp --icmp-type echo-request", &ping, true),
        ("-p icmp --icmp-type echo-reply", &ping, false),
        (
            "-p icmp --icmp-type destination-unreachable",
            &unreach,
            true,
        ),
        ("-p icmp --icmp-type 3/1", &unreach, false),
        ("-p icmp ! --icmp-type 3/3", &unreach, false),
        ("-p icmp --icmp-type any", &ping, true),
        ("-m conntrack --ctstate INVALID", &syn, true),
        ("-m conntrack --ctstate NEW", &syn, false),
        ("-m conntrack --ctorigdst 192.168.1.10", &syn, false),
        ("-m conntrack --ctstate RELATED,ESTABLISHED", &est, true),
        ("-m conntrack ! --ctstate RELATED,ESTABLISHED", &est, false),
        ("-m state --state ESTABLISHED", &est, true),
        ("-m conntrack --ctstate DNAT", &dnat, true),
        ("-m conntrack --ctstate SNAT", &dnat, false),
        ("-m state --state NEW", &dnat, true),
        (
            "-m conntrack --ctorigdst 192.168.1.0/24 --ctorigdstport 80",
            &est,
            true,
        ),
        ("-m conntrack ! --ctorigsrc 10.0.0.5", &est, false),
        ("-m conntrack --ctorigsrcport 1:1023", &est, false),
        ("-m conntrack --ctdir ORIGINAL", &est, true),
        ("-m conntrack --ctdir REPLY", &est, false),
        ("-m addrtype --dst-type LOCAL", &syn, true),
        ("-m addrtype ! --dst-type LOCAL", &syn, false),
        ("-m addrtype --src-type LOCAL,BROADCAST", &syn, false),
        (
            "-m addrtype --src-type UNICAST --dst-type LOCAL",
            &syn,
            true,
        ),
        ("-m iprange --src-range 10.0.0.1-10.0.0.9", &syn, true),
        ("-m iprange ! --src-range 10.0.0.1-10.0.0.9", &syn, false),
        (
            "-m iprange --dst-range 192.168.1.11-192.168.1.20",
            &syn,
            false,
        ),
        ("-p tcp -m multiport --dports 22,80:90", &syn, true),
        ("-p tcp -m multiport --sports 22,80:90", &syn, false),
        ("-p tcp -m multiport --ports 40000", &syn, true),
        ("-p tcp -m multiport ! --dports 80", &syn, false),
        ("-p tcp -m multiport --dports 80", &frag, false),
        ("-m comment --comment x", &syn, true),
    ];
    for (rule, pkt, want) in cases {
        assert_eq!(hits(rule, pkt), *want, "{rule}");
    }
    let local = PacketView {
        src_type: AddrType::Local,
        ..syn
    };
    assert!(hits("-m addrtype --src-type LOCAL", &local));
}

#[test]
fn terminating_targets_and_verdicts() {
    let syn = tcp("10.0.0.5", 40000, "192.168.1.10", 80);
    let cases: &[(&str, &str, Verdict)] = &[
        ("filter", "-A INPUT -j DROP", Verdict::Drop),
        ("filter", "-A INPUT -j QUEUE", Verdict::Drop),
        (
            "filter",
            "-A INPUT -j REJECT",
            Verdict::Reject(RejectWith::IcmpPortUnreachable),
        ),
        (
            "filter",
            "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
            Verdict::Reject(RejectWith::TcpReset),
        ),
        (
            "filter",
            "-A INPUT -j REJECT --reject-with icmp-admin-prohibited",
            Verdict::Reject(RejectWith::IcmpAdminProhibited),
        ),
        ("filter", "-A INPUT -j LOG", Verdict::Accept),
        ("filter", "-A INPUT", Verdict::Accept),
        (
            "nat",
            "-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 172.17.0.2:8080",
            Verdict::Nat(NatAction::Dnat {
                addrs: ("172.17.0.2".parse().unwrap(), "172.17.0.2".parse().unwrap()),
                ports: Some((8080, 8080)),
            }),
        ),
        (
            "nat",
            "-A PREROUTING -p tcp -j REDIRECT --to-ports 3128",
            Verdict::Nat(NatAction::Redirect {
                ports: Some((3128, 3128)),
            }),
        ),
        (
            "nat",
            "-A PREROUTING -j NETMAP --to 192.168.7.9/16",
            Verdict::Nat(NatAction::Netmap {
                to: "192.168.0.0".parse().unwrap(),
                mask: 0xFFFF_0000,
            }),
        ),
    ];
    for (table, rule, want) in cases {
        let mut t = tables(&[&format!("-t {table} {rule}")]);
        let tbl = Table::parse(table).unwrap();
        let hook = if tbl == Table::Nat {
            Hook::Prerouting
        } else {
            Hook::Input
        };
        assert_eq!(verdict(&mut t, tbl, hook, &syn), *want, "{rule}");
    }
    let mut t = tables(&["-t nat -A POSTROUTING -j MASQUERADE"]);
    assert_eq!(
        verdict(&mut t, Table::Nat, Hook::Postrouting, &syn),
        Verdict::Nat(NatAction::Masquerade { ports: None })
    );
    // nat has no FORWARD chain: nothing to do there.
    assert_eq!(
        verdict(&mut t, Table::Nat, Hook::Forward, &syn),
        Verdict::Accept
    );
}
