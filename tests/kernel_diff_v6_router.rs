//! IPv6 through a router against the kernel: hosts `a` (2001:db8:1::10) and `b`
//! (2001:db8:2::20, on a link of MTU 1400) on either side of router `r`, each in a
//! namespace of its own, and the same three nodes in hoplab. `a`'s gateway is the router's
//! global address, `b`'s its link-local one. What the hosts' programs print (times aside),
//! their exit codes, and the router's listings must read the same. Needs root and network
//! namespaces (see `tests/kernel/mod.rs`).
//!
//! The `kd_v6_ip6tables_*` cases give the router ip6tables rules (iptables 1.8.9, the
//! machine's): verdicts, REJECT's answers, NAT66, listings with their counters, and the
//! refusals of rules ip6tables does not take.
//!
//! Duplicate address detection is off in the namespaces (`accept_dad=0`): hoplab's
//! addresses are usable at once.

mod common;
mod kernel;

use kernel::netns::Netns;
use kernel::privileged;

/// The three namespaces, wired and addressed as the lab is.
struct Bed {
    a: Netns,
    r: Netns,
    b: Netns,
}

fn must(ns: &Netns, cmd: &str) {
    let argv: Vec<&str> = cmd.split_whitespace().collect();
    let (ok, _, err) = ns.exec(&argv);
    assert!(ok, "{cmd} in {}: {err}", ns.0);
}

fn sh(args: &[&str]) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
}

impl Bed {
    fn new(tag: &str) -> Bed {
        let bed = Bed {
            a: Netns::new(&format!("h6a{tag}")),
            r: Netns::new(&format!("h6r{tag}")),
            b: Netns::new(&format!("h6b{tag}")),
        };
        for ns in [&bed.a, &bed.r, &bed.b] {
            must(
                ns,
                "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0",
            );
            must(ns, "ip link set lo up");
        }
        let (a, r, b) = (&bed.a.0, &bed.r.0, &bed.b.0);
        sh(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            a,
            "address",
            "02:42:ac:11:00:02",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            r,
            "address",
            "02:42:ac:11:00:01",
        ]);
        sh(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            b,
            "address",
            "02:42:ac:12:00:02",
            "mtu",
            "1400",
            "type",
            "veth",
            "peer",
            "name",
            "eth1",
            "netns",
            r,
            "address",
            "02:42:ac:12:00:01",
            "mtu",
            "1400",
        ]);
        must(&bed.a, "ip -6 addr add 2001:db8:1::10/64 dev eth0");
        must(&bed.r, "ip -6 addr add 2001:db8:1::1/64 dev eth0");
        must(&bed.r, "ip -6 addr add 2001:db8:2::1/64 dev eth1");
        must(&bed.b, "ip -6 addr add 2001:db8:2::20/64 dev eth0");
        must(&bed.a, "ip link set eth0 up");
        must(&bed.b, "ip link set eth0 up");
        must(&bed.r, "ip link set eth0 up");
        must(&bed.r, "ip link set eth1 up");
        must(&bed.r, "sysctl -qw net.ipv6.conf.all.forwarding=1");
        // The link-local addresses (and with them the routes to a link-local gateway)
        // come with the carrier.
        for _ in 0..50 {
            let up = [(&bed.a, 1), (&bed.r, 2), (&bed.b, 1)]
                .iter()
                .all(|(ns, n)| {
                    let out = ns.exec(&["ip", "-6", "addr"]).1;
                    out.matches("scope link").count() >= *n
                        && !out.contains("tentative")
                        && !out.contains("NO-CARRIER")
                });
            if up {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        must(&bed.a, "ip -6 route add default via 2001:db8:1::1");
        must(
            &bed.b,
            "ip -6 route add default via fe80::42:acff:fe12:1 dev eth0",
        );
        must(&bed.r, "ip -6 route add 2001:db8:9::/48 via 2001:db8:2::99");
        bed
    }

    fn ns(&self, node: &str) -> &Netns {
        match node {
            "a" => &self.a,
            "r" => &self.r,
            _ => &self.b,
        }
    }
}

const LAB: &str = r#"version: 1
name: kd-v6-router
hosts:
  - name: a
    interfaces:
      eth0: {ipv6: "2001:db8:1::10/64", mac: "02:42:ac:11:00:02"}
    gateway6: "2001:db8:1::1"
  - name: b
    interfaces:
      eth0: {ipv6: "2001:db8:2::20/64", mac: "02:42:ac:12:00:02", mtu: 1400}
    gateway6: "fe80::42:acff:fe12:1"
