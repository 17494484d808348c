//! nftables against the kernel: each `kd_nft_` case gives the router of h1 — r1 — h2 the
//! same `nft` commands in a network namespace and in hoplab, sends the same probes in both,
//! and compares what came back: verdicts, NAT, sets, verdict maps, base chain priorities,
//! jumps, and iptables and nft rules together (iptables here is iptables-nft, so both end
//! up as nf_tables base chains, ordered by priority). Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::{
    Http, Out, Outcome, Step, Topo, body, ct, dump, host, http, ping_outcome, privileged, router,
    run,
};

/// h1 (10.0.1.10) — r1 — h2 (10.0.2.10), r1 set up by `setup` (nft and iptables commands).
fn topo(setup: &[&'static str]) -> Topo {
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
            ("r1", "eth1", "h2", "eth0", 1500),
        ],
    }
}

/// Runs the steps in both worlds, reads both with `read` and asserts they agree; returns
/// the kernel's reading (None when skipped). `KD_SHOW=1` prints the kernel's outputs.
fn probe<T: PartialEq + std::fmt::Debug>(
    case: &str,
    setup: &[&'static str],
    steps: &[Step],
    read: impl Fn(&[Out]) -> T,
) -> Option<T> {
    if !privileged(case) {
        return None;
    }
    let topo = topo(setup);
    let ko = kernel::kernel_steps(case, &topo, steps);
    let ho = kernel::hoplab_steps(&topo, steps);
    if std::env::var_os("KD_SHOW").is_some() {
        eprintln!("{case}\n--- kernel:\n{}", dump(steps, &ko));
    }
    let (k, h) = (read(&ko), read(&ho));
    assert_eq!(
        k,
        h,
        "{case}: kernel and hoplab disagree\n--- kernel:\n{}\n--- hoplab:\n{}",
        dump(steps, &ko),
        dump(steps, &ho)
    );
    Some(k)
}

fn ping(o: &[Out], i: usize) -> Outcome {
    ping_outcome(&o[i].text)
}

const FWD_TABLE: &str = "nft add table inet fw";

#[test]
fn kd_nft_forward_policy_drop_stops_pings_and_established_state_lets_replies_back() {
    let r = probe(
        "kd_nft_policy_drop",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority filter; policy drop; }'",
            "nft add rule inet fw forward ct state established,related accept",
            "nft add rule inet fw forward iifname eth0 oifname eth1 accept",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
        ],
        |o| (ping(o, 0), ping(o, 1)),
    );
    if let Some((a, b)) = r {
        assert_eq!(a, Outcome::Reply { ttl: 63 });
        assert_eq!(b, Outcome::Silent);
    }
}

#[test]
fn kd_nft_reject_with_tcp_reset_and_icmp() {
    let r = probe(
        "kd_nft_reject",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority 0; }'",
            "nft add rule inet fw forward tcp dport 81 reject with tcp reset",
            "nft add rule inet fw forward icmp type echo-request reject with icmp type host-prohibited",
            "nft add rule inet fw forward tcp dport 82 reject",
        ],
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            run("h1", "curl -s -m 2 http://10.0.2.10:81/"),
            run("h1", "curl -s -m 2 http://10.0.2.10:82/"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
        ],
        |o| (http(&o[1]), http(&o[2]), http(&o[3]), ping(o, 4)),
    );
    if let Some((a, b, c, d)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:45000.")
        );
        assert_eq!(b, Http::Failed(7));
        assert_eq!(c, Http::Failed(7));
        assert!(
            matches!(&d, Outcome::Icmp { from, .. } if from == "10.0.1.1"),
            "{d:?}"
        );
    }
}

