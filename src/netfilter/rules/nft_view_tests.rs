//! Expected texts are what `nft list ruleset` (nft 1.0.6) printed after the same commands
//! ran with iptables-nft 1.8.9 in a fresh network namespace.

use super::*;
use crate::netfilter::rules::testing::{ok, tables};

fn plain() -> NftListOptions {
    NftListOptions::default()
}

/// The rule lines of a table's listing (without the two tabs).
fn rules_of(t: &Tables, table: Table) -> Vec<String> {
    nft_table_listing(t, table, plain())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("\t\t"))
        .filter(|l| !l.starts_with("type "))
        .map(str::to_string)
        .collect()
}

/// The rule one command (in a fresh namespace) lists as.
fn one(cmd: &str) -> String {
    let t = tables(&[cmd]);
    let table = cmd
        .split_once("-t ")
        .and_then(|(_, r)| Table::parse(r.split_whitespace().next()?))
        .unwrap_or(Table::Filter);
    let rules = rules_of(&t, table);
    assert_eq!(rules.len(), 1, "{cmd}: {rules:?}");
    rules[0].clone()
}

#[test]
fn only_the_chains_a_command_touched_exist_in_creation_order() {
    let t = tables(&[
        "iptables -A FORWARD -j ACCEPT",
        "iptables -N FOO",
        "iptables -A INPUT -j FOO",
        "iptables -P OUTPUT DROP",
        "iptables -t nat -L",
        "iptables -t mangle -F",
        "iptables -t raw -N BAR",
        "iptables -A FOO -j RETURN",
    ]);
    let want = "table ip filter {\n\
        \tchain FORWARD {\n\
        \t\ttype filter hook forward priority filter; policy accept;\n\
        \t\tcounter packets 0 bytes 0 accept\n\
        \t}\n\
        \n\
        \tchain FOO {\n\
        \t\tcounter packets 0 bytes 0 return\n\
        \t}\n\
        \n\
        \tchain INPUT {\n\
        \t\ttype filter hook input priority filter; policy accept;\n\
        \t\tcounter packets 0 bytes 0 jump FOO\n\
        \t}\n\
        \n\
        \tchain OUTPUT {\n\
        \t\ttype filter hook output priority filter; policy drop;\n\
        \t}\n\
        }\n\
        table ip raw {\n\
        \tchain BAR {\n\
        \t}\n\
        }\n";
    assert_eq!(nft_ruleset_listing(&t, plain()), want);
    assert_eq!(nft_table_listing(&t, Table::Nat, plain()), None);
    assert_eq!(nft_table_listing(&t, Table::Mangle, plain()), None);
    assert_eq!(t.nft_table_order(Table::Filter), Some(1));
    assert_eq!(t.nft_table_order(Table::Raw), Some(2));
}

#[test]
fn handles_count_chains_and_rules_per_table_and_survive_replace_and_rename() {
    let mut t = tables(&[
        "iptables -N X",
        "iptables -A X -j ACCEPT",
        "iptables -A X -j ACCEPT",
        "iptables -R X 1 -j DROP",
        "iptables -I X 2 -j RETURN",
        "iptables -N Y",
        "iptables -E Y Q",
        "iptables -t mangle -A INPUT",
    ]);
    let handles = NftListOptions {
        handles: true,
        ..plain()
    };
    let want = "table ip filter { # handle 1\n\
        \tchain X { # handle 1\n\
        \t\tcounter packets 0 bytes 0 drop # handle 2\n\
        \t\tcounter packets 0 bytes 0 return # handle 4\n\
        \t\tcounter packets 0 bytes 0 accept # handle 3\n\
        \t}\n\
        \n\
        \tchain Q { # handle 5\n\
        \t}\n\
        }\n";
    assert_eq!(nft_table_listing(&t, Table::Filter, handles).unwrap(), want);
    let want = "table ip mangle { # handle 2\n\
        \tchain INPUT { # handle 1\n\
        \t\ttype filter hook input priority mangle; policy accept;\n\
        \t\tcounter packets 0 bytes 0 # handle 2\n\
        \t}\n\
        }\n";
    assert_eq!(nft_table_listing(&t, Table::Mangle, handles).unwrap(), want);
    // The router's own numbering of the table, when nft's tables share the sequence.
    let at7 = NftListOptions {
        table_handle: Some(7),
        ..handles
    };
    assert!(
        nft_table_listing(&t, Table::Mangle, at7)
            .unwrap()
            .starts_with("table ip mangle { # handle 7\n")
    );
    // A failed command creates nothing.
    assert!(
        t.apply(&crate::netfilter::rules::testing::argv(
            "iptables -t nat -A POSTROUTING -j NOPE"
        ))
        .is_err()
    );
    assert_eq!(t.nft_table_order(Table::Nat), None);
    ok(&mut t, "iptables -t nat -F POSTROUTING");
    assert_eq!(t.nft_table_order(Table::Nat), Some(3));
}

