//! TAP devices: a lab joined to the real Linux kernel, running in real time. Real programs in
//! a network namespace (`on: kernel`) talk to the lab's hosts through its bridges, routers
//! and NAT; bad frames the kernel writes are refused and counted; setup refusals are exit 2
//! and leave nothing behind; a signal mid-run leaves complete captures and no namespace or
//! TAP.
//!
//! All but `tap_step_show_at_trace_and_pace_are_refused` need root (CAP_NET_ADMIN and
//! /dev/net/tun). Each test has namespace and TAP names of its own, suffixed with this
//! process's id, so the tests run in parallel (with each other and with another `cargo test`
//! on the same machine; lab 20's names are fixed, so the tests that run it take
//! `common::real_kernel()`); a guard removes whatever a failing run left, and every test
//! also asserts that hoplab itself left nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_tshark_clean, have_net_admin, have_tool, text, tshark, tshark_lines};

/// Whether a test may run: CAP_NET_ADMIN and `tools` present (each check prints its reason
/// to skip, or fails under HOPLAB_REQUIRE_PRIVILEGED=1).
fn may_run(test: &str, tools: &[&str]) -> bool {
    have_net_admin(test) && tools.iter().all(|tool| have_tool(tool, test))
}
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Names, cleanup and "nothing left behind"

/// `prefix` with a suffix unique to this test process (at most 5 digits): `hlt-ping12345`.
/// Namespace and interface names are at most 15 characters.
fn unique(prefix: &str) -> String {
    let name = format!("{prefix}{}", std::process::id() % 100_000);
    assert!(name.len() <= 15, "{name} is too long for an interface name");
    name
}

/// What most tests make: a namespace `hlt-TAG…` and a TAP `hl-TAG…` that are removed
/// whatever happens (`_guard`), and a directory for the lab and its captures.
struct Sandbox {
    ns: String,
    tap: String,
    dir: tempfile::TempDir,
    _guard: Leftovers,
}

impl Sandbox {
    fn new(tag: &str) -> Sandbox {
        let (ns, tap) = (unique(&format!("hlt-{tag}")), unique(&format!("hl-{tag}")));
        Sandbox {
            _guard: Leftovers::new(&[&ns], &[&tap]),
            ns,
            tap,
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("run ip")
}

/// Runs `ip ARGS`, which must succeed.
fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        text(&out.stderr)
    );
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Whether a link of that name exists in this (the root) namespace.
fn link_exists(name: &str) -> bool {
    ip(&["link", "show", "dev", name]).status.success()
}

/// Removes, when dropped (also when a test fails), the namespaces and root-namespace links
/// a test or a failing hoplab left.
struct Leftovers {
    netns: Vec<String>,
    links: Vec<String>,
}

impl Leftovers {
    fn new(netns: &[&str], links: &[&str]) -> Leftovers {
        Leftovers {
            netns: netns.iter().map(|s| s.to_string()).collect(),
            links: links.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for ns in &self.netns {
            if netns_exists(ns) {
                let _ = ip(&["netns", "del", ns]);
            }
        }
        for link in &self.links {
            if link_exists(link) {
                let _ = ip(&["link", "del", "dev", link]);
            }
        }
    }
}

/// hoplab left neither the namespace nor any of the TAPs (in the root namespace), nor a
/// process whose command line holds `marker` (a kernel-side program it started).
fn assert_nothing_left(netns: Option<&str>, taps: &[&str], markers: &[&str]) {
    if let Some(ns) = netns {
        assert!(
            !netns_exists(ns),
            "hoplab left the network namespace {ns} (/run/netns/{ns})"
        );
        let list = text(&ip(&["netns", "list"]).stdout);
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns)),
            "ip netns list still lists {ns}:\n{list}"
        );
    }
    let links = text(&ip(&["-o", "link"]).stdout);
    for tap in taps {
        assert!(!link_exists(tap), "hoplab left the TAP {tap}");
        assert!(
            !links.contains(&format!(": {tap}:")),
            "ip -o link lists {tap}:\n{links}"
        );
    }
    for marker in markers {
        let left: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains(marker))
            .collect();
        assert!(
            left.is_empty(),
            "a kernel-side program outlived hoplab: {left:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Running hoplab

/// hoplab from the repository, without the environment switches that would change what
/// it believes about its privileges.
fn hoplab() -> Command {
    let mut c = common::hoplab();
    c.current_dir(common::repo())
        .env_remove("HOPLAB_NO_NET_ADMIN")
        .env_remove("HOPLAB_REQUIRE_PRIVILEGED");
    c
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A run with `--json`: exit code, report, standard error, capture directory.
struct Run {
    code: Option<i32>,
    report: Value,
    stderr: String,
    out: PathBuf,
}

/// Runs the lab `lab` (written to `dir/lab.yaml`) with `--json --out dir/out` and `extra`.
fn run_lab(dir: &Path, lab: &str, extra: &[&str]) -> Run {
    let path = write(dir, "lab.yaml", lab);
    let out = dir.join("out");
    let result = hoplab()
        .args(["run", s(&path), "--json", "--out", s(&out)])
        .args(extra)
        .output()
        .expect("run hoplab");
    let stderr = text(&result.stderr);
    let report = serde_json::from_slice(&result.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}), exit {:?}:\n{}\n{stderr}",
            result.status.code(),
            text(&result.stdout)
        )
    });
    Run {
        code: result.status.code(),
        report,
        stderr,
        out,
    }
}

