//! Golden outputs. The lab: docker0 with `web` publishing 8080:80, and a user network
//! `backend` (172.18.0.0/16) with `db`. The seed host of `002_d9f8148370a429fb.txt` (a real
//! Docker 29 host) is rebuilt to compare `docker network ls` and `docker network inspect`
//! with its output byte for byte.

use std::collections::BTreeMap;

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::*;
use crate::docker::{Endpoint, Engine, PortMap, Proto};

const BRIDGE_ID: &str = "3f1c2b7a9e4d5c6b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a190";
const BACKEND_ID: &str = "8b2e4f6a1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5";
const WEB_ID: &str = "4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a";
const DB_ID: &str = "c2d4e6f8a0b1c3d5e7f9a1b2c4d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0";

pub(super) fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

pub(super) fn lab(engine: Engine) -> DockerHostView {
    let daemon = Daemon {
        engine,
        ..Daemon::default()
    };
    let bridge = Network::default_bridge(BRIDGE_ID);
    let backend = Network::user(
        "backend",
        BACKEND_ID,
        Ipv4Cidr::new(Ipv4Address::new(172, 18, 0, 0), 16),
    );
    let web = Container {
        name: "web".into(),
        id: WEB_ID.into(),
        endpoints: vec![Endpoint {
            network: 0,
            ip: Ipv4Address::new(172, 17, 0, 2),
            ip6: None,
            mac: EthernetAddress([0x6a, 0x1f, 0x3c, 0x22, 0x90, 0x0b]),
        }],
        publish: vec![PortMap {
            host_ip: None,
            host_port: 8080,
            ctr_port: 80,
            proto: Proto::Tcp,
        }],
    };
    let db = Container {
        name: "db".into(),
        id: DB_ID.into(),
        endpoints: vec![Endpoint {
            network: 1,
            ip: Ipv4Address::new(172, 18, 0, 2),
            ip6: None,
            mac: EthernetAddress([0x9e, 0x04, 0x51, 0xd7, 0x2a, 0xc3]),
        }],
        publish: Vec::new(),
    };
    let created = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let mut v = DockerHostView::new(
        daemon,
        vec![bridge, backend],
        vec![web, db],
        "test-lab/dockerhost",
        created,
    );
    v.endpoint_ids = vec![
        vec!["e1a0c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1".into()],
        vec!["0f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e".into()],
    ];
    v.host_network_id = "1b235a4127d5f00d9c8b7a6e5f4d3c2b1a09f8e7d6c5b4a392817f6e5d4c3b2a".into();
    v.none_network_id = "87ee577966f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e".into();
    // web was run 40 s after the daemon started, db 2 s later; the student looks 3 min in.
    v.container_created = vec![
        Timestamp::utc(created.unix_secs + 40, 250_000_000),
        Timestamp::utc(created.unix_secs + 42, 0),
    ];
    v.now = created.after(crate::time::Duration::from_secs(180));
    v
}

#[test]
fn network_ls_lists_predefined_networks_sorted_by_name() {
    let v = lab(Engine::V29);
    assert_eq!(
        run(&argv("docker network ls"), &v).unwrap(),
        "NETWORK ID     NAME      DRIVER    SCOPE\n\
         8b2e4f6a1c3d   backend   bridge    local\n\
         3f1c2b7a9e4d   bridge    bridge    local\n\
         1b235a4127d5   host      host      local\n\
         87ee577966f0   none      null      local\n"
    );
    assert_eq!(
        run(&argv("docker network ls -q"), &v).unwrap(),
        "8b2e4f6a1c3d\n3f1c2b7a9e4d\n1b235a4127d5\n87ee577966f0\n"
    );
    let full = run(&argv("docker network list --no-trunc"), &v).unwrap();
    assert!(full.contains(&format!("{BACKEND_ID}   backend   bridge    local\n")));
}