routers:
  - name: r
    iptables_version: '1.8.9'
    interfaces:
      eth0: {ipv6: "2001:db8:1::1/64", mac: "02:42:ac:11:00:01"}
      eth1: {ipv6: "2001:db8:2::1/64", mac: "02:42:ac:12:00:01", mtu: 1400}
    routes:
      - 2001:db8:9::/48 via 2001:db8:2::99
links:
  - [a:eth0, r:eth0]
  - [b:eth0, r:eth1]
steps:
"#;

/// One command: on a node, a program run or a listing shown.
struct Cmd {
    on: &'static str,
    text: &'static str,
    show: bool,
}

fn run(on: &'static str, text: &'static str) -> Cmd {
    Cmd {
        on,
        text,
        show: false,
    }
}

fn show(on: &'static str, text: &'static str) -> Cmd {
    Cmd {
        on,
        text,
        show: true,
    }
}

/// Each command's output (stdout then stderr) and exit code, in hoplab.
fn hoplab(cmds: &[Cmd]) -> Vec<(String, i64)> {
    let mut lab = LAB.to_string();
    for c in cmds {
        let key = if c.show { "show" } else { "run" };
        lab += &format!("  - on: {}\n    {key}: '{}'\n", c.on, c.text);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kd-v6-router.yaml");
    std::fs::write(&file, lab).unwrap();
    let out = common::run(&["run", file.to_str().unwrap(), "--json", "--capture", "none"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(&out.stderr)));
    (0..cmds.len())
        .map(|i| {
            let s = &v["steps"][i];
            match s["result"]["output"].as_str() {
                Some(o) => (o.to_string(), s["result"]["exit_code"].as_i64().unwrap()),
                None => (s["listing"].as_str().unwrap_or_default().to_string(), 0),
            }
        })
        .collect()
}

/// The same commands in the kernel's namespaces.
fn kernel(case: &str, cmds: &[Cmd]) -> Vec<(String, i64)> {
    let bed = Bed::new(case);
    cmds.iter()
        .map(|c| {
            let argv: Vec<&str> = c.text.split_whitespace().collect();
            let (code, out, err) = bed.ns(c.on).run(&argv, "");
            (out + &err, i64::from(code))
        })
        .collect()
}

/// Times out of ping's and traceroute's lines; interface numbers out of listings; the
/// `fe80::/64` routes (whose order in the kernel follows the order the links got their
/// carrier) sorted.
fn normal(text: &str) -> String {
    let mut fe80: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        if l.starts_with("rtt min/avg/max/mdev") {
            lines.push("rtt".into());
            continue;
        }
        let mut l = match l.split_once(" time=") {
            Some((head, _)) => format!("{head} time=T"),
            None => l.to_string(),
        };
        if let Some((head, _)) = l.rsplit_once(", time ") {
            l = format!("{head}, time T");
        }
        // traceroute: `  0.053 ms` after each address.
        let words: Vec<&str> = l.split(' ').collect();
        let mut kept: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            if i + 1 < words.len()
                && words[i + 1] == "ms"
                && words[i].contains('.')
                && words[i].parse::<f64>().is_ok()
            {
                kept.push("T");
                i += 2;
                continue;
            }
            kept.push(words[i]);
            i += 1;
        }
        let l = kept.join(" ");
        let l = match l.split_once(": ") {
            Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => format!("N: {rest}"),
            _ => l,
        };
        let l = match l.split_once("@if") {
            Some((head, rest)) => {
                let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("{head}@ifN{tail}")
            }
            None => l,
        };
        if l.starts_with("fe80::/64 ") {
            fe80.push(l);
        } else {
            lines.push(l);
        }
    }
    fe80.sort();
    lines.extend(fe80);
    lines.join("\n")
}

/// Runs `cmds` in both and compares each command's output and exit code.
fn same(case: &str, cmds: &[Cmd]) -> Vec<(String, i64)> {
    let k = kernel(case, cmds);
    let h = hoplab(cmds);
    for (c, (k, h)) in cmds.iter().zip(k.iter().zip(&h)) {
        assert_eq!(
            normal(&h.0),
            normal(&k.0),
            "{} on {}: hoplab's output, then the kernel's",
            c.text,
            c.on
        );
        assert_eq!(h.1, k.1, "{} on {}: exit codes", c.text, c.on);
    }
    k
}

