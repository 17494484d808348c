//! `ss` on hosts and on a router's own stack, `| grep` after a step's command, and `sysctl`
//! listings on routers, through small labs.

mod common;

use hoplab::scenario::run::RunReport;

/// h1 — r1 — h2; r1 drops TCP to port 81, so a connection there stays in SYN-SENT.
const LAB: &str = "version: 1
name: ss
captures: none
hosts:
  - {name: h1, interfaces: {eth0: 10.0.1.10/24}, gateway: 10.0.1.1}
  - {name: h2, interfaces: {eth0: 10.0.2.10/24}, gateway: 10.0.2.1}
routers:
  - name: r1
    interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}
    iptables: [iptables -A FORWARD -p tcp --dport 81 -j DROP]
links:
  - [h1:eth0, r1:eth0]
  - [r1:eth1, h2:eth0]
steps:
";

fn run(steps: &str) -> RunReport {
    common::run_lab_text(&format!("{LAB}{steps}"), "ss.yaml")
}

/// The text of step `name` (its output or listing) and its exit code (0 for a listing).
fn out(r: &RunReport, name: &str) -> (i32, String) {
    common::step_out(r, name)
}

fn text(r: &RunReport, name: &str) -> String {
    out(r, name).1
}

#[test]
fn ss_lists_listeners_connections_and_udp_sockets() {
    let r = run("  - {on: h2, run: http-server 80, background: true}
  - {on: h2, run: nc -u -l 5353, background: true}
  - {name: uln, at: 500ms, on: h2, show: ss -uln}
  - {name: h1-connects, at: 1s, on: h1, run: nc -p 40000 10.0.2.10 80, background: true}
  - {name: h1-udp, on: h1, run: nc -u -p 40001 10.0.2.10 5353, input: hello, background: true}
  - {name: h1-stuck, on: h1, run: nc -p 40002 10.0.2.10 81, background: true}
  - {name: tln, at: 2s, on: h2, show: ss -tln}
  - {name: uln-after, on: h2, show: ss -uln}
  - {name: tulnp, on: h2, show: ss -tulnp}
  - {name: h2-tan, on: h2, show: ss -tan}
  - {name: h1-tanp, on: h1, show: ss -tanp}
  - {name: h1-uan, on: h1, run: ss -uan}
  - {name: h1-default, on: h1, show: ss}
");
    assert_eq!(
        text(&r, "tln"),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         LISTEN 0      5            0.0.0.0:80        0.0.0.0:*          \n"
    );
    assert_eq!(
        text(&r, "uln"),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         UNCONN 0      0            0.0.0.0:5353      0.0.0.0:*          \n"
    );
    // The UDP listener connected to its first sender, as netcat does: it is no longer
    // listening. Pids count from 1 in the order the host's programs started.
    assert_eq!(
        text(&r, "uln-after"),
        "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
    );
    assert_eq!(
        text(&r, "tulnp"),
        "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         tcp   LISTEN 0      5            0.0.0.0:80        0.0.0.0:*    users:((\"http-server\",pid=1,fd=3))\n"
    );
    assert_eq!(
        text(&r, "h2-tan"),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n\
         LISTEN 0      5            0.0.0.0:80        0.0.0.0:*           \n\
         ESTAB  0      0          10.0.2.10:80      10.0.1.10:40000       \n"
    );
    // A connection waiting for its SYN's answer has the SYN in its Send-Q.
    assert_eq!(
        text(&r, "h1-tanp"),
        "State    Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess                   \n\
         ESTAB    0      0          10.0.1.10:40000    10.0.2.10:80   users:((\"nc\",pid=1,fd=3))\n\
         SYN-SENT 0      1          10.0.1.10:40002    10.0.2.10:81   users:((\"nc\",pid=3,fd=3))\n"
    );
    // `run:` gives the same listing; a connected UDP socket is ESTAB.
    assert_eq!(
        out(&r, "h1-uan"),
        (
            0,
            "State Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
             ESTAB 0      0          10.0.1.10:40001    10.0.2.10:5353       \n"
                .to_string()
        )
    );
    // Without options: every kind of socket that is connected, with the Netid column, and
    // ports named.
    assert_eq!(
        text(&r, "h1-default"),
        "Netid State    Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
         udp   ESTAB    0      0          10.0.1.10:40001    10.0.2.10:mdns       \n\
         tcp   ESTAB    0      0          10.0.1.10:40000    10.0.2.10:http       \n\
         tcp   SYN-SENT 0      1          10.0.1.10:40002    10.0.2.10:81         \n"
    );
}

/// The side that closes first keeps the connection in TIME-WAIT for 60 s, as Linux does,
/// though smoltcp lets go of the socket after 10.
#[test]
fn time_wait_after_a_close_lasts_as_long_as_linux_keeps_it() {
    let r = run("  - {on: h2, run: http-server 80, background: true}
  - {at: 1s, on: h1, run: curl -s --local-port 40000 http://10.0.2.10/}
  - {name: after, after: 100ms, on: h2, show: ss -tan state time-wait}
  - {name: client, on: h1, show: ss -tan}
  - {name: later, at: 31s, on: h2, show: ss -tan}
  - {name: gone, at: 62s, on: h2, show: ss -tan}
");
    let tw = "Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n\
              0      0          10.0.2.10:80      10.0.1.10:40000       \n";
    assert_eq!(text(&r, "after"), tw);
    assert_eq!(
        text(&r, "client"),
        "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
    );
    assert_eq!(
        text(&r, "later"),
        "State     Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n\
         LISTEN    0      5            0.0.0.0:80        0.0.0.0:*           \n\
         TIME-WAIT 0      0          10.0.2.10:80      10.0.1.10:40000       \n"
    );
    assert_eq!(
        text(&r, "gone"),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         LISTEN 0      5            0.0.0.0:80        0.0.0.0:*          \n"
    );
}

#[test]
fn grep_after_a_pipe_filters_a_command_or_a_listing() {
    let r = run("  - {on: h2, run: http-server 8080, background: true}
  - {name: found, at: 1s, on: h2, run: ss -tlnp | grep :8080}
  - {name: missing, on: h2, run: ss -tlnp | grep :9090, expect: {exit: 1}}
  - {name: fallback, on: h2, run: ss -tln | grep -q :9090 || ss -H -tln}
  - {name: shown, on: h2, show: ss -tln | grep -v State}
");
    assert_eq!(
        out(&r, "found"),
        (
            0,
            "LISTEN 0      5            0.0.0.0:8080      0.0.0.0:*    users:((\"http-server\",pid=1,fd=3))\n"
                .to_string()
        )
    );
    assert_eq!(out(&r, "missing"), (1, String::new()));
    assert_eq!(
        out(&r, "fallback"),
        (
            0,
            "LISTEN 0      5      0.0.0.0:8080 0.0.0.0:*\n".to_string()
        )
    );
    assert_eq!(
        text(&r, "shown"),
        "LISTEN 0      5            0.0.0.0:8080      0.0.0.0:*          \n"
    );
}

#[test]
fn ss_on_a_routers_own_stack() {
    let r = run("  - {name: idle, on: r1, run: ss -tan}
  - {on: r1, run: http-server 8080, background: true}
  - {at: 1s, on: h1, run: curl -s --local-port 40000 http://10.0.1.1:8080/}
  - {name: served, after: 10ms, on: r1, show: ss -tanp}
");
    assert_eq!(
        out(&r, "idle"),
        (
            0,
            "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n".to_string()
        )
    );
    // A router's programs are numbered from 1000; the one that closed first keeps TIME-WAIT.
    assert_eq!(
        text(&r, "served"),
        format!(
            "State     Recv-Q Send-Q Local Address:Port Peer Address:Port Process{0}\n\
             LISTEN    0      5            0.0.0.0:8080      0.0.0.0:*     users:((\"http-server\",pid=1000,fd=3))\n\
             TIME-WAIT 0      0           10.0.1.1:8080    10.0.1.10:40000 {0}      \n",
            " ".repeat(31)
        )
    );
}

#[test]
fn sysctl_lists_what_a_router_models() {
    let r = run("  - {name: all, on: r1, show: sysctl -a}
  - {name: dir, on: r1, run: sysctl net.ipv4.conf.all}
  - {name: pattern, on: r1, run: sysctl -a -r forward}
  - {name: grep, on: r1, run: sysctl -a | grep forward}
  - {name: names, on: r1, run: sysctl -N -r 'conf\\.eth0' -a}
  - {name: set, on: r1, run: sysctl -w net.ipv4.ip_forward=7 net.ipv4.conf.eth1.rp_filter=2}
  - {name: get, on: r1, run: sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.eth1.rp_filter}
  - {name: unmodelled, on: r1, run: sysctl -w net.ipv4.conf.all.proxy_arp=1, expect: {exit: 1}}
  - {name: missing, on: r1, run: sysctl net.ipv4.conf.bogus.rp_filter, expect: {exit: 1}}
  - {name: not-a-number, on: r1, run: sysctl -w net.ipv4.ip_forward=yes, expect: {exit: 1}}
  - {name: read-only, on: r1, run: sysctl -w net.netfilter.nf_conntrack_count=5}
");
    assert_eq!(
        text(&r, "all"),
        "net.bridge.bridge-nf-call-ip6tables = 0
net.bridge.bridge-nf-call-iptables = 0
net.ipv4.conf.all.arp_ignore = 0
net.ipv4.conf.all.forwarding = 1
net.ipv4.conf.all.route_localnet = 0
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.arp_ignore = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.eth0.arp_ignore = 0
net.ipv4.conf.eth0.route_localnet = 0
net.ipv4.conf.eth0.rp_filter = 0
net.ipv4.conf.eth1.arp_ignore = 0
net.ipv4.conf.eth1.route_localnet = 0
net.ipv4.conf.eth1.rp_filter = 0
net.ipv4.ip_forward = 1
net.ipv6.conf.all.forwarding = 1
net.netfilter.nf_conntrack_count = 0
net.netfilter.nf_conntrack_max = 262144
net.nf_conntrack_max = 262144
"
    );
    assert_eq!(
        text(&r, "dir"),
        "net.ipv4.conf.all.arp_ignore = 0
net.ipv4.conf.all.forwarding = 1
net.ipv4.conf.all.route_localnet = 0
net.ipv4.conf.all.rp_filter = 0
"
    );
    let forward = "net.ipv4.conf.all.forwarding = 1\nnet.ipv4.ip_forward = 1\n\
                   net.ipv6.conf.all.forwarding = 1\n";
    assert_eq!(text(&r, "pattern"), forward);
    assert_eq!(text(&r, "grep"), forward);
    assert_eq!(
        text(&r, "names"),
        "net.ipv4.conf.eth0.arp_ignore\nnet.ipv4.conf.eth0.route_localnet\nnet.ipv4.conf.eth0.rp_filter\n"
    );
    // sysctl echoes what it wrote; the kernel keeps any integer, hoplab the switch it sets.
    assert_eq!(
        out(&r, "set"),
        (
            0,
            "net.ipv4.ip_forward = 7\nnet.ipv4.conf.eth1.rp_filter = 2\n".to_string()
        )
    );
    assert_eq!(text(&r, "get"), "1\n1\n2\n");
    assert_eq!(
        out(&r, "unmodelled"),
        (
            1,
            "hoplab: sysctl net.ipv4.conf.all.proxy_arp is not modelled\n".to_string()
        )
    );
    assert_eq!(
        out(&r, "missing"),
        (
            1,
            "sysctl: cannot stat /proc/sys/net/ipv4/conf/bogus/rp_filter: No such file or directory\n"
                .to_string()
        )
    );
    let invalid = |k: &str| format!("sysctl: setting key \"{k}\": Invalid argument\n");
    assert_eq!(out(&r, "not-a-number"), (1, invalid("net.ipv4.ip_forward")));
    assert_eq!(
        out(&r, "read-only"),
        (0, invalid("net.netfilter.nf_conntrack_count"))
    );
}

mod kernel;

/// h1 — r1 — h2 in both worlds; r1 drops TCP to port 81.
fn kd_topo() -> kernel::Topo {
    kernel::Topo {
        nodes: vec![
            kernel::host("h1", "10.0.1.10/24", "10.0.1.1"),
            kernel::router(
                "r1",
                &[("eth0", "10.0.1.1/24"), ("eth1", "10.0.2.1/24")],
                &[],
            )
            .rules(&["iptables -A FORWARD -p tcp --dport 81 -j DROP"]),
            kernel::host("h2", "10.0.2.10/24", "10.0.2.1"),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "h2", "eth0", 1500),
        ],
    }
}

/// `text` with every `pid=DIGITS` as `pid=N`.
fn without_pids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("pid=") {
        out += &rest[..at + 4];
        rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out + rest
}

/// Runs `steps` in both worlds and holds each listing to the kernel's, byte for byte but
/// for what no two systems share: a pid (as `pid=N`), and the order of sockets within the
/// listing, which in the kernel follows its hash tables (the lines are compared sorted;
/// without `-p` no column's width depends on their order).
fn kd_compare(case: &str, steps: &[kernel::Step]) -> Option<Vec<kernel::Out>> {
    if !kernel::privileged(case) {
        return None;
    }
    let topo = kd_topo();
    let k = kernel::kernel_steps(case, &topo, steps);
    let h = kernel::hoplab_steps(&topo, steps);
    let norm = |t: &str| {
        let t = without_pids(t);
        let mut lines: Vec<&str> = t.lines().collect();
        let body = if lines.first().is_some_and(|l| l.contains("Local Address")) {
            1
        } else {
            0
        };
        lines[body..].sort_unstable();
        lines.join("\n")
    };
    for (i, step) in steps.iter().enumerate() {
        if !matches!(step, kernel::Step::Show(..)) {
            continue;
        }
        assert!(
            !k[i].text.is_empty(),
            "{case}: {step:?}: the kernel printed nothing"
        );
        assert_eq!(
            norm(&h[i].text),
            norm(&k[i].text),
            "{case}: {step:?}: hoplab (left) and the kernel (right) differ"
        );
    }
    Some(k)
}

#[test]
fn kd_ss_listeners() {
    use kernel::Step::{Bg, Show};
    kd_compare(
        "kd_ss_listeners",
        &[
            Bg("h2", "nc -l 8080", 8080),
            Bg("h2", "nc -u -l 5353", 5353),
            Show("h2", "ss -tln"),
            Show("h2", "ss -uln"),
            Show("h2", "ss -tuln"),
            Show("h2", "ss -tlnp"),
            Show("h2", "ss -tl"),
            Show("h2", "ss -tlnp | grep :8080"),
        ],
    );
}

#[test]
fn kd_ss_connections() {
    use kernel::Step::{Bg, Client, Pause, Show};
    kd_compare(
        "kd_ss_connections",
        &[
            Bg("h2", "nc -lk 8080", 8080),
            Client("h1", "nc -p 40000 10.0.2.10 8080"),
            Client("h1", "nc -p 40002 10.0.2.10 81"),
            Pause,
            Show("h2", "ss -tan"),
            Show("h1", "ss -tan"),
            Show("h1", "ss -tn"),
            Show("h1", "ss -tn state established"),
            Show("h2", "ss -ta"),
        ],
    );
}

/// The client closes first (`nc -N` shuts its side once the input is sent), so the
/// TIME-WAIT is on its side, whichever world runs it.
#[test]
fn kd_ss_time_wait() {
    use kernel::Step::{Bg, Pause, Run, Show};
    let k = kd_compare(
        "kd_ss_time_wait",
        &[
            Bg("h2", "nc -l 8080", 8080),
            Run("h1", "nc -N -p 40000 10.0.2.10 8080", "x"),
            Pause,
            Show("h1", "ss -tan"),
            Show("h1", "ss -tan state time-wait"),
            Show("h2", "ss -tan"),
        ],
    );
    if let Some(k) = k {
        assert!(k[3].text.contains("TIME-WAIT 0"), "{}", k[3].text);
    }
}

#[test]
fn kd_ss_udp() {
    use kernel::Step::{Bg, Client, Show};
    kd_compare(
        "kd_ss_udp",
        &[
            Bg("h2", "nc -u -l 5353", 5353),
            Client("h1", "nc -u -p 40001 10.0.2.10 5353"),
            Show("h1", "ss -uan"),
            Show("h2", "ss -uan"),
            Show("h1", "ss -tuan"),
        ],
    );
}

/// sysctl's answers on a router, status included: reads, writes, a key the kernel does not
/// have, a value it refuses, `-n`, and `-a -r` over keys both worlds have the same.
#[test]
fn kd_sysctl_reads_writes_and_refusals() {
    use kernel::run;
    let case = "kd_sysctl";
    if !kernel::privileged(case) {
        return;
    }
    let steps = [
        run("r1", "sysctl net.ipv4.ip_forward"),
        run("r1", "sysctl -w net.ipv4.conf.eth1.rp_filter=2"),
        run("r1", "sysctl -n net.ipv4.conf.eth1.rp_filter"),
        run("r1", "sysctl net.ipv4.conf.eth0.route_localnet=1"),
        run("r1", "sysctl net.ipv4.conf.bogus.rp_filter"),
        run("r1", "sysctl -w net.ipv4.ip_forward=yes"),
        run("r1", "sysctl -w net.netfilter.nf_conntrack_count=5"),
        run("r1", "sysctl -a -r 'ip_forward$'"),
        run("r1", "sysctl -a -r '^net.ipv4.conf.eth1.r'"),
        run("r1", "sysctl -a | grep -c 'net.ipv4.conf.eth0.rp_filter'"),
    ];
    let topo = kd_topo();
    let k = kernel::kernel_steps(case, &topo, &steps);
    let h = kernel::hoplab_steps(&topo, &steps);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            (h[i].code, &h[i].text),
            (k[i].code, &k[i].text),
            "{step:?}: hoplab (left) and the kernel (right) differ"
        );
    }
}
