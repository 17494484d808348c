//! `hoplab explain`: one packet sent into a router as a lab left it, and why it met its
//! fate. (The rules it reports are checked against the kernel's TRACE in
//! `kernel_diff_explain.rs`.)

mod common;

use common::{run, text};

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// A router between a LAN and a "WAN" host, with a mark rule, a drop and a MASQUERADE.
const LAB: &str = r#"version: 1
name: explained
routers:
  - name: r1
    interfaces: {eth0: 10.0.1.1/24, eth1: 198.51.100.1/24}
    iptables:
      - iptables -P FORWARD DROP
      - iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      - iptables -A FORWARD -m mark --mark 0x1 -j DROP
      - iptables -A FORWARD -i eth0 -o eth1 -j ACCEPT
      - iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE
hosts:
  - {name: h1, interfaces: {eth0: 10.0.1.10/24}, gateway: 10.0.1.1}
  - {name: wan, interfaces: {eth0: 198.51.100.7/24}}
links:
  - [h1:eth0, r1:eth0]
  - [wan:eth0, r1:eth1]
steps:
  - {on: h1, run: ping -c 1 198.51.100.7, expect: {received: 1}}
"#;

fn explain(args: &[&str]) -> (Option<i32>, String, String) {
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "lab.yaml", LAB);
    explain_file(&f, "r1", args)
}