macro_rules! case {
    ($name:ident, $tag:expr, $cmds:expr) => {
        #[test]
        fn $name() {
            if !privileged(stringify!($name)) {
                return;
            }
            same($tag, &$cmds);
        }
    };
}

case!(
    kd_v6_router_addr_and_route_listings,
    "lst",
    [show("r", "ip -6 addr"), show("r", "ip -6 route")]
);

case!(
    kd_v6_ping_through_a_router,
    "png",
    [
        run("a", "ping -6 -c 2 2001:db8:2::20"),
        run("b", "ping -6 -c 1 2001:db8:1::10")
    ]
);

case!(
    kd_v6_traceroute_through_a_router,
    "trc",
    [run("a", "traceroute -6 -n 2001:db8:2::20")]
);

case!(
    kd_v6_hop_limit_exceeded,
    "hop",
    [run("a", "ping -6 -c 1 -t 1 2001:db8:2::20")]
);

case!(
    kd_v6_no_route_to_destination,
    "nrt",
    [run("a", "ping -6 -c 1 2001:db8:7::1")]
);

case!(
    kd_v6_packet_too_big,
    "ptb",
    [
        run("a", "ping -6 -c 1 -s 1400 2001:db8:2::20"),
        run("a", "ping -6 -c 1 -s 1352 2001:db8:2::20")
    ]
);

case!(
    kd_v6_neighbour_never_answers,
    "una",
    [run("a", "ping -6 -c 1 -W 5 2001:db8:2::77")]
);

case!(
    kd_v6_router_answers_its_own_addresses,
    "own",
    [
        run("a", "ping -6 -c 1 2001:db8:2::1"),
        run("a", "traceroute -6 -n 2001:db8:1::1"),
        run("a", "curl -s -m 2 http://[2001:db8:1::1]/")
    ]
);

case!(
    kd_v6_forwarding_off,
    "off",
    [
        run("r", "sysctl -w net.ipv6.conf.all.forwarding=0"),
        run("a", "ping -6 -c 1 -W 1 2001:db8:2::20"),
        show("r", "sysctl net.ipv6.conf.all.forwarding")
    ]
);

case!(
    kd_v6_router_route_commands,
    "rtc",
    [
        run(
            "r",
            "ip -6 route add 2001:db8:4::/64 via 2001:db8:1::2 dev eth0 metric 5"
        ),
        run("r", "ip -6 route add 2001:db8::/32 via 2001:db8:1::3"),
        run("r", "ip -6 route add default via 2001:db8:1::9"),
        run("r", "ip -6 route add 2001:db8:5::/64 via 2001:db8:6::1"),
        run(
            "r",
            "ip -6 route add 2001:db8:4::/64 via 2001:db8:1::2 metric 5"
        ),
        run("r", "ip -6 route add 2001:db8:8::/64 via fe80::1"),
        run("r", "ip -6 route del 2001:db8:7::/64"),
        show("r", "ip -6 route")
    ]
);

case!(
    kd_v6_router_own_programs,
    "prg",
    [
        run("r", "ping -6 -c 2 2001:db8:2::20"),
        run("r", "ping -6 -c 1 fe80::42:acff:fe11:2%eth0"),
        run("r", "ping -6 -c 1 2001:db8:1::1"),
        run("r", "ping -6 -c 1 2001:db8:7::1"),
        run("r", "traceroute -6 -n 2001:db8:1::10")
    ]
);

// b learns the router's link-local address from the solicitation for a forwarded
// packet; the router's own ping then reaches b from an address b must solicit before it
// can answer (Linux queues the reply meanwhile).
case!(
    kd_v6_host_answers_a_sender_it_must_solicit,
    "sol",
    [
        run("a", "ping -6 -c 1 2001:db8:2::20"),
        run("r", "ping -6 -c 1 2001:db8:2::20")
    ]
);

// The first packet a gets comes from off its link: its answer goes to its gateway,
// 2001:db8:1::1, which a must solicit first (the router solicited a from its link-local
// address).
case!(
    kd_v6_answer_waits_for_the_gateway,
    "gwy",
    [run("b", "ping -6 -c 1 2001:db8:1::10")]
);

