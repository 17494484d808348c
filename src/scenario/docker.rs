//! The `docker:` section of a lab: a Docker host described as a user knows it (networks,
//! containers, `-p`), read into `crate::docker`'s model, and expanded into the generic lab
//! pieces Docker would build: the host as a router (`eth0` plus one interface per bridge),
//! a bridge per network whose own port is that interface, a host per container with an
//! interface per network, a veth link per attachment, and Docker's iptables rules.
//!
//! Everything generated carries the location of the Docker field it came from, so the
//! generic checks that follow still point into the lab file.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use smoltcp::wire::{EthernetAddress, IpAddress, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};

use super::docker_cmd;
use super::error::Errors;
use super::model::{Endpoint as Point, PlannedStep};
use super::raw::{Ordered, RawBridge, RawHost, RawIface, RawLab, RawLink, RawRouter, S};
use crate::docker::cli::{DockerHostView, SharedContainer, Timestamp, derive_id};
use crate::docker::dns;
use crate::docker::plan::life::{self, HostPlan, Labels, ViewBase};
use crate::docker::{
    self, Daemon, Engine, FirewallBackend, ForwardPolicy, GatewayMode, Network, Subnet6, ipam,
};
use crate::host::resolve::Names;

/// When the lab's Docker daemon created its networks and containers: the virtual clock's
/// origin as `docker` prints times.
const CREATED: &str = "2026-01-01T00:00:00Z";
use crate::rand::Rng;

/// A Docker host: the daemon's options, its networks and its containers. It is expanded into
/// a router (the host), a bridge per network, a host per container, veth links and Docker's
/// iptables rules.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Docker")]
pub struct RawDocker {
    pub host: RawDockerHost,
    /// 29 (default), 28 or 27.
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::Engine>")]
    pub engine: Option<S<u32>>,
    /// The FORWARD chain's policy: `drop` (default, as when dockerd turns forwarding on
    /// itself) or `accept` (as in Docker's CI listings).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub forward_policy: Option<S<String>>,
    /// `false`: Docker installs no rule (default true).
    #[serde(default)]
    pub iptables: Option<bool>,
    /// `false`: Docker writes no ip6tables rule (default true, as since Docker 27).
    #[serde(default)]
    pub ip6tables: Option<bool>,
    /// daemon.json's `firewall-backend`: `iptables` (default) or, with engine 29,
    /// `nftables`: Docker's `ip`/`ip6 docker-bridges` tables and no iptables rule.
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::FirewallBackend>")]
    pub firewall_backend: Option<S<String>>,
    /// A `docker-proxy` per published port (default true); `false`: none, and the hairpin
    /// NAT rules instead; `{rules: true, process: false}`: the proxy's rules with no proxy
    /// running (one that died, or a missing `docker-proxy`).
    #[serde(default)]
    pub userland_proxy: Option<RawUserlandProxy>,
    /// The default address published ports bind to (`dockerd --ip`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ip: Option<S<String>>,
    /// Which iptables the host's listings imitate: `1.8.10` (default) or `1.8.9`.
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::IptablesVersion>")]
    pub iptables_version: Option<S<String>>,
    /// Which nft the host's `nft list` output imitates: `1.0.6` (default) or `1.1`.
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::NftVersion>")]
    pub nft_version: Option<S<String>>,
    /// When the daemon created its networks and containers, as `docker` prints times
    /// (RFC 3339; default 2026-01-01T00:00:00Z). Virtual time runs from there.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub created: Option<S<String>>,
    /// The predefined `host` network's id (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host_network_id: Option<S<String>>,
    /// The predefined `none` network's id (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub none_network_id: Option<S<String>>,
    /// Networks: `bridge` configures the default network; the others are user-defined
    /// bridge networks.
    #[serde(default)]
    pub networks: Vec<RawNetwork>,
    /// Containers, made and started as `docker run` does, in order.
    #[serde(default)]
    pub containers: Vec<RawContainer>,
}

/// The Docker host itself.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DockerHost")]
pub struct RawDockerHost {
    /// The host's node name (default `dockerhost`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<S<String>>,
    /// The host's LAN address, e.g. 192.0.2.10/24.
    #[schemars(with = "String")]
    pub eth0: S<String>,
    /// eth0's MAC (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<S<String>>,
    /// The host's default route's next hop, on eth0's subnet.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<S<String>>,
    /// eth0's global IPv6 address, e.g. 2001:db8::10/64 (default: none, link-local only
    /// when a network has IPv6).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ipv6: Option<S<String>>,
    /// The host's IPv6 default route's next hop.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway6: Option<S<String>>,
}