#[test]
fn a_restore_deletes_the_table_and_makes_it_anew() {
    let mut t = tables(&["iptables -A FORWARD -j ACCEPT"]);
    t.restore(
        "*filter\n:DOCKER - [0:0]\n:OUTPUT ACCEPT [5:6]\n:INPUT DROP [0:0]\n\
         -A INPUT -j DOCKER\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*raw\nCOMMIT\n",
    )
    .unwrap();
    let handles = NftListOptions {
        handles: true,
        ..plain()
    };
    let want = "table ip filter { # handle 2\n\
        \tchain DOCKER { # handle 1\n\
        \t}\n\
        \n\
        \tchain OUTPUT { # handle 2\n\
        \t\ttype filter hook output priority filter; policy accept;\n\
        \t}\n\
        \n\
        \tchain INPUT { # handle 3\n\
        \t\ttype filter hook input priority filter; policy drop;\n\
        \t\tcounter packets 0 bytes 0 jump DOCKER # handle 4\n\
        \t}\n\
        }\n\
        table ip nat { # handle 3\n\
        \tchain PREROUTING { # handle 1\n\
        \t\ttype nat hook prerouting priority dstnat; policy accept;\n\
        \t}\n\
        }\n";
    assert_eq!(nft_ruleset_listing(&t, handles), want);
}

#[test]
fn native_ip_header_and_ports() {
    assert_eq!(
        one("iptables -A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT"),
        "ip saddr 10.0.0.0/8 tcp dport 22 counter packets 0 bytes 0 accept"
    );
    assert_eq!(
        one(
            "iptables -A INPUT ! -s 10.0.0.1 ! -d 192.168.0.0/16 ! -i eth0 -p udp ! --sport 53 ! --dport 1000:2000 -j ACCEPT"
        ),
        "iifname != \"eth0\" ip saddr != 10.0.0.1 ip daddr != 192.168.0.0/16 udp sport != 53 udp dport != 1000-2000 counter packets 0 bytes 0 accept"
    );
    assert_eq!(
        one("iptables -A FORWARD -i a -o b -s 1.1.1.1 -d 2.2.2.2 -p tcp -f"),
        "iifname \"a\" oifname \"b\" meta l4proto tcp ip saddr 1.1.1.1 ip daddr 2.2.2.2 ip frag-off & 8191 != 0 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -i eth+ -p udp"),
        "iifname \"eth*\" meta l4proto udp counter packets 0 bytes 0"
    );
    assert_eq!(one("iptables -A INPUT -i +"), "counter packets 0 bytes 0");
    assert_eq!(
        one("iptables -A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT"),
        "ip saddr & 255.0.255.0 == 10.0.0.0 counter packets 0 bytes 0 accept"
    );
    assert_eq!(
        one("iptables -A INPUT -p 47"),
        "meta l4proto gre counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p 99"),
        "meta l4proto 99 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p tcp ! --dport :100"),
        "tcp dport > 100 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p tcp --sport 1024: --dport :1024"),
        "tcp sport 1024-65535 tcp dport <= 1024 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p udp --dport 0:65535 -j DROP"),
        "meta l4proto udp  counter packets 0 bytes 0 drop"
    );
}

#[test]
fn tcp_flags_in_natives_and_translations() {
    let cases = [
        ("--syn", "tcp flags syn / fin,syn,rst,ack"),
        ("! --syn", "tcp flags != syn / fin,syn,rst,ack"),
        (
            "--tcp-flags ALL NONE",
            "tcp flags ! fin,syn,rst,psh,ack,urg",
        ),
        ("! --tcp-flags SYN NONE", "tcp flags syn"),
        ("--tcp-flags SYN SYN", "tcp flags & syn == syn"),
        ("! --tcp-flags SYN SYN", "tcp flags & syn != syn"),
        (
            "--tcp-flags ALL ALL",
            "tcp flags fin,syn,rst,psh,ack,urg / fin,syn,rst,psh,ack,urg",
        ),
        (
            "--sport 5 --dport 6 --tcp-flags SYN,ACK SYN --tcp-option 3",
            "meta l4proto tcp tcp sport 5 tcp dport 6 tcp option 3 exists tcp flags syn / syn,ack",
        ),
        ("! --tcp-option 3", "meta l4proto tcp tcp option 3 missing"),
    ];
    for (opts, want) in cases {
        let got = one(&format!("iptables -A INPUT -p tcp {opts}"));
        assert_eq!(got, format!("{want} counter packets 0 bytes 0"), "{opts}");
    }
}

