//! The network namespace a router is: its interfaces with their kinds, states and
//! addresses, the routing tables and rules, the neighbour table, VLAN devices and the
//! sysctls. The router node holds one and adds what a node has beside it: its own sockets
//! and programs, counters, installed tools, and the netfilter it shares with its bridges.

use std::collections::BTreeMap;

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use super::neigh::NeighTable;
use super::route::{self, RouteCmd, RouteTable};
use super::{RouterIface, links, policy, vlan};
use crate::sim::PacketTag;

pub struct Namespace {
    /// Interfaces by device number (a port's number, VLAN devices after the real ones).
    pub(super) ifaces: Vec<RouterIface>,
    pub routes: RouteTable,
    /// Neighbours, their queues holding each packet with its tag.
    pub neigh: NeighTable<(PacketTag, Vec<u8>)>,
    /// Routing tables other than `main` (`ip route add ... table N`).
    pub(super) tables: BTreeMap<u32, RouteTable>,
    /// The routing policy database (`ip rule`).
    pub(super) rules: policy::RuleList,
    /// Each interface's kind, state and ifindex (see `links.rs`), by device.
    pub(super) links: Vec<links::LinkState>,
    /// `lo` is up (a namespace made by `ip netns add` starts with it down).
    pub(super) lo_up: bool,
    /// Namespaces with names (`ip netns add`), which listings name (`link-netns NAME`).
    pub(super) named_netns: Vec<String>,
    /// Addresses added by `ip addr add` without `brd`: they have no broadcast address.
    pub(super) no_brd: Vec<Ipv4Address>,
    /// VLAN devices, and which interfaces have ports (see `vlan`).
    pub(super) vlans: vlan::Vlans,
    pub(super) sysctl: Sysctls,
    /// IPv6's routes, neighbours and forwarding switch.
    pub v6: super::ipv6::V6,
}

/// The namespace's `net.ipv4` settings the router models (`sysctl.rs` reads and writes
/// them by name).
pub(super) struct Sysctls {
    /// `net.ipv4.ip_forward`.
    pub forwarding: bool,
    /// `net.ipv4.conf.IF.route_localnet` per interface, and `conf.all`.
    pub localnet: Vec<bool>,
    pub localnet_all: bool,
    /// `net.ipv4.conf.IF.rp_filter` per interface, and `all`'s and `default`'s: the check
    /// uses the larger of `all` and the interface's (0 off, 1 strict, else loose).
    pub rp_filter: Vec<u32>,
    pub rp_filter_all: u32,
    pub rp_filter_default: u32,
    /// `net.ipv4.conf.IF.arp_ignore` per interface, `all`'s and `default`'s: which ARP
    /// requests the router answers (the larger of `all` and the interface's counts).
    pub arp_ignore: Vec<u32>,
    pub arp_ignore_all: u32,
    pub arp_ignore_default: u32,
}

impl Namespace {
    /// A namespace with `ifaces` configured and up, their connected routes, and forwarding
    /// as given.
    pub(super) fn new(
        mut ifaces: Vec<RouterIface>,
        forwarding: bool,
        neigh: NeighTable<(PacketTag, Vec<u8>)>,
        mut v6: super::ipv6::V6,
    ) -> Namespace {
        let n = ifaces.len();
        let mut routes = RouteTable::default();
        for (i, f) in ifaces.iter_mut().enumerate() {
            for a in &f.addrs {
                routes.add_connected(*a, i);
            }
            if let Some(statics) = &f.ipv6 {
                let all = super::ipv6::iface_addrs(statics, f.mac);
                for c in &all {
                    v6.routes.add_connected(*c, i);
                }
                f.ipv6 = Some(all);
            }
        }
        Namespace {
            links: (0..n).map(links::LinkState::configured).collect(),
            ifaces,
            routes,
            neigh,
            tables: BTreeMap::new(),
            rules: policy::RuleList::default(),
            lo_up: true,
            named_netns: Vec::new(),
            no_brd: Vec::new(),
            vlans: vlan::Vlans::default(),
            v6,
            sysctl: Sysctls {
                forwarding,
                localnet: vec![false; n],
                localnet_all: false,
                rp_filter: vec![0; n],
                rp_filter_all: 0,
                rp_filter_default: 0,
                arp_ignore: vec![0; n],
                arp_ignore_all: 0,
                arp_ignore_default: 0,
            },
        }
    }

    /// `arp_ignore` (`arp_ignore()` in the kernel): 0 answers for any local address, 1 only
    /// for one on the interface the request came in on, 2 also only from a sender on that
    /// address's subnet, 8 never; 3 to 7 answer as 0 does (no scope-host addresses here).
    pub(super) fn arp_ignored(&self, dev: usize, sender: Ipv4Address, target: Ipv4Address) -> bool {
        let mode = self
            .sysctl
            .arp_ignore_all
            .max(self.sysctl.arp_ignore.get(dev).copied().unwrap_or(0));
        let on_dev = || {
            self.ifaces[dev]
                .addrs
                .iter()
                .find(|a| a.address() == target)
        };
        match mode {
            1 => on_dev().is_none(),
            2 => on_dev().is_none_or(|a| !a.contains_addr(&sender)),
            8.. => true,
            _ => false,
        }
    }

