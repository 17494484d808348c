//! The lab file: the host as a router, its bridges with their containers, a peer on each
//! LAN, the steps that list the tables back, and an `about:` naming what was left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::Ipv4Addr;

use super::docker::{Endpoint, Network};
use super::ipaddr::Link;
use super::{Cidr, ImportError, Imported, Inputs, Source, docker, ipaddr, iproute, iptables};

/// Kinds of link the lab does not model.
const UNMODELLED: &[&str] = &[
    "tun",
    "tap",
    "wireguard",
    "vxlan",
    "dummy",
    "gre",
    "gretap",
    "ipip",
    "sit",
    "geneve",
    "vrf",
    "ip6tnl",
    "xfrm",
    "macvlan",
    "macvtap",
    "ipvlan",
    "vlan",
    "bond",
    "team",
];

/// A link's kind when it is one the lab does not model: from `ip -d`, else from
/// `link/none` (tun, wireguard) or the name.
fn unmodelled_kind(l: &Link) -> Option<String> {
    if let Some(k) = &l.kind {
        return UNMODELLED.contains(&k.as_str()).then(|| k.clone());
    }
    for (prefix, kind) in [
        ("wg", "wireguard"),
        ("tun", "tun"),
        ("tap", "tap"),
        ("vxlan", "vxlan"),
        ("dummy", "dummy"),
    ] {
        if l.name.starts_with(prefix)
            && l.name[prefix.len()..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Some(kind.to_string());
        }
    }
    (l.link_type == "none").then(|| "no link layer: tun or wireguard".to_string())
}

/// A plain YAML scalar where it is safe, else a JSON (so YAML) double-quoted string.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// A literal block (`|`) when the text keeps its bytes in one, else a quoted string.
fn block(out: &mut String, key: &str, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    let ok = text.ends_with('\n')
        && !text.ends_with("\n\n")
        && !text.starts_with([' ', '\t', '\n'])
        && !text.contains(['\r', '\t'])
        && text.lines().all(|l| !l.is_empty() && !l.ends_with(' '))
        && text.chars().all(|c| !c.is_control() || c == '\n');
    if ok {
        let _ = writeln!(out, "{key}: |");
        for l in text.lines() {
            let _ = writeln!(out, "{pad}{l}");
        }
    } else {
        let _ = writeln!(
            out,
            "{key}: {}",
            serde_json::to_string(text).unwrap_or_default()
        );
    }
}

/// Node names: letters, digits, `- _ .`, each used once.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    fn take(&mut self, want: &str) -> String {
        let base: String = want
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = if base.is_empty() {
            "node".to_string()
        } else {
            base
        };
        let mut name = base.clone();
        let mut k = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{base}-{k}");
            k += 1;
        }
        name
    }
}

struct Iface {
    name: String,
    ip: Option<Cidr>,
    mac: Option<String>,
    mtu: Option<u32>,
    /// `ipv6:` as the lab takes it: an address with its prefix, or `link-local`.
    ipv6: Option<String>,
}

fn iface_yaml(out: &mut String, i: &Iface) {
    let mut parts = Vec::new();
    if let Some(ip) = i.ip {
        parts.push(format!("ip: {ip}"));
    }
    if let Some(m) = &i.mac {
        parts.push(format!("mac: \"{m}\""));
    }
    if let Some(m) = i.mtu.filter(|&m| m != 1500) {
        parts.push(format!("mtu: {m}"));
    }
    match i.ipv6.as_deref() {
        Some("link-local") => parts.push("ipv6: link-local".into()),
        Some(a) => parts.push(format!("ipv6: \"{a}\"")),
        None => {}
    }
    if parts.is_empty() {
        let _ = writeln!(out, "      {}:", q(&i.name));
        return;
    }
    let _ = writeln!(out, "      {}: {{{}}}", q(&i.name), parts.join(", "));
}

struct HostPlan {
    name: String,
    ifaces: Vec<Iface>,
    gateway: Option<Ipv4Addr>,
    comment: Vec<String>,
}

/// Builds the lab from the dumps.
pub fn build(inputs: &Inputs) -> Result<Imported, ImportError> {
    let dumps = Dumps::read(inputs)?;
    let mut names = Names::default();
    let router = names.take("host");
    let mut plan = Plan {
        names,
        router,
        router_ifaces: Vec::new(),
        bridges: Vec::new(),
        bridge_node: BTreeMap::new(),
        lan_ifaces: Vec::new(),
        skipped_devs: BTreeSet::new(),
        hosts: Vec::new(),
        links: Vec::new(),
        peers: Vec::new(),
        peer_addrs: Vec::new(),
        route_lines: Vec::new(),
        rule_lines: Vec::new(),
        not_imported: dumps.not_imported.clone(),
        approximated: Vec::new(),
    };
    plan.interfaces(&dumps.links, &dumps.nets);
    plan.docker_bridges(&dumps.nets);
    plan.containers(&dumps);
    plan.lan_peers(&dumps.routes);
    plan.routes(&dumps.routes);
    plan.routes6(&dumps.routes6);
    plan.rules(&dumps.rules);
    let tables = plan.iptables(&dumps);
    let yaml = plan.write(inputs, &dumps, &tables);
    Ok(Imported {
        yaml,
        not_imported: plan.not_imported,
        approximated: plan.approximated,
    })
}

/// The dumps, parsed, with Docker's two inspects merged into one list of endpoints.
struct Dumps {
    links: Vec<Link>,
    routes: Vec<iproute::Route>,
    routes6: Vec<super::iproute6::Route6>,
    rules: Vec<iproute::Rule>,
    save: Option<iptables::SaveImport>,
    listing: Option<iptables::ListingImport>,
    nft: Option<super::nft::NftImport>,
    nets: Vec<Network>,
    eps: Vec<Endpoint>,
    /// What reading them left out.
    not_imported: Vec<String>,
}