/// A Docker network (`docker network create`), or the default `bridge` network's settings.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DockerNetwork")]
pub struct RawNetwork {
    /// The network's name; `bridge` is the default network.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The network's id (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id: Option<S<String>>,
    /// The subnet, e.g. 172.18.0.0/16 (default: the next free pool, 172.18.0.0/16 and up;
    /// 172.17.0.0/16 for `bridge`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub subnet: Option<S<String>>,
    /// The gateway address, in the subnet (default: its first address).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<S<String>>,
    /// `--internal`: no way out of the network (default false).
    #[serde(default)]
    pub internal: Option<bool>,
    /// `com.docker.network.bridge.enable_icc`: containers may talk to each other (default
    /// true).
    #[serde(default)]
    pub enable_icc: Option<bool>,
    /// `com.docker.network.bridge.enable_ip_masquerade` (default true).
    #[serde(default)]
    pub enable_ip_masquerade: Option<bool>,
    /// `com.docker.network.bridge.host_binding_ipv4`: the default address ports published
    /// on this network bind to.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host_binding_ipv4: Option<S<String>>,
    /// `nat` (default), `nat-unprotected` or `routed`.
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::GatewayMode>")]
    pub gateway_mode_ipv4: Option<S<String>>,
    /// `--ipv6`: the network has IPv6 too (default false; a `subnet6` turns it on).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub enable_ipv6: Option<S<bool>>,
    /// The IPv6 subnet, e.g. 2001:db8:1::/64 (default: the next /64 of a ULA /48
    /// fdXX:XXXX:XXXX::/48 drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub subnet6: Option<S<String>>,
    /// The IPv6 gateway, in `subnet6` (default: its first address, ::1).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway6: Option<S<String>>,
    /// `com.docker.network.bridge.gateway_mode_ipv6`: `nat` (default, NAT66 as for IPv4),
    /// `nat-unprotected` or `routed` (the containers' own addresses, routed to the host).
    #[serde(default)]
    #[schemars(with = "Option<super::schema::forms::GatewayMode>")]
    pub gateway_mode_ipv6: Option<S<String>>,
    /// `com.docker.network.driver.mtu` (default 1500).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// The Linux bridge's name (`com.docker.network.bridge.name`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bridge: Option<S<String>>,
    /// The bridge's MAC (default: drawn as the engine does).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<S<String>>,
    /// The network's labels, as `docker network inspect` shows them.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A container, made and started as `docker run -d` does.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Container")]
pub struct RawContainer {
    /// The container's name; steps run on it with `on: NAME`.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// The container's id, 64 hex digits (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id: Option<S<String>>,
    /// The networks it joins, in order (default: the default bridge).
    #[serde(default)]
    pub networks: Vec<RawAttach>,
    /// `bridge` (default), `host` (its commands run on the host's own stack), `none` (no
    /// interface) or `container:NAME` (NAME's stack).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub network_mode: Option<S<String>>,
    /// `-p`: `[IP:]HOST:CTR[/tcp|udp]` or `CTR[/tcp|udp]`.
    #[serde(default)]
    #[schemars(with = "Vec<super::schema::forms::Publish>")]
    pub publish: Vec<S<String>>,
    /// `--add-host`: `NAME:IP`, or `NAME:host-gateway` for the default bridge's gateway.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub extra_hosts: Vec<S<String>>,
    /// The container's network sandbox id (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub sandbox_id: Option<S<String>>,
    /// The container's own command (e.g. `http-server 80`): it runs while the container
    /// runs, from the lab's start and again after `docker start`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub run: Option<S<String>>,
    /// The image `docker ps` shows (default busybox).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub image: Option<S<String>>,
}

/// A network a container joins: `mynet` or `{name: mynet, ip: ..., mac_address: ...,
/// aliases: [...], veth: ...}`.
#[derive(Debug)]
pub struct RawAttach {
    pub name: S<String>,
    pub ip: Option<S<String>>,
    pub ip6: Option<S<String>>,
    pub mac_address: Option<S<String>>,
    pub aliases: Vec<S<String>>,
    /// The host-side veth's name (default: `veth` + 7 random hex digits).
    pub veth: Option<S<String>>,
    /// The endpoint's id (default: drawn from the seed).
    pub endpoint_id: Option<S<String>>,
}

/// A network a container joins, with the endpoint's settings (`docker network connect`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ContainerNetworkSettings")]
struct RawAttachMap {
    /// The network's name.
    #[schemars(with = "String")]
    name: S<String>,
    /// `--ip`: the container's address on the network (default: the lowest free one).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    ip: Option<S<String>>,
    /// `--ip6`: the container's IPv6 address on a network with IPv6 (default: the lowest
    /// free one).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    ip6: Option<S<String>>,
    /// `--mac-address` (default: as the engine draws it).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    mac_address: Option<S<String>>,
    /// `--network-alias`: more names the container has on this network.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    aliases: Vec<S<String>>,
    /// The host-side veth's name (default: `veth` + 7 random hex digits).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    veth: Option<S<String>>,
    /// The endpoint's id (default: drawn from the seed).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    endpoint_id: Option<S<String>>,
}

impl schemars::JsonSchema for RawAttach {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContainerNetwork".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The forms `RawAttach::deserialize` accepts, as an enum for the derive to describe.
        /// A network a container joins: its name (`mynet`), or a map with the endpoint's
        /// settings (`{name: mynet, ip: 172.18.0.5, aliases: [www]}`).
        #[derive(schemars::JsonSchema)]
        #[schemars(untagged)]
        #[allow(
            dead_code,
            clippy::large_enum_variant,
            reason = "only its schema is used: no value is made"
        )]
        enum Forms {
            Name(String),
            Settings(RawAttachMap),
        }
        Forms::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for RawAttach {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAttach;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a network name, or a map with name, ip, ip6, mac_address, aliases")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAttach, E> {
                Ok(RawAttach {
                    name: Spanned::new(v.to_string(), Location::UNKNOWN, Location::UNKNOWN),
                    ip: None,
                    ip6: None,
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
                    ip6: m.ip6,
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
    /// Programs that run from the start: a docker-proxy per published port, each
    /// container's own command. (key, node, argv).
    pub daemons: Vec<(String, String, Vec<String>)>,
    /// The steps that change a Docker host, by step index.
    pub changes: BTreeMap<usize, PlannedStep>,
    /// Interfaces made later: veths of containers started by steps.
    pub absent: Vec<Point>,
    /// Containers made by steps, and the error a step on them gets until then.
    pub refused: BTreeMap<String, String>,
    /// Each container's names (`/etc/hosts`, the embedded DNS), by container.
    pub names: Vec<(String, Names)>,
    /// Each host and what its `docker` CLI reports.
    pub cli: Vec<(String, DockerHostView)>,
}

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
        all.changes.extend(e.changes);
        all.absent.extend(e.absent);
        all.refused.extend(e.refused);
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
    let mut random = || rng.next_u64();
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
    let mut ula = Rng::stream(seed, &format!("{label}/ula"));
    let networks = read_networks(&d, host_loc, &mut random, &mut || ula.next_u64(), errs);
    // Containers: each made and started as `docker run` does, in file order.
    let created = read_created(&d, errs);
    let mut rules = docker::RuleBook::new(&daemon);
    for (net, _, _) in &networks {
        rules.network(net);
    }
    let mut plan = HostPlan {
        host: host_name.clone(),
        index,
        label: format!("{seed}/{host_name}"),
        daemon: daemon.clone(),
        networks,
        ctrs: Vec::new(),
        shared: Vec::new(),
        shared_modes: Vec::new(),
        ports: docker::PortAllocator::new(),
        rules,
        rng,
        veths: Vec::new(),
        created,
        step: None,
        nft: Vec::new(),
        view_base: ViewBase {
            hostname: host_name.clone(),
            host_network_id: d.host_network_id.as_ref().map(|i| i.value.clone()),
            none_network_id: d.none_network_id.as_ref().map(|i| i.value.clone()),
        },
    };
    let mut expanded = Expanded::default();
    for c in &d.containers {
        add_container(&mut plan, &mut expanded, c, seed, errs);
    }

    // What runs from the lab's start, before any step changes it.
    let initial_rules = plan.rules.take_commands();
    plan.nft = plan.nft_tables();
    let initial_nft = (daemon.firewall_backend == FirewallBackend::Nftables)
        .then(|| docker::nftables::nft_update(&[], &plan.nft));
    expanded.daemons = life::initial_programs(&plan);
    expanded.names = plan.names();
    let (view, _) = plan.view();
    expanded.cli.push((host_name.clone(), view));
    let initial: Vec<Vec<life::Live>> = plan.ctrs.iter().map(|c| c.live.clone()).collect();
    let initial_gateways: Vec<Gateways> = (0..plan.ctrs.len())
        .map(|ci| (initial_gateway(&plan, ci), plan.gateway6_of(ci)))
        .collect();

    // The host: eth0, then each bridge as its interface (the bridge's own port).
    let ifaces = host_ifaces(&mut plan, &d);

    // Steps that change the host, planned in order.
    let first_new = plan.ctrs.len();
    expanded.changes = docker_cmd::plan_steps(&mut plan, &raw.steps, errs);

    raw.routers.push(RawRouter {
        name: at(host_name.clone(), host_loc),
        interfaces: Ordered(ifaces),
        forwarding: Some(true),
        routes: d
            .host
            .gateway
            .iter()
            .chain(&d.host.gateway6)
            .map(|g| at(format!("default via {}", g.value), g.referenced))
            .collect(),
        iptables: initial_rules
            .iter()
            .map(|argv| at(join_words(argv), host_loc))
            .collect(),
        iptables_version: d.iptables_version.clone(),
        nft_version: d.nft_version.clone(),
        nftables: initial_nft.map(|script| at(script, host_loc)),
        sysctls: host_sysctls(&daemon, &plan.networks, host_loc),
    });
    add_bridges(&plan, raw, &mut expanded);
    add_containers(
        &plan,
        raw,
        &mut expanded,
        &initial,
        &initial_gateways,
        first_new,
    );
    expanded
}

/// The host's networks: the default bridge first (a `bridge` entry configures it), then the
/// rest in file order, each taking the next free pool subnet unless it names one.
fn read_networks(
    d: &RawDocker,
    host_loc: Location,
    random: &mut impl FnMut() -> u64,
    ula: &mut impl FnMut() -> u64,
    errs: &mut Errors<'_>,
) -> Vec<(Network, Location, Labels)> {
    let mut pool6 = None;
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
            .map_or_else(|| ipam::random_id(random), |i| i.value.clone());
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
            net.ipv6 = read_subnet6(n, &networks, &mut pool6, ula, errs);
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

    networks
}

/// A network's IPv6 side, when it has one: its subnet (given, or the next /64 of the
/// host's ULA pool) and gateway.
fn read_subnet6(
    n: &RawNetwork,
    others: &[(Network, Location, Labels)],
    pool: &mut Option<Ipv6Cidr>,
    ula: &mut impl FnMut() -> u64,
    errs: &mut Errors<'_>,
) -> Option<Subnet6> {
    let enabled = n.enable_ipv6.as_ref().map(|e| e.value);
    if enabled == Some(false) || (enabled.is_none() && n.subnet6.is_none()) {
        if let (Some(false), Some(s)) = (enabled, &n.subnet6) {
            errs.at(
                s.referenced,
                "subnet6",
                "an IPv6 subnet needs IPv6 on the network (enable_ipv6 is false)",
            );
        }
        return None;
    }
    let in_use: Vec<Ipv6Cidr> = others
        .iter()
        .filter_map(|(o, _, _)| o.ipv6)
        .map(|v| v.subnet)
        .collect();
    let subnet = match &n.subnet6 {
        Some(s) => {
            let c = s.value.parse::<Ipv6Cidr>().map_err(|_| {
                errs.at(
                    s.referenced,
                    "subnet6",
                    format!("'{}' is not an IPv6 prefix (ADDRESS/LEN)", s.value),
                );
            });
            let c = ipam::network6(c.ok()?);
            if let Some((o, _, _)) = others
                .iter()
                .find(|(o, _, _)| o.ipv6.is_some_and(|v| ipam::overlaps6(v.subnet, c)))
            {
                errs.at(
                    s.referenced,
                    "subnet6",
                    format!(
                        "Pool overlaps with other one on this address space ({} has {})",
                        o.name,
                        o.ipv6.map_or(String::new(), |v| v.subnet.to_string())
                    ),
                );
                return None;
            }
            c
        }
        None => {
            let pool = *pool.get_or_insert_with(|| ipam::ula_pool(ula));
            ipam::allocate_subnet6(pool, &in_use)?
        }
    };
    let first = Ipv6Address::from_bits(subnet.address().to_bits() + 1);
    let gateway = match &n.gateway6 {
        Some(g) => match g.value.parse::<Ipv6Address>() {
            Ok(ip) if subnet.contains_addr(&ip) => ip,
            Ok(ip) => {
                errs.at(
                    g.referenced,
                    "gateway6",
                    format!("{ip} is not in the subnet {subnet}"),
                );
                first
            }
            Err(_) => {
                errs.at(
                    g.referenced,
                    "gateway6",
                    format!("'{}' is not an IPv6 address", g.value),
                );
                first
            }
        },
        None => first,
    };
    Some(Subnet6 { subnet, gateway })
}

/// The containers' creation time (`created:`, else a fixed one, so runs are reproducible).
fn read_created(d: &RawDocker, errs: &mut Errors<'_>) -> Timestamp {
    let default_created = Timestamp::parse(CREATED).unwrap_or(Timestamp::utc(1_767_225_600, 0));
    match &d.created {
        Some(c) => Timestamp::parse(&c.value).unwrap_or_else(|| {
            errs.at(
                c.referenced,
                "created",
                format!("'{}' is not an RFC 3339 time", c.value),
            );
            default_created
        }),
        None => default_created,
    }
}

/// A container of the `containers:` section, made and started as `docker run` does; one
/// sharing another's stack (`network_mode: host|container:X`) is only recorded.
fn add_container(
    plan: &mut HostPlan,
    expanded: &mut Expanded,
    c: &RawContainer,
    seed: u64,
    errs: &mut Errors<'_>,
) {
    let host_name = plan.host.clone();
    let created = plan.created;
    if plan.ctrs.iter().any(|x| x.name == c.name.value)
        || plan.shared.iter().any(|x| x.name == c.name.value)
    {
        errs.at(
            c.name.referenced,
            "name",
            format!(
                "Conflict. The container name \"/{}\" is already in use",
                c.name.value
            ),
        );
        return;
    }
    let mode = read_mode(c, errs);
    if let Mode::Host | Mode::Container(_) = &mode {
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
        plan.shared_modes.push(match &mode {
            Mode::Container(other) => format!("container:{other}"),
            _ => "host".to_string(),
        });
        plan.shared.push(SharedContainer {
            endpoint_id: derive_id(&format!("{seed}/{host_name}/endpoint/{id}/host")),
            name: c.name.value.clone(),
            id,
            host_network: mode == Mode::Host,
            created,
        });
        return;
    }
    let ctr = read_container(plan, c, &mode, errs);
    plan.ctrs.push(ctr);
    let ci = plan.ctrs.len() - 1;
    if let Err(e) = plan.start(ci, &mut Vec::new()) {
        errs.at(c.name.referenced, "networks", e);
    }
}

/// The host's interfaces: eth0, then each bridge as its interface (the bridge's own port).
fn host_ifaces(plan: &mut HostPlan, d: &RawDocker) -> Vec<(S<String>, RawIface)> {
    let engine = plan.daemon.engine;
    let mut ifaces = vec![(
        at("eth0".to_string(), d.host.eth0.referenced),
        RawIface {
            ip: Some(d.host.eth0.clone()),
            ipv6: d.host.ipv6.clone(),
            mac: d.host.mac.clone(),
            mtu: None,
            link: None,
            vlan: None,
        },
    )];
    for (net, loc, _) in &plan.networks {
        let drawn = ipam::bridge_mac(engine, &mut || plan.rng.next_u64());
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
                ipv6: net
                    .ipv6
                    .map(|v| at(format!("{}/{}", v.gateway, v.subnet.prefix_len()), *loc)),
                mac: Some(at(mac, *loc)),
                mtu: Some(at(u32::from(net.mtu), *loc)),
                link: None,
                vlan: None,
            },
        ));
    }

    ifaces
}

