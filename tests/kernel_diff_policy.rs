//! Policy routing against the kernel: `ip rule` lookup order, source and fwmark rules, a
//! table without a route passing the packet on. The same commands build both worlds; a
//! ping with TTL 2 dies at the second router, whose address says which uplink r1 chose.
//! Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::{Outcome, Testbed, Topo, ping_outcome, privileged};

/// h1 — r1 ={r2, r3}= h3: r1 reaches 10.0.3.0/24 through r3 in its main table; `extra`
/// (routes in other tables, rules, mangle marks) is run on r1 after that.
fn uplinks(extra: &[&'static str]) -> Topo {
    let mut r1_setup = vec!["ip route add 10.0.3.0/24 via 10.0.13.2"];
    r1_setup.extend_from_slice(extra);
    kernel::two_paths(&r1_setup)
}

/// Which router the TTL-2 ping from h1 died at, in both worlds (they must agree).
fn second_hop(case: &str, extra: &[&'static str]) -> Option<String> {
    if !privileged(case) {
        return None;
    }
    let topo = uplinks(extra);
    let cmd = "ping -c 1 -W 2 -t 2 10.0.3.10";
    let tb = Testbed::new(case, &topo);
    let kernel = tb.run("h1", cmd);
    drop(tb);
    let ours = kernel::hoplab_run(&topo, "h1", cmd, "30s");
    let (k, h) = (ping_outcome(&kernel), ping_outcome(&ours));
    assert_eq!(
        k, h,
        "{case}: kernel and hoplab disagree\n--- kernel:\n{kernel}\n--- hoplab:\n{ours}"
    );
    match k {
        Outcome::Icmp { from, .. } => Some(from),
        other => panic!("{case}: expected time exceeded, got {other:?}\n{kernel}"),
    }
}

const VIA_R2: &str = "ip route add 10.0.3.0/24 via 10.0.12.2 table 100";

#[test]
fn kd_policy_main_table_without_rules() {
    if let Some(from) = second_hop("kd_policy_main", &[VIA_R2]) {
        assert_eq!(from, "10.0.13.2");
    }
}

#[test]
fn kd_policy_source_rule_picks_its_table() {
    if let Some(from) = second_hop(
        "kd_policy_source",
        &[VIA_R2, "ip rule add from 10.0.1.10 table 100"],
    ) {
        assert_eq!(from, "10.0.12.2");
    }
}

#[test]
fn kd_policy_fwmark_from_a_mangle_mark() {
    if let Some(from) = second_hop(
        "kd_policy_fwmark",
        &[
            VIA_R2,
            "ip rule add fwmark 0x1/0xff table 100",
            "iptables -t mangle -A PREROUTING -s 10.0.1.10 -j MARK --set-mark 0x101",
        ],
    ) {
        assert_eq!(from, "10.0.12.2");
    }
}

#[test]
fn kd_policy_lower_priority_number_wins() {
    if let Some(from) = second_hop(
        "kd_policy_order",
        &[
            VIA_R2,
            "ip route add 10.0.3.0/24 via 10.0.13.2 table 101",
            "ip rule add from 10.0.1.0/24 table 100 pref 200",
            "ip rule add to 10.0.3.0/24 table 101 pref 100",
        ],
    ) {
        assert_eq!(from, "10.0.13.2");
    }
}

#[test]
fn kd_policy_a_table_without_a_route_passes_on() {
    if let Some(from) = second_hop(
        "kd_policy_fallthrough",
        &[
            VIA_R2,
            "ip route add 192.0.2.0/24 via 10.0.13.2 table 102",
            "ip rule add from all table 102 pref 50",
            "ip rule add iif eth0 table 100 pref 60",
        ],
    ) {
        assert_eq!(from, "10.0.12.2");
    }
}

#[test]
fn kd_policy_listings_equal_the_kernels() {
    use kernel::{Step, hoplab_steps, kernel_steps};
    let case = "kd_policy_listings";
    if !privileged(case) {
        return;
    }
    let topo = uplinks(&[
        VIA_R2,
        "ip route add 10.9.0.0/16 via 10.0.13.2 table 100 metric 5",
        "ip route add default via 10.0.12.2 table 7",
        "ip rule add fwmark 0x1/0xff table 100",
        "ip rule add from 10.0.1.0/24 to 10.0.3.0/24 table 100 pref 300",
        "ip rule add not from 10.0.0.0/8 lookup 7",
        "ip rule add iif eth2 table main priority 40",
        "ip rule add oif eth1 table 7",
    ]);
    let steps = [
        Step::Show("r1", "ip rule"),
        Step::Show("r1", "ip route show table 100"),
        Step::Show("r1", "ip route show table 7"),
        Step::Show("r1", "ip route show table main"),
        Step::Show("r1", "ip route show table local"),
        Step::Show("r1", "ip -4 route show table all"),
        Step::Show("r1", "ip route get 10.0.3.10"),
        Step::Show("r1", "ip route get 10.0.3.10 mark 0x101"),
        Step::Show("r1", "ip route get 10.0.3.10 mark 16"),
        Step::Show("r1", "ip route get 198.51.100.1 from 10.0.1.1"),
        Step::Show("r1", "ip route get 10.0.3.10 from 10.0.1.10 iif eth0"),
        Step::Show("r1", "ip route get 10.0.1.1"),
    ];
    let k = kernel_steps(case, &topo, &steps);
    let h = hoplab_steps(&topo, &steps);
    for (i, step) in steps.iter().enumerate() {
        assert!(
            !k[i].text.trim().is_empty(),
            "{step:?}: the kernel printed nothing"
        );
        assert_eq!(
            h[i].text, k[i].text,
            "{step:?}: hoplab (left) and the kernel (right) differ"
        );
    }
}

#[test]
fn kd_policy_the_routers_own_packet_is_routed_again_after_an_output_mark() {
    let case = "kd_policy_output_mark";
    if !privileged(case) {
        return;
    }
    let mut topo = uplinks(&[
        VIA_R2,
        "ip rule add fwmark 1 table 100",
        "iptables -t mangle -A OUTPUT -p icmp -j MARK --set-mark 1",
    ]);
    // r2 answers r1's source address (chosen on the first lookup, through r3) back via r1.
    topo.nodes[3]
        .setup
        .push("ip route add 10.0.13.0/30 via 10.0.12.1");
    let cmd = "ping -c 1 -W 2 -t 1 10.0.3.10";
    let tb = Testbed::new(case, &topo);
    let kernel = tb.run("r1", cmd);
    drop(tb);
    let ours = kernel::hoplab_run(&topo, "r1", cmd, "30s");
    let (k, h) = (ping_outcome(&kernel), ping_outcome(&ours));
    assert_eq!(k, h, "kernel:\n{kernel}\nhoplab:\n{ours}");
    assert!(
        matches!(&k, Outcome::Icmp { from, .. } if from == "10.0.12.2"),
        "{kernel}"
    );
}

/// A neighbour set by hand with the wrong MAC: r1 sends h3's packets to a MAC nobody has,
/// and ARP does not correct a PERMANENT entry, so the ping gets no answer in either world;
/// `ip neigh` lists the entry the same way.
#[test]
fn kd_neigh_a_permanent_entry_is_not_corrected_by_arp() {
    use kernel::{Step, hoplab_steps, kernel_steps, run};
    let case = "kd_neigh_permanent";
    if !privileged(case) {
        return;
    }
    let mut topo = uplinks(&[]);
    topo.nodes[4]
        .setup
        .push("ip neigh add 10.0.3.10 lladdr 02:00:00:00:00:99 dev eth2");
    let steps = [
        run("h1", "ping -c 1 -W 1 10.0.3.10"),
        Step::Show("r3", "ip neigh show dev eth2"),
        run(
            "r3",
            "ip neigh add 10.0.3.10 lladdr 02:00:00:00:00:98 dev eth2",
        ),
        run("r3", "ip neigh del 10.0.3.99 dev eth2"),
        run("r3", "ip neigh add 10.0.3.11 lladdr zz dev eth2"),
        run("r3", "ip neigh add 10.0.3.11 lladdr 02:00:00:00:00:11"),
        run("r3", "ip neigh flush dev eth2"),
        Step::Show("r3", "ip neigh show dev eth2"),
    ];
    let k = kernel_steps(case, &topo, &steps);
    let h = hoplab_steps(&topo, &steps);
    assert_eq!(ping_outcome(&k[0].text), Outcome::Silent, "{}", k[0].text);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            (h[i].code, h[i].text.trim_end()),
            (k[i].code, k[i].text.trim_end()),
            "{step:?}: hoplab (left) and the kernel (right) differ"
        );
    }
}

