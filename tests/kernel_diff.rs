//! Differential tests against the Linux kernel: each `kd_` case builds the same topology
//! in network namespaces and in hoplab, sends the same probe in both, and compares what came
//! back. Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::{Outcome, Testbed, Topo, host, nc_outcome, ping_outcome, privileged, router};

/// h1 — r1 — h2.
fn one_router(setup: &[&'static str], mtu2: u32) -> Topo {
    Topo {
        nodes: vec![
            host("h1", "10.0.1.10/24", "10.0.1.1"),
            host("h2", "10.0.2.10/24", "10.0.2.1"),
            router(
                "r1",
                &[("eth0", "10.0.1.1/24"), ("eth1", "10.0.2.1/24")],
                setup,
            ),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "h2", "eth0", mtu2),
        ],
    }
}

/// h1 — r1 ={r2, r3}= … h3, with a broad route via r2 and a specific one via r3.
fn three_routers() -> Topo {
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
                &[
                    "ip route add 10.0.0.0/16 via 10.0.12.2",
                    "ip route add 10.0.3.0/24 via 10.0.13.2",
                    "ip route add default via 10.0.12.2 metric 200",
                    "ip route add default via 10.0.13.2 metric 100",
                ],
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

/// Runs `cmd` on `node` in both worlds and returns (kernel, hoplab) outcomes.
fn both(
    case: &str,
    topo: &Topo,
    node: &str,
    cmd: &str,
    read: fn(&str) -> Outcome,
) -> Option<(Outcome, Outcome)> {
    if !privileged(case) {
        return None;
    }
    let tb = Testbed::new(case, topo);
    let kernel = tb.run(node, cmd);
    drop(tb);
    let ours = kernel::hoplab_run(topo, node, cmd, "30s");
    let (k, h) = (read(&kernel), read(&ours));
    assert_eq!(
        k, h,
        "{case}: kernel and hoplab disagree\n--- kernel:\n{kernel}\n--- hoplab:\n{ours}"
    );
    Some((k, h))
}

#[test]
fn kd_forward_ping() {
    if let Some((k, _)) = both(
        "kd_forward_ping",
        &one_router(&[], 1500),
        "h1",
        "ping -c 1 -W 2 10.0.2.10",
        ping_outcome,
    ) {
        assert_eq!(k, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_ping_router_far_address() {
    if let Some((k, _)) = both(
        "kd_ping_router_far",
        &one_router(&[], 1500),
        "h1",
        "ping -c 1 -W 2 10.0.2.1",
        ping_outcome,
    ) {
        assert_eq!(k, Outcome::Reply { ttl: 64 });
    }
}

#[test]
fn kd_ttl_expired_at_first_router() {
    both(
        "kd_ttl_expired",
        &one_router(&[], 1500),
        "h1",
        "ping -c 1 -W 2 -t 1 10.0.2.10",
        ping_outcome,
    );
}

#[test]
fn kd_ttl_expired_at_second_hop_answers_from_the_return_interface() {
    both(
        "kd_ttl_second_hop",
        &three_routers(),
        "h1",
        "ping -c 1 -W 2 -t 2 10.0.3.10",
        ping_outcome,
    );
}

#[test]
fn kd_longest_prefix_wins() {
    // Through r3 (the /24) the packet arrives with TTL 62; through r2 it would take 3 hops.
    if let Some((k, _)) = both(
        "kd_longest_prefix",
        &three_routers(),
        "h1",
        "ping -c 1 -W 2 10.0.3.10",
        ping_outcome,
    ) {
        assert_eq!(k, Outcome::Reply { ttl: 62 });
    }
}

#[test]
fn kd_lowest_metric_default_wins() {
    // The metric-100 default goes to r3, which has no route further: net unreachable from r3.
    both(
        "kd_metric",
        &three_routers(),
        "h1",
        "ping -c 1 -W 2 192.0.2.1",
        ping_outcome,
    );
}

#[test]
fn kd_no_route_is_net_unreachable() {
    both(
        "kd_no_route",
        &one_router(&[], 1500),
        "h1",
        "ping -c 1 -W 2 192.0.2.1",
        ping_outcome,
    );
}

#[test]
fn kd_unresolved_neighbour_is_host_unreachable() {
    both(
        "kd_host_unreach",
        &one_router(&[], 1500),
        "h1",
        "ping -c 1 -W 5 10.0.2.99",
        ping_outcome,
    );
}

#[test]
fn kd_df_over_mtu_is_fragmentation_needed() {
    both(
        "kd_frag_needed",
        &one_router(&[], 1400),
        "h1",
        "ping -c 1 -W 2 -s 1400 10.0.2.10",
        ping_outcome,
    );
}

#[test]
fn kd_forwarding_off_is_silent() {
    if let Some((k, _)) = both(
        "kd_forward_off",
        &one_router(&["sysctl -w net.ipv4.ip_forward=0"], 1500),
        "h1",
        "ping -c 1 -W 2 10.0.2.10",
        ping_outcome,
    ) {
        assert_eq!(k, Outcome::Silent);
    }
}

#[test]
fn kd_tcp_to_router_is_refused_with_a_reset() {
    if let Some((k, _)) = both(
        "kd_tcp_rst",
        &one_router(&[], 1500),
        "h1",
        "nc -z -v -w 2 10.0.1.1 80",
        nc_outcome,
    ) {
        assert_eq!(k, Outcome::Refused);
    }
}
