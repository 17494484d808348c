//! `-m recent`: listings and errors as iptables 1.8.9 (nf_tables) printed them in a network
//! namespace, and `recent_mt` as Linux 6.x evaluates it (the `/proc/net/xt_recent` lines as
//! the kernel printed them for pings, re-timed).

use super::super::testing::{argv, icmp, ok, tcp};
use super::super::{IptablesVersion, Tables};
use super::{INITIAL_JIFFIES, jiffies};
use crate::netfilter::packet::{Hook, Table, Verdict};
use crate::time::{Duration, Instant};

const RULES: &str = "-A INPUT -p tcp --dport 22 -m recent --set --name SSH --rsource
-A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP
-A INPUT -m recent --rcheck --rttl --mask 255.255.255.0 --rdest
-A INPUT -m recent ! --remove
-A INPUT -m recent --update --seconds 10 --reap --name X
-A INPUT -m recent --set";

fn loaded(v: IptablesVersion) -> Tables {
    let mut t = Tables::new(v);
    for line in RULES.lines() {
        ok(&mut t, line);
    }
    t.sync_ext_state();
    t
}

#[test]
fn listings_are_iptables_1_8_9() {
    let mut t = loaded(IptablesVersion::V1_8_9);
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        r#"-P INPUT ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name SSH --mask 255.255.255.255 --rsource
-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource -j DROP
-A INPUT -m recent --rcheck --rttl --name DEFAULT --mask 255.255.255.0 --rdest
-A INPUT -m recent ! --remove --name DEFAULT --mask 255.255.255.255 --rsource
-A INPUT -m recent --update --seconds 10 --reap --name X --mask 255.255.255.255 --rsource
-A INPUT -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource
"#
    );
    assert_eq!(
        ok(&mut t, "-nvL INPUT"),
        r#"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination         
    0     0            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 recent: SET name: SSH side: source mask: 255.255.255.255
    0     0 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 recent: UPDATE seconds: 60 hit_count: 4 name: SSH side: source mask: 255.255.255.255
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            recent: CHECK TTL-Match name: DEFAULT side: dest mask: 255.255.255.0
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            ! recent: REMOVE name: DEFAULT side: source mask: 255.255.255.255
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            recent: UPDATE seconds: 10 reap name: X side: source mask: 255.255.255.255
    0     0            0    --  *      *       0.0.0.0/0            0.0.0.0/0            recent: SET name: DEFAULT side: source mask: 255.255.255.255
"#
    );
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        r#"Chain INPUT (policy ACCEPT)
target     prot opt source               destination         
           tcp  --  anywhere             anywhere             tcp dpt:ssh recent: SET name: SSH side: source mask: 255.255.255.255
DROP       tcp  --  anywhere             anywhere             tcp dpt:ssh recent: UPDATE seconds: 60 hit_count: 4 name: SSH side: source mask: 255.255.255.255
           all  --  anywhere             anywhere             recent: CHECK TTL-Match name: DEFAULT side: dest mask: 255.255.255.0
           all  --  anywhere             anywhere             ! recent: REMOVE name: DEFAULT side: source mask: 255.255.255.255
           all  --  anywhere             anywhere             recent: UPDATE seconds: 10 reap name: X side: source mask: 255.255.255.255
           all  --  anywhere             anywhere             recent: SET name: DEFAULT side: source mask: 255.255.255.255
"#
    );
    let save = t.save_with(false, None);
    let body: String = save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        body,
        r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name SSH --mask 255.255.255.255 --rsource
-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --mask 255.255.255.255 --rsource -j DROP
-A INPUT -m recent --rcheck --rttl --name DEFAULT --mask 255.255.255.0 --rdest
-A INPUT -m recent ! --remove --name DEFAULT --mask 255.255.255.255 --rsource
-A INPUT -m recent --update --seconds 10 --reap --name X --mask 255.255.255.255 --rsource
-A INPUT -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource
COMMIT
"#
    );
}

#[test]
fn listings_1_8_10_name_the_protocol() {
    let mut t = loaded(IptablesVersion::V1_8_10);
    let n = ok(&mut t, "-nvL INPUT");
    assert!(n.contains("    0     0 DROP       tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 recent: UPDATE seconds: 60 hit_count: 4 name: SSH side: source mask: 255.255.255.255\n"), "{n}");
}

