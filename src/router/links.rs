//! Interfaces made, changed and taken away while a lab runs, as a namespace built by hand
//! needs them: each interface's kind, administrative state and ifindex; `ip link add` and
//! `ip link set DEV up|down` on the router's side (the engine's ports and links are the
//! runner's), and `ip addr add|del|flush`.
//!
//! The kernel's rules kept here: a new link starts down with qdisc `noop`; bringing it up
//! adds the connected routes of its addresses, bringing it down takes every route through
//! it away and forgets its neighbours; an address added to a down link gets its route when
//! the link comes up.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use super::{Router, RouterIface};
use crate::time::Instant;

/// What made an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// An interface of the lab file (a veth end to another node).
    Configured,
    Veth,
    Bridge,
    Dummy,
    /// An 802.1Q device on a parent (`vlan.rs`).
    Vlan,
}

/// An interface's state beyond its addresses.
#[derive(Clone, Debug)]
pub struct LinkState {
    pub kind: LinkKind,
    /// `ip link set DEV up` (IFF_UP).
    pub up: bool,
    /// Brought up at least once: its qdisc is `noqueue`, no longer `noop`.
    pub activated: bool,
    /// Moved to another namespace, made a bridge's port or deleted: not the router's
    /// interface now (its slot stays, as the engine's port does).
    pub gone: bool,
    pub ifindex: u32,
    /// A bridge port's addresses: the kernel keeps them on the port (unused) and they are
    /// the interface's again after `nomaster`.
    pub held: Vec<Ipv4Cidr>,
}

impl LinkState {
    /// An interface of the lab file: up from the start, numbered after `lo`.
    pub fn configured(port: usize) -> LinkState {
        LinkState {
            kind: LinkKind::Configured,
            up: true,
            activated: true,
            gone: false,
            ifindex: port as u32 + 2,
            held: Vec::new(),
        }
    }
}

impl Router {
    /// The interface named `name` that is the router's now.
    pub fn live_link(&self, name: &str) -> Option<usize> {
        self.ns
            .ifaces
            .iter()
            .zip(&self.ns.links)
            .position(|(f, l)| f.name == name && !l.gone)
    }

    /// An interface's state.
    pub fn link_state(&self, dev: usize) -> Option<&LinkState> {
        self.ns.links.get(dev).filter(|l| !l.gone)
    }

    /// The slot of `name` while it is a port of one of the router's bridges.
    pub fn enslaved_link(&self, name: &str) -> Option<usize> {
        if !self.members.iter().any(|m| m.name == name) {
            return None;
        }
        self.ns
            .ifaces
            .iter()
            .zip(&self.ns.links)
            .position(|(f, l)| f.name == name && l.gone)
    }

    /// The state of a bridge port's device (kept in its slot while it is a port).
    pub(super) fn member_state(&self, name: &str) -> Option<&LinkState> {
        self.enslaved_link(name).map(|i| &self.ns.links[i])
    }

    /// Sets the state of a bridge port's device (`ip link set vethX up` on a port).
    pub fn set_member_up(&mut self, name: &str, up: bool) {
        if let Some(i) = self.enslaved_link(name) {
            self.ns.links[i].up = up;
            self.ns.links[i].activated |= up;
        }
    }

    /// Whether a bridge port's device is up.
    pub fn member_up(&self, name: &str) -> bool {
        self.member_state(name).is_some_and(|l| l.up)
    }

    /// Makes interface `dev` a bridge's port: it stops being an L3 interface (its addresses
    /// and routes go) but keeps its state, which its bridge port follows.
    pub fn enslave_link(&mut self, dev: usize) {
        let Some(up) = self.ns.links.get(dev).map(|l| l.up) else {
            return;
        };
        let held = self.ns.ifaces[dev].addrs.clone();
        self.remove_link(dev);
        self.ns.links[dev].up = up;
        self.ns.links[dev].held = held;
    }

    /// The MACs of the ports of the bridge whose device is `master`.
    pub fn members_of(&self, master: usize) -> Vec<[u8; 6]> {
        self.members
            .iter()
            .filter(|m| m.master == master)
            .map(|m| m.mac.0)
            .collect()
    }

    /// A bridge port is released (`nomaster`) or deleted.
    pub fn remove_bridge_member(&mut self, name: &str) {
        self.members.retain(|m| m.name != name);
    }

    /// The namespaces that have names, for `link-netns NAME`.
    pub fn set_named_netns(&mut self, names: Vec<String>) {
        self.ns.named_netns = names;
    }

    /// Which iptables the router's listings imitate.
    pub fn iptables_version(&self) -> crate::netfilter::rules::IptablesVersion {
        self.filtering.rules.tables.version
    }

