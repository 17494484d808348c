//! Long options abbreviated as iptables' `getopt_long` takes them: a unique prefix among
//! iptables' own options and the loaded modules' (the protocol's match loaded when a name
//! does not resolve), an ambiguous one refused as an unknown option. Expected results are
//! what iptables 1.8.9 (nf_tables) did in a network namespace: the rule as `-S` then
//! printed it, or the error.

use super::super::testing::argv;
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::Table;

const ABBREV: &[(&str, &str)] = &[
    (
        "-t nat -A PREROUTING -p tcp -j DNAT --to 10.0.0.1",
        "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1",
    ),
    (
        "-t nat -A PREROUTING -p tcp -j DNAT --to-dest 10.0.0.1:80",
        "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80",
    ),
    (
        "-t nat -A PREROUTING -p tcp -j REDIRECT --to-port 80",
        "-A PREROUTING -p tcp -j REDIRECT --to-ports 80",
    ),
    (
        "-t nat -A PREROUTING -p tcp -j REDIRECT --to 8080",
        "-A PREROUTING -p tcp -j REDIRECT --to-ports 8080",
    ),
    (
        "-t nat -A POSTROUTING -j SNAT --to 1.2.3.4 --pers",
        "-A POSTROUTING -j SNAT --to-source 1.2.3.4 --persistent",
    ),
    (
        "-t nat -A POSTROUTING -j MASQUERADE --ran",
        "iptables v1.8.9 (nf_tables): unknown option \"--ran\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t nat -A POSTROUTING -j SNAT --to 1.2.3.4 --ran",
        "iptables v1.8.9 (nf_tables): unknown option \"--ran\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j LOG --log-lev 3",
        "-A INPUT -j LOG --log-level 3",
    ),
    (
        "-A INPUT -j LOG --log 3",
        "iptables v1.8.9 (nf_tables): unknown option \"--log\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -j LOG --log-p x --log-ip",
        "-A INPUT -j LOG --log-prefix x --log-ip-options",
    ),
    (
        "-A INPUT -j LOG --log-tcp",
        "iptables v1.8.9 (nf_tables): unknown option \"--log-tcp\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -p tcp --dp 80",
        "-A INPUT -p tcp -m tcp --dport 80",
    ),
    (
        "-A INPUT -p tcp --dpo=22",
        "-A INPUT -p tcp -m tcp --dport 22",
    ),
    (
        "-A INPUT -p tcp --d 80",
        "iptables v1.8.9 (nf_tables): unknown option \"--d\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -p tcp --s 80",
        "iptables v1.8.9 (nf_tables): unknown option \"--s\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -p tcp --sp 80 --sy",
        "-A INPUT -p tcp -m tcp --sport 80 --tcp-flags FIN,SYN,RST,ACK SYN",
    ),
    (
        "-A INPUT -p tcp --tcp-f SYN SYN",
        "-A INPUT -p tcp -m tcp --tcp-flags SYN SYN",
    ),
    (
        "-A INPUT -p tcp --tcp 1",
        "iptables v1.8.9 (nf_tables): unknown option \"--tcp\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT --pro tcp --dp 1",
        "-A INPUT -p tcp -m tcp --dport 1",
    ),
    (
        "-A INPUT --in eth0",
        "iptables v1.8.9 (nf_tables): unknown option \"--in\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT --in-i eth0 --sr 10.0.0.0/8 --ds 10.1.0.0/16 --j ACCEPT",
        "-A INPUT -s 10.0.0.0/8 -d 10.1.0.0/16 -i eth0 -j ACCEPT",
    ),
    ("-A INPUT --frag", "-A INPUT -f"),
    (
        "-A INPUT -m conntrack --ctst NEW",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctst\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctsta NEW",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctsta\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctorig 1.2.3.4",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctorig\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctorigs 1.2.3.4",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctorigs\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -p tcp -m multiport --dp 80,81",
        "-A INPUT -p tcp -m multiport --dports 80,81",
    ),
    (
        "-A INPUT -p udp -m multiport --sp 53",
        "-A INPUT -p udp -m multiport --sports 53",
    ),
    (
        "-A INPUT -m limit --lim 1/s",
        "iptables v1.8.9 (nf_tables): unknown option \"--lim\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m limit --limit 1/s --limit-b 3",
        "-A INPUT -m limit --limit 1/sec --limit-burst 3",
    ),
    (
        "-A INPUT -m mark --ma 1",
        "iptables v1.8.9 (nf_tables): unknown option \"--ma\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m mark --m 1",
        "iptables v1.8.9 (nf_tables): unknown option \"--m\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    ("-A INPUT -m mark --mar 1", "-A INPUT -m mark --mark 0x1"),
    (
        "-A INPUT -m comment --com x",
        "-A INPUT -m comment --comment x",
    ),
    (
        "-A INPUT -p icmp --icmp 8",
        "-A INPUT -p icmp -m icmp --icmp-type 8",
    ),
    (
        "-A INPUT -m addrtype --src-t LOCAL --limit-iface-i",
        "-A INPUT -m addrtype --src-type LOCAL --limit-iface-in",
    ),
    (
        "-t mangle -A INPUT -j MARK --set-m 1",
        "-A INPUT -j MARK --set-xmark 0x1/0xffffffff",
    ),
    (
        "-t mangle -A INPUT -j MARK --set 1",
        "iptables v1.8.9 (nf_tables): unknown option \"--set\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -j CONNMARK --sav --ma 3",
        "iptables v1.8.9 (nf_tables): unknown option \"--ma\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -j CONNMARK --res --ct 3",
        "-A INPUT -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0x3",
    ),
    (
        "-t mangle -A INPUT -j CONNMARK --restore-mark --n 3",
        "iptables v1.8.9 (nf_tables): unknown option \"--n\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -j CONNMARK --restore-mark --l 3",
        "iptables v1.8.9 (nf_tables): unknown option \"--l\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -m statistic --mo nth --ev 3",
        "iptables v1.8.9 (nf_tables): unknown option \"--mo\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A INPUT -m statistic --mode random --pr 0.5",
        "iptables v1.8.9 (nf_tables): unknown option \"--pr\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
];

#[test]
fn abbreviations_resolve_as_getopt_long() {
    for &(line, want) in ABBREV {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        match t.apply(&argv(line)) {
            Ok(_) => {
                let (table, chain) = match line.split_whitespace().nth(1) {
                    Some("nat") => (Table::Nat, line.split_whitespace().nth(3).unwrap()),
                    Some("mangle") => (Table::Mangle, "INPUT"),
                    _ => (Table::Filter, "INPUT"),
                };
                let got = t.rule_text(table, chain, 1).unwrap();
                assert_eq!(got, want, "{line}");
            }
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
}
