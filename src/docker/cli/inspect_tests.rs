//! Golden outputs of `docker inspect` / `docker container inspect`. The seed container of
//! `002_d9f8148370a429fb.txt` (a real Docker 29 host) is rebuilt to compare its
//! `NetworkSettings` byte for byte; the rest is checked against the field order of the API
//! types and real Docker 28 and 29 outputs.

use super::tests::{argv, lab, seed_host, stopped_web};
use super::*;
use crate::docker::{Engine, PortMap, Proto};

/// The seed's `docker inspect ens_monitor_cron`, its `NetworkSettings` section verbatim
/// (lines 67–97 of the seed; the rest of the output was elided there).
const SEED_NETWORK_SETTINGS: &str = r#"
        "NetworkSettings": {
            "SandboxID": "9e94059c2d3a6e47426479772375ff33a81648e7e201df3e9079f7783db68907",
            "SandboxKey": "/var/run/docker/netns/9e94059c2d3a",
            "Ports": {},
            "Networks": {
                "docker_default": {
                    "IPAMConfig": null,
                    "Links": null,
                    "Aliases": [
                        "ens_monitor_cron",
                        "python-monitor"
                    ],
                    "DriverOpts": null,
                    "GwPriority": 0,
                    "NetworkID": "d9231d44a1ab7bc81da84032ada7a6588d30f8554cc363188d4c2c7a10cad502",
                    "EndpointID": "9c24993596f43f74de2d44a1b1c97109c65f4f4ed1a26188c6f6bb6d59db911f",
                    "Gateway": "172.18.0.1",
                    "IPAddress": "172.18.0.2",
                    "MacAddress": "96:00:76:49:ce:66",
                    "IPPrefixLen": 16,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": [
                        "ens_monitor_cron",
                        "python-monitor",
                        "272ba0e789b2"
                    ]
                }
            }
        },
"#;

/// The seed host with what `docker inspect` needs beyond `docker network inspect`: the
/// sandbox and Compose's aliases (the container name and the service name).
fn seed_inspect_host() -> DockerHostView {
    let mut v = seed_host();
    v.sandbox_ids = vec!["9e94059c2d3a6e47426479772375ff33a81648e7e201df3e9079f7783db68907".into()];
    v.aliases = vec![vec![vec![
        "ens_monitor_cron".into(),
        "python-monitor".into(),
    ]]];
    v
}

/// The text of one top-level field of the (single) inspected object, from its key line to
/// its closing line, as the seed quotes it.
fn section(out: &str, key: &str) -> String {
    let start = out
        .find(&format!("\n        \"{key}\": "))
        .unwrap_or_else(|| panic!("no {key} in {out}"));
    let rest = &out[start..];
    let end = rest
        .find("\n        }")
        .unwrap_or_else(|| panic!("{key} does not close"));
    let close = &rest[end + 1..];
    let line_end = close.find('\n').unwrap_or(close.len());
    format!("{}\n{}\n", &rest[..end], &close[..line_end])
}

#[test]
fn seed_network_settings_match_docker_29() {
    let v = seed_inspect_host();
    let out = run(&argv("docker inspect ens_monitor_cron"), &v).unwrap();
    assert_eq!(section(&out, "NetworkSettings"), SEED_NETWORK_SETTINGS);
    // By ID prefix, and through `docker container inspect`, the same.
    assert_eq!(run(&argv("docker inspect 272ba0e789b2"), &v).unwrap(), out);
    assert_eq!(
        run(&argv("docker container inspect ens_monitor_cron"), &v).unwrap(),
        out
    );
}

