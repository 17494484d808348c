//! iptables' tables as `nft list ruleset` shows them, with the kernel as the oracle: the same
//! `iptables` commands run in a fresh network namespace (where iptables is iptables-nft
//! 1.8.9 and nft is 1.0.6) and on `hoplab::netfilter::rules::Tables`; then `nft list
//! ruleset`, `nft -s list ruleset` and `nft -a list table ip T` for each table are compared
//! byte for byte with hoplab's listings, and nft's stderr (the "managed by iptables-nft"
//! warnings) with [`nft_table_warning`].
//!
//! Privileged: without root and `ip netns` a case skips and says why (a failure with
//! `HOPLAB_REQUIRE_PRIVILEGED=1`). Namespaces are named `xtnft-<case>-<pid>` and deleted by a
//! guard even when a case fails. Whole rule sets (Docker 29 on several hosts, a restore
//! file) are in `nft_xt_docker.rs`; lab 07's Docker host is here.

#[path = "nft_xt/harness.rs"]
mod harness;
mod kernel;

use harness::{Netns, compare, lines, same, words};
use hoplab::docker::{Container, Daemon, Endpoint, Network, PortMap, Proto};
use hoplab::netfilter::rules::{IptablesVersion, Tables};
use smoltcp::wire::{EthernetAddress, Ipv4Address};

/// `iptables-save` prints the tables nf_tables has, so the same lazy creation decides it
/// (the header's date aside).
#[test]
fn kd_nft_xt_save_prints_the_tables_iptables_nft_made() {
    if !kernel::privileged("kd_nft_xt_save_prints_the_tables_iptables_nft_made") {
        return;
    }
    let ns = Netns::new("xtnft-save");
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    let strip = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    for c in [
        "iptables -t nat -L",
        "iptables -t mangle -F",
        "iptables -Z",
        "iptables -X",
        "iptables-save",
        "iptables -t raw -N X",
        "iptables-save",
        "iptables -A FORWARD -j ACCEPT",
        "iptables-save",
    ] {
        let argv = words(c);
        let (ok, out, err) = ns.exec(&argv);
        assert!(ok, "{c}: {err}");
        let ours = t.apply(&argv).unwrap_or_else(|e| panic!("{c}: {e}"));
        if c == "iptables-save" {
            same(c, &strip(&out), &strip(&ours));
        }
    }
}

#[test]
fn kd_nft_xt_lazy_chains_and_order() {
    compare(
        "lazy",
        &lines(&[
            "iptables -A FORWARD -j ACCEPT",
            "iptables -N FOO",
            "iptables -A INPUT -j FOO",
            "iptables -P OUTPUT DROP",
            "iptables -t nat -L",
            "iptables -t mangle -F",
            "iptables -t mangle -Z",
            "iptables -t raw -N BAR",
            "iptables -A FOO -j RETURN",
            "iptables -F",
            "iptables -A FOO -j RETURN",
            "iptables -t nat -F POSTROUTING",
            "iptables -N Y",
            "iptables -N Z",
            "iptables -E Y Q",
            "iptables -X Z",
            "iptables -N Z",
            "iptables -A Z -j ACCEPT",
            "iptables -A Z -j DROP",
            "iptables -R Z 1 -j DROP",
            "iptables -I Z 2 -j RETURN",
            "iptables -t raw -X BAR",
            "iptables -S",
            "iptables -C Z -j DROP",
        ]),
    );
}

#[test]
fn kd_nft_xt_ip_header() {
    compare(
        "iphdr",
        &lines(&[
            "iptables -A INPUT -s 10.0.0.1 -d 192.168.0.0/16 -i eth0 -p udp --sport 53 -j ACCEPT",
            "iptables -A INPUT ! -s 10.0.0.1 ! -d 192.168.0.0/16 ! -i eth0 -p udp ! --sport 53 ! --dport 1000:2000 -j ACCEPT",
            "iptables -A FORWARD -i docker+ -o br-+ -j DROP",
            "iptables -A FORWARD ! -i docker+ ! -o br-+ -j DROP",
            "iptables -A FORWARD -i + -j DROP",
            "iptables -A INPUT -p tcp",
            "iptables -A INPUT ! -p tcp",
            "iptables -A INPUT -p 47",
            "iptables -A INPUT -p 99",
            "iptables -A INPUT -p all -j DROP",
            "iptables -A INPUT -f -j DROP",
            "iptables -A INPUT ! -f -j DROP",
            "iptables -A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT",
            "iptables -A INPUT ! -d 10.0.0.0/255.0.255.0 -j ACCEPT",
            "iptables -A INPUT -s 1.2.3.4/31 -d 0.0.0.0/0 -j ACCEPT",
            "iptables -A INPUT -s 1.2.3.4,5.6.7.0/24 -j ACCEPT",
            "iptables -A FORWARD -i a -o b -s 1.1.1.1 -d 2.2.2.2 -p tcp -f",
        ]),
    );
}