#[test]
fn a_compat_statement_keeps_the_protocol_dependency() {
    assert_eq!(
        one("iptables -A INPUT -p tcp -m conntrack --ctstate NEW --dport 22"),
        "meta l4proto tcp ct state new tcp dport 22 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p tcp -m limit --limit 1/s --dport 22"),
        "meta l4proto tcp limit rate 1/second tcp dport 22 counter packets 0 bytes 0"
    );
    assert_eq!(
        one("iptables -A INPUT -p tcp -m mark --mark 5 -m tcp --dport 5"),
        "meta mark 0x00000005 tcp dport 5 counter packets 0 bytes 0"
    );
    // The comment's translation is empty: two spaces.
    assert_eq!(
        one("iptables -A INPUT -p tcp -m comment --comment c --dport 5 -j ACCEPT"),
        "meta l4proto tcp  tcp dport 5 counter packets 0 bytes 0 accept"
    );
    assert_eq!(
        one("iptables -A INPUT -m comment --comment x -j ACCEPT"),
        " counter packets 0 bytes 0 accept"
    );
}

#[test]
fn translated_matches() {
    let cases = [
        (
            "-m conntrack --ctstate RELATED,ESTABLISHED",
            "ct state related,established",
        ),
        (
            "-m conntrack ! --ctstate NEW,UNTRACKED",
            "ct state ! new,untracked",
        ),
        ("-m conntrack --ctstate SNAT,DNAT", "ct status snat"),
        ("-m state ! --state INVALID", "ct state ! invalid"),
        ("-m conntrack ! --ctstatus ASSURED", "ct status ! assured"),
        (
            "-m conntrack --ctproto tcp --ctorigdstport 80 --ctorigsrcport 1000:2000",
            "ct original protocol 6 ct original proto-src 1000-2000 ct original proto-dst 80",
        ),
        (
            "-m conntrack --ctstate RELATED,ESTABLISHED --ctdir ORIGINAL",
            "ct direction original ct state related,established",
        ),
        (
            "-m conntrack --ctorigsrc 10.0.0.0/255.0.255.0",
            "ct original saddr 10.0.0.0",
        ),
        ("-m addrtype --dst-type LOCAL", "fib daddr type local"),
        (
            "-m addrtype ! --src-type LOCAL,UNICAST",
            "fib saddr type != { unicast, local }",
        ),
        (
            "-m addrtype --dst-type LOCAL,BROADCAST --limit-iface-in",
            "fib daddr . iif type { local, broadcast }",
        ),
        (
            "-m addrtype --src-type LOCAL --dst-type UNICAST",
            "fib saddr type local",
        ),
        (
            "-m addrtype --dst-type UNSPEC,BLACKHOLE,UNREACHABLE,PROHIBIT,ANYCAST,NAT,XRESOLVE,THROW",
            "fib daddr type { unspec, anycast, blackhole, unreachable, prohibit }",
        ),
        (
            "-m mark ! --mark 0x1/0xff",
            "meta mark & 0x000000ff != 0x00000001",
        ),
        ("-m connmark --mark 0x2", "ct mark 0x2"),
        ("-m connmark ! --mark 0x2/0xf0", "ct mark and 0xf0 != 0x2"),
        (
            "-m limit --limit 5/min --limit-burst 10",
            "limit rate 5/minute burst 10 packets",
        ),
        ("-m limit", "limit rate 3/hour"),
        ("-m limit --limit 60/min", "limit rate 1/second"),
        ("-m limit --limit 24/day", "limit rate 1/hour"),
        (
            "-m iprange ! --dst-range 10.0.0.1-10.0.0.9",
            "ip daddr != 10.0.0.1-10.0.0.9",
        ),
        (
            "-m statistic --mode random --probability 0.5",
            "meta random & 2147483647 < 1073741824",
        ),
        (
            "-m statistic --mode nth --every 3 --packet 1",
            "numgen inc mod 3 1",
        ),
        ("-m physdev --physdev-is-bridged", "xt match physdev"),
        ("-m pkttype --pkt-type otherhost", "pkttype 3"),
        ("-m ttl --ttl-gt 5", "ip ttl gt 5"),
        ("-m tos --tos 0x10", "xt match tos"),
        ("-m dscp --dscp 0x2e", "ip dscp 0x2e"),
        ("-m helper --helper ftp", "ct helper \"ftp\""),
        ("-m policy --dir in --pol none", "meta secpath missing"),
        ("-m devgroup --src-group 1", "iifgroup 0x1"),
    ];
    for (opts, want) in cases {
        let got = one(&format!("iptables -A FORWARD {opts}"));
        assert_eq!(got, format!("{want} counter packets 0 bytes 0"), "{opts}");
    }
    let cases = [
        (
            "-p icmp --icmp-type echo-request",
            "meta l4proto icmp icmp type echo-request",
        ),
        (
            "-p icmp ! --icmp-type 3/4",
            "meta l4proto icmp xt match icmp",
        ),
        (
            "-p icmp --icmp-type any",
            "meta l4proto icmp ip protocol icmp",
        ),
        (
            "-p icmp --icmp-type 13",
            "meta l4proto icmp icmp type timestamp-request",
        ),
        (
            "-p tcp -m multiport --dports 80,443,8000:8080",
            "meta l4proto tcp tcp dport { 80, 443, 8000-8080 }",
        ),
        (
            "-p tcp -m multiport ! --dports 1000:2000",
            "meta l4proto tcp tcp dport != 1000-2000",
        ),
        (
            "-p tcp -m multiport ! --ports 1:2,3",
            "meta l4proto tcp tcp sport . tcp dport { 0-65535 . 1, 1 . 0-65535, 0-65535 . 2, 2 . 0-65535, 0-65535 . 3, 3 . 0-65535 }",
        ),
        (
            "-p tcp -m tcpmss --mss 100:200",
            "meta l4proto tcp tcp option maxseg size 100-200",
        ),
    ];
    for (opts, want) in cases {
        let got = one(&format!("iptables -A FORWARD {opts}"));
        assert_eq!(got, format!("{want} counter packets 0 bytes 0"), "{opts}");
    }
}

