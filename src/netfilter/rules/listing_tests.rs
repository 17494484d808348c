//! `-L` details beyond the golden files: counter suffixes, `-x`, every extension's text, name
//! resolution, the 1.8.9/1.8.10 protocol column, single-rule listings.

use super::super::names::print_num;
use super::super::testing::{err1, ok, tables};
use super::super::{IptablesVersion, Tables};
use crate::netfilter::packet::Table;

/// The text after the address columns of the last rule of INPUT (or `chain`).
fn tail(setup: &[&str], list: &str) -> String {
    let mut t = tables(setup);
    let out = ok(&mut t, list);
    let last = out.lines().last().unwrap_or("").to_string();
    last.get(61..).unwrap_or("").to_string()
}

#[test]
fn counters_use_k_m_g_unless_exact() {
    let cases = [
        (0u64, "    0 "),
        (99_999, "99999 "),
        (100_000, " 100K "),
        (9_999_499, "9999K "),
        (9_999_500, "  10M "),
        (123_456_789, " 123M "),
        (5_000_000_000, "5000M "),
        (50_000_000_000, "  50G "),
        (20_000_000_000_000, "  20T "),
    ];
    for (n, want) in cases {
        let mut s = String::new();
        print_num(&mut s, n, false, true);
        assert_eq!(s, want, "{n}");
    }
    let mut s = String::new();
    print_num(&mut s, 123_456_789, true, true);
    print_num(&mut s, 7, true, false);
    assert_eq!(s, "123456789 7 ");
}

#[test]
fn verbose_exact_listing_with_counters() {
    let mut t = tables(&["-A INPUT -i eth0 -p tcp --dport 22 -j ACCEPT"]);
    t.set_rule_counters(
        Table::Filter,
        "INPUT",
        1,
        super::super::Counters {
            packets: 1234567,
            bytes: 98765432,
        },
    );
    t.set_policy_counters(
        Table::Filter,
        "INPUT",
        super::super::Counters {
            packets: 150_000,
            bytes: 2_000_000_000,
        },
    );
    assert_eq!(
        ok(&mut t, "-L INPUT -v"),
        "Chain INPUT (policy ACCEPT 150K packets, 2000M bytes)\n\
         \x20pkts bytes target     prot opt in     out     source               destination         \n\
         1235K   99M ACCEPT     tcp  --  eth0   any     anywhere             anywhere             tcp dpt:ssh\n"
    );
    assert_eq!(
        ok(&mut t, "-L INPUT -vnx --line-numbers"),
        "Chain INPUT (policy ACCEPT 150000 packets, 2000000000 bytes)\n\
         num      pkts      bytes target     prot opt in     out     source               destination         \n\
         1     1234567 98765432 ACCEPT     tcp  --  eth0   *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n"
    );
    assert_eq!(
        ok(&mut t, "-S INPUT -v"),
        "-P INPUT ACCEPT -c 150000 2000000000\n-A INPUT -i eth0 -p tcp -m tcp --dport 22 -c 1234567 98765432 -j ACCEPT\n"
    );
    assert_eq!(
        ok(&mut t, "-L INPUT 1 -n"),
        "ACCEPT     tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n"
    );
    assert_eq!(
        ok(&mut t, "-S INPUT 1"),
        "-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT\n"
    );
    assert_eq!(
        err1(&mut t, "-L NOPE"),
        "iptables: No chain/target/match by that name."
    );
}