#[test]
fn network_inspect_default_bridge_v29() {
    let v = lab(Engine::V29);
    let out = exec(&argv("docker network inspect bridge"), &v);
    assert_eq!(out.status, 0);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        r#"[
    {
        "Name": "bridge",
        "Id": "3f1c2b7a9e4d5c6b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a190",
        "Created": "2026-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [
                {
                    "Subnet": "172.17.0.0/16",
                    "IPRange": "",
                    "Gateway": "172.17.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Options": {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": "docker0",
            "com.docker.network.driver.mtu": "1500"
        },
        "Labels": {},
        "Containers": {
            "4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a": {
                "Name": "web",
                "EndpointID": "e1a0c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1",
                "MacAddress": "6a:1f:3c:22:90:0b",
                "IPv4Address": "172.17.0.2/16",
                "IPv6Address": ""
            }
        },
        "Status": {
            "IPAM": {
                "Subnets": {
                    "172.17.0.0/16": {
                        "IPsInUse": 4,
                        "DynamicIPsAvailable": 65532
                    }
                }
            }
        }
    }
]
"#
    );
}

#[test]
fn network_inspect_user_network_v28_has_the_28_field_order() {
    let v = lab(Engine::V28);
    assert_eq!(
        run(&argv("docker network inspect backend"), &v).unwrap(),
        r#"[
    {
        "Name": "backend",
        "Id": "8b2e4f6a1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5",
        "Created": "2026-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": [
                {
                    "Subnet": "172.18.0.0/16",
                    "Gateway": "172.18.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {
            "c2d4e6f8a0b1c3d5e7f9a1b2c4d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0": {
                "Name": "db",
                "EndpointID": "0f2e4d6c8b0a1f3e5d7c9b1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e",
                "MacAddress": "9e:04:51:d7:2a:c3",
                "IPv4Address": "172.18.0.2/16",
                "IPv6Address": ""
            }
        },
        "Options": {},
        "Labels": {}
    }
]
"#
    );
}

#[test]
fn network_inspect_v27_has_no_enable_ipv4() {
    let v = lab(Engine::V27);
    let out = run(&argv("docker network inspect none"), &v).unwrap();
    assert_eq!(
        out,
        r#"[
    {
        "Name": "none",
        "Id": "87ee577966f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e",
        "Created": "2026-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": "null",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": []
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {},
        "Labels": {}
    }
]
"#
    );
}

#[test]
fn network_inspect_host_lists_host_mode_containers() {
    let mut v = lab(Engine::V29);
    v.shared.push(SharedContainer {
        name: "sniffer".into(),
        id: "aa".repeat(32),
        host_network: true,
        endpoint_id: "bb".repeat(32),
        created: v.created,
    });
    let out = run(&argv("docker network inspect host"), &v).unwrap();
    let expected_tail = format!(
        r#"        "Options": {{}},
        "Labels": {{}},
        "Containers": {{
            "{}": {{
                "Name": "sniffer",
                "EndpointID": "{}",
                "MacAddress": "",
                "IPv4Address": "",
                "IPv6Address": ""
            }}
        }},
        "Status": {{
            "IPAM": {{}}
        }}
    }}
]
"#,
        "aa".repeat(32),
        "bb".repeat(32)
    );
    assert!(out.ends_with(&expected_tail), "{out}");
    assert!(out.contains("\"Driver\": \"host\",\n        \"EnableIPv4\": true,"));
    assert!(out.contains("\"Options\": null,\n            \"Config\": null\n"));
}

#[test]
fn network_inspect_lookup_and_errors() {
    let v = lab(Engine::V29);
    // By ID prefix, and several at once, in argument order.
    let both = run(&argv("docker network inspect 8b2e none"), &v).unwrap();
    let names: Vec<&str> = both
        .lines()
        .filter(|l| l.starts_with("        \"Name\""))
        .collect();
    assert_eq!(
        names,
        [
            "        \"Name\": \"backend\",",
            "        \"Name\": \"none\","
        ]
    );
    // A missing network: what was found still prints, the error goes to stderr, status 1.
    let out = exec(&argv("docker network inspect bridge nosuch"), &v);
    assert_eq!(out.status, 1);
    assert!(
        out.stdout
            .starts_with("[\n    {\n        \"Name\": \"bridge\"")
    );
    assert_eq!(
        out.stderr,
        "Error response from daemon: network nosuch not found\n"
    );
    let out = exec(&argv("docker network inspect foo bar"), &v);
    assert_eq!(out.stdout, "[]\n");
    assert_eq!(
        out.stderr,
        "Error response from daemon: network foo not found\nError response from daemon: network bar not found\n"
    );
    assert_eq!(
        run(&argv("docker network inspect"), &v).unwrap_err(),
        "docker: 'docker network inspect' requires at least 1 argument\n\n\
         Usage:  docker network inspect [OPTIONS] NETWORK [NETWORK...]\n\n\
         See 'docker network inspect --help' for more information\n"
    );
    // Both IDs start with 8: an ambiguous prefix.
    assert_eq!(
        run(&argv("docker network inspect 8"), &v).unwrap_err(),
        "Error response from daemon: 2 matches found based on ID prefix: network 8 is ambiguous\n"
    );
}

