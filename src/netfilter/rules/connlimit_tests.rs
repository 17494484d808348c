//! `-m connlimit`: listings and errors as iptables 1.8.9 (nf_tables) printed them in a
//! network namespace, and `nf_conncount`'s counting.

use super::super::testing::{argv, ct, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{ConnQuery, CtState, Hook, PacketView, Table, Verdict};
use crate::time::Instant;
use smoltcp::wire::IpAddress;

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for line in [
        "-A INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 -j REJECT",
        "-A INPUT -m connlimit --connlimit-upto 5",
        "-A INPUT -m connlimit --connlimit-above 3 --connlimit-mask 24",
        "-A INPUT -m connlimit --connlimit-above 3 --connlimit-daddr",
        "-A INPUT -m connlimit --connlimit-upto 3 --connlimit-saddr --connlimit-mask 0",
        "-A INPUT -m connlimit ! --connlimit-above 4",
        "-A INPUT -m connlimit ! --connlimit-upto 4",
    ] {
        ok(&mut t, line);
    }
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        r#"-P INPUT ACCEPT
-A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable
-A INPUT -m connlimit --connlimit-upto 5 --connlimit-mask 32 --connlimit-saddr
-A INPUT -m connlimit --connlimit-above 3 --connlimit-mask 24 --connlimit-saddr
-A INPUT -m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-daddr
-A INPUT -m connlimit --connlimit-upto 3 --connlimit-mask 0 --connlimit-saddr
-A INPUT -m connlimit --connlimit-upto 4 --connlimit-mask 32 --connlimit-saddr
-A INPUT -m connlimit --connlimit-above 4 --connlimit-mask 32 --connlimit-saddr
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL INPUT"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 REJECT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 flags:0x17/0x02 #conn src/32 > 2 reject-with icmp-port-unreachable
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn src/32 <= 5
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn src/24 > 3
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn dst/32 > 3
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn src/0 <= 3
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn src/32 <= 4
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            #conn src/32 > 4
"#
    );
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
REJECT     tcp  --  anywhere             anywhere             tcp dpt:ssh flags:FIN,SYN,RST,ACK/SYN #conn src/32 > 2 reject-with icmp-port-unreachable
           all  --  anywhere             anywhere             #conn src/32 <= 5
           all  --  anywhere             anywhere             #conn src/24 > 3
           all  --  anywhere             anywhere             #conn dst/32 > 3
           all  --  anywhere             anywhere             #conn src/0 <= 3
           all  --  anywhere             anywhere             #conn src/32 <= 4
           all  --  anywhere             anywhere             #conn src/32 > 4
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -m connlimit",
        "iptables v1.8.9 (nf_tables): You must specify \"--connlimit-above\" or \"--connlimit-upto\".\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above 1 --connlimit-upto 2",
        "iptables v1.8.9 (nf_tables): connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above x",
        "iptables v1.8.9 (nf_tables): connlimit: bad value for option \"--connlimit-above\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-mask 33",
        "iptables v1.8.9 (nf_tables): You must specify \"--connlimit-above\" or \"--connlimit-upto\".\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above 1 --connlimit-saddr --connlimit-daddr",
        "iptables v1.8.9 (nf_tables): connlimit: option \"--connlimit-saddr\" cannot be used together with \"--connlimit-daddr\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above 4294967296",
        "iptables v1.8.9 (nf_tables): connlimit: bad value for option \"--connlimit-above\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above 1 ! --connlimit-mask 8",
        "iptables v1.8.9 (nf_tables): connlimit: option \"--connlimit-mask\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m connlimit --connlimit-above 1 --connlimit-mask x",
        "iptables v1.8.9 (nf_tables): connlimit: bad value for option \"--connlimit-mask\", neither a valid network mask nor valid CIDR (0-32).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
];

#[test]
fn errors_are_iptables_words() {
    for &(line, want) in ERRORS {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        match t.apply(&argv(line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for m in ["255.255.0.0", "33", "255.0.255.0", "1.2.3"] {
        ok(
            &mut t,
            &format!("-A INPUT -m connlimit --connlimit-a 1 --connlimit-mask {m}"),
        );
    }
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        "-P INPUT ACCEPT\n\
         -A INPUT -m connlimit --connlimit-above 1 --connlimit-mask 16 --connlimit-saddr\n\
         -A INPUT -m connlimit --connlimit-above 1 --connlimit-mask 32 --connlimit-saddr\n\
         -A INPUT -m connlimit --connlimit-above 1 --connlimit-mask 32 --connlimit-saddr\n\
         -A INPUT -m connlimit --connlimit-above 1 --connlimit-mask 32 --connlimit-saddr\n"
    );
}

/// A conntrack stand-in: the flows (by source port) still open.
struct Open(Vec<u16>);

impl ConnQuery for Open {
    fn alive(&self, _: IpAddress, _: IpAddress, _: u8, keys: (u16, u16)) -> bool {
        self.0.contains(&keys.0)
    }
}

#[test]
fn counts_the_rules_own_live_connections() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-A INPUT -p tcp --syn -m connlimit --connlimit-above 2 --connlimit-mask 24 -j DROP",
    );
    let syn = |src: &str, sport| {
        let p = tcp(src, sport, "10.0.0.2", 22);
        let mut c = ct(CtState::New, &p);
        c.detail.proto = 6;
        c.detail.orig_keys = (sport, 22);
        PacketView { ct: Some(c), ..p }
    };
    let mut run = |pkt: &PacketView, open: &Open| {
        t.run_conns(
            Table::Filter,
            Hook::Input,
            pkt,
            Instant::ZERO,
            open,
            &mut |_| {},
        )
    };
    let open = Open(vec![1, 2]);
    assert_eq!(run(&syn("10.0.1.1", 1), &open), Verdict::Accept);
    assert_eq!(run(&syn("10.0.1.2", 2), &open), Verdict::Accept);
    // A third connection from the /24: three > 2.
    assert_eq!(run(&syn("10.0.1.3", 3), &open), Verdict::Drop);
    // Another network is counted apart.
    assert_eq!(run(&syn("10.0.2.3", 4), &open), Verdict::Accept);
    // Once one of them closes (and the refused one never was), there is room again.
    let open = Open(vec![2]);
    assert_eq!(run(&syn("10.0.1.5", 5), &open), Verdict::Accept);
    let open = Open(vec![2, 5]);
    assert_eq!(run(&syn("10.0.1.6", 6), &open), Verdict::Drop);
}