    /// Whether 127.0.0.0/8 may be routed on an interface (`route_localnet`): otherwise a
    /// loopback source or destination there is a martian.
    pub(super) fn localnet(&self, dev: usize) -> bool {
        self.sysctl.localnet_all || self.sysctl.localnet.get(dev).copied().unwrap_or(false)
    }

    pub fn apply_route(&mut self, cmd: &RouteCmd) -> Result<(), String> {
        let ifaces = &self.ifaces;
        let links = &self.links;
        let onlink: Vec<(Ipv4Cidr, usize)> = self
            .routes
            .entries()
            .iter()
            .filter(|r| r.via.is_none())
            .map(|r| (r.dst, r.dev))
            .collect();
        let dev_of = |n: &str| {
            ifaces
                .iter()
                .zip(links)
                .position(|(f, l)| f.name == n && !l.gone)
        };
        // A gateway must be on a link: a subnet of an interface, or a route through a
        // device alone (`ip route add 192.168.2.0/24 dev eth1`), as the kernel's nexthop
        // check finds it.
        let connected = |gw: Ipv4Address| {
            ifaces
                .iter()
                .position(|f| f.addrs.iter().any(|a| a.contains_addr(&gw)))
                .or_else(|| {
                    onlink
                        .iter()
                        .filter(|(dst, _)| dst.contains_addr(&gw))
                        .max_by_key(|(dst, _)| dst.prefix_len())
                        .map(|(_, dev)| *dev)
                })
        };
        if cmd.table == policy::MAIN {
            return self.routes.apply(cmd, dev_of, connected);
        }
        if cmd.op == route::RouteOp::Del && !self.tables.contains_key(&cmd.table) {
            return Err("RTNETLINK answers: No such process".into());
        }
        let table = self.tables.entry(cmd.table).or_default();
        table.apply(cmd, dev_of, connected)
    }

    /// The route for a packet as the kernel's policy routing finds it: the rules in
    /// priority order, each looking up its table, the first route found winning; with it,
    /// the table and the rule's priority. Rule 0's `local` table is the router's own
    /// addresses, handled before routing.
    pub fn route_for(&self, key: &policy::FlowKey) -> Option<(route::Route, u32, u32)> {
        self.routing().lookup(key)
    }

    /// The router's tables and rules, for a lookup.
    pub(super) fn routing(&self) -> policy::Routing<'_> {
        policy::Routing {
            main: &self.routes,
            tables: &self.tables,
            rules: &self.rules,
        }
    }

    /// The reverse-path check of `rp_filter` (`fib_validate_source`): the route back to
    /// `src` (looked up from `lo`, without the packet's mark) must exist, and in strict mode
    /// leave by `dev`, the interface the packet came in on.
    pub(super) fn reverse_path_ok(&self, src: Ipv4Address, dst: Ipv4Address, dev: usize) -> bool {
        let rpf = self.sysctl.rp_filter_all.max(self.sysctl.rp_filter[dev]);
        if rpf == 0 {
            return true;
        }
        let key = policy::FlowKey::from_lo(Some(dst), src, 0);
        match self.route_for(&key) {
            None => false,
            Some((r, _, _)) => rpf != 1 || r.dev == dev,
        }
    }

    /// The route a packet the router makes takes (no mark, from `lo`).
    pub(super) fn route_out(&self, dst: Ipv4Address) -> Option<route::Route> {
        let key = policy::FlowKey::from_lo(None, dst, 0);
        self.route_for(&key).map(|(r, _, _)| r)
    }

    pub(super) fn is_local(&self, ip: Ipv4Address) -> bool {
        self.ifaces
            .iter()
            .any(|f| f.addrs.iter().any(|a| a.address() == ip))
    }

    pub(super) fn is_broadcast(&self, ip: Ipv4Address) -> bool {
        ip.is_broadcast()
            || self
                .ifaces
                .iter()
                .any(|f| f.addrs.iter().any(|a| a.broadcast() == Some(ip)))
    }

    /// The address an interface speaks from toward `peer`: one on the peer's subnet, else the
    /// interface's first (`inet_select_addr`).
    pub(super) fn source_on(&self, dev: usize, peer: Ipv4Address) -> Option<Ipv4Address> {
        let f = self.ifaces.get(dev)?;
        f.addrs
            .iter()
            .find(|a| a.contains_addr(&peer))
            .or(f.addrs.first())
            .map(|a| a.address())
    }
}
