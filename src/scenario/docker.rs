//! The `docker:` section of a lab: a Docker host described as a user knows it (networks,
//! containers, `-p`), read into `crate::docker`'s model, and expanded into the generic lab
//! pieces Docker would build: the host as a router (`eth0` plus one interface per bridge),
//! a bridge per network whose own port is that interface, a host per container with an
//! interface per network, a veth link per attachment, and Docker's iptables rules.
//!
//! Everything generated carries the location of the Docker field it came from, so the
//! generic checks that follow still point into the lab file.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::error::Errors;
use super::raw::{Ordered, RawBridge, RawHost, RawIface, RawLab, RawLink, RawRouter, S};
use crate::docker::cli::{DockerHostView, SharedContainer, Timestamp, derive_id};
use crate::docker::dns::{self, HostTarget};
use crate::docker::{
    self, Container, Daemon, Engine, ForwardPolicy, GatewayMode, Network, PortMap, Proto, ipam,
};
use crate::host::resolve::Names;

/// When the lab's Docker daemon created its networks and containers: the virtual clock's
/// origin as `docker` prints times.
const CREATED: &str = "2026-01-01T00:00:00Z";
use crate::rand::Rng;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocker {
    pub host: RawDockerHost,
    /// 29 (default), 28 or 27.
    #[serde(default)]
    pub engine: Option<S<u32>>,
    /// `drop` (default) or `accept`.
    #[serde(default)]
    pub forward_policy: Option<S<String>>,
    #[serde(default)]
    pub iptables: Option<bool>,
    #[serde(default)]
    pub userland_proxy: Option<bool>,
    /// The default address published ports bind to (`dockerd --ip`).
    #[serde(default)]
    pub ip: Option<S<String>>,
    /// Which iptables the host's listings imitate: `1.8.10` (default) or `1.8.9`.
    #[serde(default)]
    pub iptables_version: Option<S<String>>,
    /// When the daemon created its networks and containers, as `docker` prints times
    /// (RFC 3339; default 2026-01-01T00:00:00Z). Virtual time runs from there.
    #[serde(default)]
    pub created: Option<S<String>>,
    /// The ids of the predefined `host` and `none` networks (default: drawn from the seed).
    #[serde(default)]
    pub host_network_id: Option<S<String>>,
    #[serde(default)]
    pub none_network_id: Option<S<String>>,
    #[serde(default)]
    pub networks: Vec<RawNetwork>,
    #[serde(default)]
    pub containers: Vec<RawContainer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerHost {
    #[serde(default)]
    pub name: Option<S<String>>,
    /// The host's LAN address, e.g. 192.0.2.10/24.
    pub eth0: S<String>,
    #[serde(default)]
    pub mac: Option<S<String>>,
    #[serde(default)]
    pub gateway: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub name: S<String>,
    #[serde(default)]
    pub id: Option<S<String>>,
    #[serde(default)]
    pub subnet: Option<S<String>>,
    #[serde(default)]
    pub gateway: Option<S<String>>,
    #[serde(default)]
    pub internal: Option<bool>,
    #[serde(default)]
    pub enable_icc: Option<bool>,
    #[serde(default)]
    pub enable_ip_masquerade: Option<bool>,
    #[serde(default)]
    pub host_binding_ipv4: Option<S<String>>,
    /// `nat` (default), `nat-unprotected` or `routed`.
    #[serde(default)]
    pub gateway_mode_ipv4: Option<S<String>>,
    #[serde(default)]
    pub mtu: Option<S<u32>>,
    /// The Linux bridge's name (`com.docker.network.bridge.name`).
    #[serde(default)]
    pub bridge: Option<S<String>>,
    /// The bridge's MAC (default: drawn as the engine does).
    #[serde(default)]
    pub mac: Option<S<String>>,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContainer {
    pub name: S<String>,
    #[serde(default)]
    pub id: Option<S<String>>,
    #[serde(default)]
    pub networks: Vec<RawAttach>,
    /// `bridge` (default), `host`, `none` or `container:NAME`.
    #[serde(default)]
    pub network_mode: Option<S<String>>,
    /// `[IP:]HOST:CTR[/tcp|udp]` or `CTR[/tcp|udp]`.
    #[serde(default)]
    pub publish: Vec<S<String>>,
    #[serde(default)]
    pub extra_hosts: Vec<S<String>>,
    /// The container's network sandbox id (default: drawn from the seed).
    #[serde(default)]
    pub sandbox_id: Option<S<String>>,
}

/// A network a container joins: `mynet` or `{name: mynet, ip: ..., mac_address: ...,
/// aliases: [...], veth: ...}`.
#[derive(Debug)]
pub struct RawAttach {
    pub name: S<String>,
    pub ip: Option<S<String>>,
    pub mac_address: Option<S<String>>,
    pub aliases: Vec<S<String>>,
    /// The host-side veth's name (default: `veth` + 7 random hex digits).
    pub veth: Option<S<String>>,
    /// The endpoint's id (default: drawn from the seed).
    pub endpoint_id: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachMap {
    name: S<String>,
    #[serde(default)]
    ip: Option<S<String>>,
    #[serde(default)]
    mac_address: Option<S<String>>,
    #[serde(default)]
    aliases: Vec<S<String>>,
    #[serde(default)]
    veth: Option<S<String>>,
    #[serde(default)]
    endpoint_id: Option<S<String>>,
}

impl<'de> Deserialize<'de> for RawAttach {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAttach;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a network name, or a map with name, ip, mac_address, aliases")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAttach, E> {
                Ok(RawAttach {
                    name: Spanned::new(v.to_string(), Location::UNKNOWN, Location::UNKNOWN),
                    ip: None,
                    mac_address: None,
                    aliases: Vec::new(),
                    veth: None,
                    endpoint_id: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAttach, A::Error> {
                let m = RawAttachMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawAttach {
                    name: m.name,
                    ip: m.ip,
                    mac_address: m.mac_address,
                    aliases: m.aliases,
                    veth: m.veth,
                    endpoint_id: m.endpoint_id,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// How a container joins the network, from `network_mode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Its own stack, on its networks.
    Bridge,
    /// The host's stack: its commands run on the host.
    Host,
    /// Loopback only.
    None,
    /// Another container's stack.
    Container(String),
}

/// What the section expands to besides the generic pieces: which node a container's
/// commands run on when it has no stack of its own.
#[derive(Clone, Debug, Default)]
pub struct Expanded {
    /// (container, node whose stack it shares).
    pub shares: Vec<(String, String, Location)>,
    /// Programs the host runs from the start: a docker-proxy per published TCP port.
    pub daemons: Vec<(String, Vec<String>)>,
    /// Each container's names (`/etc/hosts`, the embedded DNS), by container.
    pub names: Vec<(String, Names)>,
    /// Each host and what its `docker` CLI reports.
    pub cli: Vec<(String, DockerHostView)>,
}

type Labels = std::collections::BTreeMap<String, String>;

fn at<T>(value: T, loc: Location) -> S<T> {
    Spanned::new(value, loc, loc)
}

/// Expands `raw.docker` into routers, bridges, hosts and links appended to `raw`. Errors go
/// to `errs`, each located.
pub fn expand(raw: &mut RawLab, seed: u64, errs: &mut Errors<'_>) -> Expanded {
    let hosts = std::mem::take(&mut raw.docker.0);
    let mut all = Expanded::default();
    for (i, d) in hosts.into_iter().enumerate() {
        let e = expand_host(raw, d, seed, i, errs);
        all.shares.extend(e.shares);
        all.daemons.extend(e.daemons);
        all.names.extend(e.names);
        all.cli.extend(e.cli);
    }
    all
}

/// One Docker host (the `index`th of the lab: each draws from its own random stream).
fn expand_host(
    raw: &mut RawLab,
    d: RawDocker,
    seed: u64,
    index: usize,
    errs: &mut Errors<'_>,
) -> Expanded {
    let label = match index {
        0 => "docker".to_string(),
        i => format!("docker:{i}"),
    };
    let mut rng = Rng::stream(seed, &label);
    let mut random = move || rng.next_u64();
    let daemon = read_daemon(&d, errs);
    let host_name = d
        .host
        .name
        .as_ref()
        .map_or("dockerhost".to_string(), |n| n.value.clone());
    let host_loc = d
        .host
        .name
        .as_ref()
        .map_or(d.host.eth0.referenced, |n| n.referenced);

    // Networks: the default bridge first (a `bridge` entry configures it), then the rest in
    // file order, each taking the next free pool subnet unless it names one.
    let mut networks: Vec<(Network, Location, Labels)> = Vec::new();
    let default_entry = d.networks.iter().find(|n| n.name.value == "bridge");
    let mut in_use: Vec<Ipv4Cidr> = Vec::new();
    if let Some(lan) = parse_cidr(&d.host.eth0, "eth0", errs) {
        in_use.push(lan.network());
    }
    let entries = std::iter::once(default_entry)
        .chain(
            d.networks
                .iter()
                .filter(|n| n.name.value != "bridge")
                .map(Some),
        )
        .collect::<Vec<_>>();
    for entry in entries {
        let id = entry
            .and_then(|n| n.id.as_ref())
            .map_or_else(|| ipam::random_id(&mut random), |i| i.value.clone());
        let loc = entry.map_or(host_loc, |n| n.name.referenced);
        let subnet = match entry.and_then(|n| n.subnet.as_ref()) {
            Some(s) => parse_cidr(s, "subnet", errs).map(|c| c.network()),
            None if entry.is_none_or(|n| n.name.value == "bridge") => {
                Some(Ipv4Cidr::new(Ipv4Address::new(172, 17, 0, 0), 16))
            }
            None => {
                let s = ipam::allocate_subnet(&in_use);
                if s.is_none() {
                    errs.at(
                        loc,
                        "subnet",
                        "no free subnet left in Docker's default pools",
                    );
                }
                s
            }
        };
        let Some(subnet) = subnet else { continue };
        if let Some(other) = networks
            .iter()
            .find(|(n, _, _)| ipam::overlaps(n.subnet, subnet))
        {
            errs.at(
                loc,
                "subnet",
                format!(
                    "Pool overlaps with other one on this address space ({} has {})",
                    other.0.name, other.0.subnet
                ),
            );
            continue;
        }
        in_use.push(subnet);
        let name = entry.map_or("bridge".to_string(), |n| n.name.value.clone());
        let mut net = if name == "bridge" {
            Network::default_bridge(id)
        } else {
            Network::user(name, id, subnet)
        };
        net.subnet = subnet;
        net.gateway = ipam::first_host(subnet).unwrap_or(subnet.address());
        if let Some(n) = entry {
            apply_network_options(&mut net, n, errs);
        }
        if networks.iter().any(|(other, _, _)| other.name == net.name) {
            errs.at(loc, "name", format!("duplicate network '{}'", net.name));
            continue;
        }
        networks.push((
            net,
            loc,
            entry.map(|n| n.labels.clone()).unwrap_or_default(),
        ));
    }

    // Containers.
    let mut containers: Vec<Container> = Vec::new();
    let mut veths: Vec<Vec<(usize, String, Location)>> = Vec::new();
    let mut expanded = Expanded::default();
    let mut hosts = Vec::new();
    let mut shared = Vec::new();
    let mut shared_modes = Vec::new();
    let mut static_ips: Vec<Vec<bool>> = Vec::new();
    let mut endpoint_ids: Vec<Vec<Option<String>>> = Vec::new();
    let mut sandbox_ids: Vec<Option<String>> = Vec::new();
    let mut raw_extra_hosts: Vec<Vec<String>> = Vec::new();
    let mut aliases: Vec<Vec<Vec<String>>> = Vec::new();
    let mut extra_hosts: Vec<Vec<(String, HostTarget)>> = Vec::new();
    let default_created = Timestamp::parse(CREATED).unwrap_or(Timestamp::utc(1_767_225_600, 0));
    let created = match &d.created {
        Some(c) => Timestamp::parse(&c.value).unwrap_or_else(|| {
            errs.at(
                c.referenced,
                "created",
                format!("'{}' is not an RFC 3339 time", c.value),
            );
            default_created
        }),
        None => default_created,
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut ports = docker::PortAllocator::new();
    for c in &d.containers {
        if seen.contains(&c.name.value.as_str()) {
            errs.at(
                c.name.referenced,
                "name",
                format!(
                    "Conflict. The container name \"/{}\" is already in use",
                    c.name.value
                ),
            );
            continue;
        }
        seen.push(&c.name.value);
        let mode = read_mode(c, errs);
        match &mode {
            Mode::Host | Mode::Container(_) => {
                let target = match &mode {
                    Mode::Container(other) => other.clone(),
                    _ => host_name.clone(),
                };
                let loc = c
                    .network_mode
                    .as_ref()
                    .map_or(c.name.referenced, |m| m.referenced);
                expanded.shares.push((c.name.value.clone(), target, loc));
                let id = c.id.as_ref().map_or_else(
                    || derive_id(&format!("{seed}/{host_name}/container/{}", c.name.value)),
                    |i| i.value.clone(),
                );
                shared_modes.push(match &mode {
                    Mode::Container(other) => format!("container:{other}"),
                    _ => "host".to_string(),
                });
                shared.push(SharedContainer {
                    endpoint_id: derive_id(&format!("{seed}/{host_name}/endpoint/{id}/host")),
                    name: c.name.value.clone(),
                    id,
                    host_network: mode == Mode::Host,
                    created,
                });
                continue;
            }
            Mode::None | Mode::Bridge => {}
        }
        let attach: Vec<&RawAttach> = if mode == Mode::None {
            Vec::new()
        } else {
            c.networks.iter().collect()
        };
        let mut endpoints = Vec::new();
        let mut ends = Vec::new();
        let mut ep_aliases = Vec::new();
        let mut ep_static = Vec::new();
        let mut ep_ids = Vec::new();
        let names: Vec<S<String>> = if attach.is_empty() && mode == Mode::Bridge {
            vec![at("bridge".to_string(), c.name.referenced)]
        } else {
            attach.iter().map(|a| a.name.clone()).collect()
        };
        for (i, net_name) in names.iter().enumerate() {
            let a = attach.get(i).copied();
            let loc = if net_name.referenced == Location::UNKNOWN {
                c.name.referenced
            } else {
                net_name.referenced
            };
            let Some(ni) = networks
                .iter()
                .position(|(n, _, _)| n.name == net_name.value)
            else {
                let hint = super::error::suggest(
                    &net_name.value,
                    networks.iter().map(|(n, _, _)| n.name.as_str()),
                );
                errs.at(
                    loc,
                    "networks",
                    format!("no network named '{}'{hint}", net_name.value),
                );
                continue;
            };
            let net = &networks[ni].0;
            let used: Vec<Ipv4Address> = containers
                .iter()
                .flat_map(|c| c.endpoints.iter())
                .chain(endpoints.iter())
                .filter(|e| e.network == ni)
                .map(|e| e.ip)
                .collect();
            let ip = match a.and_then(|a| a.ip.as_ref()) {
                Some(s) => match s.value.parse::<Ipv4Address>() {
                    Ok(ip) if net.subnet.contains_addr(&ip) => Some(ip),
                    Ok(ip) => {
                        errs.at(
                            s.referenced,
                            "ip",
                            format!("{ip} is not in {}'s subnet {}", net.name, net.subnet),
                        );
                        None
                    }
                    Err(_) => {
                        errs.at(
                            s.referenced,
                            "ip",
                            format!("'{}' is not an IPv4 address", s.value),
                        );
                        None
                    }
                },
                None => {
                    let ip = ipam::allocate_address(net.subnet, net.gateway, &used);
                    if ip.is_none() {
                        errs.at(loc, "networks", format!("{} has no free address", net.name));
                    }
                    ip
                }
            };
            let Some(ip) = ip else { continue };
            let mac = match a.and_then(|a| a.mac_address.as_ref()) {
                Some(m) => m.value.parse().unwrap_or_else(|_| {
                    errs.at(
                        m.referenced,
                        "mac_address",
                        format!("'{}' is not a MAC address", m.value),
                    );
                    EthernetAddress([2, 0, 0, 0, 0, 1])
                }),
                None => ipam::container_mac(daemon.engine, ip, &mut random),
            };
            let veth = a
                .and_then(|a| a.veth.as_ref())
                .map_or_else(|| ipam::veth_name(&mut random), |v| v.value.clone());
            endpoints.push(docker::Endpoint {
                network: ni,
                ip,
                mac,
            });
            ends.push((ni, veth, loc));
            let names: Vec<&S<String>> = a.map(|a| a.aliases.iter().collect()).unwrap_or_default();
            if networks[ni].0.name == "bridge"
                && let Some(first) = names.first()
            {
                errs.at(
                    first.referenced,
                    "aliases",
                    "network-scoped alias is supported only for containers in user defined networks",
                );
            }
            ep_aliases.push(names.iter().map(|n| n.value.clone()).collect());
            ep_static.push(a.and_then(|a| a.ip.as_ref()).is_some());
            ep_ids.push(
                a.and_then(|a| a.endpoint_id.as_ref())
                    .map(|e| e.value.clone()),
            );
        }
        let mut extra = Vec::new();
        for e in &c.extra_hosts {
            match dns::parse_extra_host(&e.value) {
                Ok(h) => extra.push(h),
                Err(msg) => errs.at(e.referenced, "extra_hosts", msg),
            }
        }
        let mut publish = Vec::new();
        for p in &c.publish {
            match parse_publish(&p.value) {
                Ok(pm) => {
                    // Docker refuses a host port already bound for that address and protocol.
                    let ip = pm.host_ip.unwrap_or(daemon.ip);
                    if pm.host_port != 0 && ports.request(ip, pm.proto, pm.host_port).is_none() {
                        errs.at(
                            p.referenced,
                            "publish",
                            format!(
                                "Bind for {ip}:{} failed: port is already allocated",
                                pm.host_port
                            ),
                        );
                        continue;
                    }
                    publish.push(pm)
                }
                Err(e) => errs.at(p.referenced, "publish", e),
            }
        }
        let id =
            c.id.as_ref()
                .map_or_else(|| ipam::random_id(&mut random), |i| i.value.clone());
        let mut host = container_host(c, &endpoints, &ends, &networks);
        // 28 and later announce a container's random MAC with 3 unsolicited ARPs (§1.11).
        if daemon.engine != Engine::V27 {
            host.announce = Some(at(3, c.name.referenced));
        }
        hosts.push(host);
        containers.push(Container {
            name: c.name.value.clone(),
            id,
            endpoints,
            publish,
        });
        veths.push(ends);
        aliases.push(ep_aliases);
        extra_hosts.push(extra);
        static_ips.push(ep_static);
        endpoint_ids.push(ep_ids);
        sandbox_ids.push(c.sandbox_id.as_ref().map(|v| v.value.clone()));
        raw_extra_hosts.push(c.extra_hosts.iter().map(|e| e.value.clone()).collect());
    }

    // The host: eth0, then each bridge as its interface (the bridge's own port).
    let mut ifaces = vec![(
        at("eth0".to_string(), d.host.eth0.referenced),
        RawIface {
            ip: Some(d.host.eth0.clone()),
            mac: d.host.mac.clone(),
            mtu: None,
        },
    )];
    for (net, loc, _) in &networks {
        let drawn = ipam::bridge_mac(daemon.engine, &mut random);
        let mac = d
            .networks
            .iter()
            .find(|n| n.name.value == net.name)
            .and_then(|n| n.mac.as_ref())
            .map_or(drawn.to_string(), |m| m.value.clone());
        ifaces.push((
            at(net.bridge.clone(), *loc),
            RawIface {
                ip: Some(at(
                    format!("{}/{}", net.gateway, net.subnet.prefix_len()),
                    *loc,
                )),
                mac: Some(at(mac, *loc)),
                mtu: Some(at(u32::from(net.mtu), *loc)),
            },
        ));
    }
    let nets: Vec<Network> = networks.iter().map(|(n, _, _)| n.clone()).collect();
    // The lab's nodes need unique names: a second Docker host's bridges are `HOST-docker0`.
    let bridge_node = |net: &Network| match index {
        0 => net.bridge.clone(),
        _ => format!("{host_name}-{}", net.bridge),
    };
    let rules = docker::iptables_commands(&daemon, &nets, &containers);
    let names = dns::names_for(&nets, &containers, &aliases, &extra_hosts);
    expanded.names = containers
        .iter()
        .map(|c| c.name.clone())
        .zip(names)
        .collect();
    let mut view = DockerHostView::new(
        daemon.clone(),
        nets.clone(),
        containers.clone(),
        &format!("{seed}/{host_name}"),
        created,
    );
    view.labels = networks.iter().map(|(_, _, l)| l.clone()).collect();
    view.shared = shared;
    view.shared_modes = shared_modes;
    view.aliases = aliases.clone();
    view.static_ips = static_ips;
    view.extra_hosts = raw_extra_hosts;
    view.hostname = host_name.clone();
    // Ids a lab gives (to rebuild a real host's listings) replace the drawn ones.
    for (c, ids) in endpoint_ids.iter().enumerate() {
        for (e, id) in ids.iter().enumerate() {
            if let (Some(id), Some(slot)) =
                (id, view.endpoint_ids.get_mut(c).and_then(|v| v.get_mut(e)))
            {
                *slot = id.clone();
            }
        }
    }
    for (c, id) in sandbox_ids.iter().enumerate() {
        if let (Some(id), Some(slot)) = (id, view.sandbox_ids.get_mut(c)) {
            *slot = id.clone();
        }
    }
    if let Some(id) = &d.host_network_id {
        view.host_network_id = id.value.clone();
    }
    if let Some(id) = &d.none_network_id {
        view.none_network_id = id.value.clone();
    }
    expanded.cli.push((host_name.clone(), view));
    if daemon.userland_proxy {
        // dockerd starts one docker-proxy per mapped host port and protocol (`proxy_linux.go`).
        for b in docker::port_bindings(&daemon, &nets, &containers) {
            if b.host_port == 0 {
                continue;
            }
            let argv = format!(
                "docker-proxy -proto {} -host-ip {} -host-port {} -container-ip {} -container-port {} -use-listen-fd",
                b.proto.as_str(),
                b.host_ip,
                b.host_port,
                b.ctr_ip,
                b.ctr_port
            );
            let argv = argv.split(' ').map(String::from).collect();
            expanded.daemons.push((host_name.clone(), argv));
        }
    }
    raw.routers.push(RawRouter {
        name: at(host_name.clone(), host_loc),
        interfaces: Ordered(ifaces),
        forwarding: Some(true),
        routes: d
            .host
            .gateway
            .iter()
            .map(|g| at(format!("default via {}", g.value), g.referenced))
            .collect(),
        iptables: rules
            .iter()
            .map(|argv| at(join_words(argv), host_loc))
            .collect(),
        iptables_version: d.iptables_version.clone(),
        sysctls: host_sysctls(&daemon, &networks, host_loc),
    });
    for (ni, (net, loc, _)) in networks.iter().enumerate() {
        let ports: Vec<S<String>> = veths
            .iter()
            .flatten()
            .filter(|(n, _, _)| *n == ni)
            .map(|(_, v, l)| at(v.clone(), *l))
            .collect();
        raw.bridges.push(RawBridge {
            name: at(bridge_node(net), *loc),
            device: Some(at(net.bridge.clone(), *loc)),
            mac: None,
            ageing: None,
            fdb_max: None,
            // Without the proxy a container reaches its own published port through DNAT
            // and back out of its own port: Docker turns hairpin on (`setHairpinMode`).
            hairpin: match daemon.userland_proxy {
                true => Vec::new(),
                false => ports.clone(),
            },
            ports,
            host: Some(at(host_name.clone(), *loc)),
        });
    }
    raw.hosts.extend(hosts);
    for (c, ends) in containers.iter().zip(&veths) {
        for (i, (ni, veth, loc)) in ends.iter().enumerate() {
            raw.links.push(RawLink {
                a: Some(at(format!("{}:eth{i}", c.name), *loc)),
                b: Some(at(
                    format!("{}:{veth}", bridge_node(&networks[*ni].0)),
                    *loc,
                )),
                ..RawLink::default()
            });
        }
    }
    expanded
}

/// The sysctls dockerd sets on the host.
fn host_sysctls(
    daemon: &Daemon,
    networks: &[(Network, Location, Labels)],
    loc: Location,
) -> Vec<S<String>> {
    let mut out = Vec::new();
    // br_netfilter, only when a network turns ICC off or the proxy is off
    // (`enableBrNfCallIptables := !EnableICC || !EnableUserlandProxy`, §1.10).
    if !daemon.userland_proxy || networks.iter().any(|(n, _, _)| !n.enable_icc) {
        out.push(at("net.bridge.bridge-nf-call-iptables=1".to_string(), loc));
    }
    // Without the proxy, Docker routes 127.0.0.1 to its bridges so that the host's own
    // connections to published ports can be DNATed (`setupLoopbackAddressesRouting`).
    if !daemon.userland_proxy {
        for (n, loc, _) in networks {
            out.push(at(
                format!("net.ipv4.conf.{}.route_localnet=1", n.bridge),
                *loc,
            ));
        }
    }
    out
}

/// A container as a host: `eth0`, `eth1`, ... in attachment order, the gateway of its first
/// non-internal network as its default route.
fn container_host(
    c: &RawContainer,
    endpoints: &[docker::Endpoint],
    ends: &[(usize, String, Location)],
    networks: &[(Network, Location, Labels)],
) -> RawHost {
    let mut ifaces = Vec::new();
    let mut gateway = None;
    for (i, (ep, (_, _, loc))) in endpoints.iter().zip(ends).enumerate() {
        let net = &networks[ep.network].0;
        ifaces.push((
            at(format!("eth{i}"), *loc),
            RawIface {
                ip: Some(at(format!("{}/{}", ep.ip, net.subnet.prefix_len()), *loc)),
                mac: Some(at(ep.mac.to_string(), *loc)),
                mtu: Some(at(u32::from(net.mtu), *loc)),
            },
        ));
        if gateway.is_none() && !net.internal {
            gateway = Some(at(net.gateway.to_string(), *loc));
        }
    }
    RawHost {
        name: c.name.clone(),
        interfaces: Ordered(ifaces),
        gateway,
        announce: None,
    }
}

fn read_daemon(d: &RawDocker, errs: &mut Errors<'_>) -> Daemon {
    let mut daemon = Daemon::default();
    if let Some(e) = &d.engine {
        daemon.engine = match e.value {
            27 => Engine::V27,
            28 => Engine::V28,
            29 => Engine::V29,
            other => {
                errs.at(
                    e.referenced,
                    "engine",
                    format!("engine {other} is not 27, 28 or 29"),
                );
                Engine::V29
            }
        };
    }
    if let Some(f) = &d.forward_policy {
        daemon.forward_policy = match f.value.to_ascii_lowercase().as_str() {
            "drop" => ForwardPolicy::Drop,
            "accept" => ForwardPolicy::Accept,
            _ => {
                errs.at(
                    f.referenced,
                    "forward_policy",
                    format!("'{}' is not drop or accept", f.value),
                );
                ForwardPolicy::Drop
            }
        };
    }
    daemon.iptables = d.iptables.unwrap_or(true);
    daemon.userland_proxy = d.userland_proxy.unwrap_or(true);
    if let Some(ip) = &d.ip {
        daemon.ip = parse_ip(ip, "ip", errs).unwrap_or(Ipv4Address::UNSPECIFIED);
    }
    daemon
}

fn apply_network_options(net: &mut Network, n: &RawNetwork, errs: &mut Errors<'_>) {
    if let Some(g) = &n.gateway
        && let Some(ip) = parse_ip(g, "gateway", errs)
    {
        if net.subnet.contains_addr(&ip) {
            net.gateway = ip;
        } else {
            errs.at(
                g.referenced,
                "gateway",
                format!("{ip} is not in the subnet {}", net.subnet),
            );
        }
    }
    if let Some(b) = &n.bridge {
        net.bridge = b.value.clone();
    }
    net.internal = n.internal.unwrap_or(false);
    net.enable_icc = n.enable_icc.unwrap_or(true);
    net.enable_ip_masquerade = n.enable_ip_masquerade.unwrap_or(true);
    if let Some(h) = &n.host_binding_ipv4 {
        net.host_binding_ipv4 = parse_ip(h, "host_binding_ipv4", errs);
    }
    if let Some(m) = &n.gateway_mode_ipv4 {
        net.gateway_mode_ipv4 = match m.value.as_str() {
            "nat" => GatewayMode::Nat,
            "nat-unprotected" => GatewayMode::NatUnprotected,
            "routed" => GatewayMode::Routed,
            other => {
                errs.at(
                    m.referenced,
                    "gateway_mode_ipv4",
                    format!("'{other}' is not nat, nat-unprotected or routed"),
                );
                GatewayMode::Nat
            }
        };
    }
    if let Some(m) = &n.mtu {
        match u16::try_from(m.value) {
            Ok(v) if v >= 68 => net.mtu = v,
            _ => errs.at(
                m.referenced,
                "mtu",
                format!("MTU {} is out of range", m.value),
            ),
        }
    }
}

fn read_mode(c: &RawContainer, errs: &mut Errors<'_>) -> Mode {
    let Some(m) = &c.network_mode else {
        return Mode::Bridge;
    };
    let mode = match m.value.as_str() {
        "bridge" | "default" => Mode::Bridge,
        "host" => Mode::Host,
        "none" => Mode::None,
        other => match other.strip_prefix("container:") {
            Some(name) if !name.is_empty() => Mode::Container(name.to_string()),
            _ => {
                errs.at(
                    m.referenced,
                    "network_mode",
                    format!("'{other}' is not bridge, host, none or container:NAME"),
                );
                Mode::Bridge
            }
        },
    };
    if !matches!(mode, Mode::Bridge) && !c.networks.is_empty() {
        errs.at(
            m.referenced,
            "network_mode",
            format!(
                "a container with network_mode {} joins no networks",
                m.value
            ),
        );
    }
    mode
}

/// `[IP:]HOST:CTR[/tcp|udp]` or `CTR[/tcp|udp]`, as `docker run -p` reads it.
pub fn parse_publish(text: &str) -> Result<PortMap, String> {
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, "tcp")) => (s, Proto::Tcp),
        Some((s, "udp")) => (s, Proto::Udp),
        Some((_, p)) => return Err(format!("invalid proto: {p}")),
        None => (text, Proto::Tcp),
    };
    let port = |p: &str| -> Result<u16, String> {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid containerPort: {p}"))
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, host_port, ctr) = match parts.as_slice() {
        [ctr] => (None, 0, *ctr),
        [host, ctr] => (None, host_port(host)?, *ctr),
        [ip, host, ctr] => {
            let ip = ip
                .parse::<Ipv4Address>()
                .map_err(|_| format!("invalid IP address: {ip}"))?;
            (Some(ip), host_port(host)?, *ctr)
        }
        _ => return Err(format!("invalid port mapping: {text}")),
    };
    Ok(PortMap {
        host_ip,
        host_port,
        ctr_port: port(ctr)?,
        proto,
    })
}

fn host_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Ok(0);
    }
    p.parse::<u16>()
        .map_err(|_| format!("invalid hostPort: {p}"))
}

fn parse_ip(s: &S<String>, field: &str, errs: &mut Errors<'_>) -> Option<Ipv4Address> {
    let ip = s.value.parse::<Ipv4Address>().ok();
    if ip.is_none() {
        errs.at(
            s.referenced,
            field,
            format!("'{}' is not an IPv4 address", s.value),
        );
    }
    ip
}

fn parse_cidr(s: &S<String>, field: &str, errs: &mut Errors<'_>) -> Option<Ipv4Cidr> {
    let parsed = s.value.parse::<Ipv4Cidr>().ok();
    if parsed.is_none() {
        errs.at(
            s.referenced,
            field,
            format!(
                "'{}' is not an address with a prefix, such as 172.18.0.0/16",
                s.value
            ),
        );
    }
    parsed
}

/// A command line as text that `split_words` reads back into the same words.
fn join_words(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "\"'\\".contains(c)) {
                format!("'{}'", w.replace('\'', "'\\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.ctr_port, p.proto),
            (None, 8080, 80, Proto::Tcp)
        );
        let p = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.ctr_port, p.proto),
            (Some(Ipv4Address::new(127, 0, 0, 1)), 8080, 80, Proto::Udp)
        );
        assert_eq!(parse_publish("80").unwrap().host_port, 0);
        assert_eq!(parse_publish("127.0.0.1::80").unwrap().host_port, 0);
        assert!(parse_publish("80/sctp").is_err());
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("8080:0").is_err());
    }

    #[test]
    fn words_round_trip() {
        let argv: Vec<String> = ["iptables", "-m", "comment", "--comment", "a b", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = join_words(&argv);
        assert_eq!(crate::report::iproute::split_words(&text).unwrap(), argv);
    }
}