#[test]
fn kd_nft_stateful_input_firewall() {
    let r = probe(
        "kd_nft_input",
        &[
            "nft add table inet host",
            "nft 'add chain inet host input { type filter hook input priority 0; policy drop; }'",
            "nft add rule inet host input ct state established,related accept",
            "nft add rule inet host input iifname lo accept",
            "nft add rule inet host input iifname eth1 icmp type echo-request accept",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.1.1"),
            run("h2", "ping -c 1 -W 1 10.0.2.1"),
            run("r1", "ping -c 1 -W 1 10.0.1.10"),
        ],
        |o| (ping(o, 0), ping(o, 1), ping(o, 2)),
    );
    if let Some((a, b, c)) = r {
        assert_eq!(a, Outcome::Silent);
        assert_eq!(b, Outcome::Reply { ttl: 64 });
        assert_eq!(c, Outcome::Reply { ttl: 64 });
    }
}

#[test]
fn kd_nft_named_set_of_ports() {
    let r = probe(
        "kd_nft_port_set",
        &[
            FWD_TABLE,
            "nft 'add set inet fw web { type inet_service; }'",
            "nft 'add element inet fw web { 80, 443 }'",
            "nft 'add chain inet fw forward { type filter hook forward priority 0; policy drop; }'",
            "nft add rule inet fw forward ct state established accept",
            "nft add rule inet fw forward tcp dport @web accept",
        ],
        &[
            Step::Http("h2", 80),
            Step::Http("h2", 8080),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            run("h1", "curl -s -m 1 http://10.0.2.10:8080/"),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some((a, b)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:45000.")
        );
        assert_eq!(b, Http::Failed(28));
    }
}

#[test]
fn kd_nft_interval_set_of_sources() {
    let r = probe(
        "kd_nft_interval",
        &[
            FWD_TABLE,
            "nft 'add set inet fw blocked { type ipv4_addr; flags interval; }'",
            "nft 'add element inet fw blocked { 10.0.1.0/28, 192.0.2.0-192.0.2.9 }'",
            "nft 'add chain inet fw forward { type filter hook forward priority 0; }'",
            "nft add rule inet fw forward ip saddr @blocked counter drop",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
        ],
        |o| (ping(o, 0), ping(o, 1)),
    );
    if let Some((a, b)) = r {
        assert_eq!(a, Outcome::Silent);
        // h2's ping reaches h1, whose reply (from 10.0.1.10) the set drops.
        assert_eq!(b, Outcome::Silent);
    }
}

#[test]
fn kd_nft_verdict_map_by_protocol() {
    let r = probe(
        "kd_nft_vmap",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority 0; }'",
            "nft 'add rule inet fw forward meta l4proto vmap { icmp : drop, tcp : accept }'",
        ],
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
        ],
        |o| (http(&o[1]), ping(o, 2)),
    );
    if let Some((a, b)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:45000.")
        );
        assert_eq!(b, Outcome::Silent);
    }
}

#[test]
fn kd_nft_dnat_to_an_inside_server() {
    let r = probe(
        "kd_nft_dnat",
        &[
            "nft add table ip nat",
            "nft 'add chain ip nat prerouting { type nat hook prerouting priority dstnat; }'",
            "nft add rule ip nat prerouting iifname eth1 tcp dport 8080 dnat to 10.0.1.10:80",
        ],
        &[
            Step::Http("h1", 80),
            run(
                "h2",
                "curl -s -m 2 --local-port 45000 http://10.0.2.1:8080/",
            ),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((a, _)) = r {
        assert_eq!(
            a,
            body("Hello from h1 (10.0.1.10:80). You came from 10.0.2.10:45000.")
        );
    }
}

#[test]
fn kd_nft_masquerade_out_of_eth1() {
    let r = probe(
        "kd_nft_masq",
        &[
            "nft add table ip nat",
            "nft 'add chain ip nat postrouting { type nat hook postrouting priority srcnat; }'",
            "nft add rule ip nat postrouting oifname eth1 ip saddr 10.0.1.0/24 masquerade",
        ],
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((a, _)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:45000.")
        );
    }
}

#[test]
fn kd_nft_dnat_map_of_ports() {
    let r = probe(
        "kd_nft_dnat_map",
        &[
            "nft add table ip nat",
            "nft 'add chain ip nat prerouting { type nat hook prerouting priority dstnat; }'",
            "nft 'add rule ip nat prerouting iifname eth1 dnat to tcp dport map { 8080 : 10.0.1.10, 9090 : 10.0.1.1 }'",
        ],
        &[
            Step::Http("h1", 8080),
            run(
                "h2",
                "curl -s -m 2 --local-port 45000 http://10.0.2.1:8080/",
            ),
            run("h2", "curl -s -m 2 http://10.0.2.1:9090/"),
        ],
        |o| (http(&o[1]), http(&o[2])),
    );
    if let Some((a, b)) = r {
        assert_eq!(
            a,
            body("Hello from h1 (10.0.1.10:8080). You came from 10.0.2.10:45000.")
        );
        assert_eq!(b, Http::Failed(7));
    }
}

#[test]
fn kd_nft_priority_orders_chains_of_one_hook() {
    // A mark set at priority -10 is seen by the chain at +10, which drops marked packets;
    // the chain at -20 looks before the mark is set and lets everything through.
    let r = probe(
        "kd_nft_priority",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw late { type filter hook forward priority filter + 10; }'",
            "nft 'add chain inet fw early { type filter hook forward priority filter - 10; }'",
            "nft 'add chain inet fw earliest { type filter hook forward priority -20; }'",
            "nft add rule inet fw early icmp type echo-request meta mark set 7",
            "nft add rule inet fw earliest meta mark 7 counter drop",
            "nft add rule inet fw late meta mark 7 counter drop",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "nft list chain inet fw earliest"),
        ],
        |o| (ping(o, 0), o[1].text.clone()),
    );
    if let Some((a, listing)) = r {
        assert_eq!(a, Outcome::Silent);
        assert!(
            listing.contains("counter packets 0 bytes 0 drop"),
            "{listing}"
        );
    }
}

