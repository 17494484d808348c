//! The kernel as the oracle: one topology description builds both a network-namespace
//! testbed (veth pairs, addresses, routes, sysctls) and a hoplab lab; the same probe runs in
//! both and the outcomes are compared.
//!
//! Privileged: without root (or without `ip netns`) a case skips and says why; with
//! `HOPLAB_REQUIRE_PRIVILEGED=1` that is a failure. Namespace names carry the case name and
//! the process id, so cases run safely in parallel; they are deleted even when a case fails.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hoplab::scenario::run::{RunOptions, Runner};

pub mod docker;
pub mod machine;
pub mod netns;

/// A node of the topology: its interfaces (`name`, `cidr`) and, for a host, its gateway.
pub struct Node {
    pub name: &'static str,
    pub router: bool,
    pub ifaces: Vec<(&'static str, &'static str)>,
    pub gateway: Option<&'static str>,
    /// Commands run on the node before the probe, in both worlds (`ip route add ...`,
    /// `sysctl -w ...`).
    pub setup: Vec<&'static str>,
    /// A router's `iptables ...` commands, in order: run as `iptables -w ...` in the router's
    /// namespace, and given to hoplab as the router's `iptables:` list.
    pub iptables: Vec<&'static str>,
}

impl Node {
    /// The same node with these `iptables ...` commands.
    pub fn rules(mut self, rules: &[&'static str]) -> Node {
        assert!(
            self.router,
            "{}: only routers take iptables rules",
            self.name
        );
        self.iptables = rules.to_vec();
        self
    }
}

pub fn host(name: &'static str, cidr: &'static str, gateway: &'static str) -> Node {
    Node {
        name,
        router: false,
        ifaces: vec![("eth0", cidr)],
        gateway: Some(gateway),
        setup: vec![],
        iptables: vec![],
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
        iptables: vec![],
    }
}

/// The MAC address both worlds give `node`'s interface `iface`: `02:00:00:00:N:I`, N and I
/// the node's and the interface's places in the topology, from 1 (so `-m mac` rules can
/// name a host's address).
pub fn mac_of(topo: &Topo, node: &str, iface: &str) -> String {
    let (n, i) = topo
        .nodes
        .iter()
        .enumerate()
        .find_map(|(n, x)| {
            let i = x.ifaces.iter().position(|f| f.0 == iface)?;
            (x.name == node).then_some((n, i))
        })
        .unwrap_or((0xFE, 0xFE));
    format!("02:00:00:00:{:02x}:{:02x}", n + 1, i + 1)
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
            for (ns, node, i) in [(&na, a, ai), (&nb, b, bi)] {
                let mac = mac_of(topo, node, i);
                must(&["ip", "-n", ns, "link", "set", i, "address", &mac]);
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
                // Through a shell, for quoted words (`nft 'add chain ... { ...; }'`).
                must(&["ip", "netns", "exec", &ns, "sh", "-c", cmd]);
            }
            for rule in &n.iptables {
                let rest = rule
                    .strip_prefix("iptables ")
                    .unwrap_or_else(|| panic!("{rule}: not an `iptables ...` command"));
                must(&[
                    "ip",
                    "netns",
                    "exec",
                    &ns,
                    "sh",
                    "-c",
                    &format!("iptables -w {rest}"),
                ]);
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

    /// Runs a shell command line in a node's namespace with `input` on its stdin; returns its
    /// exit code and stdout + stderr.
    pub fn shell(&self, node: &str, cmd: &str, input: &str) -> Out {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns(node), "sh", "-c", cmd])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let mut stdin = child.stdin.take().expect("stdin");
        // A command that exits without reading its input closes the pipe: not an error here.
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        Out {
            code: out.status.code().unwrap_or(-1),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// Starts `argv` in the background in a node's namespace, stdin closed, output kept.
    pub fn spawn(&self, node: &str, argv: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(node)])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    }