#[test]
fn kd_nft_xt_tcp_udp_ports_and_flags() {
    compare(
        "tcpudp",
        &lines(&[
            "iptables -A INPUT -p tcp -m tcp --dport 22",
            "iptables -A INPUT -p tcp --sport 80 --dport 22",
            "iptables -A INPUT -p tcp ! --sport 80 ! --dport 22",
            "iptables -A INPUT -p tcp ! --dport :100",
            "iptables -A INPUT -p tcp ! --dport 100:",
            "iptables -A INPUT -p tcp --dport 0:0",
            "iptables -A INPUT -p tcp --sport 1024: --dport 1:1023",
            "iptables -A INPUT -p tcp --dport 22 --syn",
            "iptables -A INPUT -p tcp ! --syn",
            "iptables -A INPUT -p tcp -m tcp",
            "iptables -A INPUT -p udp -m udp",
            "iptables -A INPUT -p udp --dport 0:65535",
            "iptables -A INPUT -p tcp --tcp-flags SYN,RST SYN",
            "iptables -A INPUT -p tcp --tcp-flags ALL NONE",
            "iptables -A INPUT -p tcp --tcp-flags ALL ALL",
            "iptables -A INPUT -p tcp ! --tcp-flags SYN NONE",
            "iptables -A INPUT -p tcp --tcp-flags SYN SYN",
            "iptables -A INPUT -p tcp ! --tcp-flags SYN SYN",
            "iptables -A INPUT -p tcp --tcp-flags SYN,ACK NONE --sport 5 --dport 6",
            "iptables -A INPUT -p tcp --tcp-option 2",
            "iptables -A INPUT -p tcp ! --tcp-option 2",
            "iptables -A INPUT -p tcp --sport 5 --dport 6 --tcp-flags SYN,ACK SYN --tcp-option 3",
            "iptables -A INPUT -p tcp -m comment --comment c --dport 5",
            "iptables -A INPUT -p tcp -m limit --limit 1/s --dport 22",
            "iptables -A INPUT -p tcp -m conntrack --ctstate NEW --dport 22",
            "iptables -A INPUT -p tcp -m mark --mark 5 -m tcp --dport 5",
            "iptables -A INPUT -p udp -m udp --sport 5 --dport 6 -m comment --comment x",
            "iptables -A INPUT -s 1.2.3.4 -p tcp -i lo --dport 7",
        ]),
    );
}

#[test]
fn kd_nft_xt_conntrack_addrtype_marks() {
    compare(
        "ctmark",
        &lines(&[
            "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "iptables -A FORWARD -m conntrack ! --ctstate NEW,UNTRACKED -j DROP",
            "iptables -A FORWARD -m conntrack --ctstate SNAT,DNAT",
            "iptables -A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A FORWARD -m state ! --state INVALID",
            "iptables -A FORWARD -m conntrack --ctorigsrc 10.0.0.0/8 ! --ctorigdst 1.2.3.4",
            "iptables -A FORWARD -m conntrack --ctproto tcp --ctorigdstport 80 --ctorigsrcport 1000:2000",
            "iptables -A FORWARD -m conntrack --ctdir REPLY --ctproto udp --ctexpire 5",
            "iptables -A FORWARD -m conntrack ! --ctstatus ASSURED",
            "iptables -A FORWARD -m conntrack --ctstatus EXPECTED",
            "iptables -A FORWARD -m conntrack --ctstatus ASSURED,SEEN_REPLY --ctexpire 10:20",
            "iptables -A FORWARD -m conntrack --ctreplsrc 1.1.1.1 --ctrepldst 2.2.2.0/24 --ctrepldstport 6:7",
            "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED --ctdir ORIGINAL",
            "iptables -A FORWARD -m addrtype --src-type LOCAL",
            "iptables -A FORWARD -m addrtype ! --dst-type LOCAL",
            "iptables -A FORWARD -m addrtype --dst-type LOCAL,BROADCAST --limit-iface-in",
            "iptables -A FORWARD -m addrtype ! --src-type LOCAL,UNICAST",
            "iptables -A FORWARD -m addrtype --src-type LOCAL --dst-type UNICAST",
            "iptables -A FORWARD -m addrtype --dst-type UNSPEC,BLACKHOLE,UNREACHABLE,PROHIBIT,ANYCAST,NAT",
            "iptables -A OUTPUT -m addrtype --dst-type LOCAL --limit-iface-out",
            "iptables -A FORWARD -m mark --mark 0x1",
            "iptables -A FORWARD -m mark ! --mark 0x1/0xff",
            "iptables -A FORWARD -m mark --mark 0x10/0x10",
            "iptables -A FORWARD -m connmark --mark 0x2",
            "iptables -A FORWARD -m connmark ! --mark 0x2/0xf0",
            "iptables -A FORWARD -m connmark --mark 0x2/0xf0",
        ]),
    );
}