/// `docker run -dit --name web -p 8080:80 busybox` on the default bridge of a Docker 29
/// host, whole. Against the real Docker 29.5 output of two `docker run` containers (see the
/// module docs of `inspect.rs`): the same fields in the same order, `null` and `[]` where
/// the CLI and daemon leave them so.
const WEB_V29: &str = r#"[
    {
        "Id": "4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a",
        "Created": "2026-01-01T00:00:40.25Z",
        "Path": "sh",
        "Args": [],
        "State": {
            "Status": "running",
            "Running": true,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": 3477,
            "ExitCode": 0,
            "Error": "",
            "StartedAt": "2026-01-01T00:00:40.340309132Z",
            "FinishedAt": "0001-01-01T00:00:00Z"
        },
        "Image": "sha256:484dc2273f815d472e6d301addc3e74c8d413c4bf0e27faecc1d853d022c9af7",
        "ResolvConfPath": "/var/lib/docker/containers/4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a/resolv.conf",
        "HostnamePath": "/var/lib/docker/containers/4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a/hostname",
        "HostsPath": "/var/lib/docker/containers/4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a/hosts",
        "LogPath": "/var/lib/docker/containers/4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a/4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a-json.log",
        "Name": "/web",
        "RestartCount": 0,
        "Driver": "overlayfs",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "docker-default",
        "ExecIDs": null,
        "HostConfig": {
            "Binds": null,
            "ContainerIDFile": "",
            "LogConfig": {
                "Type": "json-file",
                "Config": {}
            },
            "NetworkMode": "bridge",
            "PortBindings": {
                "80/tcp": [
                    {
                        "HostIp": "",
                        "HostPort": "8080"
                    }
                ]
            },
            "RestartPolicy": {
                "Name": "no",
                "MaximumRetryCount": 0
            },
            "AutoRemove": false,
            "VolumeDriver": "",
            "VolumesFrom": null,
            "ConsoleSize": [
                0,
                0
            ],
            "CapAdd": null,
            "CapDrop": null,
            "CgroupnsMode": "private",
            "Dns": [],
            "DnsOptions": [],
            "DnsSearch": [],
            "ExtraHosts": null,
            "GroupAdd": null,
            "IpcMode": "private",
            "Cgroup": "",
            "Links": null,
            "OomScoreAdj": 0,
            "PidMode": "",
            "Privileged": false,
            "PublishAllPorts": false,
            "ReadonlyRootfs": false,
            "SecurityOpt": null,
            "UTSMode": "",
            "UsernsMode": "",
            "ShmSize": 67108864,
            "Runtime": "runc",
            "Isolation": "",
            "CpuShares": 0,
            "Memory": 0,
            "NanoCpus": 0,
            "CgroupParent": "",
            "BlkioWeight": 0,
            "BlkioWeightDevice": [],
            "BlkioDeviceReadBps": [],
            "BlkioDeviceWriteBps": [],
            "BlkioDeviceReadIOps": [],
            "BlkioDeviceWriteIOps": [],
            "CpuPeriod": 0,
            "CpuQuota": 0,
            "CpuRealtimePeriod": 0,
            "CpuRealtimeRuntime": 0,
            "CpusetCpus": "",
            "CpusetMems": "",
            "Devices": [],
            "DeviceCgroupRules": null,
            "DeviceRequests": null,
            "MemoryReservation": 0,
            "MemorySwap": 0,
            "MemorySwappiness": null,
            "OomKillDisable": null,
            "PidsLimit": null,
            "Ulimits": null,
            "CpuCount": 0,
            "CpuPercent": 0,
            "IOMaximumIOps": 0,
            "IOMaximumBandwidth": 0,
            "MaskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/interrupts",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/sched_debug",
                "/proc/scsi",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/sys/devices/virtual/powercap",
                "/sys/firmware"
            ],
            "ReadonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        },
        "Storage": {
            "RootFS": {
                "Snapshot": {
                    "Name": "overlayfs"
                }
            }
        },
        "Mounts": [],
        "Config": {
            "Hostname": "4e7a1c9b2d8f",
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "ExposedPorts": {
                "80/tcp": {}
            },
            "Tty": true,
            "OpenStdin": true,
            "StdinOnce": false,
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ],
            "Cmd": [
                "sh"
            ],
            "Image": "busybox",
            "Volumes": null,
            "WorkingDir": "",
            "Entrypoint": null,
            "Labels": {}
        },
        "NetworkSettings": {
            "SandboxID": "ac55d32e58365c8fc02a0f90b410f6f005520eec110006ac24a455b3d0784eb9",
            "SandboxKey": "/var/run/docker/netns/ac55d32e5836",
            "Ports": {
                "80/tcp": [
                    {
                        "HostIp": "0.0.0.0",
                        "HostPort": "8080"
                    },
                    {
                        "HostIp": "::",
                        "HostPort": "8080"
                    }
                ]
            },
            "Networks": {
                "bridge": {
                    "IPAMConfig": null,
                    "Links": null,
                    "Aliases": null,
                    "DriverOpts": null,
                    "GwPriority": 0,
                    "NetworkID": "3f1c2b7a9e4d5c6b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a190",
                    "EndpointID": "e1a0c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1",
                    "Gateway": "172.17.0.1",
                    "IPAddress": "172.17.0.2",
                    "MacAddress": "6a:1f:3c:22:90:0b",
                    "IPPrefixLen": 16,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": null
                }
            }
        },
        "ImageManifestDescriptor": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:16116e694d834f5493620e99e0032793be7b322c4e9ab422c7198fac50a6220f",
            "size": 610,
            "platform": {
                "architecture": "amd64",
                "os": "linux"
            }
        }
    }
]
"#;