/// Asymmetric routing: r1 sends h1's packets to h3 by r2 (a source rule), so they reach r3
/// on its eth1, while r3's route back to h1 leaves by eth0. Strict `rp_filter` on r3 drops
/// them; loose lets them through, as it has a route back at all.
#[test]
fn kd_rp_filter_strict_drops_an_asymmetric_path_and_loose_does_not() {
    for (mode, answered) in [("1", false), ("2", true), ("0", true)] {
        let case = format!("kd_rp_filter_{mode}");
        if !privileged(&case) {
            return;
        }
        let mut topo = uplinks(&[VIA_R2, "ip rule add from 10.0.1.10 table 100"]);
        let sysctl: &'static str = match mode {
            "1" => "sysctl -w net.ipv4.conf.all.rp_filter=1",
            "2" => "sysctl -w net.ipv4.conf.eth1.rp_filter=2",
            _ => "sysctl -w net.ipv4.conf.all.rp_filter=0",
        };
        topo.nodes[4].setup.push(sysctl);
        let cmd = "ping -c 1 -W 2 10.0.3.10";
        let tb = Testbed::new(&case, &topo);
        let kernel = tb.run("h1", cmd);
        drop(tb);
        let ours = kernel::hoplab_run(&topo, "h1", cmd, "30s");
        let (k, h) = (ping_outcome(&kernel), ping_outcome(&ours));
        assert_eq!(k, h, "{case}: kernel:\n{kernel}\nhoplab:\n{ours}");
        assert_eq!(
            matches!(k, Outcome::Reply { .. }),
            answered,
            "{case}: {kernel}"
        );
    }
}

