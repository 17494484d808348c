//! Docker-style labs end to end: the `docker:` section builds the host, bridges, containers
//! and Docker's rules, and the host's listings equal Docker's own CI listings
//! (`tests/fixtures/docker/`, see its NOTICE).

mod common;

use common::{repo, run, text};

/// The `iptables commands` blocks of a fixture page, in page order (filter, nat, raw).
fn command_blocks(page: &str) -> Vec<String> {
    let path = repo().join("tests/fixtures/docker").join(page);
    let md = std::fs::read_to_string(&path).unwrap();
    md.split("<summary>iptables commands</summary>")
        .skip(1)
        .map(|part| {
            let block = part.split("</details>").next().unwrap();
            block
                .lines()
                .filter_map(|l| l.strip_prefix("    "))
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("{l}\n"))
                .collect()
        })
        .collect()
}

/// `docker network create -o com.docker.network.bridge.name=bridge1 --subnet 192.0.2.0/24
/// --gateway 192.0.2.1 bridge1; docker run --network bridge1 -p 8080:80 --name c1 busybox`,
/// on a host whose forwarding was on already (FORWARD policy ACCEPT), as in the CI pages.
fn usernet_portmap_lab(engine: u32, iptables_version: &str) -> String {
    format!(
        "version: 1
name: usernet-portmap
captures: none
docker:
  host: {{name: dockerhost, eth0: 10.0.0.10/24}}
  engine: {engine}
  forward_policy: accept
  iptables_version: '{iptables_version}'
  networks:
    - {{name: bridge1, bridge: bridge1, subnet: 192.0.2.0/24, gateway: 192.0.2.1}}
  containers:
    - {{name: c1, networks: [bridge1], publish: ['8080:80']}}
steps:
  - {{on: dockerhost, show: iptables -S}}
  - {{on: dockerhost, show: iptables -t nat -S}}
  - {{on: dockerhost, show: iptables -t raw -S}}
  - {{on: c1, show: ip addr}}
"
    )
}