#[test]
fn docker_inspect_v29_whole_container() {
    let v = lab(Engine::V29);
    assert_eq!(run(&argv("docker inspect web"), &v).unwrap(), WEB_V29);
    assert_eq!(
        run(&argv("docker container inspect 4e7a1c9b2d8f"), &v).unwrap(),
        WEB_V29
    );
}

/// The lines of one top-level object's keys (8 spaces of indent) and the first-level keys
/// of `field`, in order.
fn keys(out: &str, field: &str) -> Vec<String> {
    let sec = section(out, field);
    sec.lines()
        .filter(|l| l.starts_with("            \"") && !l.starts_with("             "))
        .map(|l| l.trim().split('"').nth(1).unwrap().to_string())
        .collect()
}

fn top_keys(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("        \"") && !l.starts_with("         "))
        .map(|l| l.trim().split('"').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn engine_28_and_27_keep_the_deprecated_fields() {
    let v29 = run(&argv("docker inspect web"), &lab(Engine::V29)).unwrap();
    let v28 = run(&argv("docker inspect web"), &lab(Engine::V28)).unwrap();
    let v27 = run(&argv("docker inspect web"), &lab(Engine::V27)).unwrap();
    let tail = [
        "HostConfig",
        "Storage",
        "Mounts",
        "Config",
        "NetworkSettings",
        "ImageManifestDescriptor",
    ];
    assert_eq!(top_keys(&v29)[18..], tail);
    assert_eq!(
        top_keys(&v28)[18..],
        tail.map(|k| k.replace("Storage", "GraphDriver"))
    );
    assert_eq!(
        top_keys(&v27)[18..],
        [
            "HostConfig",
            "GraphDriver",
            "Mounts",
            "Config",
            "NetworkSettings"
        ]
    );
    assert_eq!(
        keys(&v29, "NetworkSettings"),
        ["SandboxID", "SandboxKey", "Ports", "Networks"]
    );
    // A real Docker 28 `docker inspect` of a container on the default bridge.
    let deprecated = [
        "Bridge",
        "SandboxID",
        "SandboxKey",
        "Ports",
        "HairpinMode",
        "LinkLocalIPv6Address",
        "LinkLocalIPv6PrefixLen",
        "SecondaryIPAddresses",
        "SecondaryIPv6Addresses",
        "EndpointID",
        "Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "MacAddress",
        "Networks",
    ];
    assert_eq!(keys(&v28, "NetworkSettings"), deprecated);
    assert_eq!(keys(&v27, "NetworkSettings"), deprecated);
    // The top-level copies come from the default bridge's endpoint.
    let ns = section(&v28, "NetworkSettings");
    assert!(ns.contains(
        "            \"IPAddress\": \"172.17.0.2\",\n            \"IPPrefixLen\": 16,\n            \"IPv6Gateway\": \"\",\n            \"MacAddress\": \"6a:1f:3c:22:90:0b\",\n"
    ));
    // 28: the endpoint's MAC after its aliases, GwPriority; 27 without GwPriority.
    assert!(ns.contains(
        "\"Aliases\": null,\n                    \"MacAddress\": \"6a:1f:3c:22:90:0b\",\n                    \"DriverOpts\": null,\n                    \"GwPriority\": 0,\n                    \"NetworkID\""
    ));
    let ns27 = section(&v27, "NetworkSettings");
    assert!(ns27.contains("\"DriverOpts\": null,\n                    \"NetworkID\""));
    // OnBuild: null up to 28, left out by 29; 29 sorts the masked paths and sends no ulimits.
    assert!(v28.contains(
        "\"Entrypoint\": null,\n            \"OnBuild\": null,\n            \"Labels\": {}"
    ));
    assert!(!v29.contains("OnBuild"));
    assert!(v28.contains("\"Ulimits\": [],"));
    assert!(v28.contains(
        "\"MaskedPaths\": [\n                \"/proc/asound\",\n                \"/proc/acpi\","
    ));
    assert!(v28.contains("\"GraphDriver\": {\n            \"Data\": null,\n            \"Name\": \"overlayfs\"\n        },"));
    // A user network's endpoint has no top-level copy.
    let db28 = run(&argv("docker inspect db"), &lab(Engine::V28)).unwrap();
    assert!(
        section(&db28, "NetworkSettings")
            .contains("            \"EndpointID\": \"\",\n            \"Gateway\": \"\",")
    );
}

#[test]
fn aliases_and_dns_names() {
    let mut v = lab(Engine::V29);
    // db has aliases on backend (the container's own name among them, as Compose adds it).
    v.aliases = vec![
        vec![],
        vec![vec!["db".into(), "database".into(), "pg".into()]],
    ];
    let out = run(&argv("docker inspect db"), &v).unwrap();
    let ns = section(&out, "NetworkSettings");
    assert!(ns.contains(
        "\"Aliases\": [\n                        \"db\",\n                        \"database\",\n                        \"pg\"\n                    ],"
    ));
    assert!(ns.contains(
        "\"DNSNames\": [\n                        \"db\",\n                        \"database\",\n                        \"pg\",\n                        \"c2d4e6f8a0b1\"\n                    ]"
    ));
    // On the default bridge there is no embedded DNS: both null.
    let web = section(
        &run(&argv("docker inspect web"), &v).unwrap(),
        "NetworkSettings",
    );
    assert!(web.contains("\"Aliases\": null,"));
    assert!(web.contains("\"DNSNames\": null"));
    assert_eq!(
        dns_names_of(&v, "db"),
        ["db", "database", "pg", "c2d4e6f8a0b1"]
    );
}

fn dns_names_of(v: &DockerHostView, name: &str) -> Vec<String> {
    let out = run(&argv(&format!("docker inspect {name}")), v).unwrap();
    let ns = section(&out, "NetworkSettings");
    let start = ns.find("\"DNSNames\": [").unwrap();
    let end = start + ns[start..].find(']').unwrap();
    ns[start..end]
        .lines()
        .skip(1)
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn several_networks_ports_static_address_and_extra_hosts() {
    let mut v = lab(Engine::V29);
    // web also joins backend, with the address it asked for; publishes more ports.
    v.containers[0].endpoints.push(crate::docker::Endpoint {
        network: 1,
        ip: smoltcp::wire::Ipv4Address::new(172, 18, 0, 10),
        ip6: None,
        mac: smoltcp::wire::EthernetAddress([0x02, 0x42, 0xac, 0x12, 0x00, 0x0a]),
    });
    v.endpoint_ids[0].push("ab".repeat(32));
    v.static_ips = vec![vec![false, true]];
    v.extra_hosts = vec![vec!["host.docker.internal:host-gateway".into()]];
    v.containers[0].publish.extend([
        PortMap {
            host_ip: Some(smoltcp::wire::IpAddress::v4(127, 0, 0, 1)),
            host_port: 8443,
            ctr_port: 443,
            proto: Proto::Tcp,
        },
        PortMap {
            host_ip: None,
            host_port: 0,
            ctr_port: 53,
            proto: Proto::Udp,
        },
    ]);
    v.bindings = port_bindings(&v.daemon, &v.networks, &v.containers);
    let out = run(&argv("docker inspect web"), &v).unwrap();
    let hc = section(&out, "HostConfig");
    // As given on the command line, keys sorted as strings.
    assert!(
        hc.contains(
            r#"            "PortBindings": {
                "443/tcp": [
                    {
                        "HostIp": "127.0.0.1",
                        "HostPort": "8443"
                    }
                ],
                "53/udp": [
                    {
                        "HostIp": "",
                        "HostPort": ""
                    }
                ],
                "80/tcp": [
                    {
                        "HostIp": "",
                        "HostPort": "8080"
                    }
                ]
            },"#
        ),
        "{hc}"
    );
    assert!(hc.contains(
        "\"ExtraHosts\": [\n                \"host.docker.internal:host-gateway\"\n            ],"
    ));
    let cfg = section(&out, "Config");
    assert!(cfg.contains(
        "\"ExposedPorts\": {\n                \"443/tcp\": {},\n                \"53/udp\": {},\n                \"80/tcp\": {}\n            },"
    ));
    // The daemon's view: the ephemeral port it picked, the address each binds.
    let ns = section(&out, "NetworkSettings");
    let eph = v
        .bindings
        .iter()
        .find(|b| b.ctr_port == 53)
        .map(|b| b.host_port)
        .unwrap();
    assert!(
        ns.contains(&format!(
            r#"            "Ports": {{
                "443/tcp": [
                    {{
                        "HostIp": "127.0.0.1",
                        "HostPort": "8443"
                    }}
                ],
                "53/udp": [
                    {{
                        "HostIp": "0.0.0.0",
                        "HostPort": "{eph}"
                    }},
                    {{
                        "HostIp": "::",
                        "HostPort": "{eph}"
                    }}
                ],
                "80/tcp": [
                    {{
                        "HostIp": "0.0.0.0",
                        "HostPort": "8080"
                    }},
                    {{
                        "HostIp": "::",
                        "HostPort": "8080"
                    }}
                ]
            }},"#
        )),
        "{ns}"
    );
    // Both networks, by name; the static address shows in IPAMConfig.
    assert!(
        ns.contains(
            r#"                "backend": {
                    "IPAMConfig": {
                        "IPv4Address": "172.18.0.10"
                    },
                    "Links": null,
                    "Aliases": null,
                    "DriverOpts": null,
                    "GwPriority": 0,"#
        ),
        "{ns}"
    );
    assert!(ns.find("\"backend\": {").unwrap() < ns.find("\"bridge\": {").unwrap());
    // The first network is the network mode.
    assert!(hc.contains("\"NetworkMode\": \"bridge\","));
}