impl Dumps {
    fn read(inputs: &Inputs) -> Result<Dumps, ImportError> {
        let empty = |flag: &'static str| Source::new(flag, "-", "");
        let addr_src = inputs.ip_addr.clone().unwrap_or_else(|| empty("--ip-addr"));
        let route_src = inputs
            .ip_route
            .clone()
            .unwrap_or_else(|| empty("--ip-route"));
        let links = if addr_src.text.trim().is_empty() {
            Vec::new()
        } else {
            ipaddr::parse(&addr_src)?
        };
        let routes = if route_src.text.trim().is_empty() {
            Vec::new()
        } else {
            iproute::parse_routes(&route_src)?
        };
        let rules = match &inputs.ip_rule {
            Some(s) => iproute::parse_rules(s)?,
            None => Vec::new(),
        };
        let routes6 = match &inputs.ip6_route {
            Some(s) => super::iproute6::parse_routes6(s)?,
            None => Vec::new(),
        };
        let save = inputs
            .iptables_save
            .as_ref()
            .map(iptables::import_save)
            .transpose()?;
        let listing = match (&save, inputs.iptables_list.is_empty()) {
            (None, false) => Some(iptables::import_listings(&inputs.iptables_list)?),
            _ => None,
        };
        let mut nets: Vec<Network> = Vec::new();
        let mut eps: Vec<Endpoint> = Vec::new();
        let mut not_imported: Vec<String> = Vec::new();
        for s in &inputs.docker_network_inspect {
            let (n, e) = docker::parse_networks(s)?;
            nets.extend(n);
            eps.extend(e);
        }
        for s in &inputs.docker_inspect {
            let (e, other) = docker::parse_containers(s)?;
            for (c, mode) in other {
                not_imported.push(format!(
                    "container {c}: network mode {mode} (no endpoint of its own)"
                ));
            }
            for e in e {
                // docker inspect knows aliases and the gateway; network inspect may have listed it.
                match eps
                    .iter_mut()
                    .find(|x| x.container == e.container && x.network == e.network)
                {
                    Some(x) => {
                        x.aliases = e.aliases;
                        x.ip = x.ip.or(e.ip);
                        x.mac = x.mac.take().or(e.mac);
                        x.gateway = e.gateway.or(x.gateway);
                    }
                    None => eps.push(e),
                }
            }
        }
        let nft = inputs
            .nft_ruleset
            .as_ref()
            .map(super::nft::import_ruleset)
            .transpose()?;
        if let Some(n) = &nft
            && !n.xt_tables.is_empty()
            && save.is_none()
            && listing.is_none()
        {
            not_imported.push(format!(
                "the rules of iptables-nft's tables in the nft listing ({}): --iptables-save gives them",
                n.xt_tables.join(", ")
            ));
        }
        if save.is_some() && !inputs.iptables_list.is_empty() {
            not_imported.push("the iptables -L listings: iptables-save gives the rules".into());
        }
        Ok(Dumps {
            links,
            routes,
            routes6,
            rules,
            save,
            listing,
            nft,
            nets,
            eps,
            not_imported,
        })
    }
}

/// The lab as the dumps are read into it: its nodes and links, the router's routes and
/// rules, and what was left out or approximated.
struct Plan {
    names: Names,
    /// The router's node name.
    router: String,
    router_ifaces: Vec<Iface>,
    /// Bridge devices, in the order the lab lists them.
    bridges: Vec<String>,
    /// Each bridge's node name: its device's, where that is a valid node name.
    bridge_node: BTreeMap<String, String>,
    /// The router's interfaces with an address that are no bridge: each gets a LAN peer.
    lan_ifaces: Vec<(String, Cidr)>,
    /// Devices left out, so that a Docker network on one is not made up either.
    skipped_devs: BTreeSet<String>,
    hosts: Vec<HostPlan>,
    /// Links, `node:iface` to `node:iface`.
    links: Vec<(String, String)>,
    /// A peer host on each LAN, with the router's interface it is on.
    peers: Vec<(HostPlan, String)>,
    peer_addrs: Vec<Ipv4Addr>,
    route_lines: Vec<String>,
    rule_lines: Vec<String>,
    not_imported: Vec<String>,
    approximated: Vec<String>,
}

/// The iptables part of the lab: the rules' version, the commands that load them and the
/// listings its steps show.
struct Tables {
    version: Option<crate::netfilter::rules::IptablesVersion>,
    lines: Vec<iptables::Command>,
    shows: Vec<String>,
}

impl Plan {
    /// The node name of bridge device `b`.
    fn node_of(&self, b: &str) -> String {
        self.bridge_node
            .get(b)
            .cloned()
            .unwrap_or_else(|| b.to_string())
    }

    /// The router's interfaces and bridges, from `ip addr`.
    fn interfaces(&mut self, links: &[Link], nets: &[Network]) {
        // Links: bridges, their ports, the router's other interfaces.
        let net_devices: BTreeSet<&str> = nets
            .iter()
            .filter(|n| n.driver == "bridge")
            .map(|n| n.device.as_str())
            .collect();
        let masters: BTreeSet<&str> = links.iter().filter_map(|l| l.master.as_deref()).collect();
        // A bond or a VRF is a master too, and no bridge.
        let unmodelled: BTreeSet<&str> = links
            .iter()
            .filter(|l| unmodelled_kind(l).is_some())
            .map(|l| l.name.as_str())
            .collect();
        let is_bridge = |l: &Link| {
            !unmodelled.contains(l.name.as_str())
                && (l.kind.as_deref() == Some("bridge")
                    || l.name == "docker0"
                    || l.name.starts_with("br-")
                    || masters.contains(l.name.as_str())
                    || net_devices.contains(l.name.as_str()))
        };
        for l in links {
            if l.link_type == "loopback" || l.name == "lo" {
                // The lab's `lo` has 127.0.0.1/8 alone.
                let extra: Vec<String> = l
                    .inet
                    .iter()
                    .filter(|c| c.to_string() != "127.0.0.1/8")
                    .map(Cidr::to_string)
                    .collect();
                if !extra.is_empty() {
                    self.not_imported.push(format!(
                        "{}: addresses {} (the lab's lo has 127.0.0.1/8 alone)",
                        l.name,
                        extra.join(", ")
                    ));
                }
                continue;
            }
            if let Some(kind) = unmodelled_kind(l) {
                let addrs: Vec<String> = l.inet.iter().map(Cidr::to_string).collect();
                self.not_imported.push(format!(
                    "interface {} ({kind}): this kind of link is not modelled{}",
                    l.name,
                    if addrs.is_empty() {
                        String::new()
                    } else {
                        format!("; its addresses {} go with it", addrs.join(", "))
                    }
                ));
                self.skipped_devs.insert(l.name.clone());
                continue;
            }
            if let Some(m) = &l.master {
                if !links.iter().any(|b| &b.name == m && is_bridge(b)) {
                    self.not_imported.push(format!(
                        "{}: enslaved to {m}, which is not a bridge the lab models",
                        l.name
                    ));
                    self.skipped_devs.insert(l.name.clone());
                }
                continue;
            }
            for extra in l.inet.iter().skip(1) {
                self.not_imported.push(format!(
                    "{}: second address {extra} (an interface holds one address in the lab)",
                    l.name
                ));
            }
            let ipv6 = self.ipv6_of(l);
            self.router_ifaces.push(Iface {
                name: l.name.clone(),
                ip: l.inet.first().copied(),
                mac: l.mac.clone(),
                mtu: l.mtu,
                ipv6,
            });
            if is_bridge(l) {
                self.bridges.push(l.name.clone());
            } else if let Some(&c) = l.inet.first() {
                self.lan_ifaces.push((l.name.clone(), c));
            }
        }
    }

