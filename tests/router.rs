//! The router's kernel behaviours, through labs: what comes back to a sender, and when.

mod common;

use common::{run, text};

/// h1 — r1 — h2, with r1's second link MTU 1400.
const LAB: &str = "version: 1
name: router
captures: merged
hosts:
  - name: h1
    interfaces: {eth0: 10.0.1.10/24}
    gateway: 10.0.1.1
  - name: h2
    interfaces: {eth0: {ip: 10.0.2.10/24, mtu: 1400}}
    gateway: 10.0.2.1
routers:
  - name: r1
    interfaces:
      eth0: 10.0.1.1/24
      eth1: {ip: 10.0.2.1/24, mtu: 1400}
links:
  - [h1:eth0, r1:eth0]
  - {a: r1:eth1, b: h2:eth0, mtu: 1400}
";

fn lab(steps: &str) -> (serde_json::Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, format!("{LAB}steps:\n{steps}")).unwrap();
    let out = run(&[
        "run",
        path.to_str().unwrap(),
        "--json",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        text(&out.stderr)
    );
    (serde_json::from_slice(&out.stdout).expect("json"), dir)
}

fn output(v: &serde_json::Value, step: usize) -> String {
    let s = &v["steps"][step];
    s["result"]["output"]
        .as_str()
        .or(s["listing"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn an_unanswered_arp_ends_in_host_unreachable_after_three_probes() {
    let (v, _d) = lab("  - {on: h1, run: ping -c 1 -W 5 10.0.2.99}
  - {on: r1, show: ip neigh}
");
    let out = output(&v, 0);
    assert!(
        out.contains("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable"),
        "{out}"
    );
    // iputils counts the time to the error: three ARP probes one second apart.
    assert!(
        out.contains("+1 errors, 100% packet loss, time 3000ms"),
        "{out}"
    );
    assert!(
        output(&v, 1).contains("10.0.2.99 dev eth1 FAILED"),
        "{}",
        output(&v, 1)
    );
}

#[test]
fn forwarding_off_drops_silently_and_on_again_forwards() {
    let (v, _d) = lab("  - {on: r1, run: sysctl -w net.ipv4.ip_forward=0}
  - {on: h1, run: ping -c 1 -W 2 10.0.2.10, expect: {received: 0}}
  - {on: h1, run: ping -c 1 10.0.1.1, expect: {received: 1}}
  - {on: r1, run: sysctl -w net.ipv4.ip_forward=1}
  - {on: h1, run: ping -c 1 10.0.2.10, expect: {received: 1}}
");
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(output(&v, 0), "net.ipv4.ip_forward = 0\n");
    assert!(
        !output(&v, 1).contains("From "),
        "no ICMP error when forwarding is off"
    );
}

#[test]
fn a_packet_too_big_with_df_gets_fragmentation_needed_with_the_mtu() {
    let (v, _d) = lab("  - {on: h1, run: ping -c 1 -s 1400 10.0.2.10}
  - {on: h1, run: ping -c 1 -s 1372 10.0.2.10, expect: {received: 1}}
");
    let out = output(&v, 0);
    assert!(
        out.contains("From 10.0.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)"),
        "{out}"
    );
    assert_eq!(v["steps"][1]["result"]["received"], 1);
}

#[test]
fn the_router_answers_pings_refuses_tcp_and_udp_and_lists_its_routes() {
    let (v, _d) = lab(
        "  - {on: h1, run: ping -c 1 10.0.2.1, expect: {received: 1}}
  - {on: h1, run: curl http://10.0.1.1/, expect: {exit: 7}}
  - {on: h1, run: nc -u -w 1 10.0.1.1 9999, input: \"x\"}
  - {on: r1, run: ip route add 10.9.0.0/16 via 10.0.2.10 metric 5}
  - {on: r1, run: ip route add 10.8.0.0/16 via 192.0.2.1, expect: {exit: 2}}
  - {on: r1, show: ip route}
  - {on: h1, run: ping -c 1 -W 1 10.7.0.1}
",
    );
    assert_eq!(v["steps"][0]["result"]["received"], 1);
    assert!(
        output(&v, 1).contains("Couldn't connect to server"),
        "{}",
        output(&v, 1)
    );
    assert_eq!(output(&v, 4), "Error: Nexthop has invalid gateway.\n");
    assert_eq!(
        output(&v, 5),
        "10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1 \n\
         10.0.2.0/24 dev eth1 proto kernel scope link src 10.0.2.1 \n\
         10.9.0.0/16 via 10.0.2.10 dev eth1 metric 5 \n"
    );
    assert!(output(&v, 6).contains("From 10.0.1.1 icmp_seq=1 Destination Net Unreachable"));
}

#[test]
fn bad_route_in_a_lab_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    let body = LAB.replace(
        "      eth1: {ip: 10.0.2.1/24, mtu: 1400}\n",
        "      eth1: {ip: 10.0.2.1/24, mtu: 1400}\n    routes:\n      - ip route add 10.5.0.0/16 via 172.16.0.1\n",
    );
    std::fs::write(&path, body).unwrap();
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml:17:9: field 'routes': Error: Nexthop has invalid gateway."),
        "{err}"
    );
}

#[test]
fn conntrack_lists_flows_as_the_kernel_does() {
    let (v, _d) = lab("  - {on: h2, run: http-server 80, background: true}
  - {on: h1, run: curl -s --local-port 40000 http://10.0.2.10/}
  - {on: h1, run: nc -u -w 1 10.0.2.10 7777, input: x}
  - {on: h1, run: curl -s http://10.0.2.10:81/}
  - {on: r1, show: conntrack -L}
  - {on: r1, run: conntrack -F}
  - {on: r1, show: conntrack -L}
");
    let list = output(&v, 4);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(lines[0].starts_with("tcp      6 "), "{list}");
    assert!(lines[0].contains(" TIME_WAIT src=10.0.1.10 dst=10.0.2.10 sport=40000 dport=80 src=10.0.2.10 dst=10.0.1.10 sport=80 dport=40000 [ASSURED] mark=0 use=1"), "{list}");
    // A port-unreachable answer is RELATED and leaves the flow unreplied; a reset answering
    // a SYN leaves no entry at all.
    assert!(lines[1].starts_with("udp      17 "), "{list}");
    assert!(
        lines[1].contains("dport=7777 [UNREPLIED] src=10.0.2.10"),
        "{list}"
    );
    assert_eq!(
        lines[2],
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown."
    );
    assert_eq!(
        output(&v, 6),
        "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n"
    );
}

#[test]
fn programs_run_on_the_router_itself_through_output_input_and_lo() {
    let (v, _d) = lab("  - {on: h2, run: http-server 80, background: true}
  - {on: r1, run: http-server 8080, background: true}
  - {on: r1, run: ping -c 1 10.0.2.10, expect: {received: 1}}
  - {on: r1, run: curl -s --local-port 40000 http://10.0.2.10/}
  - {on: h1, run: curl -s http://10.0.1.1:8080/}
  - {on: r1, run: curl -s http://127.0.0.1:8080/}
  - {on: r1, run: iptables -A OUTPUT -o lo -j DROP}
  - {on: r1, run: curl -s -m 1 http://10.0.2.1:8080/, expect: {exit: 28}}
  - {on: r1, run: traceroute -n -q 1 10.0.2.10}
expect:
  - {capture: r1:eth1, filter: \"ip.src == 10.0.2.1 && tcp.srcport == 40000\", at_least: 3}
  - {capture: r1:eth0, filter: \"ip.addr == 127.0.0.1\", count: 0}
");
    assert_eq!(
        output(&v, 3),
        "Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:40000.\n"
    );
    assert!(output(&v, 4).starts_with("Hello from r1 (10.0.1.1:8080). You came from 10.0.1.10:"));
    assert!(output(&v, 5).starts_with("Hello from r1 (127.0.0.1:8080). You came from 127.0.0.1:"));
    assert!(
        output(&v, 8).contains(" 1  10.0.2.10 "),
        "{}",
        output(&v, 8)
    );
    // The router's own packets are on the wire of its egress interface, from its address;
    // loopback traffic is not.
    for e in v["expectations"].as_array().unwrap() {
        assert_eq!(e["pass"], true, "{e}");
    }
    assert_eq!(v["expectations"].as_array().unwrap().len(), 2);
}

#[test]
fn address_classes_are_read_for_rules_added_after_packets_passed() {
    // The first ping passes a FORWARD rule that reads no address class; then rules that do
    // (`-m addrtype`, nft's `fib daddr type`) must see them.
    let (v, _d) = lab("  - {on: r1, run: iptables -A FORWARD -p udp -j ACCEPT}
  - on: h1
    run: ping -c 1 -W 1 10.0.2.10
    expect: {received: 1}
  - {on: r1, run: iptables -I INPUT -m addrtype --dst-type LOCAL -p icmp -j DROP}
  - on: h1
    run: ping -c 1 -W 1 10.0.1.1
    expect: {received: 0}
  - {on: r1, run: iptables -F INPUT}
  - {on: r1, run: nft add table ip t}
  - {on: r1, run: \"nft 'add chain ip t i { type filter hook input priority 0; }'\"}
  - {on: r1, run: nft add rule ip t i icmp type echo-request counter}
  - on: h1
    run: ping -c 1 -W 1 10.0.1.1
    expect: {received: 1}
  - {on: r1, run: nft add rule ip t i fib daddr type local icmp type echo-request drop}
  - on: h1
    run: ping -c 1 -W 1 10.0.1.1
    expect: {received: 0}
");
    for s in v["steps"].as_array().unwrap() {
        for c in s["checks"].as_array().into_iter().flatten() {
            assert_eq!(c["pass"], true, "{}: {c}", s["command"]);
        }
    }
}