#[test]
fn none_host_and_container_modes() {
    let mut v = lab(Engine::V29);
    v.containers[1].endpoints.clear();
    v.endpoint_ids[1] = vec!["cd".repeat(32)];
    v.hostname = "dockerhost".into();
    v.shared.push(SharedContainer {
        name: "sniffer".into(),
        id: "aa".repeat(32),
        host_network: true,
        endpoint_id: "bb".repeat(32),
        created: v.created,
    });
    v.shared.push(SharedContainer {
        name: "sidecar".into(),
        id: "ee".repeat(32),
        host_network: false,
        endpoint_id: String::new(),
        created: v.created,
    });
    v.shared_modes = vec!["host".into(), "container:web".into()];
    // none: one endpoint on `none`, nothing but its IDs.
    let db = run(&argv("docker inspect db"), &v).unwrap();
    assert!(section(&db, "HostConfig").contains("\"NetworkMode\": \"none\","));
    assert!(section(&db, "NetworkSettings").contains(&format!(
        r#"            "Ports": {{}},
            "Networks": {{
                "none": {{
                    "IPAMConfig": null,
                    "Links": null,
                    "Aliases": null,
                    "DriverOpts": null,
                    "GwPriority": 0,
                    "NetworkID": "{}",
                    "EndpointID": "{}",
                    "Gateway": "",
                    "IPAddress": "",
                    "MacAddress": "",
                    "IPPrefixLen": 0,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": null
                }}
            }}
        }},
"#,
        v.none_network_id,
        "cd".repeat(32)
    )));
    // host: the host's name and namespace, an endpoint on `host`.
    let sniffer = run(&argv("docker inspect sniffer"), &v).unwrap();
    assert!(section(&sniffer, "Config").contains("\"Hostname\": \"dockerhost\","));
    assert!(section(&sniffer, "HostConfig").contains("\"NetworkMode\": \"host\","));
    let ns = section(&sniffer, "NetworkSettings");
    assert!(ns.contains("\"SandboxKey\": \"/var/run/docker/netns/default\","));
    assert!(ns.contains("\"host\": {\n                    \"IPAMConfig\": null,"));
    assert!(ns.contains(&format!("\"EndpointID\": \"{}\",", "bb".repeat(32))));
    // container:web: web's hostname and files, no network of its own.
    let sidecar = run(&argv("docker inspect sidecar"), &v).unwrap();
    assert!(section(&sidecar, "HostConfig").contains("\"NetworkMode\": \"container:web\","));
    assert!(section(&sidecar, "Config").contains("\"Hostname\": \"4e7a1c9b2d8f\","));
    assert!(sidecar.contains(&format!(
        "\"HostsPath\": \"/var/lib/docker/containers/{WEB}/hosts\",",
        WEB = "4e7a1c9b2d8f3e6a5b0c7d4e1f8a2b9c6d3e0f7a4b1c8d5e2f9a6b3c0d7e4f1a"
    )));
    assert!(sidecar.contains(&format!(
        "\"LogPath\": \"/var/lib/docker/containers/{id}/{id}-json.log\",",
        id = "ee".repeat(32)
    )));
    assert!(section(&sidecar, "NetworkSettings").ends_with(
        "            \"SandboxID\": \"\",\n            \"SandboxKey\": \"\",\n            \"Ports\": {},\n            \"Networks\": {}\n        },\n"
    ));
    // PIDs grow in start order, past the model's containers.
    let pids: Vec<u64> = ["web", "db", "sniffer", "sidecar"]
        .iter()
        .map(|n| {
            let out = run(&argv(&format!("docker inspect {n}")), &v).unwrap();
            let l = out.lines().find(|l| l.contains("\"Pid\": ")).unwrap();
            l.trim()
                .trim_start_matches("\"Pid\": ")
                .trim_end_matches(',')
                .parse()
                .unwrap()
        })
        .collect();
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "{pids:?}");
}