    /// An interface's IPv6 as the lab takes it: its first global address (the dump lists
    /// the newest first), or `link-local` when it has the link-local one alone. The lab
    /// makes the link-local address from the MAC (EUI-64); another one, and every global
    /// address after the first, go to about:.
    fn ipv6_of(&mut self, l: &super::ipaddr::Link) -> Option<String> {
        use smoltcp::wire::Ipv6Address;
        let mut global: Vec<String> = Vec::new();
        let mut any = false;
        let eui64 = l
            .mac
            .as_deref()
            .and_then(|m| m.parse::<smoltcp::wire::EthernetAddress>().ok())
            .map(crate::host::net::eui64_link_local);
        for text in &l.inet6 {
            // `ADDR/LEN` (LEN 1 to 128), or `ADDR` alone, a /128.
            let read = match text.split_once('/') {
                Some((a, l)) => a
                    .parse::<Ipv6Address>()
                    .ok()
                    .zip(l.parse::<u8>().ok().filter(|l| (1..=128).contains(l))),
                None => text.parse::<Ipv6Address>().ok().map(|a| (a, 128)),
            };
            let Some((a, len)) = read else {
                self.not_imported
                    .push(format!("{}: IPv6 address `{text}` (unreadable)", l.name));
                continue;
            };
            any = true;
            if a.is_unicast_link_local() {
                if Some(a) != eui64 {
                    self.approximated.push(format!(
                        "{}: link-local address {text}: the lab's is made from the MAC{}",
                        l.name,
                        eui64.map(|e| format!(" ({e}/64)")).unwrap_or_default()
                    ));
                }
            } else if a.is_multicast() || a.is_loopback() || a.is_unspecified() {
                self.not_imported
                    .push(format!("{}: IPv6 address {text}", l.name));
            } else {
                global.push(format!("{a}/{len}"));
            }
        }
        for extra in global.iter().skip(1) {
            self.not_imported.push(format!(
                "{}: second IPv6 address {extra} (an interface holds one static IPv6 address in the lab)",
                l.name
            ));
        }
        match global.first() {
            Some(g) => Some(g.clone()),
            None => any.then(|| "link-local".to_string()),
        }
    }

    /// Docker's bridge networks whose bridge `ip addr` does not show, and the networks of
    /// other drivers (left out); then each bridge's node name.
    fn docker_bridges(&mut self, nets: &[Network]) {
        for n in nets.iter().filter(|n| n.driver == "bridge") {
            if self.bridges.contains(&n.device) || self.skipped_devs.contains(&n.device) {
                continue;
            }
            let ip = match (n.gateway, n.subnet) {
                (Some(g), Some(s)) => Some(Cidr {
                    addr: g,
                    len: s.len,
                }),
                _ => None,
            };
            self.approximated.push(format!(
                "network {}: its bridge {} is not in the ip addr dump; made from docker network inspect{}",
                n.name,
                n.device,
                ip.map(|c| format!(" ({c})")).unwrap_or_default()
            ));
            self.router_ifaces.push(Iface {
                name: n.device.clone(),
                ip,
                mac: None,
                mtu: n.mtu,
                ipv6: None,
            });
            self.bridges.push(n.device.clone());
        }
        for n in nets
            .iter()
            .filter(|n| n.driver != "bridge" && !matches!(n.driver.as_str(), "host" | "null"))
        {
            self.not_imported.push(format!(
                "network {} (driver {}): only bridge networks are modelled",
                n.name, n.driver
            ));
        }
        for b in &self.bridges {
            let node = self.names.take(b);
            self.bridge_node.insert(b.clone(), node);
        }
    }