#[test]
fn translated_targets() {
    let cases = [
        ("iptables -A INPUT -j REJECT", "reject"),
        (
            "iptables -A INPUT -j REJECT --reject-with icmp-proto-unreachable",
            "reject with icmp type prot-unreachable",
        ),
        (
            "iptables -A INPUT -j LOG --log-prefix foo: --log-level 4",
            "log prefix \"foo:\"",
        ),
        (
            "iptables -A INPUT -j LOG --log-level debug --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid",
            "log level debug flags tcp sequence,options flags ip options flags skuid",
        ),
        (
            "iptables -A INPUT -j LOG --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode",
            "log flags all",
        ),
        ("iptables -A INPUT -j NFLOG", "log group 0"),
        (
            "iptables -A INPUT -j NFQUEUE --queue-balance 1:2 --queue-bypass --queue-cpu-fanout",
            "queue num 1-2 bypass,fanout",
        ),
        (
            "iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000 --random-fully",
            "masquerade to :1000 fully-random",
        ),
        (
            "iptables -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.10 --random",
            "snat to 1.2.3.4-1.2.3.10 random",
        ),
        (
            "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 172.17.0.2-172.17.0.5:80-90",
            "dnat to 172.17.0.2-172.17.0.5:80-90",
        ),
        (
            "iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 3128",
            "redirect to :3128",
        ),
        (
            "iptables -t mangle -A PREROUTING -j MARK --set-xmark 0x1/0xff",
            "meta mark set mark and 0xffffff00 xor 0x1",
        ),
        (
            "iptables -t mangle -A PREROUTING -j MARK --and-mark 0xf0",
            "meta mark set mark and 0xf0",
        ),
        (
            "iptables -t mangle -A INPUT -j CONNMARK --set-mark 0x5/0xffff",
            "ct mark set ct mark xor 0x5 and 0xffff0000",
        ),
        (
            "iptables -t mangle -A INPUT -j CONNMARK --restore-mark --mask 0xff",
            "meta mark set ct mark and 0xff",
        ),
        (
            "iptables -t mangle -A INPUT -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0",
            "xt target CONNMARK",
        ),
        (
            "iptables -t mangle -A FORWARD -j TTL --ttl-set 64",
            "xt target TTL",
        ),
        ("iptables -t raw -A PREROUTING -j NOTRACK", "notrack"),
        ("iptables -t raw -A OUTPUT -j CT --zone 1", "xt target CT"),
    ];
    for (cmd, want) in cases {
        let got = one(cmd);
        let rule = match cmd.contains("-p tcp") {
            true => format!("meta l4proto tcp counter packets 0 bytes 0 {want}"),
            false => format!("counter packets 0 bytes 0 {want}"),
        };
        assert_eq!(got, rule, "{cmd}");
    }
}

