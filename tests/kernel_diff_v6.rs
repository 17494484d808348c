//! IPv6 on hosts against the kernel: two namespaces joined by a veth pair, each end with
//! a global address and its link-local one, and the same two hosts in hoplab. The
//! listings (`ip -6 addr`, `ip -6 neigh`), `ping -6`'s output and exit code, and the
//! neighbor discovery frames on the wire must read the same (times aside). Needs root and
//! network namespaces (see `tests/kernel/mod.rs`); the capture case also needs tshark.
//!
//! Duplicate address detection is off in the namespaces (`accept_dad=0`): hoplab's
//! addresses are usable at once and it sends no DAD probe.

mod common;
mod kernel;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use kernel::privileged;

const MAC_A: &str = "02:42:ac:11:00:02";
const MAC_B: &str = "02:42:ac:11:00:03";
const LL_B: &str = "fe80::42:acff:fe11:3";

/// The lab hoplab runs: `steps` (YAML list items) on hosts `a` and `b`; `a_extra` (YAML
/// lines of host `a`, such as its `gateway6:`) after `a`'s interfaces.
fn lab(a_extra: &str, steps: &str) -> String {
    format!(
        "version: 1\nname: kd-v6\nhosts:\n  - name: a\n    interfaces:\n      eth0: {{ipv6: \"2001:db8:1::10/64\", mac: \"{MAC_A}\"}}\n{a_extra}  - name: b\n    interfaces:\n      eth0: {{ipv6: \"2001:db8:1::20/64\", mac: \"{MAC_B}\"}}\nlinks:\n  - [a:eth0, b:eth0]\nsteps:\n{steps}"
    )
}

/// Runs the lab through the CLI (captures to `out` when given); its JSON report.
fn hoplab(steps: &str, out: Option<&Path>) -> serde_json::Value {
    hoplab_with("", steps, out)
}

/// [`hoplab`] with lines of host `a`'s own (see [`lab`]).
fn hoplab_with(a_extra: &str, steps: &str, out: Option<&Path>) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kd-v6.yaml");
    std::fs::write(&file, lab(a_extra, steps)).unwrap();
    let mut args = vec!["run", file.to_str().unwrap(), "--json"];
    match out {
        Some(o) => args.extend(["--capture", "both", "--out", o.to_str().unwrap()]),
        None => args.extend(["--capture", "none"]),
    }
    let run = common::run(&args);
    serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(&run.stderr)))
}

/// Step `i`'s output (a command's) or listing, and its exit code (0 for a listing).
fn step(v: &serde_json::Value, i: usize) -> (String, i64) {
    let s = &v["steps"][i];
    match s["result"]["output"].as_str() {
        Some(o) => (o.to_string(), s["result"]["exit_code"].as_i64().unwrap()),
        None => (s["listing"].as_str().unwrap_or_default().to_string(), 0),
    }
}

/// Two namespaces `a` and `b` with `eth0` each, as the lab has them; deleted on drop.
struct Bed {
    a: String,
    b: String,
}