/// A bridge per network, its ports the veths of the containers on it.
fn add_bridges(plan: &HostPlan, raw: &mut RawLab, expanded: &mut Expanded) {
    let (daemon, host_name) = (&plan.daemon, &plan.host);
    for (ni, (net, loc, _)) in plan.networks.iter().enumerate() {
        let node = plan.bridge_node(ni);
        let veths: Vec<&life::Veth> = plan.veths.iter().filter(|v| v.net == ni).collect();
        let ports: Vec<S<String>> = veths.iter().map(|v| at(v.name.clone(), v.loc)).collect();
        for v in veths.iter().filter(|v| !v.at_start) {
            expanded.absent.push(Point {
                node: node.clone(),
                iface: v.name.clone(),
            });
        }
        raw.bridges.push(RawBridge {
            name: at(node, *loc),
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
            vlan_filtering: None,
            vlans: None,
            // Docker's bridges run no spanning tree, as `docker network create` makes them.
            stp: None,
        });
    }
}

/// A host per container, linked to its networks' bridges as it is at the lab's start; one
/// that only a step creates is refused until then.
fn add_containers(
    plan: &HostPlan,
    raw: &mut RawLab,
    expanded: &mut Expanded,
    initial: &[Vec<life::Live>],
    initial_gateways: &[Gateways],
    first_new: usize,
) {
    for (ci, c) in plan.ctrs.iter().enumerate() {
        let none = Vec::new();
        let live = initial.get(ci).unwrap_or(&none);
        let gateway = initial_gateways.get(ci).copied().unwrap_or_default();
        let (host, absent) = container_host(plan, c, live, gateway);
        expanded.absent.extend(absent);
        raw.hosts.push(host);
        for l in live {
            raw.links.push(RawLink {
                a: Some(at(format!("{}:eth{}", c.name, l.slot), c.loc)),
                b: Some(at(
                    format!("{}:{}", plan.bridge_node(l.ep.network), l.veth),
                    c.loc,
                )),
                ..RawLink::default()
            });
        }
        if ci >= first_new {
            expanded.refused.insert(
                c.name.clone(),
                format!("Error response from daemon: No such container: {}", c.name),
            );
        }
    }
}

