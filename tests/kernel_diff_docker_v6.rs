//! Docker's IPv6 networks against the kernel: a Docker host (192.0.2.10 and 2001:db8::10 on
//! eth0) with a NAT66 network (`natnet`, fd00:18::/64) and a routed one (`routednet`,
//! 2001:db8:42::/64, `gateway_mode_ipv6: routed`), and `remote` on the LAN, whose IPv6
//! default route is the Docker host. hoplab builds the lab; the namespace testbed is built
//! from hoplab's model and loaded with the `iptables-save` and `ip6tables-save` hoplab's
//! Docker host prints (see `tests/kernel/docker.rs`). What the servers saw, curl's exit
//! codes, ping's replies and the Docker host's IPv6 conntrack table and rule counters must
//! agree. Needs root (see `tests/kernel/mod.rs`).

mod kernel;

use kernel::docker::{listing_packets, probe};
use kernel::{Http, Outcome, Step, body, ct, http, ping_outcome, run};

/// The Docker host and `remote`, with `docker` (the `docker:` section's other keys,
/// indented by two) in between.
fn host_lab(docker: &str) -> String {
    format!(
        "version: 1
name: kd-docker-v6
captures: none
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24, ipv6: '2001:db8::10/64', gateway: 192.0.2.1, gateway6: '2001:db8::1'}}
  iptables_version: '1.8.9'
{docker}hosts:
  - name: remote
    interfaces: {{eth0: {{ip: 192.0.2.1/24, ipv6: '2001:db8::1/64'}}}}
    gateway6: '2001:db8::10'
links:
  - [dockerhost:eth0, remote:eth0]
"
    )
}

/// natnet and routednet, `web` on the first publishing 8080:80, `svc` on the second 80.
fn lab(engine: u32) -> String {
    host_lab(&format!(
        "  engine: {engine}
  networks:
    - {{name: natnet, subnet: 172.18.0.0/16, subnet6: 'fd00:18::/64'}}
    - {{name: routednet, subnet: 172.19.0.0/16, subnet6: '2001:db8:42::/64', gateway_mode_ipv6: routed}}
  containers:
    - {{name: web, networks: [natnet], publish: ['8080:80']}}
    - {{name: svc, networks: [routednet], publish: ['80']}}
"
    ))
}

#[test]
fn kd_docker_v6_published_port_is_dnat66_and_egress_is_masqueraded() {
    for engine in [27, 28, 29] {
        let case = format!("kd_docker_v6_nat66_{engine}");
        let r = probe(
            &case,
            &lab(engine),
            &[
                Step::Http6("web", 80),
                Step::Http6("remote", 80),
                run(
                    "remote",
                    "curl -s -m 2 --local-port 40000 http://[2001:db8::10]:8080/",
                ),
                run(
                    "web",
                    "curl -s -m 2 --local-port 40001 http://[2001:db8::1]/",
                ),
                run("web", "ping -6 -c 1 -W 1 2001:db8::1"),
                Step::Pause,
                Step::Show("dockerhost", "conntrack -L -f ipv6 -p tcp"),
            ],
            |o| {
                (
                    http(&o[2]),
                    http(&o[3]),
                    ping_outcome(&o[4].text),
                    ct(&o[6]),
                )
            },
        );
        let Some((inbound, egress, ping, table)) = r else {
            return;
        };
        assert_eq!(
            inbound,
            body("Hello from web ([fd00:18::2]:80). You came from [2001:db8::1]:40000.")
        );
        assert_eq!(
            egress,
            body("Hello from remote ([2001:db8::1]:80). You came from [2001:db8::10]:40001.")
        );
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
        let flows = table.iter().filter(|l| l.starts_with("tcp ")).count();
        assert_eq!(flows, 2, "{table:#?}");
    }
}

#[test]
fn kd_docker_v6_nat_network_is_closed_to_direct_access() {
    // remote routes fd00:18::/64 via the host and asks for web's published container port
    // at web's own address. Engine 29's raw rule drops it; engine 27's DOCKER chain accepts
    // the container port from any interface, as for IPv4 (moby#45610). ICMPv6 echo falls to
    // FORWARD's DROP policy in both.
    for (engine, reached) in [(27, true), (29, false)] {
        let case = format!("kd_docker_v6_direct_{engine}");
        let r = probe(
            &case,
            &lab(engine),
            &[
                Step::Http6("web", 80),
                run(
                    "remote",
                    "curl -s -m 0.5 --local-port 40000 http://[fd00:18::2]/",
                ),
                run("remote", "ping -6 -c 1 -W 1 fd00:18::2"),
                Step::Show("dockerhost", "ip6tables -t raw -nvL PREROUTING"),
            ],
            |o| {
                (
                    http(&o[1]),
                    ping_outcome(&o[2].text),
                    listing_packets(&o[3]),
                )
            },
        );
        if let Some((direct, ping, _)) = r {
            let expected = match reached {
                true => {
                    body("Hello from web ([fd00:18::2]:80). You came from [2001:db8::1]:40000.")
                }
                false => Http::Failed(28),
            };
            assert_eq!(direct, expected, "engine {engine}");
            assert_eq!(ping, Outcome::Silent);
        }
    }
}

