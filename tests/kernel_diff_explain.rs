//! `hoplab explain` against the kernel's own answer: the rules the kernel's TRACE target
//! reports a packet matching (`xtables-monitor --trace` in a namespace testbed) are the
//! rules `explain` says it matched, in the same order. Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use hoplab::scenario::explain::{Explanation, PacketSpec, Step, explain};
use kernel::{Topo, host, kernel_trace, lab_of, privileged, router};

/// h1 — r1 — h2, with `rules` on r1.
fn topo(rules: &[&'static str]) -> Topo {
    Topo {
        nodes: vec![
            host("h1", "10.0.1.10/24", "10.0.1.1"),
            host("h2", "10.0.2.10/24", "10.0.2.1"),
            router(
                "r1",
                &[("eth0", "10.0.1.1/24"), ("eth1", "10.0.2.1/24")],
                &[],
            )
            .rules(rules),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "h2", "eth0", 1500),
        ],
    }
}

/// What `explain` says the packet matched, in `kernel_trace`'s words.
fn explained(e: &Explanation) -> Vec<String> {
    let mut rules = Vec::new();
    for step in &e.path {
        let Step::Table(w) = step else { continue };
        for r in &w.rules {
            match (r.rule, r.matched) {
                (0, _) if w.verdict == "DROP" => {
                    rules.push(format!("{} -P {} DROP", w.table, r.chain))
                }
                (n, true) if n > 0 => rules.push(format!("{} {}", w.table, r.text)),
                _ => {}
            }
        }
    }
    rules
}

fn compare(
    case: &str,
    rules: &[&'static str],
    select: &str,
    probe: &str,
    packet: &str,
) -> Explanation {
    let t = topo(rules);
    let kernel = kernel_trace(case, &t, "r1", select, "h1", probe);
    let lab = lab_of(&t);
    let spec = PacketSpec::parse(packet).expect("packet");
    let e = explain(&lab, "r1", &spec, None, None).expect("explain");
    let ours = explained(&e);
    assert!(!kernel.is_empty(), "{case}: the kernel traced nothing");
    assert_eq!(
        ours, kernel,
        "{case}: explain's rules (left) differ from the kernel's TRACE (right)"
    );
    e
}

/// A published port, Docker's way: DNAT from the nat DOCKER chain, FORWARD through
/// DOCKER-USER (RETURN) to the ACCEPT for the container's port, FORWARD's policy DROP.
const PUBLISHED: &[&str] = &[
    "iptables -t nat -N DOCKER",
    "iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "iptables -t nat -A DOCKER ! -i eth1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80",
    "iptables -N DOCKER-USER",
    "iptables -A DOCKER-USER -j RETURN",
    "iptables -P FORWARD DROP",
    "iptables -A FORWARD -j DOCKER-USER",
    "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "iptables -A FORWARD -d 10.0.2.10/32 ! -i eth1 -o eth1 -p tcp -m tcp --dport 80 -j ACCEPT",
];

#[test]
fn kd_explain_published_port() {
    if !privileged("kd_explain_published_port") {
        return;
    }
    let e = compare(
        "kd_explain_published_port",
        PUBLISHED,
        "-p tcp --dport 8080",
        "nc -z -w 1 10.0.1.1 8080",
        "tcp 10.0.1.10:40000 -> 10.0.1.1:8080 in eth0",
    );
    let leaves = serde_json::to_string(&e.fate).unwrap();
    assert!(leaves.contains("10.0.2.10.80"), "{leaves}");
}

#[test]
fn kd_explain_docker_user_drop() {
    if !privileged("kd_explain_docker_user_drop") {
        return;
    }
    let mut rules = PUBLISHED.to_vec();
    rules.push("iptables -I DOCKER-USER -i eth0 ! -s 10.0.1.99/32 -j DROP");
    let e = compare(
        "kd_explain_docker_user_drop",
        &rules,
        "-p tcp --dport 8080",
        "nc -z -w 1 10.0.1.1 8080",
        "tcp 10.0.1.10:40000 -> 10.0.1.1:8080 in eth0",
    );
    assert!(
        matches!(e.fate, hoplab::scenario::explain::Fate::Dropped { .. }),
        "{:?}",
        e.fate
    );
}

#[test]
fn kd_explain_masquerade() {
    if !privileged("kd_explain_masquerade") {
        return;
    }
    let rules = [
        "iptables -P FORWARD DROP",
        "iptables -A FORWARD -i eth0 -o eth1 -j ACCEPT",
        "iptables -t nat -A POSTROUTING -s 10.0.1.0/24 -o eth1 -j MASQUERADE",
    ];
    let e = compare(
        "kd_explain_masquerade",
        &rules,
        "-p tcp --dport 9000",
        "nc -z -w 1 10.0.2.10 9000",
        "tcp 10.0.1.10:40000 -> 10.0.2.10:9000 in eth0",
    );
    let fate = serde_json::to_string(&e.fate).unwrap();
    assert!(fate.contains("10.0.2.1.40000 > 10.0.2.10.9000"), "{fate}");
}

#[test]
fn kd_explain_policy_drop() {
    if !privileged("kd_explain_policy_drop") {
        return;
    }
    let rules = [
        "iptables -P FORWARD DROP",
        "iptables -A FORWARD -p udp -j ACCEPT",
    ];
    compare(
        "kd_explain_policy_drop",
        &rules,
        "-p tcp --dport 7000",
        "nc -z -w 1 10.0.2.10 7000",
        "tcp 10.0.1.10:40000 -> 10.0.2.10:7000 in eth0",
    );
}