const ERRORS: &[(&str, &str)] = &[
    (
        "-A INPUT -m recent --set --rcheck",
        "iptables v1.8.9 (nf_tables): recent: option \"--set\" cannot be used together with \"--rcheck\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --set --set",
        "iptables v1.8.9 (nf_tables): recent: option \"--set\" can only be used once.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --rcheck --reap",
        "iptables v1.8.9 (nf_tables): recent: option \"--reap\" also requires \"--seconds\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --seconds 0 --rcheck",
        "iptables v1.8.9 (nf_tables): recent: bad value for option \"--seconds\", or out of range (1-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --seconds x --rcheck",
        "iptables v1.8.9 (nf_tables): recent: bad value for option \"--seconds\", or out of range (1-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --name A",
        "iptables v1.8.9 (nf_tables): recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --set --rttl",
        "iptables v1.8.9 (nf_tables): recent: option \"--rttl\" cannot be used together with \"--set\".\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent ! --rttl --rcheck",
        "iptables v1.8.9 (nf_tables): recent: option \"--rttl\" cannot be inverted.\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --set --seconds 5",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-A INPUT -m recent --rcheck --mask 255.0.0.300",
        "iptables v1.8.9 (nf_tables): getaddrinfo: Name or service not known\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --rcheck --name a/b",
        "iptables v1.8.9 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain INPUT",
    ),
    (
        "-A INPUT -m recent --rcheck --hitcount -1",
        "iptables v1.8.9 (nf_tables): recent: bad value for option \"--hitcount\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --rcheck --hitcount 4294967296",
        "iptables v1.8.9 (nf_tables): recent: bad value for option \"--hitcount\", or out of range (0-4294967295).\n\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --r",
        "iptables v1.8.9 (nf_tables): unknown option \"--r\"\nTry `iptables -h' or 'iptables --help' for more information.",
    ),
    (
        "-A INPUT -m recent --rc --rs --re",
        "iptables v1.8.9 (nf_tables): unknown option \"--re\"\nTry `iptables -h' or 'iptables --help' for more information.",
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
fn abbreviations_resolve_as_getopt() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-A INPUT -m recent --upd --sec 5 --hit 2 --na foo --rd",
    );
    ok(&mut t, "-A INPUT -m recent --hitcount 300 --rcheck");
    assert_eq!(
        ok(&mut t, "-S INPUT"),
        "-P INPUT ACCEPT\n\
         -A INPUT -m recent --update --seconds 5 --hitcount 2 --name foo --mask 255.255.255.255 --rdest\n\
         -A INPUT -m recent --rcheck --hitcount 300 --name DEFAULT --mask 255.255.255.255 --rsource\n"
    );
}

/// An IPv4 header with TTL `ttl` for `PacketView::ip`.
fn header(ttl: u8) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[8] = ttl;
    h
}

fn at(secs: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(secs)
}

#[test]
fn jiffies_start_five_minutes_before_the_32_bit_wrap() {
    assert_eq!(INITIAL_JIFFIES, 4294892296);
    assert_eq!(jiffies(Instant::ZERO), 4294892296);
    assert_eq!(jiffies(at(300)), 1 << 32);
    assert_eq!(
        jiffies(Instant::ZERO + Duration::from_millis(7)),
        4294892297
    );
}

