//! Commands on tables: insert, replace, delete, check, chains, policies, flush, zero, and the
//! kernel's refusals (targets in the wrong table or hook, loops, nesting), all or nothing.

use super::super::testing::{err, err1, ok, tables, tcp};
use super::super::{Counters, ErrorKind, IptablesVersion, Tables};
use crate::netfilter::packet::{Hook, Table};
use crate::time::Instant;

fn rules(t: &mut Tables, chain: &str) -> Vec<String> {
    ok(t, &format!("-S {chain}"))
        .lines()
        .filter(|l| l.starts_with("-A"))
        .map(str::to_string)
        .collect()
}

#[test]
fn insert_replace_delete_check() {
    let mut t = tables(&[
        "-A INPUT -s 1.1.1.1 -j ACCEPT",
        "-A INPUT -s 2.2.2.2 -j ACCEPT",
    ]);
    ok(&mut t, "-I INPUT -s 3.3.3.3 -j DROP");
    ok(&mut t, "-I INPUT 3 -s 4.4.4.4 -j DROP");
    ok(&mut t, "-I INPUT 5 -s 5.5.5.5 -j DROP");
    let want = |ips: &[&str]| -> Vec<String> {
        ips.iter()
            .map(|s| {
                let target = if s.starts_with(['1', '2']) {
                    "ACCEPT"
                } else {
                    "DROP"
                };
                format!("-A INPUT -s {s}/32 -j {target}")
            })
            .collect()
    };
    assert_eq!(
        rules(&mut t, "INPUT"),
        want(&["3.3.3.3", "1.1.1.1", "4.4.4.4", "2.2.2.2", "5.5.5.5"])
    );
    assert_eq!(
        err1(&mut t, "-I INPUT 7 -j DROP"),
        "iptables: Index of insertion too big."
    );
    ok(&mut t, "-R INPUT 2 -s 6.6.6.6 -j DROP -c 5 500");
    assert_eq!(
        t.rule_counters(Table::Filter, "INPUT", 2),
        Some(Counters {
            packets: 5,
            bytes: 500
        })
    );
    assert_eq!(
        err1(&mut t, "-R INPUT 6 -j DROP"),
        "iptables: Index of replacement too big."
    );
    ok(&mut t, "-D INPUT -s 4.4.4.4/32 -j DROP");
    ok(&mut t, "-D INPUT 1");
    assert_eq!(
        rules(&mut t, "INPUT"),
        want(&["6.6.6.6", "2.2.2.2", "5.5.5.5"])
    );
    assert_eq!(
        err1(&mut t, "-D INPUT 4"),
        "iptables: Index of deletion too big."
    );
    assert_eq!(
        err1(&mut t, "-D INPUT -s 9.9.9.9 -j DROP"),
        "iptables: Bad rule (does a matching rule exist in that chain?)."
    );
    assert_eq!(ok(&mut t, "-C INPUT -s 2.2.2.2 -j ACCEPT"), "");
    assert_eq!(err(&mut t, "-C INPUT -s 2.2.2.2 -j DROP").exit_code(), 1);
    // A rule is found by what it means, whatever the spelling.
    ok(&mut t, "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT");
    ok(&mut t, "-D INPUT --protocol TCP --dport http --jump ACCEPT");
    assert_eq!(rules(&mut t, "INPUT").len(), 3);
}