/// Runs a lab given as text; its JSON report (the run must pass).
fn run_lab(lab: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, lab).unwrap();
    let out = run(&["run", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What a step's command printed.
fn output(v: &serde_json::Value, step: usize) -> String {
    v["steps"][step]["result"]["output"]
        .as_str()
        .unwrap()
        .to_string()
}

fn listings(lab: &str) -> Vec<String> {
    let v = run_lab(lab);
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["listing"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_docker_29_lab_installs_the_rules_docker_29_installs() {
    let got = listings(&usernet_portmap_lab(29, "1.8.10"));
    let want = command_blocks("v29.7.2/usernet-portmap.md");
    assert_eq!(want.len(), 3);
    for (table, (g, w)) in ["filter", "nat", "raw"].iter().zip(got.iter().zip(&want)) {
        assert_eq!(g, w, "{table} table differs");
    }
    assert!(got[3].contains("inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0"));
}

#[test]
fn a_docker_28_lab_installs_the_rules_docker_28_installs() {
    let got = listings(&usernet_portmap_lab(28, "1.8.9"));
    let want = command_blocks("v28.5.2/usernet-portmap.md");
    assert_eq!(want.len(), 3);
    for (table, (g, w)) in ["filter", "nat", "raw"].iter().zip(got.iter().zip(&want)) {
        assert_eq!(g, w, "{table} table differs");
    }
}

#[test]
fn docker_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(
        &path,
        "version: 1
name: bad
docker:
  host: {eth0: 10.0.0.10/24}
  engine: 26
  containers:
    - {name: c1, networks: [backnd], publish: ['80/sctp']}
  networks:
    - {name: backend}
",
    )
    .unwrap();
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("lab.yaml:5:11: field 'engine': engine 26 is not 27, 28 or 29"),
        "{err}"
    );
    assert!(
        err.contains("field 'networks': no network named 'backnd' (did you mean 'backend'?)"),
        "{err}"
    );
    assert!(
        err.contains("field 'publish': invalid proto: sctp"),
        "{err}"
    );
}

#[test]
fn host_mode_runs_on_the_host_and_default_bridge_containers_get_addresses_from_2() {
    let v = run_lab(
        "version: 1
name: modes
captures: none
docker:
  host: {eth0: 10.0.0.10/24}
  containers:
    - {name: a}
    - {name: b}
    - {name: h, network_mode: host}
    - {name: s, network_mode: 'container:a'}
steps:
  - {on: a, run: http-server 80, background: true}
  - {on: b, run: curl -s http://172.17.0.2/}
  - {on: h, run: curl -s http://172.17.0.2/}
",
    );
    assert!(
        output(&v, 1).contains("You came from 172.17.0.3:"),
        "{}",
        output(&v, 1)
    );
    assert!(
        output(&v, 2).contains("You came from 172.17.0.1:"),
        "{}",
        output(&v, 2)
    );
}

#[test]
fn docker_proxy_serves_the_host_and_containers_and_dnat_serves_the_lan() {
    // docker-netfilter.md §1.8 and §1.9 (proxy on): who the container sees, per path.
    let v = run_lab(
        "version: 1
name: proxy
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24}
  containers:
    - {name: c1, publish: ['8080:80']}
    - {name: c2}
hosts:
  - {name: remote, interfaces: {eth0: 192.0.2.1/24}}
links:
  - [dockerhost:eth0, remote:eth0]
steps:
  - {on: c1, run: http-server 80, background: true}
  - {on: remote, run: curl -s --local-port 40000 http://192.0.2.10:8080/}
  - {on: dockerhost, run: curl -s --local-port 40001 http://127.0.0.1:8080/}
  - {on: c2, run: curl -s --local-port 40002 http://192.0.2.10:8080/}
  - {on: dockerhost, run: curl -s --local-port 40003 http://192.0.2.10:8080/}
  - {on: dockerhost, show: conntrack -L}
",
    );
    // LAN → host:8080: DNAT, the client's own address.
    assert!(
        output(&v, 1).ends_with("You came from 192.0.2.1:40000.\n"),
        "{}",
        output(&v, 1)
    );
    // Host → 127.0.0.1:8080 and container → host:8080: docker-proxy, from the gateway.
    assert!(
        output(&v, 2).contains("You came from 172.17.0.1:"),
        "{}",
        output(&v, 2)
    );
    assert!(
        output(&v, 3).contains("You came from 172.17.0.1:"),
        "{}",
        output(&v, 3)
    );
    // Host → its own address: DNAT in nat OUTPUT, the host's address.
    assert!(
        output(&v, 4).ends_with("You came from 192.0.2.10:40003.\n"),
        "{}",
        output(&v, 4)
    );
    let ct = v["steps"][5]["listing"].as_str().unwrap();
    assert!(ct.contains("src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=8080 src=127.0.0.1 dst=127.0.0.1 sport=8080 dport=40001"), "{ct}");
    assert!(ct.contains("src=172.17.0.3 dst=192.0.2.10 sport=40002 dport=8080 src=192.0.2.10 dst=172.17.0.3 sport=8080 dport=40002"), "{ct}");
}

#[test]
fn without_the_proxy_hairpin_and_route_localnet_carry_the_hosts_and_a_containers_own_traffic() {
    // docker-netfilter.md §1.9, proxy off: the conntrack views of the reference lab.
    let v = run_lab(
        "version: 1
name: noproxy
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24}
  userland_proxy: false
  containers:
    - {name: c1, publish: ['8080:80']}
steps:
  - {on: c1, run: http-server 80, background: true}
  - {on: dockerhost, run: curl -s --local-port 40001 http://127.0.0.1:8080/}
  - {on: c1, run: curl -s --local-port 40003 http://192.0.2.10:8080/}
  - {on: dockerhost, show: conntrack -L}
  - {on: dockerhost, show: sysctl net.ipv4.conf.docker0.route_localnet}
",
    );
    assert!(
        output(&v, 1).ends_with("You came from 172.17.0.1:40001.\n"),
        "{}",
        output(&v, 1)
    );
    assert!(
        output(&v, 2).ends_with("You came from 172.17.0.1:40003.\n"),
        "{}",
        output(&v, 2)
    );
    let ct = v["steps"][3]["listing"].as_str().unwrap();
    assert!(ct.contains("src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=8080 src=172.17.0.2 dst=172.17.0.1 sport=80 dport=40001"), "{ct}");
    assert!(ct.contains("src=172.17.0.2 dst=192.0.2.10 sport=40003 dport=8080 src=172.17.0.2 dst=172.17.0.1 sport=80 dport=40003"), "{ct}");
    assert_eq!(
        v["steps"][4]["listing"].as_str().unwrap(),
        "net.ipv4.conf.docker0.route_localnet = 1\n"
    );
}

#[test]
fn containers_have_loopback_and_none_mode_has_only_that() {
    let v = run_lab(
        "version: 1
name: lo
captures: none
docker:
  host: {eth0: 192.0.2.10/24}
  containers:
    - {name: web}
    - {name: iso, network_mode: none}
steps:
  - {on: web, run: http-server 80, background: true}
  - {on: web, run: curl -s http://localhost/}
  - {on: iso, run: ping -c 1 127.0.0.1}
  - {on: iso, run: curl -s http://172.17.0.2/}
  - {on: iso, show: ip addr}
",
    );
    assert!(
        output(&v, 1).starts_with("Hello from web (127.0.0.1:80). You came from 127.0.0.1:"),
        "{}",
        output(&v, 1)
    );
    assert!(output(&v, 2).contains("1 received"), "{}", output(&v, 2));
    assert_eq!(v["steps"][3]["result"]["exit_code"], 7);
    let ip = v["steps"][4]["listing"].as_str().unwrap();
    assert!(ip.starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"), "{ip}");
    assert!(!ip.contains("2: "), "{ip}");
}

#[test]
fn a_published_udp_port_is_proxied_for_the_host_and_dnated_for_the_lan() {
    let v = run_lab(
        "version: 1
name: udp
captures: none
docker:
  host: {name: dockerhost, eth0: 192.0.2.10/24}
  containers:
    - {name: dns, publish: ['5353:53/udp']}
hosts:
  - {name: remote, interfaces: {eth0: 192.0.2.1/24}}
links:
  - [dockerhost:eth0, remote:eth0]
steps:
  - {on: dns, run: nc -u -l -k 53, background: true}
  - {on: remote, run: nc -u -w 1 -p 40000 192.0.2.10 5353, input: \"from remote\\n\"}
  - {on: dockerhost, run: nc -u -w 1 -p 40001 127.0.0.1 5353, input: \"from host\\n\"}
  - {on: dockerhost, show: conntrack -L -p udp}
",
    );
    assert_eq!(output(&v, 0), "from remote\nfrom host\n");
    let ct = v["steps"][3]["listing"].as_str().unwrap();
    assert!(ct.contains("src=192.0.2.1 dst=192.0.2.10 sport=40000 dport=5353 [UNREPLIED] src=172.17.0.2 dst=192.0.2.1 sport=53 dport=40000"), "{ct}");
    assert!(
        ct.contains("src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=5353"),
        "{ct}"
    );
    assert!(ct.contains("src=172.17.0.1 dst=172.17.0.2"), "{ct}");
}

#[test]
fn docker_refusals_are_located_errors_and_a_sharing_cycle_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(
        &path,
        "version: 1
name: bad
docker:
  host: {eth0: 192.0.2.10/24}
  networks:
    - {name: a, subnet: 10.1.0.0/16}
    - {name: b, subnet: 10.1.128.0/17}
  containers:
    - {name: x, publish: ['8080:80']}
    - {name: y, publish: ['8080:81']}
    - {name: x}
    - {name: c1, network_mode: 'container:c2'}
    - {name: c2, network_mode: 'container:c1'}
",
    )
    .unwrap();
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for want in [
        "lab.yaml:7:14: field 'subnet': Pool overlaps with other one on this address space",
        "lab.yaml:10:27: field 'publish': Bind for 0.0.0.0:8080 failed: port is already allocated",
        "lab.yaml:11:14: field 'name': Conflict. The container name \"/x\" is already in use",
        "field 'network_mode': c1 shares the stack of",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
}

/// Lab 11 rebuilds the seed host (`../shared/seeds/002_*.txt`); its `docker network inspect`
/// and its container's `NetworkSettings` come out as that host printed them (the excerpts
/// are in `tests/fixtures/docker/seed-docker29-*.txt`).
#[test]
fn the_seed_hosts_docker_listings_come_out_as_it_printed_them() {
    let out = run(&[
        "run",
        repo()
            .join("scenarios/11-docker-host-anatomy.yaml")
            .to_str()
            .unwrap(),
        "--json",
        "--capture",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listing = |cmd: &str| {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["command"] == cmd)
            .and_then(|s| s["listing"].as_str())
            .unwrap_or_else(|| panic!("no step {cmd}"))
            .to_string()
    };
    let fixture = |name: &str| {
        std::fs::read_to_string(repo().join("tests/fixtures/docker").join(name)).unwrap()
    };
    assert_eq!(
        listing("docker network inspect d9231d44a1ab"),
        fixture("seed-docker29-network-inspect.txt")
    );
    let inspect = listing("docker inspect ens_monitor_cron");
    let settings = fixture("seed-docker29-network-settings.txt");
    assert!(inspect.contains(&settings), "{inspect}");
}

#[test]
fn firewall_backend_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    for (engine, backend, want) in [
        (
            29,
            "nft",
            "lab.yaml:6:21: field 'firewall_backend': 'nft' is not iptables or nftables",
        ),
        (
            28,
            "nftables",
            "lab.yaml:6:21: field 'firewall_backend': firewall_backend nftables needs engine 29 \
             (Docker 28 has only iptables)",
        ),
    ] {
        let lab = format!(
            "version: 1
name: bad
docker:
  host: {{eth0: 10.0.0.10/24}}
  engine: {engine}
  firewall_backend: {backend}
"
        );
        std::fs::write(&path, lab).unwrap();
        let out = run(&["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(err.contains(want), "{err}");
    }
}

/// With the nftables backend Docker creates none of its iptables chains, sets no FORWARD
/// policy (it never turns forwarding on itself) and adds no rule, even under
/// `forward_policy: drop`.
#[test]
fn a_docker_29_nftables_lab_has_no_docker_iptables_rule() {
    let lab = usernet_portmap_lab(29, "1.8.10").replace(
        "forward_policy: accept",
        "forward_policy: drop\n  firewall_backend: nftables",
    );
    let got = listings(&lab);
    assert_eq!(
        got[0],
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    );
    assert!(
        !got[1].contains("DOCKER") && !got[2].contains("DROP"),
        "{got:?}"
    );
    assert!(got[3].contains("inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0"));
}
