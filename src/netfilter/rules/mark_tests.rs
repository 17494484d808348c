//! `-m mark`, `-m connmark`, `-j MARK`, `-j CONNMARK`: errors as iptables 1.8.9 (nf_tables)
//! printed them in a network namespace, and evaluation as `xt_mark`/`xt_connmark` do it.
//! (Listings: `tests/iptables_listings.rs`, `marks-1.8.9.txt`.)

use super::super::testing::{argv, ct, ok, tcp};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::{CtState, Hook, Marks, Table, Verdict};
use crate::time::Instant;

const CASES: &[(&str, &str)] = &[
    (
        "-t mangle -A PREROUTING -j MARK",
        "iptables v1.8.9 (nf_tables): MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark foo",
        "iptables v1.8.9 (nf_tables): MARK: bad integer value for option \"--set-mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark 0x100000000",
        "iptables v1.8.9 (nf_tables): MARK: bad integer value for option \"--set-mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark -1",
        "iptables v1.8.9 (nf_tables): MARK: bad integer value for option \"--set-mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark 1/",
        "iptables v1.8.9 (nf_tables): MARK: bad integer value for option \"--set-mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark 1 --or-mark 2",
        "iptables v1.8.9 (nf_tables): MARK: option \"--set-mark\" cannot be used together with \"--or-mark\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --or-mark 1 --set-xmark 2",
        "iptables v1.8.9 (nf_tables): MARK: option \"--set-xmark\" cannot be used together with \"--or-mark\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --set-mark 1 --set-mark 2",
        "iptables v1.8.9 (nf_tables): MARK: option \"--set-mark\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK --and-mark 0x1/0x2",
        "iptables v1.8.9 (nf_tables): MARK: bad value for option \"--and-mark\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j MARK ! --set-mark 1",
        "iptables v1.8.9 (nf_tables): MARK: option \"--set-mark\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m mark",
        "iptables v1.8.9 (nf_tables): mark: option \"--mark\" must be specified\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m mark --mark x",
        "iptables v1.8.9 (nf_tables): mark: bad integer value for option \"--mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m mark --mark 1/x",
        "iptables v1.8.9 (nf_tables): mark: bad integer value for option \"--mark\", or out of range.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m mark ! --mark 1 ! --mark 2",
        "iptables v1.8.9 (nf_tables): mark: option \"--mark\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m connmark",
        "iptables v1.8.9 (nf_tables): connmark: option \"--mark\" must be specified\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -m connmark --mark 0x",
        "iptables v1.8.9 (nf_tables): connmark: trailing garbage after value for option \"--mark\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK",
        "iptables v1.8.9 (nf_tables): CONNMARK target: No operation specified\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --mask 3",
        "iptables v1.8.9 (nf_tables): CONNMARK target: No operation specified\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --save-mark --restore-mark",
        "iptables v1.8.9 (nf_tables): CONNMARK: option \"--save-mark\" cannot be used together with \"--restore-mark\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --save-mark --mask 3 --ctmask 2",
        "iptables v1.8.9 (nf_tables): CONNMARK: option \"--ctmask\" cannot be used together with \"--mask\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 1 --ctmask 2 --mask 3",
        "iptables v1.8.9 (nf_tables): CONNMARK: option \"--ctmask\" cannot be used together with \"--mask\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --save-mark --left-shift-mark 33",
        "iptables v1.8.9 (nf_tables): CONNMARK: bad value for option \"--left-shift-mark\", or out of range (0-32).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --save-mark --ctmask x",
        "iptables v1.8.9 (nf_tables): CONNMARK: bad value for option \"--ctmask\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-t mangle -A PREROUTING -j CONNMARK --set-mark",
        "iptables v1.8.9 (nf_tables): option \"--set-mark\" requires an argument\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-N MARK",
        "iptables v1.8.9 (nf_tables): chain name may not clash with target name\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-N CONNMARK",
        "iptables v1.8.9 (nf_tables): chain name may not clash with target name\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
];

#[test]
fn errors_are_iptables_words() {
    for &(line, want) in CASES {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        match t.apply(&argv(line)) {
            Ok(out) => panic!("{line}: succeeded with {out:?}"),
            Err(e) => assert_eq!(e.to_string(), want, "{line}"),
        }
    }
}

fn run(t: &mut Tables, table: Table, hook: Hook, mark: u32, ctmark: Option<u32>) -> Verdict {
    let mut pkt = tcp("10.0.0.1", 1000, "10.0.0.2", 80);
    pkt.mark = mark;
    if let Some(m) = ctmark {
        let mut c = ct(CtState::New, &pkt);
        c.mark = m;
        pkt.ct = Some(c);
    }
    t.run(table, hook, &pkt, Instant::ZERO, &mut |_| {})
}

#[test]
fn mark_targets_compute_as_the_kernel() {
    // (rule, mark before, mark after)
    let cases = [
        ("--set-mark 0x1", 0xF0, 0x1),
        ("--set-mark 0x1/0xf", 0xF0, 0xF1),
        ("--set-xmark 0x1/0x3", 0xF3, 0xF1),
        ("--set-xmark 0x3/0x1", 0xF0, 0xF3),
        ("--and-mark 0xf", 0xF3, 0x3),
        ("--or-mark 0x5", 0xF0, 0xF5),
        ("--xor-mark 0x5", 0xF1, 0xF4),
    ];
    for (opts, before, after) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(&mut t, &format!("-t mangle -A PREROUTING -j MARK {opts}"));
        assert_eq!(
            run(&mut t, Table::Mangle, Hook::Prerouting, before, None),
            Verdict::Accept
        );
        assert_eq!(
            t.marks,
            Some(Marks {
                mark: after,
                ctmark: 0
            }),
            "{opts}"
        );
    }
}

