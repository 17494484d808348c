//! IPv6 through a router against the kernel: hosts `a` (2001:db8:1::10) and `b`
//! (2001:db8:2::20, on a link of MTU 1400) on either side of router `r`, each in a
//! namespace of its own, and the same three nodes in hoplab. `a`'s gateway is the router's
//! global address, `b`'s its link-local one. What the hosts' programs print (times aside),
//! their exit codes, and the router's listings must read the same. Needs root and network
//! namespaces (see `tests/kernel/mod.rs`).
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