    /// Whether frames may come in and go out of `dev` (it exists and is up).
    pub(super) fn link_usable(&self, dev: usize) -> bool {
        self.ns.links.get(dev).is_some_and(|l| l.up && !l.gone)
    }

    /// Whether `lo` is up (a namespace made by `ip netns add` starts with it down).
    pub fn lo_up(&self) -> bool {
        self.ns.lo_up
    }

    /// Makes the loopback interface up or down.
    pub fn set_lo_up(&mut self, up: bool) {
        self.ns.lo_up = up;
    }

    /// The lowest ifindex no interface of the router holds (1 is `lo`).
    pub fn free_ifindex(&self) -> u32 {
        let used = |i: u32| {
            self.ns.links.iter().any(|l| !l.gone && l.ifindex == i)
                || self.members.iter().any(|m| m.ifindex == i)
        };
        (2..).find(|i| !used(*i)).unwrap_or(u32::MAX)
    }

    /// Adds an interface, down, at the engine's port `port` (a slot of an interface that is
    /// gone, reused, or the next one). `ifindex`: the one it keeps when it moves in from
    /// another namespace, if free here.
    pub fn add_link(
        &mut self,
        port: usize,
        (name, mac): (&str, EthernetAddress),
        kind: LinkKind,
        ifindex: Option<u32>,
    ) -> Result<usize, String> {
        if self.live_link(name).is_some() {
            return Err("RTNETLINK answers: File exists".into());
        }
        let taken = |i: u32| {
            self.ns.links.iter().any(|l| !l.gone && l.ifindex == i)
                || self.members.iter().any(|m| m.ifindex == i)
        };
        let ifindex = match ifindex {
            Some(i) if !taken(i) => i,
            _ => self.free_ifindex(),
        };
        let iface = RouterIface {
            name: name.to_string(),
            mac,
            addrs: Vec::new(),
            mtu: 1500,
            ipv6: None,
        };
        let state = LinkState {
            kind,
            up: false,
            activated: false,
            gone: false,
            ifindex,
            held: Vec::new(),
        };
        while self.ns.ifaces.len() < port {
            // Ports of other kinds (none today) would leave holes: fill them as gone.
            let i = self.ns.ifaces.len();
            self.ns.ifaces.push(RouterIface {
                name: String::new(),
                mac: EthernetAddress([0; 6]),
                addrs: Vec::new(),
                mtu: 1500,
                ipv6: None,
            });
            self.ns.links.push(LinkState {
                gone: true,
                ..LinkState::configured(i)
            });
        }
        if port < self.ns.ifaces.len() {
            self.ns.ifaces[port] = iface;
            self.ns.links[port] = state;
        } else {
            self.ns.ifaces.push(iface);
            self.ns.links.push(state);
        }
        let n = self.ns.ifaces.len();
        self.ns.sysctl.localnet.resize(n, false);
        let default = self.ns.sysctl.rp_filter_default;
        self.ns.sysctl.rp_filter.resize(n, default);
        self.ns.sysctl.rp_filter[port] = default;
        let default = self.ns.sysctl.arp_ignore_default;
        self.ns.sysctl.arp_ignore.resize(n, default);
        self.ns.sysctl.arp_ignore[port] = default;
        self.ns.sysctl.localnet[port] = false;
        Ok(port)
    }

    /// Takes an interface away (moved to another namespace, made a bridge's port, or
    /// deleted): its addresses, routes and neighbours go with it.
    pub fn remove_link(&mut self, dev: usize) {
        if dev >= self.ns.links.len() {
            return;
        }
        // Its VLAN devices go with it, as the kernel unregisters them with their parent.
        for child in self.vlan_children(dev) {
            self.delete_vlan(child);
        }
        self.set_link_up(dev, false);
        for a in std::mem::take(&mut self.ns.ifaces[dev].addrs) {
            if let Some(stack) = self.stack.as_mut() {
                stack.net.remove_routed_addr(a.address());
            }
        }
        self.ns.links[dev].gone = true;
        self.refresh_sources();
    }

    /// Brings a gone interface back as it was (a bridge port released by `nomaster`), with
    /// the addresses it held.
    pub fn restore_link(&mut self, dev: usize, now: Instant) {
        let Some(l) = self.ns.links.get_mut(dev) else {
            return;
        };
        l.gone = false;
        for a in std::mem::take(&mut l.held) {
            self.addr_add(now, dev, a);
        }
    }

    /// The addresses a bridge port holds.
    pub(super) fn held_addrs(&self, name: &str) -> Vec<Ipv4Cidr> {
        self.enslaved_link(name)
            .map(|i| self.ns.links[i].held.clone())
            .unwrap_or_default()
    }

