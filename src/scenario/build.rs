//! Builds the simulation a lab describes: bridges, hosts, then routers, in file order; then links.

use crate::bridge::{Bridge, BridgeConfig, BridgePort};
use crate::host::{Host, HostConfig, IfaceConfig};
use crate::id::PortId;
use crate::router::{BridgeMember, Router, RouterConfig};
use crate::scenario::model::{Endpoint, Lab, router_iface};
use crate::sim::Sim;

/// The ports of bridges whose device is a router's interface, numbered as that router
/// numbers its interfaces: after its own, bridge by bridge, in port order.
fn bridge_members(lab: &Lab) -> Vec<(String, BridgeMember, String)> {
    let mut out = Vec::new();
    for r in &lab.routers {
        let mut next = r.ifaces.len() as u32 + 2;
        for b in lab
            .bridges
            .iter()
            .filter(|b| b.host.as_deref() == Some(&r.name))
        {
            let Some(master) = r.ifaces.iter().position(|i| i.name == b.device) else {
                continue;
            };
            for (name, mac) in &b.ports {
                let member = BridgeMember {
                    master,
                    name: name.clone(),
                    mac: *mac,
                    ifindex: next,
                };
                next += 1;
                out.push((r.name.clone(), member, b.name.clone()));
            }
        }
    }
    out
}

pub fn build(lab: &Lab, seed: u64) -> Result<Sim, String> {
    let mut sim = Sim::new(seed);
    let members = bridge_members(lab);
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
            stp: b.stp,
        };
        let mut bridge = Bridge::new(config, ports);
        if b.vlan_filtering || !b.vlans.is_empty() {
            bridge.set_vlan_filtering(b.vlan_filtering);
        }
        for (port, table) in &b.vlans {
            match bridge
                .ports()
                .iter()
                .position(|p| !p.own && p.name == *port)
            {
                Some(i) => bridge.set_port_vlans(i as u16, table.clone()),
                None => bridge.set_bridge_vlans(table.clone()),
            }
        }
        if let Some(host) = lab
            .routers
            .iter()
            .find(|r| b.host.as_deref() == Some(&r.name))
        {
            // Its ports carry the host's numbers, so containers show `eth0@ifN` with the N
            // the host's `ip addr` shows for their veth.
            let mut ifindexes: Vec<u32> = members
                .iter()
                .filter(|(_, _, br)| *br == b.name)
                .map(|(_, m, _)| m.ifindex)
                .collect();
            if let Some(i) = host.ifaces.iter().position(|i| i.name == b.device) {
                ifindexes.push(i as u32 + 2);
            }
            bridge.number_ports(ifindexes);
        }
        sim.add_node(Box::new(bridge), &names);
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
                ipv6: i.ipv6.clone(),
            })
            .collect();
        let names: Vec<String> = ifaces.iter().map(|i| i.name.clone()).collect();
        let config = HostConfig {
            name: h.name.clone(),
            ifaces,
            gateway: h.gateway,
            announce: h.announce,
        };
        let mut host = Host::new(config, seed).with_names(h.names.clone());
        host.set_gateway6(h.gateway6);
        for route in &h.routes {
            host.apply_route(route)?;
        }
        sim.add_node(Box::new(host), &names);
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
        // A VLAN device has a port of its own, after the real ones, that frames never use
        // (they leave by the parent's): its number is the device's.
        let names: Vec<String> = r
            .ifaces
            .iter()
            .map(|i| i.name.clone())
            .chain(r.vlans.iter().map(|v| v.config().iface.name))
            .collect();
        let vlans = r.vlans.iter().map(|v| v.config()).collect();
        let mut router = Router::with_vlans(config, vlans, seed)?;
        for cmd in &r.routes6 {
            router.apply_route6(cmd).map_err(|(_, e)| e)?;
        }
        for (key, value) in &r.sysctls {
            router.sysctl(key, Some(value))?;
        }
        router.set_nft_version(r.nft_version);
        if let Some(script) = &r.nftables {
            router.nft_load(script).map_err(|(_, e)| e)?;
        }
        if let Some((_, view)) = lab.docker_cli.iter().find(|(n, _)| *n == r.name) {
            router.install_cli("docker", Box::new(view.clone()));
        }
        let mut listed = Vec::new();
        for (_, m, bridge) in members.iter().filter(|(owner, _, _)| *owner == r.name) {
            let port = port_of(
                &sim,
                &Endpoint {
                    node: bridge.clone(),
                    iface: m.name.clone(),
                },
            )?;
            listed.push(port);
            router.add_bridge_member(m.clone());
        }
        for b in lab
            .bridges
            .iter()
            .filter(|b| b.stp && b.host.as_deref() == Some(&r.name))
        {
            router.set_bridge_stp(&b.device);
        }
        router.number_vlans();
        let node = sim.add_node(Box::new(router), &names);
        sim.list_ports_with(node, listed);
        for local in r.ifaces.len()..names.len() {
            let port = sim.port(node, local as u16);
            sim.set_present(port, false);
            sim.set_silent(port);
        }
    }
    if !lab.kernel.taps.is_empty() {
        let taps: Vec<(String, u32, smoltcp::wire::EthernetAddress)> = lab
            .kernel
            .taps
            .iter()
            .map(|t| (t.name.clone(), t.mtu, t.mac))
            .collect();
        let names: Vec<String> = taps.iter().map(|t| t.0.clone()).collect();
        sim.add_node(Box::new(crate::tap::kernel::Kernel::new(&taps)), &names);
    }
    for l in &lab.links {
        let a = port_of(&sim, &l.a)?;
        let b = port_of(&sim, &l.b)?;
        sim.connect(a, b, l.params.clone())?;
    }
    // br_netfilter: a bridge whose device is a router's interface runs its forwarded frames
    // through that router's netfilter when the router turns `bridge-nf-call-iptables` on.
    for b in lab.bridges.iter().filter(|b| b.host.is_some()) {
        let host = b.host.as_deref().unwrap_or_default();
        let (Some(r), Some(br)) = (sim.find_node(host), sim.find_node(&b.name)) else {
            continue;
        };
        sim.update::<Bridge, _>(br, |bridge| bridge.set_master(r, &b.device));
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
            iface: b.device.clone(),
        };
        let (own, iface) = (port_of(&sim, &own)?, port_of(&sim, &iface)?);
        let internal = crate::link::LinkParams {
            delay: crate::time::Duration::ZERO,
            ..crate::link::LinkParams::default()
        };
        sim.connect(iface, own, internal)?;
        sim.set_silent(own);
    }
    // Interfaces made later in the lab (a container's veth): absent until then.
    for ep in &lab.absent {
        let port = port_of(&sim, ep)?;
        sim.set_present(port, false);
        let node = sim.find_node(&ep.node).expect("the port's node");
        let local = sim.local_of(port);
        sim.update::<Bridge, _>(node, |b| b.set_port_present(local, false));
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
