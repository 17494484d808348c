//! Docker's IPv6 networks in whole labs: lab 15's listings, a container started by a step
//! on an IPv6 network, the ULA subnet Docker picks, and the refusals of what is not
//! modelled, each located in the file.

mod common;

use common::{run_lab_text, step_out};

/// A Docker host with one dual-stack network `v6net` (2001:db8:5::/64) holding `web`, and
/// the steps given.
fn lab(network: &str, steps: &str) -> String {
    format!(
        "version: 1
name: docker-v6
seed: 3
captures: none
docker:
  host: {{name: dockerhost, eth0: 192.0.2.10/24, ipv6: '2001:db8::10/64'}}
  networks:
    - {network}
  containers:
    - {{name: web, networks: [v6net], publish: ['8080:80'], run: 'http-server --bind :: 80'}}
steps:
{steps}"
    )
}

const V6NET: &str = "{name: v6net, subnet: 10.5.0.0/24, subnet6: '2001:db8:5::/64'}";

#[test]
fn a_container_on_an_ipv6_network_has_both_families() {
    let y = lab(
        V6NET,
        "  - {name: addr, on: web, show: ip -6 addr}
  - {name: route, on: web, show: ip -6 route}
  - {name: inspect, on: dockerhost, show: docker inspect web}
  - {name: ps, on: dockerhost, show: docker ps}
  - {name: self, on: dockerhost, run: 'curl -s http://[2001:db8:5::2]/'}
  - {name: dnat, on: dockerhost, run: 'curl -s http://[2001:db8::10]:8080/'}
  - {on: dockerhost, run: docker run -d --name peer --network v6net busybox}
  - {name: proxy, on: peer, run: 'curl -s http://[2001:db8::10]:8080/'}
  - {name: listening, on: dockerhost, show: ss -ltnp}
  - {name: lo6, on: dockerhost, run: 'curl -s http://[::1]:8080/'}
",
    );
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (_, addr) = step_out(&r, "addr");
    assert!(
        addr.contains("    inet6 2001:db8:5::2/64 scope global \n"),
        "{addr}"
    );
    let (_, route) = step_out(&r, "route");
    assert!(
        route.contains("default via 2001:db8:5::1 dev eth0 metric 1024 pref medium\n"),
        "{route}"
    );
    let (_, inspect) = step_out(&r, "inspect");
    for field in [
        "\"IPv6Gateway\": \"2001:db8:5::1\",",
        "\"GlobalIPv6Address\": \"2001:db8:5::2\",",
        "\"GlobalIPv6PrefixLen\": 64,",
        "\"HostIp\": \"::\",",
    ] {
        assert!(inspect.contains(field), "{field}\n{inspect}");
    }
    let (_, ps) = step_out(&r, "ps");
    assert!(
        ps.contains("0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"),
        "{ps}"
    );
    // The host reaches the container over IPv6, and its own connections to the published
    // port are DNATed in OUTPUT. A container's connection to the host's address and port
    // is left by DNAT (`! -i BRIDGE`) to the IPv6 docker-proxy, which connects to web from
    // the bridge's address.
    let (code, body) = step_out(&r, "self");
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("You came from [2001:db8:5::1]:"), "{body}");
    let (code, body) = step_out(&r, "dnat");
    assert_eq!(code, 0, "{body}");
    assert!(
        body.contains("Hello from web ([2001:db8:5::2]:80)"),
        "{body}"
    );
    let (code, body) = step_out(&r, "proxy");
    assert_eq!(code, 0, "{body}");
    assert!(
        body.contains("Hello from web ([2001:db8:5::2]:80). You came from [2001:db8:5::1]:"),
        "{body}"
    );
    // The host's own ::1 is not DNATed (nat OUTPUT skips it): the IPv6 docker-proxy
    // takes it.
    let (code, body) = step_out(&r, "lo6");
    assert_eq!(code, 0, "{body}");
    assert!(
        body.contains("Hello from web ([2001:db8:5::2]:80). You came from [2001:db8:5::1]:"),
        "{body}"
    );
    // One docker-proxy per family, the IPv6 one's socket IPv6-only.
    let (_, listening) = step_out(&r, "listening");
    assert!(
        listening.contains(
            "         0.0.0.0:8080      0.0.0.0:*    users:((\"docker-proxy\",pid=1000,fd=3))\n"
        ),
        "{listening}"
    );
    assert!(
        listening.contains(
            "            [::]:8080         [::]:*    users:((\"docker-proxy\",pid=1001,fd=3))\n"
        ),
        "{listening}"
    );
}