/// Runs `hoplab ARGS`, for refusals (no JSON).
fn hoplab_out(args: &[&str]) -> Output {
    hoplab().args(args).output().expect("run hoplab")
}

/// The report and stderr, for assertion messages.
fn dump(r: &Run) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        r.code,
        serde_json::to_string_pretty(&r.report).unwrap(),
        r.stderr
    )
}

/// A lab that ran to its end and passed.
fn assert_passed(r: &Run) {
    assert_eq!(r.code, Some(0), "{}", dump(r));
    assert_eq!(r.report["passed"], true, "{}", dump(r));
    assert_eq!(r.report["interrupted"], false, "{}", dump(r));
}

/// The report's figures of TAP `name`.
fn tap_report<'r>(r: &'r Run, name: &str) -> &'r Value {
    r.report["tap"]["taps"]
        .as_array()
        .unwrap_or_else(|| panic!("no tap summary: {}", dump(r)))
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no TAP {name} in the summary: {}", dump(r)))
}

/// Step `i`'s command result.
fn result(r: &Run, i: usize) -> &Value {
    &r.report["steps"][i]["result"]
}

/// Frames of `file` that tshark's display filter `filter` matches.
fn count(file: &Path, filter: &str) -> usize {
    let out = tshark(file, &["-Y", filter, "-T", "fields", "-e", "frame.number"]);
    assert!(
        out.status.success(),
        "tshark -Y '{filter}' {}: {}",
        file.display(),
        text(&out.stderr)
    );
    tshark_lines(&out)
}

/// Frames at capture point `point` of the merged capture that `filter` matches.
fn count_at(out: &Path, point: &str, filter: &str) -> usize {
    count(
        &out.join("all.pcapng"),
        &format!("frame.interface_name == \"{point}\" && ({filter})"),
    )
}

/// Every capture the report lists, and every file in the capture directory.
fn assert_all_clean(r: &Run) {
    let mut files: Vec<PathBuf> = r.report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f["path"].as_str().unwrap()))
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("all.pcapng")),
        "{}",
        dump(r)
    );
    for e in std::fs::read_dir(&r.out).unwrap() {
        let p = e.unwrap().path();
        if !files.contains(&p) {
            files.push(p);
        }
    }
    for f in files {
        assert_tshark_clean(&f);
    }
}

// ---------------------------------------------------------------------------------------
// Labs

/// A bridge br0 with host c1 (`net`.2/24) on p1 and TAP `tap` (kernel `net`.1/24) on br0:tap,
/// in namespace `ns`; `link` is c1's link's extra settings (`rate: 10mbit`).
fn bridge_lab(ns: &str, tap: &str, net: &str, duration: &str, link: &str, steps: &str) -> String {
    format!(
        "version: 1
name: {ns}
duration: {duration}
bridges:
  - name: br0
    ports: [p1]
hosts:
  - name: c1
    interfaces: {{eth0: {net}.2/24}}
links:
  - {{a: c1:eth0, b: br0:p1{link}}}
kernel:
  netns: {ns}
taps:
  - name: {tap}
    plug: br0:tap
    ip: {net}.1/24
steps:
{steps}"
    )
}

/// A Docker host on the LAN 192.0.2.0/24 publishing web's port 80 on 8080; the kernel is on
/// the LAN at 192.0.2.1 through TAP `tap` (the Docker host's eth0), in namespace `ns`.
fn docker_lab(ns: &str, tap: &str, duration: &str, steps: &str) -> String {
    format!(
        "version: 1
name: {ns}
duration: {duration}
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24}}
  containers:
    - name: web
      publish: [\"8080:80\"]
      run: http-server 80
kernel:
  netns: {ns}
taps:
  - name: {tap}
    plug: dockerhost:eth0
    ip: 192.0.2.1/24
steps:
{steps}"
    )
}

// ---------------------------------------------------------------------------------------
// Traffic between the kernel and the lab

