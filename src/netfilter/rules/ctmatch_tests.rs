//! `-m conntrack --ctproto`, `--ctrepl*`, `--ctstatus`, `--ctexpire` (and `--ctdir`):
//! listings and errors as iptables 1.8.9 (nf_tables) printed them in a network namespace,
//! and `conntrack_mt`'s tests of them.

use super::super::testing::{argv, ct, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{CtDetail, CtState, Hook, PacketView, Table, Verdict};
use crate::time::{Duration, Instant};

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for line in [
        "-A INPUT -m conntrack --ctproto tcp",
        "-A INPUT -m conntrack ! --ctproto 17",
        "-A INPUT -m conntrack --ctreplsrc 10.0.0.0/8 ! --ctrepldst 1.2.3.4",
        "-A INPUT -m conntrack --ctreplsrcport 80 ! --ctrepldstport 1000:2000",
        "-A INPUT -m conntrack --ctstatus ASSURED,SEEN_REPLY",
        "-A INPUT -m conntrack ! --ctstatus NONE",
        "-A INPUT -m conntrack --ctstatus confirmed,expected",
        "-A INPUT -m conntrack --ctexpire 10",
        "-A INPUT -m conntrack ! --ctexpire 10:20",
        "-A INPUT -m conntrack --ctdir REPLY",
        "-A INPUT -m conntrack --ctdir original",
        "-A INPUT -m conntrack --ctstate NEW --ctproto udp --ctorigsrc 1.1.1.1 --ctorigdst 2.2.2.2 --ctreplsrc 3.3.3.3 --ctrepldst 4.4.4.4 --ctorigsrcport 1 --ctorigdstport 2 --ctreplsrcport 3 --ctrepldstport 4 --ctstatus ASSURED --ctexpire 5:6 --ctdir ORIGINAL",
        "-A INPUT -m conntrack --ctproto all",
        "-A INPUT -m conntrack --ctstatus A",
    ] {
        ok(&mut t, line);
    }
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        r#"-P INPUT ACCEPT
-A INPUT -m conntrack --ctproto 6
-A INPUT -m conntrack ! --ctproto 17
-A INPUT -m conntrack --ctreplsrc 10.0.0.0/8 ! --ctrepldst 1.2.3.4
-A INPUT -m conntrack --ctreplsrcport 80 ! --ctrepldstport 1000:2000
-A INPUT -m conntrack --ctstatus SEEN_REPLY,ASSURED
-A INPUT -m conntrack ! --ctstatus NONE
-A INPUT -m conntrack --ctstatus EXPECTED,CONFIRMED
-A INPUT -m conntrack --ctexpire 10
-A INPUT -m conntrack ! --ctexpire 10:20
-A INPUT -m conntrack --ctdir REPLY
-A INPUT -m conntrack --ctdir ORIGINAL
-A INPUT -m conntrack --ctstate NEW --ctproto 17 --ctorigsrc 1.1.1.1 --ctorigdst 2.2.2.2 --ctreplsrc 3.3.3.3 --ctrepldst 4.4.4.4 --ctorigsrcport 1 --ctorigdstport 2 --ctreplsrcport 3 --ctrepldstport 4 --ctstatus ASSURED --ctexpire 5:6 --ctdir ORIGINAL
-A INPUT -m conntrack --ctproto 0
-A INPUT -m conntrack --ctstatus ASSURED
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL INPUT"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctproto 6
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! ctproto 17
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctreplsrc 10.0.0.0/8 ! ctrepldst 1.2.3.4
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctreplsrcport 80 ! ctrepldstport 1000:2000
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstatus SEEN_REPLY,ASSURED
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! ctstatus NONE
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstatus EXPECTED,CONFIRMED
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctexpire 10
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! ctexpire 10:20
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctdir REPLY
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctdir ORIGINAL
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate NEW ctproto 17 ctorigsrc 1.1.1.1 ctorigdst 2.2.2.2 ctreplsrc 3.3.3.3 ctrepldst 4.4.4.4 ctorigsrcport 1 ctorigdstport 2 ctreplsrcport 3 ctrepldstport 4 ctstatus ASSURED ctexpire 5:6 ctdir ORIGINAL
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctproto 0
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstatus ASSURED
"#
    );
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           all  --  anywhere             anywhere             ctproto 6
           all  --  anywhere             anywhere             ! ctproto 17
           all  --  anywhere             anywhere             ctreplsrc 10.0.0.0/8 ! ctrepldst 1.2.3.4
           all  --  anywhere             anywhere             ctreplsrcport 80 ! ctrepldstport 1000:2000
           all  --  anywhere             anywhere             ctstatus SEEN_REPLY,ASSURED
           all  --  anywhere             anywhere             ! ctstatus NONE
           all  --  anywhere             anywhere             ctstatus EXPECTED,CONFIRMED
           all  --  anywhere             anywhere             ctexpire 10
           all  --  anywhere             anywhere             ! ctexpire 10:20
           all  --  anywhere             anywhere             ctdir REPLY
           all  --  anywhere             anywhere             ctdir ORIGINAL
           all  --  anywhere             anywhere             ctstate NEW ctproto 17 ctorigsrc 1.1.1.1 ctorigdst 2.2.2.2 ctreplsrc 3.3.3.3 ctrepldst 4.4.4.4 ctorigsrcport 1 ctorigdstport 2 ctreplsrcport 3 ctrepldstport 4 ctstatus ASSURED ctexpire 5:6 ctdir ORIGINAL
           all  --  anywhere             anywhere             ctproto 0
           all  --  anywhere             anywhere             ctstatus ASSURED
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -m conntrack --ctstatus FOO",
        "iptables v1.8.9 (nf_tables): Bad ctstatus \"FOO\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctexpire x",
        "iptables v1.8.9 (nf_tables): conntrack: bad value for option \"--ctexpire\" near \"x\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctexpire 4294967296",
        "iptables v1.8.9 (nf_tables): conntrack: bad value for option \"--ctexpire\" near \"4294967296\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctproto foo",
        "iptables v1.8.9 (nf_tables): unknown protocol \"foo\" specified\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctstatus",
        "iptables v1.8.9 (nf_tables): option \"--ctstatus\" requires an argument\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctst NEW",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctst\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctrepl 1.2.3.4",
        "iptables v1.8.9 (nf_tables): unknown option \"--ctrepl\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctproto tcp --ctproto udp",
        "iptables v1.8.9 (nf_tables): conntrack: option \"--ctproto\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m conntrack --ctreplsrcport foo",
        "iptables v1.8.9 (nf_tables): Port \"foo\" does not resolve to anything.\n\nTry `iptables -h' or 'iptables --help' for more information.",
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
    ok(&mut t, "-A INPUT -m conntrack --ctexpire 20:10");
    ok(&mut t, "-A INPUT -m conntrack ! --ctproto 0");
    ok(&mut t, "-A INPUT -m conntrack --ctreplsrcport 80:");
}