#[test]
fn a_container_run_by_a_step_gets_its_ipv6_address_and_route() {
    let y = lab(
        V6NET,
        "  - {on: dockerhost, run: docker run -d --name late --network v6net busybox}
  - {name: addr, on: late, show: ip -6 addr}
  - {name: route, on: late, show: ip -6 route}
  - {name: ping, on: late, run: ping -6 -c 1 2001:db8:5::2}
  - {name: raw, on: dockerhost, show: ip6tables -t raw -S}
  - {on: dockerhost, run: docker stop web}
  - {name: raw-after, on: dockerhost, show: ip6tables -t raw -S}
",
    );
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (_, addr) = step_out(&r, "addr");
    assert!(
        addr.contains("inet6 2001:db8:5::3/64 scope global"),
        "{addr}"
    );
    let (_, route) = step_out(&r, "route");
    assert!(
        route.contains("default via 2001:db8:5::1 dev eth0"),
        "{route}"
    );
    let (code, out) = step_out(&r, "ping");
    assert_eq!(code, 0, "{out}");
    let (_, raw) = step_out(&r, "raw");
    assert!(
        raw.contains("-A PREROUTING -d 2001:db8:5::2/128 ! -i br-"),
        "{raw}"
    );
    assert!(
        raw.contains("-A PREROUTING -d 2001:db8:5::3/128 ! -i br-"),
        "{raw}"
    );
    // The stopped container's rules go with it.
    let (_, raw) = step_out(&r, "raw-after");
    assert!(!raw.contains("2001:db8:5::2/128"), "{raw}");
    assert!(raw.contains("2001:db8:5::3/128"), "{raw}");
}

#[test]
fn without_a_subnet_docker_takes_a_ula_64_from_the_seed() {
    let y = lab(
        "{name: v6net, enable_ipv6: true}",
        "  - {name: inspect, on: dockerhost, show: docker network inspect v6net}\n",
    );
    let subnet = |y: &str| {
        let r = run_lab_text(y, "docker-v6.yaml");
        let (_, inspect) = step_out(&r, "inspect");
        let line = inspect
            .lines()
            .find(|l| l.contains("\"Subnet\": \"fd"))
            .unwrap_or_else(|| panic!("{inspect}"))
            .trim()
            .to_string();
        (line, inspect)
    };
    let (first, inspect) = subnet(&y);
    assert!(first.ends_with("::/64\","), "{first}");
    assert!(inspect.contains("\"EnableIPv6\": true,"), "{inspect}");
    // The same seed draws the same prefix; another seed another one.
    assert_eq!(subnet(&y).0, first);
    assert_ne!(subnet(&y.replace("seed: 3", "seed: 4")).0, first);
}