    /// Waits (up to 3 s) until something in a node's namespace listens on `port`, TCP or UDP.
    fn wait_listening(&self, node: &str, port: u16) {
        let suffix = format!(":{port}");
        for _ in 0..150 {
            let ss = self.run(node, "ss -Hltun");
            if ss.lines().any(|l| {
                l.split_whitespace()
                    .nth(4)
                    .is_some_and(|local| local.ends_with(&suffix))
            }) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{node}: nothing listens on port {port}");
    }

    /// Kills every process left in the testbed's namespaces (background servers).
    pub fn kill_all(&self) {
        for ns in &self.nodes {
            let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() else {
                continue;
            };
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).output();
            }
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if std::env::var_os("KD_KEEP").is_some() {
            return;
        }
        self.kill_all();
        for ns in &self.nodes {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// What a step printed, and its exit code (0 for a listing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Out {
    pub code: i32,
    pub text: String,
}

/// One step of a probe, the same in both worlds.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// `http-server PORT` in the background on a host. In the kernel a small python3 server
    /// answers `/` with the same line as hoplab's ("Hello from NODE (IP:PORT). You came from
    /// IP:PORT."), so the address the server saw is compared as text.
    Http(&'static str, u16),
    /// The same server on `[::]` (`http-server --bind :: PORT`): IPv6 clients, the
    /// addresses in brackets.
    Http6(&'static str, u16),
    /// A command in the background on a host (the same text in both worlds), listening on the
    /// given port (the kernel waits until it does); its output is read when the probe ends.
    Bg(&'static str, &'static str, u16),
    /// A command in the foreground on a host, with this input on its stdin.
    Run(&'static str, &'static str, &'static str),
    /// A client in the background on a host (the same text in both worlds), stdin closed;
    /// the kernel gives it 200 ms to connect. Its output is read when the probe ends.
    Client(&'static str, &'static str),
    /// A listing on a router (`conntrack -L`, `iptables -nvL`): a `show` step in hoplab, the
    /// command in the router's namespace in the kernel.
    Show(&'static str, &'static str),
    /// Lets closing handshakes finish before a listing (the kernel sleeps 300 ms, hoplab's
    /// first host `sleep 1`).
    Pause,
}

/// A foreground command without input.
pub fn run(on: &'static str, cmd: &'static str) -> Step {
    Step::Run(on, cmd, "")
}

/// A tiny HTTP server that answers as hoplab's `http-server` does, printing one line per
/// request. Arguments: the node's name, the port, and `6` to listen on `[::]` (IPv6
/// addresses then print in brackets).
const PY_HTTP: &str = r#"
import socket, sys
name, port = sys.argv[1], int(sys.argv[2])
v6 = len(sys.argv) > 3
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::" if v6 else "0.0.0.0", port))
s.listen(16)
while True:
    c, peer = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            break
        data += d
    local = c.getsockname()
    fmt = (lambda a: "[%s]" % a) if v6 else (lambda a: a)
    body = ("Hello from %s (%s:%d). You came from %s:%d.\n"
            % (name, fmt(local[0]), local[1], fmt(peer[0]), peer[1])).encode()
    head = ("HTTP/1.1 200 OK\r\nServer: hoplab-http\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
    c.sendall(head + body)
    c.close()
    print('%s - - "GET / HTTP/1.1" 200 %d' % (peer[0], len(body)), flush=True)
"#;

/// Runs the probe in the namespace testbed; one output per step, background ones read at the
/// end.
pub fn kernel_steps(case: &str, topo: &Topo, steps: &[Step]) -> Vec<Out> {
    let tb = Testbed::new(case, topo);
    run_steps(&tb, steps)
}

/// Runs the probe in a built testbed; one output per step, background ones read at the end.
fn run_steps(tb: &Testbed, steps: &[Step]) -> Vec<Out> {
    let mut outs = vec![Out::default(); steps.len()];
    let mut background: Vec<(usize, Child)> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match *step {
            Step::Http(on, port) => {
                let child = tb.spawn(on, &["python3", "-c", PY_HTTP, on, &port.to_string()]);
                background.push((i, child));
                tb.wait_listening(on, port);
            }
            Step::Http6(on, port) => {
                let argv = ["python3", "-c", PY_HTTP, on, &port.to_string(), "6"];
                background.push((i, tb.spawn(on, &argv)));
                tb.wait_listening(on, port);
            }
            Step::Bg(on, cmd, port) => {
                background.push((i, tb.spawn(on, &["sh", "-c", cmd])));
                tb.wait_listening(on, port);
            }
            Step::Client(on, cmd) => {
                background.push((i, tb.spawn(on, &["sh", "-c", cmd])));
                std::thread::sleep(Duration::from_millis(200));
            }
            Step::Run(on, cmd, input) => outs[i] = tb.shell(on, cmd, input),
            Step::Show(on, cmd) => {
                let o = tb.shell(on, cmd, "");
                outs[i] = Out { code: 0, ..o };
            }
            Step::Pause => std::thread::sleep(Duration::from_millis(300)),
        }
    }
    tb.kill_all();
    for (i, child) in background {
        let out = child.wait_with_output().expect("wait");
        outs[i] = Out {
            code: 0,
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        };
    }
    outs
}

/// The topology as a hoplab lab, its setup commands as the first steps, then `steps` (YAML
/// lines).
fn lab_yaml(topo: &Topo, steps: &str) -> String {
    let mtu_of = |node: &str, iface: &str| {
        topo.links
            .iter()
            .find(|l| (l.0 == node && l.1 == iface) || (l.2 == node && l.3 == iface))
            .map_or(1500, |l| l.4)
    };
    let mut y = String::from("version: 1\nname: kd\ncaptures: none\nhosts:\n");
    for n in topo.nodes.iter().filter(|n| !n.router) {
        y += &format!("  - name: {}\n    interfaces:\n", n.name);
        for (i, c) in &n.ifaces {
            let mac = mac_of(topo, n.name, i);
            y += &format!(
                "      {i}: {{ip: {c}, mac: \"{mac}\", mtu: {}}}\n",
                mtu_of(n.name, i)
            );
        }
        if let Some(g) = n.gateway {
            y += &format!("    gateway: {g}\n");
        }
    }
    y += "routers:\n";
    for n in topo.nodes.iter().filter(|n| n.router) {
        y += &format!("  - name: {}\n    interfaces:\n", n.name);
        for (i, c) in &n.ifaces {
            let mac = mac_of(topo, n.name, i);
            y += &format!(
                "      {i}: {{ip: {c}, mac: \"{mac}\", mtu: {}}}\n",
                mtu_of(n.name, i)
            );
        }
        // The listings imitate the iptables the testbed has (Debian 12's 1.8.9).
        y += "    iptables_version: 1.8.9\n";
        if !n.iptables.is_empty() {
            y += "    iptables:\n";
            for rule in &n.iptables {
                y += &format!("      - {}\n", quote(rule));
            }
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
            y += &format!("  - {{on: {}, run: {}}}\n", n.name, quote(c));
        }
    }
    y + steps
}

/// A YAML double-quoted scalar (JSON's string syntax is a subset).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

pub fn run_lab(y: &str) -> hoplab::scenario::run::RunReport {
    let lab = hoplab::scenario::parse(y, "kd.yaml").unwrap_or_else(|e| panic!("{e}\n{y}"));
    let opts = RunOptions::without_captures();
    let mut runner = Runner::new(&lab, &opts).expect("build");
    runner.run()
}

/// The same topology as a hoplab lab; runs `cmd` on `node` last and returns its output.
pub fn hoplab_run(topo: &Topo, node: &str, cmd: &str, timeout: &str) -> String {
    let y = lab_yaml(
        topo,
        &format!(
            "  - {{on: {node}, run: {}, timeout: {timeout}}}\n",
            quote(cmd)
        ),
    );
    let report = run_lab(&y);
    let last = report.steps.last().expect("a step");
    last.result
        .as_ref()
        .map(|r| r.output.clone())
        .unwrap_or_default()
}

/// Runs the probe in a hoplab lab of the same topology; one output per step.
pub fn hoplab_steps(topo: &Topo, steps: &[Step]) -> Vec<Out> {
    let first_host = topo
        .nodes
        .iter()
        .find(|n| !n.router)
        .map_or("h1", |n| n.name);
    let y = lab_yaml(topo, &steps_yaml(steps, first_host));
    let setup: usize = topo.nodes.iter().map(|n| n.setup.len()).sum();
    let report = run_lab(&y);
    step_outs(&report, setup, steps.len(), &y)
}

/// The probe's steps as YAML lines; `Step::Pause` sleeps on `first_host`.
fn steps_yaml(steps: &[Step], first_host: &str) -> String {
    let mut y = String::new();
    for step in steps {
        y += &match *step {
            Step::Http(on, port) => {
                format!("  - {{on: {on}, run: \"http-server {port}\", background: true}}\n")
            }
            Step::Http6(on, port) => format!(
                "  - {{on: {on}, run: \"http-server --bind :: {port}\", background: true}}\n"
            ),
            Step::Bg(on, cmd, _) | Step::Client(on, cmd) => {
                format!("  - {{on: {on}, run: {}, background: true}}\n", quote(cmd))
            }
            Step::Run(on, cmd, input) => format!(
                "  - {{on: {on}, run: {}, input: {}, timeout: 20s}}\n",
                quote(cmd),
                quote(input)
            ),
            Step::Show(on, cmd) => format!("  - {{on: {on}, show: {}}}\n", quote(cmd)),
            Step::Pause => format!("  - {{on: {first_host}, run: \"sleep 1\"}}\n"),
        };
    }
    y
}

/// The outputs of the `n` steps after the first `skip` ones of a run of lab `y`.
fn step_outs(
    report: &hoplab::scenario::run::RunReport,
    skip: usize,
    n: usize,
    y: &str,
) -> Vec<Out> {
    (0..n)
        .map(|k| {
            let step = report
                .steps
                .iter()
                .find(|s| s.index == skip + k + 1)
                .unwrap_or_else(|| panic!("step {} did not run\n{y}", k + 1));
            match (&step.result, &step.listing) {
                (Some(r), _) => Out {
                    code: r.exit_code,
                    text: r.output.clone(),
                },
                (None, Some(l)) => Out {
                    code: 0,
                    text: l.clone(),
                },
                (None, None) => Out::default(),
            }
        })
        .collect()
}

/// What curl got: the body, or its exit code (7 refused or unreachable, 28 timed out).
#[derive(Debug, PartialEq, Eq)]
pub enum Http {
    Body(String),
    Failed(i32),
}

pub fn http(o: &Out) -> Http {
    if o.code == 0 {
        Http::Body(o.text.trim_end().to_string())
    } else {
        Http::Failed(o.code)
    }
}

pub fn body(text: &str) -> Http {
    Http::Body(text.to_string())
}

/// `conntrack -L` normalised: the timeout, mark, use and ICMP ids left out; entries sorted.
pub fn ct(o: &Out) -> Vec<String> {
    let mut v: Vec<String> = o
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if !matches!(w.first(), Some(&("tcp" | "udp" | "icmp" | "icmpv6"))) {
                return l.to_string();
            }
            w.iter()
                .enumerate()
                .filter(|&(i, t)| {
                    i != 2
                        && !t.starts_with("mark=")
                        && !t.starts_with("use=")
                        && !t.starts_with("zone=")
                })
                .map(|(_, t)| if t.starts_with("id=") { "id=*" } else { t })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    v.sort();
    v
}

pub fn dump(steps: &[Step], outs: &[Out]) -> String {
    steps
        .iter()
        .zip(outs)
        .map(|(s, o)| format!("{s:?} (exit {})\n{}", o.code, o.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The topology as a hoplab lab, its setup commands as steps (and a one-second pause, so
/// that a lab without setup has a step).
pub fn lab_of(topo: &Topo) -> hoplab::scenario::Lab {
    let first_host = topo
        .nodes
        .iter()
        .find(|n| !n.router)
        .map_or("h1", |n| n.name);
    let y = lab_yaml(
        topo,
        &format!("  - {{on: {first_host}, run: \"sleep 1\"}}\n"),
    );
    hoplab::scenario::parse(&y, "kd.yaml").unwrap_or_else(|e| panic!("{e}\n{y}"))
}

/// What the kernel's TRACE shows of one packet at `router`: the rules it matched, in
/// order, as `TABLE -A CHAIN ...` (iptables-save's words), and a built-in chain's DROP
/// policy as `TABLE -P CHAIN DROP`. The packet is the first that `select` (an iptables
/// match, `-p tcp --dport 8080`) picks in raw PREROUTING, made by `probe` run on `from`;
/// `xtables-monitor --trace` reports it, and the TRACE rule itself is left out.
pub fn kernel_trace(
    case: &str,
    topo: &Topo,
    router: &str,
    select: &str,
    from: &str,
    probe: &str,
) -> Vec<String> {
    let tb = Testbed::new(case, topo);
    let out = tb.run(
        router,
        &format!("iptables -w -t raw -I PREROUTING {select} -j TRACE"),
    );
    assert!(out.trim().is_empty(), "TRACE rule: {out}");
    let monitor = tb.spawn(router, &["xtables-monitor", "--trace"]);
    std::thread::sleep(Duration::from_millis(500));
    tb.run(from, probe);
    std::thread::sleep(Duration::from_millis(500));
    let pid = monitor.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).output();
    let text = monitor
        .wait_with_output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    trace_rules(&text)
}

/// The matched rules of the first traced packet in `xtables-monitor --trace` output:
/// ` TRACE: 2 80b20572 nat:DOCKER:rule:0x4:ACCEPT  -4 -t nat -A DOCKER ...`.
fn trace_rules(text: &str) -> Vec<String> {
    let mut id: Option<String> = None;
    let mut rules = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("TRACE: ") else {
            continue;
        };
        let mut words = rest.splitn(4, ' ');
        let (Some(_family), Some(pkt), Some(what)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if id.get_or_insert_with(|| pkt.to_string()) != pkt {
            continue;
        }
        let spec = words.next().unwrap_or("").trim();
        let parts: Vec<&str> = what.split(':').collect();
        match parts.as_slice() {
            [table, _chain, "rule", ..] => {
                let prefix = format!("-4 -t {table} ");
                let spec = spec.strip_prefix(&prefix).unwrap_or(spec);
                if !spec.ends_with("-j TRACE") {
                    rules.push(format!("{table} {spec}"));
                }
            }
            [table, chain, "policy", "DROP", ..] => rules.push(format!("{table} -P {chain} DROP")),
            _ => {}
        }
    }
    rules
}

/// h1 — r1 ={r2, r3}= h3: r1 reaches r2 by eth1 (10.0.12.0/30) and r3 by eth2
/// (10.0.13.0/30); r2 reaches h3's LAN through r3 (10.0.23.0/30), r3 directly; both route
/// h1's LAN back through r1. `r1_setup` gives r1 its routes (and rules, sysctls).
pub fn two_paths(r1_setup: &[&'static str]) -> Topo {
    Topo {
        nodes: vec![
            host("h1", "10.0.1.10/24", "10.0.1.1"),
            host("h3", "10.0.3.10/24", "10.0.3.1"),
            router(
                "r1",
                &[
                    ("eth0", "10.0.1.1/24"),
                    ("eth1", "10.0.12.1/30"),
                    ("eth2", "10.0.13.1/30"),
                ],
                r1_setup,
            ),
            router(
                "r2",
                &[("eth0", "10.0.12.2/30"), ("eth1", "10.0.23.1/30")],
                &[
                    "ip route add 10.0.1.0/24 via 10.0.12.1",
                    "ip route add 10.0.3.0/24 via 10.0.23.2",
                ],
            ),
            router(
                "r3",
                &[
                    ("eth0", "10.0.13.2/30"),
                    ("eth1", "10.0.23.2/30"),
                    ("eth2", "10.0.3.1/24"),
                ],
                &["ip route add 10.0.1.0/24 via 10.0.13.1"],
            ),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "r2", "eth0", 1500),
            ("r1", "eth2", "r3", "eth0", 1500),
            ("r2", "eth1", "r3", "eth1", 1500),
            ("r3", "eth2", "h3", "eth0", 1500),
        ],
    }
}