#[test]
fn tap_kernel_pings_a_container_through_the_lab_bridge() {
    if !may_run(
        "tap_kernel_pings_a_container_through_the_lab_bridge",
        &["tshark"],
    ) {
        return;
    }
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("ping");
    let lab = bridge_lab(
        &ns,
        &tap,
        "10.88.0",
        "4s",
        "",
        "  - {on: kernel, run: ping -c 3 -W 2 10.88.0.2, expect: {received: 3}}\n",
    );
    let r = run_lab(dir.path(), &lab, &["--capture", "both"]);
    assert_passed(&r);
    assert_eq!(result(&r, 0)["received"], 3, "{}", dump(&r));
    let t = tap_report(&r, &tap);
    assert_eq!(t["plug"], "br0:tap");
    assert!(t["from_kernel"].as_u64().unwrap() > 0, "{}", dump(&r));
    assert!(t["to_kernel"].as_u64().unwrap() > 0, "{}", dump(&r));
    assert_eq!(t["queue_dropped"], 0, "{}", dump(&r));
    // The replies reached the kernel's TAP; the requests reached c1 through the bridge. At
    // kernel:TAP, what the kernel sent is outbound (direction 2), what it got inbound (1).
    let at_tap = format!("kernel:{tap}");
    assert_eq!(
        count_at(
            &r.out,
            &at_tap,
            "icmp.type == 0 && ip.src == 10.88.0.2 && frame.packet_flags_direction == 1"
        ),
        3
    );
    assert_eq!(
        count_at(
            &r.out,
            &at_tap,
            "icmp.type == 8 && ip.src == 10.88.0.1 && frame.packet_flags_direction == 2"
        ),
        3
    );
    assert_eq!(
        count_at(&r.out, "c1:eth0", "icmp.type == 8 && ip.src == 10.88.0.1"),
        3
    );
    assert!(
        r.out.join(format!("kernel-{tap}.pcap")).exists(),
        "{}",
        dump(&r)
    );
    // What hoplab changed was announced, on stderr with --json.
    assert!(
        r.stderr
            .contains("hoplab changes the kernel for this lab (undone when it ends):"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("create network namespace {ns}")));
    assert!(r.stderr.contains(&format!("create TAP {tap} in {ns}")));
    assert_nothing_left(Some(&ns), &[&tap], &[]);
}

#[test]
fn tap_kernel_curls_a_published_port_through_dnat() {
    if !may_run(
        "tap_kernel_curls_a_published_port_through_dnat",
        &["tshark", "curl"],
    ) {
        return;
    }
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("dnat");
    let lab = docker_lab(
        &ns,
        &tap,
        "3s",
        "  - on: kernel
    run: curl -s -m 5 http://192.0.2.10:8080/
    expect:
      exit: 0
      contains: [\"Hello from web (172.17.0.2:80). You came from 192.0.2.1:\"]
",
    );
    let r = run_lab(dir.path(), &lab, &[]);
    assert_passed(&r);
    assert!(
        result(&r, 0)["output"]
            .as_str()
            .unwrap()
            .starts_with("Hello from web (172.17.0.2:80). You came from 192.0.2.1:"),
        "{}",
        dump(&r)
    );
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    // The kernel's SYN to the published port...
    assert_eq!(
        count_at(
            &r.out,
            &format!("kernel:{tap}"),
            &format!("{syn} && ip.src == 192.0.2.1 && ip.dst == 192.0.2.10 && tcp.dstport == 8080")
        ),
        1
    );
    // ...reaches web at 172.17.0.2:80, DNAT keeping the kernel's own address as the source.
    assert_eq!(
        count_at(
            &r.out,
            "web:eth0",
            &format!("{syn} && ip.src == 192.0.2.1 && ip.dst == 172.17.0.2 && tcp.dstport == 80")
        ),
        1
    );
    assert_nothing_left(Some(&ns), &[&tap], &[]);
}

/// Waits until something listens on HOST PORT (at most 10 s): the lab's next step may
/// connect. A bare connection makes Python's http.server log nothing.
const WAIT_FOR_PORT: &str = r#"import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection((host, port), timeout=1).close()
        break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit("nothing listens on %s:%d: %s" % (host, port, e))
        time.sleep(0.02)
print("listening")
"#;

#[test]
fn tap_container_curls_a_kernel_server_through_masquerade() {
    if !may_run(
        "tap_container_curls_a_kernel_server_through_masquerade",
        &["tshark", "python3"],
    ) {
        return;
    }
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("masq");
    // The server serves (and its command line names) a directory of this test's own.
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let wait = write(dir.path(), "wait_for_port.py", WAIT_FOR_PORT);
    let lab = docker_lab(
        &ns,
        &tap,
        "4s",
        &format!(
            "  - on: kernel
    run: python3 -m http.server 8000 --bind 192.0.2.1 --directory {www}
    background: true
  - on: kernel
    run: python3 {wait} 192.0.2.1 8000
    expect: {{exit: 0}}
  - on: web
    run: curl -s -I -m 5 http://192.0.2.1:8000/
    expect: {{status: 200}}
",
            www = s(&www),
            wait = s(&wait),
        ),
    );
    let r = run_lab(dir.path(), &lab, &[]);
    assert_passed(&r);
    assert_eq!(result(&r, 2)["status"], 200, "{}", dump(&r));
    // The server's log (its stderr) names the Docker host's LAN address: MASQUERADE.
    let log = result(&r, 0)["output"].as_str().unwrap();
    assert!(
        log.contains("192.0.2.10 - - [") && log.contains("\"HEAD / HTTP/1.1\" 200"),
        "{}",
        dump(&r)
    );
    assert!(!log.contains("172.17.0.2"), "{log}");
    assert_eq!(
        count_at(
            &r.out,
            &format!("kernel:{tap}"),
            "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 192.0.2.10 && ip.dst == 192.0.2.1 && tcp.dstport == 8000"
        ),
        1
    );
    // web sent it from its own address: the rewrite is the Docker host's.
    assert_eq!(
        count_at(
            &r.out,
            "web:eth0",
            "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 172.17.0.2 && tcp.dstport == 8000"
        ),
        1
    );
    assert_nothing_left(Some(&ns), &[&tap], &[s(&www)]);
}

// ---------------------------------------------------------------------------------------
// Bad frames from the kernel

/// Writes N frames of each class into TAP (argv 1, 2) through an AF_PACKET socket, after
/// raising the kernel side's MTU to 9000 so oversize frames can be sent at all. It paces
/// itself on the TAP's transmit counter in /proc/net/dev (this namespace's; a TAP counts a
/// frame transmitted when hoplab reads it), so neither the TAP's queue nor hoplab's
/// overflows however slowly hoplab runs; a drop is an error.
const BAD_FRAMES: &str = r#"import socket, struct, subprocess, sys, time

tap, n = sys.argv[1], int(sys.argv[2])
subprocess.run(["ip", "link", "set", tap, "mtu", "9000"], check=True)


def counters():
    for line in open("/proc/net/dev"):
        name, _, rest = line.partition(":")
        if name.strip() == tap:
            f = rest.split()
            return int(f[9]), int(f[11])  # transmit packets, transmit drops
    sys.exit("no %s in /proc/net/dev" % tap)


def checksum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def eth(ethertype):
    return b"\xff" * 6 + bytes.fromhex("020000000901") + struct.pack("!H", ethertype)


def ipv4_udp(good_checksum):
    udp = struct.pack("!HHHH", 1000, 2000, 12, 0) + b"abcd"
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                    bytes([10, 89, 0, 1]), bytes([10, 89, 0, 99]))
    c = checksum(h) if good_checksum else checksum(h) ^ 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:] + udp