/// A host with a static route: h1 has a default route by r1 and a route to 10.0.3.0/24 by
/// r2 on its second interface. A ping with TTL 1 dies at whichever router h1 chose; `ip
/// route` lists the same table in both worlds.
#[test]
fn kd_host_static_route_picks_its_gateway() {
    use kernel::{Step, hoplab_steps, host, kernel_steps, router, run};
    let case = "kd_host_route";
    if !privileged(case) {
        return;
    }
    let mut h1 = host("h1", "10.0.1.10/24", "10.0.1.1");
    h1.ifaces.push(("eth1", "10.0.2.10/24"));
    h1.setup.push("ip route add 10.0.3.0/24 via 10.0.2.1");
    h1.setup
        .push("ip route add 10.0.4.0/24 via 10.0.2.1 metric 50");
    let topo = Topo {
        nodes: vec![
            h1,
            router("r1", &[("eth0", "10.0.1.1/24")], &[]),
            router("r2", &[("eth0", "10.0.2.1/24")], &[]),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("h1", "eth1", "r2", "eth0", 1500),
        ],
    };
    let steps = [
        run("h1", "ping -c 1 -W 2 -t 1 10.0.3.10"),
        run("h1", "ping -c 1 -W 2 -t 1 10.0.9.10"),
        Step::Show("h1", "ip route"),
        run("h1", "ip route del 10.0.3.0/24 via 10.0.2.1"),
        run("h1", "ping -c 1 -W 2 -t 1 10.0.3.10"),
        run("h1", "ip route add 10.0.5.0/24 via 10.0.7.1"),
    ];
    let k = kernel_steps(case, &topo, &steps);
    let h = hoplab_steps(&topo, &steps);
    let from = |o: &kernel::Out| match ping_outcome(&o.text) {
        Outcome::Icmp { from, .. } => from,
        other => format!("{other:?}"),
    };
    assert_eq!(
        (from(&k[0]), from(&k[1]), from(&k[4])),
        (
            "10.0.2.1".to_string(),
            "10.0.1.1".to_string(),
            "10.0.1.1".to_string()
        )
    );
    assert_eq!(
        (from(&h[0]), from(&h[1]), from(&h[4])),
        (from(&k[0]), from(&k[1]), from(&k[4]))
    );
    assert_eq!(
        h[2].text, k[2].text,
        "ip route: hoplab (left), the kernel (right)"
    );
    assert_eq!((h[3].code, h[5].code), (k[3].code, k[5].code));
    assert_eq!(h[5].text.trim(), k[5].text.trim());
}