/// A wildcard mapping on a network without IPv6 is bound on `[::]` too (served by
/// docker-proxy alone).
#[test]
fn docker_port_lists_both_families_bindings() {
    let v = lab(Engine::V29);
    assert_eq!(
        run(&argv("docker port web"), &v).unwrap(),
        "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
    );
    assert_eq!(
        run(&argv("docker port web 80"), &v).unwrap(),
        "0.0.0.0:8080\n[::]:8080\n"
    );
    assert_eq!(
        run(&argv("docker container port 4e7a 80/tcp"), &v).unwrap(),
        "0.0.0.0:8080\n[::]:8080\n"
    );
    assert_eq!(run(&argv("docker port db"), &v).unwrap(), "");
    assert_eq!(
        run(&argv("docker port web 81"), &v).unwrap_err(),
        "Error: No public port '81' published for web\n"
    );
    assert_eq!(
        run(&argv("docker port web 80/udp"), &v).unwrap_err(),
        "Error: No public port '80/udp' published for web\n"
    );
    assert_eq!(
        run(&argv("docker port web http"), &v).unwrap_err(),
        "Error: invalid port (http): strconv.ParseUint: parsing \"http\": invalid syntax\n"
    );
    assert_eq!(
        run(&argv("docker port nosuch"), &v).unwrap_err(),
        "Error response from daemon: No such container: nosuch\n"
    );
    assert_eq!(
        run(&argv("docker port"), &v).unwrap_err(),
        "docker: 'docker port' requires at least 1 and at most 2 arguments\n\n\
         Usage:  docker port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n\
         Run 'docker port --help' for more information\n"
    );
}

#[test]
fn docker_port_sorts_naturally_and_shows_routed_bindings() {
    let mut v = lab(Engine::V29);
    v.containers[0].publish = vec![
        PortMap {
            host_ip: None,
            host_port: 8443,
            ctr_port: 443,
            proto: Proto::Tcp,
        },
        PortMap {
            host_ip: Some(smoltcp::wire::IpAddress::v4(127, 0, 0, 1)),
            host_port: 5353,
            ctr_port: 53,
            proto: Proto::Udp,
        },
        PortMap {
            host_ip: None,
            host_port: 8080,
            ctr_port: 80,
            proto: Proto::Tcp,
        },
    ];
    v.containers[1].publish = vec![PortMap {
        host_ip: None,
        host_port: 0,
        ctr_port: 5432,
        proto: Proto::Tcp,
    }];
    v.networks[1].gateway_mode_ipv4 = crate::docker::GatewayMode::Routed;
    v.bindings = port_bindings(&v.daemon, &v.networks, &v.containers);
    assert_eq!(
        run(&argv("docker port web"), &v).unwrap(),
        "53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/tcp -> 0.0.0.0:8443\n443/tcp -> [::]:8443\n"
    );
    assert_eq!(
        run(&argv("docker port db"), &v).unwrap(),
        "5432/tcp -> 0.0.0.0:\n"
    );
}

#[test]
fn docker_ps_table() {
    let v = lab(Engine::V29);
    assert_eq!(
        run(&argv("docker ps"), &v).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED         STATUS         PORTS                                     NAMES\n\
         c2d4e6f8a0b1   busybox   \"sh\"      2 minutes ago   Up 2 minutes                                             db\n\
         4e7a1c9b2d8f   busybox   \"sh\"      2 minutes ago   Up 2 minutes   0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n"
    );
    assert_eq!(
        run(&argv("docker container ls -aq"), &v).unwrap(),
        "c2d4e6f8a0b1\n4e7a1c9b2d8f\n"
    );
    // Seconds after the start, and CREATED counts from the whole second of creation.
    let mut early = v.clone();
    early.now = Timestamp::utc(v.created.unix_secs + 41, 100_000_000);
    early.container_created.truncate(1);
    early.containers.truncate(1);
    assert_eq!(
        run(&argv("docker ps"), &early).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS                  PORTS                                     NAMES\n\
         4e7a1c9b2d8f   busybox   \"sh\"      1 second ago   Up Less than a second   0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n"
    );
    assert_eq!(
        run(&argv("docker ps foo"), &v).unwrap_err(),
        "docker: 'docker ps' accepts no arguments\n\nUsage:  docker ps [OPTIONS]\n\n\
         Run 'docker ps --help' for more information\n"
    );
    let bad = exec(&argv("docker ps --bogus"), &v);
    assert_eq!(bad.status, 125);
    assert_eq!(
        bad.stderr,
        "unknown flag: --bogus\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"
    );
}

