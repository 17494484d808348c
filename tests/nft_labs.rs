//! nftables in labs: labs 19 and 21 pass, a router's `nftables:` ruleset loads at start, a
//! bad one and an `nft` step with a syntax error are the lab's errors (exit 2, located),
//! and a Docker host with `firewall_backend: nftables` rewrites its tables as containers
//! stop and start.

mod common;

use common::{lab_report, repo, run, text};

fn lab_file(name: &str) -> String {
    std::fs::read_to_string(repo().join("scenarios").join(name)).unwrap()
}

/// The listing a `show:` step printed, by its command, the `nth` time it was shown.
fn listing(report: &serde_json::Value, on: &str, command: &str, nth: usize) -> String {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["on"] == on && s["command"] == command)
        .nth(nth)
        .unwrap_or_else(|| panic!("no step {nth} `{command}` on {on}"))["listing"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_all_held(report: &serde_json::Value) {
    for s in report["steps"].as_array().unwrap() {
        for c in s["checks"].as_array().into_iter().flatten() {
            assert_eq!(c["pass"], true, "{}: {c}", s["command"]);
        }
    }
    for e in report["expectations"].as_array().unwrap() {
        assert_eq!(e["pass"], true, "{e}");
    }
}

#[test]
fn lab19_nftables_basics_passes() {
    let (code, report) = lab_report(&lab_file("19-nftables-basics.yaml"));
    assert_eq!(code, Some(0), "{report}");
    assert_all_held(&report);
    // The NAT table's counters: two connections DNATed, one masqueraded.
    let nat = listing(&report, "fw", "nft list table ip nat", 0);
    assert!(
        nat.contains(
            "iifname \"eth0\" tcp dport @web counter packets 2 bytes 104 dnat to 10.0.0.2"
        ),
        "{nat}"
    );
    assert!(
        nat.contains("oifname \"eth0\" counter packets 1 bytes 52 masquerade"),
        "{nat}"
    );
    // The inet table's policy counter: two SYNs to port 8080 and the first neighbour
    // solicitation for fw's IPv6 address (72 bytes); the second passed the ICMPv6 rule.
    let input = listing(&report, "fw", "nft list chain inet hostfw input", 1);
    assert!(
        input.contains("counter packets 3 bytes 176 comment \"dropped by policy\""),
        "{input}"
    );
}

#[test]
fn lab21_docker_nftables_passes_and_updates_only_what_changed() {
    let (code, report) = lab_report(&lab_file("21-docker-nftables.yaml"));
    assert_eq!(code, Some(0), "{report}");
    assert_all_held(&report);
    let table = "nft list table ip docker-bridges";
    let last = listing(&report, "dockerhost", table, 0);
    // web restarted: its DNAT and its direct-access drop come after the others' (Docker
    // appends to a rule group), with fresh counters; the chains nothing changed in keep
    // theirs.
    let dnat = last.find("tcp dport 8080 counter packets 1").unwrap();
    assert!(last.find("tcp dport 8081").unwrap() < dnat, "{last}");
    let direct = last
        .find("ip daddr 172.17.0.2 iifname != \"docker0\" counter packets 0")
        .unwrap();
    assert!(
        last.find("ip daddr 172.17.0.5 iifname").unwrap() < direct,
        "{last}"
    );
    assert!(
        last.contains("fib daddr type local counter packets 10 bytes 520 jump"),
        "{last}"
    );
    // The iptables-backend host beside it has Docker's iptables chains; this one has none.
    let xt = listing(&report, "xthost", "iptables -S", 0);
    assert!(xt.contains("-A DOCKER-FORWARD -j DOCKER-CT"), "{xt}");
    assert_eq!(
        listing(&report, "dockerhost", "iptables -S", 0),
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    );
}

const ROUTER_LAB: &str = r#"version: 1
name: router-nftables
routers:
  - name: fw
    interfaces: {eth0: 10.0.0.1/24}
    nftables: |
      table inet hostfw {
        chain input {
          type filter hook input priority filter; policy drop;
          icmp type echo-request counter accept
        }
      }
hosts:
  - {name: a, interfaces: {eth0: 10.0.0.2/24}}
links:
  - [a:eth0, fw:eth0]
steps:
  - on: a
    run: ping -c 1 -W 1 10.0.0.1
    expect: {received: 1}
  - on: a
    run: curl -s -m 1 http://10.0.0.1/
    expect: {exit: 28}
  - on: fw
    run: nft delete table ip nothing
    expect: {exit: 1}
  - on: fw
    show: nft list ruleset
    expect: {contains: ["icmp type echo-request counter packets 1 bytes 84 accept"]}
"#;

#[test]
fn a_router_nftables_ruleset_loads_at_start() {
    let (code, report) = lab_report(ROUTER_LAB);
    assert_eq!(code, Some(0), "{report}");
    assert_all_held(&report);
}

fn lab_error(lab: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, lab).unwrap();
    let out = run(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    text(&out.stderr)
}

#[test]
fn a_bad_nftables_ruleset_is_located() {
    let err = lab_error(&ROUTER_LAB.replace("policy drop;", "policy dropp;"));
    assert!(err.contains("lab.yaml:7:7: field 'nftables'"), "{err}");
    assert!(
        err.contains("Error: syntax error, unexpected string, expecting accept or drop"),
        "{err}"
    );
}

#[test]
fn an_nft_step_with_a_syntax_error_is_the_labs_error() {
    let lab = ROUTER_LAB.replace(
        "run: nft delete table ip nothing",
        "run: nft add rule inet hostfw input tcp dport 22 acept",
    );
    let err = lab_error(&lab);
    assert!(err.contains("field 'run': Error: syntax error"), "{err}");
}

#[test]
fn trace_names_the_nft_rule_that_dropped_a_packet() {
    let lab = repo().join("scenarios/19-nftables-basics.yaml");
    let out = run(&[
        "trace",
        lab.to_str().unwrap(),
        "--match",
        "tcp.dstport == 8080",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(
        t.contains(
            "nft inet hostfw input: handle 2 no match, handle 3 no match, handle 4 no match, \
             handle 5 no match, handle 7 no match, handle 8: counter packets 1 bytes 52 \
             comment \"dropped by policy\" (verdict continue), policy drop => drop"
        ),
        "{t}"
    );
}

#[test]
fn explain_names_the_nft_rules_by_table_chain_and_handle() {
    let lab = repo().join("scenarios/21-docker-nftables.yaml");
    let out = run(&[
        "explain",
        lab.to_str().unwrap(),
        "--on",
        "dockerhost",
        "--packet",
        "tcp 192.0.2.3:40000 -> 192.0.2.10:8080 in eth0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for want in [
        "nft ip docker-bridges nat-PREROUTING: handle 20: fib daddr type local",
        "nat-prerouting-and-output handle 51: iifname != \"docker0\" tcp dport 8080",
        "DNAT dst 192.0.2.10:8080 → 172.17.0.2:80",
        "nft ip user-filter forward: handle 2 no match, handle 3: iifname \"eth0\" ip saddr != 192.0.2.2 ct original proto-dst 8080",
        "(verdict drop) => drop",
        "fate: dropped by netfilter",
    ] {
        assert!(t.contains(want), "{want}\n{t}");
    }
}

/// The rules of `tests/fixtures/nft-1.1.3/`, in order.
const MASK_RULES: [&str; 17] = [
    "tcp flags & syn == syn",
    "tcp flags & (syn|ack) == 0",
    "tcp flags & (syn|ack) != 0",
    "tcp flags syn / syn,ack",
    "tcp flags & (fin|syn|rst|ack) != syn",
    "tcp flags & (syn|ack) == syn|ack",
    "ct state & established == established",
    "ct status & dnat == dnat",
    "limit rate 5/second",
    "limit rate 5/second burst 1 packets",
    "limit rate over 1/minute",
    "limit rate 10 mbytes/second",
    "icmp code port-unreachable",
    "icmp type destination-unreachable icmp code 1",
    "meta mark & 0xff == 0x1",
    "ct mark & 0xf0 == 0x10",
    "tcp dport 22 ct state new limit rate 3/minute accept",
];

#[test]
fn nft_version_1_1_lists_as_nft_1_1_3() {
    let mut lab = String::from(
        "version: 1\nname: nft-1-1\nrouters:\n  - name: r\n    interfaces: {eth0: 10.0.0.1/24}\n    nft_version: \"1.1\"\nsteps:\n  - {on: r, run: nft add table ip t}\n  - {on: r, run: \"nft 'add chain ip t c { type filter hook input priority 0; }'\"}\n",
    );
    for r in MASK_RULES {
        lab.push_str(&format!(
            "  - {{on: r, run: \"nft 'add rule ip t c {r}'\"}}\n"
        ));
    }
    lab.push_str("  - {on: r, show: nft list ruleset}\n  - {on: r, show: nft -n list ruleset}\n");
    let (code, report) = lab_report(&lab);
    assert_eq!(code, Some(0), "{report}");
    let fixture =
        |f: &str| std::fs::read_to_string(repo().join("tests/fixtures/nft-1.1.3").join(f)).unwrap();
    assert_eq!(
        listing(&report, "r", "nft list ruleset", 0),
        fixture("masks-limits-codes.txt")
    );
    assert_eq!(
        listing(&report, "r", "nft -n list ruleset", 0),
        fixture("masks-limits-codes-n.txt")
    );
    // A version nft never had is the lab's error.
    let err = lab_error(&lab.replace("nft_version: \"1.1\"", "nft_version: \"1.2\""));
    assert!(
        err.contains("field 'nft_version': '1.2' is not 1.0.6 or 1.1"),
        "{err}"
    );
}