#[test]
fn kd_nft_jump_and_return() {
    let r = probe(
        "kd_nft_jump",
        &[
            FWD_TABLE,
            "nft add chain inet fw tcp_rules",
            "nft 'add chain inet fw forward { type filter hook forward priority 0; policy drop; }'",
            "nft add rule inet fw forward ct state established,related accept",
            "nft add rule inet fw forward meta l4proto tcp jump tcp_rules",
            "nft add rule inet fw forward icmp type echo-request accept",
            "nft add rule inet fw tcp_rules tcp dport 8080 return",
            "nft add rule inet fw tcp_rules tcp dport { 80, 8080 } accept",
        ],
        &[
            Step::Http("h2", 80),
            Step::Http("h2", 8080),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            run("h1", "curl -s -m 1 http://10.0.2.10:8080/"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
        ],
        |o| (http(&o[2]), http(&o[3]), ping(o, 4)),
    );
    if let Some((a, b, c)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:45000.")
        );
        assert_eq!(b, Http::Failed(28));
        assert_eq!(c, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_nft_and_iptables_both_decide() {
    // An nft chain accepts ICMP; iptables' FORWARD (an nf_tables chain at priority 0 too)
    // still runs and drops it: an accept ends only its own base chain.
    let r = probe(
        "kd_nft_mixed_drop",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority -5; }'",
            "nft add rule inet fw forward icmp type echo-request counter accept",
            "iptables -A FORWARD -p icmp -j DROP",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| ping(o, 0),
    );
    if let Some(a) = r {
        assert_eq!(a, Outcome::Silent);
    }
}

#[test]
fn kd_nft_nat_chain_before_the_iptables_nat_table_wins() {
    let r = probe(
        "kd_nft_mixed_nat",
        &[
            "iptables -t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.1:8080",
            "nft add table ip mynat",
            "nft 'add chain ip mynat pre { type nat hook prerouting priority dstnat - 10; }'",
            "nft add rule ip mynat pre iifname eth1 tcp dport 8080 dnat to 10.0.1.10:80",
        ],
        &[
            Step::Http("h1", 80),
            run(
                "h2",
                "curl -s -m 2 --local-port 45000 http://10.0.2.1:8080/",
            ),
            Step::Show("r1", "iptables -t nat -nvL PREROUTING"),
        ],
        |o| http(&o[1]),
    );
    if let Some(a) = r {
        assert_eq!(
            a,
            body("Hello from h1 (10.0.1.10:80). You came from 10.0.2.10:45000.")
        );
    }
}

#[test]
fn kd_nft_ct_mark_follows_the_connection() {
    // The first packet of a connection to port 80 marks it; replies are let back in by the
    // mark, not by ct state.
    let r = probe(
        "kd_nft_ctmark",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority 0; policy drop; }'",
            "nft add rule inet fw forward ct mark 0x2a accept",
            "nft add rule inet fw forward iifname eth0 tcp dport 80 ct mark set 0x2a accept",
        ],
        &[
            Step::Http("h2", 80),
            Step::Http("h2", 81),
            run("h1", "curl -s -m 2 --local-port 45000 http://10.0.2.10/"),
            run("h1", "curl -s -m 1 http://10.0.2.10:81/"),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some((a, b)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:45000.")
        );
        assert_eq!(b, Http::Failed(28));
    }
}

#[test]
fn kd_nft_counters_in_the_listing() {
    // Two pings through the chain: the rule counts them (ICMP echo sizes are the same in
    // both worlds, so bytes agree too).
    let r = probe(
        "kd_nft_counters",
        &[
            FWD_TABLE,
            "nft 'add chain inet fw forward { type filter hook forward priority 0; }'",
            "nft add rule inet fw forward icmp type echo-request counter",
            "nft add rule inet fw forward ip saddr 10.0.2.0/24 counter comment \\\"from h2\\\"",
        ],
        &[
            run("h1", "ping -c 2 -i 0.2 -W 1 10.0.2.10"),
            Step::Show("r1", "nft list ruleset"),
        ],
        |o| o[1].text.clone(),
    );
    if let Some(listing) = r {
        assert!(
            listing.contains("icmp type echo-request counter packets 2 bytes 168"),
            "{listing}"
        );
    }
}

#[test]
fn kd_nft_iptables_adds_its_chains_to_a_table_nft_made() {
    // nft makes `table ip nat` first; iptables-nft then adds its POSTROUTING chain to that
    // same table, after nft's chain, with the table's next handles. Both chains run: h2 sees
    // h1's ping masqueraded.
    let r = probe(
        "kd_nft_shared_table",
        &[
            "nft add table ip nat",
            "nft 'add chain ip nat postrouting { type nat hook postrouting priority srcnat; }'",
            "nft add rule ip nat postrouting oifname eth9 counter masquerade",
            "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
        ],
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "nft list ruleset"),
            Step::Show("r1", "nft -a list ruleset"),
            Step::Show("r1", "nft list chains"),
            Step::Show("r1", "iptables -t nat -S"),
            Step::Show("r1", "iptables -t nat -nvL"),
            Step::Show("r1", "iptables -S"),
            Step::Show("r1", "iptables-save"),
        ],
        |o| {
            // iptables-nft's own view: a notice above the table nft made, iptables' chains.
            let xt: Vec<String> = (4..8)
                .map(|i| {
                    o[i].text
                        .lines()
                        .filter(|l| {
                            !l.starts_with("# Generated by") && !l.starts_with("# Completed on")
                        })
                        .map(|l| format!("{l}\n"))
                        .collect()
                })
                .collect();
            // nft warns on stderr: the kernel's testbed shows it after the listing, hoplab
            // (a terminal) before the table. Compared apart from the listing.
            let warned = |t: &str| t.contains("# Warning: table ip nat is managed by iptables-nft");
            let listing = |t: &str| {
                t.lines()
                    .filter(|l| !l.starts_with("# Warning: "))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            };
            (
                ping(o, 0),
                listing(&o[1].text),
                listing(&o[2].text),
                listing(&o[3].text),
                [1, 2, 3].map(|i| warned(&o[i].text)),
                xt,
            )
        },
    );
    if let Some((_, listing, _, _, warned, xt)) = r {
        assert!(
            xt[0].starts_with("# Table `nat' contains incompatible base-chains"),
            "{}",
            xt[0]
        );
        assert_eq!(warned, [true, true, false], "nft list chains does not warn");
        assert!(
            listing.contains("\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"eth1\" counter packets 1 bytes 84 masquerade"),
            "{listing}"
        );
    }
}