    /// Containers: one host each, an interface per endpoint on a bridge; a host without an
    /// address for each veth no container takes.
    fn containers(&mut self, dumps: &Dumps) {
        let (links, nets, eps) = (&dumps.links, &dumps.nets, &dumps.eps);
        let bridge_of = |e: &Endpoint| -> Option<String> {
            if let Some(n) = nets
                .iter()
                .find(|n| n.name == e.network || (!e.network_id.is_empty() && n.id == e.network_id))
            {
                return self.bridges.contains(&n.device).then(|| n.device.clone());
            }
            let ip = e.ip?;
            self.router_ifaces
                .iter()
                .find(|i| {
                    self.bridges.contains(&i.name) && i.ip.is_some_and(|c| c.contains(ip.addr))
                })
                .map(|i| i.name.clone())
        };
        let mut containers: Vec<String> = Vec::new();
        for e in eps {
            if !containers.contains(&e.container) {
                containers.push(e.container.clone());
            }
        }
        // Veths per bridge, in ifindex order, each taken by the next endpoint on it.
        let mut free_ports: Vec<(String, Vec<&Link>)> = self
            .bridges
            .iter()
            .map(|b| {
                (
                    b.clone(),
                    links
                        .iter()
                        .filter(|l| l.master.as_deref() == Some(b.as_str()))
                        .collect(),
                )
            })
            .collect();
        let mut paired: Vec<(String, usize)> = Vec::new();
        for c in &containers {
            let name = self.names.take(c);
            let mut h = HostPlan {
                name: name.clone(),
                ifaces: Vec::new(),
                gateway: None,
                comment: Vec::new(),
            };
            if &name != c {
                h.comment.push(format!("container {c}"));
            }
            for e in eps.iter().filter(|e| &e.container == c) {
                let Some(br) = bridge_of(e) else {
                    self.not_imported.push(format!(
                        "container {c}: its endpoint on network {} (no bridge for it in the dumps)",
                        e.network
                    ));
                    continue;
                };
                let Some(ip) = e.ip else {
                    self.not_imported.push(format!(
                        "container {c}: its endpoint on network {} has no IPv4 address",
                        e.network
                    ));
                    continue;
                };
                let ifname = format!("eth{}", h.ifaces.len());
                let slot = free_ports
                    .iter_mut()
                    .find(|(b, _)| *b == br)
                    .map(|x| &mut x.1);
                let veth = slot.and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
                let port = veth.map_or_else(|| format!("veth-{name}-{ifname}"), |v| v.name.clone());
                match paired.iter_mut().find(|(b, _)| *b == br) {
                    Some(p) => p.1 += 1,
                    None => paired.push((br.clone(), 1)),
                }
                let mtu = veth.and_then(|v| v.mtu).or_else(|| {
                    self.router_ifaces
                        .iter()
                        .find(|i| i.name == br)
                        .and_then(|i| i.mtu)
                });
                h.ifaces.push(Iface {
                    name: ifname.clone(),
                    ip: Some(ip),
                    mac: e.mac.clone(),
                    mtu,
                    ipv6: None,
                });
                if h.gateway.is_none() {
                    h.gateway = e
                        .gateway
                        .or_else(|| {
                            nets.iter()
                                .find(|n| n.name == e.network)
                                .and_then(|n| n.gateway)
                        })
                        .filter(|g| ip.contains(*g));
                }
                if !e.aliases.is_empty() {
                    h.comment
                        .push(format!("{} aliases: {}", e.network, e.aliases.join(", ")));
                    self.not_imported.push(format!(
                        "container {c}: its aliases on {} ({}): names resolve only in docker: labs",
                        e.network,
                        e.aliases.join(", ")
                    ));
                }
                self.links.push((
                    format!("{name}:{ifname}"),
                    format!("{}:{port}", self.node_of(&br)),
                ));
            }
            if !h.ifaces.is_empty() {
                self.hosts.push(h);
            }
        }
        for (br, n) in &paired {
            if *n > 1 {
                self.approximated.push(format!(
                    "bridge {br}: its {n} containers were given its veths in ifindex order (ip addr does not say whose a veth is)"
                ));
            }
        }
        // A veth no container takes still has something at its other end (its carrier is up):
        // a host without an address stands for it.
        for (br, veths) in &free_ports {
            for v in veths {
                let name = self.names.take(&format!("ctr-{}", v.name));
                self.approximated.push(format!(
                    "{} on {br}: no container dump names what is at its other end; host {name}, without an address, stands for it",
                    v.name
                ));
                self.hosts.push(HostPlan {
                    name: name.clone(),
                    ifaces: vec![Iface {
                        name: "eth0".into(),
                        ip: None,
                        mac: None,
                        mtu: v.mtu,
                        ipv6: None,
                    }],
                    gateway: None,
                    comment: vec![format!("the other end of {}", v.name)],
                });
                self.links.push((
                    format!("{name}:eth0"),
                    format!("{}:{}", self.node_of(br), v.name),
                ));
            }
        }
    }

    /// A peer on each LAN: the default gateway where the route names one there, else the
    /// subnet's first free address.
    fn lan_peers(&mut self, routes: &[iproute::Route]) {
        let default_gw: Vec<(Ipv4Addr, Option<String>)> = routes
            .iter()
            .filter(|r| {
                r.dst.is_none() && !r.ipv6 && r.table.as_deref().is_none_or(|t| t == "main")
            })
            .filter_map(|r| r.via.map(|v| (v, r.dev.clone())))
            .collect();
        for (ifname, c) in &self.lan_ifaces {
            if c.len >= 31 {
                self.not_imported
                    .push(format!("{ifname}: a LAN peer ({c} has no room for one)"));
                continue;
            }
            let gw = default_gw
                .iter()
                .find(|(g, d)| c.contains(*g) && d.as_deref().is_none_or(|d| d == ifname))
                .map(|x| x.0);
            let addr = gw.unwrap_or_else(|| {
                let net = u32::from(c.network().addr);
                let first = net + 1;
                if first == u32::from(c.addr) {
                    Ipv4Addr::from(first + 1)
                } else {
                    Ipv4Addr::from(first)
                }
            });
            let want = if gw.is_some() {
                "gateway".to_string()
            } else {
                format!("lan-{ifname}")
            };
            let name = self.names.take(&want);
            self.peer_addrs.push(addr);
            self.peers.push((
                HostPlan {
                    name,
                    ifaces: vec![Iface {
                        name: "eth0".into(),
                        ip: Some(Cidr { addr, len: c.len }),
                        mac: None,
                        mtu: self
                            .router_ifaces
                            .iter()
                            .find(|i| &i.name == ifname)
                            .and_then(|i| i.mtu),
                        ipv6: None,
                    }],
                    gateway: None,
                    comment: vec![format!(
                        "the LAN of {}:{ifname}{}",
                        self.router,
                        if gw.is_some() {
                            ", as its default gateway"
                        } else {
                            ""
                        }
                    )],
                },
                ifname.clone(),
            ));
        }
    }