    /// `ip link set DEV up|down`: routes and neighbours follow, as the kernel's do.
    pub fn set_link_up(&mut self, dev: usize, up: bool) {
        let Some(l) = self.ns.links.get_mut(dev) else {
            return;
        };
        if l.up == up {
            return;
        }
        l.up = up;
        if up {
            l.activated = true;
            for a in self.ns.ifaces[dev].addrs.clone() {
                self.ns.routes.add_connected(a, dev);
            }
            self.connect6(dev);
        } else {
            self.disconnect6(dev);
            self.ns.routes.remove_dev(dev);
            for t in self.ns.tables.values_mut() {
                t.remove_dev(dev);
            }
            self.ns.neigh.flush_dev(dev);
        }
        self.refresh_sources();
    }

    /// Sets an interface's MTU (`ip link set DEV mtu N`).
    pub fn set_link_mtu(&mut self, dev: usize, mtu: u32) {
        if let Some(f) = self.ns.ifaces.get_mut(dev) {
            f.mtu = mtu;
        }
    }

    /// Sets an interface's MAC (`ip link set DEV address MAC`).
    pub fn set_link_mac(&mut self, dev: usize, mac: EthernetAddress) {
        if let Some(f) = self.ns.ifaces.get_mut(dev) {
            f.mac = mac;
        }
    }

    /// `ip addr add|del CIDR dev DEV`, `ip addr flush dev DEV`: the words after `ip addr`.
    pub fn ip_addr_cmd(&mut self, now: Instant, words: &[&str]) -> Result<String, (i32, String)> {
        let usage = || {
            (
                255,
                "Usage: ip address {add|change|replace|del} IFADDR dev IFNAME".to_string(),
            )
        };
        let (op, rest) = words.split_first().ok_or_else(usage)?;
        let dev_name = rest
            .iter()
            .position(|w| *w == "dev")
            .and_then(|i| rest.get(i + 1))
            .copied();
        let find = |name: &str| {
            self.live_link(name)
                .ok_or_else(|| (1, format!("Cannot find device \"{name}\"")))
        };
        match *op {
            "flush" => {
                let dev = find(dev_name.ok_or((1, "Flush requires arguments.".to_string()))?)?;
                for a in self.ns.ifaces[dev].addrs.clone() {
                    self.addr_del(dev, a);
                }
                // Without a family, both go (the link-local address too).
                self.flush6(dev);
                Ok(String::new())
            }
            "add" | "del" | "delete" | "replace" | "change" => {
                let Some(cidr) = rest.first().filter(|w| **w != "dev") else {
                    return Err(usage());
                };
                let dev_name = dev_name.ok_or((
                    2,
                    "Not enough information: \"dev\" argument is required.".to_string(),
                ))?;
                let cidr = parse_cidr(cidr).ok_or_else(|| {
                    (
                        1,
                        format!("Error: any valid prefix is expected rather than \"{cidr}\"."),
                    )
                })?;
                let dev = find(dev_name)?;
                let has = self.ns.ifaces[dev]
                    .addrs
                    .iter()
                    .any(|a| a.address() == cidr.address());
                match *op {
                    "add" if has => Err((2, "Error: ipv4: Address already assigned.".into())),
                    "add" | "replace" | "change" => {
                        if !has {
                            self.addr_add(now, dev, cidr);
                            let brd = rest
                                .windows(2)
                                .any(|p| p[0] == "brd" || p[0] == "broadcast");
                            if !brd && cidr.prefix_len() < 31 {
                                self.ns.no_brd.push(cidr.address());
                            }
                        }
                        Ok(String::new())
                    }
                    _ if !has => Err((2, "Error: ipv4: Address not found.".into())),
                    _ => {
                        self.addr_del(dev, cidr);
                        Ok(String::new())
                    }
                }
            }
            _ => Err((
                255,
                format!("Command \"{op}\" is unknown, try \"ip address help\"."),
            )),
        }
    }

    fn addr_add(&mut self, now: Instant, dev: usize, cidr: Ipv4Cidr) {
        self.ns.ifaces[dev].addrs.push(cidr);
        if self.ns.links[dev].up {
            self.ns.routes.add_connected(cidr, dev);
        }
        let (name, mtu) = (self.ns.ifaces[dev].name.clone(), self.ns.ifaces[dev].mtu);
        if let Some(stack) = self.stack.as_mut() {
            stack.net.add_routed_addr(&name, cidr, mtu, now);
        }
        self.refresh_sources();
    }

    fn addr_del(&mut self, dev: usize, cidr: Ipv4Cidr) {
        self.ns.ifaces[dev]
            .addrs
            .retain(|a| a.address() != cidr.address());
        self.ns.no_brd.retain(|a| *a != cidr.address());
        self.ns.routes.remove_connected(cidr, dev);
        if let Some(stack) = self.stack.as_mut() {
            stack.net.remove_routed_addr(cidr.address());
        }
        self.refresh_sources();
    }
}

