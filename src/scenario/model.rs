//! The resolved lab: every name checked, every address parsed, every command and filter
//! parsed, before anything runs. Errors carry the location of the value at fault.

use std::collections::BTreeMap;

use serde_saphyr::Location;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::error::{Errors, LabErrors, suggest};
use super::raw::{RawLab, RawLink};
use crate::capture::CaptureMode;
use crate::filter::Filter;
pub use crate::link::Endpoint;
use crate::link::LinkParams;
use crate::listing::iproute::split_words;
use crate::rand::Rng;
use crate::time::Duration;

pub const DEFAULT_SETTLE: Duration = Duration::from_secs(1);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A lab without `duration` stops here at the latest, so a runaway lab still ends.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug)]
pub struct Lab {
    pub name: String,
    pub about: String,
    pub seed: u64,
    pub captures: CaptureMode,
    /// Bytes of each frame the capture files keep (0: whole frames).
    pub snaplen: u32,
    /// Capture points with a snap length of their own (`node:iface`, bytes; 0: whole).
    pub point_snaplen: Vec<(Endpoint, u32)>,
    pub settle: Duration,
    pub duration: Option<Duration>,
    pub requires: Vec<String>,
    /// The storm guard is expected to stop the run (`storms: true`).
    pub storms: bool,
    pub bridges: Vec<BridgeSpec>,
    pub hosts: Vec<HostSpec>,
    pub routers: Vec<RouterSpec>,
    pub links: Vec<LinkSpec>,
    pub steps: Vec<Step>,
    pub expects: Vec<CaptureExpect>,
    pub warnings: Vec<String>,
    /// Names that run on another node's stack (Docker's `network_mode: host` and
    /// `container:NAME`): name → node.
    pub aliases: BTreeMap<String, String>,
    /// Programs that run from the start of the lab and are not steps (docker-proxy, a
    /// container's own command): (key, node, argv); a `Change::Stop` names the key.
    pub daemons: Vec<(String, String, Vec<String>)>,
    /// Each Docker host's router and what its `docker` CLI reports.
    pub docker_cli: Vec<(String, crate::docker::cli::DockerHostView)>,
    /// Steps that change the lab's topology (a Docker host's `docker stop`, `docker run`,
    /// ...), by step index: what the command prints and what it changes.
    pub changes: BTreeMap<usize, PlannedStep>,
    /// Interfaces that do not exist when the lab starts (a container's veth made later).
    pub absent: Vec<Endpoint>,
    /// Nodes a step cannot run on when the lab starts (a container not created yet), with
    /// the error such a step gets.
    pub refused: BTreeMap<String, String>,
    /// TAP devices and their kernel side: with any, the lab runs in real time.
    pub kernel: super::taps::KernelSpec,
    /// Nodes and interfaces that steps make (`ip netns add`, `ip link add`), which do not
    /// exist when the lab starts: (node, interface; empty for the node itself).
    pub made: std::collections::BTreeSet<(String, String)>,
}

pub use crate::docker::plan::{Change, PlannedStep, Stamp, StampField};

impl Lab {
    /// Whether steps make this point (it does not exist when the lab starts).
    pub fn made_by_steps(&self, ep: &Endpoint) -> bool {
        self.made.contains(&(ep.node.clone(), ep.iface.clone()))
    }

    /// The node a step's `on:` runs on.
    pub fn node_of<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases.get(name).map_or(name, String::as_str)
    }
}

#[derive(Clone, Debug)]
pub struct BridgeSpec {
    pub name: String,
    pub mac: EthernetAddress,
    pub ageing: Duration,
    pub fdb_max: usize,
    /// Port names with their MACs, in port order.
    pub ports: Vec<(String, EthernetAddress)>,
    /// The router whose interface of the same name is this bridge's device.
    pub host: Option<String>,
    /// Ports with `hairpin on`.
    pub hairpin: Vec<String>,
    /// The host's interface that is this bridge's device (the bridge's name by default).
    pub device: String,
    /// Runs 802.1D spanning tree (`stp_state 1`).
    pub stp: bool,
    /// 802.1Q VLAN filtering (`vlan_filtering 1`).
    pub vlan_filtering: bool,
    /// Ports' VLANs as the lab sets them (a port not listed has the default, VLAN 1 PVID
    /// untagged); the bridge's own name stands for the bridge device.
    pub vlans: Vec<(String, crate::bridge::vlan::PortVlans)>,
}

#[derive(Clone, Debug)]
pub struct IfaceSpec {
    pub name: String,
    pub mac: EthernetAddress,
    pub cidr: Option<Ipv4Cidr>,
    pub mtu: u32,
    /// A host's IPv6: None when off, else its static addresses (see `IfaceConfig::ipv6`).
    pub ipv6: Option<Vec<smoltcp::wire::Ipv6Cidr>>,
}

#[derive(Clone, Debug)]
pub struct HostSpec {
    pub name: String,
    pub ifaces: Vec<IfaceSpec>,
    pub gateway: Option<Ipv4Address>,
    /// The IPv6 default route's gateway.
    pub gateway6: Option<smoltcp::wire::Ipv6Address>,
    /// Unsolicited ARPs per interface at start.
    pub announce: u8,
    /// The names it resolves (`/etc/hosts`, a DNS server): a Docker container's.
    pub names: crate::host::resolve::Names,
    /// Static routes (`routes:`), applied at start.
    pub routes: Vec<crate::router::route::RouteCmd>,
}

#[derive(Clone, Debug)]
pub struct RouterSpec {
    pub name: String,
    pub ifaces: Vec<IfaceSpec>,
    pub forwarding: bool,
    pub routes: Vec<crate::router::route::RouteCmd>,
    /// IPv6 routes (`routes:` lines with `-6` or IPv6 addresses).
    pub routes6: Vec<crate::router::ipv6::route6::Route6Cmd>,
    pub iptables_version: crate::netfilter::rules::IptablesVersion,
    pub iptables: Vec<Vec<String>>,
    /// An `nft -f` ruleset loaded at start, after the iptables commands.
    pub nftables: Option<String>,
    /// Which nft's listing format `nft` prints.
    pub nft_version: crate::nft::NftVersion,
    /// `KEY=VALUE` sysctls set at start (`net.ipv4.conf.docker0.route_localnet=1`).
    pub sysctls: Vec<(String, String)>,
    /// VLAN devices on its interfaces (`eth0.10`), up from the start; `ifaces` are the
    /// interfaces with ports.
    pub vlans: Vec<VlanSpec>,
}

/// A router's VLAN device: `ip link add link PARENT name NAME type vlan id VID`.
#[derive(Clone, Debug)]
pub struct VlanSpec {
    pub name: String,
    pub parent: String,
    pub vid: u16,
    /// The parent's unless the lab gives one.
    pub mac: EthernetAddress,
    pub cidr: Option<Ipv4Cidr>,
    pub mtu: u32,
    /// IPv6 as `ipv6:` gave it (see `IfaceSpec::ipv6`).
    pub ipv6: Option<Vec<smoltcp::wire::Ipv6Cidr>>,
}