#[test]
fn extensions_print_as_their_modules_do() {
    let c: &[(&[&str], &str, &str)] = &[
        (
            &["-A INPUT -p tcp --sport 1000:2000 ! --dport 8080 --syn"],
            "-nL INPUT",
            " tcp spts:1000:2000 dpt:!8080 flags:0x17/0x02",
        ),
        (
            &["-A INPUT -p tcp ! --tcp-flags ALL NONE"],
            "-L INPUT",
            " tcp flags:!FIN,SYN,RST,PSH,ACK,URG/NONE",
        ),
        (
            &["-A INPUT -p udp --sport 53 --dport 1024:65535"],
            "-L INPUT",
            " udp spt:domain dpts:1024:65535",
        ),
        (
            &["-A INPUT -p icmp --icmp-type echo-request"],
            "-L INPUT",
            " icmp echo-request",
        ),
        (
            &["-A INPUT -p icmp --icmp-type echo-request"],
            "-nL INPUT",
            " icmptype 8",
        ),
        (
            &["-A INPUT -p icmp ! --icmp-type 3/4"],
            "-nL INPUT",
            " icmp !type 3 code 4",
        ),
        (
            &["-A INPUT -p icmp ! --icmp-type 3/4"],
            "-L INPUT",
            " icmp !fragmentation-needed",
        ),
        (
            &[
                "-A INPUT -m conntrack ! --ctstate NEW,INVALID --ctorigdst 10.0.0.0/8 --ctorigdstport 80",
            ],
            "-nL INPUT",
            " ! ctstate INVALID,NEW ctorigdst 10.0.0.0/8 ctorigdstport 80",
        ),
        (
            &["-A INPUT -m conntrack --ctorigsrc 127.0.0.1 --ctdir REPLY"],
            "-L INPUT",
            " ctorigsrc localhost ctdir REPLY",
        ),
        (
            &["-A INPUT -m state --state RELATED,ESTABLISHED"],
            "-nL INPUT",
            " state RELATED,ESTABLISHED",
        ),
        (
            &["-A INPUT -m addrtype ! --src-type LOCAL --dst-type UNICAST,MULTICAST"],
            "-nL INPUT",
            " ADDRTYPE match src-type !LOCAL dst-type UNICAST,MULTICAST",
        ),
        (
            &["-A INPUT -m iprange ! --src-range 10.0.0.1-10.0.0.5"],
            "-nL INPUT",
            " source IP range ! 10.0.0.1-10.0.0.5",
        ),
        (
            &["-A INPUT -p tcp -m multiport --dports 22,80,8000:8080"],
            "-L INPUT",
            " multiport dports ssh,http,8000:http-alt",
        ),
        (
            &["-A INPUT -p udp -m multiport ! --sports 53"],
            "-nL INPUT",
            " multiport sports  !53",
        ),
        (
            &["-A INPUT -m limit"],
            "-nL INPUT",
            " limit: avg 3/hour burst 5",
        ),
        (
            &["-A INPUT -m limit --limit 100/s --limit-burst 10"],
            "-nL INPUT",
            " limit: avg 100/sec burst 10",
        ),
        (
            &["-A INPUT -m statistic --mode nth --every 2"],
            "-nL INPUT",
            " statistic mode nth every 2",
        ),
        (
            &["-A INPUT -m statistic --mode nth --every 4 --packet 3"],
            "-nL INPUT",
            " statistic mode nth every 4 packet 3",
        ),
        (
            &["-A INPUT -m comment --comment web"],
            "-nL INPUT",
            " /* web */",
        ),
        (
            &["-A INPUT -j REJECT"],
            "-nL INPUT",
            " reject-with icmp-port-unreachable",
        ),
        (
            &["-A INPUT -j LOG --log-prefix in: --log-level 6"],
            "-nL INPUT",
            " LOG flags 0 level 6 prefix \"in:\"",
        ),
        (
            &["-A INPUT -j LOG --log-tcp-sequence --log-uid"],
            "-L INPUT",
            " LOG level warn tcp-sequence uid",
        ),
        (
            &["-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2048 --random"],
            "-t nat -nL POSTROUTING",
            "  masq ports: 1024-2048 random",
        ), // MASQUERADE pushes the columns right by one
        (
            &["-t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4-1.2.3.6:80"],
            "-t nat -nL POSTROUTING",
            " to:1.2.3.4-1.2.3.6:80",
        ),
        (
            &["-t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 8080"],
            "-t nat -nL OUTPUT",
            " redir ports 8080",
        ),
        (
            &["-N X", "-A INPUT -p tcp --dport 22 -g X"],
            "-nL INPUT",
            "[goto]  tcp dpt:22",
        ),
    ];
    for (setup, list, want) in c {
        assert_eq!(tail(setup, &format!("iptables {list}")), *want, "{setup:?}");
    }
}