#[test]
fn ps_ports_group_like_displayable_ports() {
    let mut v = lab(Engine::V29);
    let pm = |host_port, ctr_port| PortMap {
        host_ip: None,
        host_port,
        ctr_port,
        proto: Proto::Tcp,
    };
    v.containers[0].publish = vec![pm(80, 80), pm(81, 81), pm(8443, 443), pm(82, 82)];
    v.bindings = port_bindings(&v.daemon, &v.networks, &v.containers);
    let out = run(&argv("docker ps"), &v).unwrap();
    assert!(
        out.contains("   0.0.0.0:80-82->80-82/tcp, [::]:80-82->80-82/tcp, 0.0.0.0:8443->443/tcp, [::]:8443->443/tcp   web\n"),
        "{out}"
    );
}

#[test]
fn unknown_and_unsupported_commands() {
    let v = lab(Engine::V29);
    assert_eq!(
        run(&argv("docker frobnicate"), &v).unwrap_err(),
        "docker: unknown command: docker frobnicate\n\nRun 'docker --help' for more information\n"
    );
    assert_eq!(
        run(&argv("docker network frob"), &v).unwrap_err(),
        "docker: unknown command: docker network frob\n\nUsage:  docker network COMMAND\n\n\
         Run 'docker network --help' for more information\n"
    );
    let out = exec(&argv("docker run -d busybox"), &v);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr
            .starts_with("hoplab: 'docker run -d busybox' is not simulated")
    );
    assert!(
        run(&argv("docker network"), &v)
            .unwrap()
            .contains("Manage networks")
    );
    let out = exec(&argv("docker network ls -x"), &v);
    assert_eq!(out.status, 125);
    assert!(
        out.stderr
            .starts_with("unknown shorthand flag: 'x' in -x\n")
    );
}

#[test]
fn derived_ids_are_stable_hex() {
    let a = derive_id("lab/dockerhost/network/host");
    assert_eq!(a, derive_id("lab/dockerhost/network/host"));
    assert_ne!(a, derive_id("lab/dockerhost/network/none"));
    assert_eq!(a.len(), 64);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let v = DockerHostView::new(
        Daemon::default(),
        vec![Network::default_bridge(BRIDGE_ID)],
        vec![Container {
            name: "lonely".into(),
            id: WEB_ID.into(),
            endpoints: Vec::new(),
            publish: Vec::new(),
        }],
        "lab/dockerhost",
        Timestamp::utc(0, 0),
    );
    assert_eq!(v.host_network_id, a);
    assert_eq!(v.endpoint_ids[0].len(), 1);
    // A container without endpoints (network mode none) sits on `none`.
    let none = run(&argv("docker network inspect none"), &v).unwrap();
    assert!(none.contains("\"Name\": \"lonely\""));
    assert!(none.contains(&format!("\"EndpointID\": \"{}\"", v.endpoint_ids[0][0])));
}

