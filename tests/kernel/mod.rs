//! The kernel as the oracle: one topology description builds both a network-namespace
//! testbed (veth pairs, addresses, routes, sysctls) and a hoplab lab; the same probe runs in
//! both and the outcomes are compared.
//!
//! Privileged: without root (or without `ip netns`) a case skips and says why; with
//! `HOPLAB_REQUIRE_PRIVILEGED=1` that is a failure. Namespace names carry the case name and
//! the process id, so cases run safely in parallel; they are deleted even when a case fails.

#![allow(dead_code)]

use std::process::Command;

use hoplab::capture::CaptureMode;
use hoplab::scenario::run::{RunOptions, Runner};

/// A node of the topology: its interfaces (`name`, `cidr`) and, for a host, its gateway.
pub struct Node {
    pub name: &'static str,
    pub router: bool,
    pub ifaces: Vec<(&'static str, &'static str)>,
    pub gateway: Option<&'static str>,
    /// Commands run on the node before the probe, in both worlds (`ip route add ...`,
    /// `sysctl -w ...`).
    pub setup: Vec<&'static str>,
}

pub fn host(name: &'static str, cidr: &'static str, gateway: &'static str) -> Node {
    Node {
        name,
        router: false,
        ifaces: vec![("eth0", cidr)],
        gateway: Some(gateway),
        setup: vec![],
    }
}

pub fn router(
    name: &'static str,
    ifaces: &[(&'static str, &'static str)],
    setup: &[&'static str],
) -> Node {
    Node {
        name,
        router: true,
        ifaces: ifaces.to_vec(),
        gateway: None,
        setup: setup.to_vec(),
    }
}

pub struct Topo {
    pub nodes: Vec<Node>,
    /// (node, iface, node, iface, mtu)
    pub links: Vec<(&'static str, &'static str, &'static str, &'static str, u32)>,
}

/// What a probe saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An echo reply, with its TTL.
    Reply { ttl: u8 },
    /// An ICMP error, as ping prints it: who sent it and what.
    Icmp { from: String, what: String },
    /// Nothing came back.
    Silent,
    /// A TCP connection was refused (reset).
    Refused,
    /// A TCP connection was accepted.
    Connected,
}

/// Reads iputils ping output (hoplab's ping prints the same).
pub fn ping_outcome(out: &str) -> Outcome {
    for line in out.lines() {
        if line.contains(" bytes from ") {
            let ttl = line
                .split("ttl=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            return Outcome::Reply { ttl };
        }
        if let Some(rest) = line.strip_prefix("From ") {
            let mut parts = rest.splitn(3, ' ');
            let from = parts.next().unwrap_or("").to_string();
            let _seq = parts.next();
            let what = parts.next().unwrap_or("").to_string();
            return Outcome::Icmp { from, what };
        }
    }
    Outcome::Silent
}

/// Reads `nc -z -v` output.
pub fn nc_outcome(out: &str) -> Outcome {
    if out.contains("succeeded") {
        Outcome::Connected
    } else if out.contains("Connection refused") {
        Outcome::Refused
    } else {
        Outcome::Silent
    }
}

/// Whether privileged cases can run here; prints why not, or panics when they must.
pub fn privileged(case: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let netns = root
        && Command::new("ip")
            .args(["netns", "list"])
            .output()
            .is_ok_and(|o| o.status.success());
    if netns {
        return true;
    }
    let why = if root {
        "`ip netns` is not available"
    } else {
        "not running as root"
    };
    if std::env::var("HOPLAB_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!(
            "{case}: needs root and network namespaces ({why}), and HOPLAB_REQUIRE_PRIVILEGED=1"
        );
    }
    eprintln!("{case}: skipped: {why}");
    false
}

/// The namespace testbed; deleted on drop.
pub struct Testbed {
    prefix: String,
    nodes: Vec<String>,
}

fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn must(args: &[&str]) {
    let out = sh(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Testbed {
    pub fn new(case: &str, topo: &Topo) -> Testbed {
        let short: String = case
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        let prefix = format!("hl{short}{}", std::process::id() % 100_000);
        let mut tb = Testbed {
            prefix,
            nodes: Vec::new(),
        };
        for n in &topo.nodes {
            let ns = tb.ns(n.name);
            must(&["ip", "netns", "add", &ns]);
            tb.nodes.push(ns.clone());
            must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            let fwd = if n.router { "1" } else { "0" };
            must(&[
                "ip",
                "netns",
                "exec",
                &ns,
                "sysctl",
                "-qw",
                &format!("net.ipv4.ip_forward={fwd}"),
            ]);
        }
        for &(a, ai, b, bi, mtu) in &topo.links {
            let (na, nb) = (tb.ns(a), tb.ns(b));
            must(&[
                "ip", "link", "add", ai, "netns", &na, "type", "veth", "peer", "name", bi, "netns",
                &nb,
            ]);
            for (ns, i) in [(&na, ai), (&nb, bi)] {
                must(&["ip", "-n", ns, "link", "set", i, "mtu", &mtu.to_string()]);
                must(&["ip", "-n", ns, "link", "set", i, "up"]);
            }
        }
        for n in &topo.nodes {
            let ns = tb.ns(n.name);
            for (i, cidr) in &n.ifaces {
                must(&["ip", "-n", &ns, "addr", "add", cidr, "dev", i]);
            }
            if let Some(gw) = n.gateway {
                must(&["ip", "-n", &ns, "route", "add", "default", "via", gw]);
            }
            for cmd in &n.setup {
                let mut argv = vec!["ip", "netns", "exec", &ns];
                argv.extend(cmd.split_whitespace());
                must(&argv);
            }
        }
        tb
    }

    pub fn ns(&self, node: &str) -> String {
        format!("{}{node}", self.prefix)
    }

    /// Runs a command in a node's namespace; returns stdout + stderr.
    pub fn run(&self, node: &str, cmd: &str) -> String {
        let ns = self.ns(node);
        let mut argv = vec!["ip", "netns", "exec", &ns];
        argv.extend(cmd.split_whitespace());
        let out = sh(&argv);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for ns in &self.nodes {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The same topology as a hoplab lab; runs `cmd` on `node` last and returns its output.
pub fn hoplab_run(topo: &Topo, node: &str, cmd: &str, timeout: &str) -> String {
    let mut y = String::from("version: 1\nname: kd\ncaptures: none\nhosts:\n");
    for n in topo.nodes.iter().filter(|n| !n.router) {
        y += &format!("  - name: {}\n    interfaces:\n", n.name);
        for (i, c) in &n.ifaces {
            let mtu = topo
                .links
                .iter()
                .find(|l| (l.0 == n.name && l.1 == *i) || (l.2 == n.name && l.3 == *i))
                .map_or(1500, |l| l.4);
            y += &format!("      {i}: {{ip: {c}, mtu: {mtu}}}\n");
        }
        if let Some(g) = n.gateway {
            y += &format!("    gateway: {g}\n");
        }
    }
    y += "routers:\n";
    for n in topo.nodes.iter().filter(|n| n.router) {
        y += &format!("  - name: {}\n    interfaces:\n", n.name);
        for (i, c) in &n.ifaces {
            let mtu = topo
                .links
                .iter()
                .find(|l| (l.0 == n.name && l.1 == *i) || (l.2 == n.name && l.3 == *i))
                .map_or(1500, |l| l.4);
            y += &format!("      {i}: {{ip: {c}, mtu: {mtu}}}\n");
        }
    }
    y += "links:\n";
    for l in &topo.links {
        y += &format!(
            "  - {{a: \"{}:{}\", b: \"{}:{}\", mtu: {}}}\n",
            l.0, l.1, l.2, l.3, l.4
        );
    }
    y += "steps:\n";
    for n in &topo.nodes {
        for c in &n.setup {
            y += &format!("  - {{on: {}, run: \"{c}\"}}\n", n.name);
        }
    }
    y += &format!("  - {{on: {node}, run: \"{cmd}\", timeout: {timeout}}}\n");
    let lab = hoplab::scenario::parse(&y, "kd.yaml").unwrap_or_else(|e| panic!("{e}\n{y}"));
    let opts = RunOptions {
        out_dir: None,
        seed: None,
        capture: Some(CaptureMode::None),
        interrupt: None,
    };
    let mut runner = Runner::new(&lab, &opts).expect("build");
    let report = runner.run();
    let last = report.steps.last().expect("a step");
    last.result
        .as_ref()
        .map(|r| r.output.clone())
        .unwrap_or_default()
}