case!(
    kd_v6_router_neigh_commands,
    "nbc",
    [
        run(
            "r",
            "ip -6 neigh add 2001:db8:2::5 lladdr 02:00:00:00:00:05 dev eth1"
        ),
        run(
            "r",
            "ip -6 neigh add 2001:db8:2::5 lladdr 02:00:00:00:00:05 dev eth1"
        ),
        run(
            "r",
            "ip -6 neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev eth1"
        ),
        run("r", "ip -6 neigh add 2001:db8:2::8 dev eth1"),
        run("r", "ip -6 neigh del 2001:db8:2::7 dev eth1"),
        run(
            "r",
            "ip -6 neigh replace 2001:db8:2::5 lladdr 02:00:00:00:00:55 dev eth1"
        ),
        run("r", "ip -6 neigh del 2001:db8:2::5 dev eth1")
    ]
);

case!(
    kd_v6_router_addr_commands,
    "adr",
    [
        run("r", "ip -6 addr add 2001:db8:2::1/64 dev eth1"),
        run("r", "ip -6 addr add 2001:db8:2::7 dev eth1"),
        run("r", "ip addr add 2001:db8:5::2/64 dev eth1"),
        run("r", "ip -6 addr del 2001:db8:9::1/64 dev eth1"),
        run("r", "ip -6 addr add 2001:db8:5::3/64 dev eth9"),
        show("r", "ip -6 addr"),
        show("r", "ip -6 route"),
        run("r", "ip -6 addr del 2001:db8:2::1/64 dev eth1"),
        show("r", "ip -6 route"),
        run("r", "ip -6 addr flush dev eth1"),
        show("r", "ip -6 addr"),
        show("r", "ip -6 route")
    ]
);

/// The router's neighbours after traffic both ways: each global neighbour with its
/// address, and the one that never answered FAILED. (The kernel's hosts also send router
/// solicitations at link up, which leave their link-local addresses STALE in its table;
/// hoplab's hosts send none. Its states between REACHABLE and STALE follow timers the
/// two runs do not share.)
#[test]
fn kd_v6_router_neighbours() {
    if !privileged("kd_v6_router_neighbours") {
        return;
    }
    let cmds = [
        run("a", "ping -6 -c 1 2001:db8:2::20"),
        run("a", "ping -6 -c 1 -W 4 2001:db8:2::77"),
        show("r", "ip -6 neigh"),
    ];
    let entries = |text: &str| {
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("2001:"))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.last() {
                    Some(&"FAILED") => l.trim_end().to_string(),
                    _ => w[..w.len() - 1].join(" "),
                }
            })
            .collect();
        v.sort();
        v
    };
    let k = kernel("ngh", &cmds);
    let h = hoplab(&cmds);
    assert_eq!(entries(&h[2].0), entries(&k[2].0));
    assert_eq!(
        entries(&h[2].0),
        [
            "2001:db8:1::10 dev eth0 lladdr 02:42:ac:11:00:02",
            "2001:db8:2::20 dev eth1 lladdr 02:42:ac:12:00:02",
            "2001:db8:2::77 dev eth1 FAILED",
        ]
    );
}