#[test]
fn lookup_and_errors() {
    let v = lab(Engine::V29);
    // Several names, in order; a network name falls through to the network.
    let out = run(&argv("docker inspect db web"), &v).unwrap();
    assert!(out.find("\"Name\": \"/db\"").unwrap() < out.find("\"Name\": \"/web\"").unwrap());
    assert_eq!(
        run(&argv("docker inspect backend"), &v).unwrap(),
        run(&argv("docker network inspect backend"), &v).unwrap()
    );
    // What was found prints; each miss is an error line; status 1.
    let out = exec(&argv("docker inspect web nosuch"), &v);
    assert_eq!(out.status, 1);
    assert_eq!(out.stdout, WEB_V29);
    assert_eq!(out.stderr, "error: no such object: nosuch\n");
    let out = exec(&argv("docker inspect nosuch"), &lab(Engine::V28));
    assert_eq!((out.stdout.as_str(), out.status), ("[]\n", 1));
    assert_eq!(out.stderr, "Error: No such object: nosuch\n");
    let out = exec(&argv("docker container inspect backend web"), &v);
    assert_eq!(out.stdout, WEB_V29);
    assert_eq!(
        out.stderr,
        "Error response from daemon: No such container: backend\n"
    );
    // --type: one kind, its own error.
    assert_eq!(
        run(&argv("docker inspect --type network web"), &v).unwrap_err(),
        "Error response from daemon: network web not found\n"
    );
    assert_eq!(
        run(&argv("docker inspect --type=container web"), &v).unwrap(),
        WEB_V29
    );
    assert_eq!(
        run(&argv("docker inspect --type=container backend"), &v).unwrap_err(),
        "Error response from daemon: No such container: backend\n"
    );
    assert!(
        run(&argv("docker inspect --type bogus web"), &v)
            .unwrap_err()
            .starts_with("unknown type: \"bogus\": must be one of \"config\", \"container\", ")
    );
    assert_eq!(
        run(&argv("docker inspect --type"), &v).unwrap_err(),
        "flag needs an argument: --type\n\nUsage:  docker inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n\
         Run 'docker inspect --help' for more information\n"
    );
    assert_eq!(
        run(&argv("docker inspect"), &v).unwrap_err(),
        "docker: 'docker inspect' requires at least 1 argument\n\n\
         Usage:  docker inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n\
         See 'docker inspect --help' for more information\n"
    );
    assert_eq!(
        run(&argv("docker container inspect"), &v).unwrap_err(),
        "docker: 'docker container inspect' requires at least 1 argument\n\n\
         Usage:  docker container inspect [OPTIONS] CONTAINER [CONTAINER...]\n\n\
         See 'docker container inspect --help' for more information\n"
    );
    assert_eq!(exec(&argv("docker inspect --bogus web"), &v).status, 125);
    // A container named like the image is the container (containers are looked up first).
    let mut named = v.clone();
    named.containers[1].name = "busybox".into();
    assert!(
        run(&argv("docker inspect busybox"), &named)
            .unwrap()
            .contains("\"Name\": \"/busybox\",")
    );
    // Not modelled: templates, sizes, images.
    for cmd in [
        "docker inspect -f {{.Id}} web",
        "docker inspect --format={{.Id}} web",
        "docker container inspect -s web",
        "docker inspect busybox",
        "docker inspect --type image busybox",
    ] {
        let out = exec(&argv(cmd), &v);
        assert_eq!(out.status, 1, "{cmd}");
        assert!(out.stderr.starts_with("hoplab: "), "{cmd}: {}", out.stderr);
    }
}