impl VlanSpec {
    /// As the router takes it.
    pub fn config(&self) -> crate::router::VlanConfig {
        crate::router::VlanConfig {
            iface: crate::router::RouterIface {
                name: self.name.clone(),
                mac: self.mac,
                addrs: self.cidr.into_iter().collect(),
                mtu: self.mtu,
                ipv6: self.ipv6.clone(),
            },
            parent: self.parent.clone(),
            vid: self.vid,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LinkSpec {
    pub a: Endpoint,
    pub b: Endpoint,
    pub params: LinkParams,
}

#[derive(Clone, Debug)]
pub enum Action {
    Run {
        argv: Vec<String>,
        /// Commands joined to it by `||` or `&&`, run as a shell runs an AND-OR list.
        then: Vec<(super::cmdlist::Joiner, Vec<String>)>,
        /// Each command's `| grep` stages, in list order.
        pipes: Vec<Vec<super::grep::Grep>>,
        input: String,
        background: bool,
        timeout: Option<Duration>,
    },
    Show {
        argv: Vec<String>,
        /// The listing's `| grep` stages.
        pipe: Vec<super::grep::Grep>,
    },
    SetLink {
        end: Endpoint,
        up: bool,
    },
    /// A task for the student: runs nothing unless answers are given (`hoplab test
    /// --answers`); then they run here, each waited for up to `timeout`.
    Exercise {
        id: String,
        prompt: String,
        timeout: Option<Duration>,
    },
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CmdExpect {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transmitted: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Step {
    /// The step's `name:`, unique in the lab.
    pub name: Option<String>,
    pub at: Option<Duration>,
    /// Starts this long after the step before it finished.
    pub after: Option<Duration>,
    pub on: Option<String>,
    pub text: String,
    pub action: Action,
    pub expect: CmdExpect,
}

#[derive(Clone, Debug)]
pub struct CaptureExpect {
    pub point: Endpoint,
    pub filter: Filter,
    pub count: Option<u64>,
    pub at_least: Option<u64>,
    pub at_most: Option<u64>,
    pub why: Option<String>,
    /// Which frames count: all of them, or those of a window.
    pub window: Window,
}

/// The frames a capture expectation counts, by when they were recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Window {
    #[default]
    All,
    /// While the step of this index ran (`during: NAME`), its start and end included.
    Step(usize),
    /// From `from` to `to`, in virtual time since the start, both included.
    Times {
        from: Option<Duration>,
        to: Option<Duration>,
    },
}

impl Step {
    /// The step as reports name it: its `name:`, or its number from 1.
    pub fn label(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}", index + 1))
    }
}

/// Node names and their interface names, as declared so far.
#[derive(Default)]
pub(super) struct Names {
    pub(super) nodes: BTreeMap<String, (&'static str, Vec<String>)>,
    /// The interface names of nodes with many, as sets (built when links are resolved), so
    /// 10,000 links to one bridge do not scan its ports each.
    iface_sets: rustc_hash::FxHashMap<String, rustc_hash::FxHashSet<String>>,
}

impl Names {
    /// Whether `node` (which must exist) has interface `iface`.
    fn has_iface(&mut self, node: &str, iface: &str) -> bool {
        let Some((_, ifaces)) = self.nodes.get(node) else {
            return false;
        };
        if ifaces.len() <= 16 {
            return ifaces.iter().any(|i| i == iface);
        }
        self.iface_sets
            .entry(node.to_string())
            .or_insert_with(|| ifaces.iter().cloned().collect())
            .contains(iface)
    }

    /// Adds an interface to `node` (a bridge port a link creates).
    fn add_iface(&mut self, node: &str, iface: &str) {
        if let Some((_, ifaces)) = self.nodes.get_mut(node) {
            ifaces.push(iface.to_string());
        }
        if let Some(set) = self.iface_sets.get_mut(node) {
            set.insert(iface.to_string());
        }
    }

    pub(super) fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}

pub fn router_iface(i: &IfaceSpec) -> crate::router::RouterIface {
    crate::router::RouterIface {
        name: i.name.clone(),
        mac: i.mac,
        addrs: i.cidr.into_iter().collect(),
        mtu: i.mtu,
        ipv6: i.ipv6.clone(),
    }
}

fn mac_for(seed: u64, what: &str) -> EthernetAddress {
    EthernetAddress(Rng::stream(seed, &format!("mac:{what}")).mac())
}

fn loc_or(loc: Location, fallback: Location) -> Location {
    if loc == Location::UNKNOWN {
        fallback
    } else {
        loc
    }
}

/// `100Mbit`, `1Gbit`, `512kbit`, `1000000` (bit/s), as tc writes rates.
/// The MTUs Linux accepts on an IPv4 interface (68 is IPv4's minimum).
pub(super) const MTU_RANGE: std::ops::RangeInclusive<u32> = 68..=65535;

/// An `mtu:` field's value, reported when Linux would refuse it.
pub(super) fn checked_mtu(m: &super::raw::S<u32>, errs: &mut Errors) -> u32 {
    if !MTU_RANGE.contains(&m.value) {
        errs.at(
            m.referenced,
            "mtu",
            format!("MTU {} is out of range (68-65535)", m.value),
        );
    }
    m.value
}

pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("bps")
        .map(|s| format!("{s}bit"))
        .unwrap_or(t);
    let (num, mult) = if let Some(n) = t.strip_suffix("gbit") {
        (n, 1e9)
    } else if let Some(n) = t.strip_suffix("mbit") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix("kbit") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("bit") {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a rate (try 100Mbit, 1Gbit)"))?;
    if !(v > 0.0 && (v * mult) < 1e15) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok((v * mult) as u64)
}

pub fn parse_endpoint(text: &str) -> Option<Endpoint> {
    let (node, iface) = text.split_once(':')?;
    (!node.is_empty() && !iface.is_empty()).then(|| Endpoint {
        node: node.to_string(),
        iface: iface.to_string(),
    })
}

pub fn resolve(mut raw: RawLab, file: &str, text: &str) -> Result<Lab, LabErrors> {
    let mut errs = Errors::new(file);
    errs.source = text;
    let seed = raw.seed.unwrap_or(1);
    let docker = super::docker::expand(&mut raw, seed, &mut errs);
    let header = Header::resolve(&raw, &mut errs);
    let mut r = Resolver {
        errs,
        names: Names::default(),
        seed,
        warnings: Vec::new(),
        seen_ips: BTreeMap::new(),
        seen_macs: BTreeMap::new(),
        dups: Vec::new(),
    };
    // Bridges first: their link-created ports are added with the links.
    let mut bridges = r.bridges(&raw.bridges);
    let hosts = r.hosts(&raw.hosts, &docker);
    let (mut routers, mut scratches) = r.routers(&raw.routers);
    r.bridge_devices(&mut bridges, &raw.bridges, &mut routers);
    let aliases = r.shared_stacks(&docker);
    let kernel = r.taps(&mut raw);
    let links = r.links(&raw.links, &mut bridges);
    let dups = std::mem::take(&mut r.dups);
    r.warnings
        .extend(shared_segment_dups(dups, &links, &bridges));
    r.warnings
        .extend(link_mtu_warnings(&links, &hosts, &routers));
    let made = r.made_by_steps(&raw.steps);
    check_vlan_ports(&raw, &bridges, &mut r.errs);
    let steps = r.steps(&raw.steps, &docker, &mut scratches);
    check_step_times(&raw.steps, header.duration, &mut r.errs);
    check_exercise_ids(&raw.steps, &mut r.errs);
    let expects = r.expects(&raw);
    let point_snaplen = r.point_snaplen(&raw);
    let Resolver {
        errs, mut warnings, ..
    } = r;
    if !errs.list.is_empty() {
        return Err(LabErrors(errs.list));
    }
    warnings.extend(super::loops::warnings(&bridges, &links));
    Ok(Lab {
        name: raw.name.value,
        about: raw.about.unwrap_or_default(),
        seed,
        captures: header.captures,
        snaplen: header.snaplen,
        point_snaplen,
        settle: header.settle,
        duration: header.duration,
        requires: header.requires,
        storms: raw.storms.as_ref().is_some_and(|s| s.value),
        bridges,
        hosts,
        routers,
        links,
        steps,
        expects,
        warnings,
        aliases,
        daemons: docker.daemons,
        docker_cli: docker.cli,
        changes: docker.changes,
        absent: docker.absent,
        refused: docker.refused,
        kernel,
        made,
    })
}

/// The lab's top-level settings: capture mode and snap length, settle time, duration and
/// requirements.
struct Header {
    snaplen: u32,
    captures: CaptureMode,
    settle: Duration,
    duration: Option<Duration>,
    requires: Vec<String>,
}

impl Header {
    fn resolve(raw: &RawLab, errs: &mut Errors) -> Header {
        if raw.version.value != 1 {
            errs.at(
                raw.version.referenced,
                "version",
                format!(
                    "version {} is not supported; this hoplab reads version 1",
                    raw.version.value
                ),
            );
        }
        let snaplen = match &raw.snaplen {
            None => 0,
            Some(s) if s.value <= crate::capture::SNAPLEN => s.value,
            Some(s) => {
                errs.at(
                    s.referenced,
                    "snaplen",
                    format!("{} is more than 65535 (0 keeps whole frames)", s.value),
                );
                0
            }
        };
        let captures = match &raw.captures {
            None => CaptureMode::Merged,
            Some(c) => CaptureMode::parse(&c.value).unwrap_or_else(|| {
                errs.at(
                    c.referenced,
                    "captures",
                    format!("'{}' is not one of none, merged, split, both", c.value),
                );
                CaptureMode::Merged
            }),
        };
        let mut duration_of = |v: &Option<super::raw::S<String>>, field: &str| {
            v.as_ref().and_then(|d| match Duration::parse(&d.value) {
                Ok(x) => Some(x),
                Err(e) => {
                    errs.at(d.referenced, field, e);
                    None
                }
            })
        };
        let settle = duration_of(&raw.settle, "settle").unwrap_or(DEFAULT_SETTLE);
        let duration = duration_of(&raw.duration, "duration");
        let mut requires = Vec::new();
        for r in &raw.requires {
            if r.value != "net_admin" {
                errs.at(
                    r.referenced,
                    "requires",
                    format!("unknown requirement '{}' (net_admin)", r.value),
                );
            }
            requires.push(r.value.clone());
        }
        Header {
            snaplen,
            captures,
            settle,
            duration,
            requires,
        }
    }
}

/// What resolving the lab's sections shares: the errors, the nodes declared so far and
/// their interfaces, the seed every generated MAC derives from, the addresses and MACs seen
/// (a duplicate is warned of), and the warnings.
struct Resolver<'a> {
    errs: Errors<'a>,
    names: Names,
    seed: u64,
    warnings: Vec<String>,
    seen_ips: BTreeMap<Ipv4Address, String>,
    seen_macs: BTreeMap<EthernetAddress, String>,
    /// Two interfaces with one address or MAC: warned of once the links show they share a
    /// segment (separate networks may reuse addresses, as two Docker hosts' 172.17.0.0/16).
    dups: Vec<Duplicate>,
}

/// Two interfaces (`node:iface`) that have the same address or MAC, and the warning.
struct Duplicate {
    a: String,
    b: String,
    warning: String,
}

impl Resolver<'_> {
    /// Declares a node: false (with the error) for a bad or duplicate name.
    fn declare(&mut self, n: &super::raw::S<String>, kind: &'static str) -> bool {
        let ok_chars = !n.value.is_empty()
            && n.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !ok_chars {
            self.errs.at(
                n.referenced,
                "name",
                format!("'{}' is not a valid name (letters, digits, - _ .)", n.value),
            );
            return false;
        }
        if self.names.nodes.contains_key(&n.value) {
            self.errs.at(
                n.referenced,
                "name",
                format!("duplicate node name '{}'", n.value),
            );
            return false;
        }
        self.names.nodes.insert(n.value.clone(), (kind, Vec::new()));
        true
    }

    /// A node's interfaces, checked against the addresses and MACs seen so far.
    fn ifaces(
        &mut self,
        node: &str,
        raw: &super::raw::Ordered<super::raw::RawIface>,
    ) -> Vec<IfaceSpec> {
        resolve_ifaces(
            node,
            raw,
            &mut self.errs,
            self.seed,
            &mut self.seen_ips,
            &mut self.seen_macs,
            &mut self.dups,
        )
    }

    /// The `bridges:` section.
    fn bridges(&mut self, raw: &[super::raw::RawBridge]) -> Vec<BridgeSpec> {
        let mut bridges = Vec::new();
        for b in raw {
            if !self.declare(&b.name, "bridge") {
                continue;
            }
            let mac = match &b.mac {
                Some(m) => m.value.parse().unwrap_or_else(|_| {
                    self.errs.at(
                        m.referenced,
                        "mac",
                        format!("'{}' is not a MAC address", m.value),
                    );
                    EthernetAddress([2, 0, 0, 0, 0, 1])
                }),
                None => mac_for(self.seed, &b.name.value),
            };
            let ageing = match &b.ageing {
                Some(a) => Duration::parse(&a.value).unwrap_or_else(|e| {
                    self.errs.at(a.referenced, "ageing", e);
                    crate::bridge::fdb::DEFAULT_AGEING
                }),
                None => crate::bridge::fdb::DEFAULT_AGEING,
            };
            let fdb_max = b
                .fdb_max
                .as_ref()
                .map_or(crate::bridge::fdb::DEFAULT_FDB_MAX, |f| f.value as usize);
            let mut ports = Vec::new();
            for p in &b.ports {
                if ports.iter().any(|(n, _)| *n == p.value) {
                    self.errs.at(
                        p.referenced,
                        "ports",
                        format!("duplicate port '{}'", p.value),
                    );
                    continue;
                }
                ports.push((
                    p.value.clone(),
                    mac_for(self.seed, &format!("{}:{}", b.name.value, p.value)),
                ));
            }
            if let Some(n) = self.names.nodes.get_mut(&b.name.value) {
                n.1 = ports.iter().map(|(p, _)| p.clone()).collect();
            }
            bridges.push(BridgeSpec {
                name: b.name.value.clone(),
                mac,
                ageing,
                fdb_max,
                ports,
                host: b.host.as_ref().map(|h| h.value.clone()),
                hairpin: b.hairpin.iter().map(|h| h.value.clone()).collect(),
                device: b
                    .device
                    .as_ref()
                    .map_or_else(|| b.name.value.clone(), |d| d.value.clone()),
                stp: b.stp.as_ref().is_some_and(|s| s.value),
                vlan_filtering: b.vlan_filtering.as_ref().is_some_and(|v| v.value),
                vlans: bridge_vlans(b, &mut self.errs),
            });
        }
        bridges
    }

    /// The `hosts:` section (with the hosts a `docker:` section expanded to).
    fn hosts(
        &mut self,
        raw: &[super::raw::RawHost],
        docker: &super::docker::Expanded,
    ) -> Vec<HostSpec> {
        let mut hosts = Vec::new();
        for h in raw {
            if !self.declare(&h.name, "host") {
                continue;
            }
            let ifaces = self.ifaces(&h.name.value, &h.interfaces);
            refuse_host_vlans(&h.interfaces, &mut self.errs);
            let gateway = h
                .gateway
                .as_ref()
                .and_then(|g| match g.value.parse::<Ipv4Address>() {
                    Ok(a) => {
                        if !ifaces
                            .iter()
                            .any(|i| i.cidr.is_some_and(|c| c.contains_addr(&a)))
                        {
                            self.errs.at(
                                g.referenced,
                                "gateway",
                                format!("gateway {a} is not on any of {}'s subnets", h.name.value),
                            );
                        }
                        Some(a)
                    }
                    Err(_) => {
                        self.errs.at(
                            g.referenced,
                            "gateway",
                            format!("'{}' is not an IPv4 address", g.value),
                        );
                        None
                    }
                });
            let gateway6 = h
                .gateway6
                .as_ref()
                .and_then(|g| gateway6(g, &h.name.value, &ifaces, &mut self.errs));
            if let Some(n) = self.names.nodes.get_mut(&h.name.value) {
                n.1 = ifaces.iter().map(|i| i.name.clone()).collect();
            }
            let announce = match &h.announce {
                Some(a) if a.value > 3 => {
                    self.errs
                        .at(a.referenced, "announce", "at most 3 unsolicited ARPs");
                    0
                }
                Some(a) => a.value,
                None => 0,
            };
            let names = docker
                .names
                .iter()
                .find(|(n, _)| *n == h.name.value)
                .map(|(_, names)| names.clone())
                .unwrap_or_default();
            // Each route is checked on a scratch host of the same interfaces, as it will run
            // (made only for a host that has routes: a big lab's hosts have none).
            let mut routes = Vec::new();
            if !h.routes.is_empty() {
                let mut scratch = crate::host::net::Net::new(
                    ifaces
                        .iter()
                        .map(|i| crate::host::net::IfaceConfig {
                            name: i.name.clone(),
                            mac: i.mac,
                            cidr: i.cidr,
                            mtu: i.mtu,
                            ipv6: i.ipv6.clone(),
                        })
                        .collect(),
                    gateway,
                    crate::rand::Rng::new(self.seed),
                    crate::time::Instant::ZERO,
                );
                for text in &h.routes {
                    let words: Vec<&str> = text.value.split_whitespace().collect();
                    match crate::router::route::parse_route_cmd(&words)
                        .and_then(|cmd| scratch.apply_route(&cmd).map(|_| cmd))
                    {
                        Ok(cmd) => routes.push(cmd),
                        Err(e) => self.errs.at(text.referenced, "routes", e),
                    }
                }
            }
            hosts.push(HostSpec {
                name: h.name.value.clone(),
                ifaces,
                gateway,
                gateway6,
                announce,
                names,
                routes,
            });
        }
        hosts
    }

    /// The `routers:` section, each applied to a scratch router, so a gateway off every
    /// subnet or a bad rule is caught here, located; steps' commands are checked against the
    /// scratch routers later, in order.
    fn routers(
        &mut self,
        raw: &[super::raw::RawRouter],
    ) -> (Vec<RouterSpec>, BTreeMap<String, crate::router::Router>) {
        let mut routers = Vec::new();
        let mut scratches: BTreeMap<String, crate::router::Router> = BTreeMap::new();
        for r in raw {
            if !self.declare(&r.name, "router") {
                continue;
            }
            let ifaces = self.ifaces(&r.name.value, &r.interfaces);
            let (ifaces, vlans) = split_vlans(&r.interfaces, ifaces, &mut self.errs);
            if let Some(n) = self.names.nodes.get_mut(&r.name.value) {
                n.1 = ifaces.iter().map(|i| i.name.clone()).collect();
            }
            let mut routes = Vec::new();
            let mut routes6 = Vec::new();
            for text in &r.routes {
                let words: Vec<&str> = text.value.split_whitespace().collect();
                if crate::router::ipv6::route6::is_ipv6_line(&words) {
                    match crate::router::ipv6::route6::parse_line(&words) {
                        Ok(cmd) => routes6.push((cmd, text.referenced)),
                        Err(e) => self.errs.at(text.referenced, "routes", e),
                    }
                    continue;
                }
                match crate::router::route::parse_route_cmd(&words) {
                    Ok(cmd) => routes.push((cmd, text.referenced)),
                    Err(e) => self.errs.at(text.referenced, "routes", e),
                }
            }
            let iptables_version = match r.iptables_version.as_ref().map(|v| (v, v.value.as_str()))
            {
                None | Some((_, "1.8.10")) => crate::netfilter::rules::IptablesVersion::V1_8_10,
                Some((_, "1.8.9")) => crate::netfilter::rules::IptablesVersion::V1_8_9,
                Some((v, other)) => {
                    self.errs.at(
                        v.referenced,
                        "iptables_version",
                        format!("'{other}' is not 1.8.9 or 1.8.10"),
                    );
                    crate::netfilter::rules::IptablesVersion::V1_8_10
                }
            };
            let nft_version = match r.nft_version.as_ref() {
                None => crate::nft::NftVersion::default(),
                Some(v) => crate::nft::NftVersion::parse(&v.value).unwrap_or_else(|| {
                    self.errs.at(
                        v.referenced,
                        "nft_version",
                        format!("'{}' is not 1.0.6 or 1.1", v.value),
                    );
                    crate::nft::NftVersion::default()
                }),
            };
            // Apply everything to a scratch router, so a gateway off every subnet or a bad rule is
            // caught here, located; steps' commands are checked against it later, in order.
            let config = crate::router::RouterConfig {
                name: r.name.value.clone(),
                ifaces: ifaces.iter().map(router_iface).collect(),
                forwarding: true,
                routes: Vec::new(),
                iptables_version,
                iptables: Vec::new(),
            };
            let mut iptables = Vec::new();
            let mut sysctls = Vec::new();
            let vlan_configs = vlans.iter().map(VlanSpec::config).collect();
            if let Ok(mut scratch) =
                crate::router::Router::with_vlans(config, vlan_configs, self.seed)
            {
                for (cmd, loc) in &routes {
                    if let Err(e) = scratch.apply_route(cmd) {
                        self.errs.at(*loc, "routes", e);
                    }
                }
                for (cmd, loc) in &routes6 {
                    if let Err((_, e)) = scratch.apply_route6(cmd) {
                        self.errs.at(*loc, "routes", e);
                    }
                }
                for line in &r.iptables {
                    match split_words(&line.value) {
                        Ok(argv)
                            if argv
                                .first()
                                .is_some_and(|w| w == "iptables" || w == "ip6tables") =>
                        {
                            if let Err((_, e)) = scratch.iptables(&argv, "") {
                                self.errs
                                    .at(line.referenced, "iptables", e.trim_end().to_string());
                            }
                            iptables.push(argv);
                        }
                        Ok(_) => self.errs.at(
                            line.referenced,
                            "iptables",
                            "each entry is an `iptables ...` or `ip6tables ...` command",
                        ),
                        Err(e) => self.errs.at(line.referenced, "iptables", e),
                    }
                }
                scratch.set_nft_version(nft_version);
                if let Some(script) = &r.nftables
                    && let Err((_, e)) = scratch.nft_load(&script.value)
                {
                    self.errs
                        .at(script.referenced, "nftables", e.trim_end().to_string());
                }
                for line in &r.sysctls {
                    match line.value.split_once('=') {
                        Some((k, v)) => match scratch.sysctl(k.trim(), Some(v.trim())) {
                            Ok(_) => sysctls.push((k.trim().to_string(), v.trim().to_string())),
                            Err(e) => self.errs.at(line.referenced, "sysctls", e),
                        },
                        None => self
                            .errs
                            .at(line.referenced, "sysctls", "each entry is KEY=VALUE"),
                    }
                }
                scratches.insert(r.name.value.clone(), scratch);
            }
            routers.push(RouterSpec {
                name: r.name.value.clone(),
                ifaces,
                forwarding: r.forwarding.unwrap_or(true),
                routes: routes.into_iter().map(|(c, _)| c).collect(),
                routes6: routes6.into_iter().map(|(c, _)| c).collect(),
                iptables_version,
                iptables,
                nftables: r.nftables.as_ref().map(|s| s.value.clone()),
                nft_version,
                sysctls,
                vlans,
            });
        }
        (routers, scratches)
    }

    /// A bridge device that is a router's interface shares that interface's MAC.
    fn bridge_devices(
        &mut self,
        bridges: &mut [BridgeSpec],
        raw: &[super::raw::RawBridge],
        routers: &mut [RouterSpec],
    ) {
        for (b, raw_b) in bridges.iter_mut().zip(raw.iter().filter(|rb| {
            self.names
                .nodes
                .get(&rb.name.value)
                .is_some_and(|n| n.0 == "bridge")
        })) {
            let Some(h) = &raw_b.host else { continue };
            let Some(r) = routers.iter_mut().find(|r| r.name == h.value) else {
                let hint = suggest(&h.value, routers.iter().map(|r| r.name.as_str()));
                self.errs.at(
                    h.referenced,
                    "host",
                    format!("no router named '{}'{hint}", h.value),
                );
                continue;
            };
            let Some(iface) = r.ifaces.iter_mut().find(|i| i.name == b.device) else {
                self.errs.at(
                    h.referenced,
                    "host",
                    format!(
                        "{} has no interface '{}' to be this bridge's device",
                        r.name, b.device
                    ),
                );
                continue;
            };
            match &raw_b.mac {
                Some(_) => iface.mac = b.mac,
                None => b.mac = iface.mac,
            }
        }
    }

    /// Containers without a stack of their own run their commands on the stack they share:
    /// each is an alias of the container whose stack it is.
    fn shared_stacks(&mut self, docker: &super::docker::Expanded) -> BTreeMap<String, String> {
        let mut aliases = BTreeMap::new();
        for (name, target, loc) in &docker.shares {
            // `container:X` where X itself shares another stack; a cycle shares nothing.
            let mut target = target.clone();
            let mut hops = 0;
            while let Some((_, t, _)) = docker.shares.iter().find(|(n, _, _)| *n == target) {
                hops += 1;
                if hops > docker.shares.len() {
                    break;
                }
                target = t.clone();
            }
            match self.names.nodes.get(&target).cloned() {
                Some(entry) if !self.names.nodes.contains_key(name) => {
                    self.names.nodes.insert(name.clone(), entry);
                    aliases.insert(name.clone(), target);
                }
                Some(_) => {}
                None => self.errs.at(
                    *loc,
                    "network_mode",
                    format!("{name} shares the stack of '{target}', which is not a container"),
                ),
            }
        }
        aliases
    }

    /// TAPs: the `kernel` node, a port per TAP, linked to what each plugs into (links added
    /// to the lab's).
    fn taps(&mut self, raw: &mut RawLab) -> crate::tap::spec::KernelSpec {
        let seed = self.seed;
        let (kernel, tap_links) =
            super::taps::resolve(&raw.taps, raw.kernel.as_ref(), &mut self.errs, |what| {
                mac_for(seed, what)
            });
        if let Some(first) = raw.taps.first() {
            let node = crate::tap::kernel::NAME;
            if self.names.nodes.contains_key(node) {
                self.errs.at(
                    first.name.referenced,
                    "taps",
                    format!(
                        "a lab with TAPs has a node named '{node}' (the host kernel): rename yours"
                    ),
                );
            } else {
                let ports = kernel.taps.iter().map(|t| t.name.clone()).collect();
                self.names.nodes.insert(node.to_string(), ("kernel", ports));
            }
            if raw.duration.is_none() {
                self.errs.at(
                    first.name.referenced,
                    "duration",
                    "a lab with TAPs runs in real time until its `duration` (or Ctrl-C): give it one, e.g. `duration: 30s`",
                );
            }
        }
        raw.links.extend(tap_links);
        kernel
    }

    /// Links: a bridge port named by a link is created if the bridge did not list it.
    fn links(&mut self, raw: &[RawLink], bridges: &mut [BridgeSpec]) -> Vec<LinkSpec> {
        let mut links = Vec::new();
        let mut linked: BTreeMap<Endpoint, ()> = BTreeMap::new();
        for l in raw {
            if let Some(spec) = resolve_link(
                l,
                &mut self.errs,
                &mut self.names,
                bridges,
                &mut linked,
                self.seed,
            ) {
                links.push(spec);
            }
        }
        links
    }

    /// Namespaces, bridges and interfaces that steps make (`ip netns add`, `ip link add`):
    /// later steps run on them and captures name them.
    fn made_by_steps(
        &mut self,
        raw: &[super::raw::S<super::raw::RawStep>],
    ) -> std::collections::BTreeSet<(String, String)> {
        let mut made = std::collections::BTreeSet::new();
        for s in raw {
            let (Some(on), Some(run)) = (&s.value.on, &s.value.run) else {
                continue;
            };
            let Ok(list) = super::cmdlist::parse(&run.value) else {
                continue;
            };
            for argv in list.commands() {
                for (node, kind, iface) in super::netns::made_by(&on.value, argv) {
                    made.insert((node.clone(), iface.clone().unwrap_or_default()));
                    let entry = self
                        .names
                        .nodes
                        .entry(node.clone())
                        .or_insert((kind, Vec::new()));
                    if let Some(iface) = iface
                        && !entry.1.contains(&iface)
                    {
                        self.names.add_iface(&node, &iface);
                    }
                }
            }
        }
        made
    }

    /// The steps. What a Docker step does to the rules, later steps' rules see.
    fn steps(
        &mut self,
        raw: &[super::raw::S<super::raw::RawStep>],
        docker: &super::docker::Expanded,
        scratches: &mut BTreeMap<String, crate::router::Router>,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        for (k, s) in raw.iter().enumerate() {
            if let Some(step) = super::steps::resolve_step(
                s,
                &mut self.errs,
                &self.names,
                &check_endpoint,
                scratches,
            ) {
                steps.push(step);
            }
            for c in docker.changes.get(&k).map_or(&[][..], |p| &p.changes) {
                match c {
                    Change::Iptables { router, argv } => {
                        if let Some(r) = scratches.get_mut(router) {
                            let _ = r.iptables(argv, "");
                        }
                    }
                    Change::Nft { router, script } => {
                        if let Some(r) = scratches.get_mut(router) {
                            let _ = r.nft_load(script);
                        }
                    }
                    _ => {}
                }
            }
        }
        steps
    }

    /// The capture expectations.
    fn expects(&mut self, raw: &RawLab) -> Vec<CaptureExpect> {
        let step_names = super::steps::step_names(&raw.steps, &mut self.errs);
        let mut expects = Vec::new();
        for e in &raw.expect {
            if let Some(x) = super::steps::resolve_capture_expect(
                e,
                &mut self.errs,
                &self.names,
                &check_endpoint,
                &step_names,
            ) {
                expects.push(x);
            }
        }
        expects
    }

    /// Snap lengths of their own for some capture points.
    fn point_snaplen(&mut self, raw: &RawLab) -> Vec<(Endpoint, u32)> {
        let mut point_snaplen = Vec::new();
        for (point, bytes) in raw.point_snaplen.iter().flat_map(|o| o.0.iter()) {
            let Some(ep) = check_endpoint(&mut self.errs, &self.names, point, "point_snaplen")
            else {
                continue;
            };
            if *bytes > crate::capture::SNAPLEN {
                self.errs.at(
                    point.referenced,
                    "point_snaplen",
                    format!("{bytes} is more than 65535 (0 keeps whole frames)"),
                );
                continue;
            }
            point_snaplen.push((ep, *bytes));
        }
        point_snaplen
    }
}

/// A `node:interface` a capture expectation, a window or a snap length names: it must be
/// an interface of a node of the lab.
fn check_endpoint(
    errs: &mut Errors,
    names: &Names,
    s: &super::raw::S<String>,
    field: &str,
) -> Option<Endpoint> {
    let Some(ep) = parse_endpoint(&s.value) else {
        errs.at(
            s.referenced,
            field,
            format!("'{}' is not node:interface", s.value),
        );
        return None;
    };
    match names.nodes.get(&ep.node) {
        None => {
            let hint = suggest(&ep.node, names.node_names());
            errs.at(
                s.referenced,
                field,
                format!("no node named '{}'{hint}", ep.node),
            );
            None
        }
        Some((_, ifaces)) if !ifaces.contains(&ep.iface) => {
            let hint = suggest(&ep.iface, ifaces.iter().map(String::as_str));
            errs.at(
                s.referenced,
                field,
                format!("{} has no interface '{}'{hint}", ep.node, ep.iface),
            );
            None
        }
        Some(_) => Some(ep),
    }
}

/// A step due at or after the lab's end would silently never run, and its expectations
/// with it: the lab would pass having checked less than it says.
fn check_step_times(
    raw: &[super::raw::S<super::raw::RawStep>],
    duration: Option<Duration>,
    errs: &mut Errors,
) {
    let end = duration.unwrap_or(MAX_DURATION);
    let mut earliest = Duration::ZERO;
    for (k, s) in raw.iter().enumerate() {
        let step_at = s.referenced;
        let s = &s.value;
        let parse = |d: &Option<super::raw::S<String>>| {
            d.as_ref().and_then(|d| Duration::parse(&d.value).ok())
        };
        if let Some(at) = parse(&s.at) {
            earliest = earliest.max(at);
        } else if let Some(after) = parse(&s.after) {
            earliest = earliest + after;
        }
        if earliest >= end {
            let loc = [&s.at, &s.after, &s.on, &s.run, &s.show, &s.link]
                .into_iter()
                .find_map(|f| f.as_ref().map(|f| f.referenced))
                .unwrap_or(step_at);
            let hours = |d: Duration| match d.nanos() % 3_600_000_000_000 {
                0 => format!("{}h", d.nanos() / 3_600_000_000_000),
                _ => d.to_string(),
            };
            let (earliest, end) = (hours(earliest), hours(end));
            let ends = match duration {
                Some(_) => format!("the lab ends at {end} (its `duration`)"),
                None => format!("a lab without `duration` ends at {end} at the latest"),
            };
            let field = match (&s.at, &s.after) {
                (None, Some(_)) => "after",
                _ => "at",
            };
            errs.at(
                loc,
                field,
                format!(
                    "step {} cannot start before {earliest}, but {ends}: it would never run; make `duration` longer or the step earlier",
                    k + 1
                ),
            );
            break;
        }
    }
}

/// Answers name exercises by id, so an id names one exercise.
fn check_exercise_ids(raw: &[super::raw::S<super::raw::RawStep>], errs: &mut Errors) {
    let mut exercise_ids = std::collections::BTreeSet::new();
    for ex in raw.iter().filter_map(|s| s.value.exercise.as_ref()) {
        if !exercise_ids.insert(ex.id.value.as_str()) {
            errs.at(
                ex.id.referenced,
                "id",
                format!("duplicate exercise id '{}'", ex.id.value),
            );
        }
    }
}

/// What kind of address `a` is when it cannot be an interface's own: "multicast",
/// "broadcast" or "unspecified". A packet to such an address reaches many hosts or none, so
/// no stack answers to it as its own (smoltcp refuses it outright).
pub(crate) fn not_unicast(a: Ipv4Address) -> Option<&'static str> {
    if a.is_multicast() {
        Some("multicast")
    } else if a.is_broadcast() {
        Some("broadcast")
    } else if a.is_unspecified() {
        Some("unspecified")
    } else {
        None
    }
}

/// An interface's `ipv6:` value: `link-local` (IPv6 with its link-local address alone) or
/// a unicast address with its prefix, which it has beside its link-local one.
fn ipv6_setting(text: &str) -> Result<Vec<smoltcp::wire::Ipv6Cidr>, String> {
    use smoltcp::wire::{Ipv6Address, Ipv6Cidr};
    if text == "link-local" {
        return Ok(Vec::new());
    }
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let Ok(a) = addr.parse::<Ipv6Address>() else {
        return Err(format!(
            "'{text}' is not an IPv6 address with prefix (such as 2001:db8:1::10/64) nor `link-local`"
        ));
    };
    let Some(len) = len else {
        return Err(format!("'{text}': add the prefix length, e.g. {text}/64"));
    };
    let len = match len.parse::<u8>() {
        Ok(l) if (1..=128).contains(&l) => l,
        _ => return Err(format!("'{text}': the prefix length is 1 to 128")),
    };
    let kind = if a.is_multicast() {
        Some("multicast")
    } else if a.is_unspecified() {
        Some("unspecified")
    } else if a.is_loopback() {
        Some("loopback")
    } else {
        None
    };
    if let Some(kind) = kind {
        return Err(format!(
            "'{text}' is a {kind} address; an interface needs a unicast one, such as 2001:db8:1::10/64"
        ));
    }
    if a.is_unicast_link_local() {
        return Err(format!(
            "'{text}' is link-local: the interface makes its own (fe80::/64 and its MAC's \
             EUI-64); write `ipv6: link-local` for it alone, or give a global address"
        ));
    }
    Ok(vec![Ipv6Cidr::new(a, len)])
}

/// A host's `gateway6:`: on one of its IPv6 prefixes, or link-local (then some interface
/// must have IPv6).
fn gateway6(
    g: &super::raw::S<String>,
    host: &str,
    ifaces: &[IfaceSpec],
    errs: &mut Errors,
) -> Option<smoltcp::wire::Ipv6Address> {
    let Ok(a) = g.value.parse::<smoltcp::wire::Ipv6Address>() else {
        errs.at(
            g.referenced,
            "gateway6",
            format!("'{}' is not an IPv6 address", g.value),
        );
        return None;
    };
    let reachable = match a.is_unicast_link_local() {
        true => ifaces.iter().any(|i| i.ipv6.is_some()),
        false => ifaces
            .iter()
            .flat_map(|i| i.ipv6.iter().flatten())
            .any(|c| c.contains_addr(&a)),
    };
    if !reachable {
        let why = match a.is_unicast_link_local() {
            true => format!("{host} has no interface with IPv6 (give one an `ipv6:` address)"),
            false => format!("it is not on any of {host}'s IPv6 prefixes"),
        };
        errs.at(g.referenced, "gateway6", format!("gateway6 {a}: {why}"));
        return None;
    }
    Some(a)
}

/// A link whose MTU is below an end's interface MTU drops what that end may send, with no
/// ICMP error from anyone: the kernel would never learn of it. Named both ends and numbers.
/// The duplicates whose two interfaces share an L2 segment: joined by links, directly or
/// through bridges (every port of a bridge, and its host's device interface, is one segment).
/// Interfaces seen nowhere in the links are taken as sharing one, to be safe.
fn shared_segment_dups(
    dups: Vec<Duplicate>,
    links: &[LinkSpec],
    bridges: &[BridgeSpec],
) -> Vec<String> {
    if dups.is_empty() {
        return Vec::new();
    }
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn root(parent: &mut BTreeMap<String, String>, x: &str) -> String {
        let mut cur = x.to_string();
        while let Some(p) = parent.get(&cur).filter(|p| **p != cur) {
            cur = p.clone();
        }
        cur
    }
    let join = |parent: &mut BTreeMap<String, String>, a: String, b: String| {
        parent.entry(a.clone()).or_insert_with(|| a.clone());
        parent.entry(b.clone()).or_insert_with(|| b.clone());
        let (ra, rb) = (root(parent, &a), root(parent, &b));
        if ra != rb {
            parent.insert(ra, rb);
        }
    };
    for l in links {
        join(&mut parent, l.a.to_string(), l.b.to_string());
    }
    for b in bridges {
        // The bridge itself stands for all its ports.
        let whole = format!("bridge {}", b.name);
        for (port, _) in &b.ports {
            join(&mut parent, format!("{}:{port}", b.name), whole.clone());
        }
        if let Some(h) = &b.host {
            join(&mut parent, format!("{h}:{}", b.device), whole.clone());
        }
    }
    dups.into_iter()
        .filter(|d| {
            let known = parent.contains_key(&d.a) && parent.contains_key(&d.b);
            !known || root(&mut parent, &d.a) == root(&mut parent, &d.b)
        })
        .map(|d| d.warning)
        .collect()
}

fn link_mtu_warnings(
    links: &[LinkSpec],
    hosts: &[HostSpec],
    routers: &[RouterSpec],
) -> Vec<String> {
    let iface_mtu = |ep: &Endpoint| {
        let ifaces = hosts
            .iter()
            .find(|h| h.name == ep.node)
            .map(|h| &h.ifaces)
            .or_else(|| {
                routers
                    .iter()
                    .find(|r| r.name == ep.node)
                    .map(|r| &r.ifaces)
            })?;
        ifaces.iter().find(|i| i.name == ep.iface).map(|i| i.mtu)
    };
    let mut out = Vec::new();
    for l in links {
        let link = l.params.mtu;
        let ends: Vec<String> = [&l.a, &l.b]
            .into_iter()
            .filter_map(|ep| {
                iface_mtu(ep)
                    .filter(|&m| m > link)
                    .map(|m| format!("{ep} has mtu {m}"))
            })
            .collect();
        if !ends.is_empty() {
            out.push(format!(
                "link {} - {} has mtu {link}, but {}: frames larger than {link} bytes are dropped \
                 on the link without an ICMP error (give both interfaces mtu {link})",
                l.a,
                l.b,
                ends.join(" and ")
            ));
        }
    }
    out
}

/// A router's interfaces split into those with ports and its VLAN devices: an interface
/// with `link:` and `vlan:`, or one named `PARENT.VID` after another of its interfaces.
fn split_vlans(
    raw: &super::raw::Ordered<super::raw::RawIface>,
    ifaces: Vec<IfaceSpec>,
    errs: &mut Errors,
) -> (Vec<IfaceSpec>, Vec<VlanSpec>) {
    let names: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
    let mut kinds: Vec<Option<(String, u16, Location)>> = Vec::new();
    for i in &ifaces {
        let Some((key, r)) = raw.0.iter().find(|(k, _)| k.value == i.name) else {
            kinds.push(None);
            continue;
        };
        let kind = match (&r.link, &r.vlan) {
            (Some(l), Some(v)) => Some((
                l.value.clone(),
                v.value,
                loc_or(v.referenced, key.referenced),
            )),
            (Some(x), None) => {
                errs.at(
                    x.referenced,
                    "vlan",
                    "a VLAN device gives both link and vlan (its id)",
                );
                None
            }
            (None, Some(x)) => {
                errs.at(
                    x.referenced,
                    "link",
                    "a VLAN device gives both link (its parent) and vlan",
                );
                None
            }
            (None, None) => i
                .name
                .rsplit_once('.')
                .filter(|(p, n)| {
                    names.contains(p) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                })
                .map(|(p, n)| (p.to_string(), n.parse().unwrap_or(0), key.referenced)),
        };
        kinds.push(kind);
    }
    let is_vlan = |name: &str| {
        ifaces
            .iter()
            .zip(&kinds)
            .any(|(i, k)| i.name == name && k.is_some())
    };
    let mut ports = Vec::new();
    let mut vlans: Vec<VlanSpec> = Vec::new();
    for (i, kind) in ifaces.iter().zip(&kinds) {
        let Some((parent, vid, loc)) = kind else {
            ports.push(i.clone());
            continue;
        };
        let raw_i = raw
            .0
            .iter()
            .find(|(k, _)| k.value == i.name)
            .map(|(_, r)| r);
        let Some(p) = ifaces.iter().find(|p| p.name == *parent) else {
            let hint = suggest(parent, names.iter().copied());
            errs.at(
                *loc,
                "link",
                format!("no interface '{parent}' to put {} on{hint}", i.name),
            );
            continue;
        };
        if is_vlan(parent) {
            errs.at(
                *loc,
                "link",
                format!(
                    "{}: a VLAN device on a VLAN device (stacked tags) is not modelled",
                    i.name
                ),
            );
            continue;
        }
        if !(1..=crate::wire::vlan::VID_MAX).contains(vid) {
            errs.at(
                *loc,
                "vlan",
                format!("{}: VLAN id {vid} is out of range (1-4094)", i.name),
            );
            continue;
        }
        if let Some(o) = vlans.iter().find(|v| v.parent == *parent && v.vid == *vid) {
            errs.at(
                *loc,
                "vlan",
                format!("{} and {} are both VLAN {vid} on {parent}", o.name, i.name),
            );
            continue;
        }
        let mtu = match raw_i.and_then(|r| r.mtu.as_ref()) {
            Some(m) if i.mtu > p.mtu => {
                errs.at(
                    m.referenced,
                    "mtu",
                    format!(
                        "{}: MTU {} is larger than its link {}'s ({})",
                        i.name, i.mtu, p.name, p.mtu
                    ),
                );
                p.mtu
            }
            Some(_) => i.mtu,
            None => p.mtu,
        };
        vlans.push(VlanSpec {
            name: i.name.clone(),
            parent: parent.clone(),
            vid: *vid,
            mac: match raw_i.and_then(|r| r.mac.as_ref()) {
                Some(_) => i.mac,
                None => p.mac,
            },
            cidr: i.cidr,
            mtu,
            ipv6: i.ipv6.clone(),
        });
    }
    (ports, vlans)
}

/// A host's interfaces take no `link:`/`vlan:` and no `PARENT.VID` names: its stack sends
/// no tags (a VLAN device is a router's).
fn refuse_host_vlans(raw: &super::raw::Ordered<super::raw::RawIface>, errs: &mut Errors) {
    let names: Vec<&str> = raw.0.iter().map(|(k, _)| k.value.as_str()).collect();
    for (key, r) in &raw.0 {
        let dotted = key.value.rsplit_once('.').is_some_and(|(p, n)| {
            names.contains(&p) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
        if dotted || r.link.is_some() || r.vlan.is_some() {
            errs.at(
                key.referenced,
                "interfaces",
                format!(
                    "{}: VLAN devices are a router's (a host's stack sends no tags); put the \
                     host on a bridge's access port, or make it a router",
                    key.value
                ),
            );
        }
    }
}

/// A bridge's `vlans:`, each port's entries parsed (`bridge::vlan::parse_spec`).
fn bridge_vlans(
    b: &super::raw::RawBridge,
    errs: &mut Errors,
) -> Vec<(String, crate::bridge::vlan::PortVlans)> {
    let mut out: Vec<(String, crate::bridge::vlan::PortVlans)> = Vec::new();
    for (port, text) in b.vlans.iter().flat_map(|v| &v.0) {
        if out.iter().any(|(p, _)| *p == port.value) {
            errs.at(
                port.referenced,
                "vlans",
                format!("duplicate port '{}'", port.value),
            );
            continue;
        }
        match crate::bridge::vlan::parse_spec(&text.value) {
            Ok(t) => out.push((port.value.clone(), t)),
            Err(e) => errs.at(loc_or(text.referenced, port.referenced), "vlans", e),
        }
    }
    out
}

/// Each port a bridge's `vlans:` names is one of its ports (the list and the links made
/// them by now), or the bridge itself.
fn check_vlan_ports(raw: &RawLab, bridges: &[BridgeSpec], errs: &mut Errors) {
    for rb in &raw.bridges {
        let Some(b) = bridges.iter().find(|b| b.name == rb.name.value) else {
            continue;
        };
        for (port, _) in rb.vlans.iter().flat_map(|v| &v.0) {
            let known = port.value == b.name || b.ports.iter().any(|(p, _)| *p == port.value);
            if !known {
                let names = b.ports.iter().map(|(p, _)| p.as_str());
                let hint = suggest(&port.value, names);
                errs.at(
                    port.referenced,
                    "vlans",
                    format!("bridge '{}' has no port '{}'{hint}", b.name, port.value),
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_ifaces(
    node: &str,
    interfaces: &super::raw::Ordered<super::raw::RawIface>,
    errs: &mut Errors,
    seed: u64,
    seen_ips: &mut BTreeMap<Ipv4Address, String>,
    seen_macs: &mut BTreeMap<EthernetAddress, String>,
    dups: &mut Vec<Duplicate>,
) -> Vec<IfaceSpec> {
    let mut ifaces = Vec::new();
    for (key, iface) in &interfaces.0 {
        let label = format!("{}:{}", node, key.value);
        if ifaces.iter().any(|i: &IfaceSpec| i.name == key.value) {
            errs.at(
                key.referenced,
                "interfaces",
                format!("duplicate interface '{}'", key.value),
            );
            continue;
        }
        let cidr = iface.ip.as_ref().and_then(|ip| {
            let loc = loc_or(ip.referenced, key.referenced);
            match ip.value.parse::<Ipv4Cidr>() {
                Ok(c) if not_unicast(c.address()).is_some() => {
                    let kind = not_unicast(c.address()).unwrap_or_default();
                    errs.at(
                        loc,
                        "ip",
                        format!(
                            "'{}' is a {kind} address, not a unicast one; an interface needs a unicast address, such as 10.0.0.1/24",
                            ip.value
                        ),
                    );
                    None
                }
                Ok(c) => Some(c),
                Err(_) => {
                    let hint = if ip.value.parse::<Ipv4Address>().is_ok() {
                        " (add the prefix length, e.g. /24)"
                    } else {
                        ""
                    };
                    errs.at(
                        loc,
                        "ip",
                        format!("'{}' is not an IPv4 address with prefix{hint}", ip.value),
                    );
                    None
                }
            }
        });
        let mac = match &iface.mac {
            Some(m) => m.value.parse().unwrap_or_else(|_| {
                errs.at(
                    m.referenced,
                    "mac",
                    format!("'{}' is not a MAC address", m.value),
                );
                EthernetAddress([2, 0, 0, 0, 0, 1])
            }),
            None => mac_for(seed, &label),
        };
        if !mac.is_unicast()
            && let Some(m) = &iface.mac
        {
            errs.at(
                m.referenced,
                "mac",
                format!(
                    "'{}' is a multicast address; an interface needs a unicast MAC",
                    m.value
                ),
            );
        }
        if let Some(c) = cidr
            && let Some(other) = seen_ips.insert(c.address(), label.clone())
        {
            dups.push(Duplicate {
                warning: format!(
                    "{label} and {other} both have address {} (duplicate IP: expect ARP confusion)",
                    c.address()
                ),
                a: label.clone(),
                b: other,
            });
        }
        if let Some(other) = seen_macs.insert(mac, label.clone()) {
            dups.push(Duplicate {
                warning: format!(
                    "{label} and {other} both have MAC {} (duplicate MAC: the bridge will see it move)",
                    crate::wire::Mac(mac)
                ),
                a: label.clone(),
                b: other,
            });
        }
        let mtu = iface.mtu.as_ref().map_or(1500, |m| checked_mtu(m, errs));
        let ipv6 = iface.ipv6.as_ref().and_then(|v| {
            let loc = loc_or(v.referenced, key.referenced);
            ipv6_setting(&v.value)
                .map_err(|e| errs.at(loc, "ipv6", e))
                .ok()
        });
        ifaces.push(IfaceSpec {
            name: key.value.clone(),
            mac,
            cidr,
            mtu,
            ipv6,
        });
    }
    ifaces
}

fn resolve_link(
    l: &RawLink,
    errs: &mut Errors,
    names: &mut Names,
    bridges: &mut [BridgeSpec],
    linked: &mut BTreeMap<Endpoint, ()>,
    seed: u64,
) -> Option<LinkSpec> {
    let mut ends = Vec::new();
    for (field, s) in [("a", l.a.as_ref()?), ("b", l.b.as_ref()?)] {
        let Some(ep) = parse_endpoint(&s.value) else {
            errs.at(
                s.referenced,
                field,
                format!("'{}' is not node:interface", s.value),
            );
            return None;
        };
        let Some(&(kind, _)) = names.nodes.get(&ep.node) else {
            let hint = suggest(&ep.node, names.node_names());
            errs.at(
                s.referenced,
                field,
                format!("no node named '{}'{hint}", ep.node),
            );
            return None;
        };
        if !names.has_iface(&ep.node, &ep.iface) {
            if kind == "bridge" {
                names.add_iface(&ep.node, &ep.iface);
                if let Some(b) = bridges.iter_mut().find(|b| b.name == ep.node) {
                    let mac = mac_for(seed, &ep.to_string());
                    b.ports.push((ep.iface.clone(), mac));
                }
            } else {
                let ifaces = names.nodes.get(&ep.node).map_or(&[][..], |n| &n.1[..]);
                let hint = suggest(&ep.iface, ifaces.iter().map(String::as_str));
                errs.at(
                    s.referenced,
                    field,
                    format!("{} has no interface '{}'{hint}", ep.node, ep.iface),
                );
                return None;
            }
        }
        if linked.insert(ep.clone(), ()).is_some() {
            errs.at(
                s.referenced,
                field,
                format!("{ep} is already linked (an interface takes one link)"),
            );
            return None;
        }
        ends.push(ep);
    }
    let mut params = LinkParams::default();
    let dur = |errs: &mut Errors, v: &Option<super::raw::S<String>>, field: &str| {
        v.as_ref().and_then(|d| {
            Duration::parse(&d.value)
                .map_err(|e| errs.at(d.referenced, field, e))
                .ok()
        })
    };
    if let Some(d) = dur(errs, &l.delay, "delay") {
        params.delay = d;
    }
    if let Some(d) = dur(errs, &l.jitter, "jitter") {
        params.jitter = d;
    }
    if let Some(loss) = &l.loss {
        // Accept a fraction (0.1) or a percentage written as such (10 meaning 10%).
        let v = if loss.value > 1.0 {
            loss.value / 100.0
        } else {
            loss.value
        };
        if !(0.0..=1.0).contains(&v) {
            errs.at(
                loss.referenced,
                "loss",
                "loss is a fraction 0..1 or a percentage 0..100",
            );
        }
        params.loss = v.clamp(0.0, 1.0);
    }
    if let Some(r) = &l.rate {
        match parse_rate(&r.value) {
            Ok(v) => params.rate_bps = Some(v),
            Err(e) => errs.at(r.referenced, "rate", e),
        }
    }
    if let Some(m) = &l.mtu {
        params.mtu = checked_mtu(m, errs);
    }
    if let Some(q) = &l.queue {
        params.queue_limit = q.value;
    }
    let b = ends.pop()?;
    let a = ends.pop()?;
    Some(LinkSpec { a, b, params })
}