// A filtering router: new flows in FORWARD only for echo requests, TCP from a refused by a
// reset and UDP by ICMPv6 administratively prohibited (which traceroute's probes meet
// beyond the router).
case!(
    kd_v6_ip6tables_filter_verdicts,
    "ipf",
    [
        run("r", "ip6tables -P FORWARD DROP"),
        run(
            "r",
            "ip6tables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ),
        run(
            "r",
            "ip6tables -A FORWARD -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT"
        ),
        run(
            "r",
            "ip6tables -A FORWARD -s 2001:db8:1::/64 -p tcp -j REJECT --reject-with tcp-reset"
        ),
        run(
            "r",
            "ip6tables -A FORWARD -p udp -j REJECT --reject-with icmp6-adm-prohibited"
        ),
        run("a", "ping -6 -c 2 2001:db8:2::20"),
        run("a", "curl -s http://[2001:db8:2::20]:81/"),
        run("a", "traceroute -6 -n 2001:db8:2::20"),
        run("b", "ping -6 -c 1 2001:db8:1::10"),
        show("r", "ip6tables -S"),
        show("r", "ip6tables -L FORWARD"),
        show("r", "iptables -nvL FORWARD"),
    ]
);

// Echo requests from b's side refused (ICMPv6 administratively prohibited, which ping
// reports), a's let through with their replies: the rules' packet and byte counters.
case!(
    kd_v6_ip6tables_counters,
    "ipc",
    [
        run("r", "ip6tables -P FORWARD DROP"),
        run(
            "r",
            "ip6tables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ),
        run(
            "r",
            "ip6tables -A FORWARD -s 2001:db8:2::/64 -p ipv6-icmp --icmpv6-type echo-request -j REJECT --reject-with icmp6-adm-prohibited"
        ),
        run(
            "r",
            "ip6tables -A FORWARD -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT"
        ),
        run("a", "ping -6 -c 2 2001:db8:2::20"),
        run("b", "ping -6 -c 1 2001:db8:1::10"),
        run("a", "ping -6 -c 1 -s 1000 2001:db8:2::20"),
        show("r", "ip6tables -nvL FORWARD"),
        show("r", "ip6tables -vL FORWARD"),
    ]
);

/// ip6tables' refusals, word for word with their exit codes, and what it takes as it
/// lists it (the kernel's ip6tables against hoplab's rule engine).
#[test]
fn kd_v6_ip6tables_refuses_what_ip6tables_refuses() {
    if !privileged("kd_v6_ip6tables_refuses_what_ip6tables_refuses") {
        return;
    }
    let cmds = [
        "ip6tables -A FORWARD -s 10.0.0.1 -j ACCEPT",
        "ip6tables -A FORWARD -p icmp --icmp-type echo-request -j ACCEPT",
        "ip6tables -A FORWARD -f -j DROP",
        "ip6tables -A FORWARD -j REJECT --reject-with icmp-host-unreachable",
        "ip6tables -A FORWARD -p ipv6-icmp --icmpv6-type bogus -j ACCEPT",
        "ip6tables -A FORWARD -m ttl --ttl-eq 3 -j DROP",
        "ip6tables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1",
        "ip6tables -A FORWARD -p icmp -j ACCEPT",
        "ip6tables -A FORWARD -p icmpv6 --icmpv6-type 1/3 -j ACCEPT",
        "ip6tables -A FORWARD -p ipv6-icmp ! --icmpv6-type pong -j DROP",
        "ip6tables -A FORWARD -j REJECT --reject-with no-route",
        "ip6tables -A FORWARD -p tcp -j REJECT",
        "ip6tables -A FORWARD -s 2001:db8::/ffff:ffff:: -d ::1 -j ACCEPT",
        "ip6tables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 2001:db8::1:80",
        "ip6tables -t nat -A PREROUTING -p tcp --dport 81 -j DNAT --to-destination [2001:db8::1]:80-90",
        "ip6tables -t nat -A POSTROUTING -o eth1 -j MASQUERADE --to-ports 1024-2048",
        "ip6tables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 2001:db8::1",
        "ip6tables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 2001:db8::1-2001:db8::9",
        "ip6tables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source [2001:db8::1]:80",
        "ip6tables -t nat -A POSTROUTING -o eth1 -p udp -j SNAT --to-source [2001:db8::1]:80",
        "ip6tables -S FORWARD",
        "ip6tables -L FORWARD",
        "ip6tables -nvL FORWARD",
        "ip6tables -t nat -S",
        "ip6tables -t nat -L",
    ];
    let bed = Bed::new("ipe");
    let mut ours =
        hoplab::netfilter::rules::Tables::new_v6(hoplab::netfilter::rules::IptablesVersion::V1_8_9);
    for c in cmds {
        let argv: Vec<&str> = c.split_whitespace().collect();
        let (code, out, err) = bed.r.run(&argv, "");
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let (our_code, our_text) = match ours.apply(&args) {
            Ok(text) => (0, text),
            Err(e) => (e.exit_code(), e.to_string()),
        };
        assert_eq!(
            (our_text.trim_end(), our_code),
            ((out + &err).trim_end(), code),
            "{c}"
        );
    }
}

/// Conntrack lines with the parts that differ from run to run taken out: the seconds left
/// and an echo's identifier.
fn flows(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("conntrack v"))
        .map(|l| {
            l.split_whitespace()
                .enumerate()
                .map(|(i, w)| match (i, w) {
                    (2, _) => "T",
                    (_, w) if w.starts_with("id=") => "id=N",
                    (_, w) => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// A listing with each rule's byte counter taken out.
fn packets(text: &str) -> String {
    text.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.first().map(|p| p.parse::<u64>().is_ok()) {
                Some(true) if w.len() > 2 => format!("{} {}", w[0], w[2..].join(" ")),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// NAT66: a's echo requests leave masqueraded behind the router's address on b's link,
/// and a TCP connection to the router's port 8080 goes to b's port 80 (DNAT) where b
/// refuses it: the reset comes back un-NATed. The flows and the nat table's counters after.
#[test]
fn kd_v6_ip6tables_masquerade_and_dnat() {
    if !privileged("kd_v6_ip6tables_masquerade_and_dnat") {
        return;
    }
    let cmds = [
        run(
            "r",
            "ip6tables -t nat -A POSTROUTING -s 2001:db8:1::/64 -o eth1 -j MASQUERADE",
        ),
        run(
            "r",
            "ip6tables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination [2001:db8:2::20]:80",
        ),
        run("a", "ping -6 -c 1 2001:db8:2::20"),
        run("a", "curl -s http://[2001:db8:1::1]:8080/"),
        show("r", "conntrack -L -f ipv6 -p icmpv6"),
        show("r", "conntrack -L -f ipv6 -p tcp"),
        show("r", "ip6tables -t nat -nvL"),
        show("r", "ip6tables -t nat -S"),
    ];
    let k = kernel("ipn", &cmds);
    let h = hoplab(&cmds);
    for i in [0, 1, 2, 3, 7] {
        assert_eq!(normal(&h[i].0), normal(&k[i].0), "{}", cmds[i].text);
        assert_eq!(h[i].1, k[i].1, "{}: exit codes", cmds[i].text);
    }
    // A SYN from Linux carries timestamps, one from a hoplab host does not: the byte
    // counters of rules TCP went through differ by that, the packets do not.
    assert_eq!(packets(&h[6].0), packets(&k[6].0), "{}", cmds[6].text);
    for i in [4, 5] {
        assert_eq!(flows(&h[i].0), flows(&k[i].0), "{}", cmds[i].text);
    }
    assert_eq!(
        flows(&k[4].0),
        [
            "icmpv6 58 T src=2001:db8:1::10 dst=2001:db8:2::20 type=128 code=0 id=N \
          src=2001:db8:2::20 dst=2001:db8:2::1 type=129 code=0 id=N mark=0 use=1"
        ]
    );
}

/// nftables on IPv6: an `ip6` table's forward chain with a drop policy lets only a's
/// echo requests and their replies through (ct state), and rejects TCP with a reset; an
/// `inet` table's rule sees the same IPv6 packets and counts them; an `ip` table's chain
/// never sees one. Outputs and the listings with their counters agree.
#[test]
fn kd_v6_nft_ip6_and_inet_tables_filter_forwarded_packets() {
    if !privileged("kd_v6_nft_ip6_and_inet_tables_filter_forwarded_packets") {
        return;
    }
    let cmds = [
        run("r", "nft add table ip6 f6"),
        run(
            "r",
            "nft add chain ip6 f6 forward { type filter hook forward priority 0 ; policy drop ; }",
        ),
        run(
            "r",
            "nft add rule ip6 f6 forward ct state established,related accept",
        ),
        run(
            "r",
            "nft add rule ip6 f6 forward iifname eth0 ip6 daddr 2001:db8:2::/64 icmpv6 type echo-request accept",
        ),
        run(
            "r",
            "nft add rule ip6 f6 forward meta l4proto tcp reject with tcp reset",
        ),
        run("r", "nft add rule ip6 f6 forward ip6 nexthdr udp reject"),
        run("r", "nft add table inet any"),
        run(
            "r",
            "nft add chain inet any forward { type filter hook forward priority -10 ; }",
        ),
        run(
            "r",
            "nft add rule inet any forward meta nfproto ipv6 counter",
        ),
        run(
            "r",
            "nft add rule inet any forward ip saddr 0.0.0.0/0 counter",
        ),
        run(
            "r",
            "nft add rule inet any forward ip6 saddr 2001:db8:1::10 counter",
        ),
        run("r", "nft add table ip v4"),
        run(
            "r",
            "nft add chain ip v4 forward { type filter hook forward priority -20 ; policy drop ; }",
        ),
        run("a", "ping -6 -c 2 2001:db8:2::20"),
        run("b", "ping -6 -c 1 -W 1 2001:db8:1::10"),
        run("a", "curl -s http://[2001:db8:2::20]:80/"),
        run("a", "traceroute -6 -q 1 -m 2 -w 1 2001:db8:2::20"),
        show("r", "nft list ruleset"),
    ];
    same_counted("nf6", &cmds);
}

/// Runs `cmds` in both and compares each command's output and exit code, as [`same`]
/// does, but conntrack listings by their flows and nft listings without byte counts: a SYN
/// from Linux carries timestamps, one from a hoplab host does not, so byte counters differ
/// by that where packet counters do not. The kernel's outputs and exit codes are returned.
fn same_counted(case: &str, cmds: &[Cmd]) -> Vec<(String, i64)> {
    let (k, h) = (kernel(case, cmds), hoplab(cmds));
    for (i, c) in cmds.iter().enumerate() {
        let (kt, ht) = match c.text {
            t if t.starts_with("conntrack") => {
                (flows(&k[i].0).join("\n"), flows(&h[i].0).join("\n"))
            }
            t if t.starts_with("nft list") => (nft_packets(&k[i].0), nft_packets(&h[i].0)),
            _ => (normal(&k[i].0), normal(&h[i].0)),
        };
        assert_eq!(
            ht, kt,
            "{} on {}: hoplab's output, then the kernel's",
            c.text, c.on
        );
        assert_eq!(h[i].1, k[i].1, "{}: exit codes", c.text);
    }
    k
}

/// An nft listing with its counters' bytes taken out.
fn nft_packets(text: &str) -> String {
    text.lines()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let mut kept = Vec::new();
            let mut i = 0;
            while i < w.len() {
                if w[i] == "bytes" {
                    i += 2;
                    continue;
                }
                kept.push(w[i]);
                i += 1;
            }
            kept.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// NAT66 with nft: an `inet` table's masquerade hides a behind the router on b's link, and
/// an `ip6` table's `dnat` sends the router's port 8080 to b's port 80 (where b refuses):
/// the flows conntrack keeps, and the listings, agree.
#[test]
fn kd_v6_nft_masquerade_and_dnat() {
    if !privileged("kd_v6_nft_masquerade_and_dnat") {
        return;
    }
    let cmds = [
        run("r", "nft add table inet nat"),
        run(
            "r",
            "nft add chain inet nat post { type nat hook postrouting priority srcnat ; }",
        ),
        run(
            "r",
            "nft add rule inet nat post ip6 saddr 2001:db8:1::/64 oifname eth1 masquerade",
        ),
        run("r", "nft add table ip6 dn"),
        run(
            "r",
            "nft add chain ip6 dn pre { type nat hook prerouting priority dstnat ; }",
        ),
        run(
            "r",
            "nft add rule ip6 dn pre iifname eth0 tcp dport 8080 dnat to [2001:db8:2::20]:80",
        ),
        run("a", "ping -6 -c 1 2001:db8:2::20"),
        run("a", "curl -s http://[2001:db8:1::1]:8080/"),
        show("r", "conntrack -L -f ipv6 -p icmpv6"),
        show("r", "conntrack -L -f ipv6 -p tcp"),
        show("r", "nft list ruleset"),
    ];
    let k = same_counted("nn6", &cmds);
    assert!(
        flows(&k[8].0)[0].contains("dst=2001:db8:2::1 "),
        "{}",
        k[8].0
    );
}

/// Sets and keys of IPv6 in nft: a named interval set of `ipv6_addr` that drops a's
/// network but not an address punched out of it, `ip6 hoplimit`, `ct original ip6 saddr`,
/// `meta nfproto` and `meta l4proto` in an inet table, and `reject with icmpv6` codes, each
/// as the kernel decides and counts.
#[test]
fn kd_v6_nft_sets_and_ipv6_keys() {
    if !privileged("kd_v6_nft_sets_and_ipv6_keys") {
        return;
    }
    let cmds = [
        run("r", "nft add table inet t"),
        run(
            "r",
            "nft add set inet t bad { type ipv6_addr ; flags interval ; }",
        ),
        run(
            "r",
            "nft add element inet t bad { 2001:db8:9::/48, 2001:db8:1::/64 }",
        ),
        run(
            "r",
            "nft add chain inet t forward { type filter hook forward priority 0 ; }",
        ),
        run(
            "r",
            "nft add rule inet t forward ct original ip6 saddr 2001:db8:2::20 counter accept",
        ),
        run("r", "nft add rule inet t forward ip6 hoplimit 63 counter"),
        run(
            "r",
            "nft add rule inet t forward meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type echo-request ip6 saddr @bad counter reject with icmpv6 type admin-prohibited",
        ),
        run(
            "r",
            "nft add rule inet t forward ip6 saddr @bad tcp dport 80 counter reject with icmpx type host-unreachable",
        ),
        run(
            "r",
            "nft add rule inet t forward ip6 daddr 2001:db8:2::/64 udp dport 33434-33534 counter reject with icmpx type no-route",
        ),
        run("a", "ping -6 -c 1 -W 1 2001:db8:2::20"),
        run("b", "ping -6 -c 1 -W 1 2001:db8:1::10"),
        run("a", "curl -s -m 1 http://[2001:db8:2::20]:80/"),
        run("a", "traceroute -6 -q 1 -m 2 -w 1 2001:db8:2::20"),
        run("r", "nft delete element inet t bad { 2001:db8:1::/64 }"),
        run("a", "ping -6 -c 1 -W 1 2001:db8:2::20"),
        show("r", "nft list ruleset"),
    ];
    let k = same_counted("ns6", &cmds);
    // What the kernel decided, so the comparison means something: a's echo request is
    // refused by name, b's (from outside the set) passes, TCP meets address-unreachable (a
    // soft error to a connecting socket: curl times out) and the traceroute probe no-route;
    // without a's network in the set the ping goes through.
    assert!(k[9].0.contains("Administratively prohibited"), "{}", k[9].0);
    assert!(k[10].0.contains(" 0% packet loss"), "{}", k[10].0);
    assert_eq!(k[11].1, 28, "{}", k[11].0);
    assert!(k[12].0.contains("!N"), "{}", k[12].0);
    assert!(k[14].0.contains(" 0% packet loss"), "{}", k[14].0);
}

/// ip6tables-nft's tables in nft's listing: iptables, ip6tables and nft commands mixed on
/// the router, then `nft list ruleset` and `nft -a list ruleset`. The kernel lists every
/// table in creation order whatever its family (`table ip6 nat` between nft's own and
/// iptables' with the handles they took), the IPv6 rules translated (`ip6 saddr`,
/// `dnat to [ADDR]:PORT`), and warns about each table holding compat expressions.
#[test]
fn kd_v6_nft_lists_ip6tables_tables() {
    let case = "kd_v6_nft_lists_ip6tables_tables";
    if !privileged(case) {
        return;
    }
    let cmds = [
        run("r", "ip6tables -t nat -N DOCKER"),
        run(
            "r",
            "ip6tables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        ),
        run("r", "nft add table inet mine"),
        run(
            "r",
            "ip6tables -t nat -A DOCKER ! -i eth1 -p tcp --dport 8080 -j DNAT --to-destination [2001:db8:2::20]:80",
        ),
        run(
            "r",
            "ip6tables -t nat -A POSTROUTING -s 2001:db8:1::/64 ! -o eth0 -j MASQUERADE",
        ),
        run("r", "iptables -A FORWARD -s 10.0.0.0/8 -j DROP"),
        run(
            "r",
            "ip6tables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 2001:db8:2::1",
        ),
        run(
            "r",
            "ip6tables -A FORWARD -p tcp -j REJECT --reject-with tcp-reset",
        ),
        run(
            "r",
            "ip6tables -A FORWARD -o eth1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ),
        run("r", "ip6tables -A INPUT -s ::1 -d ::1/128 -i lo -j ACCEPT"),
        run("a", "curl -s -m 1 http://[2001:db8:1::1]:8080/"),
        show("r", "nft list ruleset"),
        show("r", "nft -a list ruleset"),
        show("r", "nft list table ip6 nat"),
    ];
    let bed = Bed::new("nxt");
    let kernel: Vec<(i32, String, String)> = cmds
        .iter()
        .map(|c| {
            let argv: Vec<&str> = c.text.split_whitespace().collect();
            bed.ns(c.on).run(&argv, "")
        })
        .collect();
    let ours = hoplab(&cmds);
    for (i, c) in cmds.iter().enumerate() {
        let (code, out, err) = &kernel[i];
        // hoplab prints nft's warnings where a terminal shows them, before each table; the
        // kernel's come on stderr.
        let warned: Vec<&str> = ours[i]
            .0
            .lines()
            .filter(|l| l.starts_with("# Warning: "))
            .collect();
        let listed: String = ours[i]
            .0
            .lines()
            .filter(|l| !l.starts_with("# Warning: "))
            .map(|l| format!("{l}\n"))
            .collect();
        let text = match c.text.starts_with("nft") {
            true => nft_packets(&listed),
            false => normal(&listed),
        };
        let want = match c.text.starts_with("nft") {
            true => nft_packets(out),
            false => normal(out),
        };
        assert_eq!(
            text, want,
            "{} on {}: hoplab's output, then the kernel's",
            c.text, c.on
        );
        assert_eq!(
            warned,
            err.lines().collect::<Vec<_>>(),
            "{}: warnings",
            c.text
        );
        assert_eq!(ours[i].1, i64::from(*code), "{}: exit codes", c.text);
    }
    assert!(
        kernel[11].1.contains("dnat to [2001:db8:2::20]:80"),
        "{}",
        kernel[11].1
    );
}