/// Runs a lab that must be refused: the message of exit 2.
fn refusal(y: &str) -> String {
    match hoplab::scenario::parse(y, "docker-v6.yaml") {
        Ok(_) => panic!("accepted:\n{y}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_ipv6_settings_are_refused_where_they_are_written() {
    let cases = [
        (
            "{name: v6net, subnet6: 'fd00::/zz'}",
            "subnet6",
            "'fd00::/zz' is not an IPv6 prefix",
        ),
        (
            "{name: v6net, subnet6: 'fd00::/64', gateway6: 'fd01::1'}",
            "gateway6",
            "fd01::1 is not in the subnet fd00::/64",
        ),
        (
            "{name: v6net, enable_ipv6: false, subnet6: 'fd00::/64'}",
            "subnet6",
            "enable_ipv6 is false",
        ),
        (
            "{name: v6net, subnet6: 'fd00::/64', gateway_mode_ipv6: open}",
            "gateway_mode_ipv6",
            "'open' is not nat, nat-unprotected or routed",
        ),
    ];
    for (network, field, message) in cases {
        let e = refusal(&lab(network, "  []\n"));
        assert!(e.contains("docker-v6.yaml:"), "{e}");
        assert!(e.contains(field), "{field}: {e}");
        assert!(e.contains(message), "{message}: {e}");
    }
    // An `ip6` for a network without IPv6.
    let y = lab("{name: v6net}", "  []\n").replace(
        "networks: [v6net]",
        "networks: [{name: v6net, ip6: '2001:db8:5::9'}]",
    );
    let e = refusal(&y);
    assert!(e.contains("network v6net has no IPv6"), "{e}");
}

#[test]
fn a_host_without_ipv6_networks_holds_dockers_ip6tables_chains() {
    let y = lab(
        "{name: v6net}",
        "  - {name: v6, on: dockerhost, show: ip6tables -S}
  - {name: fwd, on: dockerhost, show: sysctl net.ipv6.conf.all.forwarding}
",
    );
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (_, v6) = step_out(&r, "v6");
    assert!(
        v6.starts_with("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n"),
        "{v6}"
    );
    for chain in ["DOCKER", "DOCKER-FORWARD", "DOCKER-USER"] {
        assert!(v6.contains(&format!("-N {chain}\n")), "{v6}");
    }
    assert!(!v6.contains("br-"), "{v6}");
    let (_, fwd) = step_out(&r, "fwd");
    assert!(fwd.contains("= 0"), "{fwd}");
}

#[test]
fn ip6_flags_pick_the_address_and_are_checked() {
    let y = lab(
        V6NET,
        "  - {name: run, on: dockerhost, run: docker run -d --name pinned --network v6net --ip6 2001:db8:5::99 busybox}
  - {name: addr, on: pinned, show: ip -6 addr}
  - {name: outside, on: dockerhost, run: docker run -d --name far --network v6net --ip6 2001:db8:6::1 busybox}
  - {name: bad, on: dockerhost, run: docker network connect --ip6 nope bridge web}
",
    );
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (code, _) = step_out(&r, "run");
    assert_eq!(code, 0);
    let (_, addr) = step_out(&r, "addr");
    assert!(
        addr.contains("inet6 2001:db8:5::99/64 scope global"),
        "{addr}"
    );
    let (code, out) = step_out(&r, "outside");
    assert_eq!(code, 125, "{out}");
    assert!(
        out.contains("no configured subnet or ip-range contain the IP address 2001:db8:6::1"),
        "{out}"
    );
    let (code, out) = step_out(&r, "bad");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("invalid argument \"nope\" for \"--ip6\" flag"),
        "{out}"
    );
}

#[test]
fn a_restarted_container_starts_with_no_flow_of_its_addresses() {
    // Docker flushes conntrack entries of a new endpoint's addresses, both families'.
    let y = lab(
        V6NET,
        "  - {on: dockerhost, run: 'curl -s http://[2001:db8::10]:8080/'}
  - {name: before, on: dockerhost, show: conntrack -L -f ipv6}
  - {on: dockerhost, run: docker restart web}
  - {name: after, on: dockerhost, show: conntrack -L -f ipv6}
",
    );
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (_, before) = step_out(&r, "before");
    assert!(before.contains("src=2001:db8:5::2 "), "{before}");
    let (_, after) = step_out(&r, "after");
    assert!(!after.contains("2001:db8:5::2"), "{after}");
}

/// The nftables backend on an IPv6 network: the `ip6 docker-bridges` table carries the
/// network's chains, its map elements and the port's DNAT, and traffic follows it; a
/// container started later adds its rules to both tables.
#[test]
fn the_nftables_backend_programs_the_ip6_table() {
    let y = lab(
        V6NET,
        "  - {name: dnat, on: dockerhost, run: 'curl -s http://[2001:db8::10]:8080/'}
  - {on: dockerhost, run: 'docker run -d --name peer --network v6net -p 9090:80 busybox http-server --bind :: 80'}
  - {name: peer, on: peer, run: 'curl -s http://[2001:db8::10]:8080/'}
  - {name: later, on: dockerhost, run: 'curl -s http://[2001:db8::10]:9090/'}
  - {name: table, on: dockerhost, show: nft list table ip6 docker-bridges}
  - {name: ct, on: dockerhost, show: conntrack -L -f ipv6 -p tcp}
",
    )
    .replace("docker:\n", "docker:\n  firewall_backend: nftables\n");
    let r = run_lab_text(&y, "docker-v6.yaml");
    let (code, dnat) = step_out(&r, "dnat");
    assert_eq!(code, 0, "{dnat}");
    assert!(
        dnat.contains("Hello from web ([2001:db8:5::2]:80)"),
        "{dnat}"
    );
    let (code, peer) = step_out(&r, "peer");
    assert_eq!(code, 0, "{peer}");
    let (code, later) = step_out(&r, "later");
    assert_eq!(code, 0, "{later}");
    assert!(later.contains("([2001:db8:5::3]:80)"), "{later}");
    let (_, table) = step_out(&r, "table");
    // Starting `peer` rewrote the DNAT chain whole (Docker flushes and refills a chain it
    // changes): the first port's counter began again there.
    for rule in [
        "iifname != \"br-0285f2b167d2\" ip6 saddr != fe80::/10 tcp dport 8080 counter packets 0 bytes 0 dnat to [2001:db8:5::2]:80 comment \"DNAT\"",
        "iifname != \"br-0285f2b167d2\" ip6 saddr != fe80::/10 tcp dport 9090 counter packets 1 ",
        "dnat to [2001:db8:5::3]:80 comment \"DNAT\"",
        "ip6 daddr 2001:db8:5::3 iifname != \"br-0285f2b167d2\" counter packets 0 bytes 0 drop comment \"DROP DIRECT ACCESS\"",
        // The host's own connection is not forwarded: the accept saw nothing.
        "ip6 daddr 2001:db8:5::3 tcp dport 80 counter packets 0 bytes 0 accept",
        "ip6 saddr 2001:db8:5::/64 counter packets 0 bytes 0 masquerade comment \"MASQUERADE\"",
    ] {
        assert!(table.contains(rule), "{rule}\n{table}");
    }
    let (_, ct) = step_out(&r, "ct");
    // The proxy's connection for `peer` (from the gateway), and the host's DNATed one.
    assert!(
        ct.contains("src=2001:db8:5::1 dst=2001:db8:5::2 sport="),
        "{ct}"
    );
    assert!(
        ct.contains("dst=2001:db8::10 sport=")
            && ct.contains("src=2001:db8:5::3 dst=2001:db8::10 sport=80"),
        "{ct}"
    );
}