#[test]
fn kd_nft_xt_other_matches() {
    compare(
        "matches",
        &lines(&[
            "iptables -A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
            "iptables -A INPUT -p icmp ! --icmp-type 3/4 -j ACCEPT",
            "iptables -A INPUT -p icmp --icmp-type any -j ACCEPT",
            "iptables -A INPUT -p icmp --icmp-type 3",
            "iptables -A INPUT -p icmp --icmp-type 42",
            "iptables -A INPUT -p icmp ! --icmp-type time-exceeded",
            "iptables -A INPUT -p icmp -m comment --comment x --icmp-type 8",
            "iptables -A INPUT -m comment --comment \"hello world\" -j ACCEPT",
            "iptables -A INPUT -m comment --comment a -m comment --comment b",
            "iptables -A INPUT -p tcp -m multiport --dports 80,443,8000:8080",
            "iptables -A INPUT -p udp -m multiport ! --sports 53,67",
            "iptables -A INPUT -p udp -m multiport --dports 53",
            "iptables -A INPUT -p tcp -m multiport ! --dports 1000:2000",
            "iptables -A INPUT -p tcp -m multiport --ports 22",
            "iptables -A INPUT -p tcp -m multiport ! --ports 1:2,3",
            "iptables -A INPUT -m limit --limit 5/min --limit-burst 10 -j LOG",
            "iptables -A INPUT -m limit",
            "iptables -A INPUT -m limit --limit 60/min --limit-burst 5",
            "iptables -A INPUT -m limit --limit 24/day --limit-burst 1",
            "iptables -A INPUT -m limit --limit 7/s",
            "iptables -A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 1.1.1.1-1.1.1.1",
            "iptables -A INPUT -m statistic --mode random --probability 0.5",
            "iptables -A INPUT -m statistic --mode nth --every 3 --packet 1",
            "iptables -A INPUT -m statistic --mode nth ! --every 5 --packet 4",
            "iptables -A INPUT -m pkttype --pkt-type broadcast",
            "iptables -A INPUT -m pkttype ! --pkt-type otherhost",
            "iptables -A INPUT -m length --length 100:200",
            "iptables -A INPUT -m length ! --length 5",
            "iptables -A INPUT -m ttl --ttl-gt 5",
            "iptables -A INPUT -m ttl ! --ttl-eq 5",
            "iptables -A INPUT -m mac --mac-source 02:00:00:00:01:0a",
            "iptables -A INPUT -m tos --tos 0x10",
            "iptables -A INPUT -m dscp ! --dscp 0x2e",
            "iptables -A INPUT -p tcp -m tcpmss --mss 100:200",
            "iptables -A INPUT -m devgroup --src-group 1",
            "iptables -A INPUT -m helper ! --helper ftp",
            "iptables -A INPUT -m physdev --physdev-in veth0",
            "iptables -A INPUT -m recent --set",
            "ipset create xtnft-set hash:ip",
            "ipset create xtnft-net hash:net",
            "iptables -A INPUT -m set --match-set xtnft-set src -j DROP",
            "iptables -A INPUT -m set ! --match-set xtnft-net src,dst",
            "iptables -A INPUT -m set --match-set xtnft-net dst --return-nomatch ! --update-counters",
            "iptables -A INPUT -m connlimit --connlimit-above 10",
            "iptables -A INPUT -m policy --dir in --pol none",
            "iptables -A INPUT -m policy --dir in --pol ipsec",
            "iptables -A INPUT -p sctp -m sctp --sport 5 ! --dport 6:7",
            "iptables -A OUTPUT -m owner --uid-owner 5-10",
            "iptables -A OUTPUT -m owner ! --gid-owner 5",
            "iptables -A OUTPUT -m owner --socket-exists",
            "iptables -A OUTPUT -m owner --uid-owner 0 --gid-owner 0",
            "iptables -A INPUT -m policy --dir in --pol ipsec --proto esp",
            "iptables -A INPUT -p sctp -m sctp --dport 5 --chunk-types any INIT",
            "iptables -A INPUT -m string --string foo --algo kmp",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/sec --hashlimit-name foo",
            "iptables -A INPUT -m hashlimit --hashlimit-above 5/sec --hashlimit-mode srcip --hashlimit-name x",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-mode srcip,dstport --hashlimit-name y",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-burst 10 --hashlimit-mode dstip --hashlimit-name z",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/min --hashlimit-mode srcip --hashlimit-srcmask 24 --hashlimit-name w",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 5/hour --hashlimit-mode srcip --hashlimit-htable-expire 1000 --hashlimit-name v",
            "iptables -A INPUT -p tcp -m hashlimit --hashlimit-upto 1/s --hashlimit-mode srcport,dstip --hashlimit-name t",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 7/s --hashlimit-mode srcip,dstip --hashlimit-dstmask 16 --hashlimit-name s",
            "iptables -A INPUT -m hashlimit --hashlimit-upto 50/hour --hashlimit-mode dstip --hashlimit-htable-expire 90000 --hashlimit-name r",
            "iptables -A INPUT -m socket --transparent",
            "iptables -A INPUT -m time --timestart 09:00 --timestop 17:00 --weekdays Mon",
            "iptables -A INPUT -m time --datestart 2020-01-01 --datestop 2021-01-01",
            "iptables -A INPUT -m time --monthdays 1,2",
            "iptables -A INPUT -m time ! --weekdays Sat,Sun",
            "iptables -A INPUT -m time --timestart 22:00 --timestop 02:00 --contiguous",
            "iptables -A INPUT -m time --kerneltz --timestart 09:00",
            "iptables -A INPUT -m time --datestart 2020-01-01T10:00:00 --weekdays Sun,Sat",
        ]),
    );
}

