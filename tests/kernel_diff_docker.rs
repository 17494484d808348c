//! Differential tests of Docker labs against the Linux kernel: each `kd_docker_` case builds
//! a Docker lab in hoplab, then the same topology in network namespaces (see
//! `tests/kernel/docker.rs`) loaded with the rules hoplab generated (`iptables-save` on the
//! Docker host), runs the same probe in both and compares what came back: the body the server
//! answered (the address it saw), curl's exit code, ping's reply or silence, and the Docker
//! host's conntrack table. The testbed runs no docker-proxy, so paths served by the proxy are
//! checked against hoplab's own expectations. Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::docker::{both, listing_packets, probe};
use kernel::{Http, Out, Outcome, Step, body, ct, dump, http, ping_outcome, run};

/// A Docker host (192.0.2.10 on eth0, gateway 192.0.2.1) with `remote` (192.0.2.1) on the
/// LAN. `docker` holds the `docker:` section's other keys (indented by two); with
/// `remote_via_host` remote's default route goes to the Docker host, so it routes the
/// containers' subnets there.
fn lab(docker: &str, remote_via_host: bool) -> String {
    let gw = if remote_via_host {
        "    gateway: 192.0.2.10\n"
    } else {
        ""
    };
    format!(
        "version: 1
name: kd-docker
captures: none
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24, gateway: 192.0.2.1}}
  iptables_version: '1.8.9'
{docker}hosts:
  - name: remote
    interfaces: {{eth0: 192.0.2.1/24}}
{gw}links:
  - [dockerhost:eth0, remote:eth0]
"
    )
}

/// `web` on the default bridge, publishing 8080:80.
fn publish_lab(engine: u32, remote_via_host: bool) -> String {
    lab(
        &format!(
            "  engine: {engine}
  containers:
    - {{name: web, publish: ['8080:80']}}
"
        ),
        remote_via_host,
    )
}