#[test]
fn times_are_utc_and_start_after_creation() {
    let mut v = lab(Engine::V29);
    v.container_created[1] = Timestamp::parse("2026-01-26T16:23:32.966499342+08:00").unwrap();
    let out = run(&argv("docker inspect db"), &v).unwrap();
    assert!(out.contains("\"Created\": \"2026-01-26T08:23:32.966499342Z\","));
    let started = out
        .lines()
        .find(|l| l.contains("\"StartedAt\""))
        .unwrap()
        .trim()
        .trim_start_matches("\"StartedAt\": \"")
        .trim_end_matches("\",");
    let t = Timestamp::parse(started).unwrap();
    let delay = t.since(v.container_created[1]);
    assert!((80_000_000..400_000_000).contains(&delay), "{delay}");
}

/// `docker stop web` (see `stopped_web`), web having also joined backend at the address it
/// asked for, with aliases. Docker 29.
const STOPPED_WEB_STATE: &str = r#"
        "State": {
            "Status": "exited",
            "Running": false,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": 0,
            "ExitCode": 137,
            "Error": "",
            "StartedAt": "2026-01-01T00:00:40.340309132Z",
            "FinishedAt": "2026-01-01T00:01:50Z"
        },
"#;

/// What `releaseNetwork` leaves: no sandbox, no ports, each endpoint's configuration
/// (IPAMConfig, Aliases, NetworkID) without its operational data.
const STOPPED_WEB_NETWORK_SETTINGS: &str = r#"
        "NetworkSettings": {
            "SandboxID": "",
            "SandboxKey": "",
            "Ports": {},
            "Networks": {
                "backend": {
                    "IPAMConfig": {
                        "IPv4Address": "172.18.0.10"
                    },
                    "Links": null,
                    "Aliases": [
                        "web",
                        "www"
                    ],
                    "DriverOpts": null,
                    "GwPriority": 0,
                    "NetworkID": "8b2e4f6a1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5",
                    "EndpointID": "",
                    "Gateway": "",
                    "IPAddress": "",
                    "MacAddress": "",
                    "IPPrefixLen": 0,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": null
                },
                "bridge": {
                    "IPAMConfig": null,
                    "Links": null,
                    "Aliases": null,
                    "DriverOpts": null,
                    "GwPriority": 0,
                    "NetworkID": "3f1c2b7a9e4d5c6b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a190",
                    "EndpointID": "",
                    "Gateway": "",
                    "IPAddress": "",
                    "MacAddress": "",
                    "IPPrefixLen": 0,
                    "IPv6Gateway": "",
                    "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0,
                    "DNSNames": null
                }
            }
        },
