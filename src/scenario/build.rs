//! Builds the simulation a lab describes: bridges, hosts, then routers, in file order; then links.

use crate::bridge::{Bridge, BridgeConfig, BridgePort};
use crate::host::{Host, HostConfig, IfaceConfig};
use crate::id::PortId;
use crate::router::{Router, RouterConfig};
use crate::scenario::model::{Endpoint, Lab, router_iface};
use crate::sim::Sim;

pub fn build(lab: &Lab, seed: u64) -> Result<Sim, String> {
    let mut sim = Sim::new(seed);
    for b in &lab.bridges {
        let mut ports: Vec<BridgePort> = b
            .ports
            .iter()
            .map(|(name, mac)| BridgePort {
                name: name.clone(),
                mac: *mac,
                own: false,
                hairpin: b.hairpin.contains(name),
            })
            .collect();
        // The bridge device itself, when it is a router's interface: its own port, last.
        if b.host.is_some() {
            ports.push(BridgePort {
                name: b.name.clone(),
                mac: b.mac,
                own: true,
                hairpin: false,
            });
        }
        let names: Vec<String> = ports.iter().map(|p| p.name.clone()).collect();
        let config = BridgeConfig {
            name: b.name.clone(),
            mac: b.mac,
            ageing: b.ageing,
            fdb_max: b.fdb_max,
        };
        sim.add_node(Box::new(Bridge::new(config, ports)), &names);
    }
    for h in &lab.hosts {
        let ifaces: Vec<IfaceConfig> = h
            .ifaces
            .iter()
            .map(|i| IfaceConfig {
                name: i.name.clone(),
                mac: i.mac,
                cidr: i.cidr,
                mtu: i.mtu,
            })
            .collect();
        let names: Vec<String> = ifaces.iter().map(|i| i.name.clone()).collect();
        let config = HostConfig {
            name: h.name.clone(),
            ifaces,
            gateway: h.gateway,
            announce: h.announce,
        };
        sim.add_node(Box::new(Host::new(config, seed)), &names);
    }
    for r in &lab.routers {
        let config = RouterConfig {
            name: r.name.clone(),
            ifaces: r.ifaces.iter().map(router_iface).collect(),
            forwarding: r.forwarding,
            routes: r.routes.clone(),
            iptables_version: r.iptables_version,
            iptables: r.iptables.clone(),
        };
        let names: Vec<String> = r.ifaces.iter().map(|i| i.name.clone()).collect();
        let mut router = Router::new(config, seed)?;
        for (key, value) in &r.sysctls {
            router.sysctl(key, Some(value))?;
        }
        sim.add_node(Box::new(router), &names);
    }
    for l in &lab.links {
        let a = port_of(&sim, &l.a)?;
        let b = port_of(&sim, &l.b)?;
        sim.connect(a, b, l.params.clone())?;
    }
    // A bridge device and its host's interface are one device: joined without delay, and
    // captured once, on the host's side.
    for b in lab.bridges.iter().filter(|b| b.host.is_some()) {
        let own = Endpoint {
            node: b.name.clone(),
            iface: b.name.clone(),
        };
        let iface = Endpoint {
            node: b.host.clone().unwrap_or_default(),
            iface: b.name.clone(),
        };
        let (own, iface) = (port_of(&sim, &own)?, port_of(&sim, &iface)?);
        let internal = crate::link::LinkParams {
            delay: crate::time::Duration::ZERO,
            ..crate::link::LinkParams::default()
        };
        sim.connect(iface, own, internal)?;
        sim.set_silent(own);
    }
    Ok(sim)
}

pub fn port_of(sim: &Sim, ep: &Endpoint) -> Result<PortId, String> {
    let node = sim
        .find_node(&ep.node)
        .ok_or_else(|| format!("no node named '{}'", ep.node))?;
    sim.find_port(node, &ep.iface)
        .ok_or_else(|| format!("{} has no interface '{}'", ep.node, ep.iface))
}