/// `arp_ignore`: r0 reaches r1's eth1 address on the link to r1's eth0 (an on-link route),
/// so its ARP request asks eth0 for an address eth0 does not hold. 0 answers it, 1 does
/// not; 2 answers one for eth0's own address from a sender on its subnet.
#[test]
fn kd_arp_ignore_answers_as_the_kernel_does() {
    use kernel::{host, router};
    for (mode, target, answered) in [
        ("0", "10.0.2.1", true),
        ("1", "10.0.2.1", false),
        ("1", "10.0.1.1", true),
        ("2", "10.0.1.1", true),
        ("8", "10.0.1.1", false),
    ] {
        let case = format!("kd_arp_ignore_{mode}_{}", target.replace('.', "_"));
        if !privileged(&case) {
            return;
        }
        let sysctl: &'static str = match mode {
            "0" => "sysctl -w net.ipv4.conf.all.arp_ignore=0",
            "1" => "sysctl -w net.ipv4.conf.eth0.arp_ignore=1",
            "2" => "sysctl -w net.ipv4.conf.all.arp_ignore=2",
            _ => "sysctl -w net.ipv4.conf.eth0.arp_ignore=8",
        };
        let route: &'static str = match target {
            "10.0.2.1" => "ip route add 10.0.2.1/32 dev eth0",
            _ => "ip route add 10.0.9.0/24 via 10.0.1.1",
        };
        let topo = Topo {
            nodes: vec![
                router("r0", &[("eth0", "10.0.1.10/24")], &[route]),
                router(
                    "r1",
                    &[("eth0", "10.0.1.1/24"), ("eth1", "10.0.2.1/24")],
                    &[sysctl],
                ),
                host("h2", "10.0.2.10/24", "10.0.2.1"),
            ],
            links: vec![
                ("r0", "eth0", "r1", "eth0", 1500),
                ("r1", "eth1", "h2", "eth0", 1500),
            ],
        };
        let cmd: &'static str = match target {
            "10.0.2.1" => "ping -c 1 -W 1 10.0.2.1",
            _ => "ping -c 1 -W 1 10.0.1.1",
        };
        let tb = Testbed::new(&case, &topo);
        let kernel = tb.run("r0", cmd);
        drop(tb);
        let ours = kernel::hoplab_run(&topo, "r0", cmd, "30s");
        let (k, h) = (ping_outcome(&kernel), ping_outcome(&ours));
        assert_eq!(
            matches!(k, Outcome::Reply { .. }),
            matches!(h, Outcome::Reply { .. }),
            "{case}: kernel:\n{kernel}\nhoplab:\n{ours}"
        );
        assert_eq!(
            matches!(k, Outcome::Reply { .. }),
            answered,
            "{case}: {kernel}"
        );
    }
}