#[test]
fn columns_for_fragments_negations_and_names() {
    let mut t = tables(&[
        "-A INPUT -f -s 169.254.0.0/16 -d 10.0.0.0/255.0.255.0",
        "-A INPUT ! -f ! -p tcp ! -s 127.0.0.1 ! -d 0.0.0.0/1",
        "-A FORWARD ! -i docker+ -o br-0123456789ab",
    ]);
    assert_eq!(
        ok(&mut t, "-L INPUT"),
        "Chain INPUT (policy ACCEPT)\n\
         target     prot opt source               destination         \n\
         \x20          all  -f  link-local/16        10.0.0.0/255.0.255.0\x20\n\
         \x20         !tcp  !f !localhost           !default/1           \n"
    );
    assert_eq!(
        ok(&mut t, "-nvL FORWARD"),
        "Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)\n\
         \x20pkts bytes target     prot opt in     out     source               destination         \n\
         \x20   0     0            all  --  !docker+ br-0123456789ab  0.0.0.0/0            0.0.0.0/0           \n"
    );
}

#[test]
fn protocol_column_by_release() {
    let setup = ["-A INPUT -p tcp", "-A INPUT -p 47", "-A INPUT"];
    let prots = |v: IptablesVersion, list: &str| -> Vec<String> {
        let mut t = Tables::new(v);
        for s in setup {
            ok(&mut t, s);
        }
        ok(&mut t, list)
            .lines()
            .skip(2)
            .map(|l| l[11..15].trim().to_string())
            .collect()
    };
    assert_eq!(
        prots(IptablesVersion::V1_8_9, "-nL INPUT"),
        ["6", "47", "0"]
    );
    assert_eq!(
        prots(IptablesVersion::V1_8_10, "-nL INPUT"),
        ["tcp", "47", "all"]
    );
    assert_eq!(
        prots(IptablesVersion::V1_8_9, "-L INPUT"),
        ["tcp", "gre", "all"]
    );
    assert_eq!(
        prots(IptablesVersion::V1_8_10, "-L INPUT"),
        ["tcp", "gre", "all"]
    );
}

/// `--random-fully` as iptables 1.8.9 (nf_tables) printed it in a network namespace.
#[test]
fn nat_random_fully_listings() {
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for r in [
        "-t nat -A POSTROUTING -p tcp -j MASQUERADE --random-fully",
        "-t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000 --random --random-fully",
        "-t nat -A POSTROUTING -j SNAT --to 1.2.3.4 --random-fully --persistent --random",
    ] {
        ok(&mut t, r);
    }
    assert_eq!(
        ok(&mut t, "-t nat -S POSTROUTING"),
        "-P POSTROUTING ACCEPT\n\
         -A POSTROUTING -p tcp -j MASQUERADE --random-fully\n\
         -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000 --random --random-fully\n\
         -A POSTROUTING -j SNAT --to-source 1.2.3.4 --random --random-fully --persistent\n"
    );
    let l = ok(&mut t, "-t nat -L POSTROUTING");
    assert!(l.ends_with(
        "MASQUERADE  tcp  --  anywhere             anywhere             random-fully\n\
         MASQUERADE  tcp  --  anywhere             anywhere             masq ports: 1000-2000 random random-fully\n\
         SNAT       all  --  anywhere             anywhere             to:1.2.3.4 random random-fully persistent\n"
    ), "{l}");
    let l = ok(&mut t, "-t nat -nvL POSTROUTING");
    assert!(l.ends_with(
        "    0     0 SNAT       0    --  *      *       0.0.0.0/0            0.0.0.0/0            to:1.2.3.4 random random-fully persistent\n"
    ), "{l}");
    // DNAT and REDIRECT have no --random-fully.
    for r in [
        "-t nat -A PREROUTING -p tcp -j DNAT --to 1.2.3.4:80 --random-fully",
        "-t nat -A PREROUTING -p tcp -j REDIRECT --random-fully",
    ] {
        assert_eq!(
            err1(&mut t, r),
            "iptables v1.8.9 (nf_tables): unknown option \"--random-fully\""
        );
    }
}