    /// The router's routes, as `ip route add` commands the lab's parser takes.
    fn routes(&mut self, routes: &[iproute::Route]) {
        let mut added: BTreeSet<(Option<String>, Option<Cidr>, u32)> = BTreeSet::new();
        let iface_of = |name: &str| self.router_ifaces.iter().find(|i| i.name == name);
        for r in routes {
            let what = format!("route `{}`", r.text);
            if r.ipv6 {
                self.not_imported
                    .push(format!("{what}: IPv6 is not modelled"));
                continue;
            }
            let table = r.table.as_deref().filter(|t| *t != "main");
            // The local table's routes come with the addresses, as the lab's do.
            if table == Some("local")
                && (r.is_kernel() || matches!(r.typ.as_str(), "local" | "broadcast"))
            {
                continue;
            }
            if r.typ != "unicast" {
                self.not_imported
                    .push(format!("{what}: route type {} is not modelled", r.typ));
                continue;
            }
            let dev = r.dev.as_deref().and_then(iface_of);
            if r.dev.is_some() && dev.is_none() {
                self.not_imported
                    .push(format!("{what}: its device is not in the lab"));
                continue;
            }
            if r.via.is_none() && r.dev.is_none() {
                self.not_imported
                    .push(format!("{what}: neither a gateway nor a device"));
                continue;
            }
            if r.is_kernel() {
                let expected = dev.and_then(|i| i.ip).map(|c| (c.network(), c.addr));
                match (r.dst, expected) {
                    (Some(d), Some((net, src))) if d == net && r.src.is_none_or(|s| s == src) => {
                        if let Some(m) = r.metric {
                            self.approximated.push(format!("{what}: the lab's connected route has no metric (lists without `metric {m}`)"));
                        }
                    }
                    _ => self.not_imported.push(format!(
                        "{what}: a connected route of an address the lab does not have"
                    )),
                }
                continue;
            }
            let on_link = |g: Ipv4Addr| {
                self.router_ifaces.iter().find(|i| {
                    i.ip.is_some_and(|c| c.contains(g))
                        && r.dev.as_deref().is_none_or(|d| d == i.name)
                })
            };
            if let Some(g) = r.via {
                if on_link(g).is_none() {
                    self.not_imported.push(format!(
                        "{what}: gateway {g} is on none of the lab's subnets"
                    ));
                    continue;
                }
                if !self.peer_addrs.contains(&g) && r.dst.is_some() {
                    self.approximated
                        .push(format!("{what}: nobody answers at {g} in the lab"));
                }
            }
            if !added.insert((table.map(str::to_string), r.dst, r.metric.unwrap_or(0))) {
                self.not_imported.push(format!(
                    "{what}: a route to the same destination with the same metric comes before it"
                ));
                continue;
            }
            let mut cmd = String::from("ip route add ");
            match r.dst {
                None => cmd.push_str("default"),
                Some(d) => {
                    let _ = write!(cmd, "{d}");
                }
            }
            if let Some(g) = r.via {
                let _ = write!(cmd, " via {g}");
            }
            if let Some(d) = &r.dev {
                let _ = write!(cmd, " dev {d}");
            }
            if let Some(p) = &r.proto {
                let _ = write!(cmd, " proto {p}");
            }
            if let Some(sc) = &r.scope {
                let _ = write!(cmd, " scope {sc}");
            }
            if let Some(a) = r.src {
                let _ = write!(cmd, " src {a}");
            }
            if let Some(m) = r.metric {
                let _ = write!(cmd, " metric {m}");
            }
            if let Some(t) = table {
                let _ = write!(cmd, " table {t}");
            }
            let mut dropped: Vec<String> = Vec::new();
            dropped.extend(r.other.iter().filter(|o| *o != "linkdown").cloned());
            if !dropped.is_empty() {
                self.approximated.push(format!(
                    "{what}: `{}` not kept (imported as `{cmd}`)",
                    dropped.join(" ")
                ));
            }
            // The lab's own parser has the last word.
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if let Err(e) = crate::router::route::parse_route_cmd(&words) {
                self.not_imported.push(format!("{what}: {e}"));
                continue;
            }
            self.route_lines.push(cmd);
        }
    }