#[test]
fn later_rules_see_the_new_mark_and_mark_matches_mask() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-A FORWARD -j MARK --set-mark 0x12");
    ok(&mut t, "-A FORWARD -m mark ! --mark 0x2/0xf -j ACCEPT");
    ok(&mut t, "-A FORWARD -m mark --mark 0x2/0xf -j DROP");
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Forward, 0, None),
        Verdict::Drop
    );
    assert_eq!(
        t.rule_counters(Table::Filter, "FORWARD", 2)
            .unwrap()
            .packets,
        0
    );
    // A run that changes nothing reports nothing.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-A FORWARD -m mark --mark 0x7 -j DROP");
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Forward, 7, None),
        Verdict::Drop
    );
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Forward, 6, None),
        Verdict::Accept
    );
    assert_eq!(t.marks, None);
}

#[test]
fn connmark_needs_a_connection() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-A INPUT -m connmark ! --mark 0x1 -j DROP");
    // No connection: no match, even inverted (`connmark_mt`).
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Input, 0, None),
        Verdict::Accept
    );
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Input, 0, Some(0)),
        Verdict::Drop
    );
    assert_eq!(
        run(&mut t, Table::Filter, Hook::Input, 0, Some(1)),
        Verdict::Accept
    );
    // CONNMARK does nothing without one.
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-t mangle -A PREROUTING -j CONNMARK --set-mark 0x5");
    run(&mut t, Table::Mangle, Hook::Prerouting, 0, None);
    assert_eq!(t.marks, None);
    run(&mut t, Table::Mangle, Hook::Prerouting, 0, Some(0));
    assert_eq!(t.marks, Some(Marks { mark: 0, ctmark: 5 }));
}

#[test]
fn connmark_save_restore_and_shifts() {
    // (options, mark, ctmark) before -> after
    let cases = [
        ("--save-mark", (0x12, 0xF00), (0x12, 0x12)),
        ("--save-mark --mask 0xf", (0x12, 0xF00), (0x12, 0xF02)),
        (
            "--save-mark --nfmask 0xf0 --ctmask 0xff",
            (0x12, 0xF00),
            (0x12, 0xF10),
        ),
        ("--restore-mark", (0x12, 0x345), (0x345, 0x345)),
        ("--restore-mark --mask 0xf", (0x12, 0x345), (0x15, 0x345)),
        ("--restore-mark --ctmask 0xf0", (0x12, 0x345), (0x40, 0x345)),
        ("--save-mark --left-shift-mark 4", (0x12, 0), (0x12, 0x120)),
        (
            "--restore-mark --right-shift-mark 8",
            (0, 0x345),
            (0x3, 0x345),
        ),
        ("--set-mark 0x1/0xf --left-shift-mark 32", (0, 0xFF), (0, 0)),
        ("--xor-mark 0x3", (0, 0xF1), (0, 0xF2)),
        ("--and-mark 0xf", (0, 0xF1), (0, 0x1)),
        ("--or-mark 0x6", (0, 0xF1), (0, 0xF7)),
    ];
    for (opts, (mark, ctmark), (m2, c2)) in cases {
        let mut t = Tables::new(IptablesVersion::V1_8_9);
        ok(
            &mut t,
            &format!("-t mangle -A PREROUTING -j CONNMARK {opts}"),
        );
        run(&mut t, Table::Mangle, Hook::Prerouting, mark, Some(ctmark));
        assert_eq!(
            t.marks,
            Some(Marks {
                mark: m2,
                ctmark: c2
            }),
            "{opts}"
        );
    }
}
