//! `-j CT` and `-j NOTRACK`: listings and errors as iptables 1.8.9 (nf_tables) printed them
//! in a network namespace, and what `--notrack` does to a packet.

use super::super::testing::{argv, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table, Verdict};
use crate::time::Instant;

fn loaded() -> Tables {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for line in [
        "-t raw -A PREROUTING -j CT --notrack",
        "-t raw -A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp",
        "-t raw -A PREROUTING -j CT --zone 5",
        "-t raw -A PREROUTING -j NOTRACK",
        "-t raw -A PREROUTING -j CT --zone-orig 3",
        "-t raw -A PREROUTING -j CT --ctevents new,destroy",
        "-t raw -A PREROUTING -j CT --zone mark",
        "-t raw -A PREROUTING -j CT",
        "-t raw -A PREROUTING -j CT --notrack --zone 2",
        "-t raw -A PREROUTING -j CT --expevents new",
        "-t raw -A PREROUTING -j CT --zone-reply mark",
        "-t raw -A PREROUTING -j CT --zone-orig 2",
        "-t raw -A PREROUTING -j CT",
        "-t raw -A PREROUTING -p udp -j CT --helper tftp --ctevents new,reply",
        "-t raw -A OUTPUT -j NOTRACK",
    ] {
        ok(&mut t, line);
    }
    t
}

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = loaded();
    assert_eq!(
        ok(&mut t, "-t raw -S"),
        r#"-P PREROUTING ACCEPT
-P OUTPUT ACCEPT
-A PREROUTING -j CT --notrack
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
-A PREROUTING -j CT --zone 5
-A PREROUTING -j NOTRACK
-A PREROUTING -j CT --zone-orig 3
-A PREROUTING -j CT --ctevents new,destroy
-A PREROUTING -j CT --zone mark
-A PREROUTING -j CT
-A PREROUTING -j CT --notrack --zone 2
-A PREROUTING -j CT --expevents new
-A PREROUTING -j CT --zone-reply mark
-A PREROUTING -j CT --zone-orig 2
-A PREROUTING -j CT
-A PREROUTING -p udp -j CT --helper tftp --ctevents new,reply
-A OUTPUT -j NOTRACK
"#
    );
    assert_eq!(
        ok(&mut t, "-t raw -nvL"),
        r#"Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT notrack
    0     0 CT         6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:21 CT helper ftp
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT zone 5
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            NOTRACK
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT zone-orig 3
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT ctevents new,destroy
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT zone mark
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT notrack zone 2
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT expevents new
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT zone-reply mark
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT zone-orig 2
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            CT
    0     0 CT         17   --  *      *       0.0.0.0/0            0.0.0.0/0            CT helper tftp ctevents new,reply

Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0 CT         0    --  *      *       0.0.0.0/0            0.0.0.0/0            NOTRACK
"#
    );
    assert_eq!(
        ok(&mut t, "-t raw -L"),
        r#"Chain PREROUTING (policy ACCEPT)
target     prot opt source               destination         
CT         all  --  anywhere             anywhere             CT notrack
CT         tcp  --  anywhere             anywhere             tcp dpt:ftp CT helper ftp
CT         all  --  anywhere             anywhere             CT zone 5
CT         all  --  anywhere             anywhere             NOTRACK
CT         all  --  anywhere             anywhere             CT zone-orig 3
CT         all  --  anywhere             anywhere             CT ctevents new,destroy
CT         all  --  anywhere             anywhere             CT zone mark
CT         all  --  anywhere             anywhere             CT
CT         all  --  anywhere             anywhere             CT notrack zone 2
CT         all  --  anywhere             anywhere             CT expevents new
CT         all  --  anywhere             anywhere             CT zone-reply mark
CT         all  --  anywhere             anywhere             CT zone-orig 2
CT         all  --  anywhere             anywhere             CT
CT         udp  --  anywhere             anywhere             CT helper tftp ctevents new,reply

Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination         
CT         all  --  anywhere             anywhere             NOTRACK
"#
    );
    let save = t.save_with(false, Some(Table::Raw));
    let body: String = save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        body,
        r#"*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j CT --notrack
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
-A PREROUTING -j CT --zone 5
-A PREROUTING -j NOTRACK
-A PREROUTING -j CT --zone-orig 3
-A PREROUTING -j CT --ctevents new,destroy
-A PREROUTING -j CT --zone mark
-A PREROUTING -j CT
-A PREROUTING -j CT --notrack --zone 2
-A PREROUTING -j CT --expevents new
-A PREROUTING -j CT --zone-reply mark
-A PREROUTING -j CT --zone-orig 2
-A PREROUTING -j CT
-A PREROUTING -p udp -j CT --helper tftp --ctevents new,reply
-A OUTPUT -j NOTRACK
COMMIT
"#
    );
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-t mangle -A PREROUTING -j CT --notrack",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain PREROUTING",
    ),
    (
        "-A INPUT -j NOTRACK",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-t raw -A PREROUTING -j CT --helper foo",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain PREROUTING",
    ),
    (
        "-t raw -A PREROUTING -j CT --helper ftp --zone-orig mark",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (No such file or directory): rule in chain PREROUTING",
    ),
    (
        "-t raw -A PREROUTING -j CT --timeout foo",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain PREROUTING",
    ),
    (
        "-t raw -A PREROUTING -j NOTRACK --notrack",
        "iptables v1.8.9 (nf_tables): unknown option \"--notrack\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT --zone 65536",
        "iptables v1.8.9 (nf_tables): Cannot parse 65536 as a zone ID\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT --zone x",
        "iptables v1.8.9 (nf_tables): Cannot parse x as a zone ID\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT --ctevents foo",
        "iptables v1.8.9 (nf_tables): Unknown event type \"foo\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT --notrack --notrack",
        "iptables v1.8.9 (nf_tables): CT: option \"--notrack\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT ! --notrack",
        "iptables v1.8.9 (nf_tables): CT: option \"--notrack\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t raw -A PREROUTING -j CT --z 1",
        "iptables v1.8.9 (nf_tables): unknown option \"--z\"\nTry `iptables -h' or 'iptables --help' for more information.",
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
    // `--no` is `--notrack`; with it the helper is never looked up.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-t raw -A PREROUTING -j CT --no");
    ok(&mut t, "-t raw -A PREROUTING -j CT --notrack --helper ftp");
    assert_eq!(
        ok(&mut t, "-t raw -S PREROUTING"),
        "-P PREROUTING ACCEPT\n-A PREROUTING -j CT --notrack\n-A PREROUTING -j CT --notrack --helper ftp\n"
    );
}

#[test]
fn notrack_is_taken_by_the_hooks_once() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-t raw -A PREROUTING -p tcp --dport 80 -j CT --notrack",
    );
    let web = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    let ssh = tcp("10.0.0.1", 1000, "10.0.0.2", 22);
    let run =
        |t: &mut Tables, p| t.run(Table::Raw, Hook::Prerouting, p, Instant::ZERO, &mut |_| {});
    assert_eq!(run(&mut t, &web), Verdict::Accept);
    assert!(t.take_untracked());
    assert!(!t.take_untracked());
    run(&mut t, &ssh);
    assert!(!t.take_untracked());
}
