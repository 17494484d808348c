//! `-m physdev`: listings and errors as iptables 1.8.9 (nf_tables) printed them in a
//! network namespace, and `physdev_mt` on bridged and routed packets.

use super::super::testing::{argv, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, PacketView, Table, Verdict};
use crate::time::Instant;

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        r#"-A FORWARD -m physdev --physdev-in veth1 --physdev-out veth+"#,
        r#"-A FORWARD -m physdev ! --physdev-in veth1"#,
        r#"-A FORWARD -m physdev --physdev-is-bridged"#,
        r#"-A FORWARD -m physdev ! --physdev-is-in ! --physdev-is-out"#,
        r#"-A FORWARD -m physdev --physdev-is-in --physdev-is-out ! --physdev-is-bridged --physdev-out eth0"#,
        r#"-A INPUT -m physdev --physdev-in veth2"#,
    ] {
        ok(&mut t, r);
    }
    assert_eq!(
        ok(&mut t, "-S"),
        r#"-P INPUT ACCEPT
-P FORWARD ACCEPT
-P OUTPUT ACCEPT
-A INPUT -m physdev --physdev-in veth2
-A FORWARD -m physdev --physdev-in veth1 --physdev-out veth+
-A FORWARD -m physdev ! --physdev-in veth1
-A FORWARD -m physdev --physdev-is-bridged
-A FORWARD -m physdev ! --physdev-is-in ! --physdev-is-out
-A FORWARD -m physdev --physdev-is-in --physdev-is-out --physdev-out eth0 ! --physdev-is-bridged
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match --physdev-in veth2

Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match --physdev-in veth1 --physdev-out veth+
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match ! --physdev-in veth1
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match --physdev-is-bridged
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match ! --physdev-is-in ! --physdev-is-out
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            PHYSDEV match --physdev-is-in --physdev-is-out --physdev-out eth0 ! --physdev-is-bridged

Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
"#
    );
    assert_eq!(
        ok(&mut t, "-L"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             PHYSDEV match --physdev-in veth2

Chain FORWARD (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             PHYSDEV match --physdev-in veth1 --physdev-out veth+
           all  --  anywhere             anywhere             PHYSDEV match ! --physdev-in veth1
           all  --  anywhere             anywhere             PHYSDEV match --physdev-is-bridged
           all  --  anywhere             anywhere             PHYSDEV match ! --physdev-is-in ! --physdev-is-out
           all  --  anywhere             anywhere             PHYSDEV match --physdev-is-in --physdev-is-out --physdev-out eth0 ! --physdev-is-bridged

Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination         
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A FORWARD -m physdev",
        "iptables v1.8.9 (nf_tables): PHYSDEV: no physdev option specified\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m physdev --physdev-out eth0",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT",
    ),
    (
        "-A OUTPUT -m physdev --physdev-is-out",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT",
    ),
    (
        "-A FORWARD -m physdev --physdev-in aaaaaaaaaaaaaaaaaaaa",
        "iptables v1.8.9 (nf_tables): interface name `aaaaaaaaaaaaaaaaaaaa' must be shorter than IFNAMSIZ (15)\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A FORWARD -m physdev --physdev-in a --physdev-in b",
        "iptables v1.8.9 (nf_tables): physdev: option \"--physdev-in\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
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
    ok(&mut t, "-A INPUT -m physdev --physdev-out eth0");
    ok(
        &mut t,
        "-t mangle -A POSTROUTING -m physdev --physdev-out eth0",
    );
    ok(
        &mut t,
        "-A FORWARD -m physdev --physdev-out eth0 --physdev-is-bridged",
    );
}

#[test]
fn bridged_frames_carry_their_ports() {
    let pkt = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    type Ports<'a> = Option<(&'a str, Option<&'a str>)>;
    let cases: &[(&str, Ports, bool)] = &[
        ("--physdev-in veth1", Some(("veth1", None)), true),
        ("--physdev-in veth1", Some(("veth2", None)), false),
        ("! --physdev-in veth1", None, true),
        ("--physdev-in veth1", None, false),
        ("--physdev-out veth+", Some(("veth1", Some("veth7"))), true),
        ("--physdev-out veth+", Some(("veth1", None)), false),
        ("--physdev-is-bridged", Some(("veth1", Some("veth2"))), true),
        ("--physdev-is-bridged", Some(("veth1", None)), false),
        ("! --physdev-is-bridged", None, true),
        ("--physdev-is-in", Some(("veth1", None)), true),
        ("! --physdev-is-in", Some(("veth1", None)), false),
        ("! --physdev-is-out", Some(("veth1", None)), true),
    ];
    for &(rule, ports, want) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(&mut t, &format!("-A FORWARD -m physdev {rule} -j DROP"));
        let pkt = PacketView {
            physdev: ports,
            ..pkt
        };
        let v = t.run(
            Table::Filter,
            Hook::Forward,
            &pkt,
            Instant::ZERO,
            &mut |_| {},
        );
        assert_eq!(v == Verdict::Drop, want, "{rule} {ports:?}");
    }
}