#[test]
fn kd_docker_v6_routed_network_publishes_the_container_port_at_its_own_address() {
    let r = probe(
        "kd_docker_v6_routed",
        &lab(29),
        &[
            Step::Http6("svc", 80),
            Step::Http6("svc", 81),
            Step::Http6("remote", 80),
            run(
                "remote",
                "curl -s -m 2 --local-port 40000 http://[2001:db8:42::2]/",
            ),
            run("remote", "curl -s -m 0.5 http://[2001:db8:42::2]:81/"),
            run(
                "svc",
                "curl -s -m 2 --local-port 40001 http://[2001:db8::1]/",
            ),
            run("remote", "ping -6 -c 1 -W 1 2001:db8:42::2"),
            Step::Show("dockerhost", "ip6tables -nvL DOCKER"),
        ],
        |o| {
            (
                http(&o[3]),
                http(&o[4]),
                http(&o[5]),
                ping_outcome(&o[6].text),
                listing_packets(&o[7]),
            )
        },
    );
    if let Some((inbound, closed, egress, ping, _)) = r {
        assert_eq!(
            inbound,
            body("Hello from svc ([2001:db8:42::2]:80). You came from [2001:db8::1]:40000.")
        );
        assert_eq!(closed, Http::Failed(28));
        assert_eq!(
            egress,
            body("Hello from remote ([2001:db8::1]:80). You came from [2001:db8:42::2]:40001.")
        );
        assert_eq!(ping, Outcome::Reply { ttl: 63 });
    }
}

#[test]
fn kd_docker_v6_listings_read_as_ip6tables_prints_them() {
    // The rules hoplab's Docker host holds, loaded into the kernel, list the same through
    // ip6tables 1.8.9 (`-S` in each table).
    let steps = [
        Step::Show("dockerhost", "ip6tables -S"),
        Step::Show("dockerhost", "ip6tables -t nat -S"),
        Step::Show("dockerhost", "ip6tables -t raw -S"),
    ];
    for engine in [27, 28, 29] {
        let case = format!("kd_docker_v6_listing_{engine}");
        let r = probe(&case, &lab(engine), &steps, |o| {
            o.iter().map(|x| x.text.clone()).collect::<Vec<_>>()
        });
        if let Some(listing) = r {
            assert!(
                listing[1].contains("-A POSTROUTING -s fd00:18::/64 ! -o br-"),
                "{listing:#?}"
            );
        }
    }
}

#[test]
fn kd_docker_v6_icc_off_drops_bridged_ipv6_through_br_netfilter() {
    // `enable_icc: false` on a network with IPv6: Docker's `-i BR -o BR -j DROP` sees the
    // frames the bridge forwards between containers once br_netfilter calls ip6tables
    // (`bridge-nf-call-ip6tables`), neighbour solicitations included; the way out stays
    // open.
    let lab = host_lab(
        "  networks:
    - {name: quiet, subnet: 172.18.0.0/16, subnet6: 'fd00:18::/64', enable_icc: false}
  containers:
    - {name: a, networks: [quiet]}
    - {name: b, networks: [quiet]}
",
    );
    let r = probe(
        "kd_docker_v6_icc",
        &lab,
        &[
            Step::Http6("a", 80),
            Step::Http6("remote", 80),
            run("b", "curl -s -m 0.5 http://[fd00:18::2]/"),
            run("b", "curl -s -m 2 --local-port 40000 http://[2001:db8::1]/"),
        ],
        // Not the counters: the kernel's hosts also send MLD reports, which the DROP takes.
        |o| (http(&o[2]), http(&o[3])),
    );
    if let Some((neighbour, out)) = r {
        assert_eq!(neighbour, Http::Failed(28));
        assert_eq!(
            out,
            body("Hello from remote ([2001:db8::1]:80). You came from [2001:db8::10]:40000.")
        );
    }
}

#[test]
fn kd_docker_v6_without_proxy_hairpin() {
    // `userland_proxy: false` with IPv6: no `! -i BR` on the DNAT, so a container's own
    // connection to the published port on the host's address is DNATed back into the
    // bridge (hairpin): web reaches itself, masqueraded to the bridge's address, and its
    // neighbour b reaches it with b's own address, the reply un-DNATed on the bridge by
    // br_netfilter.
    let lab = host_lab(
        "  userland_proxy: false
  networks:
    - {name: natnet, subnet: 172.18.0.0/16, subnet6: 'fd00:18::/64'}
  containers:
    - {name: web, networks: [natnet], publish: ['8080:80']}
    - {name: b, networks: [natnet]}
",
    );
    let r = probe(
        "kd_docker_v6_hairpin",
        &lab,
        &[
            Step::Http6("web", 80),
            run(
                "web",
                "curl -s -m 2 --local-port 40000 http://[2001:db8::10]:8080/",
            ),
            run(
                "b",
                "curl -s -m 2 --local-port 40001 http://[2001:db8::10]:8080/",
            ),
        ],
        |o| (http(&o[1]), http(&o[2])),
    );
    if let Some((own, neighbour)) = r {
        assert_eq!(
            own,
            body("Hello from web ([fd00:18::2]:80). You came from [fd00:18::1]:40000.")
        );
        assert_eq!(
            neighbour,
            body("Hello from web ([fd00:18::2]:80). You came from [fd00:18::3]:40001.")
        );
    }
}