#[test]
fn kd_nft_xt_targets() {
    compare(
        "targets",
        &lines(&[
            "iptables -A INPUT -j REJECT",
            "iptables -A INPUT -p tcp -j REJECT --reject-with tcp-reset",
            "iptables -A INPUT -j REJECT --reject-with icmp-host-prohibited",
            "iptables -A INPUT -j REJECT --reject-with icmp-net-unreachable",
            "iptables -A INPUT -j REJECT --reject-with icmp-admin-prohibited",
            "iptables -A INPUT -j REJECT --reject-with icmp-proto-unreachable",
            "iptables -A INPUT -j LOG",
            "iptables -A INPUT -j LOG --log-prefix \"foo: \" --log-level 4",
            "iptables -A INPUT -j LOG --log-prefix ab: --log-level debug --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid",
            "iptables -A INPUT -j LOG --log-macdecode --log-level 0",
            "iptables -A INPUT -j LOG --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode",
            "iptables -A INPUT -j LOG --log-tcp-options --log-level 6",
            "iptables -A INPUT -j NFLOG",
            "iptables -A INPUT -j NFLOG --nflog-group 2 --nflog-prefix \"a b\" --nflog-size 100 --nflog-threshold 3",
            "iptables -A INPUT -j NFQUEUE --queue-num 3",
            "iptables -A INPUT -j NFQUEUE --queue-balance 1:3 --queue-bypass --queue-cpu-fanout",
            "iptables -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
            "iptables -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400",
            "iptables -N GO",
            "iptables -A FORWARD -g GO",
            "iptables -A FORWARD -j GO",
        ]),
    );
}

