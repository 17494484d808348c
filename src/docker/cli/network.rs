//! `docker network ls` and `docker network inspect`.

use super::text::{Json, mac, natural_cmp, table};
use super::{CliOutput, DockerHostView, flag_error, parse_flags, unsupported};
use crate::docker::model::{Engine, GatewayMode, Network};
use crate::docker::{Daemon, ipam};

pub(super) const SUBCOMMANDS: &[&str] = &[
    "connect",
    "create",
    "disconnect",
    "inspect",
    "ls",
    "list",
    "prune",
    "rm",
    "remove",
];

/// `docker network` without a subcommand prints its help.
pub(super) const HELP: &str = "
Usage:  docker network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks

Run 'docker network COMMAND --help' for more information on a command.
";

/// One of the daemon's networks: a bridge network of the model, or a predefined one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Net {
    Bridge(usize),
    Host,
    None,
}

fn all(host: &DockerHostView) -> Vec<Net> {
    (0..host.networks.len())
        .map(Net::Bridge)
        .chain([Net::Host, Net::None])
        .collect()
}

fn name(host: &DockerHostView, n: Net) -> &str {
    match n {
        Net::Bridge(i) => &host.networks[i].name,
        Net::Host => "host",
        Net::None => "none",
    }
}

fn id(host: &DockerHostView, n: Net) -> &str {
    match n {
        Net::Bridge(i) => &host.networks[i].id,
        Net::Host => &host.host_network_id,
        Net::None => &host.none_network_id,
    }
}

fn driver(n: Net) -> &'static str {
    match n {
        Net::Bridge(_) => "bridge",
        Net::Host => "host",
        Net::None => "null",
    }
}

/// `docker network ls [-q] [--no-trunc]`: every network sorted by name in natural order
/// (`list.go` sorts with `sortorder.NaturalLess`), IDs cut to 12 digits.
pub(super) fn ls(host: &DockerHostView, args: &[&str]) -> CliOutput {
    const CMD: &str = "docker network ls";
    const USAGE: &str = "docker network ls [OPTIONS]";
    if let Some(a) = args.iter().find(|a| {
        a.starts_with("--filter")
            || a.starts_with("--format")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('f'))
    }) {
        return unsupported(&format!("{CMD} {a}"));
    }
    let (flags, pos) = match parse_flags(args, &[('q', "quiet"), ('\0', "no-trunc")]) {
        Ok(v) => v,
        Err(e) => return flag_error(&e, CMD, USAGE),
    };
    if !pos.is_empty() {
        return CliOutput::fail(
            1,
            format!(
                "docker: '{CMD}' accepts no arguments\n\nUsage:  {USAGE}\n\nRun '{CMD} --help' for more information"
            ),
        );
    }
    let trunc = !flags.contains(&"no-trunc");
    let mut nets = all(host);
    nets.sort_by(|a, b| natural_cmp(name(host, *a), name(host, *b)));
    let shown_id = |n: Net| {
        let id = id(host, n);
        if trunc {
            id.chars().take(12).collect()
        } else {
            id.to_string()
        }
    };
    if flags.contains(&"quiet") {
        return CliOutput::ok(nets.iter().map(|&n| shown_id(n) + "\n").collect());
    }
    let mut rows = vec![vec![
        "NETWORK ID".to_string(),
        "NAME".into(),
        "DRIVER".into(),
        "SCOPE".into(),
    ]];
    rows.extend(nets.iter().map(|&n| {
        vec![
            shown_id(n),
            name(host, n).to_string(),
            driver(n).to_string(),
            "local".to_string(),
        ]
    }));
    CliOutput::ok(table(&rows))
}

