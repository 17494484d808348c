//! TCPMSS: parsing, the kernel's checks, every listing byte for byte as iptables 1.8.9
//! (nf_tables) printed them on a kernel testbed, and evaluation.

use super::super::testing::{err, err1, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table};
use crate::netfilter::tcpmss::Pending;
use crate::time::Instant;

const RULES: [&str; 3] = [
    "-t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
    "-t mangle -A POSTROUTING -o vrb -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1360",
    "-t mangle -A OUTPUT -p tcp -j TCPMSS --set-mss 536",
];

fn loaded() -> Tables {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in RULES {
        ok(&mut t, r);
    }
    t
}

#[test]
fn listings_are_the_kernels() {
    let mut t = loaded();
    assert_eq!(
        ok(&mut t, "-t mangle -S"),
        "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n\
         -P POSTROUTING ACCEPT\n\
         -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n\
         -A OUTPUT -p tcp -j TCPMSS --set-mss 536\n\
         -A POSTROUTING -o vrb -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1360\n"
    );
    let l = ok(&mut t, "-t mangle -L");
    assert!(
        l.contains(
            "Chain FORWARD (policy ACCEPT)\n\
             target     prot opt source               destination         \n\
             TCPMSS     tcp  --  anywhere             anywhere             tcp flags:SYN,RST/SYN TCPMSS clamp to PMTU\n"
        ),
        "{l}"
    );
    assert!(
        l.contains(
            "TCPMSS     tcp  --  anywhere             anywhere             TCPMSS set 536\n"
        ),
        "{l}"
    );
    let v = ok(&mut t, "-t mangle -nvL");
    assert!(
        v.contains(
            "    0     0 TCPMSS     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x06/0x02 TCPMSS clamp to PMTU\n"
        ),
        "{v}"
    );
    assert!(
        v.contains(
            "    0     0 TCPMSS     6    --  *      vrb     0.0.0.0/0            0.0.0.0/0            tcp flags:0x06/0x02 TCPMSS set 1360\n"
        ),
        "{v}"
    );
    let n = ok(&mut t, "-t mangle -L FORWARD -n --line-numbers -x -v");
    assert!(
        n.ends_with(
            "1           0        0 TCPMSS     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x06/0x02 TCPMSS clamp to PMTU\n"
        ),
        "{n}"
    );
    let s = ok(&mut t, "iptables-save -t mangle");
    assert!(
        s.contains(
            "-A POSTROUTING -o vrb -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1360\n"
        ),
        "{s}"
    );
}

#[test]
fn the_last_option_wins_and_one_is_needed() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-t mangle -A FORWARD -p tcp -j TCPMSS --set-mss 1000 --clamp-mss-to-pmtu",
    );
    ok(
        &mut t,
        "-A FORWARD -p tcp -j TCPMSS --clamp-mss-to-pmtu --set-mss 1000",
    );
    assert!(ok(&mut t, "-t mangle -S FORWARD").ends_with("-j TCPMSS --clamp-mss-to-pmtu\n"));
    assert!(ok(&mut t, "-S FORWARD").ends_with("-j TCPMSS --set-mss 1000\n"));
    let e = err(&mut t, "-t mangle -A FORWARD -p tcp -j TCPMSS");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.message().lines().next(),
        Some("iptables v1.8.9 (nf_tables): TCPMSS target: At least one parameter is required")
    );
    for bad in ["70000", "abc", "65516"] {
        let e = err(
            &mut t,
            &format!("-t mangle -A FORWARD -p tcp -j TCPMSS --set-mss {bad}"),
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.message(),
            "iptables v1.8.9 (nf_tables): TCPMSS: bad value for option \"--set-mss\", or out \
             of range (0-65515).\n\nTry `iptables -h' or 'iptables --help' for more information."
        );
    }
}

#[test]
fn tcp_only_and_clamping_only_after_routing() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let inval = |chain: &str| {
        format!(
            "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain {chain}"
        )
    };
    assert_eq!(
        err1(&mut t, "-t mangle -A FORWARD -j TCPMSS --clamp-mss-to-pmtu"),
        inval("FORWARD")
    );
    assert_eq!(
        err1(
            &mut t,
            "-t mangle -A INPUT -p tcp -j TCPMSS --clamp-mss-to-pmtu"
        ),
        inval("INPUT")
    );
    assert_eq!(
        err1(
            &mut t,
            "-t mangle -A PREROUTING -p tcp -j TCPMSS --clamp-mss-to-pmtu"
        ),
        inval("PREROUTING")
    );
    ok(
        &mut t,
        "-t mangle -A PREROUTING -p tcp -j TCPMSS --set-mss 1200",
    );
    // A user chain takes the hooks of the chains that jump to it.
    ok(&mut t, "-t mangle -N CLAMP");
    ok(
        &mut t,
        "-t mangle -A CLAMP -p tcp -j TCPMSS --clamp-mss-to-pmtu",
    );
    ok(&mut t, "-t mangle -A FORWARD -j CLAMP");
    assert_eq!(err1(&mut t, "-t mangle -A INPUT -j CLAMP"), inval("INPUT"));
}

#[test]
fn matching_rules_go_on_and_leave_what_to_do() {
    let mut t = loaded();
    let syn = tcp("10.0.1.10", 40000, "10.0.2.10", 80);
    let v = t.run(
        Table::Mangle,
        Hook::Forward,
        &syn,
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(v, crate::netfilter::packet::Verdict::Accept);
    assert_eq!(
        std::mem::take(&mut t.tcpmss),
        Pending {
            set: None,
            clamp: true
        }
    );
    ok(
        &mut t,
        "-t mangle -A FORWARD -p tcp -j TCPMSS --set-mss 1300",
    );
    t.run(
        Table::Mangle,
        Hook::Forward,
        &syn,
        Instant::ZERO,
        &mut |_| {},
    );
    assert_eq!(
        t.tcpmss,
        Pending {
            set: Some(1300),
            clamp: true
        }
    );
    let l = ok(&mut t, "-t mangle -nvL FORWARD");
    assert!(l.contains("    1    60 TCPMSS"), "{l}");
}