#[test]
fn reply_tuple_status_and_expiry_match_as_conntrack_mt() {
    let syn = tcp("10.0.0.1", 40000, "10.0.0.2", 80);
    let now = Instant::ZERO + Duration::from_secs(100);
    let mut c = ct(CtState::Established, &syn);
    c.detail = CtDetail {
        repl_src: "192.168.0.5".parse().unwrap(),
        repl_dst: "10.0.0.1".parse().unwrap(),
        repl_sport: Some(8080),
        repl_dport: Some(40000),
        proto: 6,
        status: 2 | 4 | 8,
        expires: Some(now + Duration::from_millis(431_999_500)),
        orig_keys: (40000, 80),
    };
    let est = PacketView { ct: Some(c), ..syn };
    let newpkt = PacketView {
        ct: Some(ct(CtState::New, &syn)),
        ..syn
    };
    let cases: &[(&str, &PacketView, bool)] = &[
        ("--ctproto tcp", &est, true),
        ("! --ctproto tcp", &est, false),
        ("--ctproto udp", &est, false),
        ("--ctreplsrc 192.168.0.0/24", &est, true),
        ("! --ctreplsrc 192.168.0.0/24", &est, false),
        ("--ctrepldst 10.0.0.1", &est, true),
        ("--ctreplsrcport 8080", &est, true),
        ("--ctreplsrcport 80", &est, false),
        ("! --ctrepldstport 1:1000", &est, true),
        ("--ctstatus ASSURED", &est, true),
        ("--ctstatus EXPECTED", &est, false),
        ("! --ctstatus EXPECTED", &est, true),
        // NONE is no bit: it never matches, and `!` always does.
        ("--ctstatus NONE", &est, false),
        ("! --ctstatus NONE", &est, true),
        ("--ctstatus CONFIRMED", &newpkt, false),
        ("--ctexpire 431999", &est, true),
        ("--ctexpire 432000", &est, false),
        ("--ctexpire 0", &newpkt, true),
        ("! --ctexpire 1:10", &newpkt, true),
        ("--ctexpire 20:10", &est, false),
        // Without a connection only --ctstate decides.
        ("--ctproto tcp", &syn, false),
        ("--ctstate INVALID --ctproto udp", &syn, true),
    ];
    for &(rule, pkt, want) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(&mut t, &format!("-A INPUT -m conntrack {rule} -j DROP"));
        let v = t.run(Table::Filter, Hook::Input, pkt, now, &mut |_| {});
        assert_eq!(v == Verdict::Drop, want, "{rule}");
    }
}

#[test]
fn port_ranges_read_as_xtopt_parse_mport() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "--ctorigsrcport http",
        "--ctorigsrcport 80:",
        "--ctorigsrcport :80",
        "--ctorigsrcport 90:80",
        "--ctorigsrcport 70000",
        "--ctreplsrcport ssh:http",
    ] {
        ok(&mut t, &format!("-A INPUT -m conntrack {r}"));
    }
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        "-P INPUT ACCEPT\n\
         -A INPUT -m conntrack --ctorigsrcport 80\n\
         -A INPUT -m conntrack --ctorigsrcport 80:65535\n\
         -A INPUT -m conntrack --ctorigsrcport 0:80\n\
         -A INPUT -m conntrack --ctorigsrcport 90:80\n\
         -A INPUT -m conntrack --ctorigsrcport 4464\n\
         -A INPUT -m conntrack --ctreplsrcport 22:80\n"
    );
    let e = t
        .apply(&argv("-A INPUT -m conntrack --ctorigsrcport 1:2:3"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "iptables v1.8.9 (nf_tables): conntrack: Too many components for option \"--ctorigsrcport\" (max: 2)\n\nTry `iptables -h' or 'iptables --help' for more information."
    );
}