/// `docker network inspect [-v] NETWORK...`: a JSON array of the networks found (`[]` when
/// none is), and one daemon error per name not found on stderr, status 1
/// (`inspect.Inspect`).
pub(super) fn inspect(host: &DockerHostView, args: &[&str]) -> CliOutput {
    const CMD: &str = "docker network inspect";
    const USAGE: &str = "docker network inspect [OPTIONS] NETWORK [NETWORK...]";
    if args
        .iter()
        .any(|a| a.starts_with("--format") || (a.starts_with("-f") && !a.starts_with("--")))
    {
        return unsupported("docker network inspect --format");
    }
    let (_, names) = match parse_flags(args, &[('v', "verbose")]) {
        Ok(v) => v,
        Err(e) => return flag_error(&e, CMD, USAGE),
    };
    if names.is_empty() {
        return CliOutput::fail(
            1,
            format!(
                "docker: '{CMD}' requires at least 1 argument\n\nUsage:  {USAGE}\n\nSee '{CMD} --help' for more information"
            ),
        );
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for term in names {
        match find(host, term) {
            Ok(n) => found.push(network_json(host, n)),
            Err(e) => errors.push(format!("Error response from daemon: {e}")),
        }
    }
    let stdout = if found.is_empty() {
        "[]\n".to_string()
    } else {
        Json::Arr(found).pretty() + "\n"
    };
    let status = i32::from(!errors.is_empty());
    let stderr = if errors.is_empty() {
        String::new()
    } else {
        errors.join("\n") + "\n"
    };
    CliOutput {
        stdout,
        stderr,
        status,
    }
}

/// The daemon's lookup (`getNetwork`): a full ID first, then a unique full name, then a
/// unique ID prefix.
pub(super) fn find(host: &DockerHostView, term: &str) -> Result<Net, String> {
    let nets = all(host);
    if let Some(&n) = nets.iter().find(|&&n| id(host, n) == term) {
        return Ok(n);
    }
    let by_name: Vec<Net> = nets
        .iter()
        .copied()
        .filter(|&n| name(host, n) == term)
        .collect();
    let by_prefix: Vec<Net> = nets
        .iter()
        .copied()
        .filter(|&n| !term.is_empty() && id(host, n).starts_with(term))
        .collect();
    match (by_name.as_slice(), by_prefix.as_slice()) {
        ([n], _) => Ok(*n),
        ([_, _, ..], _) => Err(format!(
            "{} matches found based on name: network {term} is ambiguous",
            by_name.len()
        )),
        ([], [n]) => Ok(*n),
        ([], [_, _, ..]) => Err(format!(
            "{} matches found based on ID prefix: network {term} is ambiguous",
            by_prefix.len()
        )),
        ([], []) => Err(format!("network {term} not found")),
    }
}

/// One element of `docker network inspect`, in the field order of the engine's API
/// (`network.Inspect`): 27/28 `... ConfigOnly, Containers, Options, Labels`; 29 `...
/// ConfigOnly, Options, Labels, Containers, Status` (seed 002). `EnableIPv4` from 28 (API
/// 1.48); `IPRange: ""` and `Status` in 29 (API 1.52).
pub(super) fn network_json(host: &DockerHostView, n: Net) -> Json {
    let engine = host.daemon.engine;
    let obj = |fields: Vec<(&str, Json)>| {
        Json::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    };
    let config = match n {
        Net::Bridge(i) => {
            let net = &host.networks[i];
            let mut c = vec![("Subnet", Json::str(net.subnet.to_string()))];
            if engine == Engine::V29 {
                c.push(("IPRange", Json::str("")));
            }
            c.push(("Gateway", Json::str(net.gateway.to_string())));
            let mut configs = vec![obj(c)];
            if let Some(v6) = net.ipv6 {
                let mut c = vec![("Subnet", Json::str(v6.subnet.to_string()))];
                if engine == Engine::V29 {
                    c.push(("IPRange", Json::str("")));
                }
                c.push(("Gateway", Json::str(v6.gateway.to_string())));
                configs.push(obj(c));
            }
            Json::Arr(configs)
        }
        // The predefined networks allocate no pool: 27 answered `[]`, the 28+ daemon builds
        // the list from nothing (`var ipamConfig []IPAMConfig`), hence `null`.
        _ if engine == Engine::V27 => Json::Arr(Vec::new()),
        _ => Json::Null,
    };
    // The daemon stores the IPAM options it was sent: none for the networks it makes itself
    // and for Compose's (seed 002), `{}` from `docker network create`.
    let by_compose = |i: usize| {
        host.labels
            .get(i)
            .is_some_and(|l| l.contains_key("com.docker.compose.network"))
    };
    let ipam_options = match n {
        Net::Bridge(i) if host.networks[i].name != "bridge" && !by_compose(i) => {
            Json::Obj(Vec::new())
        }
        _ => Json::Null,
    };
    let (internal, ipv6, options, labels) = match n {
        Net::Bridge(i) => {
            let net = &host.networks[i];
            let labels = host.labels.get(i).map_or(Json::Obj(Vec::new()), |l| {
                Json::string_map(l.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            });
            let options = driver_options(&host.daemon, net);
            (net.internal, net.ipv6.is_some(), options, labels)
        }
        _ => (false, false, Json::Obj(Vec::new()), Json::Obj(Vec::new())),
    };
    let mut fields = vec![
        ("Name", Json::str(name(host, n))),
        ("Id", Json::str(id(host, n))),
        ("Created", Json::str(host.created.rfc3339_nano())),
        ("Scope", Json::str("local")),
        ("Driver", Json::str(driver(n))),
    ];
    if engine != Engine::V27 {
        fields.push(("EnableIPv4", Json::Bool(true)));
    }
    fields.extend([
        ("EnableIPv6", Json::Bool(ipv6)),
        (
            "IPAM",
            obj(vec![
                ("Driver", Json::str("default")),
                ("Options", ipam_options),
                ("Config", config),
            ]),
        ),
        ("Internal", Json::Bool(internal)),
        ("Attachable", Json::Bool(false)),
        ("Ingress", Json::Bool(false)),
        ("ConfigFrom", obj(vec![("Network", Json::str(""))])),
        ("ConfigOnly", Json::Bool(false)),
    ]);
    let containers = containers_json(host, n);
    if engine == Engine::V29 {
        fields.extend([
            ("Options", options),
            ("Labels", labels),
            ("Containers", containers),
            ("Status", status_json(host, n)),
        ]);
    } else {
        fields.extend([
            ("Containers", containers),
            ("Options", options),
            ("Labels", labels),
        ]);
    }
    obj(fields)
}

/// The network's driver options. The default bridge shows what `initBridgeDriver` sets
/// (`docker-netfilter.md` §2.3); a user network only what `-o` set, which the model tells
/// from the values that differ from the bridge driver's defaults.
fn driver_options(daemon: &Daemon, net: &Network) -> Json {
    const P: &str = "com.docker.network.bridge.";
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| opts.push((k.to_string(), v));
    if net.name == "bridge" {
        put(&format!("{P}default_bridge"), "true".into());
        put(&format!("{P}enable_icc"), net.enable_icc.to_string());
        put(
            &format!("{P}enable_ip_masquerade"),
            net.enable_ip_masquerade.to_string(),
        );
        let bind = net.host_binding_ipv4.unwrap_or(daemon.ip);
        put(&format!("{P}host_binding_ipv4"), bind.to_string());
        put(&format!("{P}name"), net.bridge.clone());
        put("com.docker.network.driver.mtu", net.mtu.to_string());
    } else {
        if !net.enable_icc {
            put(&format!("{P}enable_icc"), "false".into());
        }
        if !net.enable_ip_masquerade {
            put(&format!("{P}enable_ip_masquerade"), "false".into());
        }
        if let Some(ip) = net.host_binding_ipv4 {
            put(&format!("{P}host_binding_ipv4"), ip.to_string());
        }
        if net.bridge != ipam::bridge_name(&net.id) {
            put(&format!("{P}name"), net.bridge.clone());
        }
        if net.mtu != 1500 {
            put("com.docker.network.driver.mtu", net.mtu.to_string());
        }
    }
    match net.gateway_mode_ipv4 {
        GatewayMode::Nat => {}
        GatewayMode::NatUnprotected => {
            put(&format!("{P}gateway_mode_ipv4"), "nat-unprotected".into())
        }
        GatewayMode::Routed => put(&format!("{P}gateway_mode_ipv4"), "routed".into()),
    }
    match net.gateway_mode_ipv6 {
        GatewayMode::Nat => {}
        GatewayMode::NatUnprotected => {
            put(&format!("{P}gateway_mode_ipv6"), "nat-unprotected".into())
        }
        GatewayMode::Routed => put(&format!("{P}gateway_mode_ipv6"), "routed".into()),
    }
    if let Some(ip) = net.host_ipv4 {
        put("com.docker.network.host_ipv4", ip.to_string());
    }
    Json::string_map(opts.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// `Containers`: the endpoints on the network keyed by container ID (a Go map, so sorted).
/// A stopped container has none: `releaseNetwork` deleted its sandbox and endpoints.
fn containers_json(host: &DockerHostView, n: Net) -> Json {
    let entry6 = |name: &str, ep: &str, mac_addr: String, ipv4: String, ipv6: String| {
        Json::Obj(vec![
            ("Name".into(), Json::str(name)),
            ("EndpointID".into(), Json::str(ep)),
            ("MacAddress".into(), Json::Str(mac_addr)),
            ("IPv4Address".into(), Json::Str(ipv4)),
            ("IPv6Address".into(), Json::Str(ipv6)),
        ])
    };
    let entry = |name: &str, ep: &str, mac_addr: String, ipv4: String| {
        entry6(name, ep, mac_addr, ipv4, String::new())
    };
    let mut out: Vec<(String, Json)> = Vec::new();
    match n {
        Net::Bridge(ni) => {
            let prefix = host.networks[ni].subnet.prefix_len();
            let prefix6 = host.networks[ni].ipv6.map(|v| v.subnet.prefix_len());
            for (ci, c) in host.containers.iter().enumerate() {
                if !host.running(ci) {
                    continue;
                }
                for (ei, ep) in c.endpoints.iter().enumerate() {
                    if ep.network == ni {
                        let ipv6 = match (ep.ip6, prefix6) {
                            (Some(ip), Some(len)) => format!("{ip}/{len}"),
                            _ => String::new(),
                        };
                        let e = entry6(
                            &c.name,
                            &host.endpoint_id(ci, ei),
                            mac(ep.mac),
                            format!("{}/{prefix}", ep.ip),
                            ipv6,
                        );
                        out.push((c.id.clone(), e));
                    }
                }
            }
        }
        Net::None => {
            for (ci, c) in host.containers.iter().enumerate() {
                if c.endpoints.is_empty() && host.running(ci) {
                    let e = entry(
                        &c.name,
                        &host.endpoint_id(ci, 0),
                        String::new(),
                        String::new(),
                    );
                    out.push((c.id.clone(), e));
                }
            }
        }
        Net::Host => {
            for s in host.shared.iter().filter(|s| s.host_network) {
                let e = entry(&s.name, &s.endpoint_id, String::new(), String::new());
                out.push((s.id.clone(), e));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Json::Obj(out)
}

/// 29's `Status.IPAM.Subnets` (`Network.IPAMStatus`): per subnet, the addresses taken
/// (network and broadcast address, the gateway, each running container's endpoint: a stopped
/// one's address went back to the pool) and those left for dynamic allocation (the whole
/// subnet is the range). The predefined networks have no pool: `{"IPAM": {}}`.
fn status_json(host: &DockerHostView, n: Net) -> Json {
    let subnets = match n {
        Net::Bridge(ni) => {
            let net = &host.networks[ni];
            let prefix = net.subnet.prefix_len();
            let size: u64 = 1u64 << (32 - u32::from(prefix));
            let reserved: u64 = if prefix < 31 { 2 } else { 0 };
            let gateway = u64::from(net.subnet.contains_addr(&net.gateway));
            let endpoints = host
                .containers
                .iter()
                .enumerate()
                .filter(|&(ci, _)| host.running(ci))
                .flat_map(|(_, c)| &c.endpoints)
                .filter(|ep| ep.network == ni)
                .count() as u64;
            let in_use = (reserved + gateway + endpoints).min(size);
            let stat = Json::Obj(vec![
                ("IPsInUse".into(), Json::Num(in_use)),
                ("DynamicIPsAvailable".into(), Json::Num(size - in_use)),
            ]);
            let mut subnets = vec![(net.subnet.to_string(), stat)];
            if let Some(v6) = net.ipv6 {
                // IPv6 reserves the subnet-router anycast address alone; a count past
                // 2^64 - 1 saturates.
                let host_bits = 128 - u32::from(v6.subnet.prefix_len());
                let size = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
                let gateway = u128::from(v6.subnet.contains_addr(&v6.gateway));
                let in_use = (1 + gateway + u128::from(endpoints)).min(size);
                let left = u64::try_from(size - in_use).unwrap_or(u64::MAX);
                let stat = Json::Obj(vec![
                    ("IPsInUse".into(), Json::Num(in_use as u64)),
                    ("DynamicIPsAvailable".into(), Json::Num(left)),
                ]);
                subnets.push((v6.subnet.to_string(), stat));
            }
            vec![("Subnets".to_string(), Json::Obj(subnets))]
        }
        _ => Vec::new(),
    };
    Json::Obj(vec![("IPAM".into(), Json::Obj(subnets))])
}