#[test]
fn chains_policies_flush_and_zero() {
    let mut t = tables(&[
        "-N DOCKER",
        "-N DOCKER-USER",
        "-A FORWARD -j DOCKER-USER",
        "-A DOCKER -j RETURN",
    ]);
    assert_eq!(err1(&mut t, "-N DOCKER"), "iptables: Chain already exists.");
    assert_eq!(err1(&mut t, "-N INPUT"), "iptables: Chain already exists.");
    assert_eq!(
        err1(&mut t, "-X DOCKER-USER"),
        "iptables v1.8.10 (nf_tables):  CHAIN_USER_DEL failed (Device or resource busy): chain DOCKER-USER"
    );
    assert_eq!(err(&mut t, "-X DOCKER").kind(), ErrorKind::Resource);
    let mut t9 = Tables::new(IptablesVersion::V1_8_9);
    for c in ["-N A", "-A INPUT -j A"] {
        ok(&mut t9, c);
    }
    assert_eq!(
        err1(&mut t9, "-X A"),
        "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain A"
    );
    assert_eq!(
        err1(&mut t, "-X INPUT"),
        "iptables: Can't delete built-in chain. Run `dmesg' for more information."
    );
    assert_eq!(
        err1(&mut t, "-X NOPE"),
        "iptables: No chain/target/match by that name."
    );
    ok(&mut t, "-E DOCKER-USER USER");
    assert_eq!(rules(&mut t, "FORWARD"), ["-A FORWARD -j USER"]);
    assert_eq!(err1(&mut t, "-E USER DOCKER"), "iptables: File exists.");
    assert_eq!(
        err1(&mut t, "-P USER DROP"),
        "iptables: Bad built-in chain name."
    );
    assert_eq!(
        err1(&mut t, "-P INPUT REJECT"),
        "iptables: Bad policy name. Run `dmesg' for more information."
    );
    ok(&mut t, "-P FORWARD DROP -c 7 700");
    assert_eq!(
        t.policy(Table::Filter, Hook::Forward),
        Some(super::super::Policy::Drop)
    );
    assert_eq!(
        t.policy_counters(Table::Filter, "FORWARD"),
        Some(Counters {
            packets: 7,
            bytes: 700
        })
    );
    let p = tcp("10.0.0.1", 1, "10.0.0.2", 2);
    t.run(Table::Filter, Hook::Forward, &p, Instant::ZERO, &mut |_| {});
    assert_eq!(
        t.rule_counters(Table::Filter, "FORWARD", 1),
        Some(Counters {
            packets: 1,
            bytes: 60
        })
    );
    // -L -Z lists, then zeroes.
    let listed = ok(&mut t, "-L FORWARD -v -Z -n");
    assert!(
        listed.contains("(policy DROP 8 packets, 760 bytes)"),
        "{listed}"
    );
    assert_eq!(
        t.rule_counters(Table::Filter, "FORWARD", 1),
        Some(Counters::default())
    );
    t.set_rule_counters(
        Table::Filter,
        "DOCKER",
        1,
        Counters {
            packets: 3,
            bytes: 3,
        },
    );
    ok(&mut t, "-Z DOCKER 1");
    assert_eq!(
        t.rule_counters(Table::Filter, "DOCKER", 1),
        Some(Counters::default())
    );
    ok(&mut t, "-F DOCKER");
    assert_eq!(t.rule_count(Table::Filter, "DOCKER"), Some(0));
    ok(&mut t, "-F");
    ok(&mut t, "-X");
    assert_eq!(t.chain_names(Table::Filter), ["INPUT", "FORWARD", "OUTPUT"]);
}