#[test]
fn chain_headers_and_stateless_counters() {
    let mut t = tables(&[
        "iptables -t nat -A INPUT -j ACCEPT",
        "iptables -t nat -A OUTPUT -j RETURN",
        "iptables -t mangle -A OUTPUT -j ACCEPT",
        "iptables -t raw -A PREROUTING -j ACCEPT",
    ]);
    assert!(t.set_rule_counters(
        Table::Nat,
        "INPUT",
        1,
        crate::netfilter::rules::Counters {
            packets: 3,
            bytes: 180
        }
    ));
    let nat = nft_table_listing(&t, Table::Nat, plain()).unwrap();
    assert!(nat.contains("\t\ttype nat hook input priority 100; policy accept;\n"));
    assert!(nat.contains("\t\ttype nat hook output priority -100; policy accept;\n"));
    assert!(nat.contains("\t\tcounter packets 3 bytes 180 accept\n"));
    let stateless = NftListOptions {
        stateless: true,
        ..plain()
    };
    let nat = nft_table_listing(&t, Table::Nat, stateless).unwrap();
    assert!(nat.contains("\t\tcounter accept\n"), "{nat}");
    let mangle = nft_table_listing(&t, Table::Mangle, plain()).unwrap();
    assert!(mangle.contains("\t\ttype route hook output priority mangle; policy accept;\n"));
    let raw = nft_table_listing(&t, Table::Raw, plain()).unwrap();
    assert!(raw.contains("\t\ttype filter hook prerouting priority raw; policy accept;\n"));
    ok(&mut t, "iptables -t raw -F PREROUTING");
    assert_eq!(nft_table_warning(&t, Table::Raw), None);
}

#[test]
fn the_warning_names_tables_with_compat_expressions() {
    let t = tables(&[
        "iptables -A INPUT -s 1.2.3.4 -j ACCEPT",
        "iptables -t raw -N X",
        "iptables -t nat -A POSTROUTING -j MASQUERADE",
    ]);
    assert_eq!(nft_table_warning(&t, Table::Filter), None);
    assert_eq!(nft_table_warning(&t, Table::Raw), None);
    assert_eq!(
        nft_table_warning(&t, Table::Nat).as_deref(),
        Some("# Warning: table ip nat is managed by iptables-nft, do not touch!\n")
    );
    assert_eq!(nft_table_warning(&t, Table::Mangle), None);
}

#[test]
fn time_hashlimit_rpfilter_and_tos() {
    let cases = [
        (
            "iptables -A INPUT -m time --timestart 09:00 --timestop 17:00 --weekdays Mon",
            " meta hour \"09:00:00\"-\"17:00:00\" meta day 1 counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m time --datestart 2020-01-01T00:00:00",
            "meta time \"2020-01-01 00:00:00\"-\"2038-01-19 03:14:07\" counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m time ! --weekdays Sat,Sun",
            " meta day { 1, 2, 3, 4, 5 } counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m time --monthdays 1,2",
            "xt match time counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-mode srcip,dstport --hashlimit-name y",
            "meter y { tcp dport . ip saddr timeout 60s limit rate 5/minute } counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-mode srcip --hashlimit-srcmask 24 --hashlimit-name w",
            "meter w { ip saddr and 255.255.255.0 timeout 60s limit rate 5/minute } counter packets 0 bytes 0",
        ),
        (
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-name foo",
            "xt match hashlimit counter packets 0 bytes 0",
        ),
        (
            "iptables -t raw -A PREROUTING -m rpfilter",
            "fib saddr . iif oif != 0 counter packets 0 bytes 0",
        ),
        (
            "iptables -t raw -A PREROUTING -m rpfilter --invert --loose",
            "fib saddr oif 0 counter packets 0 bytes 0",
        ),
        (
            "iptables -t raw -A PREROUTING -m rpfilter --validmark",
            "fib saddr . mark . iif oif != 0 counter packets 0 bytes 0",
        ),
        (
            "iptables -t mangle -A FORWARD -j TOS --set-tos 0x10",
            "counter packets 0 bytes 0 ip6 dscp set 0x04",
        ),
        (
            "iptables -t mangle -A FORWARD -j TOS --and-tos 0x3",
            "counter packets 0 bytes 0 ip6 dscp set ip6 dscp and 0x00",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(one(cmd), want, "{cmd}");
    }
}