/// How `ip link show` and `ip addr show` pick links: `[dev] DEV`, `master BR`, `type T`.
enum Pick<'a> {
    Dev(&'a str),
    Master(&'a str),
    Type(&'a str),
}

impl Router {
    /// `ip [-s] link|addr show [dev] DEV | master BR | type bridge|veth|dummy`, and
    /// `bridge link [show]`: None for other commands.
    pub(super) fn picked_links(
        &self,
        words: &[&str],
        ports: &[crate::sim::PortView],
    ) -> Option<Result<String, String>> {
        use crate::listing::iproute;
        if let ["bridge", "link"] | ["bridge", "link", "show"] = words {
            return Some(Ok(self.bridge_link(ports)));
        }
        let (what, stats, rest) = match words {
            ["ip", "-s", w, "show", rest @ ..] => (*w, true, rest),
            ["ip", w, "show", rest @ ..] => (*w, false, rest),
            _ => return None,
        };
        let pick = match rest {
            [] => return None,
            ["dev", d] | [d] => Pick::Dev(d),
            ["master", b] => Pick::Master(b),
            ["type", t] => Pick::Type(t),
            _ => return None,
        };
        let links = self.links(ports);
        let kind_of = |name: &str| {
            self.live_link(name)
                .map(|i| self.ns.links[i].kind)
                .or_else(|| self.enslaved_link(name).map(|_| LinkKind::Veth))
        };
        let picked: Vec<_> = links
            .into_iter()
            .filter(|l| match pick {
                Pick::Dev(d) => l.name == d,
                Pick::Master(b) => l.master.as_deref() == Some(b),
                Pick::Type(t) => match kind_of(&l.name) {
                    Some(LinkKind::Bridge) => t == "bridge",
                    Some(LinkKind::Dummy) => t == "dummy",
                    Some(_) => t == "veth",
                    None => false,
                },
            })
            .collect();
        if let Pick::Dev(d) = pick
            && picked.is_empty()
        {
            return Some(Err(format!("Device \"{d}\" does not exist.")));
        }
        if let Pick::Master(b) = pick
            && !self
                .ns
                .ifaces
                .iter()
                .zip(&self.ns.links)
                .any(|(f, l)| f.name == b && !l.gone)
        {
            return Some(Err(format!(
                "Error: argument \"{b}\" is wrong: Device does not exist"
            )));
        }
        Some(Ok(match what {
            "link" | "l" => iproute::ip_link(&picked, stats),
            "addr" | "a" | "address" => iproute::ip_addr(&picked),
            _ => return None,
        }))
    }

    /// `bridge link`: the ports of the router's bridges, as iproute2 lists them.
    fn bridge_link(&self, ports: &[crate::sim::PortView]) -> String {
        let mut out = String::new();
        let links = self.links(ports);
        for l in links.iter().filter(|l| l.master.is_some()) {
            // iproute2 looks the peer's ifindex up in this namespace, whichever it is in.
            let peer = l.peer_ifindex.map(|i| {
                links
                    .iter()
                    .find(|x| x.ifindex == i)
                    .map_or_else(|| format!("@if{i}"), |x| format!("@{}", x.name))
            });
            let peer = peer.unwrap_or_default();
            let (flags, state) = match (l.admin_up, l.carrier) {
                (false, _) => ("BROADCAST,MULTICAST", "disabled"),
                (true, true) => ("BROADCAST,MULTICAST,UP,LOWER_UP", "forwarding"),
                (true, false) => ("NO-CARRIER,BROADCAST,MULTICAST,UP", "disabled"),
            };
            out.push_str(&format!(
                "{}: {}{peer}: <{flags}> mtu {} master {} state {state} priority 32 cost 2 \n",
                l.ifindex,
                l.name,
                l.mtu,
                l.master.as_deref().unwrap_or_default()
            ));
        }
        out
    }
}

/// `10.0.0.1/24`, or a bare address as `/32`, as `ip addr add` reads them.
fn parse_cidr(s: &str) -> Option<Ipv4Cidr> {
    match s.split_once('/') {
        Some((a, p)) => {
            let a: Ipv4Address = a.parse().ok()?;
            let p: u8 = p.parse().ok().filter(|p| *p <= 32)?;
            Some(Ipv4Cidr::new(a, p))
        }
        None => Some(Ipv4Cidr::new(s.parse().ok()?, 32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_as_ip_addr_reads_them() {
        assert_eq!(
            parse_cidr("10.0.0.1/24"),
            Some(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 1), 24))
        );
        assert_eq!(
            parse_cidr("10.0.0.1"),
            Some(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 1), 32))
        );
        assert_eq!(parse_cidr("10.0.0.1/33"), None);
        assert_eq!(parse_cidr("ten"), None);
    }
}