#[test]
fn targets_only_where_the_kernel_allows_them() {
    let batch = |op: &str, chain: &str, why: &str| {
        format!("iptables v1.8.10 (nf_tables):  {op} failed ({why}): rule in chain {chain}")
    };
    let inval = "Invalid argument";
    let cases: &[(&[&str], &str, String)] = &[
        (
            &[],
            "-A INPUT -j DNAT --to-destination 1.2.3.4",
            batch("RULE_APPEND", "INPUT", inval),
        ),
        (
            &[],
            "-t nat -A POSTROUTING -j DNAT --to-destination 1.2.3.4",
            batch("RULE_APPEND", "POSTROUTING", inval),
        ),
        (
            &[],
            "-t nat -I PREROUTING -j MASQUERADE",
            batch("RULE_INSERT", "PREROUTING", inval),
        ),
        (
            &[],
            "-t nat -A INPUT -j REDIRECT",
            batch("RULE_APPEND", "INPUT", inval),
        ),
        (
            &[],
            "-t mangle -A PREROUTING -j REJECT",
            batch("RULE_APPEND", "PREROUTING", inval),
        ),
        (
            &[],
            "-A INPUT -m tcp --dport 22",
            batch("RULE_APPEND", "INPUT", inval),
        ),
        (
            &[],
            "-A INPUT ! -p udp -m udp",
            batch("RULE_APPEND", "INPUT", inval),
        ),
        (
            &[],
            "-A INPUT -j REJECT --reject-with tcp-reset",
            batch("RULE_APPEND", "INPUT", inval),
        ),
        (
            &["-t nat -N X", "-t nat -A X -j MASQUERADE"],
            "-t nat -A PREROUTING -j X",
            batch("RULE_APPEND", "PREROUTING", inval),
        ),
        (
            &["-N A", "-N B", "-A A -j B"],
            "-A B -j A",
            batch("RULE_APPEND", "B", "Too many levels of symbolic links"),
        ),
        (
            &["-N A"],
            "-A A -g A",
            batch("RULE_APPEND", "A", "Too many levels of symbolic links"),
        ),
        // Insert and replace are undone in place when the new rule makes a loop.
        (
            &[
                "-N A",
                "-N B",
                "-A A -j B",
                "-A B -j RETURN",
                "-A B -j ACCEPT",
            ],
            "-I B 2 -j A",
            batch("RULE_INSERT", "B", "Too many levels of symbolic links"),
        ),
        (
            &[
                "-N A",
                "-N B",
                "-A A -j B",
                "-A B -j RETURN",
                "-A B -j ACCEPT",
            ],
            "-R B 1 -j A",
            batch("RULE_REPLACE", "B", "Too many levels of symbolic links"),
        ),
        // A restricted target in a user chain that a hook it is not allowed in reaches.
        (
            &["-t nat -N X", "-t nat -A PREROUTING -j X"],
            "-t nat -A X -j MASQUERADE",
            batch("RULE_APPEND", "X", inval),
        ),
    ];
    for (setup, cmd, want) in cases {
        let mut t = tables(setup);
        let before = t.save();
        assert_eq!(err1(&mut t, cmd), *want, "{cmd}");
        assert_eq!(t.save(), before, "{cmd} changed the tables");
    }
    // Allowed: SNAT from INPUT, DNAT from OUTPUT, MASQUERADE through a user chain.
    let mut t = tables(&[
        "-t nat -N X",
        "-t nat -A X -j MASQUERADE",
        "-t nat -A POSTROUTING -j X",
    ]);
    ok(&mut t, "-t nat -A INPUT -j SNAT --to-source 1.2.3.4");
    ok(&mut t, "-t nat -A OUTPUT -j DNAT --to-destination 1.2.3.4");
    ok(&mut t, "-t mangle -A FORWARD -j REJECT");
}

#[test]
fn nesting_is_limited_as_nf_tables_validates_it() {
    let chain = |n: usize| format!("C{n:02}");
    let mut t = tables(&[]);
    for i in 0..16 {
        ok(&mut t, &format!("-N {}", chain(i)));
    }
    for i in 0..14 {
        ok(&mut t, &format!("-A {} -j {}", chain(i), chain(i + 1)));
    }
    // INPUT -> C00 -> ... -> C14: 15 levels below the base chain.
    ok(&mut t, &format!("-A INPUT -j {}", chain(0)));
    assert_eq!(
        err1(&mut t, &format!("-A {} -j {}", chain(14), chain(15))),
        "iptables v1.8.10 (nf_tables):  RULE_APPEND failed (Too many links): rule in chain C14"
    );
    // Unreachable chains may nest deeper (nf_tables validates from base chains).
    ok(&mut t, "-D INPUT 1");
    ok(&mut t, &format!("-A {} -j {}", chain(14), chain(15)));
}

#[test]
fn failed_commands_change_nothing_and_tables_appear_when_touched() {
    let mut t = tables(&[]);
    assert_eq!(t.save(), "");
    assert!(!t.table_exists(Table::Filter));
    ok(&mut t, "-L -n");
    assert_eq!(t.save(), "");
    err(&mut t, "-A INPUT -s 1.1.1.1,2.2.2.2 -j NOPE");
    assert_eq!(t.save(), "");
    ok(&mut t, "-t nat -N DOCKER");
    ok(
        &mut t,
        "-t raw -A PREROUTING -d 172.17.0.2 ! -i docker0 -j DROP",
    );
    let saved = t.save();
    assert!(saved.contains("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP\nCOMMIT\n"), "{saved}");
    let tables_in_order: Vec<&str> = saved.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(tables_in_order, ["*raw", "*nat"]);
    assert_eq!(
        ok(&mut t, "iptables-save -t nat"),
        "# Generated by iptables-nft-save v1.8.10 (nf_tables) on Thu Jan  1 00:00:00 1970\n\
         *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\nCOMMIT\n\
         # Completed on Thu Jan  1 00:00:00 1970\n"
    );
    t.set_rule_counters(
        Table::Raw,
        "PREROUTING",
        1,
        Counters {
            packets: 2,
            bytes: 120,
        },
    );
    assert!(ok(&mut t, "iptables-save -c").contains("[2:120] -A PREROUTING -d 172.17.0.2/32"));
}
