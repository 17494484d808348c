//! `-m helper`, `-m owner`, `-m policy`: listings and errors as iptables 1.8.9 (nf_tables)
//! printed them in a network namespace (the `-L` names of uids and gids are Debian 12's
//! base ones: the oracle host named uid 1000 after its own user), and their evaluation on
//! a lab router.

use super::super::testing::{argv, ct, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{CtState, Hook, PacketView, Table, Verdict};
use crate::time::Instant;

const RULES: &[&str] = &[
    r#"-A OUTPUT -m helper --helper ftp"#,
    r#"-A OUTPUT -m helper ! --helper sip"#,
    r#"-A OUTPUT -m policy --dir out --pol none"#,
    r#"-A OUTPUT -m policy --dir out --pol ipsec --strict --reqid 5 --spi 0x10 --proto esp --mode tunnel --tunnel-src 1.2.3.4 --tunnel-dst 5.6.7.8 --next --reqid 6"#,
    r#"-A OUTPUT -m policy --dir out --pol ipsec ! --proto ah"#,
    r#"-A OUTPUT -m owner --uid-owner 0"#,
    r#"-A OUTPUT -m owner ! --uid-owner 1000 --gid-owner 0"#,
    r#"-A OUTPUT -m owner --socket-exists"#,
    r#"-A OUTPUT -m owner --uid-owner root --gid-owner root"#,
    r#"-A OUTPUT -m owner --uid-owner 1000-2000 ! --socket-exists"#,
];

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in RULES {
        ok(&mut t, r);
    }
    assert_eq!(
        ok(&mut t, "-S OUTPUT"),
        r#"-P OUTPUT ACCEPT
-A OUTPUT -m helper --helper ftp
-A OUTPUT -m helper ! --helper sip
-A OUTPUT -m policy --dir out --pol none
-A OUTPUT -m policy --dir out --pol ipsec --strict --reqid 5 --spi 0x10 --proto esp --mode tunnel --tunnel-dst 5.6.7.8 --tunnel-src 1.2.3.4 --next --reqid 6
-A OUTPUT -m policy --dir out --pol ipsec ! --proto ah
-A OUTPUT -m owner --uid-owner 0
-A OUTPUT -m owner ! --uid-owner 1000 --gid-owner 0
-A OUTPUT -m owner --socket-exists
-A OUTPUT -m owner --uid-owner 0 --gid-owner 0
-A OUTPUT -m owner ! --socket-exists --uid-owner 1000-2000
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL OUTPUT"),
        r#"Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            helper match "ftp"
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            helper match ! "sip"
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            policy match dir out pol none
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            policy match dir out pol ipsec strict [0] reqid 5 spi 0x10 proto 50 mode tunnel tunnel-dst 5.6.7.8 tunnel-src 1.2.3.4 [1] reqid 6
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            policy match dir out pol ipsec ! proto 51
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            owner UID match 0
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! owner UID match 1000 owner GID match 0
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            owner socket exists
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            owner UID match 0 owner GID match 0
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! owner socket exists owner UID match 1000-2000
"#
    );
    assert_eq!(
        ok(&mut t, "-L OUTPUT"),
        r#"Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             helper match "ftp"
           all  --  anywhere             anywhere             helper match ! "sip"
           all  --  anywhere             anywhere             policy match dir out pol none
           all  --  anywhere             anywhere             policy match dir out pol ipsec strict [0] reqid 5 spi 0x10 proto esp mode tunnel tunnel-dst 5.6.7.8 tunnel-src 1.2.3.4 [1] reqid 6
           all  --  anywhere             anywhere             policy match dir out pol ipsec ! proto ah
           all  --  anywhere             anywhere             owner UID match root
           all  --  anywhere             anywhere             ! owner UID match 1000 owner GID match root
           all  --  anywhere             anywhere             owner socket exists
           all  --  anywhere             anywhere             owner UID match root owner GID match root
           all  --  anywhere             anywhere             ! owner socket exists owner UID match 1000-2000
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -m owner --uid-owner 0",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-A FORWARD -m owner --uid-owner 0",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain FORWARD",
    ),
    (
        "-A OUTPUT -m owner",
        "iptables v1.8.9 (nf_tables): owner: At least one of --uid-owner, --gid-owner or --socket-exists is required\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m owner --uid-owner nosuchuser",
        "iptables v1.8.9 (nf_tables): owner: Bad value for \"--uid-owner\" option: \"nosuchuser\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m owner --suppl-groups --gid-owner 5",
        "iptables v1.8.9 (nf_tables): owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m owner --uid-owner 5 --uid-owner 6",
        "iptables v1.8.9 (nf_tables): owner: option \"--uid-owner\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m owner --uid-owner 5-2",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT",
    ),
    (
        "-A OUTPUT -m owner ! --suppl-groups",
        "iptables v1.8.9 (nf_tables): owner: option \"--suppl-groups\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m helper",
        "iptables v1.8.9 (nf_tables): helper: option \"--helper\" must be specified\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m helper --helper ftp --helper sip",
        "iptables v1.8.9 (nf_tables): helper: option \"--helper\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --pol none",
        "iptables v1.8.9 (nf_tables): policy match: neither --dir in nor --dir out specified\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir in --pol none",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT",
    ),
    (
        "-A INPUT -m policy --dir out --pol none",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-A OUTPUT -m policy --dir x --pol none",
        "iptables v1.8.9 (nf_tables): policy_match: invalid dir \"x\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol foo",
        "iptables v1.8.9 (nf_tables): policy match: invalid policy \"foo\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol none --strict",
        "iptables v1.8.9 (nf_tables): policy match: policy none but --strict given\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol ipsec --mode foo",
        "iptables v1.8.9 (nf_tables): policy match: invalid mode \"foo\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol ipsec --proto tcp",
        "iptables v1.8.9 (nf_tables): policy match: protocol must be ah/esp/ipcomp\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol ipsec --next",
        "iptables v1.8.9 (nf_tables): policy: option \"--next\" also requires \"--strict\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --dir in",
        "iptables v1.8.9 (nf_tables): policy: option \"--dir\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol ipsec --tunnel-src 10.0.0.0/8 --mode transport",
        "iptables v1.8.9 (nf_tables): policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A OUTPUT -m policy --dir out --pol ipsec --reqid x",
        "iptables v1.8.9 (nf_tables): policy: bad value for option \"--reqid\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
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

#[test]
fn lab_routers_have_no_helpers_no_ipsec_and_only_root() {
    let fwd = PacketView {
        out_iface: Some("eth1"),
        ..tcp("10.0.0.1", 1000, "10.0.1.2", 80)
    };
    let fwd = PacketView {
        ct: Some(ct(CtState::New, &fwd)),
        ..fwd
    };
    let local = PacketView {
        in_iface: None,
        ..fwd
    };
    let cases: &[(&str, &str, &PacketView, bool)] = &[
        ("FORWARD", "-m helper --helper ftp", &fwd, false),
        ("FORWARD", "-m helper ! --helper ftp", &fwd, true),
        ("FORWARD", "-m policy --dir in --pol none", &fwd, true),
        ("FORWARD", "-m policy --dir out --pol ipsec", &fwd, false),
        ("OUTPUT", "-m owner --uid-owner root", &local, true),
        ("OUTPUT", "-m owner --uid-owner 1-100", &local, false),
        (
            "OUTPUT",
            "-m owner ! --uid-owner 1000 --gid-owner 0",
            &local,
            true,
        ),
        ("OUTPUT", "-m owner --socket-exists", &local, true),
        ("OUTPUT", "-m owner ! --socket-exists", &local, false),
        ("POSTROUTING", "-m owner --socket-exists", &fwd, false),
        ("POSTROUTING", "-m owner ! --socket-exists", &fwd, true),
        ("POSTROUTING", "-m owner ! --uid-owner 0", &fwd, true),
    ];
    for &(chain, rule, pkt, want) in cases {
        let table = if chain == "POSTROUTING" {
            "mangle"
        } else {
            "filter"
        };
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(&mut t, &format!("-t {table} -A {chain} {rule} -j DROP"));
        let (tb, hook) = match chain {
            "FORWARD" => (Table::Filter, Hook::Forward),
            "OUTPUT" => (Table::Filter, Hook::Output),
            _ => (Table::Mangle, Hook::Postrouting),
        };
        let v = t.run(tb, hook, pkt, Instant::ZERO, &mut |_| {});
        assert_eq!(v == Verdict::Drop, want, "{chain} {rule}");
    }
}
