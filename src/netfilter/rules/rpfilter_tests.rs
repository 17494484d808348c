//! `-m rpfilter`: listings and errors as iptables 1.8.9 (nf_tables) printed them in a
//! network namespace, and `rpfilter_mt`'s reverse-path test.

use super::super::testing::{argv, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{ConnQuery, Hook, PacketView, Table, Verdict};
use crate::time::Instant;
use smoltcp::wire::IpAddress;

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        r#"-t raw -A PREROUTING -m rpfilter"#,
        r#"-t raw -A PREROUTING -m rpfilter --invert -j DROP"#,
        r#"-t raw -A PREROUTING -m rpfilter --loose --validmark --accept-local"#,
        r#"-t raw -A PREROUTING -m rpfilter --loose --invert"#,
    ] {
        ok(&mut t, r);
    }
    assert_eq!(
        ok(&mut t, "-t raw -S PREROUTING"),
        r#"-P PREROUTING ACCEPT
-A PREROUTING -m rpfilter
-A PREROUTING -m rpfilter --invert -j DROP
-A PREROUTING -m rpfilter --loose --validmark --accept-local
-A PREROUTING -m rpfilter --loose --invert
"#
    );
    assert_eq!(
        ok(&mut t, "-t raw -nvL PREROUTING"),
        r#"Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            rpfilter
    0     0 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0            rpfilter invert
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            rpfilter loose validmark accept-local
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            rpfilter loose invert
"#
    );
    assert_eq!(
        ok(&mut t, "-t raw -L PREROUTING"),
        r#"Chain PREROUTING (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             rpfilter
DROP       all  --  anywhere             anywhere             rpfilter invert
           all  --  anywhere             anywhere             rpfilter loose validmark accept-local
           all  --  anywhere             anywhere             rpfilter loose invert
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -m rpfilter",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-t mangle -A INPUT -m rpfilter",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-t mangle -A PREROUTING -m rpfilter ! --loose",
        "iptables v1.8.9 (nf_tables): rpfilter: option \"--loose\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A OUTPUT -m rpfilter",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT",
    ),
    (
        "-t raw -A PREROUTING -m rpfilter --loose --loose",
        "iptables v1.8.9 (nf_tables): rpfilter: option \"--loose\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
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
}

/// Routes: 10.0.1.0/24 via eth0, 10.0.2.0/24 via eth1; 10.0.1.1 is the router's.
struct Routes;

impl ConnQuery for Routes {
    fn alive(&self, _: IpAddress, _: IpAddress, _: u8, _: (u16, u16)) -> bool {
        true
    }
    fn reverse_path(&self, src: IpAddress, iif: &str, local: bool, loose: bool) -> Option<bool> {
        let IpAddress::Ipv4(src) = src else {
            return Some(false);
        };
        let o = src.octets();
        Some(match o {
            [10, 0, 1, 1] => local,
            [10, 0, 1, _] => loose || iif == "eth0",
            [10, 0, 2, _] => loose || iif == "eth1",
            _ => false,
        })
    }
}

#[test]
fn reverse_path_as_rpfilter_mt() {
    let on = |src: &str, iif: &'static str| PacketView {
        in_iface: Some(iif),
        ..tcp(src, 1000, "10.0.0.9", 80)
    };
    let cases: &[(&str, PacketView, bool)] = &[
        ("", on("10.0.1.5", "eth0"), true),
        ("", on("10.0.1.5", "eth1"), false),
        ("--invert", on("10.0.1.5", "eth1"), true),
        ("--loose", on("10.0.1.5", "eth1"), true),
        ("--loose", on("192.0.2.1", "eth1"), false),
        ("", on("10.0.1.1", "eth0"), false),
        ("--accept-local", on("10.0.1.1", "eth0"), true),
        ("", on("192.0.2.1", "lo"), true),
    ];
    for (rule, pkt, want) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(
            &mut t,
            &format!("-t raw -A PREROUTING -m rpfilter {rule} -j DROP"),
        );
        let v = t.run_conns(
            Table::Raw,
            Hook::Prerouting,
            pkt,
            Instant::ZERO,
            &Routes,
            &mut |_| {},
        );
        assert_eq!(
            v == Verdict::Drop,
            *want,
            "{rule} {:?} {:?}",
            pkt.src,
            pkt.in_iface
        );
    }
}