    /// The router's IPv6 routes (`--ip6-route`) as `routes:` lines: connected ones come
    /// with the addresses; others need a device the lab has, and a link-local gateway its
    /// device.
    fn routes6(&mut self, routes: &[super::iproute6::Route6]) {
        use std::net::Ipv6Addr;
        let prefix_of = |a: Ipv6Addr, len: u8| {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            (u128::from(a) & mask, len)
        };
        // The table holds one route per prefix and metric (`File exists` for another),
        // the connected ones of the lab's addresses included.
        let mut added: BTreeSet<(Option<(u128, u8)>, u32)> = BTreeSet::new();
        let kernel = crate::router::ipv6::route6::KERNEL_METRIC;
        for i in &self.router_ifaces {
            let Some(v6) = i.ipv6.as_deref() else {
                continue;
            };
            added.insert((
                Some(prefix_of(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 64)),
                kernel,
            ));
            if let Some((a, l)) = v6.split_once('/')
                && let (Ok(a), Ok(l)) = (a.parse::<Ipv6Addr>(), l.parse::<u8>())
            {
                added.insert((Some(prefix_of(a, l)), kernel));
            }
        }
        for r in routes {
            let what = format!("IPv6 route `{}`", r.text);
            let table = r.table.as_deref().filter(|t| *t != "main");
            if table == Some("local") || r.typ == "local" || r.typ == "multicast" {
                continue;
            }
            if r.typ != "unicast" {
                self.not_imported
                    .push(format!("{what}: route type {} is not modelled", r.typ));
                continue;
            }
            if let Some(t) = table {
                self.not_imported
                    .push(format!("{what}: IPv6 routes of table {t} are not modelled"));
                continue;
            }
            let dev = r
                .dev
                .as_deref()
                .and_then(|d| self.router_ifaces.iter().find(|i| i.name == d));
            let link_local = r.dst == Some((Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 64));
            if r.dev.is_some() && dev.is_none() {
                // A bridge port's own fe80::/64 (the port is the bridge's in the lab, the
                // device itself accounted for with the interfaces).
                if !(r.is_kernel() && link_local) {
                    self.not_imported
                        .push(format!("{what}: its device is not in the lab"));
                }
                continue;
            }
            if r.is_kernel() {
                // fe80::/64 and each address's prefix come with the lab's addresses.
                let ours = dev.and_then(|i| i.ipv6.as_deref()).and_then(|a| {
                    let (a, l) = a.split_once('/')?;
                    Some(prefix_of(a.parse().ok()?, l.parse().ok()?))
                });
                let connected = r.dst.is_some_and(|(a, l)| Some(prefix_of(a, l)) == ours);
                if !(link_local && dev.is_some_and(|i| i.ipv6.is_some()) || connected) {
                    self.not_imported.push(format!(
                        "{what}: a connected route of an address the lab does not have"
                    ));
                }
                continue;
            }
            if r.via.is_none() && r.dev.is_none() {
                self.not_imported
                    .push(format!("{what}: neither a gateway nor a device"));
                continue;
            }
            // The gateway must be reachable in the lab: a link-local one on an interface
            // with IPv6, another on one of the lab's IPv6 prefixes (on `dev` if given).
            if let Some(g) = r.via {
                if g.is_unicast_link_local() && r.dev.is_none() {
                    self.not_imported
                        .push(format!("{what}: a link-local gateway without its device"));
                    continue;
                }
                let on_link = self.router_ifaces.iter().any(|i| {
                    let v6 = i.ipv6.as_deref();
                    let here = r.dev.as_deref().is_none_or(|d| d == i.name);
                    let holds = match g.is_unicast_link_local() {
                        true => v6.is_some(),
                        false => v6
                            .and_then(|a| a.split_once('/'))
                            .and_then(|(a, l)| Some((a.parse::<Ipv6Addr>().ok()?, l.parse().ok()?)))
                            .is_some_and(|(a, l)| prefix_of(a, l) == prefix_of(g, l)),
                    };
                    here && holds
                });
                if !on_link {
                    self.not_imported.push(format!(
                        "{what}: its gateway {g} is on none of the lab's IPv6 links"
                    ));
                    continue;
                }
            }
            let metric = r.metric.unwrap_or(crate::router::ipv6::route6::USER_METRIC);
            if !added.insert((r.dst.map(|(a, l)| prefix_of(a, l)), metric)) {
                self.not_imported.push(format!(
                    "{what}: a route to the same prefix with the same metric came before it"
                ));
                continue;
            }
            let mut cmd = match r.dst {
                None => "default".to_string(),
                Some((a, 128)) => a.to_string(),
                Some((a, l)) => format!("{a}/{l}"),
            };
            if let Some(g) = r.via {
                cmd += &format!(" via {g}");
            }
            if let Some(d) = &r.dev {
                cmd += &format!(" dev {d}");
            }
            if let Some(m) = r
                .metric
                .filter(|m| *m != crate::router::ipv6::route6::USER_METRIC)
            {
                cmd += &format!(" metric {m}");
            }
            let mut dropped: Vec<String> = r.other.clone();
            if let Some(p) = r.proto.as_deref().filter(|p| *p != "boot") {
                dropped.insert(0, format!("proto {p}"));
            }
            if !dropped.is_empty() {
                self.approximated.push(format!(
                    "{what}: `{}` not kept (imported as `{cmd}`)",
                    dropped.join(" ")
                ));
            }
            // The lab's own parser has the last word.
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if let Err(e) = crate::router::ipv6::route6::parse_line(&words) {
                self.not_imported.push(format!("{what}: {e}"));
                continue;
            }
            self.route_lines.push(cmd);
        }
    }

    /// ip rules other than the kernel's three, added in steps before anything else runs.
    fn rules(&mut self, rules: &[iproute::Rule]) {
        for u in rules.iter().filter(|u| !u.is_default()) {
            let cmd = format!("ip rule add {} priority {}", u.text, u.priority);
            let words: Vec<&str> = cmd.split_whitespace().skip(2).collect();
            match crate::router::policy::parse_rule_cmd(&words) {
                Ok(_) => self.rule_lines.push(cmd),
                Err(e) => self.not_imported.push(format!(
                    "ip rule `{}: {}`: {}",
                    u.priority,
                    u.text,
                    e.trim_end()
                )),
            }
        }
    }

    /// The rules: `iptables-save` restored, or commands rebuilt from `iptables -L` listings.
    fn iptables(&mut self, dumps: &Dumps) -> Tables {
        let mut iptables_lines: Vec<iptables::Command> = Vec::new();
        let mut version = None;
        let mut shows: Vec<String> = Vec::new();
        if let Some(s) = &dumps.save {
            version = Some(s.version);
            self.not_imported.extend(s.refused.iter().cloned());
            self.approximated.extend(s.notes.iter().cloned());
            shows.push(if s.counters {
                "iptables-save -c".into()
            } else {
                "iptables-save".into()
            });
        }
        if let Some(l) = &dumps.listing {
            version = Some(l.version);
            self.not_imported.extend(l.refused.iter().cloned());
            self.approximated.extend(l.approximated.iter().cloned());
            iptables_lines = l.commands.clone();
            shows.push("iptables-save".into());
            shows.extend(l.shows.iter().map(|(_, s)| s.clone()));
        }
        Tables {
            version,
            lines: iptables_lines,
            shows,
        }
    }

    /// The lab's `about:`: the dumps it was made from, and what was left out or
    /// approximated.
    fn about(&self, inputs: &Inputs) -> String {
        let (router, not_imported, approximated) =
            (&self.router, &self.not_imported, &self.approximated);
        let mut about = String::from("A host rebuilt by `hoplab import` from:\n");
        for s in [
            &inputs.ip_addr,
            &inputs.ip_route,
            &inputs.ip_rule,
            &inputs.iptables_save,
            &inputs.nft_ruleset,
        ]
        .into_iter()
        .flatten()
        {
            let _ = writeln!(about, "  {} {}", s.flag, s.path);
        }
        for s in inputs
            .iptables_list
            .iter()
            .chain(&inputs.docker_inspect)
            .chain(&inputs.docker_network_inspect)
        {
            let _ = writeln!(about, "  {} {}", s.flag, s.path);
        }
        let _ = writeln!(
            about,
            "The host is the router named {router}; each of its bridges is a bridge with its containers as hosts, and each LAN has a peer host."
        );
        if !not_imported.is_empty() {
            about.push_str("Not imported:\n");
            for n in not_imported.iter() {
                let _ = writeln!(about, "  - {}", one_line(n));
            }
        }
        if !approximated.is_empty() {
            about.push_str("Approximated:\n");
            for n in approximated.iter() {
                let _ = writeln!(about, "  - {}", one_line(n));
            }
        }
        about
    }