/// `hoplab explain FILE --on NODE ARGS...`: exit code, stdout, stderr.
fn explain_file(file: &str, on: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut argv = vec!["explain", file, "--on", on];
    argv.extend_from_slice(args);
    let out = run(&argv);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_forwarded_packet_shows_every_rule_the_nat_and_how_it_leaves() {
    let (code, out, err) = explain(&[
        "--packet",
        "tcp 10.0.1.10:40000 -> 198.51.100.7:443 in eth0",
    ]);
    assert_eq!(code, Some(0), "{err}");
    for line in [
        "packet: 10.0.1.10.40000 > 198.51.100.7.443: Flags [S], length 0",
        "  conntrack: NEW",
        "  filter FORWARD: ACCEPT",
        "      FORWARD  #1   no match",
        "      FORWARD  #2   no match",
        "      FORWARD  #3   -A FORWARD -i eth0 -o eth1 -j ACCEPT  (2 packets, ",
        "  nat POSTROUTING: MASQUERADE",
        "  MASQUERADE src 10.0.1.10:40000 → 198.51.100.1:40000",
        "  route: ip rule 32766 (from all lookup main), table main: 198.51.100.0/24 dev eth1",
        "fate: forwarded out eth1 (directly connected)",
        "  leaves as: 198.51.100.1.40000 > 198.51.100.7.443: Flags [S], length 0",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn a_mark_reaches_the_rules_and_the_drop_is_the_fate() {
    let (code, out, err) = explain(&[
        "--packet",
        "tcp 10.0.1.10:40000 -> 198.51.100.7:443 in eth0 [state NEW] [mark 0x1]",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(", mark 0x1"), "{out}");
    assert!(
        out.contains(
            "      FORWARD  #2   -A FORWARD -m mark --mark 0x1 -j DROP  (1 packets, 44 bytes)"
        ),
        "{out}"
    );
    assert!(out.contains("  filter FORWARD: DROP"), "{out}");
    assert!(out.contains("fate: dropped by netfilter"), "{out}");
    assert!(!out.contains("leaves as"), "{out}");
}

#[test]
fn an_established_packet_is_accepted_by_the_conntrack_rule() {
    let (code, out, err) = explain(&[
        "--packet",
        "tcp 198.51.100.7:443 -> 10.0.1.10:40000 in eth1 state ESTABLISHED",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("  conntrack: ESTABLISHED"), "{out}");
    assert!(
        out.contains(
            "FORWARD  #1   -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ),
        "{out}"
    );
    assert!(out.contains("Flags [.]"), "{out}");
}

#[test]
fn a_packet_for_the_router_shows_its_answer_apart() {
    let (code, out, err) = explain(&["--packet", "icmp 10.0.1.10 -> 10.0.1.1 in eth0"]);
    assert_eq!(code, Some(0), "{err}");
    let answer = out.find("  its answer:").expect(&out);
    let local = out
        .find("route: ip rule 0 (from all lookup local), table local: local 10.0.1.1")
        .expect(&out);
    let input = out.find("  filter INPUT: ACCEPT").expect(&out);
    assert!(local < input && input < answer, "{out}");
    assert!(out.contains("fate: delivered to r1 itself"), "{out}");
    assert!(
        out.contains("sent on r1:eth0: 10.0.1.1 > 10.0.1.10: ICMP echo reply"),
        "{out}"
    );
}

#[test]
fn json_gives_the_same_as_data() {
    let (code, out, err) = explain(&[
        "--json",
        "--packet",
        "udp 10.0.1.10:5000 -> 198.51.100.7:53 in eth0 len 12",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["node"], "r1");
    assert_eq!(v["in"], "eth0");
    assert_eq!(v["fate"]["kind"], "forwarded");
    assert_eq!(v["fate"]["iface"], "eth1");
    let tables: Vec<&serde_json::Value> = v["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "table")
        .collect();
    let forward = tables
        .iter()
        .find(|t| t["table"] == "filter" && t["hook"] == "FORWARD")
        .unwrap();
    assert_eq!(forward["verdict"], "ACCEPT");
    let matched: Vec<&serde_json::Value> = forward["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["matched"] == true)
        .collect();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0]["rule"], 3);
    assert_eq!(matched[0]["packets"], 2);
}

#[test]
fn at_a_time_before_a_rule_sees_the_network_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let lab = LAB.replace(
        "steps:\n",
        "steps:\n  - {at: 2s, on: r1, run: iptables -I FORWARD -p udp -j DROP}\n",
    );
    let f = write(&d, "lab.yaml", &lab);
    let spec = "udp 10.0.1.10:5000 -> 198.51.100.7:53 in eth0";
    let before = run(&["explain", &f, "--on", "r1", "--at", "1s", "--packet", spec]);
    let after = run(&["explain", &f, "--on", "r1", "--packet", spec]);
    assert!(
        text(&before.stdout).contains("fate: forwarded out eth1"),
        "{}",
        text(&before.stdout)
    );
    assert!(
        text(&after.stdout).contains("fate: dropped by netfilter"),
        "{}",
        text(&after.stdout)
    );
}

#[test]
fn bad_input_is_exit_2_naming_the_token() {
    for (args, says) in [
        (
            vec!["--packet", "tcp 10.0.1.10:1 -> 198.51.100.7:2 in eth9"],
            "'r1' has no interface 'eth9' (it has eth0, eth1)",
        ),
        (
            vec!["--packet", "tcp 10.0.1.10 -> 198.51.100.7:2 in eth0"],
            "'10.0.1.10' needs a port",
        ),
        (
            vec![
                "--packet",
                "tcp 10.0.1.10:1 -> 198.51.100.7:2 in eth0 state INVALID",
            ],
            "state 'INVALID'",
        ),
        (
            vec![
                "--packet",
                "tcp 10.0.1.10:1 -> 198.51.100.7:2 in eth0",
                "--at",
                "9h",
            ],
            "ends at 1.000080 s, before that",
        ),
    ] {
        let (code, out, err) = explain(&args);
        assert_eq!(code, Some(2), "{args:?}: {out}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let d = tempfile::tempdir().unwrap();
    let f = write(&d, "lab.yaml", LAB);
    let out = run(&[
        "explain",
        &f,
        "--on",
        "h1",
        "--packet",
        "icmp 10.0.1.1 -> 10.0.1.10 in eth0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'h1' is a host"),
        "{}",
        text(&out.stderr)
    );
}

/// A router alone, as `hoplab import` makes one without LAN dumps: no links, no steps
/// but a listing; the packet still meets its rules and routes.
#[test]
fn a_router_with_no_links_answers_too() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        &d,
        "lab.yaml",
        r#"version: 1
name: alone
routers:
  - name: host
    interfaces: {eth0: 192.0.2.10/24, docker0: 172.17.0.1/16}
    routes: [ip route add default via 192.0.2.1]
    iptables:
      - iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
      - iptables -P FORWARD DROP
      - iptables -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
steps:
  - {on: host, show: iptables-save}
"#,
    );
    let out = run(&[
        "explain",
        &f,
        "--on",
        "host",
        "--packet",
        "tcp 172.17.0.2:40000 -> 8.8.8.8:443 in docker0",
    ]);
    let text = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("table main: default via 192.0.2.1 dev eth0"),
        "{text}"
    );
    assert!(
        text.contains("MASQUERADE src 172.17.0.2:40000 → 192.0.2.10:40000"),
        "{text}"
    );
    assert!(
        text.contains("fate: forwarded out eth0 via 192.0.2.1"),
        "{text}"
    );
    let out = run(&[
        "explain",
        &f,
        "--on",
        "host",
        "--packet",
        "tcp 192.0.2.99:40000 -> 172.17.0.2:80 in eth0",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("FORWARD  policy DROP"), "{text}");
    assert!(text.contains("fate: dropped by netfilter"), "{text}");
}

/// An IPv6 packet through a Docker host (lab 15): ip6tables' tables walked as iptables'
/// are, DNAT66 to the container, and the routed network's DROP for an unpublished port.
#[test]
fn an_ipv6_packet_walks_ip6tables() {
    let lab = common::repo().join("scenarios/15-docker-ipv6.yaml");
    let explain6 =
        |packet: &str| explain_file(lab.to_str().unwrap(), "dockerhost", &["--packet", packet]);
    let (code, out, err) =
        explain6("tcp [2001:db8:0:2::7]:40000 -> [2001:db8:0:1::10]:8080 in eth0");
    assert_eq!(code, Some(0), "{err}");
    for line in [
        "packet: 2001:db8:0:2::7.40000 > 2001:db8:0:1::10.8080: Flags [S], length 0",
        "  conntrack: NEW",
        "  nat PREROUTING: DNAT",
        "      DOCKER      #1   -A DOCKER ! -i br-71491a049608 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:db8:18::2]:80  (",
        "  DNAT dst [2001:db8:0:1::10]:8080 → [fd00:db8:18::2]:80",
        "matched fd00:db8:18::2 (longest prefix); hop limit 64 -> 63",
        "  filter FORWARD: ACCEPT",
        "fate: forwarded out br-71491a049608 (directly connected)",
        "  leaves as: 2001:db8:0:2::7.40000 > fd00:db8:18::2.80: Flags [S], length 0",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let (code, out, err) = explain6("tcp [2001:db8:0:2::7]:40001 -> [2001:db8:42::2]:81 in eth0");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("-A DOCKER ! -i br-bca833abf60a -o br-bca833abf60a -j DROP  ("),
        "{out}"
    );
    assert!(
        out.contains("fate: dropped by netfilter (the verdict above)"),
        "{out}"
    );
    let (code, out, err) = explain6("icmpv6 2001:db8:0:2::7 -> 2001:db8:0:1::10 in eth0");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("fate: delivered to dockerhost itself"),
        "{out}"
    );
    assert!(out.contains("ICMP6, echo reply"), "{out}");
}