#[test]
fn kd_nft_xt_nat_mangle_raw() {
    compare(
        "nat",
        &lines(&[
            "iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
            "iptables -t nat -A POSTROUTING -j MASQUERADE --random",
            "iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000",
            "iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000 --random-fully",
            "iptables -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4",
            "iptables -t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:1000-2000 --persistent",
            "iptables -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.10 --random",
            "iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
            "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 172.17.0.2",
            "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 172.17.0.2-172.17.0.5:80-90",
            "iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 3128",
            "iptables -t nat -A PREROUTING -p tcp -j REDIRECT",
            "iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 1000-2000 --random",
            "iptables -t nat -A INPUT -j ACCEPT",
            "iptables -t nat -A OUTPUT -j RETURN",
            "iptables -t mangle -A PREROUTING -j MARK --set-mark 0x1",
            "iptables -t mangle -A PREROUTING -j MARK --set-xmark 0x1/0xff",
            "iptables -t mangle -A PREROUTING -j MARK --and-mark 0xf0",
            "iptables -t mangle -A PREROUTING -j MARK --or-mark 0x4",
            "iptables -t mangle -A PREROUTING -j MARK --xor-mark 0x4",
            "iptables -t mangle -A PREROUTING -j MARK --set-mark 0",
            "iptables -t mangle -A INPUT -j CONNMARK --save-mark",
            "iptables -t mangle -A INPUT -j CONNMARK --restore-mark",
            "iptables -t mangle -A INPUT -j CONNMARK --set-mark 0x5",
            "iptables -t mangle -A INPUT -j CONNMARK --set-xmark 0x5/0xf",
            "iptables -t mangle -A INPUT -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf0",
            "iptables -t mangle -A INPUT -j CONNMARK --restore-mark --mask 0xff",
            "iptables -t mangle -A INPUT -j CONNMARK --save-mark --mask 0xff",
            "iptables -t mangle -A INPUT -j CONNMARK --and-mark 0xff",
            "iptables -t mangle -A INPUT -j CONNMARK --or-mark 0x1",
            "iptables -t mangle -A INPUT -j CONNMARK --set-xmark 0x5/0",
            "iptables -t mangle -A FORWARD -j TTL --ttl-set 64",
            "iptables -t mangle -A FORWARD -j DSCP --set-dscp 10",
            "iptables -t mangle -A POSTROUTING -p udp -j CHECKSUM --checksum-fill",
            "iptables -t mangle -A OUTPUT -j ACCEPT",
            "iptables -t raw -A PREROUTING -j CT --notrack",
            "iptables -t raw -A PREROUTING -j NOTRACK",
            "iptables -t raw -A OUTPUT -j CT --zone 1",
            "iptables -t raw -A PREROUTING -m rpfilter",
            "iptables -t raw -A PREROUTING -m rpfilter --invert --loose",
            "iptables -t raw -A PREROUTING -m rpfilter --validmark",
            "iptables -t raw -A PREROUTING -m rpfilter --accept-local --loose",
            "iptables -t mangle -A FORWARD -j TOS --set-tos 0x10",
            "iptables -t mangle -A FORWARD -j TOS --set-tos Minimize-Delay",
            "iptables -t mangle -A FORWARD -j TOS --and-tos 0x3",
            "iptables -t mangle -A FORWARD -j TOS --or-tos 0x3",
            "iptables -t mangle -A FORWARD -j TOS --xor-tos 0x3",
            "iptables -t mangle -A FORWARD -j TTL --ttl-inc 1",
            "iptables -t mangle -A PREROUTING -p tcp -j TPROXY --on-port 80",
            "iptables -t nat -A PREROUTING -j NETMAP --to 10.0.0.0/24",
        ]),
    );
}