fn must(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Bed {
    fn new(case: &str) -> Bed {
        Bed::with_prefix(case, "hl6")
    }

    /// [`Bed::new`] with namespaces named `{prefix}a…` and `{prefix}b…`.
    fn with_prefix(case: &str, prefix: &str) -> Bed {
        let tag = format!(
            "{}{}",
            &case[6..case.len().min(14)],
            std::process::id() % 100_000
        );
        let bed = Bed {
            a: format!("{prefix}a{tag}"),
            b: format!("{prefix}b{tag}"),
        };
        for ns in [&bed.a, &bed.b] {
            must(&["ip", "netns", "add", ns]);
            for key in ["all", "default"] {
                let dad = format!("net.ipv6.conf.{key}.accept_dad=0");
                must(&["ip", "netns", "exec", ns, "sysctl", "-qw", &dad]);
            }
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        must(&[
            "ip", "link", "add", "eth0", "netns", &bed.a, "type", "veth", "peer", "name", "eth0",
            "netns", &bed.b,
        ]);
        for (ns, mac, addr) in [
            (&bed.a, MAC_A, "2001:db8:1::10/64"),
            (&bed.b, MAC_B, "2001:db8:1::20/64"),
        ] {
            must(&["ip", "-n", ns, "link", "set", "eth0", "address", mac]);
            must(&["ip", "-n", ns, "-6", "addr", "add", addr, "dev", "eth0"]);
            must(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        }
        // The link-local addresses come with the carrier: wait for both.
        for _ in 0..50 {
            let up = [&bed.a, &bed.b].iter().all(|ns| {
                let out = bed.run(ns, "ip -6 addr show dev eth0").0;
                out.contains("scope link") && !out.contains("tentative")
            });
            if up {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        bed
    }

    /// A command in namespace `ns`: its stdout and exit code.
    fn run(&self, ns: &str, cmd: &str) -> (String, i64) {
        let out = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd.split_whitespace())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            i64::from(out.status.code().unwrap_or(-1)),
        )
    }

    /// [`Bed::run`] with stderr after stdout (as a step's output has both), and no proxy
    /// from the environment for curl.
    fn run_both(&self, ns: &str, cmd: &str) -> (String, i64) {
        let out = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd.split_whitespace())
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text += &String::from_utf8_lossy(&out.stderr);
        (text, i64::from(out.status.code().unwrap_or(-1)))
    }

    /// A program left running in `ns` (a server), until killed; waits until `ss -ltn`
    /// there lists `port`.
    fn serve(&self, ns: &str, cmd: &str, port: u16) -> Child {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd.split_whitespace())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("a server");
        for _ in 0..100 {
            let listing = self.run(ns, "ss -Hltn").0;
            if listing.contains(&format!(":{port} ")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child
    }

    /// A capture of `eth0` in `ns` into `file`, running until killed.
    fn capture(&self, ns: &str, file: &Path) -> Child {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "dumpcap", "-q", "-i", "eth0", "-w"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap");
        // dumpcap writes its file's header, then starts capturing: wait for both.
        for _ in 0..50 {
            if file.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(1000));
        child
    }

    /// Stops a capture as Ctrl-C would, so that dumpcap writes what it holds.
    fn stop(child: &mut Child) {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Interface numbers differ between the kernel and hoplab (`2: eth0@if5`): both go.
fn without_ifindex(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = match l.split_once(": ") {
                Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => format!("N: {rest}"),
                _ => l.to_string(),
            };
            match l.split_once("@if") {
                Some((head, rest)) => {
                    let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                    format!("{head}@ifN{tail}")
                }
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ping`'s output with its times taken out (`time=0.040 ms`, `time 1001ms`, the rtt line).
fn without_times(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("rtt min/avg/max/mdev") {
                return "rtt".to_string();
            }
            let l = match l.split_once(" time=") {
                Some((head, _)) => format!("{head} time=T"),
                None => l.to_string(),
            };
            match l.rsplit_once(", time ") {
                Some((head, _)) => format!("{head}, time T"),
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kd_v6_addr_listing() {
    if !privileged("kd_v6_addr_listing") {
        return;
    }
    let bed = Bed::new("kd_v6_addr_listing");
    let (kernel, _) = bed.run(&bed.a, "ip -6 addr");
    let v = hoplab("  - {on: a, show: ip -6 addr}\n", None);
    let (ours, _) = step(&v, 0);
    assert_eq!(without_ifindex(&ours), without_ifindex(&kernel));
    assert!(ours.contains("\n2: eth0: <"), "{ours}");
    assert!(
        ours.contains("    inet6 fe80::42:acff:fe11:2/64 scope link \n"),
        "{ours}"
    );
}

#[test]
fn kd_v6_route_listing_with_a_gateway() {
    if !privileged("kd_v6_route_listing_with_a_gateway") {
        return;
    }
    let bed = Bed::new("kd_v6_route_listing_with_a_gateway");
    must(&[
        "ip",
        "-n",
        &bed.a,
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:1::1",
    ]);
    let (kernel, _) = bed.run(&bed.a, "ip -6 route");
    let v = hoplab_with(
        "    gateway6: 2001:db8:1::1\n",
        "  - {on: a, show: ip -6 route}\n",
        None,
    );
    let (ours, _) = step(&v, 0);
    assert_eq!(ours, kernel);
    assert!(
        ours.ends_with("default via 2001:db8:1::1 dev eth0 metric 1024 pref medium\n"),
        "{ours}"
    );
}

#[test]
fn kd_v6_ping_on_link() {
    if !privileged("kd_v6_ping_on_link") {
        return;
    }
    let bed = Bed::new("kd_v6_ping_on_link");
    let cmd = "ping -6 -c 2 -i 0.2 2001:db8:1::20";
    let kernel = bed.run(&bed.a, cmd);
    let v = hoplab(&format!("  - {{on: a, run: \"{cmd}\"}}\n"), None);
    let ours = step(&v, 0);
    assert_eq!(ours.1, kernel.1, "exit codes\n{}\n{}", ours.0, kernel.0);
    assert_eq!(without_times(&ours.0), without_times(&kernel.0));
}

#[test]
fn kd_v6_ping_link_local_with_scope() {
    if !privileged("kd_v6_ping_link_local_with_scope") {
        return;
    }
    let bed = Bed::new("kd_v6_ping_link_local_with_scope");
    for cmd in [
        format!("ping -6 -c 1 {LL_B}%eth0"),
        format!("ping -6 -c 1 -I eth0 {LL_B}"),
    ] {
        let kernel = bed.run(&bed.a, &cmd);
        let v = hoplab(&format!("  - {{on: a, run: \"{cmd}\"}}\n"), None);
        let ours = step(&v, 0);
        assert_eq!(ours.1, kernel.1, "{cmd}: exit codes");
        assert_eq!(without_times(&ours.0), without_times(&kernel.0), "{cmd}");
    }
}

#[test]
fn kd_v6_ping_unassigned_address() {
    if !privileged("kd_v6_ping_unassigned_address") {
        return;
    }
    let bed = Bed::new("kd_v6_ping_unassigned_address");
    let cmd = "ping -6 -c 2 -i 0.2 -W 1 2001:db8:1::99";
    let kernel = bed.run(&bed.a, cmd);
    let v = hoplab(&format!("  - {{on: a, run: \"{cmd}\"}}\n"), None);
    let ours = step(&v, 0);
    assert_eq!((ours.1, kernel.1), (1, 1), "{}\n{}", ours.0, kernel.0);
    assert_eq!(without_times(&ours.0), without_times(&kernel.0));
    assert!(
        ours.0
            .contains("2 packets transmitted, 0 received, 100% packet loss"),
        "{}",
        ours.0
    );
}

#[test]
fn kd_v6_neigh_after_ping() {
    if !privileged("kd_v6_neigh_after_ping") {
        return;
    }
    let bed = Bed::new("kd_v6_neigh_after_ping");
    let (_, code) = bed.run(&bed.a, "ping -6 -c 1 2001:db8:1::20");
    assert_eq!(code, 0);
    let (kernel, _) = bed.run(&bed.a, "ip -6 neigh");
    let v = hoplab(
        "  - {on: a, run: \"ping -6 -c 1 2001:db8:1::20\"}\n  - {on: a, show: ip -6 neigh}\n",
        None,
    );
    let (ours, _) = step(&v, 1);
    assert_eq!(ours, kernel);
    assert_eq!(
        ours,
        "2001:db8:1::20 dev eth0 lladdr 02:42:ac:11:00:03 REACHABLE \n"
    );
}

/// The neighbor discovery frames a capture holds, as tshark reads them: type, source,
/// destination, hop limit, target, link-layer option, Ethernet destination, flags.
fn nd_frames(file: &Path) -> Vec<String> {
    let out = common::tshark(
        file,
        &[
            "-Y",
            "icmpv6.type == 135 || icmpv6.type == 136",
            "-T",
            "fields",
            "-e",
            "icmpv6.type",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.dst",
            "-e",
            "ipv6.hlim",
            "-e",
            "icmpv6.nd.ns.target_address",
            "-e",
            "icmpv6.nd.na.target_address",
            "-e",
            "icmpv6.opt.linkaddr",
            "-e",
            "eth.dst",
            "-e",
            "icmpv6.nd.na.flag.s",
            "-e",
            "icmpv6.nd.na.flag.o",
        ],
    );
    common::text(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn kd_v6_neighbor_discovery_on_the_wire() {
    if !privileged("kd_v6_neighbor_discovery_on_the_wire")
        || !common::have_tool("tshark", "kd_v6_neighbor_discovery_on_the_wire")
    {
        return;
    }
    let bed = Bed::new("kd_v6_neighbor_discovery_on_the_wire");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kernel.pcapng");
    let mut dumpcap = bed.capture(&bed.a, &file);
    let (_, code) = bed.run(&bed.a, "ping -6 -c 1 2001:db8:1::20");
    std::thread::sleep(std::time::Duration::from_millis(300));
    Bed::stop(&mut dumpcap);
    assert_eq!(code, 0);
    let kernel = nd_frames(&file);
    let out = dir.path().join("hoplab");
    let v = hoplab(
        "  - {on: a, run: \"ping -6 -c 1 2001:db8:1::20\"}\n",
        Some(&out),
    );
    assert_eq!(v["passed"], true, "{v}");
    let ours = nd_frames(&out.join("a-eth0.pcap"));
    // A solicitation to b's solicited-node group, then b's solicited advertisement.
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours, kernel);
}

/// curl's "after N ms" taken out.
fn without_ms(text: &str) -> String {
    match text.split_once(" after ") {
        Some((head, rest)) => match rest.split_once(" ms: ") {
            Some((_, tail)) => format!("{head} after N ms: {tail}"),
            None => text.to_string(),
        },
        None => text.to_string(),
    }
}

/// Kills a server [`Bed::serve`] started.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The servers of the curl and ss cases: `python3 -m http.server --bind ::` on 80 (both
/// families) and its default (0.0.0.0) on 8080, in `b`; in hoplab, the same as steps 0
/// and 1.
const SERVERS: &str = "  - {on: b, run: \"http-server --bind :: 80\", background: true}\n  - {on: b, run: \"http-server 8080\", background: true}\n";

/// The lab's steps: the servers, then each command on `node` (the first a second later,
/// once the servers listen).
fn after_servers(node: &str, cmds: &[&str]) -> String {
    let mut steps = SERVERS.to_string();
    for (i, c) in cmds.iter().enumerate() {
        let at = if i == 0 { "at: 1s, " } else { "" };
        // A step's command line is read as a shell reads it: the format goes in quotes.
        let quoted: Vec<String> = c
            .split(' ')
            .map(|w| match w.starts_with('%') {
                true => format!("\"{w}\""),
                false => w.to_string(),
            })
            .collect();
        steps += &format!("  - {{{at}on: {node}, run: '{}'}}\n", quoted.join(" "));
    }
    steps
}

#[test]
fn kd_v6_curl_to_dual_and_ipv4_only_servers() {
    if !privileged("kd_v6_curl_to_dual_and_ipv4_only_servers") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_curl_to_dual_and_ipv4_only_servers", "v6b-");
    let mut dual = bed.serve(&bed.b, "python3 -m http.server --bind :: 80", 80);
    let mut v4 = bed.serve(&bed.b, "python3 -m http.server 8080", 8080);
    let cmds = [
        r"curl -s -o /dev/null -w %{http_code}/%{remote_ip}/%{remote_port}\n http://[2001:db8:1::20]/",
        r"curl -s -o /dev/null -w %{http_code}\n -g -6 http://[2001:db8:1::20]:80/",
        "curl -sS http://[2001:db8:1::20]:8080/",
        "curl -sS http://[2001:db8:1::20]:81/",
        "curl -sS -6 http://10.0.0.2/",
        r"curl -s -o /dev/null -w %{http_code}/%{remote_ip}\n http://[fe80::42:acff:fe11:3%25eth0]/",
        "curl -sS http://[fe80::42:acff:fe11:3%25eth9]/",
        // No IPv4 route there either: curl words it as over IPv6.
        "curl -sS http://192.0.2.1/",
    ];
    let kernel: Vec<(String, i64)> = cmds.iter().map(|c| bed.run_both(&bed.a, c)).collect();
    kill(&mut dual);
    kill(&mut v4);
    let v = hoplab(&after_servers("a", &cmds), None);
    for (i, (k, code)) in kernel.iter().enumerate() {
        let (ours, our_code) = step(&v, i + 2);
        assert_eq!(
            (without_ms(&ours), our_code),
            (without_ms(k), *code),
            "{}",
            cmds[i]
        );
    }
    assert_eq!(kernel[0].0, "200/2001:db8:1::20/80\n");
    assert_eq!(kernel[2].1, 7);
    assert!(
        kernel[7].0.ends_with("Couldn't connect to server\n"),
        "{}",
        kernel[7].0
    );
}

#[test]
fn kd_v6_loopback_address() {
    // ::1 on `lo`: a `[::]` server answers there, an IPv4-only one refuses, and the
    // kernel answers an echo request itself.
    if !privileged("kd_v6_loopback_address") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_loopback_address", "v6b-");
    let mut dual = bed.serve(&bed.b, "python3 -m http.server --bind :: 80", 80);
    let mut v4 = bed.serve(&bed.b, "python3 -m http.server 8080", 8080);
    let cmds = [
        r"curl -s -o /dev/null -w %{http_code}/%{remote_ip}\n http://[::1]/",
        "curl -sS http://[::1]:8080/",
        "ping -6 -c 1 ::1",
    ];
    let kernel: Vec<(String, i64)> = cmds.iter().map(|c| bed.run_both(&bed.b, c)).collect();
    kill(&mut dual);
    kill(&mut v4);
    let v = hoplab(&after_servers("b", &cmds), None);
    for (i, (k, code)) in kernel.iter().enumerate() {
        let (ours, our_code) = step(&v, i + 2);
        assert_eq!(
            (without_times(&without_ms(&ours)), our_code),
            (without_times(&without_ms(k)), *code),
            "{}",
            cmds[i]
        );
    }
    assert_eq!(kernel[0].0, "200/::1\n");
    assert_eq!(kernel[1].1, 7);
    assert_eq!(kernel[2].1, 0);
}

#[test]
fn kd_v6_ss_lists_dual_and_ipv4_listeners() {
    if !privileged("kd_v6_ss_lists_dual_and_ipv4_listeners") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_ss_lists_dual_and_ipv4_listeners", "v6b-");
    let mut dual = bed.serve(&bed.b, "python3 -m http.server --bind :: 80", 80);
    let mut v4 = bed.serve(&bed.b, "python3 -m http.server 8080", 8080);
    let cmds = ["ss -ltn", "ss -ltn -6", "ss -ltn4", "ss -lt --ipv6"];
    let kernel: Vec<(String, i64)> = cmds.iter().map(|c| bed.run(&bed.b, c)).collect();
    kill(&mut dual);
    kill(&mut v4);
    let mut steps = SERVERS.to_string();
    for c in cmds {
        steps += &format!("  - {{on: b, show: {c}}}\n");
    }
    let v = hoplab(&steps, None);
    for (i, (k, _)) in kernel.iter().enumerate() {
        assert_eq!(step(&v, i + 2).0, *k, "{}", cmds[i]);
    }
    assert!(kernel[1].0.contains("*:80"), "{}", kernel[1].0);
    assert!(!kernel[1].0.contains("8080"), "{}", kernel[1].0);
}

/// A command in namespace `ns` with `input` on its stdin: stderr then stdout, and its
/// exit code.
fn run_input(ns: &str, cmd: &str, input: &str) -> (String, i64) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd.split_whitespace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // nc's messages (stderr) come before what it receives, as a step's output has them.
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text += &String::from_utf8_lossy(&out.stdout);
    (text, i64::from(out.status.code().unwrap_or(-1)))
}

#[test]
fn kd_v6_nc_exchange_and_refusals() {
    if !privileged("kd_v6_nc_exchange_and_refusals") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_nc_exchange_and_refusals", "v6b-");
    // b: `nc -6 -l 1234` answering with a line, `nc -l 1235` on 0.0.0.0 alone.
    let server = Command::new("ip")
        .args(["netns", "exec", &bed.b, "nc", "-6", "-l", "1234"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut v4 = bed.serve(&bed.b, "nc -l 1235", 1235);
    for _ in 0..100 {
        if bed.run(&bed.b, "ss -Hltn").0.contains(":1234 ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut server = server;
    {
        use std::io::Write;
        let mut stdin = server.stdin.take().unwrap();
        stdin.write_all(b"hello-from-server\n").unwrap();
        // Kept open, as a step's input is: the server ends when the client closes.
        std::mem::forget(stdin);
    }
    let listing = bed.run(&bed.b, "ss -ltn");
    let cmds = [
        ("nc -v -N 2001:db8:1::20 1234", "hi\n"),
        ("nc -v 2001:db8:1::20 1235", ""),
        ("nc -6 -v 10.0.0.2 1235", ""),
        ("nc -4 -v 2001:db8:1::20 1235", ""),
        ("nc -v -z fe80::42:acff:fe11:3%eth0 1236", ""),
        ("nc -v -z fe80::42:acff:fe11:3%eth9 1236", ""),
    ];
    let kernel: Vec<(String, i64)> = cmds
        .iter()
        .map(|(c, input)| run_input(&bed.a, c, input))
        .collect();
    let served = server.wait_with_output().unwrap();
    kill(&mut v4);
    let mut steps = String::from(
        "  - {on: b, run: \"nc -6 -l 1234\", input: \"hello-from-server\\n\", background: true}\n  - {on: b, run: \"nc -l 1235\", background: true}\n  - {on: b, show: ss -ltn}\n",
    );
    for (i, (c, input)) in cmds.iter().enumerate() {
        let at = if i == 0 { "at: 1s, " } else { "" };
        let input = input.replace('\n', "\\n");
        steps += &format!("  - {{{at}on: a, run: \"{c}\", input: \"{input}\"}}\n");
    }
    let v = hoplab(&steps, None);
    assert_eq!(step(&v, 2).0, listing.0, "ss -ltn");
    for (i, k) in kernel.iter().enumerate() {
        assert_eq!(step(&v, i + 3), *k, "{}", cmds[i].0);
    }
    assert_eq!(
        step(&v, 0).0,
        String::from_utf8_lossy(&served.stdout),
        "the server's output"
    );
    assert_eq!(
        kernel[0].0,
        "Connection to 2001:db8:1::20 1234 port [tcp/*] succeeded!\nhello-from-server\n"
    );
    assert!(listing.0.contains("*:1234"), "{}", listing.0);
}

/// traceroute's times (`  0.042 ms`) taken out.
fn without_probe_times(text: &str) -> String {
    text.split("  ")
        .map(|w| match w.strip_suffix(" ms") {
            Some(t) if t.parse::<f64>().is_ok() => "T ms".to_string(),
            _ => match w.split_once(" ms\n") {
                Some((t, rest)) if t.parse::<f64>().is_ok() => format!("T ms\n{rest}"),
                _ => w.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join("  ")
}

#[test]
fn kd_v6_traceroute_on_a_link() {
    if !privileged("kd_v6_traceroute_on_a_link") {
        return;
    }
    if !common::have_tool("traceroute", "kd_v6_traceroute_on_a_link") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_traceroute_on_a_link", "v6b-");
    // The neighbour known first, and a pause past the kernel's ICMPv6 rate limit between
    // runs: hoplab limits no ICMPv6 error.
    bed.run(&bed.a, "ping -6 -c 1 2001:db8:1::20");
    let cmds = [
        "traceroute -6 2001:db8:1::20",
        "traceroute -6 -n 2001:db8:1::20",
        "traceroute 2001:db8:1::20",
        "traceroute -6 10.0.0.1",
        "traceroute -4 2001:db8:1::20",
    ];
    let kernel: Vec<(String, i64)> = cmds
        .iter()
        .map(|c| {
            std::thread::sleep(std::time::Duration::from_millis(1100));
            bed.run_both(&bed.a, c)
        })
        .collect();
    let mut steps = String::from("  - {on: a, run: \"ping -6 -c 1 2001:db8:1::20\"}\n");
    for (i, c) in cmds.iter().enumerate() {
        let at = if i == 0 { "at: 2s, " } else { "" };
        steps += &format!("  - {{{at}on: a, run: \"{c}\"}}\n");
    }
    let v = hoplab(&steps, None);
    for (i, (k, code)) in kernel.iter().enumerate() {
        let (ours, our_code) = step(&v, i + 1);
        assert_eq!(
            (without_probe_times(&ours), our_code),
            (without_probe_times(k), *code),
            "{}",
            cmds[i]
        );
    }
    assert!(
        without_probe_times(&kernel[0].0)
            .ends_with("\n 1  2001:db8:1::20 (2001:db8:1::20)  T ms  T ms  T ms\n"),
        "{}",
        kernel[0].0
    );
}

#[test]
fn kd_v6_nc_udp_exchange() {
    if !privileged("kd_v6_nc_udp_exchange") {
        return;
    }
    let bed = Bed::with_prefix("kd_v6_nc_udp_exchange", "v6b-");
    let mut server = Command::new("ip")
        .args(["netns", "exec", &bed.b, "nc", "-6", "-l", "-u", "1240"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if bed.run(&bed.b, "ss -Hluan").0.contains(":1240 ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let listening = bed.run(&bed.b, "ss -uln");
    {
        use std::io::Write;
        let mut stdin = server.stdin.take().unwrap();
        stdin.write_all(b"pong\n").unwrap();
        std::mem::forget(stdin);
    }
    let client = run_input(&bed.a, "nc -u -6 -w 1 2001:db8:1::20 1240", "dgram\n");
    let connected = bed.run(&bed.b, "ss -uan");
    let _ = server.kill();
    let served = server.wait_with_output().unwrap();
    let v = hoplab(
        "  - {on: b, run: \"nc -6 -l -u 1240\", input: \"pong\\n\", background: true}\n  - {on: b, show: ss -uln}\n  - {at: 1s, on: a, run: \"nc -u -6 -w 1 2001:db8:1::20 1240\", input: \"dgram\\n\"}\n  - {on: b, show: ss -uan}\n",
        None,
    );
    assert_eq!(step(&v, 1).0, listening.0, "ss -uln");
    assert_eq!(step(&v, 2), client, "the client");
    // The client's port is random in both: the connected line up to the peer's port.
    let cut = |t: &str| {
        t.rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_default()
    };
    assert_eq!(cut(&step(&v, 3).0), cut(&connected.0), "ss -uan");
    assert_eq!(
        step(&v, 0).0,
        String::from_utf8_lossy(&served.stdout),
        "the server's output"
    );
    assert_eq!(client.0, "pong\n");
    assert!(listening.0.contains("*:1240"), "{}", listening.0);
}
