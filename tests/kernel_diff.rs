//! Differential tests against the Linux kernel: each `kd_` case builds the same topology
//! in network namespaces and in hoplab, sends the same probe in both, and compares what came
//! back. Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::{
    Http, Out, Outcome, Step, Testbed, Topo, body, ct, dump, host, http, nc_outcome, ping_outcome,
    privileged, router, run,
};

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
    kernel::two_paths(&[
        "ip route add 10.0.0.0/16 via 10.0.12.2",
        "ip route add 10.0.3.0/24 via 10.0.13.2",
        "ip route add default via 10.0.12.2 metric 200",
        "ip route add default via 10.0.13.2 metric 100",
    ])
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

// ---------------------------------------------------------------------------------------
// Netfilter: the same rules in the router's namespace and in hoplab's router.

/// h1 — r1 — h2, with these rules on r1.
fn filtered(rules: &[&'static str]) -> Topo {
    let mut topo = one_router(&[], 1500);
    let r1 = topo.nodes.pop().expect("r1").rules(rules);
    topo.nodes.push(r1);
    topo
}

/// h1 (eth0), h2 (eth1) and h3 (eth2) around r1, with these rules on r1.
fn three_legs(rules: &[&'static str]) -> Topo {
    Topo {
        nodes: vec![
            host("h1", "10.0.1.10/24", "10.0.1.1"),
            host("h2", "10.0.2.10/24", "10.0.2.1"),
            host("h3", "10.0.3.10/24", "10.0.3.1"),
            router(
                "r1",
                &[
                    ("eth0", "10.0.1.1/24"),
                    ("eth1", "10.0.2.1/24"),
                    ("eth2", "10.0.3.1/24"),
                ],
                &[],
            )
            .rules(rules),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "h2", "eth0", 1500),
            ("r1", "eth2", "h3", "eth0", 1500),
        ],
    }
}

/// h1 — r1 — r2 — h3: r1 (with these rules) has a default route via r2; r2 knows no way
/// back to h1's LAN, so only a source NAT on r1 lets replies return.
fn nat_chain(rules: &[&'static str]) -> Topo {
    Topo {
        nodes: vec![
            host("h1", "10.0.1.10/24", "10.0.1.1"),
            host("h3", "10.0.3.10/24", "10.0.3.1"),
            router(
                "r1",
                &[("eth0", "10.0.1.1/24"), ("eth1", "10.0.12.1/30")],
                &["ip route add default via 10.0.12.2"],
            )
            .rules(rules),
            router(
                "r2",
                &[("eth0", "10.0.12.2/30"), ("eth1", "10.0.3.1/24")],
                &[],
            ),
        ],
        links: vec![
            ("h1", "eth0", "r1", "eth0", 1500),
            ("r1", "eth1", "r2", "eth0", 1500),
            ("r2", "eth1", "h3", "eth0", 1500),
        ],
    }
}

/// Runs the steps in both worlds, reads both with `read` and asserts they agree; returns
/// the kernel's reading (None when skipped). `KD_SHOW=1` prints the kernel's outputs.
fn probe<T: PartialEq + std::fmt::Debug>(
    case: &str,
    topo: &Topo,
    steps: &[Step],
    read: impl Fn(&[Out]) -> T,
) -> Option<T> {
    if !privileged(case) {
        return None;
    }
    let ko = kernel::kernel_steps(case, topo, steps);
    let ho = kernel::hoplab_steps(topo, steps);
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

/// `iptables -nvL` with single spaces: the rules' packet counts kept, their byte counts only
/// with `bytes` (TCP segments differ in size between the two stacks: SYN options). A built-in
/// chain's policy counters are left out: with iptables-nft they count only once `-P` was
/// given for that chain, which `kd_policy_counters_without_p` compares on its own.
fn nvl(o: &Out, bytes: bool) -> Vec<String> {
    listing(o, bytes, false)
}

/// `iptables -nvL` with single spaces, policy counters included.
fn nvl_with_policy(o: &Out) -> Vec<String> {
    listing(o, true, true)
}

fn listing(o: &Out, bytes: bool, policy: bool) -> Vec<String> {
    o.text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            let n = w.len();
            if w.first() == Some(&"Chain") && l.contains("(policy") && n >= 6 {
                // Chain NAME (policy X P packets, B bytes)
                if !policy {
                    w[n - 4] = "*";
                }
                if !policy || !bytes {
                    w[n - 2] = "*";
                }
            } else if !bytes && n > 1 && w[0].parse::<u64>().is_ok() {
                w[1] = "*";
            }
            w.join(" ")
        })
        .collect()
}

/// "N packets transmitted, M received" from ping's statistics.
fn ping_stats(o: &Out) -> String {
    o.text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .map(|l| l.split(", ").take(2).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// Ports chosen by NAT compared by class: a number of 4 or 5 digits after `=` or `:` that
/// is not in `keep` becomes `<in lo-hi>` when in the range (else it stays, and differs).
fn ports_by_class(text: &str, keep: &[u16], lo: u16, hi: u16) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() && i > 0 && (chars[i - 1] == '=' || chars[i - 1] == ':') {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            match num.parse::<u16>() {
                Ok(p) if num.len() >= 4 && !keep.contains(&p) && (lo..=hi).contains(&p) => {
                    out += &format!("<in {lo}-{hi}>");
                }
                _ => out += &num,
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

// --- filter: targets ------------------------------------------------------------------

#[test]
fn kd_forward_drop_is_silent() {
    let r = probe(
        "kd_fwd_drop",
        &filtered(&["iptables -A FORWARD -p icmp -j DROP"]),
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true)),
    );
    if let Some((ping, _)) = r {
        assert_eq!(ping, Outcome::Silent);
    }
}

#[test]
fn kd_forward_reject_default_is_port_unreachable() {
    let r = probe(
        "kd_fwd_reject",
        &filtered(&["iptables -A FORWARD -p icmp -j REJECT"]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true)),
    );
    if let Some((ping, _)) = r {
        assert_eq!(
            ping,
            Outcome::Icmp {
                from: "10.0.1.1".into(),
                what: "Destination Port Unreachable".into()
            }
        );
    }
}

#[test]
fn kd_forward_reject_with_host_unreachable() {
    probe(
        "kd_fwd_rej_host",
        &filtered(&["iptables -A FORWARD -p icmp -j REJECT --reject-with icmp-host-unreachable"]),
        &[run("h1", "ping -c 1 -W 2 10.0.2.10")],
        |o| ping_outcome(&o[0].text),
    );
}

#[test]
fn kd_forward_reject_with_tcp_reset_refuses_only_that_port() {
    let r = probe(
        "kd_fwd_rej_rst",
        &filtered(&["iptables -A FORWARD -p tcp --dport 80 -j REJECT --reject-with tcp-reset"]),
        &[
            Step::Http("h2", 80),
            Step::Http("h2", 8080),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            run(
                "h1",
                "curl -s -m 2 --local-port 40001 http://10.0.2.10:8080/",
            ),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some(r) = r {
        assert_eq!(
            r,
            (
                Http::Failed(7),
                body("Hello from h2 (10.0.2.10:8080). You came from 10.0.1.10:40001.")
            )
        );
    }
}

/// A reset for a DNATed flow answers from the address the client asked (the kernel
/// attaches the flow to its reset and NAT turns it back): curl is refused, not left to time
/// out on a reset from an address it never spoke to.
#[test]
fn kd_reject_with_tcp_reset_after_dnat_answers_from_the_original_destination() {
    let r = probe(
        "kd_dnat_rej_rst",
        &filtered(&[
            "iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80",
            "iptables -A FORWARD -p tcp --dport 80 -j REJECT --reject-with tcp-reset",
        ]),
        &[
            Step::Http("h2", 80),
            run(
                "h1",
                "curl -s -m 2 --local-port 40000 http://10.0.1.1:8080/",
            ),
        ],
        |o| http(&o[1]),
    );
    if let Some(r) = r {
        assert_eq!(r, Http::Failed(7));
    }
}

#[test]
fn kd_forward_reject_tcp_with_port_unreachable_refuses_the_connection() {
    // REJECT's default answer to a SYN is an ICMP port unreachable; a connecting socket
    // takes it as "connection refused".
    let r = probe(
        "kd_fwd_rej_tcp_icmp",
        &filtered(&["iptables -A FORWARD -p tcp --dport 80 -j REJECT"]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (http(&o[1]), nvl(&o[2], false)),
    );
    if let Some((a, _)) = r {
        assert_eq!(a, Http::Failed(7));
    }
}

#[test]
fn kd_input_drop_is_silent_where_the_router_would_reset() {
    let r = probe(
        "kd_input_drop",
        &filtered(&["iptables -A INPUT -p tcp --dport 80 -j DROP"]),
        &[
            run("h1", "nc -z -v -w 1 10.0.1.1 80"),
            run("h1", "nc -z -v -w 1 10.0.1.1 81"),
        ],
        |o| (nc_outcome(&o[0].text), nc_outcome(&o[1].text)),
    );
    if let Some(r) = r {
        assert_eq!(r, (Outcome::Silent, Outcome::Refused));
    }
}

#[test]
fn kd_input_reject_admin_prohibited() {
    let r = probe(
        "kd_input_reject",
        &filtered(&[
            "iptables -A INPUT -p icmp --icmp-type echo-request -j REJECT --reject-with icmp-admin-prohibited",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.1.1"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL INPUT"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((local, through, _)) = r {
        assert_eq!(
            local,
            Outcome::Icmp {
                from: "10.0.1.1".into(),
                what: "Packet filtered".into()
            }
        );
        assert_eq!(through, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_input_reject_answers_from_the_address_it_was_sent_to() {
    probe(
        "kd_input_rej_far",
        &filtered(&[
            "iptables -A INPUT -p icmp --icmp-type echo-request -j REJECT --reject-with icmp-admin-prohibited",
        ]),
        &[run("h1", "ping -c 1 -W 2 10.0.2.1")],
        |o| ping_outcome(&o[0].text),
    );
}

/// Packets for each built-in chain's policy: two forwarded (echo request and reply), one
/// rejected (its ICMP error leaves through OUTPUT), one ping to the router (INPUT, and its
/// reply through OUTPUT).
const POLICY_STEPS: &[Step] = &[
    Step::Run("h1", "ping -c 1 -W 2 10.0.2.10", ""),
    Step::Run("h1", "ping -c 1 -W 2 10.0.2.20", ""),
    Step::Run("h1", "ping -c 1 -W 2 10.0.1.1", ""),
    Step::Show("r1", "iptables -nvL"),
];

#[test]
fn kd_policy_counters_after_p() {
    let r = probe(
        "kd_policy_p",
        &filtered(&[
            "iptables -P INPUT ACCEPT",
            "iptables -P FORWARD ACCEPT",
            "iptables -P OUTPUT ACCEPT",
            "iptables -A FORWARD -p icmp -d 10.0.2.20 -j REJECT",
        ]),
        POLICY_STEPS,
        |o| nvl_with_policy(&o[3]),
    );
    if let Some(listing) = r {
        assert!(
            listing.contains(&"Chain FORWARD (policy ACCEPT 2 packets, 168 bytes)".to_string()),
            "{listing:?}"
        );
    }
}

#[test]
fn kd_policy_counters_without_p() {
    probe(
        "kd_policy_nop",
        &filtered(&["iptables -A FORWARD -p icmp -d 10.0.2.20 -j REJECT"]),
        POLICY_STEPS,
        |o| nvl_with_policy(&o[3]),
    );
}

#[test]
fn kd_output_drops_the_routers_own_time_exceeded() {
    let r = probe(
        "kd_output_drop",
        &filtered(&["iptables -A OUTPUT -p icmp --icmp-type time-exceeded -j DROP"]),
        &[
            run("h1", "ping -c 1 -W 1 -t 1 10.0.2.10"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL OUTPUT"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((expired, through, _)) = r {
        assert_eq!(expired, Outcome::Silent);
        assert_eq!(through, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_user_chain_jump_and_return() {
    // echo requests RETURN from `checks` and meet FORWARD's REJECT; UDP is dropped in `checks`.
    probe(
        "kd_user_chain",
        &filtered(&[
            "iptables -N checks",
            "iptables -A checks -p icmp --icmp-type echo-request -j RETURN",
            "iptables -A checks -j DROP",
            "iptables -A FORWARD -j checks",
            "iptables -A FORWARD -p icmp -j REJECT",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Run("h1", "nc -u -w 1 -p 40000 10.0.2.10 5000", "hello\n"),
            Step::Show("r1", "iptables -nvL"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[2], true)),
    );
}

#[test]
fn kd_goto_chain_end_falls_to_the_policy() {
    // After -g, the end of `sub` goes back past FORWARD: its policy (ACCEPT) decides, and the
    // REJECT under the goto is never reached. After -j, the REJECT is reached.
    probe(
        "kd_goto",
        &filtered(&[
            "iptables -N sub",
            "iptables -N sub2",
            "iptables -A sub -p icmp",
            "iptables -A sub2 -p udp",
            "iptables -A FORWARD -p icmp -g sub",
            "iptables -A FORWARD -p icmp -j REJECT",
            "iptables -A FORWARD -p udp -j sub2",
            "iptables -A FORWARD -p udp -j REJECT",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Run("h1", "nc -u -w 1 -p 40000 10.0.2.10 5000", "hello\n"),
            Step::Show("r1", "iptables -nvL"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[2], true)),
    );
}

// --- filter: matches --------------------------------------------------------------------

#[test]
fn kd_ctstate_established_related_with_a_drop_policy() {
    let r = probe(
        "kd_ctstate",
        &filtered(&[
            "iptables -P FORWARD DROP",
            "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A FORWARD -i eth0 -o eth1 -j ACCEPT",
        ]),
        &[
            Step::Http("h2", 80),
            Step::Http("h1", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            run("h2", "curl -s -m 1 --local-port 40000 http://10.0.1.10/"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
        ],
        |o| {
            (
                http(&o[2]),
                http(&o[3]),
                ping_outcome(&o[4].text),
                ping_outcome(&o[5].text),
            )
        },
    );
    if let Some((out, back, _, _)) = r {
        assert_eq!(
            out,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:40000.")
        );
        assert_eq!(back, Http::Failed(28));
    }
}

#[test]
fn kd_state_new_blocks_one_direction_only() {
    let r = probe(
        "kd_state_new",
        &filtered(&["iptables -A FORWARD -i eth1 -m state --state NEW -j DROP"]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((out, back, _)) = r {
        assert_eq!((out, back), (Outcome::Reply { ttl: 63 }, Outcome::Silent));
    }
}

#[test]
fn kd_source_and_destination_cidrs_with_negation() {
    probe(
        "kd_cidr",
        &filtered(&[
            "iptables -A FORWARD ! -s 10.0.1.0/24 -p icmp --icmp-type echo-request -j DROP",
            "iptables -A FORWARD -s 10.0.1.128/25 -j DROP",
            "iptables -A FORWARD -p icmp --icmp-type echo-request ! -d 10.0.2.0/28 -j REJECT --reject-with icmp-net-unreachable",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h1", "ping -c 1 -W 2 10.0.2.20"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                ping_outcome(&o[2].text),
                nvl(&o[3], true),
            )
        },
    );
}

#[test]
fn kd_interface_wildcard_and_negation() {
    probe(
        "kd_iface",
        &three_legs(&[
            "iptables -A FORWARD -i eth0 ! -o eth+ -j DROP",
            "iptables -A FORWARD ! -i eth2 -o eth2 -j REJECT --reject-with icmp-host-prohibited",
            "iptables -A FORWARD -i et+ -o eth1 -j ACCEPT",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h1", "ping -c 1 -W 2 10.0.3.10"),
            run("h3", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                ping_outcome(&o[2].text),
                nvl(&o[3], true),
            )
        },
    );
}

#[test]
fn kd_dport_range() {
    let r = probe(
        "kd_dport_range",
        &filtered(&[
            "iptables -A FORWARD -p tcp --dport 8000:8099 -j REJECT --reject-with tcp-reset",
        ]),
        &[
            Step::Http("h2", 8080),
            Step::Http("h2", 8100),
            run(
                "h1",
                "curl -s -m 2 --local-port 40000 http://10.0.2.10:8080/",
            ),
            run(
                "h1",
                "curl -s -m 2 --local-port 40001 http://10.0.2.10:8100/",
            ),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some((a, _)) = r {
        assert_eq!(a, Http::Failed(7));
    }
}

#[test]
fn kd_multiport_dports() {
    let r = probe(
        "kd_multiport",
        &filtered(&["iptables -A FORWARD -p tcp -m multiport --dports 81,8080:8090 -j DROP"]),
        &[
            Step::Http("h2", 80),
            Step::Http("h2", 8085),
            run(
                "h1",
                "curl -s -m 1 --local-port 40000 http://10.0.2.10:8085/",
            ),
            run("h1", "curl -s -m 2 --local-port 40001 http://10.0.2.10/"),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some((a, b)) = r {
        assert_eq!(a, Http::Failed(28));
        assert_eq!(
            b,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:40001.")
        );
    }
}

#[test]
fn kd_iprange_source_and_destination() {
    probe(
        "kd_iprange",
        &filtered(&[
            "iptables -A FORWARD -m iprange --dst-range 10.0.2.5-10.0.2.9 -j REJECT",
            "iptables -A FORWARD -p icmp --icmp-type echo-request -m iprange --src-range 10.0.2.10-10.0.2.12 ! --dst-range 10.0.1.0-10.0.1.9 -j REJECT --reject-with icmp-net-prohibited",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.7"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h2", "ping -c 1 -W 2 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                ping_outcome(&o[2].text),
                nvl(&o[3], true),
            )
        },
    );
}

#[test]
fn kd_addrtype_local_publishes_a_port() {
    // Docker's rule: only packets to one of the router's own addresses are DNATed.
    let r = probe(
        "kd_addrtype",
        &filtered(&[
            "iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80",
        ]),
        &[
            Step::Http("h2", 80),
            run(
                "h1",
                "curl -s -m 2 --local-port 40000 http://10.0.1.1:8080/",
            ),
            run(
                "h1",
                "curl -s -m 2 --local-port 40001 http://10.0.2.1:8080/",
            ),
            run(
                "h1",
                "curl -s -m 2 --local-port 40002 http://10.0.2.10:8080/",
            ),
        ],
        |o| (http(&o[1]), http(&o[2]), http(&o[3])),
    );
    if let Some((a, _, c)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:40000.")
        );
        assert_eq!(c, Http::Failed(7));
    }
}

#[test]
fn kd_icmp_type_match_is_directional() {
    let r = probe(
        "kd_icmp_type",
        &filtered(&["iptables -A FORWARD -i eth1 -p icmp --icmp-type echo-request -j DROP"]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((out, back, _)) = r {
        assert_eq!((out, back), (Outcome::Reply { ttl: 63 }, Outcome::Silent));
    }
}

#[test]
fn kd_statistic_nth_drops_every_second_packet() {
    let r = probe(
        "kd_nth",
        &filtered(&[
            "iptables -A FORWARD -p icmp --icmp-type echo-request -m statistic --mode nth --every 2 --packet 0 -j DROP",
        ]),
        &[
            run("h1", "ping -c 4 -i 0.2 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_stats(&o[0]), nvl(&o[1], true)),
    );
    if let Some((stats, _)) = r {
        assert_eq!(stats, "4 packets transmitted, 2 received");
    }
}

// --- NAT --------------------------------------------------------------------------------

#[test]
fn kd_masquerade_source_is_the_egress_address() {
    let r = probe(
        "kd_masquerade",
        &filtered(&["iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE"]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((a, _)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:40000.")
        );
    }
}

#[test]
fn kd_masquerade_collision_remaps_the_second_flow() {
    let r = probe(
        "kd_masq_collide",
        &three_legs(&["iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE"]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            run("h3", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| {
            let class = |t: &str| ports_by_class(t, &[40000], 1024, 65535);
            (
                http(&o[1]),
                http(&Out {
                    code: o[2].code,
                    text: class(&o[2].text),
                }),
                ct(&Out {
                    code: 0,
                    text: class(&o[4].text),
                }),
            )
        },
    );
    if let Some((a, b, _)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:40000.")
        );
        assert_eq!(
            b,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:<in 1024-65535>.")
        );
    }
}

#[test]
fn kd_snat_to_source_address() {
    let r = probe(
        "kd_snat",
        &filtered(&["iptables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 192.0.2.77"]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((a, _)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 192.0.2.77:40000.")
        );
    }
}

#[test]
fn kd_snat_port_range_moves_a_port_outside_it() {
    let r = probe(
        "kd_snat_ports",
        &filtered(&[
            "iptables -t nat -A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 192.0.2.77:5000-5009",
        ]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| {
            let class = |t: &str| ports_by_class(t, &[40000], 5000, 5009);
            (
                http(&Out {
                    code: o[1].code,
                    text: class(&o[1].text),
                }),
                ct(&Out {
                    code: 0,
                    text: class(&o[3].text),
                }),
            )
        },
    );
    if let Some((a, _)) = r {
        assert_eq!(
            a,
            body("Hello from h2 (10.0.2.10:80). You came from 192.0.2.77:<in 5000-5009>.")
        );
    }
}

#[test]
fn kd_dnat_to_an_inside_host() {
    let r = probe(
        "kd_dnat",
        &filtered(&[
            "iptables -t nat -A PREROUTING -i eth1 -p tcp --dport 80 -j DNAT --to-destination 10.0.1.10",
        ]),
        &[
            Step::Http("h1", 80),
            run("h2", "curl -s -m 2 --local-port 45000 http://10.0.2.1/"),
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
fn kd_dnat_rewrites_the_port() {
    let r = probe(
        "kd_dnat_port",
        &filtered(&[
            "iptables -t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.10:80",
        ]),
        &[
            Step::Http("h1", 80),
            run(
                "h2",
                "curl -s -m 2 --local-port 45000 http://10.0.2.1:8080/",
            ),
            run(
                "h2",
                "curl -s -m 2 --local-port 45001 http://10.0.2.1:9090/",
            ),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp --dst-nat"),
        ],
        |o| (http(&o[1]), http(&o[2]), ct(&o[4])),
    );
    if let Some((a, b, _)) = r {
        assert_eq!(
            a,
            body("Hello from h1 (10.0.1.10:80). You came from 10.0.2.10:45000.")
        );
        assert_eq!(b, Http::Failed(7));
    }
}

#[test]
fn kd_redirect_to_a_closed_local_port_is_refused() {
    // REDIRECT sends the connection to the router itself, where nothing listens on 8080.
    let r = probe(
        "kd_redirect_tcp",
        &filtered(&[
            "iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 80 -j REDIRECT --to-ports 8080",
        ]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[2])),
    );
    if let Some((a, _)) = r {
        assert_eq!(a, Http::Failed(7));
    }
}

#[test]
fn kd_redirect_ping_is_answered_by_the_router() {
    let r = probe(
        "kd_redirect_icmp",
        &filtered(&["iptables -t nat -A PREROUTING -i eth0 -p icmp -j REDIRECT"]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "conntrack -L -p icmp"),
        ],
        |o| (ping_outcome(&o[0].text), ct(&o[1])),
    );
    if let Some((ping, _)) = r {
        assert_eq!(ping, Outcome::Reply { ttl: 64 });
    }
}

// --- RELATED ICMP errors, TTL inside NAT --------------------------------------------------

#[test]
fn kd_related_port_unreachable_returns_through_masquerade() {
    let r = probe(
        "kd_related_udp",
        &filtered(&[
            "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
            "iptables -P FORWARD DROP",
            "iptables -A FORWARD -m conntrack --ctstate RELATED -j ACCEPT",
            "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT",
            "iptables -A FORWARD -i eth0 -o eth1 -j ACCEPT",
        ]),
        &[
            Step::Run("h1", "nc -u -w 1 -p 40000 10.0.2.10 5000", "hello\n"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "conntrack -L -p udp"),
        ],
        |o| (nvl(&o[1], true), ct(&o[2])),
    );
    if let Some((counters, _)) = r {
        let related = counters
            .iter()
            .find(|l| l.contains("ctstate RELATED"))
            .expect("the RELATED rule");
        assert!(related.starts_with("1 "), "{related}");
    }
}

#[test]
fn kd_ttl_expired_behind_masquerade_reaches_the_client() {
    let r = probe(
        "kd_ttl_nat",
        &nat_chain(&[
            "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
            "iptables -P FORWARD DROP",
            "iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "iptables -A FORWARD -i eth0 -o eth1 -j ACCEPT",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.3.10"),
            run("h1", "ping -c 1 -W 2 -t 2 10.0.3.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((reply, expired, _)) = r {
        assert_eq!(reply, Outcome::Reply { ttl: 62 });
        assert_eq!(
            expired,
            Outcome::Icmp {
                from: "10.0.12.2".into(),
                what: "Time to live exceeded".into()
            }
        );
    }
}

// --- conntrack entry shapes ---------------------------------------------------------------

#[test]
fn kd_conntrack_tcp_time_wait_assured() {
    let r = probe(
        "kd_ct_tcp",
        &filtered(&["iptables -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT"]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            Step::Pause,
            Step::Show("r1", "conntrack -L"),
        ],
        |o| ct(&o[3]),
    );
    if let Some(entries) = r {
        let tcp = entries
            .iter()
            .find(|e| e.starts_with("tcp "))
            .expect("a TCP entry");
        assert!(tcp.starts_with("tcp 6 TIME_WAIT src=10.0.1.10"), "{tcp}");
        assert!(tcp.ends_with("[ASSURED]"), "{tcp}");
    }
}

#[test]
fn kd_conntrack_udp_unreplied() {
    let r = probe(
        "kd_ct_udp",
        &filtered(&["iptables -A FORWARD -m conntrack --ctstate NEW -j ACCEPT"]),
        &[
            Step::Bg("h2", "nc -u -l 5000", 5000),
            Step::Run("h1", "nc -u -w 1 -p 40000 10.0.2.10 5000", "hello\n"),
            Step::Show("r1", "conntrack -L"),
        ],
        |o| (o[0].text.clone(), ct(&o[2])),
    );
    if let Some((server, entries)) = r {
        assert_eq!(server, "hello\n");
        let udp = entries
            .iter()
            .find(|e| e.starts_with("udp "))
            .expect("a UDP entry");
        assert!(udp.contains("[UNREPLIED]"), "{udp}");
    }
}

#[test]
fn kd_conntrack_icmp_echo_through_masquerade() {
    probe(
        "kd_ct_icmp",
        &filtered(&["iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE"]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "conntrack -L"),
            Step::Show("r1", "conntrack -L --src-nat"),
        ],
        |o| (ping_outcome(&o[0].text), ct(&o[1]), ct(&o[2])),
    );
}

// --- LOG and limit: hoplab's own expectations ------------------------------------------------

#[test]
fn kd_log_and_limit_against_hoplabs_own_expectations() {
    // LOG writes to the kernel log and `-m limit` runs on the wall clock: not comparable with
    // the kernel, so only hoplab runs this, against what it must show. No root needed.
    let topo = filtered(&[
        "iptables -A INPUT -p icmp --icmp-type echo-request -m limit --limit 1/second --limit-burst 2 -j ACCEPT",
        "iptables -A INPUT -p icmp --icmp-type echo-request -j DROP",
        "iptables -A FORWARD -p udp --dport 5000 -j LOG --log-prefix \"kd-drop: \"",
        "iptables -A FORWARD -p udp --dport 5000 -j DROP",
    ]);
    let o = kernel::hoplab_steps(
        &topo,
        &[
            run("h1", "ping -c 5 -i 0.2 -W 1 10.0.1.1"),
            Step::Run("h1", "nc -u -w 1 -p 40000 10.0.2.10 5000", "hello\n"),
            Step::Show("r1", "dmesg"),
            Step::Show("r1", "iptables -nvL"),
        ],
    );
    assert_eq!(ping_stats(&o[0]), "5 packets transmitted, 2 received");
    let logged: Vec<&str> = o[2]
        .text
        .lines()
        .filter(|l| l.contains("kd-drop: "))
        .collect();
    assert_eq!(logged.len(), 1, "{}", o[2].text);
    for part in [
        "kd-drop: IN=eth0 OUT=eth1 ",
        "SRC=10.0.1.10 DST=10.0.2.10 LEN=34 ",
        "PROTO=UDP SPT=40000 DPT=5000 ",
    ] {
        assert!(logged[0].contains(part), "{part:?} in {}", logged[0]);
    }
    let counters = nvl(&o[3], true);
    let count = |what: &str| {
        counters
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{what} in {counters:?}"))
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(count("limit: avg 1/sec burst 2"), "2");
    assert_eq!(count("DROP 1 -- * * 0.0.0.0/0 0.0.0.0/0 icmptype 8"), "3");
    assert_eq!(count("LOG"), "1");
    assert_eq!(count("DROP 17"), "1");
}

// --- The router's own programs: OUTPUT, INPUT and `lo` ----------------------------------

#[test]
fn kd_router_pings_and_curls_from_its_egress_address() {
    let r = probe(
        "kd_router_own",
        &filtered(&[]),
        &[
            Step::Http("h2", 80),
            Step::Http("r1", 8080),
            run("r1", "ping -c 1 -W 2 10.0.2.10"),
            run("r1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            run(
                "h1",
                "curl -s -m 2 --local-port 40001 http://10.0.2.1:8080/",
            ),
        ],
        |o| (ping_outcome(&o[2].text), http(&o[3]), http(&o[4])),
    );
    if let Some((ping, own, served)) = r {
        assert_eq!(ping, Outcome::Reply { ttl: 64 });
        assert_eq!(
            own,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:40000.")
        );
        assert_eq!(
            served,
            body("Hello from r1 (10.0.2.1:8080). You came from 10.0.1.10:40001.")
        );
    }
}

#[test]
fn kd_output_rules_stop_the_routers_own_packets() {
    let r = probe(
        "kd_output_own",
        &filtered(&[
            "iptables -A OUTPUT -p icmp --icmp-type echo-request -j DROP",
            "iptables -A OUTPUT -d 10.0.2.10 -p tcp --dport 80 -j REJECT --reject-with tcp-reset",
        ]),
        &[
            Step::Http("h2", 80),
            run("r1", "ping -c 1 -W 1 10.0.2.10"),
            run("r1", "curl -s -m 2 http://10.0.2.10/"),
            Step::Show("r1", "iptables -nvL OUTPUT"),
        ],
        |o| (ping_outcome(&o[1].text), http(&o[2]), nvl(&o[3], false)),
    );
    if let Some((ping, curl, _)) = r {
        assert_eq!((ping, curl), (Outcome::Silent, Http::Failed(7)));
    }
}

#[test]
fn kd_output_dnat_sends_the_routers_own_connection_elsewhere() {
    // Docker's `nat OUTPUT -m addrtype --dst-type LOCAL -j DOCKER` path: the host connects
    // to its own address and port, and is sent to the container; the source stays local.
    let r = probe(
        "kd_output_dnat",
        &filtered(&[
            "iptables -t nat -A OUTPUT -d 10.0.1.1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80",
        ]),
        &[
            Step::Http("h2", 80),
            run(
                "r1",
                "curl -s -m 2 --local-port 40000 http://10.0.1.1:8080/",
            ),
            Step::Pause,
            Step::Show("r1", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((curl, _)) = r {
        assert_eq!(
            curl,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.1:40000.")
        );
    }
}

#[test]
fn kd_own_address_goes_through_lo() {
    // A connection from the router to any of its own addresses passes INPUT on `lo`. The
    // router's curls give up before the kernel's first SYN retransmission (1 s), so both
    // worlds count one SYN each.
    let r = probe(
        "kd_lo",
        &filtered(&["iptables -A INPUT -i lo -p tcp --dport 8080 -j DROP"]),
        &[
            Step::Http("r1", 8080),
            run("h1", "curl -s -m 3 http://10.0.1.1:8080/"),
            run("r1", "curl -s -m 0.5 http://10.0.1.1:8080/"),
            run("r1", "curl -s -m 0.5 http://127.0.0.1:8080/"),
            run("r1", "ping -c 1 -W 1 10.0.2.1"),
            Step::Show("r1", "iptables -nvL INPUT"),
        ],
        |o| {
            let lan = matches!(http(&o[1]), Http::Body(_));
            (
                lan,
                http(&o[2]),
                http(&o[3]),
                ping_outcome(&o[4].text),
                nvl(&o[5], false),
            )
        },
    );
    if let Some((lan, own, lo, ping, _)) = r {
        assert!(lan);
        assert_eq!((own, lo), (Http::Failed(28), Http::Failed(28)));
        assert_eq!(ping, Outcome::Reply { ttl: 64 });
    }
}

#[test]
fn kd_route_localnet_lets_a_dnat_of_127_0_0_1_leave() {
    // Docker without its userland proxy: the host's connection to 127.0.0.1:8080 is DNATed to
    // a container, which works only where route_localnet is on for the egress interface.
    let rules = [
        "iptables -t nat -A OUTPUT -d 127.0.0.1 -p tcp --dport 8080 -j DNAT --to-destination 10.0.2.10:80",
        "iptables -t nat -A POSTROUTING -o eth1 -m addrtype --src-type LOCAL -j MASQUERADE",
    ];
    let steps = [
        Step::Http("h2", 80),
        run(
            "r1",
            "curl -s -m 1 --local-port 40000 http://127.0.0.1:8080/",
        ),
        run("r1", "sysctl -w net.ipv4.conf.eth1.route_localnet=1"),
        run(
            "r1",
            "curl -s -m 1 --local-port 40001 http://127.0.0.1:8080/",
        ),
    ];
    let r = probe("kd_localnet", &filtered(&rules), &steps, |o| {
        (http(&o[1]), http(&o[3]))
    });
    if let Some((off, on)) = r {
        assert_eq!(off, Http::Failed(28));
        assert_eq!(
            on,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.2.1:40001.")
        );
    }
}

#[test]
fn kd_loopback_addresses_on_a_wire_are_martians() {
    let r = probe(
        "kd_martian",
        &filtered(&[
            "iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 127.0.0.1:8080",
        ]),
        &[
            Step::Http("r1", 8080),
            run("h1", "curl -s -m 1 http://10.0.1.1:8080/"),
        ],
        |o| http(&o[1]),
    );
    if let Some(r) = r {
        assert_eq!(r, Http::Failed(28));
    }
}

// --- marks ----------------------------------------------------------------------------

/// The `mark=` of each flow `conntrack -L` lists (which `ct` leaves out), sorted.
fn ct_marks(o: &Out) -> Vec<String> {
    let mut v: Vec<String> = o
        .text
        .split_whitespace()
        .filter(|t| t.starts_with("mark="))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn kd_mark_set_in_mangle_prerouting_is_dropped_in_forward() {
    let r = probe(
        "kd_mark_drop",
        &filtered(&[
            "iptables -t mangle -A PREROUTING -i eth0 -p icmp -j MARK --set-mark 0x1",
            "iptables -A FORWARD -m mark ! --mark 0x1 -j ACCEPT",
            "iptables -A FORWARD -m mark --mark 0x1/0xff -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "iptables -t mangle -nvL PREROUTING"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true), nvl(&o[2], true)),
    );
    if let Some((ping, fwd, _)) = r {
        assert_eq!(ping, Outcome::Silent);
        assert!(fwd.iter().any(|l| l.starts_with("1 84 DROP")), "{fwd:?}");
    }
}

#[test]
fn kd_connmark_restore_mark_lets_the_reply_through() {
    let r = probe(
        "kd_connmark",
        &filtered(&[
            "iptables -t mangle -A PREROUTING -i eth0 -p icmp -j MARK --set-mark 0x5",
            "iptables -t mangle -A PREROUTING -i eth0 -j CONNMARK --save-mark",
            "iptables -t mangle -A PREROUTING -i eth1 -j CONNMARK --restore-mark --mask 0xf",
            "iptables -A FORWARD -i eth0 -j ACCEPT",
            "iptables -A FORWARD -i eth1 -m connmark --mark 0x5 -m mark --mark 0x5 -j ACCEPT",
            "iptables -A FORWARD -j DROP",
        ]),
        &[
            run("h1", "ping -c 2 -i 0.2 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "conntrack -L -p icmp"),
        ],
        |o| (ping_stats(&o[0]), nvl(&o[1], true), ct_marks(&o[2])),
    );
    if let Some((stats, fwd, marks)) = r {
        assert_eq!(stats, "2 packets transmitted, 2 received");
        assert!(fwd.iter().any(|l| l.starts_with("2 168 ACCEPT")), "{fwd:?}");
        assert_eq!(marks, ["mark=5"]);
    }
}

// --- header matches and targets -------------------------------------------------------

#[test]
fn kd_length_drops_only_the_large_pings() {
    let r = probe(
        "kd_length",
        &filtered(&[
            "iptables -A FORWARD -p icmp -m length --length 100: -j DROP",
            "iptables -A FORWARD -m length ! --length 100:65535 -j ACCEPT",
        ]),
        &[
            run("h1", "ping -c 1 -W 1 -s 100 10.0.2.10"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((big, small, fwd)) = r {
        assert_eq!(big, Outcome::Silent);
        assert_eq!(small, Outcome::Reply { ttl: 63 });
        assert!(fwd.iter().any(|l| l.starts_with("1 128 DROP")), "{fwd:?}");
        assert!(fwd.iter().any(|l| l.starts_with("2 168 ACCEPT")), "{fwd:?}");
    }
}

/// FORWARD sees the TTL the router already decremented.
#[test]
fn kd_ttl_match_sees_the_decremented_ttl() {
    let r = probe(
        "kd_ttl_match",
        &filtered(&["iptables -A FORWARD -m ttl --ttl-lt 10 -j DROP"]),
        &[
            run("h1", "ping -c 1 -W 1 -t 10 10.0.2.10"),
            run("h1", "ping -c 1 -W 2 -t 11 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((low, high, fwd)) = r {
        assert_eq!(low, Outcome::Silent);
        assert_eq!(high, Outcome::Reply { ttl: 63 });
        assert!(fwd.iter().any(|l| l.starts_with("1 84 DROP")), "{fwd:?}");
    }
}

/// TTL in PREROUTING comes before the forwarding decrement, in FORWARD after it; the next
/// rule of the same chain and the filter table of the same hook see what mangle wrote;
/// POSTROUTING sets what h1 receives.
#[test]
fn kd_ttl_target_rewrites_forwarded_packets() {
    let r = probe(
        "kd_ttl_target",
        &filtered(&[
            "iptables -t mangle -A PREROUTING -i eth1 -j TTL --ttl-inc 1",
            "iptables -t mangle -A FORWARD -i eth0 -j TTL --ttl-set 9",
            "iptables -t mangle -A FORWARD -i eth0 -m ttl --ttl-eq 9 -j ACCEPT",
            "iptables -t mangle -A FORWARD -i eth0 -j DROP",
            "iptables -t mangle -A POSTROUTING -o eth0 -j TTL --ttl-set 7",
            "iptables -A FORWARD -i eth0 -m ttl --ttl-eq 9 -j ACCEPT",
            "iptables -A FORWARD -i eth1 -m ttl --ttl-eq 64 -j ACCEPT",
            "iptables -A FORWARD -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "iptables -t mangle -nvL FORWARD"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true), nvl(&o[2], true)),
    );
    if let Some((ping, fwd, _)) = r {
        assert_eq!(ping, Outcome::Reply { ttl: 7 });
        let accepted = fwd.iter().filter(|l| l.starts_with("1 84 ACCEPT")).count();
        assert_eq!(accepted, 2, "{fwd:?}");
    }
}

/// The filter table sees the DSCP and TOS mangle set in the same hook. (The reply's TOS is
/// set whole: Linux echoes the request's TOS in its reply, hoplab's hosts send 0.)
#[test]
fn kd_dscp_and_tos_targets_are_seen_by_the_filter_table() {
    let r = probe(
        "kd_dscp_tos",
        &filtered(&[
            "iptables -t mangle -A FORWARD -i eth0 -j DSCP --set-dscp-class EF",
            "iptables -t mangle -A FORWARD -i eth1 -j TOS --set-tos 0x10",
            "iptables -A FORWARD -i eth0 -m dscp --dscp-class EF -j ACCEPT",
            "iptables -A FORWARD -i eth1 -m tos --tos 0x10/0x3f -m dscp --dscp 4 -j ACCEPT",
            "iptables -A FORWARD -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true)),
    );
    if let Some((ping, fwd)) = r {
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
        let accepted = fwd.iter().filter(|l| l.starts_with("1 84 ACCEPT")).count();
        assert_eq!(accepted, 2, "{fwd:?}");
    }
}

/// `-m mac` reads the received frame's source (the testbed gives both worlds the same
/// addresses: h1 is 02:00:00:00:01:01, h2 02:00:00:00:02:01).
#[test]
fn kd_mac_source_accepts_the_known_hosts() {
    let r = probe(
        "kd_mac",
        &filtered(&[
            "iptables -A FORWARD -i eth0 -m mac --mac-source 02:00:00:00:01:01 -j ACCEPT",
            "iptables -A FORWARD -m mac ! --mac-source 02:00:00:00:02:01 -j DROP",
            "iptables -A FORWARD -i eth1 -m mac --mac-source 2:0:0:0:2:1 -j ACCEPT",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_outcome(&o[0].text), nvl(&o[1], true)),
    );
    if let Some((ping, fwd)) = r {
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
        let accepted = fwd.iter().filter(|l| l.starts_with("1 84 ACCEPT")).count();
        assert_eq!(accepted, 2, "{fwd:?}");
    }
}

/// One bucket per source: the burst of two passes, then one a second.
#[test]
fn kd_hashlimit_passes_the_burst_then_the_rate() {
    let r = probe(
        "kd_hashlimit",
        &filtered(&[
            "iptables -A FORWARD -i eth1 -j ACCEPT",
            "iptables -A FORWARD -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name kd -j ACCEPT",
            "iptables -A FORWARD -j DROP",
        ]),
        &[
            run("h1", "ping -c 5 -i 0.2 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| (ping_stats(&o[0]), nvl(&o[1], true)),
    );
    if let Some((stats, fwd)) = r {
        assert_eq!(stats, "5 packets transmitted, 2 received");
        assert!(fwd.iter().any(|l| l.starts_with("3 252 DROP")), "{fwd:?}");
    }
}

// --- recent ---------------------------------------------------------------------------

/// `/proc/net/xt_recent/NAME` with the jiffies left out (the clocks differ): each address's
/// TTL and how many stamps it has.
fn recent_shape(o: &Out) -> Vec<String> {
    o.text
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let stamps = l
                .split_once("oldest_pkt: ")
                .map_or(0, |(_, r)| r.split_whitespace().skip(1).count());
            format!(
                "{} {} {} oldest_pkt: {} {} stamps",
                w.first().copied().unwrap_or(""),
                w.get(1).copied().unwrap_or(""),
                w.get(2).copied().unwrap_or(""),
                w.get(6).copied().unwrap_or(""),
                stamps
            )
        })
        .collect()
}

#[test]
fn kd_recent_drops_the_third_echo_within_a_minute() {
    let r = probe(
        "kd_recent",
        &filtered(&[
            "iptables -A FORWARD -p icmp --icmp-type echo-request -m recent --set --name P --rsource",
            "iptables -A FORWARD -p icmp --icmp-type echo-request -m recent --update --seconds 60 --hitcount 3 --name P -j DROP",
        ]),
        &[
            run("h1", "ping -c 5 -i 0.2 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "cat /proc/net/xt_recent/P"),
        ],
        |o| (ping_stats(&o[0]), nvl(&o[1], true), recent_shape(&o[2])),
    );
    if let Some((stats, _, list)) = r {
        assert_eq!(stats, "5 packets transmitted, 2 received");
        assert_eq!(list, ["src=10.0.1.10 ttl: 64 oldest_pkt: 8 8 stamps"]);
    }
}

// --- ipset ------------------------------------------------------------------------------

/// `ipset list` with the `initval` (random in the kernel) and the seconds a member has left
/// (the clocks differ) left out.
fn ipset_listing(o: &Out) -> String {
    o.text
        .lines()
        .map(
            |l| match (l.split_once(" initval "), l.split_once(" timeout ")) {
                (Some((head, _)), _) => format!("{head}\n"),
                (None, Some((member, _))) if !l.starts_with("Header") => {
                    format!("{member} timeout _\n")
                }
                _ => format!("{l}\n"),
            },
        )
        .collect()
}

#[test]
fn kd_ipset_match_set_drops_the_listed_source_until_it_is_deleted() {
    let r = probe(
        "kd_ipset",
        &filtered(&[]),
        &[
            run("r1", "ipset create blk hash:ip timeout 600"),
            run("r1", "ipset add blk 10.0.1.10"),
            run(
                "r1",
                "iptables -A FORWARD -m set --match-set nosuch src -j DROP",
            ),
            run(
                "r1",
                "iptables -A FORWARD -m set --match-set blk src -j DROP",
            ),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
            run("r1", "ipset destroy blk"),
            Step::Show("r1", "ipset list blk"),
            run("r1", "ipset del blk 10.0.1.10"),
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                (o[2].code, o[2].text.clone()),
                ping_outcome(&o[4].text),
                ping_outcome(&o[5].text),
                (o[6].code, o[6].text.clone()),
                ipset_listing(&o[7]),
                ping_outcome(&o[9].text),
                nvl(&o[10], true),
            )
        },
    );
    if let Some((missing, first, back, destroy, _, after, _)) = r {
        assert_eq!(missing.0, 2);
        assert!(
            missing.1.contains("Set nosuch doesn't exist."),
            "{missing:?}"
        );
        assert_eq!((first, back), (Outcome::Silent, Outcome::Silent));
        assert_eq!(destroy.0, 1);
        assert_eq!(after, Outcome::Reply { ttl: 63 });
    }
}

// --- CT ---------------------------------------------------------------------------------

/// `iptables -nvL` rules without their counters: the two TCP stacks send different numbers
/// of segments for one exchange (delayed ACKs, FIN with data).
fn nvl_rules(o: &Out) -> Vec<String> {
    nvl(o, false)
        .into_iter()
        .map(|l| match l.split_once(' ') {
            Some((n, rest)) if n.parse::<u64>().is_ok() => format!("* {rest}"),
            _ => l,
        })
        .collect()
}

#[test]
fn kd_ct_notrack_skips_conntrack_and_nat() {
    let r = probe(
        "kd_ct_notrack",
        &filtered(&[
            "iptables -t raw -A PREROUTING -p tcp --dport 80 -j CT --notrack",
            "iptables -t raw -A PREROUTING -p tcp --sport 80 -j CT --notrack",
            "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
            "iptables -P FORWARD DROP",
            "iptables -A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT",
        ]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 2 --local-port 40000 http://10.0.2.10/"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "conntrack -L -p tcp"),
            Step::Show("r1", "iptables -nvL FORWARD"),
            Step::Show("r1", "iptables -t raw -nvL PREROUTING"),
        ],
        |o| {
            (
                http(&o[1]),
                ping_outcome(&o[2].text),
                o[3].text.clone(),
                nvl_rules(&o[4]),
                nvl_rules(&o[5]),
            )
        },
    );
    if let Some((page, ping, flows, _, _)) = r {
        assert_eq!(
            page,
            body("Hello from h2 (10.0.2.10:80). You came from 10.0.1.10:40000.")
        );
        assert_eq!(ping, Outcome::Silent);
        assert!(flows.contains("0 flow entries"), "{flows}");
    }
}

// --- NFLOG, NFQUEUE ----------------------------------------------------------------------

#[test]
fn kd_nfqueue_without_a_program_drops_unless_bypassed() {
    let r = probe(
        "kd_nfqueue",
        &filtered(&[
            "iptables -A FORWARD -j NFLOG --nflog-group 3",
            "iptables -A FORWARD -p icmp --icmp-type echo-request -d 10.0.2.10 -j NFQUEUE --queue-num 1",
            "iptables -A FORWARD -p icmp --icmp-type echo-request -j NFQUEUE --queue-num 2 --queue-bypass",
            "iptables -A FORWARD -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h2", "ping -c 1 -W 2 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((queued, bypassed, _)) = r {
        assert_eq!(queued, Outcome::Silent);
        // The echo request is accepted by the bypass; its reply meets the DROP.
        assert_eq!(bypassed, Outcome::Silent);
    }
}

// --- connlimit -------------------------------------------------------------------------

#[test]
fn kd_connlimit_refuses_the_third_live_flow() {
    let r = probe(
        "kd_connlimit",
        &filtered(&[
            "iptables -A FORWARD -p icmp --icmp-type echo-request -m conntrack --ctstate NEW -m connlimit --connlimit-above 2 --connlimit-mask 24 -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            run("h2", "ping -c 1 -W 1 10.0.1.10"),
            Step::Show("r1", "iptables -nvL FORWARD"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                ping_outcome(&o[2].text),
                ping_outcome(&o[3].text),
                nvl(&o[4], true),
            )
        },
    );
    if let Some((a, b, c, other, _)) = r {
        assert_eq!(
            (a, b),
            (Outcome::Reply { ttl: 63 }, Outcome::Reply { ttl: 63 })
        );
        assert_eq!(c, Outcome::Silent);
        assert_eq!(other, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_tproxy_without_a_transparent_socket_drops() {
    let r = probe(
        "kd_tproxy",
        &filtered(&[
            "iptables -t mangle -A PREROUTING -p tcp --dport 80 -j TPROXY --on-port 3128 --tproxy-mark 0x1/0x1",
        ]),
        &[
            Step::Http("h2", 80),
            run("h1", "curl -s -m 1 http://10.0.2.10/"),
            run("h1", "ping -c 1 -W 1 10.0.2.10"),
            Step::Show("r1", "iptables -t mangle -nvL PREROUTING"),
        ],
        |o| (http(&o[1]), ping_outcome(&o[2].text), nvl_rules(&o[3])),
    );
    if let Some((page, ping, _)) = r {
        assert_eq!(page, Http::Failed(28));
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
    }
}

// --- rpfilter ---------------------------------------------------------------------------

#[test]
fn kd_rpfilter_passes_sources_routed_back_the_way_they_came() {
    let r = probe(
        "kd_rpfilter",
        &filtered(&[
            "iptables -t raw -A PREROUTING -m rpfilter",
            "iptables -t raw -A PREROUTING -i eth0 -m rpfilter --loose --accept-local",
            "iptables -t raw -A PREROUTING -m rpfilter --invert -j DROP",
        ]),
        &[
            run("h1", "ping -c 1 -W 2 10.0.2.10"),
            run("h2", "ping -c 1 -W 2 10.0.1.1"),
            Step::Show("r1", "iptables -t raw -nvL PREROUTING"),
        ],
        |o| {
            (
                ping_outcome(&o[0].text),
                ping_outcome(&o[1].text),
                nvl(&o[2], true),
            )
        },
    );
    if let Some((fwd, local, _)) = r {
        assert_eq!(fwd, Outcome::Reply { ttl: 63 });
        assert_eq!(local, Outcome::Reply { ttl: 64 });
    }
}

// --- socket -----------------------------------------------------------------------------

/// `-m socket` on a router serving HTTP: its listener is bound to 0.0.0.0, a wildcard, so
/// a connection's first SYN matches only with `--nowildcard`; the connection's later packets
/// match both (their socket is the connection). The two counters differ by that one SYN in
/// both worlds, whatever the exchange's length; `--transparent` never matches (no program
/// opens an `IP_TRANSPARENT` socket).
#[test]
fn kd_socket_matches_a_connection_and_a_wildcard_listener_only_with_nowildcard() {
    let r = probe(
        "kd_socket",
        &filtered(&[
            "iptables -A INPUT -p tcp --dport 8080 -m socket --nowildcard",
            "iptables -A INPUT -p tcp --dport 8080 -m socket",
            "iptables -A INPUT -p tcp --dport 8080 -m socket --transparent",
            "iptables -A INPUT -p tcp --dport 8080 --syn",
        ]),
        &[
            Step::Http("r1", 8080),
            run("h1", "curl -s -m 5 http://10.0.1.1:8080/"),
            Step::Show("r1", "iptables -nvL INPUT"),
        ],
        |o| {
            let counts: Vec<u64> = nvl(&o[2], false)
                .iter()
                .filter_map(|l| l.split(' ').next()?.parse().ok())
                .collect();
            let n = |i: usize| counts.get(i).copied();
            (
                matches!(http(&o[1]), Http::Body(_)),
                n(0).unwrap_or(0).saturating_sub(n(1).unwrap_or(0)),
                n(1).is_some_and(|c| c > 0),
                n(2),
                n(3),
            )
        },
    );
    if let Some((answered, syns, later, transparent, all_syns)) = r {
        assert!(answered);
        assert_eq!(
            (syns, later, transparent, all_syns),
            (1, true, Some(0), Some(1))
        );
    }
}