    /// The lab file.
    fn write(&self, inputs: &Inputs, dumps: &Dumps, tables: &Tables) -> String {
        let Plan {
            router,
            router_ifaces,
            bridges,
            hosts,
            links: links_out,
            peers,
            route_lines,
            rule_lines,
            ..
        } = self;
        let Tables {
            version,
            lines: iptables_lines,
            shows,
        } = tables;
        let lab_name = inputs.name.clone().unwrap_or_else(|| "imported".into());
        let save = &dumps.save;
        let mut out = String::new();
        let _ = writeln!(out, "version: 1");
        let _ = writeln!(out, "name: {}", q(&names_ok(&lab_name)));
        let about = self.about(inputs);
        block(&mut out, "about", &about, 2);
        if !bridges.is_empty() {
            out.push_str("bridges:\n");
            for b in bridges.iter() {
                let mac = router_ifaces
                    .iter()
                    .find(|i| &i.name == b)
                    .and_then(|i| i.mac.clone());
                let node = self.node_of(b);
                let mut parts = vec![
                    format!("name: {}", q(&node)),
                    format!("host: {}", q(router)),
                ];
                if &node != b {
                    parts.push(format!("device: {}", q(b)));
                }
                if let Some(m) = mac {
                    parts.push(format!("mac: \"{m}\""));
                }
                let _ = writeln!(out, "  - {{{}}}", parts.join(", "));
            }
        }
        out.push_str("routers:\n");
        let _ = writeln!(out, "  - name: {}", q(router));
        if router_ifaces.is_empty() {
            out.push_str("    interfaces: {}\n");
        } else {
            out.push_str("    interfaces:\n");
            for i in router_ifaces.iter() {
                iface_yaml(&mut out, i);
            }
        }
        if !route_lines.is_empty() {
            out.push_str("    routes:\n");
            for r in route_lines.iter() {
                let _ = writeln!(out, "      - {}", q(r));
            }
        }
        if let Some(v) = version {
            let _ = writeln!(out, "    iptables_version: \"{v}\"");
        }
        if !iptables_lines.is_empty() {
            out.push_str("    iptables:\n");
            for c in iptables_lines.iter() {
                if let Some(f) = &c.from {
                    let _ = writeln!(out, "      # approximated from: {}", f.replace('\n', " "));
                }
                let _ = writeln!(
                    out,
                    "      - {}",
                    serde_json::to_string(&c.line).unwrap_or_default()
                );
            }
        }
        let all_hosts: Vec<&HostPlan> = hosts.iter().chain(peers.iter().map(|p| &p.0)).collect();
        if !all_hosts.is_empty() {
            out.push_str("hosts:\n");
            for h in &all_hosts {
                for c in &h.comment {
                    let _ = writeln!(out, "  # {}", one_line(c));
                }
                let _ = writeln!(out, "  - name: {}", q(&h.name));
                out.push_str("    interfaces:\n");
                for i in &h.ifaces {
                    iface_yaml(&mut out, i);
                }
                if let Some(g) = h.gateway {
                    let _ = writeln!(out, "    gateway: {g}");
                }
            }
        }
        let mut all_links = links_out.clone();
        for (p, ifname) in peers.iter() {
            all_links.push((format!("{}:eth0", p.name), format!("{router}:{ifname}")));
        }
        if !all_links.is_empty() {
            out.push_str("links:\n");
            for (a, b) in &all_links {
                // A wire narrower than its ends would drop their big frames: a link carries
                // its host end's MTU when that is over the default 1500.
                let mtu = a.split_once(':').and_then(|(h, i)| {
                    all_hosts
                        .iter()
                        .find(|x| x.name == h)
                        .and_then(|x| x.ifaces.iter().find(|f| f.name == i))
                        .and_then(|f| f.mtu)
                        .filter(|&m| m > 1500)
                });
                match mtu {
                    Some(m) => {
                        let _ = writeln!(out, "  - {{a: {}, b: {}, mtu: {m}}}", q(a), q(b));
                    }
                    None => {
                        let _ = writeln!(out, "  - [{}, {}]", q(a), q(b));
                    }
                }
            }
        }
        out.push_str("steps:\n");
        if let Some(s) = &save {
            let _ = writeln!(out, "  - on: {}", q(router));
            // -c: the dump's counters (policies' and, with `iptables-save -c`, rules') too.
            out.push_str("    run: iptables-restore -c\n");
            let nft_owned: Vec<&str> = dumps.nft.as_ref().map_or(Vec::new(), |n| {
                n.nft_tables
                    .iter()
                    .filter_map(|t| t.strip_prefix("ip "))
                    .collect()
            });
            block(
                &mut out,
                "    input",
                &without_tables(&s.text, &nft_owned),
                6,
            );
        }
        if let Some(n) = dumps.nft.as_ref().filter(|n| !n.ruleset.is_empty()) {
            let _ = writeln!(out, "  - on: {}", q(router));
            // The listing's counters come back with it (`counter packets N bytes N`).
            out.push_str("    run: nft -f -\n");
            block(&mut out, "    input", &n.ruleset, 6);
        }
        for r in rule_lines.iter() {
            let _ = writeln!(out, "  - {{on: {}, run: {}}}", q(router), q(r));
        }
        for s in shows.iter() {
            let _ = writeln!(out, "  - {{on: {}, show: {}}}", q(router), q(s));
        }
        if dumps.nft.is_some() {
            let _ = writeln!(out, "  - {{on: {}, show: nft list ruleset}}", q(router));
        }
        if inputs.ip_rule.is_some() {
            let _ = writeln!(out, "  - {{on: {}, show: ip rule}}", q(router));
        }
        let _ = writeln!(out, "  - {{on: {}, show: ip route}}", q(router));
        let _ = writeln!(out, "  - {{on: {}, show: ip addr}}", q(router));
        out
    }
}