/// A container's default routes, IPv4's and IPv6's.
type Gateways = (Option<Ipv4Address>, Option<Ipv6Address>);

/// A container's default route at the lab's start.
fn initial_gateway(plan: &HostPlan, ci: usize) -> Option<Ipv4Address> {
    let c = &plan.ctrs[ci];
    c.live.iter().find_map(|l| {
        let net = &plan.networks[l.ep.network].0;
        (!net.internal).then_some(net.gateway)
    })
}

/// A container as a host: `eth0`, `eth1`, ... as many as it will ever have, those of its
/// endpoints at the start configured, the others absent until a step makes them. Also
/// returns the absent ones.
fn container_host(
    plan: &HostPlan,
    c: &life::Ctr,
    live: &[life::Live],
    (gateway, gateway6): Gateways,
) -> (RawHost, Vec<Point>) {
    let mut ifaces = Vec::new();
    let mut absent = Vec::new();
    for slot in 0..c.slots {
        let name = format!("eth{slot}");
        let iface = match live.iter().find(|l| l.slot == slot) {
            Some(l) => {
                let net = &plan.networks[l.ep.network].0;
                RawIface {
                    ip: Some(at(
                        format!("{}/{}", l.ep.ip, net.subnet.prefix_len()),
                        c.loc,
                    )),
                    ipv6: net
                        .ipv6
                        .zip(l.ep.ip6)
                        .map(|(v, ip6)| at(format!("{ip6}/{}", v.subnet.prefix_len()), c.loc)),
                    mac: Some(at(l.ep.mac.to_string(), c.loc)),
                    mtu: Some(at(u32::from(net.mtu), c.loc)),
                    link: None,
                    vlan: None,
                }
            }
            None => {
                absent.push(Point {
                    node: c.name.clone(),
                    iface: name.clone(),
                });
                // A stand-in until the step that makes it gives its MAC.
                let id = derive_id(&format!("{}/absent/{}/{slot}", plan.label, c.name));
                let b = u64::from_str_radix(&id[..12], 16)
                    .unwrap_or(0)
                    .to_be_bytes();
                let mac = EthernetAddress([0x02, b[3], b[4], b[5], b[6], b[7]]);
                RawIface {
                    ip: None,
                    ipv6: None,
                    mac: Some(at(mac.to_string(), c.loc)),
                    mtu: None,
                    link: None,
                    vlan: None,
                }
            }
        };
        ifaces.push((at(name, c.loc), iface));
    }
    let announce = (plan.daemon.engine != Engine::V27 && !live.is_empty()).then(|| at(3, c.loc));
    let host = RawHost {
        name: at(c.name.clone(), c.loc),
        interfaces: Ordered(ifaces),
        gateway: gateway.map(|g| at(g.to_string(), c.loc)),
        gateway6: gateway6.map(|g| at(g.to_string(), c.loc)),
        announce,
        routes: Vec::new(),
    };
    (host, absent)
}