good = ipv4_udp(True)
frames = [
    ("runt", eth(0x0806) + bytes(10)),            # ARP with 10 of its 28 bytes
    ("oversize", eth(0x0806) + bytes(1600 - 14)),  # 1600 > 14 + 1500
    ("bad_ip_header", eth(0x0800) + bytes([0x65]) + good[1:]),  # version 6
    ("bad_ip_checksum", eth(0x0800) + ipv4_udp(False)),
]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((tap, 0))
tx0, drop0 = counters()
sent = 0


def wait_for_hoplab(ahead):
    deadline = time.monotonic() + 20
    while sent - (counters()[0] - tx0) > ahead:
        if time.monotonic() > deadline:
            sys.exit("hoplab stopped reading %s: %d sent, %d read" % (tap, sent, counters()[0] - tx0))
        time.sleep(0.001)


for name, frame in frames:
    for _ in range(n):
        s.send(frame)
        sent += 1
        if sent % 50 == 0:
            wait_for_hoplab(200)
    print(name, n, len(frame))
wait_for_hoplab(0)
tx, drop = counters()
print("sent", sent, "read", tx - tx0, "dropped", drop - drop0)
sys.exit(1 if drop != drop0 else 0)
"#;

/// The RX errors of interface `iface` in an `ip -s link` listing.
fn rx_errors(listing: &str, iface: &str) -> u64 {
    let mut it = listing.lines();
    it.find(|l| {
        l.split(": ")
            .nth(1)
            .is_some_and(|n| n == iface || n.starts_with(&format!("{iface}@")))
    })
    .unwrap_or_else(|| panic!("no {iface} in:\n{listing}"));
    it.find(|l| l.trim_start().starts_with("RX:"))
        .unwrap_or_else(|| panic!("no RX line for {iface} in:\n{listing}"));
    let values = it.next().unwrap();
    // bytes packets errors dropped missed mcast
    values.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn tap_bad_frames_are_refused_and_counted_per_class() {
    if !may_run(
        "tap_bad_frames_are_refused_and_counted_per_class",
        &["tshark", "python3"],
    ) {
        return;
    }
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("bad");
    let script = write(dir.path(), "bad_frames.py", BAD_FRAMES);
    let lab = bridge_lab(
        &ns,
        &tap,
        "10.89.0",
        "5s",
        "",
        &format!(
            "  - {{on: kernel, run: python3 {} {tap} 1000, expect: {{exit: 0}}}}
  - {{on: kernel, run: ping -c 2 -i 0.2 -W 2 10.89.0.2, expect: {{received: 2}}}}
  - {{on: br0, show: ip -s link}}
",
            s(&script)
        ),
    );
    let r = run_lab(dir.path(), &lab, &[]);
    // The lab kept running: the ping after the bad frames passed.
    assert_passed(&r);
    let each = serde_json::json!({
        "runt": 1000, "oversize": 1000, "bad_ip_header": 1000, "bad_ip_checksum": 1000
    });
    assert_eq!(r.report["tap"]["refused"], each, "{}", dump(&r));
    let t = tap_report(&r, &tap);
    assert_eq!(t["refused"], each, "{}", dump(&r));
    assert_eq!(t["queue_dropped"], 0, "{}", dump(&r));
    // The good frames (ARP, pings) went in; refused ones are not counted as from the kernel.
    let from = t["from_kernel"].as_u64().unwrap();
    assert!((3..100).contains(&from), "{}", dump(&r));
    // Each refused frame is in the capture where the kernel wrote it, with its class.
    let at_tap = format!("kernel:{tap}");
    for class in ["runt", "oversize", "bad_ip_header", "bad_ip_checksum"] {
        assert_eq!(
            count_at(
                &r.out,
                &at_tap,
                &format!("frame.comment contains \"dropped: {class}\"")
            ),
            1000,
            "{class}"
        );
    }
    // None of them got past the TAP.
    let all = r.out.join("all.pcapng");
    assert_eq!(count(&all, "frame.comment contains \"dropped: \""), 4000);
    let forged = "eth.src == 02:00:00:00:09:01";
    assert_eq!(count(&all, forged), 4000);
    assert_eq!(
        count_at(
            &r.out,
            &at_tap,
            &format!("{forged} && frame.packet_flags_direction == 2")
        ),
        4000
    );
    // tshark finds nothing malformed in the merged capture but the refused frames.
    assert_tshark_clean(&all);
    // The bridge port the TAP plugs into counts them as receive errors.
    let listing = r.report["steps"][2]["listing"].as_str().unwrap();
    assert_eq!(rx_errors(listing, "tap"), 4000, "{listing}");
    assert_eq!(rx_errors(listing, "p1"), 0, "{listing}");
    assert_nothing_left(Some(&ns), &[&tap], &[s(&script)]);
}

// ---------------------------------------------------------------------------------------
// Signals

/// Starts a long transfer from c1's http-server to the kernel's curl, signals hoplab with
/// `signal` once the captures grow past `bytes`, and checks the run ended cleanly.
fn interrupt_mid_transfer(prefix: &str, signal: &str, bytes: u64) {
    let (ns, tap) = (
        unique(&format!("hlt-{prefix}")),
        unique(&format!("hl-{prefix}")),
    );
    let _guard = Leftovers::new(&[&ns], &[&tap]);
    let dir = tempfile::tempdir().unwrap();
    // curl's user agent marks it, to find it if it outlived hoplab.
    let lab = bridge_lab(
        &ns,
        &tap,
        "10.90.0",
        "60s",
        ", rate: 10mbit",
        &format!(
            "  - {{on: c1, run: http-server 80, background: true}}
  - {{on: kernel, run: curl -s -A {ns} -o /dev/null http://10.90.0.2:80/bytes/200000000, timeout: 60s}}
"
        ),
    );
    let path = write(dir.path(), "lab.yaml", &lab);
    let out = dir.path().join("out");
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = hoplab()
        .args(["run", s(&path), "--json", "--out", s(&out)])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let stderr_text = || std::fs::read_to_string(&stderr).unwrap_or_default();
    // Wait (at most 30 s) until the transfer is under way.
    let start = Instant::now();
    while std::fs::metadata(out.join("all.pcapng")).map_or(0, |m| m.len()) < bytes {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("hoplab ended early ({status}):\n{}", stderr_text());
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the transfer never started:\n{}", stderr_text());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Bounded: hoplab must end by itself, soon.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hoplab did not end after {signal}:\n{}", stderr_text());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let r = Run {
        code: status.code(),
        report: serde_json::from_slice(&std::fs::read(&stdout).unwrap()).unwrap_or_else(|e| {
            panic!(
                "{signal}: no JSON report ({e}), {status}:\n{}",
                stderr_text()
            )
        }),
        stderr: stderr_text(),
        out,
    };
    // As a shell reports a process a signal ended: 128 + SIGINT (2) or SIGTERM (15).
    let code = match signal {
        "-TERM" => 143,
        _ => 130,
    };
    assert_eq!(r.code, Some(code), "{signal}: {}", dump(&r));
    assert_eq!(r.report["interrupted"], true, "{}", dump(&r));
    assert_eq!(r.report["passed"], false, "{}", dump(&r));
    // The transfer was cut short: curl was stopped, not finished.
    assert_eq!(result(&r, 1)["stopped"], true, "{}", dump(&r));
    assert_ne!(result(&r, 1)["exit_code"], 0, "{}", dump(&r));
    assert!(
        tap_report(&r, &tap)["to_kernel"].as_u64().unwrap() > 10,
        "{}",
        dump(&r)
    );
    assert_all_clean(&r);
    assert_nothing_left(Some(&ns), &[&tap], &[&format!("-A {ns}")]);
}

#[test]
fn tap_sigint_mid_transfer_leaves_clean_captures_and_nothing_behind() {
    let name = "tap_sigint_mid_transfer_leaves_clean_captures_and_nothing_behind";
    if !may_run(name, &["tshark"]) {
        return;
    }
    interrupt_mid_transfer("int", "-INT", 256 * 1024);
    interrupt_mid_transfer("term", "-TERM", 64 * 1024);
}

// ---------------------------------------------------------------------------------------
// Setup refusals

/// Whether `setpriv` can run a program without CAP_NET_ADMIN here (it can as root), and
/// does take the capability away; otherwise skip (or fail under HOPLAB_REQUIRE_PRIVILEGED=1).
fn can_drop_net_admin(test: &str) -> bool {
    let out = Command::new("setpriv")
        .args(["--bounding-set=-net_admin", "cat", "/proc/self/status"])
        .output();
    let ok = out.as_ref().is_ok_and(|o| {
        o.status.success() && o.stdout.starts_with(b"Name:") && {
            let status = text(&o.stdout);
            !hoplab::scenario::grade::cap_eff_has_net_admin(&status)
        }
    });
    ok || common::skip(
        test,
        &format!("setpriv --bounding-set=-net_admin cannot drop CAP_NET_ADMIN here: {out:?}"),
    )
}

/// `hoplab ARGS` run by setpriv without CAP_NET_ADMIN.
fn without_net_admin(args: &[&str]) -> Output {
    Command::new("setpriv")
        .arg("--bounding-set=-net_admin")
        .arg(env!("CARGO_BIN_EXE_hoplab"))
        .args(args)
        .current_dir(common::repo())
        .env_remove("HOPLAB_NO_NET_ADMIN")
        .env_remove("HOPLAB_REQUIRE_PRIVILEGED")
        .output()
        .expect("run setpriv")
}

#[test]
fn tap_without_net_admin_is_a_clear_error_and_leaves_nothing() {
    let name = "tap_without_net_admin_is_a_clear_error_and_leaves_nothing";
    if !have_net_admin(name) || !can_drop_net_admin(name) {
        return;
    }
    // Lab 20 runs below (refused, but its names are fixed).
    let _kernel = common::real_kernel();
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("nocap");
    // No `requires:`: the TAP setup itself refuses.
    let lab = write(
        dir.path(),
        "lab.yaml",
        &bridge_lab(
            &ns,
            &tap,
            "10.91.0",
            "2s",
            "",
            "  - {on: kernel, run: ping -c 1 -W 1 10.91.0.2}\n",
        ),
    );
    let out_dir = dir.path().join("out");
    for json in [false, true] {
        let mut args = vec!["run", s(&lab), "--out", s(&out_dir)];
        if json {
            args.push("--json");
        }
        let out = without_net_admin(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "json {json}: {err}");
        for needle in ["CAP_NET_ADMIN", "sudo", "setcap cap_net_admin+ep"] {
            assert!(
                err.contains(needle),
                "json {json}: no {needle:?} in:\n{err}"
            );
        }
        // Nothing was made, so nothing is announced as made.
        let all = format!("{}{err}", text(&out.stdout));
        assert!(
            !all.contains("create network namespace") && !all.contains("create TAP"),
            "{all}"
        );
        assert_nothing_left(Some(&ns), &[&tap], &[]);
    }

    // A lab that says `requires: [net_admin]` is skipped by `hoplab test`...
    let lab20 = "scenarios/20-tap-kernel.yaml";
    let out = without_net_admin(&["test", lab20]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("skipped"), "{all}");
    assert!(all.contains("CAP_NET_ADMIN"), "{all}");
    // ...and refused by `hoplab run`, with the capability named.
    let out = without_net_admin(&["run", lab20, "--capture", "none"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    assert!(err.contains("setcap cap_net_admin+ep"), "{err}");
    assert_nothing_left(Some("hl-tapkernel"), &["hl-lan0", "hl-br0"], &[]);
}

/// Makes a plain (not TAP) link `name` in the root namespace: a dummy, or where the kernel
/// has no dummy driver, a bridge.
fn add_plain_link(name: &str) {
    if ip(&["link", "add", name, "type", "dummy"]).status.success() {
        return;
    }
    ip_ok(&["link", "add", name, "type", "bridge"]);
}

/// What hoplab must leave as it found it on a link: flags, MTU, state, MAC (`ip -o link`
/// without the qdisc, which the kernel attaches the first time a link goes up).
fn link_facts(name: &str) -> String {
    let out = ip(&["-o", "link", "show", "dev", name]);
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let line = text(&out.stdout);
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut facts = vec![words[2].to_string()]; // <FLAGS>
    for key in ["mtu", "state", "link/ether"] {
        if let Some(i) = words.iter().position(|w| *w == key) {
            facts.push(format!("{key} {}", words[i + 1]));
        }
    }
    facts.join(" ")
}

/// A trivial lab: TAP `tap` plugged into a bridge port, in hoplab's own namespace.
fn root_lab(tap: &str, tap_settings: &str) -> String {
    format!(
        "version: 1
name: {tap}
duration: 1s
bridges:
  - name: br0
    ports: [p1]
taps:
  - name: {tap}
    plug: br0:tap
{tap_settings}"
    )
}

#[test]
fn tap_refuses_a_device_that_is_not_a_tap_and_a_name_in_use() {
    let name = "tap_refuses_a_device_that_is_not_a_tap_and_a_name_in_use";
    if !have_net_admin(name) {
        return;
    }
    let (dummy, busy) = (unique("hl-tdum"), unique("hl-tbusy"));
    let (busy_ns, busy_ns_tap) = (unique("hlt-busy"), unique("hl-busyns"));
    let _guard = Leftovers::new(&[&busy_ns], &[&dummy, &busy]);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");

    // A device that is not a TAP: refused, and left exactly as it was.
    add_plain_link(&dummy);
    let before = link_facts(&dummy);
    let lab = write(
        dir.path(),
        "dummy.yaml",
        &root_lab(&dummy, "    existing: true\n    mtu: 1400\n"),
    );
    let out = hoplab_out(&["run", s(&lab), "--out", s(&out_dir)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&dummy) && err.contains("not a TAP"), "{err}");
    assert_eq!(link_facts(&dummy), before, "hoplab changed {dummy}");
    ip_ok(&["link", "del", "dev", &dummy]);

    // A persistent TAP: a lab that would create one of that name is refused...
    ip_ok(&["tuntap", "add", "dev", &busy, "mode", "tap"]);
    let before = link_facts(&busy);
    let lab = write(
        dir.path(),
        "create.yaml",
        &root_lab(&busy, "    mtu: 1400\n"),
    );
    let out = hoplab_out(&["run", s(&lab), "--out", s(&out_dir)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&busy) && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(link_facts(&busy), before);

    // ...and one that attaches to it runs, then leaves it as it was: still there, still a
    // TAP, its MTU, state and MAC back, the address hoplab added gone.
    let r = run_lab(
        dir.path(),
        &root_lab(
            &busy,
            "    existing: true\n    mtu: 1400\n    ip: 198.18.213.1/24\n    mac: \"02:00:00:00:21:01\"\n",
        ),
        &[],
    );
    assert_passed(&r);
    assert_eq!(tap_report(&r, &busy)["plug"], "br0:tap");
    assert!(
        r.stderr
            .contains(&format!("attach to the existing TAP {busy}")),
        "{}",
        r.stderr
    );
    assert!(link_exists(&busy), "the persistent TAP {busy} is gone");
    let details = text(&ip(&["-d", "link", "show", "dev", &busy]).stdout);
    assert!(details.contains("tun type tap"), "{details}");
    assert_eq!(link_facts(&busy), before);
    let addrs = text(&ip(&["-o", "-4", "addr", "show", "dev", &busy]).stdout);
    assert!(addrs.trim().is_empty(), "{addrs}");
    ip_ok(&["link", "del", "dev", &busy]);
    assert!(!link_exists(&busy));

    // A namespace name in use (a stale one, or another lab's): refused, and that namespace
    // is left alone, with what is in it.
    ip_ok(&["netns", "add", &busy_ns]);
    ip_ok(&["-n", &busy_ns, "link", "add", "hl-mark", "type", "bridge"]);
    let lab = write(
        dir.path(),
        "netns.yaml",
        &bridge_lab(
            &busy_ns,
            &busy_ns_tap,
            "10.94.0",
            "1s",
            "",
            "  - {on: c1, show: ip addr}\n",
        ),
    );
    let out = hoplab_out(&["run", s(&lab), "--out", s(&out_dir)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("network namespace {busy_ns} already exists")),
        "{err}"
    );
    assert!(
        netns_exists(&busy_ns),
        "hoplab removed a namespace it did not make"
    );
    let inside = text(&ip(&["-n", &busy_ns, "-o", "link"]).stdout);
    assert!(inside.contains(": hl-mark:"), "{inside}");
    assert!(!inside.contains(&busy_ns_tap), "{inside}");
    ip_ok(&["netns", "del", &busy_ns]);
}

#[test]
fn tap_refuses_routes_overlapping_the_hosts_unless_allowed() {
    let name = "tap_refuses_routes_overlapping_the_hosts_unless_allowed";
    if !have_net_admin(name) {
        return;
    }
    let (host, tap) = (unique("hl-trt"), unique("hl-trtx"));
    let _guard = Leftovers::new(&[], &[&host, &tap]);
    let dir = tempfile::tempdir().unwrap();
    // The host's own route to 10.213.7.0/24.
    add_plain_link(&host);
    ip_ok(&["addr", "add", "10.213.7.1/24", "dev", &host]);
    ip_ok(&["link", "set", "dev", &host, "up"]);
    let route = || text(&ip(&["-4", "route", "show", "10.213.7.0/24"]).stdout);
    assert!(route().contains(&format!("dev {host}")), "{}", route());

    let lab = write(
        dir.path(),
        "lab.yaml",
        &root_lab(&tap, "    ip: 10.213.7.50/24\n"),
    );
    let out_dir = dir.path().join("out");
    let out = hoplab_out(&["run", s(&lab), "--out", s(&out_dir)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--allow-host-routes"), "{err}");
    assert!(err.contains("10.213.7.0/24"), "{err}");
    assert_nothing_left(None, &[&tap], &[]);

    // The same for a route of the lab's `routes:`.
    let lab = write(
        dir.path(),
        "routes.yaml",
        &root_lab(
            &tap,
            "    ip: 198.18.214.1/24\n    routes: [\"10.213.0.0/16 via 198.18.214.2\"]\n",
        ),
    );
    let out = hoplab_out(&["run", s(&lab), "--out", s(&out_dir)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--allow-host-routes"), "{err}");
    assert!(err.contains("10.213.0.0/16"), "{err}");
    assert_nothing_left(None, &[&tap], &[]);

    let r = run_lab(
        dir.path(),
        &root_lab(&tap, "    ip: 10.213.7.50/24\n"),
        &["--allow-host-routes"],
    );
    assert_passed(&r);
    assert_eq!(tap_report(&r, &tap)["plug"], "br0:tap");
    assert_nothing_left(None, &[&tap], &[]);
    // The host's route is untouched.
    let now = route();
    assert!(now.contains(&format!("dev {host}")), "{now}");
    assert!(!now.contains(&tap), "{now}");
}

#[test]
fn tap_step_show_at_trace_and_pace_are_refused() {
    // No privilege needed: these are refused when the lab is loaded.
    let Sandbox {
        ns,
        tap,
        dir,
        _guard,
    } = Sandbox::new("load");
    let lab = write(
        dir.path(),
        "lab.yaml",
        &bridge_lab(
            &ns,
            &tap,
            "10.92.0",
            "2s",
            "",
            "  - {on: kernel, run: ping -c 1 -W 1 10.92.0.2}\n",
        ),
    );
    let out_dir = dir.path().join("out");
    let (lab, out_dir) = (s(&lab), s(&out_dir));
    for args in [
        vec!["run", lab, "--step", "--out", out_dir],
        vec!["show", lab, "--on", "c1", "--at", "1s", "ip neigh"],
        vec!["trace", lab, "--packet", "1"],
        vec!["run", lab, "--pace", "1", "--out", out_dir],
    ] {
        let out = hoplab().args(&args).stdin(Stdio::null()).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("real time"), "{args:?}: {err}");
        assert!(
            !text(&out.stdout).contains("hoplab changes the kernel"),
            "{args:?}"
        );
        assert_nothing_left(Some(&ns), &[&tap], &[]);
    }
}

// ---------------------------------------------------------------------------------------
// The shipped lab

#[test]
fn tap_lab_20_passes_and_its_captures_are_tshark_clean() {
    let name = "tap_lab_20_passes_and_its_captures_are_tshark_clean";
    if !may_run(name, &["tshark", "python3"]) {
        return;
    }
    let _kernel = common::real_kernel();
    let _guard = Leftovers::new(&["hl-tapkernel"], &["hl-lan0", "hl-br0"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = hoplab()
        .args([
            "run",
            "scenarios/20-tap-kernel.yaml",
            "--json",
            "--out",
            s(&out),
        ])
        .output()
        .unwrap();
    let r = Run {
        code: result.status.code(),
        report: serde_json::from_slice(&result.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&result.stderr))),
        stderr: text(&result.stderr),
        out,
    };
    assert_passed(&r);
    let tap = &r.report["tap"];
    assert!(tap["lag_max_ms"].is_number(), "{}", dump(&r));
    assert!(tap["wall_seconds"].is_number(), "{}", dump(&r));
    assert_eq!(tap["refused"]["runt"], 0);
    for (name, plug) in [("hl-lan0", "dockerhost:eth0"), ("hl-br0", "docker0:hl-br0")] {
        let t = tap_report(&r, name);
        assert_eq!(t["plug"], plug);
        assert!(t["from_kernel"].as_u64().unwrap() > 0, "{}", dump(&r));
        assert!(t["to_kernel"].as_u64().unwrap() > 0, "{}", dump(&r));
    }
    assert_all_clean(&r);
    assert_nothing_left(Some("hl-tapkernel"), &["hl-lan0", "hl-br0"], &[]);
}