/// Rarer spellings whose translations take another branch.
#[test]
fn kd_nft_xt_rarer_branches() {
    compare(
        "edges",
        &lines(&[
            "iptables -t mangle -A FORWARD -j CONNMARK --save-mark --mask 0xff --shift-right 8",
            "iptables -t mangle -A FORWARD -j CONNMARK --set-xmark 0x1/0xff --left-shift-mark 4",
            "iptables -t mangle -A FORWARD -j TOS --set-tos 0x10/0x30",
            "iptables -t mangle -A FORWARD -j DSCP --set-dscp-class EF",
            "iptables -t mangle -A FORWARD -m dscp --dscp-class AF41",
            "iptables -t mangle -A FORWARD -p sctp -m multiport --dports 5,6",
            "iptables -t mangle -A FORWARD -p udplite -m multiport --sports 5:9",
            "iptables -t mangle -A FORWARD -m addrtype --src-type LOCAL --limit-iface-in",
            "iptables -t mangle -A FORWARD -m devgroup --src-group 1 --dst-group 2/3",
            "iptables -t mangle -A FORWARD -m devgroup ! --dst-group 2",
            "iptables -t mangle -A FORWARD -p icmp ! --icmp-type any",
            "iptables -t mangle -A FORWARD -m conntrack --ctstate INVALID --ctstatus CONFIRMED",
            "iptables -t mangle -A FORWARD -m conntrack --ctorigsrcport 5 --ctorigdstport 6 --ctproto 17 --ctdir REPLY",
            "iptables -t mangle -A FORWARD -m conntrack ! --ctstate SNAT --ctstatus ASSURED",
            "iptables -t mangle -A FORWARD -m length --length :100",
            "iptables -t mangle -A FORWARD -m length --length 100:",
            "iptables -t mangle -A FORWARD -p tcp -m tcpmss ! --mss 5:9",
            "iptables -t mangle -A FORWARD -m pkttype --pkt-type multicast",
            "iptables -t mangle -A FORWARD -m helper --helper \"\"",
            "iptables -t mangle -A FORWARD -m time --timestop 05:00 --datestop 2030-01-01",
            "iptables -t mangle -A FORWARD -m time --weekdays Sun",
            "iptables -t mangle -A FORWARD -m hashlimit --hashlimit-above 10/day --hashlimit-mode dstip,dstport --hashlimit-dstmask 8 --hashlimit-name q",
            "iptables -t mangle -A FORWARD -p tcp --sport 0 --dport 65535",
            "iptables -t mangle -A FORWARD -p tcp ! --sport 0:0 --dport 1:65535",
            "iptables -t mangle -A FORWARD -j MARK --set-xmark 0x0/0x0",
            "iptables -t mangle -A FORWARD -j CONNMARK --set-xmark 0x0/0x0",
            "iptables -t mangle -A FORWARD -j LOG --log-level 7 --log-prefix \"with space\"",
            "iptables -t mangle -A FORWARD -j NFLOG --nflog-threshold 1",
            "iptables -t mangle -A FORWARD -j NFQUEUE --queue-bypass",
            "iptables -t mangle -A FORWARD -j CT --notrack",
        ]),
    );
}

/// Lab 07's `dockerhost` (scenarios/07-publish-ports.yaml): engine 29 as the lab runs it,
/// `web` publishing 8080:80, `admin` 127.0.0.1:9090:80 (raw-table rules), `client` nothing.
#[test]
fn kd_nft_xt_docker29_lab07_host() {
    let ip = |s: &str| s.parse::<Ipv4Address>().unwrap();
    let publish = |host_ip: Option<&str>, host_port, ctr_port| PortMap {
        host_ip: host_ip.map(|s| ip(s).into()),
        host_port,
        ctr_port,
        proto: Proto::Tcp,
    };
    let ctr = |name: &str, n: u8, publish: Vec<PortMap>| Container {
        name: name.to_string(),
        id: format!("{name:0>64}"),
        endpoints: vec![Endpoint {
            network: 0,
            ip: Ipv4Address::new(172, 17, 0, n),
            ip6: None,
            mac: EthernetAddress([0x02, 0x42, 0xac, 0x11, 0, n]),
        }],
        publish,
    };
    let containers = vec![
        ctr("web", 2, vec![publish(None, 8080, 80)]),
        ctr("admin", 3, vec![publish(Some("127.0.0.1"), 9090, 80)]),
        ctr("client", 4, vec![]),
    ];
    let networks = vec![Network::default_bridge(format!("{:0>64}", "d0"))];
    // The IPv4 commands: the daemon also makes its chains in ip6tables, which this
    // comparison's single iptables-nft table set does not hold.
    let mut commands =
        hoplab::docker::iptables_commands(&Daemon::default(), &networks, &containers);
    commands.retain(|c| c[0] == "iptables");
    assert!(
        commands.iter().any(|c| c.join(" ").contains("-t raw")),
        "engine 29 guards the host-only port in raw: {commands:?}"
    );
    compare("docker29-lab07", &commands);
}