"#;

fn stopped_web_on_backend(engine: Engine) -> DockerHostView {
    let mut v = stopped_web(engine);
    v.containers[0].endpoints.push(crate::docker::Endpoint {
        network: 1,
        ip: smoltcp::wire::Ipv4Address::new(172, 18, 0, 10),
        ip6: None,
        mac: smoltcp::wire::EthernetAddress([0x02, 0x42, 0xac, 0x12, 0x00, 0x0a]),
    });
    v.endpoint_ids[0].push("ab".repeat(32));
    v.static_ips = vec![vec![false, true]];
    v.aliases = vec![vec![vec![], vec!["web".into(), "www".into()]]];
    v.bindings = port_bindings(&v.daemon, &v.networks, &v.containers);
    v
}

#[test]
fn inspect_exited_container_state_and_network_settings() {
    let v = stopped_web_on_backend(Engine::V29);
    let out = run(&argv("docker inspect web"), &v).unwrap();
    assert_eq!(section(&out, "State"), STOPPED_WEB_STATE);
    assert_eq!(
        section(&out, "NetworkSettings"),
        STOPPED_WEB_NETWORK_SETTINGS
    );
    // Everything else is the configuration, as while it ran: the `-p` mapping is still asked
    // for (HostConfig.PortBindings), the port still exposed.
    let running = run(&argv("docker inspect web"), &lab(Engine::V29)).unwrap();
    for key in ["HostConfig", "Config"] {
        assert_eq!(section(&out, key), section(&running, key), "{key}");
    }
    assert_eq!(top_keys(&out), top_keys(&running));
    // The one still running is untouched.
    let db = run(&argv("docker inspect db"), &v).unwrap();
    assert!(db.contains("\"Status\": \"running\","));
    assert!(db.contains("\"FinishedAt\": \"0001-01-01T00:00:00Z\""));
}