/// The brute-force SSH idiom: the fourth new connection within a minute is dropped.
#[test]
fn ssh_idiom_drops_the_fourth_attempt_in_a_minute() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-A INPUT -p tcp --dport 22 -m recent --set --name SSH --rsource",
    );
    ok(
        &mut t,
        "-A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP",
    );
    t.sync_ext_state();
    let ip = header(64);
    let pkt = tcp("10.0.0.9", 40000, "10.0.0.1", 22);
    let pkt = crate::netfilter::packet::PacketView { ip: &ip, ..pkt };
    let mut verdicts = Vec::new();
    for s in [0, 10, 20, 30, 40, 200] {
        verdicts.push(t.run(Table::Filter, Hook::Input, &pkt, at(s), &mut |_| {}));
    }
    use Verdict::{Accept, Drop};
    assert_eq!(verdicts, [Accept, Accept, Accept, Drop, Drop, Accept]);
    // Every packet was stamped by `--set`; the dropped ones by `--update` too.
    let j = |s: u64| jiffies(at(s));
    let list = t.recent_listing("SSH").unwrap();
    let want = format!(
        "src=10.0.0.9 ttl: 64 last_seen: {} oldest_pkt: 8 {}, {}, {}, {}, {}, {}, {}, {}\n",
        j(200),
        j(0),
        j(10),
        j(20),
        j(30),
        j(30),
        j(40),
        j(40),
        j(200)
    );
    assert_eq!(list, want);
    // Packets of another address are counted apart.
    let other = tcp("10.0.0.8", 40000, "10.0.0.1", 22);
    let other = crate::netfilter::packet::PacketView { ip: &ip, ..other };
    assert_eq!(
        t.run(Table::Filter, Hook::Input, &other, at(201), &mut |_| {}),
        Accept
    );
}

#[test]
fn lists_hold_one_hundred_addresses_dropping_the_least_recent() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-A INPUT -m recent --set --name P");
    t.sync_ext_state();
    let ip = header(64);
    for i in 0..=100u32 {
        let src = format!("10.1.{}.{}", i / 256, i % 256);
        let pkt = icmp(&src, "10.0.0.1", 8, 0);
        let pkt = crate::netfilter::packet::PacketView { ip: &ip, ..pkt };
        t.run(
            Table::Filter,
            Hook::Input,
            &pkt,
            at(u64::from(i)),
            &mut |_| {},
        );
    }
    let list = t.recent_listing("P").unwrap();
    assert_eq!(list.lines().count(), 100);
    assert!(!list.contains("src=10.1.0.0 "), "{list}");
    assert!(list.starts_with("src=10.1.0.1 ttl: 64"), "{list}");
}

#[test]
fn rttl_masks_and_dest_side() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(
        &mut t,
        "-A INPUT -m recent --set --name M --mask 255.255.255.0 --rdest",
    );
    ok(
        &mut t,
        "-A FORWARD -m recent --rcheck --rttl --name M --rdest -j DROP",
    );
    t.sync_ext_state();
    let ip64 = header(64);
    let pkt = icmp("10.0.0.9", "10.0.5.7", 8, 0);
    let pkt = crate::netfilter::packet::PacketView { ip: &ip64, ..pkt };
    t.run(Table::Filter, Hook::Input, &pkt, at(1), &mut |_| {});
    assert_eq!(
        t.recent_listing("M").unwrap(),
        format!(
            "src=10.0.5.0 ttl: 64 last_seen: {0} oldest_pkt: 1 {0}\n",
            jiffies(at(1))
        )
    );
    // Forwarded, the TTL is taken as it was before routing lowered it.
    let ip63 = header(63);
    let fwd = crate::netfilter::packet::PacketView {
        ip: &ip63,
        out_iface: Some("eth1"),
        dst: "10.0.5.200".parse().unwrap(),
        ..pkt
    };
    assert_eq!(
        t.run(Table::Filter, Hook::Forward, &fwd, at(2), &mut |_| {}),
        Verdict::Drop
    );
    let ip62 = header(62);
    let fwd = crate::netfilter::packet::PacketView { ip: &ip62, ..fwd };
    assert_eq!(
        t.run(Table::Filter, Hook::Forward, &fwd, at(3), &mut |_| {}),
        Verdict::Accept
    );
}

#[test]
fn lists_come_and_go_with_their_rules() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    ok(&mut t, "-A INPUT -m recent --set --name A");
    t.sync_ext_state();
    assert_eq!(t.recent_listing("A").as_deref(), Some(""));
    assert_eq!(t.recent_names(), ["A"]);
    ok(&mut t, "-D INPUT 1");
    t.sync_ext_state();
    assert_eq!(t.recent_listing("A"), None);
    let e = super::super::proc_file(&t, &["/proc/net/xt_recent/A".to_string()]).unwrap_err();
    assert_eq!(
        e,
        (
            1,
            "cat: /proc/net/xt_recent/A: No such file or directory".to_string()
        )
    );
}