/// An `iptables-save` dump without the sections of `tables` that hold no rule: iptables-save
/// prints an nft table of an iptables name (`table ip nat` made by nft) as its own, with
/// only its built-in chains' policies, and the nft ruleset makes that table.
fn without_tables(save: &str, tables: &[&str]) -> String {
    let mut out = String::new();
    let mut section: Vec<&str> = Vec::new();
    for line in save.lines() {
        if line.starts_with('*') || !section.is_empty() {
            section.push(line);
            if line == "COMMIT" {
                let name = section[0].trim_start_matches('*');
                let empty = !section.iter().any(|l| l.starts_with("-A "));
                if !(empty && tables.contains(&name)) {
                    section.iter().for_each(|l| {
                        out.push_str(l);
                        out.push('\n');
                    });
                }
                section.clear();
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    section.iter().for_each(|l| {
        out.push_str(l);
        out.push('\n');
    });
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn names_ok(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if n.is_empty() { "imported".into() } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(addr: &str, route: &str) -> Inputs {
        Inputs {
            ip_addr: Some(Source::new("--ip-addr", "a", addr)),
            ip_route: Some(Source::new("--ip-route", "r", route)),
            ..Inputs::default()
        }
    }

    #[test]
    fn scalars_are_quoted_where_yaml_would_misread_them() {
        assert_eq!(q("eth0"), "eth0");
        assert_eq!(q("10.0.0.1/24"), "10.0.0.1/24");
        assert_eq!(q("on"), "\"on\"");
        assert_eq!(q("1500"), "\"1500\"");
        assert_eq!(q("a:b"), "\"a:b\"");
        assert_eq!(q("iptables -A X"), "\"iptables -A X\"");
    }

    #[test]
    fn a_bond_and_its_slaves_are_left_out_and_named() {
        let addr = "1: eth0: <BROADCAST,MULTICAST,SLAVE,UP,LOWER_UP> mtu 1500 qdisc fq_codel master bond0 state UP
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
2: bond0: <BROADCAST,MULTICAST,MASTER,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    bond mode active-backup
    inet 192.168.1.10/24 brd 192.168.1.255 scope global bond0
";
        let lab = build(&inputs(addr, "default via 192.168.1.1 dev bond0\n")).unwrap();
        assert_eq!(
            lab.not_imported,
            [
                "eth0: enslaved to bond0, which is not a bridge the lab models",
                "interface bond0 (bond): this kind of link is not modelled; its addresses 192.168.1.10/24 go with it",
                "route `default via 192.168.1.1 dev bond0`: its device is not in the lab",
            ]
        );
        assert!(
            lab.yaml
                .contains("routers:\n  - name: host\n    interfaces: {}\n"),
            "{}",
            lab.yaml
        );
    }

    #[test]
    fn rules_and_other_tables_come_with_the_lab_parsers_word() {
        let addr = "2: eth0: <UP> mtu 1500 state UP
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.1/24 scope global eth0
";
        let mut i = inputs(
            addr,
            "default via 10.0.0.254 dev eth0 table 100\nlocal 10.0.0.1 dev eth0 table local proto kernel scope host src 10.0.0.1\n",
        );
        i.ip_rule = Some(Source::new(
            "--ip-rule",
            "u",
            "0:\tfrom all lookup local\n32764:\tfrom all lookup main suppress_prefixlength 0\n32765:\tfrom 10.0.0.0/24 lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n",
        ));
        let lab = build(&i).unwrap();
        assert!(
            lab.yaml
                .contains("      - \"ip route add default via 10.0.0.254 dev eth0 table 100\"\n"),
            "{}",
            lab.yaml
        );
        assert!(
            lab.yaml.contains(
                "  - {on: host, run: \"ip rule add from 10.0.0.0/24 lookup 100 priority 32765\"}\n"
            ),
            "{}",
            lab.yaml
        );
        assert_eq!(
            lab.not_imported,
            [
                "ip rule `32764: from all lookup main suppress_prefixlength 0`: Error: argument \"suppress_prefixlength\" is wrong: Failed to parse rule type"
            ]
        );
        crate::scenario::parse(&lab.yaml, "lab.yaml").unwrap();
    }

    #[test]
    fn the_peer_is_the_gateway_or_the_first_other_address() {
        let addr = "2: eth0: <UP> mtu 1500 state UP
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.1/24 scope global eth0
3: eth1: <UP> mtu 9000 state UP
    link/ether 52:54:00:12:34:57 brd ff:ff:ff:ff:ff:ff
    inet 10.0.1.7/24 scope global eth1
";
        let lab = build(&inputs(addr, "default via 10.0.1.254 dev eth1 metric 5\n")).unwrap();
        assert!(
            lab.yaml
                .contains("  - name: lan-eth0\n    interfaces:\n      eth0: {ip: 10.0.0.2/24}\n"),
            "{}",
            lab.yaml
        );
        assert!(
            lab.yaml
                .contains("      eth1: {ip: 10.0.1.7/24, mac: \"52:54:00:12:34:57\", mtu: 9000}\n"),
            "{}",
            lab.yaml
        );
        assert!(
            lab.yaml
                .contains("      - \"ip route add default via 10.0.1.254 dev eth1 metric 5\"\n"),
            "{}",
            lab.yaml
        );
        assert!(
            lab.yaml
                .contains("      eth0: {ip: 10.0.1.254/24, mtu: 9000}\n"),
            "{}",
            lab.yaml
        );
        assert!(
            lab.yaml
                .contains("  - {a: \"gateway:eth0\", b: \"host:eth1\", mtu: 9000}\n"),
            "{}",
            lab.yaml
        );
        let loaded = crate::scenario::parse(&lab.yaml, "lab.yaml").unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }
}