/// The seed host of `002_d9f8148370a429fb.txt`: `docker network ls` and `docker network
/// inspect d9231d44a1ab` as a real Docker 29 daemon printed them.
pub(super) fn seed_host() -> DockerHostView {
    let net = Network::user(
        "docker_default",
        "d9231d44a1ab7bc81da84032ada7a6588d30f8554cc363188d4c2c7a10cad502",
        Ipv4Cidr::new(Ipv4Address::new(172, 18, 0, 0), 16),
    );
    let c = Container {
        name: "ens_monitor_cron".into(),
        id: "272ba0e789b283f9ffa1338f0c3f35e4376dcbeb70b92d277591ef8d13a60dbc".into(),
        endpoints: vec![Endpoint {
            network: 1,
            ip: Ipv4Address::new(172, 18, 0, 2),
            ip6: None,
            mac: EthernetAddress([0x96, 0x00, 0x76, 0x49, 0xce, 0x66]),
        }],
        publish: Vec::new(),
    };
    let created = Timestamp::parse("2026-01-26T16:23:32.966499342+08:00").unwrap();
    let mut v = DockerHostView::new(
        Daemon::default(),
        vec![
            Network::default_bridge(
                "155ece36f2329d7d0a3e1b0c4c8f4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4",
            ),
            net,
        ],
        vec![c],
        "seed",
        created,
    );
    v.endpoint_ids = vec![vec![
        "9c24993596f43f74de2d44a1b1c97109c65f4f4ed1a26188c6f6bb6d59db911f".into(),
    ]];
    v.host_network_id = "1b235a4127d5e0f1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d".into();
    v.none_network_id = "87ee577966f01a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d".into();
    let labels: BTreeMap<String, String> = [
        (
            "com.docker.compose.config-hash",
            "e7869dccd0af1856c658cbabad8f131128ffb37f03d845c4244677d8b7adea0c",
        ),
        ("com.docker.compose.network", "default"),
        ("com.docker.compose.project", "docker"),
        ("com.docker.compose.version", "5.0.2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    v.labels = vec![BTreeMap::new(), labels];
    v
}

#[test]
fn seed_network_ls_matches_docker_29() {
    let v = seed_host();
    assert_eq!(
        run(&argv("docker network ls"), &v).unwrap(),
        "NETWORK ID     NAME             DRIVER    SCOPE\n\
         155ece36f232   bridge           bridge    local\n\
         d9231d44a1ab   docker_default   bridge    local\n\
         1b235a4127d5   host             host      local\n\
         87ee577966f0   none             null      local\n"
    );
}

#[test]
fn seed_network_inspect_matches_docker_29() {
    let v = seed_host();
    let out = run(&argv("docker network inspect d9231d44a1ab"), &v).unwrap();
    // Verbatim from the seed. The network was created by Compose (its labels say so), which
    // sends no IPAM options: `"Options": null` (the CLI's `docker network create` sends `{}`).
    assert_eq!(
        out,
        r#"[
    {
        "Name": "docker_default",
        "Id": "d9231d44a1ab7bc81da84032ada7a6588d30f8554cc363188d4c2c7a10cad502",
        "Created": "2026-01-26T16:23:32.966499342+08:00",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [
                {
                    "Subnet": "172.18.0.0/16",
                    "IPRange": "",
                    "Gateway": "172.18.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Options": {},
        "Labels": {
            "com.docker.compose.config-hash": "e7869dccd0af1856c658cbabad8f131128ffb37f03d845c4244677d8b7adea0c",
            "com.docker.compose.network": "default",
            "com.docker.compose.project": "docker",
            "com.docker.compose.version": "5.0.2"
        },
        "Containers": {
            "272ba0e789b283f9ffa1338f0c3f35e4376dcbeb70b92d277591ef8d13a60dbc": {
                "Name": "ens_monitor_cron",
                "EndpointID": "9c24993596f43f74de2d44a1b1c97109c65f4f4ed1a26188c6f6bb6d59db911f",
                "MacAddress": "96:00:76:49:ce:66",
                "IPv4Address": "172.18.0.2/16",
                "IPv6Address": ""
            }
        },
        "Status": {
            "IPAM": {
                "Subnets": {
                    "172.18.0.0/16": {
                        "IPsInUse": 4,
                        "DynamicIPsAvailable": 65532
                    }
                }
            }
        }
    }
]
"#
    );
}

/// The lab after `docker stop web` at 1 min 50 s (busybox `sh` ignores SIGTERM as PID 1, so
/// the daemon kills it after 10 s: 137). db has no state: running since its start.
pub(super) fn stopped_web(engine: Engine) -> DockerHostView {
    let mut v = lab(engine);
    let t = |secs: i64, nanos: u32| Timestamp::utc(v.created.unix_secs + secs, nanos);
    v.states = vec![RunState::Exited {
        code: 137,
        started: t(40, 340_309_132),
        finished: t(110, 0),
    }];
    v
}

#[test]
fn ps_lists_exited_containers_only_with_all() {
    let v = stopped_web(Engine::V29);
    assert_eq!(
        run(&argv("docker ps"), &v).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED         STATUS         PORTS     NAMES\n\
         c2d4e6f8a0b1   busybox   \"sh\"      2 minutes ago   Up 2 minutes             db\n"
    );
    // Exited 70 s before `now`; its port was released with it.
    assert_eq!(
        run(&argv("docker ps -a"), &v).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED         STATUS                            PORTS     NAMES\n\
         c2d4e6f8a0b1   busybox   \"sh\"      2 minutes ago   Up 2 minutes                                db\n\
         4e7a1c9b2d8f   busybox   \"sh\"      2 minutes ago   Exited (137) About a minute ago             web\n"
    );
    assert_eq!(run(&argv("docker ps -q"), &v).unwrap(), "c2d4e6f8a0b1\n");
    assert_eq!(
        run(&argv("docker container ls --all --quiet"), &v).unwrap(),
        "c2d4e6f8a0b1\n4e7a1c9b2d8f\n"
    );
    // Nothing runs: only the header.
    let mut none = v.clone();
    none.states.push(RunState::Exited {
        code: 0,
        started: Timestamp::utc(v.created.unix_secs + 42, 300_000_000),
        finished: Timestamp::utc(v.created.unix_secs + 179, 500_000_000),
    });
    assert_eq!(
        run(&argv("docker ps"), &none).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    );
    assert!(
        run(&argv("docker ps -a"), &none)
            .unwrap()
            .contains("   Exited (0) Less than a second ago   ")
    );
}

#[test]
fn port_of_an_exited_container_is_empty() {
    let v = stopped_web(Engine::V29);
    assert_eq!(exec(&argv("docker port web"), &v), CliOutput::default());
    assert_eq!(
        run(&argv("docker port web 80"), &v).unwrap_err(),
        "Error: No public port '80' published for web\n"
    );
    // Started again: published again.
    let mut again = v.clone();
    again.states[0] = RunState::Running {
        started: Timestamp::utc(v.created.unix_secs + 150, 0),
    };
    assert_eq!(
        run(&argv("docker port web"), &again).unwrap(),
        "80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
    );
    assert!(
        run(&argv("docker ps"), &again)
            .unwrap()
            .contains("   Up 30 seconds   0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n")
    );
}

#[test]
fn network_inspect_leaves_exited_containers_out() {
    let v = stopped_web(Engine::V29);
    let out = run(&argv("docker network inspect bridge"), &v).unwrap();
    // No endpoint, and its address is back in the pool.
    assert!(
        out.contains(
            r#"        "Containers": {},
        "Status": {
            "IPAM": {
                "Subnets": {
                    "172.17.0.0/16": {
                        "IPsInUse": 3,
                        "DynamicIPsAvailable": 65533
                    }
                }
            }
        }"#
        ),
        "{out}"
    );
    // The running one is still there.
    let backend = run(&argv("docker network inspect backend"), &v).unwrap();
    assert!(backend.contains(&format!(
        "\"{DB_ID}\": {{\n                \"Name\": \"db\","
    )));
    // A stopped container in network mode `none` leaves `none` too.
    let mut lonely = v.clone();
    lonely.containers[0].endpoints.clear();
    let none = run(&argv("docker network inspect none"), &lonely).unwrap();
    assert!(none.contains("\"Containers\": {},"), "{none}");
    lonely.states.clear();
    let none = run(&argv("docker network inspect none"), &lonely).unwrap();
    assert!(none.contains("\"Name\": \"web\","), "{none}");
}

#[test]
fn ps_shows_each_containers_image_and_command() {
    let mut v = lab(Engine::V29);
    v.images = vec![Some(("nginx".into(), "nginx -g 'daemon off;'".into()))];
    // web was restarted 30 s ago: "Up" counts from then.
    v.states = vec![RunState::Running {
        started: Timestamp::utc(v.created.unix_secs + 150, 0),
    }];
    assert_eq!(
        run(&argv("docker ps"), &v).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS          PORTS                                     NAMES\n\
         c2d4e6f8a0b1   busybox   \"sh\"                     2 minutes ago   Up 2 minutes                                              db\n\
         4e7a1c9b2d8f   nginx     \"nginx -g 'daemon of…\"   2 minutes ago   Up 30 seconds   0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web\n"
    );
    let full = run(&argv("docker ps --no-trunc"), &v).unwrap();
    assert!(
        full.contains(&format!(
            "{WEB_ID}   nginx     \"nginx -g 'daemon off;'\"   2 minutes ago   Up 30 seconds   "
        )),
        "{full}"
    );
}