#[test]
fn inspect_exited_container_v28_clears_the_top_level_endpoint_fields() {
    let v = stopped_web_on_backend(Engine::V28);
    let ns = section(
        &run(&argv("docker inspect web"), &v).unwrap(),
        "NetworkSettings",
    );
    assert!(
        ns.contains(
            r#"            "SandboxID": "",
            "SandboxKey": "",
            "Ports": {},
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": {"#
        ),
        "{ns}"
    );
    assert!(ns.contains(
        "\"Aliases\": null,\n                    \"MacAddress\": \"\",\n                    \"DriverOpts\": null,"
    ));
}

#[test]
fn inspect_shows_each_containers_image_and_command() {
    let mut v = lab(Engine::V29);
    v.images = vec![
        Some(("nginx".into(), "nginx -g 'daemon off;'".into())),
        Some((
            "docker-python-monitor".into(),
            "sh -c 'chmod 0644 /etc/cron.d/monitor && cron -f'".into(),
        )),
    ];
    // web restarted at 2 min 30 s: a new start time; still never finished for the view.
    v.states = vec![RunState::Running {
        started: Timestamp::utc(v.created.unix_secs + 150, 0),
    }];
    let web = run(&argv("docker inspect web"), &v).unwrap();
    // The quoted word is one argument again.
    assert!(
        web.contains(
            r#"        "Path": "nginx",
        "Args": [
            "-g",
            "daemon off;"
        ],"#
        ),
        "{web}"
    );
    let state = section(&web, "State");
    assert!(state.contains("\"Pid\": 3477,"));
    assert!(state.contains(
        "\"StartedAt\": \"2026-01-01T00:02:30Z\",\n            \"FinishedAt\": \"0001-01-01T00:00:00Z\""
    ));
    let nginx = derive_id("image/nginx");
    assert!(web.contains(&format!("\"Image\": \"sha256:{nginx}\",")));
    let cfg = section(&web, "Config");
    assert!(cfg.contains(
        "\"Cmd\": [\n                \"nginx\",\n                \"-g\",\n                \"daemon off;\"\n            ],\n            \"Image\": \"nginx\","
    ));
    let manifest = derive_id("image/nginx/manifest");
    assert!(web.contains(&format!("\"digest\": \"sha256:{manifest}\",")));
    let db = run(&argv("docker inspect db"), &v).unwrap();
    assert!(
        db.contains(
            r#"        "Path": "sh",
        "Args": [
            "-c",
            "chmod 0644 /etc/cron.d/monitor && cron -f"
        ],"#
        ),
        "{db}"
    );
    // A quote inside a word is part of it; the view-wide image and command for the rest.
    v.images = vec![Some(("busybox".into(), "echo it's  done".into()))];
    let web = run(&argv("docker inspect web"), &v).unwrap();
    assert!(web.contains(
        "\"Path\": \"echo\",\n        \"Args\": [\n            \"it's\",\n            \"done\"\n        ],"
    ));
    let db = run(&argv("docker inspect db"), &v).unwrap();
    assert!(db.contains("\"Path\": \"sh\",\n        \"Args\": [],"));
    // Each container's image is an image: not modelled, not "no such object".
    v.images = vec![Some(("nginx".into(), "nginx".into()))];
    for name in ["nginx", "nginx:latest", "busybox"] {
        let out = exec(&argv(&format!("docker inspect {name}")), &v);
        assert!(out.stderr.starts_with("hoplab: "), "{name}: {}", out.stderr);
    }
}