/// A container of the `containers:` list, read into the plan's terms (its networks, ports,
/// names, command); errors located in the file.
fn read_container(
    plan: &HostPlan,
    c: &RawContainer,
    mode: &Mode,
    errs: &mut Errors<'_>,
) -> life::Ctr {
    let mut ctr = life::Ctr::new(c.name.value.clone(), c.name.referenced);
    ctr.id = c.id.as_ref().map(|i| i.value.clone());
    ctr.sandbox_id = c.sandbox_id.as_ref().map(|v| v.value.clone());
    let attach: Vec<&RawAttach> = if *mode == Mode::None {
        Vec::new()
    } else {
        c.networks.iter().collect()
    };
    let names: Vec<S<String>> = if attach.is_empty() && *mode == Mode::Bridge {
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
        let Some(ni) = plan.network_index(&net_name.value) else {
            let hint = super::error::suggest(
                &net_name.value,
                plan.networks.iter().map(|(n, _, _)| n.name.as_str()),
            );
            errs.at(
                loc,
                "networks",
                format!("no network named '{}'{hint}", net_name.value),
            );
            continue;
        };
        let net = &plan.networks[ni].0;
        let subnet = (net.subnet.to_string(), |ip: &Ipv4Address| {
            net.subnet.contains_addr(ip)
        });
        let Ok(ip) = endpoint_address(a.and_then(|a| a.ip.as_ref()), "ip", net, Some(subnet), errs)
        else {
            continue;
        };
        let subnet6 = net.ipv6.map(|v6| {
            let fits = move |ip: &Ipv6Address| v6.subnet.contains_addr(ip);
            (v6.subnet.to_string(), fits)
        });
        let asked6 = a.and_then(|a| a.ip6.as_ref());
        let Ok(ip6) = endpoint_address(asked6, "ip6", net, subnet6, errs) else {
            continue;
        };
        let mac = a.and_then(|a| a.mac_address.as_ref()).map(|m| {
            m.value.parse().unwrap_or_else(|_| {
                errs.at(
                    m.referenced,
                    "mac_address",
                    format!("'{}' is not a MAC address", m.value),
                );
                EthernetAddress([2, 0, 0, 0, 0, 1])
            })
        });
        let aliases: Vec<&S<String>> = a.map(|a| a.aliases.iter().collect()).unwrap_or_default();
        if net.name == "bridge"
            && let Some(first) = aliases.first()
        {
            errs.at(
                first.referenced,
                "aliases",
                "network-scoped alias is supported only for containers in user defined networks",
            );
        }
        ctr.attach.push(life::Attach {
            net: ni,
            ip,
            ip6,
            mac,
            aliases: aliases.iter().map(|n| n.value.clone()).collect(),
            veth: a.and_then(|a| a.veth.as_ref()).map(|v| v.value.clone()),
            endpoint_id: a
                .and_then(|a| a.endpoint_id.as_ref())
                .map(|e| e.value.clone()),
            loc,
        });
    }
    for e in &c.extra_hosts {
        match dns::parse_extra_host(&e.value) {
            Ok(h) => ctr.extra_hosts.push(h),
            Err(msg) => errs.at(e.referenced, "extra_hosts", msg),
        }
    }
    ctr.raw_extra_hosts = c.extra_hosts.iter().map(|e| e.value.clone()).collect();
    let mut asked = docker::PortAllocator::new();
    for ctr_other in &plan.ctrs {
        for pm in ctr_other.publish.iter().filter(|p| p.host_port != 0) {
            let ip = pm.host_ip.unwrap_or(IpAddress::Ipv4(plan.daemon.ip));
            asked.request(ip, pm.proto, pm.host_port);
        }
    }
    for p in &c.publish {
        match crate::docker::ports::parse_publish(&p.value) {
            Ok(pm) => {
                // Docker refuses a host port already bound for that address and protocol.
                let ip = pm.host_ip.unwrap_or(IpAddress::Ipv4(plan.daemon.ip));
                if pm.host_port != 0 && asked.request(ip, pm.proto, pm.host_port).is_none() {
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
                ctr.publish.push(pm)
            }
            Err(e) => errs.at(p.referenced, "publish", e),
        }
    }
    if let Some(run) = &c.run {
        match crate::listing::iproute::split_words(&run.value)
            .map_err(|e| e.to_string())
            .and_then(|argv| crate::host::cmd::parse(&argv).map(|_| argv))
        {
            Ok(argv) => ctr.main = Some(argv),
            Err(e) => errs.at(run.referenced, "run", e),
        }
    }
    if c.run.is_some() || c.image.is_some() {
        let image = c
            .image
            .as_ref()
            .map_or("busybox".to_string(), |i| i.value.clone());
        let command = c.run.as_ref().map_or("sh".to_string(), |r| r.value.clone());
        ctr.image = Some((image, command));
    }
    ctr
}

/// An endpoint's `ip` or `ip6`: an address of the family, in the network's subnet of it
/// (`subnet`: its text and test; None when the network lacks the family). Err: refused,
/// located.
fn endpoint_address<A: std::str::FromStr + std::fmt::Display>(
    asked: Option<&S<String>>,
    field: &str,
    net: &Network,
    subnet: Option<(String, impl Fn(&A) -> bool)>,
    errs: &mut Errors<'_>,
) -> Result<Option<A>, ()> {
    let Some(s) = asked else { return Ok(None) };
    let family = if field == "ip6" { "IPv6" } else { "IPv4" };
    let Some((text, fits)) = subnet else {
        let why = format!("network {} has no {family} (enable_ipv6)", net.name);
        errs.at(s.referenced, field, why);
        return Err(());
    };
    match s.value.parse::<A>() {
        Ok(ip) if fits(&ip) => Ok(Some(ip)),
        Ok(ip) => {
            let why = format!("{ip} is not in {}'s subnet {text}", net.name);
            errs.at(s.referenced, field, why);
            Err(())
        }
        Err(_) => {
            let why = format!("'{}' is not an {family} address", s.value);
            errs.at(s.referenced, field, why);
            Err(())
        }
    }
}

/// The sysctls dockerd sets on the host.
fn host_sysctls(
    daemon: &Daemon,
    networks: &[(Network, Location, Labels)],
    loc: Location,
) -> Vec<S<String>> {
    // IPv4 forwarding is the daemon's to turn on (the host's `forwarding:`); IPv6's only
    // for an IPv6 network (`setupIPv6Forwarding`).
    let v6 = networks.iter().any(|(n, _, _)| n.ipv6.is_some());
    let mut out = vec![at(
        format!("net.ipv6.conf.all.forwarding={}", u8::from(v6)),
        loc,
    )];
    // br_netfilter, only when a network turns ICC off or the proxy is off
    // (`enableBrNfCallIptables := !EnableICC || !EnableUserlandProxy`, §1.10).
    // Loading the module turns both families on (`setupBridgeNetFiltering` sets them too).
    if !daemon.userland_proxy || networks.iter().any(|(n, _, _)| !n.enable_icc) {
        out.push(at("net.bridge.bridge-nf-call-iptables=1".to_string(), loc));
        out.push(at("net.bridge.bridge-nf-call-ip6tables=1".to_string(), loc));
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

/// `userland_proxy:` as written: `true`, `false`, or its two halves apart.
#[derive(Debug)]
pub struct RawUserlandProxy {
    /// The rules of `--userland-proxy` (true) or of its absence (false).
    rules: Option<S<bool>>,
    /// Whether a `docker-proxy` runs per published port (default: as `rules`).
    process: Option<S<bool>>,
}

/// `userland_proxy`'s halves.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "UserlandProxyParts")]
struct RawProxyParts {
    /// Docker's rules with the proxy (true: DNAT skips traffic from the bridge, no hairpin
    /// MASQUERADE) or without it (false: the hairpin rules). Default true.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    rules: Option<S<bool>>,
    /// A `docker-proxy` listens on each published port (default: as `rules`). False with
    /// `rules: true` is a host whose proxy died or is missing: its own and its containers'
    /// connections to published ports find nothing listening.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    process: Option<S<bool>>,
}

impl schemars::JsonSchema for RawUserlandProxy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "UserlandProxy".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The forms `RawUserlandProxy::deserialize` accepts, for the derive to describe.
        /// `true` (default): a `docker-proxy` per published port and the rules made for it;
        /// `false`: no proxy and the hairpin rules; or the two apart
        /// (`{rules: true, process: false}`).
        #[derive(schemars::JsonSchema)]
        #[schemars(untagged)]
        #[allow(dead_code, reason = "only its schema is used: no value is made")]
        enum Forms {
            On(bool),
            Parts(RawProxyParts),
        }
        Forms::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for RawUserlandProxy {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawUserlandProxy;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, or {rules: BOOL, process: BOOL}")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawUserlandProxy, E> {
                let at = |v| Some(Spanned::new(v, Location::UNKNOWN, Location::UNKNOWN));
                Ok(RawUserlandProxy {
                    rules: at(v),
                    process: at(v),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawUserlandProxy, A::Error> {
                let m = RawProxyParts::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawUserlandProxy {
                    rules: m.rules,
                    process: m.process,
                })
            }
        }
        d.deserialize_any(V)
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
    if let Some(f) = &d.firewall_backend {
        daemon.firewall_backend = read_firewall_backend(f, daemon.engine, errs);
    }
    daemon.iptables = d.iptables.unwrap_or(true);
    daemon.ip6tables = d.ip6tables.unwrap_or(true);
    if let Some(p) = &d.userland_proxy {
        daemon.userland_proxy = p.rules.as_ref().is_none_or(|r| r.value);
        daemon.proxy_process = p
            .process
            .as_ref()
            .map_or(daemon.userland_proxy, |p| p.value);
        if let Some(p) = p
            .process
            .as_ref()
            .filter(|p| p.value && !daemon.userland_proxy)
        {
            errs.at(
                p.referenced,
                "process",
                "dockerd starts no docker-proxy when its rules are those without the proxy \
                 (rules: false)",
            );
        }
    }
    if let Some(ip) = &d.ip {
        daemon.ip = parse_ip(ip, "ip", errs).unwrap_or(Ipv4Address::UNSPECIFIED);
    }
    daemon
}

/// `firewall_backend:`, as dockerd takes it: lower case only; nftables came with engine 29.
fn read_firewall_backend(f: &S<String>, engine: Engine, errs: &mut Errors<'_>) -> FirewallBackend {
    match (f.value.as_str(), engine) {
        ("iptables", _) => FirewallBackend::Iptables,
        ("nftables", Engine::V29) => FirewallBackend::Nftables,
        ("nftables", _) => {
            let n = if engine == Engine::V28 { 28 } else { 27 };
            errs.at(
                f.referenced,
                "firewall_backend",
                format!("firewall_backend nftables needs engine 29 (Docker {n} has only iptables)"),
            );
            FirewallBackend::Iptables
        }
        (other, _) => {
            errs.at(
                f.referenced,
                "firewall_backend",
                format!("'{other}' is not iptables or nftables"),
            );
            FirewallBackend::Iptables
        }
    }
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
        net.gateway_mode_ipv4 = read_gateway_mode(m, "gateway_mode_ipv4", errs);
    }
    if let Some(m) = &n.gateway_mode_ipv6 {
        net.gateway_mode_ipv6 = read_gateway_mode(m, "gateway_mode_ipv6", errs);
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

fn read_gateway_mode(m: &S<String>, field: &str, errs: &mut Errors<'_>) -> GatewayMode {
    match m.value.as_str() {
        "nat" => GatewayMode::Nat,
        "nat-unprotected" => GatewayMode::NatUnprotected,
        "routed" => GatewayMode::Routed,
        other => {
            errs.at(
                m.referenced,
                field,
                format!("'{other}' is not nat, nat-unprotected or routed"),
            );
            GatewayMode::Nat
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

/// An address with a prefix: the host's eth0 or a network's subnet. Neither may be (or hold
/// only) multicast, broadcast or unspecified addresses: containers and the host answer to
/// their addresses as their own.
fn parse_cidr(s: &S<String>, field: &str, errs: &mut Errors<'_>) -> Option<Ipv4Cidr> {
    let Ok(cidr) = s.value.parse::<Ipv4Cidr>() else {
        errs.at(
            s.referenced,
            field,
            format!(
                "'{}' is not an address with a prefix, such as 172.18.0.0/16",
                s.value
            ),
        );
        return None;
    };
    // A subnet is judged by its first address (its gateway's), eth0 by its own.
    let probe = match field {
        "subnet" => ipam::first_host(cidr).unwrap_or(cidr.address()),
        _ => cidr.address(),
    };
    if let Some(kind) = super::model::not_unicast(probe) {
        let what = match field {
            "subnet" => format!("'{}' holds {kind} addresses, not unicast ones", s.value),
            _ => format!("'{}' is a {kind} address, not a unicast one", s.value),
        };
        errs.at(
            s.referenced,
            field,
            format!("{what}; use a unicast range, such as 172.18.0.0/16"),
        );
        return None;
    }
    Some(cidr)
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
    fn words_round_trip() {
        let argv: Vec<String> = ["iptables", "-m", "comment", "--comment", "a b", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = join_words(&argv);
        assert_eq!(crate::listing::iproute::split_words(&text).unwrap(), argv);
    }
}