/// Runs `f` for each item on its own thread (the probes mostly wait on timeouts); the results
/// in order. A panic in one is raised again here.
fn in_parallel<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|i| s.spawn(move || f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn has_entry(table: &[String], entry: &str) -> bool {
    table.iter().any(|l| l == entry)
}

// 06-network-modes

/// `bridged` on the default bridge, `hostnet` on the host's stack, `isolated` with loopback
/// only.
fn network_modes_lab() -> String {
    lab(
        "  containers:
    - {name: bridged}
    - {name: hostnet, network_mode: host}
    - {name: isolated, network_mode: none}
",
        false,
    )
}

#[test]
fn kd_docker_network_modes_bridged_egress_is_masqueraded() {
    let r = probe(
        "kd_docker_network_modes_bridged_egress_is_masqueraded",
        &network_modes_lab(),
        &[
            Step::Http("remote", 80),
            run(
                "bridged",
                "curl -s -m 2 --local-port 40000 http://192.0.2.1/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((b, table)) = r {
        assert_eq!(
            b,
            body("Hello from remote (192.0.2.1:80). You came from 192.0.2.10:40000.")
        );
        assert!(
            has_entry(
                &table,
                "tcp 6 TIME_WAIT src=172.17.0.2 dst=192.0.2.1 sport=40000 dport=80 \
                 src=192.0.2.1 dst=192.0.2.10 sport=80 dport=40000 [ASSURED]"
            ),
            "{table:#?}"
        );
    }
}

#[test]
fn kd_docker_network_modes_host_network_uses_the_hosts_address() {
    let r = probe(
        "kd_docker_network_modes_host_network_uses_the_hosts_address",
        &network_modes_lab(),
        &[
            Step::Http("remote", 80),
            Step::Http("hostnet", 8000),
            run(
                "hostnet",
                "curl -s -m 2 --local-port 40001 http://192.0.2.1/",
            ),
            run(
                "remote",
                "curl -s -m 2 --local-port 40002 http://192.0.2.10:8000/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[2]), http(&o[3]), ct(&o[5])),
    );
    if let Some((out, inbound, _)) = r {
        assert_eq!(
            out,
            body("Hello from remote (192.0.2.1:80). You came from 192.0.2.10:40001.")
        );
        assert_eq!(
            inbound,
            body("Hello from dockerhost (192.0.2.10:8000). You came from 192.0.2.1:40002.")
        );
    }
}

#[test]
fn kd_docker_network_modes_none_reaches_nothing() {
    let r = probe(
        "kd_docker_network_modes_none_reaches_nothing",
        &network_modes_lab(),
        &[
            Step::Http("remote", 80),
            run("isolated", "curl -s -m 1 http://192.0.2.1/"),
            run("isolated", "ping -c 1 -W 1 192.0.2.1"),
        ],
        |o| (http(&o[1]), ping_outcome(&o[2].text)),
    );
    if let Some(r) = r {
        assert_eq!(r, (Http::Failed(7), Outcome::Silent));
    }
}

// 07-publish-ports

#[test]
fn kd_docker_publish_ports_lan_reaches_published_port() {
    // DNAT in nat PREROUTING, then the DOCKER chain's per-port ACCEPT: web sees remote's own
    // address, and conntrack holds the DNAT. The same on each engine's layout.
    in_parallel(&[29, 28, 27], |&engine| {
        let r = probe(
            &format!("kd_docker_publish_ports_lan_reaches_published_port_{engine}"),
            &publish_lab(engine, false),
            &[
                Step::Http("web", 80),
                run(
                    "remote",
                    "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
                ),
                Step::Pause,
                Step::Show("dockerhost", "conntrack -L -p tcp"),
            ],
            |o| (http(&o[1]), ct(&o[3])),
        );
        if let Some((b, table)) = r {
            assert_eq!(
                b,
                body("Hello from web (172.17.0.2:80). You came from 192.0.2.1:40000."),
                "engine {engine}"
            );
            assert!(
                has_entry(
                    &table,
                    "tcp 6 TIME_WAIT src=192.0.2.1 dst=192.0.2.10 sport=40000 dport=8080 \
                     src=172.17.0.2 dst=192.0.2.1 sport=80 dport=40000 [ASSURED]"
                ),
                "engine {engine}: {table:#?}"
            );
        }
    });
}

#[test]
fn kd_docker_publish_ports_unpublished_port_blocked() {
    // remote routes 172.17.0.0/16 via the Docker host. A container port nobody published,
    // reached directly, is dropped by engine 29's raw table (before conntrack: no entry); a
    // host port nobody published is refused by the host itself. The ping, sent before any
    // SYN, is the raw DROP rule's one packet (SYN retransmissions would race the clock).
    let r = probe(
        "kd_docker_publish_ports_unpublished_port_blocked",
        &publish_lab(29, true),
        &[
            Step::Http("web", 81),
            run("remote", "ping -c 1 -W 1 172.17.0.2"),
            Step::Show("dockerhost", "iptables -t raw -nvL PREROUTING"),
            run("remote", "curl -s -m 1 http://172.17.0.2:81/"),
            run(
                "remote",
                "curl -s -m 1 --local-port 40001 http://192.0.2.10:8081/",
            ),
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| {
            (
                ping_outcome(&o[1].text),
                listing_packets(&o[2]),
                http(&o[3]),
                http(&o[4]),
                ct(&o[5]),
            )
        },
    );
    if let Some((ping, raw, direct, host, _)) = r {
        assert_eq!(ping, Outcome::Silent);
        assert!(
            raw.iter()
                .any(|l| l.starts_with("1 DROP") && l.contains("172.17.0.2")),
            "{raw:#?}"
        );
        assert_eq!(direct, Http::Failed(28));
        assert_eq!(host, Http::Failed(7));
    }
}

#[test]
fn kd_docker_publish_ports_direct_access_engine_27_vs_29() {
    // remote routes 172.17.0.0/16 via the Docker host and asks for the published container
    // port (80) and an unpublished one (81) at the container's own address. Engine 29's raw
    // table drops both. Engine 27's DOCKER chain accepts the container port from any
    // interface (moby#45610); 81 falls to FORWARD's policy: dropped under the default
    // `forward_policy: drop`, let through under `accept` (as on a host that forwarded
    // before dockerd started).
    let reached = |port: u16, local: u16| {
        body(&format!(
            "Hello from web (172.17.0.2:{port}). You came from 192.0.2.1:{local}."
        ))
    };
    let variants = [
        ("29", 29, "", Http::Failed(28), Http::Failed(28)),
        ("27", 27, "", reached(80, 40000), Http::Failed(28)),
        (
            "27_forward_accept",
            27,
            "  forward_policy: accept\n",
            reached(80, 40000),
            reached(81, 40001),
        ),
    ];
    in_parallel(&variants, |(variant, engine, extra, port80, port81)| {
        let lab = lab(
            &format!(
                "  engine: {engine}
{extra}  containers:
    - {{name: web, publish: ['8080:80']}}
"
            ),
            true,
        );
        let r = probe(
            &format!("kd_docker_publish_ports_direct_access_engine_{variant}"),
            &lab,
            &[
                Step::Http("web", 80),
                Step::Http("web", 81),
                run(
                    "remote",
                    "curl -s -m 1 --local-port 40000 http://172.17.0.2/",
                ),
                run(
                    "remote",
                    "curl -s -m 1 --local-port 40001 http://172.17.0.2:81/",
                ),
                Step::Pause,
                Step::Show("dockerhost", "conntrack -L -p tcp"),
            ],
            |o| (http(&o[2]), http(&o[3]), ct(&o[5])),
        );
        if let Some((a, b, _)) = r {
            assert_eq!((&a, &b), (port80, port81), "{variant}");
        }
    });
}

#[test]
fn kd_docker_publish_ports_container_egress_masquerade() {
    // remote sees the host's address; the entry's reply tuple is addressed to it. The ping's
    // entry too (its id is left out: the two stacks choose their own).
    in_parallel(&[29, 28, 27], |&engine| {
        let r = probe(
            &format!("kd_docker_publish_ports_container_egress_masquerade_{engine}"),
            &publish_lab(engine, false),
            &[
                Step::Http("remote", 80),
                run("web", "curl -s -m 2 --local-port 40000 http://192.0.2.1/"),
                run("web", "ping -c 1 -W 1 192.0.2.1"),
                Step::Pause,
                Step::Show("dockerhost", "conntrack -L -p tcp --src-nat"),
                Step::Show("dockerhost", "conntrack -L -p icmp"),
            ],
            |o| (http(&o[1]), ping_outcome(&o[2].text), ct(&o[4]), ct(&o[5])),
        );
        if let Some((b, ping, table, _)) = r {
            assert_eq!(
                b,
                body("Hello from remote (192.0.2.1:80). You came from 192.0.2.10:40000."),
                "engine {engine}"
            );
            assert_eq!(ping, Outcome::Reply { ttl: 63 }, "engine {engine}");
            assert!(
                has_entry(
                    &table,
                    "tcp 6 TIME_WAIT src=172.17.0.2 dst=192.0.2.1 sport=40000 dport=80 \
                     src=192.0.2.1 dst=192.0.2.10 sport=80 dport=40000 [ASSURED]"
                ),
                "engine {engine}: {table:#?}"
            );
        }
    });
}

#[test]
fn kd_docker_publish_ports_host_reaches_published_port_through_output_dnat() {
    // The host's own connection to its LAN address is DNATed in nat OUTPUT (the proxy never
    // sees it) and keeps the host's address as its source.
    let r = probe(
        "kd_docker_publish_ports_host_reaches_published_port_through_output_dnat",
        &publish_lab(29, false),
        &[
            Step::Http("web", 80),
            run(
                "dockerhost",
                "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((b, table)) = r {
        assert_eq!(
            b,
            body("Hello from web (172.17.0.2:80). You came from 192.0.2.10:40000.")
        );
        assert!(
            has_entry(
                &table,
                "tcp 6 TIME_WAIT src=192.0.2.10 dst=192.0.2.10 sport=40000 dport=8080 \
                 src=172.17.0.2 dst=192.0.2.10 sport=80 dport=40000 [ASSURED]"
            ),
            "{table:#?}"
        );
    }
}

#[test]
fn kd_docker_publish_ports_loopback_binding_is_the_hosts_only() {
    // 127.0.0.1:9090:80: the DNAT matches only 127.0.0.1, so the LAN address is refused.
    let lab = lab(
        "  containers:
    - {name: admin, publish: ['127.0.0.1:9090:80']}
",
        true,
    );
    let r = probe(
        "kd_docker_publish_ports_loopback_binding_is_the_hosts_only",
        &lab,
        &[
            Step::Http("admin", 80),
            run("remote", "curl -s -m 1 http://192.0.2.10:9090/"),
            run("remote", "curl -s -m 1 http://172.17.0.2/"),
        ],
        |o| (http(&o[1]), http(&o[2])),
    );
    if let Some(r) = r {
        assert_eq!(r, (Http::Failed(7), Http::Failed(28)));
    }
}

#[test]
fn kd_docker_publish_ports_any_host_address_and_host_binding() {
    // A port published on all addresses answers on every address of the host (addrtype
    // LOCAL), docker0's too; a network's `host_binding_ipv4` narrows its DNAT to that
    // address.
    let lab = lab(
        "  networks:
    - {name: bound, host_binding_ipv4: 192.0.2.10}
  containers:
    - {name: web, publish: ['8080:80']}
    - {name: b, networks: [bound], publish: ['8081:80']}
",
        true,
    );
    let r = probe(
        "kd_docker_publish_ports_any_host_address_and_host_binding",
        &lab,
        &[
            Step::Http("web", 80),
            Step::Http("b", 80),
            run(
                "remote",
                "curl -s -m 1 --local-port 40000 http://172.17.0.1:8080/",
            ),
            run(
                "remote",
                "curl -s -m 1 --local-port 40001 http://192.0.2.10:8081/",
            ),
            run(
                "remote",
                "curl -s -m 1 --local-port 40002 http://172.17.0.1:8081/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp --dst-nat"),
        ],
        |o| (http(&o[2]), http(&o[3]), http(&o[4]), ct(&o[6])),
    );
    if let Some((any, bound, other, _)) = r {
        assert_eq!(
            any,
            body("Hello from web (172.17.0.2:80). You came from 192.0.2.1:40000.")
        );
        assert_eq!(
            bound,
            body("Hello from b (172.18.0.2:80). You came from 192.0.2.1:40001.")
        );
        assert_eq!(other, Http::Failed(7));
    }
}

#[test]
fn kd_docker_publish_ports_udp() {
    let lab = lab(
        "  containers:
    - {name: web, publish: ['5000:5000/udp']}
",
        false,
    );
    let r = probe(
        "kd_docker_publish_ports_udp",
        &lab,
        &[
            Step::Bg("web", "nc -u -l 5000", 5000),
            Step::Run("remote", "nc -u -w 1 -p 40000 192.0.2.10 5000", "hello\n"),
            Step::Show("dockerhost", "conntrack -L -p udp"),
        ],
        |o| (o[0].text.clone(), ct(&o[2])),
    );
    if let Some((received, table)) = r {
        assert_eq!(received, "hello\n");
        assert!(
            has_entry(
                &table,
                "udp 17 src=192.0.2.1 dst=192.0.2.10 sport=40000 dport=5000 [UNREPLIED] \
                 src=172.17.0.2 dst=192.0.2.1 sport=5000 dport=40000"
            ),
            "{table:#?}"
        );
    }
}

#[test]
fn kd_docker_publish_ports_proxy_paths() {
    // Served by docker-proxy in hoplab, which the testbed does not run: the host's
    // 127.0.0.1:8080 (loopback is never DNATed: nat OUTPUT skips 127.0.0.0/8) and a
    // container's connection to the host's address (the DNAT rule has `! -i docker0`). The
    // kernel shows that nothing but a proxy could answer them (refused); hoplab's proxy
    // answers from docker0's address, as Docker's does.
    let lab = lab(
        "  containers:
    - {name: web, publish: ['8080:80']}
    - {name: client}
",
        false,
    );
    let steps = [
        Step::Http("web", 80),
        run(
            "dockerhost",
            "curl -s -m 1 --local-port 40000 http://127.0.0.1:8080/",
        ),
        run(
            "client",
            "curl -s -m 1 --local-port 40001 http://192.0.2.10:8080/",
        ),
    ];
    let Some(r) = both("kd_docker_publish_ports_proxy_paths", &lab, &steps) else {
        return;
    };
    let show = || {
        format!(
            "--- kernel:\n{}\n--- hoplab:\n{}",
            dump(&steps, &r.kernel),
            dump(&steps, &r.hoplab)
        )
    };
    assert_eq!(
        (http(&r.kernel[1]), http(&r.kernel[2])),
        (Http::Failed(7), Http::Failed(7)),
        "{}",
        show()
    );
    let from_proxy = |o: &Out| {
        o.code == 0
            && o.text
                .starts_with("Hello from web (172.17.0.2:80). You came from 172.17.0.1:")
    };
    assert!(
        from_proxy(&r.hoplab[1]) && from_proxy(&r.hoplab[2]),
        "{}",
        show()
    );
}

#[test]
fn kd_docker_publish_ports_without_proxy_hairpin() {
    // `userland_proxy: false`: the DNAT has no `! -i docker0`, the bridge port is in hairpin
    // mode, and web's own connection to its published port is MASQUERADEd to docker0's
    // address.
    let lab = lab(
        "  userland_proxy: false
  containers:
    - {name: web, publish: ['8080:80']}
",
        false,
    );
    let r = probe(
        "kd_docker_publish_ports_without_proxy_hairpin",
        &lab,
        &[
            Step::Http("web", 80),
            run(
                "web",
                "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[3])),
    );
    if let Some((b, _)) = r {
        assert_eq!(
            b,
            body("Hello from web (172.17.0.2:80). You came from 172.17.0.1:40000.")
        );
    }
}

#[test]
fn kd_docker_publish_ports_without_proxy_neighbour_container_through_br_netfilter() {
    // `userland_proxy: false`: client, on web's bridge, asks for the host's published port.
    // The DNAT sends the SYN back out docker0 unchanged in source, and web answers client
    // directly across the bridge: br_netfilter (which Docker turns on without the proxy)
    // un-DNATs the bridged answer, so client sees it come from 192.0.2.10:8080.
    let lab = lab(
        "  userland_proxy: false
  containers:
    - {name: web, publish: ['8080:80']}
    - {name: client}
",
        false,
    );
    let r = probe(
        "kd_docker_publish_ports_without_proxy_neighbour_container_through_br_netfilter",
        &lab,
        &[
            Step::Http("web", 80),
            run(
                "client",
                "curl -s -m 1 --local-port 40000 http://192.0.2.10:8080/",
            ),
            run(
                "dockerhost",
                "curl -s -m 1 --local-port 40001 http://127.0.0.1:8080/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), http(&o[2]), ct(&o[4])),
    );
    if let Some((neighbour, host, _)) = r {
        assert_eq!(
            neighbour,
            body("Hello from web (172.17.0.2:80). You came from 172.17.0.3:40000.")
        );
        assert_eq!(
            host,
            body("Hello from web (172.17.0.2:80). You came from 172.17.0.1:40001.")
        );
    }
}

// 08-docker-user-firewall

/// `web` publishes 8080:80 and `api` 8081:80 on `dockerhost`; on the LAN bridge are
/// `trusted` (192.0.2.2), `other` (192.0.2.3) and router `gw` (192.0.2.1), behind which are
/// `outsider` (198.51.100.7) and `internet` (198.51.100.50).
fn user_firewall_lab() -> String {
    "version: 1
name: kd-docker-user-firewall
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24, gateway: 192.0.2.1}
  iptables_version: '1.8.9'
  containers:
    - {name: web, publish: ['8080:80']}
    - {name: api, publish: ['8081:80']}
hosts:
  - {name: trusted, interfaces: {eth0: 192.0.2.2/24}, gateway: 192.0.2.1}
  - {name: other, interfaces: {eth0: 192.0.2.3/24}, gateway: 192.0.2.1}
  - {name: outsider, interfaces: {eth0: 198.51.100.7/24}, gateway: 198.51.100.1}
  - {name: internet, interfaces: {eth0: 198.51.100.50/24}, gateway: 198.51.100.1}
routers:
  - name: gw
    interfaces: {eth0: 192.0.2.1/24, eth1: 198.51.100.1/24}
    iptables_version: '1.8.9'
bridges:
  - name: lan
  - name: wan
links:
  - [dockerhost:eth0, lan:p1]
  - [trusted:eth0, lan:p2]
  - [other:eth0, lan:p3]
  - [gw:eth0, lan:p4]
  - [gw:eth1, wan:p1]
  - [outsider:eth0, wan:p2]
  - [internet:eth0, wan:p3]
"
    .to_string()
}

#[test]
fn kd_docker_user_firewall_input_rule_does_not_protect_published_port() {
    let r = probe(
        "kd_docker_user_firewall_input_rule_does_not_protect_published_port",
        &user_firewall_lab(),
        &[
            Step::Http("web", 80),
            run(
                "dockerhost",
                "iptables -w -I INPUT -p tcp --dport 8080 -j DROP",
            ),
            run(
                "other",
                "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
            ),
            Step::Show("dockerhost", "iptables -nvL INPUT"),
        ],
        |o| (http(&o[2]), listing_packets(&o[3])),
    );
    if let Some((b, _)) = r {
        assert_eq!(
            b,
            body("Hello from web (172.17.0.2:80). You came from 192.0.2.3:40000.")
        );
    }
}

#[test]
fn kd_docker_user_firewall_drop_lan_source() {
    // Only trusted (192.0.2.2) gets in; other and gw (192.0.2.1) are dropped in FORWARD after
    // the DNAT: no conntrack entry is confirmed for them.
    let r = probe(
        "kd_docker_user_firewall_drop_lan_source",
        &user_firewall_lab(),
        &[
            Step::Http("web", 80),
            run(
                "dockerhost",
                "iptables -w -I DOCKER-USER -i eth0 ! -s 192.0.2.2 -j DROP",
            ),
            run(
                "trusted",
                "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
            ),
            run(
                "other",
                "curl -s -m 1 --local-port 40001 http://192.0.2.10:8080/",
            ),
            run(
                "gw",
                "curl -s -m 1 --local-port 40002 http://192.0.2.10:8080/",
            ),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[2]), http(&o[3]), http(&o[4]), ct(&o[6])),
    );
    if let Some((trusted, other, gw, _)) = r {
        assert_eq!(
            trusted,
            body("Hello from web (172.17.0.2:80). You came from 192.0.2.2:40000.")
        );
        assert_eq!((other, gw), (Http::Failed(28), Http::Failed(28)));
    }
}

#[test]
fn kd_docker_user_firewall_replies_to_the_containers_own_connections() {
    // The pitfall: replies to web's outbound connection come in eth0 from elsewhere and are
    // dropped too, until an ESTABLISHED,RELATED ACCEPT goes above the DROP.
    let r = probe(
        "kd_docker_user_firewall_replies_to_the_containers_own_connections",
        &user_firewall_lab(),
        &[
            Step::Http("internet", 80),
            run(
                "dockerhost",
                "iptables -w -I DOCKER-USER -i eth0 ! -s 192.0.2.2 -j DROP",
            ),
            run(
                "web",
                "curl -s -m 1 --local-port 40000 http://198.51.100.50/",
            ),
            run(
                "dockerhost",
                "iptables -w -I DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            ),
            run(
                "web",
                "curl -s -m 2 --local-port 40001 http://198.51.100.50/",
            ),
        ],
        |o| (http(&o[2]), http(&o[4])),
    );
    if let Some((before, after)) = r {
        assert_eq!(before, Http::Failed(28));
        assert_eq!(
            after,
            body("Hello from internet (198.51.100.50:80). You came from 192.0.2.10:40001.")
        );
    }
}

#[test]
fn kd_docker_user_firewall_original_destination() {
    // `--ctorigdst/--ctorigdstport` see the address the client asked for, before the DNAT.
    let r = probe(
        "kd_docker_user_firewall_original_destination",
        &user_firewall_lab(),
        &[
            Step::Http("web", 80),
            Step::Http("api", 80),
            run("dockerhost", "iptables -w -I DOCKER-USER -i eth0 -j DROP"),
            run(
                "dockerhost",
                "iptables -w -I DOCKER-USER -p tcp -m conntrack --ctorigdst 192.0.2.10 --ctorigdstport 8080 -j ACCEPT",
            ),
            run(
                "outsider",
                "curl -s -m 2 --local-port 40000 http://192.0.2.10:8080/",
            ),
            run(
                "outsider",
                "curl -s -m 1 --local-port 40001 http://192.0.2.10:8081/",
            ),
        ],
        |o| (http(&o[4]), http(&o[5])),
    );
    if let Some((web, api)) = r {
        assert_eq!(
            web,
            body("Hello from web (172.17.0.2:80). You came from 198.51.100.7:40000.")
        );
        assert_eq!(api, Http::Failed(28));
    }
}

// 09-isolation

/// `f1` on `front`, `b1` on `back`, `both` on both, `v1` and `v2` on the internal `vault`,
/// `web` on the default bridge.
fn isolation_lab(engine: u32) -> String {
    lab(
        &format!(
            "  engine: {engine}
  networks:
    - {{name: front}}
    - {{name: back}}
    - {{name: vault, internal: true}}
  containers:
    - {{name: f1, networks: [front]}}
    - {{name: b1, networks: [back]}}
    - {{name: both, networks: [front, back]}}
    - {{name: v1, networks: [vault]}}
    - {{name: v2, networks: [vault]}}
    - {{name: web}}
"
        ),
        false,
    )
}

#[test]
fn kd_docker_isolation_networks_cannot_reach_each_other() {
    // front is 172.18.0.0/16, back 172.19.0.0/16, vault 172.20.0.0/16.
    in_parallel(&[29, 28, 27], |&engine| {
        let r = probe(
            &format!("kd_docker_isolation_networks_cannot_reach_each_other_{engine}"),
            &isolation_lab(engine),
            &[
                Step::Http("b1", 80),
                Step::Http("web", 80),
                run("f1", "curl -s -m 1 http://172.19.0.2/"),
                run("f1", "ping -c 1 -W 1 172.19.0.2"),
                run("f1", "curl -s -m 1 http://172.17.0.2/"),
                run("web", "ping -c 1 -W 1 172.18.0.2"),
                run("both", "curl -s -m 2 --local-port 40000 http://172.19.0.2/"),
                Step::Show("dockerhost", "conntrack -L -p tcp"),
            ],
            |o| {
                (
                    http(&o[2]),
                    ping_outcome(&o[3].text),
                    http(&o[4]),
                    ping_outcome(&o[5].text),
                    http(&o[6]),
                    ct(&o[7]),
                )
            },
        );
        if let Some((a, b, c, d, e, _)) = r {
            assert_eq!(
                (a, b, c, d),
                (
                    Http::Failed(28),
                    Outcome::Silent,
                    Http::Failed(28),
                    Outcome::Silent
                ),
                "engine {engine}"
            );
            assert_eq!(
                e,
                body("Hello from b1 (172.19.0.2:80). You came from 172.19.0.3:40000."),
                "engine {engine}"
            );
        }
    });
}

#[test]
fn kd_docker_isolation_internal_has_no_egress() {
    let r = probe(
        "kd_docker_isolation_internal_has_no_egress",
        &isolation_lab(29),
        &[
            Step::Http("remote", 80),
            Step::Http("v2", 80),
            run("v1", "curl -s -m 1 http://192.0.2.1/"),
            run("v1", "ping -c 1 -W 1 192.0.2.1"),
            run("v1", "curl -s -m 2 --local-port 40000 http://172.20.0.3/"),
            run("v1", "curl -s -m 1 http://172.18.0.1/"),
        ],
        |o| {
            (
                http(&o[2]),
                ping_outcome(&o[3].text),
                http(&o[4]),
                http(&o[5]),
            )
        },
    );
    if let Some((out, ping, peer, _)) = r {
        assert_eq!(out, Http::Failed(7));
        assert_eq!(ping, Outcome::Silent);
        assert_eq!(
            peer,
            body("Hello from v2 (172.20.0.3:80). You came from 172.20.0.2:40000.")
        );
    }
}

/// `c1` and `c2` on `quiet` (172.18.0.0/16), a network with `enable_icc: false`.
fn icc_lab() -> String {
    lab(
        "  networks:
    - {name: quiet, enable_icc: false}
  containers:
    - {name: c1, networks: [quiet]}
    - {name: c2, networks: [quiet]}
",
        false,
    )
}

#[test]
fn kd_docker_isolation_icc_disabled_drops_bridged_traffic() {
    // `enable_icc: false` is a FORWARD rule (`-i br -o br -j DROP`); traffic between two
    // containers of the bridge is bridged, not routed, so it reaches iptables through
    // br_netfilter, which Docker turns on for this (`bridge-nf-call-iptables`). Egress
    // through the host is not affected.
    let r = probe(
        "kd_docker_isolation_icc_disabled_drops_bridged_traffic",
        &icc_lab(),
        &[
            Step::Http("c2", 80),
            Step::Http("remote", 80),
            run("c1", "curl -s -m 2 --local-port 40001 http://192.0.2.1/"),
            run("c1", "curl -s -m 2 --local-port 40000 http://172.18.0.3/"),
            run("c1", "ping -c 1 -W 1 172.18.0.3"),
            Step::Show("dockerhost", "iptables -nvL DOCKER-FORWARD"),
        ],
        |o| {
            (
                http(&o[2]),
                http(&o[3]),
                ping_outcome(&o[4].text),
                // The icc rule's count (the others count TCP segments, which the two stacks
                // send differently: delayed ACKs).
                listing_packets(&o[5])
                    .into_iter()
                    .filter(|l| l.contains("DROP"))
                    .collect::<Vec<_>>(),
            )
        },
    );
    if let Some((egress, peer, ping, drops)) = r {
        assert!(drops.iter().any(|l| !l.starts_with("0 ")), "{drops:#?}");
        assert_eq!(
            egress,
            body("Hello from remote (192.0.2.1:80). You came from 192.0.2.10:40001.")
        );
        assert_eq!(peer, Http::Failed(28));
        assert_eq!(ping, Outcome::Silent);
    }
}

#[test]
fn kd_docker_isolation_second_neighbour_is_resolved_at_once() {
    // c1 talks to c2 (an ARP for 172.18.0.3), then at once to remote through its gateway (an
    // ARP for 172.18.0.1). The kernel sends the second ARP at once (its rate limit is per
    // neighbour); smoltcp's is per interface, so the host asks for the second neighbour
    // itself.
    probe(
        "kd_docker_isolation_second_neighbour_is_resolved_at_once",
        &icc_lab(),
        &[
            Step::Http("c2", 80),
            Step::Http("remote", 80),
            run("c1", "curl -s -m 1 --local-port 40000 http://172.18.0.3/"),
            run("c1", "curl -s -m 1 --local-port 40001 http://192.0.2.1/"),
        ],
        |o| (http(&o[2]), http(&o[3])),
    );
}

// 10-routed-mode

/// `svc` on the routed network 10.42.0.0/24 publishing port 80 (no host port); the LAN
/// router `lanrouter` routes it via dockerhost; `client` (198.51.100.7) is behind it.
fn routed_lab() -> String {
    "version: 1
name: kd-docker-routed
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24, gateway: 192.0.2.1}
  iptables_version: '1.8.9'
  networks:
    - {name: routednet, subnet: 10.42.0.0/24, gateway_mode_ipv4: routed}
  containers:
    - {name: svc, networks: [routednet], publish: ['80']}
routers:
  - name: lanrouter
    interfaces: {eth0: 192.0.2.1/24, eth1: 198.51.100.1/24}
    routes: ['10.42.0.0/24 via 192.0.2.10']
    iptables_version: '1.8.9'
hosts:
  - {name: client, interfaces: {eth0: 198.51.100.7/24}, gateway: 198.51.100.1}
links:
  - [dockerhost:eth0, lanrouter:eth0]
  - [lanrouter:eth1, client:eth0]
"
    .to_string()
}

#[test]
fn kd_docker_routed_mode_no_masquerade() {
    let r = probe(
        "kd_docker_routed_mode_no_masquerade",
        &routed_lab(),
        &[
            Step::Http("svc", 80),
            Step::Http("svc", 81),
            Step::Http("client", 80),
            run(
                "client",
                "curl -s -m 2 --local-port 40000 http://10.42.0.2/",
            ),
            run(
                "client",
                "curl -s -m 1 --local-port 40002 http://10.42.0.2:81/",
            ),
            run(
                "svc",
                "curl -s -m 2 --local-port 40001 http://198.51.100.7/",
            ),
            run("client", "ping -c 1 -W 1 10.42.0.2"),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| {
            (
                http(&o[3]),
                http(&o[4]),
                http(&o[5]),
                ping_outcome(&o[6].text),
                ct(&o[8]),
            )
        },
    );
    if let Some((inbound, closed, outbound, _, table)) = r {
        assert_eq!(
            inbound,
            body("Hello from svc (10.42.0.2:80). You came from 198.51.100.7:40000.")
        );
        assert_eq!(closed, Http::Failed(28));
        assert_eq!(
            outbound,
            body("Hello from client (198.51.100.7:80). You came from 10.42.0.2:40001.")
        );
        assert!(
            table.iter().all(|l| !l.contains("192.0.2.10")),
            "no NAT to the host's address: {table:#?}"
        );
    }
}

#[test]
fn kd_docker_routed_mode_nat_unprotected_allows_direct_access() {
    // `gateway_mode_ipv4: nat-unprotected`: still MASQUERADEd outbound, but neither a raw
    // rule nor a DOCKER DROP for the network: remote (routing via the host) reaches any port
    // of the container at its own address, published or not.
    let lab = lab(
        "  networks:
    - {name: open, gateway_mode_ipv4: nat-unprotected}
  containers:
    - {name: web, networks: [open], publish: ['8080:80']}
",
        true,
    );
    let r = probe(
        "kd_docker_routed_mode_nat_unprotected_allows_direct_access",
        &lab,
        &[
            Step::Http("web", 80),
            Step::Http("web", 81),
            Step::Http("remote", 80),
            run(
                "remote",
                "curl -s -m 1 --local-port 40000 http://172.18.0.2:81/",
            ),
            run(
                "remote",
                "curl -s -m 1 --local-port 40001 http://192.0.2.10:8080/",
            ),
            run("web", "curl -s -m 1 --local-port 40002 http://192.0.2.1/"),
            run("remote", "ping -c 1 -W 1 172.18.0.2"),
            Step::Pause,
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| {
            (
                http(&o[3]),
                http(&o[4]),
                http(&o[5]),
                ping_outcome(&o[6].text),
                ct(&o[8]),
            )
        },
    );
    if let Some((direct, published, egress, ping, _)) = r {
        assert_eq!(
            direct,
            body("Hello from web (172.18.0.2:81). You came from 192.0.2.1:40000.")
        );
        assert_eq!(
            published,
            body("Hello from web (172.18.0.2:80). You came from 192.0.2.1:40001.")
        );
        assert_eq!(
            egress,
            body("Hello from remote (192.0.2.1:80). You came from 192.0.2.10:40002.")
        );
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_docker_routed_mode_unmasqueraded_reply_dropped_in_raw_before_conntrack() {
    // `enable_ip_masquerade: false` on a nat-mode network: app's SYN leaves with its own
    // address; remote (routing via the host) answers it, and engine 29's raw rule
    // (`-d 172.18.0.2/32 ! -i br-... -j DROP`) drops the SYN-ACK. The kernel's raw table
    // (priority -300) runs before conntrack (-200): the entry stays SYN_SENT [UNREPLIED].
    let lab = lab(
        "  networks:
    - {name: nomasq, enable_ip_masquerade: false}
  containers:
    - {name: app, networks: [nomasq]}
",
        true,
    );
    let r = probe(
        "kd_docker_routed_mode_unmasqueraded_reply_dropped_in_raw_before_conntrack",
        &lab,
        &[
            Step::Http("remote", 80),
            run("app", "curl -s -m 1 --local-port 40000 http://192.0.2.1/"),
            Step::Show("dockerhost", "conntrack -L -p tcp"),
        ],
        |o| (http(&o[1]), ct(&o[2])),
    );
    if let Some((out, table)) = r {
        assert_eq!(out, Http::Failed(28));
        assert!(
            has_entry(
                &table,
                "tcp 6 SYN_SENT src=172.18.0.2 dst=192.0.2.1 sport=40000 dport=80 [UNREPLIED] \
                 src=192.0.2.1 dst=172.18.0.2 sport=80 dport=40000"
            ),
            "{table:#?}"
        );
    }
}
