//! A learning bridge with Linux bridge semantics.
//!
//! For each frame: drop it if its source MAC is not a valid unicast address; learn the source
//! on the ingress port; frames for a link-local group (01:80:c2:00:00:0X) stay at the bridge;
//! a frame for a MAC owned by the bridge or one of its ports goes up to the bridge's own
//! interface (the `own` port, `docker0` on a Docker host) if there is one; a known unicast
//! destination goes out of its port only, never back out of the ingress port (hairpin off);
//! broadcast, multicast and unknown unicast flood to every port but the ingress.
//! The bridge knows nothing of IP.
//!
//! With spanning tree on (`stp_state 1`, see `stp`), BPDUs to 01:80:c2:00:00:00 go to the
//! protocol, a port learns only while learning or forwarding, and frames enter and leave
//! only forwarding ports. With it off (the default, as in Linux), BPDUs are flooded like any
//! frame, so bridges that do run STP still hear each other through this one.
//!
//! With VLAN filtering on (`vlan_filtering 1`, see `vlan`), a frame belongs to a VLAN (its
//! tag's, or the ingress port's PVID), is learned and looked up per VLAN, and leaves only
//! by ports of its VLAN, tagged or not as each port's entry says. Off (the default), tags
//! are payload: frames pass as they came.

pub mod fdb;
mod note;
pub mod stp;
pub mod vlan;
mod vlan_fwd;

pub use note::BridgeNote;
pub use vlan_fwd::check_command;

use std::any::Any;

use rustc_hash::FxHashSet;
use smoltcp::wire::{EthernetAddress, EthernetFrame};

use crate::listing::brctl;
use crate::listing::iproute::{self, FdbLine, LinkInfo};
use crate::sim::{Ctx, DropReason, Node, Note, PortView};
use crate::time::{Duration, Instant};
use fdb::{Fdb, Learn};
use stp::{Bpdu, PortState, Stp};

#[derive(Clone, Debug)]
pub struct BridgeConfig {
    pub name: String,
    /// The bridge device's MAC (as `ip link` shows for `br0`).
    pub mac: EthernetAddress,
    /// 0 turns learning off: every frame floods (a hub).
    pub ageing: Duration,
    pub fdb_max: usize,
    /// Runs 802.1D spanning tree (`stp_state 1`).
    pub stp: bool,
}

#[derive(Clone, Debug)]
pub struct BridgePort {
    pub name: String,
    /// The port device's own MAC (a veth end's), listed `master BR permanent`.
    pub mac: EthernetAddress,
    /// This port is the bridge's own interface: frames for the bridge's MACs go out of it.
    pub own: bool,
    /// Let frames go back out of the port they came in on (`hairpin on`).
    pub hairpin: bool,
}

/// Bridge-level counters (per-port packet counters are the engine's interface counters).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BridgeCounters {
    pub forwarded: u64,
    pub flooded: u64,
    pub dropped_bad_source: u64,
    pub dropped_same_port: u64,
    pub local: u64,
}

#[derive(Debug)]
pub struct Bridge {
    config: BridgeConfig,
    ports: Vec<BridgePort>,
    own_port: Option<u16>,
    /// The bridge's and its ports' MACs (`fdb::mac_key`), so that checking a destination
    /// costs one lookup, not a scan of every port (ten thousand on a big lab).
    local_macs: FxHashSet<u64>,
    pub fdb: Fdb,
    pub counters: BridgeCounters,
    /// Port ifindexes when the bridge is a router's device (the router's numbering: its
    /// `ip addr` lists these ports); empty: the bridge's own namespace numbering.
    ifindexes: Vec<u32>,
    /// The node whose interface the bridge's device is, and that interface's name: frames
    /// forwarded between ports go through its netfilter (br_netfilter,
    /// [`Node::bridge_forward`]). The bridge itself knows nothing of IP.
    master: Option<(crate::id::NodeId, String)>,
    /// Ports that do not exist now (a stopped container's veth, or one not made yet), by
    /// port number; empty when every port exists.
    absent: Vec<bool>,
    /// Spanning tree, when on; started at the bridge's first wake-up.
    stp: Option<Box<Stp>>,
    stp_started: bool,
    /// The FDB's own ageing time, restored when a topology change ends.
    ageing: Duration,
    /// The VLAN table, made when VLAN filtering turns on or a `bridge vlan` command runs;
    /// until then every port has the default VLAN and nothing is filtered.
    vlans: Option<Box<vlan::Vlans>>,
}

fn is_link_local_group(mac: EthernetAddress) -> bool {
    let b = mac.0;
    b[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && b[5] <= 0x0f
}

impl Bridge {
    pub fn new(config: BridgeConfig, ports: Vec<BridgePort>) -> Bridge {
        let own_port = ports.iter().position(|p| p.own).map(|i| i as u16);
        // The bridge device's own port is the bridge itself in Linux, not a member port.
        let stp = config.stp.then(|| {
            let members: Vec<bool> = ports.iter().map(|p| !p.own).collect();
            Box::new(Stp::new(config.mac.0, &members))
        });
        let local_macs = std::iter::once(config.mac)
            .chain(ports.iter().map(|p| p.mac))
            .map(fdb::mac_key)
            .collect();
        Bridge {
            fdb: Fdb::new(config.ageing, config.fdb_max),
            ageing: config.ageing,
            config,
            ports,
            own_port,
            local_macs,
            counters: BridgeCounters::default(),
            ifindexes: Vec::new(),
            master: None,
            absent: Vec::new(),
            stp,
            stp_started: false,
            vlans: None,
        }
    }

    /// Whether VLAN filtering is on (`vlan_filtering 1`).
    pub fn vlan_filtering(&self) -> bool {
        self.vlans.as_ref().is_some_and(|v| v.filtering)
    }

    /// Turns VLAN filtering on or off (`ip link set BR type bridge vlan_filtering 1`); the
    /// ports keep their VLANs either way.
    pub fn set_vlan_filtering(&mut self, on: bool) {
        self.vlans_mut().filtering = on;
    }

    /// The VLAN table, if anything made one (see the field).
    pub fn vlans(&self) -> Option<&vlan::Vlans> {
        self.vlans.as_deref()
    }

    /// Replaces a port's VLANs (the own port's are the bridge device's).
    pub fn set_port_vlans(&mut self, port: u16, table: vlan::PortVlans) {
        if let Some(t) = self.vlans_mut().port_mut(port) {
            *t = table;
        }
    }

    /// Replaces the bridge device's own VLANs (`bridge vlan ... dev BR self`).
    pub fn set_bridge_vlans(&mut self, table: vlan::PortVlans) {
        *self.vlans_mut().bridge_mut() = table;
    }

    fn vlans_mut(&mut self) -> &mut vlan::Vlans {
        let (n, own) = (self.ports.len(), self.own_port);
        self.vlans
            .get_or_insert_with(|| Box::new(vlan::Vlans::new(n, own, false)))
    }

    /// The spanning tree, when on.
    pub fn stp(&self) -> Option<&Stp> {
        self.stp.as_deref()
    }

    /// Whether frames may enter and leave `port` (always, without spanning tree).
    #[inline]
    fn forwards(&self, port: u16) -> bool {
        match &self.stp {
            None => true,
            Some(s) => s
                .ports
                .get(usize::from(port))
                .is_none_or(|p| !p.member || p.state == PortState::Forwarding),
        }
    }

    /// Whether `port` learns source addresses (learning or forwarding, with spanning tree).
    #[inline]
    fn learns(&self, port: u16) -> bool {
        match &self.stp {
            None => true,
            Some(s) => s.ports.get(usize::from(port)).is_none_or(|p| {
                !p.member || matches!(p.state, PortState::Forwarding | PortState::Learning)
            }),
        }
    }

    /// Sends the BPDUs spanning tree queued, notes its port state changes, and follows a
    /// topology change with the FDB's ageing (twice the forward delay while it lasts).
    fn flush_stp(&mut self, ctx: &mut Ctx<'_>) {
        let Some(stp) = self.stp.as_mut() else {
            return;
        };
        for (port, bpdu) in stp.out.drain(..) {
            let Some(p) = self.ports.get(usize::from(port)) else {
                continue;
            };
            let mut buf = ctx.buffer();
            bpdu.encode(p.mac.0, &mut buf);
            ctx.send_new(port, buf);
        }
        for (port, state) in stp.changes.drain(..) {
            if ctx.detail()
                && let Some(p) = self.ports.get(usize::from(port))
            {
                // As the kernel logs it: `br0: port 2(a2) entering blocking state`.
                ctx.note(Note::Decision(
                    format!(
                        "{}: port {}({}) entering {} state",
                        self.config.name,
                        port + 1,
                        p.name,
                        state.name()
                    )
                    .into(),
                ));
            }
            if state == PortState::Disabled {
                // A disabled port forgets what it learned (`br_stp_disable_port`).
                self.fdb.flush_port(port);
            }
        }
        let ageing = match stp.topology_change {
            true => stp::FORWARD_DELAY + stp::FORWARD_DELAY,
            false => self.ageing,
        };
        if ageing != self.fdb.ageing() {
            self.fdb.set_ageing(ageing);
        }
    }

    #[inline]
    /// Learns `src` on `port`; true if the entry was only refreshed (the FDB's next expiry,
    /// and so the bridge's deadline, did not move).
    fn learn(&mut self, now: Instant, src: EthernetAddress, port: u16, ctx: &mut Ctx<'_>) -> bool {
        match self.fdb.learn(src, port, now) {
            Learn::New => ctx.note_own(BridgeNote::Learned { mac: src, port }),
            Learn::Moved { from } => ctx.note_own(BridgeNote::Moved {
                mac: src,
                from,
                to: port,
            }),
            Learn::Full => ctx.note_own(BridgeNote::FdbFull { mac: src }),
            Learn::Refreshed => return true,
            Learn::Disabled => {}
        }
        false
    }

    /// A BPDU to the bridge group address, with spanning tree on: the protocol takes it
    /// (`br_stp_rcv`), on any port that is not disabled; it is never forwarded.
    fn stp_receive(
        &mut self,
        now: Instant,
        port: u16,
        frame: &[u8],
        src: EthernetAddress,
        ctx: &mut Ctx<'_>,
    ) {
        if self.learns(port) {
            self.learn(now, src, port, ctx);
        }
        if !self.stp_started {
            // A BPDU before the bridge's first wake-up (both at time 0) waits for nothing:
            // the protocol starts now.
            self.handle_timeout(now, ctx);
        }
        match (Bpdu::parse(frame), self.stp.as_mut()) {
            (Some(bpdu), Some(stp)) => stp.receive(now, usize::from(port), &bpdu),
            _ => ctx.note(Note::Dropped(DropReason::Malformed)),
        }
        self.flush_stp(ctx);
    }

    /// A port's carrier came or went (its link set up or down): spanning tree enables or
    /// disables the port.
    pub fn set_carrier(&mut self, now: Instant, port: u16, up: bool, ctx: &mut Ctx<'_>) {
        let started = self.stp_started;
        if let Some(stp) = self.stp.as_mut().filter(|_| started) {
            match up {
                true => stp.enable_port(now, usize::from(port)),
                false => stp.disable_port(now, usize::from(port)),
            }
        }
        self.flush_stp(ctx);
    }

    /// Gives the bridge a new port (`ip link set DEV master BR` at run time), numbered
    /// after the last, with the ifindex its device has in the bridge's namespace.
    pub fn add_port(&mut self, port: BridgePort, ifindex: u32) -> u16 {
        self.local_macs.insert(fdb::mac_key(port.mac));
        if !self.ifindexes.is_empty() {
            self.ifindexes.resize(self.ports.len(), 0);
            self.ifindexes.push(ifindex);
        }
        self.ports.push(port);
        if !self.absent.is_empty() {
            self.absent.resize(self.ports.len(), false);
        }
        if let Some(v) = self.vlans.as_mut() {
            v.push_port();
        }
        (self.ports.len() - 1) as u16
    }

    /// The bridge's device takes a new MAC (the kernel gives a bridge its lowest port's
    /// MAC while none was set by hand).
    pub fn set_mac(&mut self, mac: EthernetAddress) {
        let old = fdb::mac_key(self.config.mac);
        if !self.ports.iter().any(|p| fdb::mac_key(p.mac) == old) {
            self.local_macs.remove(&old);
        }
        self.config.mac = mac;
        self.local_macs.insert(fdb::mac_key(mac));
        if let Some(own) = self.own_port {
            self.ports[usize::from(own)].mac = mac;
        }
    }

    /// Adds or deletes a port (`ip link set vethX master br0`, `ip link del vethX`): a
    /// deleted port's learned entries go with it, and its MAC is no longer the bridge's.
    pub fn set_port_present(&mut self, port: u16, present: bool) {
        let i = usize::from(port);
        if i >= self.ports.len() {
            return;
        }
        if self.absent.len() < self.ports.len() {
            self.absent.resize(self.ports.len(), false);
        }
        self.absent[i] = !present;
        let key = fdb::mac_key(self.ports[i].mac);
        if present {
            self.local_macs.insert(key);
        } else {
            self.fdb.flush_port(port);
            if self.ports[i].mac != self.config.mac {
                self.local_macs.remove(&key);
            }
        }
    }

    fn is_present(&self, port: usize) -> bool {
        !self.absent.get(port).copied().unwrap_or(false)
    }

    /// A bridge with `ports` member ports named `{prefix}0`, `{prefix}1`, …, each with a MAC
    /// derived from its number, default ageing and bound: for benchmarks and tests that need
    /// many ports and no lab file. Returns the port names too, in port order.
    pub fn numbered(name: &str, prefix: &str, ports: usize) -> (Bridge, Vec<String>) {
        let names: Vec<String> = (0..ports).map(|i| format!("{prefix}{i}")).collect();
        let members = names
            .iter()
            .enumerate()
            .map(|(i, n)| BridgePort {
                name: n.clone(),
                mac: EthernetAddress([0x0a, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
                own: false,
                hairpin: false,
            })
            .collect();
        let config = BridgeConfig {
            name: name.into(),
            mac: EthernetAddress([0x0a, 0xff, 0, 0, 0, 1]),
            ageing: fdb::DEFAULT_AGEING,
            fdb_max: fdb::DEFAULT_FDB_MAX,
            stp: false,
        };
        (Bridge::new(config, members), names)
    }

    /// The bridge's device is interface `dev` of node `node`: frames forwarded between
    /// ports go through that node's netfilter (br_netfilter).
    pub fn set_master(&mut self, node: crate::id::NodeId, dev: &str) {
        self.master = Some((node, dev.to_string()));
    }

    /// The master whose netfilter the frames forwarded between ports go through now
    /// (br_netfilter on there), and the bridge's device name in it.
    fn filtering_master(&self, ctx: &mut Ctx<'_>) -> Option<(crate::id::NodeId, &str)> {
        let (master, dev) = self.master.as_ref()?;
        ctx.bridge_filtering(*master, dev)
            .then_some((*master, dev.as_str()))
    }

    /// Numbers the ports as the host that owns the bridge device numbers them, in port order.
    pub fn number_ports(&mut self, ifindexes: Vec<u32>) {
        self.ifindexes = ifindexes;
    }

    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    pub fn ports(&self) -> &[BridgePort] {
        &self.ports
    }

    fn is_local_mac(&self, mac: EthernetAddress) -> bool {
        self.local_macs.contains(&fdb::mac_key(mac))
    }

    fn fdb_listing(&self, argv: &[String]) -> Result<String, String> {
        let mut only_dev: Option<&str> = None;
        let mut only_vlan: Option<u16> = None;
        let mut dynamic_only = false;
        let mut it = argv.iter().skip(3);
        while let Some(w) = it.next() {
            match w.as_str() {
                "br" => {
                    let b = it.next().ok_or("bridge fdb show br: missing bridge name")?;
                    if *b != self.config.name {
                        return Err(format!("Cannot find device \"{b}\""));
                    }
                }
                "brport" | "dev" => {
                    let d = it.next().ok_or("bridge fdb show dev: missing device")?;
                    let port = self
                        .ports
                        .iter()
                        .enumerate()
                        .position(|(i, p)| p.name == *d && self.is_present(i));
                    if *d != self.config.name && port.is_none() {
                        return Err(format!("Cannot find device \"{d}\""));
                    }
                    only_dev = Some(d.as_str());
                }
                "dynamic" => dynamic_only = true,
                // `atoi`: 0 (a word that is no number) lists every entry.
                "vlan" => {
                    let v = it.next().ok_or("bridge fdb show vlan: missing VLAN id")?;
                    only_vlan = Some(vlan::atoi_short(v) as u16).filter(|v| *v != 0);
                }
                other => return Err(format!("bridge fdb show: unknown argument \"{other}\"")),
            }
        }
        let br = &self.config.name;
        let all_hosts = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        let line = |mac, dev: &str, vlan, master: bool, permanent| FdbLine {
            mac,
            dev: dev.to_string(),
            vlan,
            master: master.then(|| br.clone()),
            permanent,
        };
        // A local address has an entry per VLAN of its device, newest first, then one
        // without a VLAN (`fdb_add_local` for VLAN 0 first, then each VLAN added); only
        // once the bridge has a VLAN table (before, the listings are those of a bridge
        // built without VLAN filtering support).
        let local = |lines: &mut Vec<FdbLine>, mac, dev: &str, table: Option<&vlan::PortVlans>| {
            for vid in table.into_iter().flat_map(vlan::PortVlans::newest_first) {
                lines.push(line(mac, dev, Some(vid), true, true));
            }
            lines.push(line(mac, dev, None, true, true));
        };
        let mut lines = Vec::new();
        // The bridge device: its multicast list (self), then its own address (master).
        if !dynamic_only {
            lines.push(line(all_hosts, br, None, false, true));
            let table = self.vlans.as_deref().map(vlan::Vlans::bridge);
            local(&mut lines, self.config.mac, br, table);
        }
        let learned = self.fdb.entries();
        for (i, port) in self.ports.iter().enumerate() {
            if port.own || !self.is_present(i) {
                continue;
            }
            // Newest first, as the kernel's FDB list is kept (`hlist_add_head`).
            for (mac, e) in learned.iter().rev() {
                if usize::from(e.port) == i {
                    let vid = (e.vid != 0).then_some(e.vid);
                    lines.push(line(*mac, &port.name, vid, true, false));
                }
            }
            if !dynamic_only {
                let table = self.vlans.as_deref().map(|v| v.port(i as u16));
                local(&mut lines, port.mac, &port.name, table);
                lines.push(line(all_hosts, &port.name, None, false, true));
            }
        }
        if let Some(d) = only_dev {
            lines.retain(|l| l.dev == d);
        }
        if let Some(v) = only_vlan {
            lines.retain(|l| l.vlan == Some(v));
        }
        Ok(iproute::bridge_fdb(&lines))
    }

    /// This bridge as `brctl show` lists it: its ports that exist now.
    fn brctl_bridge(&self) -> brctl::BrctlBridge {
        brctl::BrctlBridge {
            name: self.config.name.clone(),
            mac: self.config.mac,
            stp: self.config.stp,
            interfaces: self
                .ports
                .iter()
                .enumerate()
                .filter(|(i, p)| !p.own && self.is_present(*i))
                .map(|(_, p)| p.name.clone())
                .collect(),
        }
    }

    /// `brctl showmacs`: each port's own address, then what was learned, numbered as the
    /// kernel numbers ports (from 1, in the order they joined).
    fn brctl_macs(&self, now: Instant) -> Vec<brctl::MacEntry> {
        let mut numbers = vec![0u16; self.ports.len()];
        let mut next = 1;
        for (i, p) in self.ports.iter().enumerate() {
            if !p.own {
                numbers[i] = next;
                next += 1;
            }
        }
        let mut out = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            if p.own || !self.is_present(i) {
                continue;
            }
            out.push(brctl::MacEntry {
                port: numbers[i],
                mac: p.mac,
                local: true,
                age_cs: 0,
            });
        }
        for (mac, e) in self.fdb.entries() {
            let i = usize::from(e.port);
            if self.ports.get(i).is_none_or(|p| p.own) || !self.is_present(i) {
                continue;
            }
            out.push(brctl::MacEntry {
                port: numbers[i],
                mac,
                local: false,
                age_cs: now.saturating_sub(e.updated).nanos() / 10_000_000,
            });
        }
        out
    }

    /// The bridge's namespace as `ip link` sees it: lo, the bridge device, its ports.
    fn links(&self, views: &[PortView]) -> Vec<LinkInfo> {
        let any_up = views.iter().any(|v| v.up);
        let mut links = vec![LinkInfo::loopback()];
        links.push(LinkInfo {
            carrier: any_up,
            bridge: true,
            ..LinkInfo::device(2, &self.config.name, self.config.mac, 1500)
        });
        let mut netns: Vec<String> = Vec::new();
        for (i, (p, v)) in self.ports.iter().zip(views).enumerate() {
            if !v.present {
                continue;
            }
            let nsid = v.peer_node.as_ref().map(|n| {
                netns.iter().position(|x| x == n).unwrap_or_else(|| {
                    netns.push(n.clone());
                    netns.len() - 1
                }) as u32
            });
            links.push(LinkInfo {
                peer_ifindex: v.peer_ifindex,
                carrier: v.up,
                master: Some(self.config.name.clone()),
                link_netnsid: nsid,
                stats: v.stats,
                ..LinkInfo::device(self.ifindex(i as u16), &p.name, p.mac, 1500)
            });
        }
        links
    }

    /// `bridge link`: iproute2 resolves the peer's ifindex in the bridge's own namespace.
    fn bridge_link(&self, views: &[PortView]) -> String {
        let links = self.links(views);
        let mut out = String::new();
        for l in links.iter().filter(|l| l.master.is_some()) {
            // A peer in another namespace is only a number here, as iproute2 prints it.
            let peer = l.peer_ifindex.map(|i| {
                links
                    .iter()
                    .find(|x| x.ifindex == i && l.link_netnsid.is_none())
                    .map_or_else(|| format!("@if{i}"), |x| format!("@{}", x.name))
            });
            let stp_state = self
                .ports
                .iter()
                .position(|p| p.name == l.name)
                .and_then(|i| self.stp.as_ref()?.ports.get(i))
                .filter(|p| p.member)
                .map(|p| p.state.name());
            let (flags, state) = if l.carrier {
                (
                    "BROADCAST,MULTICAST,UP,LOWER_UP",
                    stp_state.unwrap_or("forwarding"),
                )
            } else {
                ("NO-CARRIER,BROADCAST,MULTICAST,UP", "disabled")
            };
            out.push_str(&format!(
                "{}: {}{}: <{flags}> mtu {} master {} state {state} priority 32 cost 2 \n",
                l.ifindex,
                l.name,
                peer.unwrap_or_default(),
                l.mtu,
                self.config.name
            ));
        }
        out
    }
}

impl Node for Bridge {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn kind(&self) -> &'static str {
        "bridge"
    }

    fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8], ctx: &mut Ctx<'_>) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            ctx.note(Note::Dropped(DropReason::Malformed));
            return;
        };
        let (src, dst) = (eth.src_addr(), eth.dst_addr());
        if !src.is_unicast() || src == EthernetAddress([0; 6]) {
            self.counters.dropped_bad_source += 1;
            ctx.note(Note::Dropped(DropReason::BadSource));
            return;
        }
        if self.stp.is_some() {
            if dst.0 == stp::GROUP_ADDRESS {
                self.stp_receive(now, port, frame, src, ctx);
                return;
            }
            if !self.forwards(port) {
                // Listening and blocking ports drop; a learning one learns first.
                if self.learns(port) {
                    self.learn(now, src, port, ctx);
                }
                ctx.note(Note::Dropped(DropReason::PortState));
                return;
            }
        }
        if self.vlans.as_ref().is_some_and(|v| v.filtering) {
            self.vlan_frame(now, port, frame, (src, dst), ctx);
            return;
        }
        let refreshed = self.learn(now, src, port, ctx);
        // Without spanning tree, BPDUs are flooded like any frame (`br_handle_frame`).
        if is_link_local_group(dst) && dst.0 != stp::GROUP_ADDRESS {
            return;
        }
        if dst.is_unicast() {
            if self.is_local_mac(dst) {
                self.counters.local += 1;
                if let Some(own) = self.own_port.filter(|&o| o != port) {
                    ctx.note_own(BridgeNote::Forwarded { port: own });
                    ctx.forward(own);
                }
                return;
            }
            if let Some(out) = self.fdb.lookup(dst) {
                if out == port && !self.ports[usize::from(port)].hairpin {
                    self.counters.dropped_same_port += 1;
                    ctx.note(Note::Dropped(DropReason::SamePort));
                    return;
                }
                if !self.forwards(out) {
                    ctx.note(Note::Dropped(DropReason::PortState));
                    return;
                }
                let own = self.own_port;
                let names = (
                    self.ports[usize::from(port)].name.as_str(),
                    self.ports[usize::from(out)].name.as_str(),
                );
                if own != Some(port)
                    && own != Some(out)
                    && let Some((master, dev)) = self.filtering_master(ctx)
                {
                    let mut copy = ctx.buffer();
                    copy.extend_from_slice(frame);
                    if !ctx.bridge_forward(now, master, dev, &mut copy, names) {
                        ctx.note(Note::Dropped(DropReason::Filtered));
                        return;
                    }
                    self.counters.forwarded += 1;
                    ctx.note_own(BridgeNote::Forwarded { port: out });
                    ctx.send_same(out, copy);
                    return;
                }
                self.counters.forwarded += 1;
                ctx.note_own(BridgeNote::Forwarded { port: out });
                ctx.forward(out);
                // Known source, known destination: nothing the deadline depends on moved
                // (spanning tree's timers are left to `poll_timeout`).
                if refreshed && self.stp.is_none() {
                    ctx.deadline_kept();
                }
                return;
            }
        }
        self.counters.flooded += 1;
        if self.stp.is_some() && !(0..self.ports.len() as u16).all(|p| self.forwards(p)) {
            // Some port does not forward: a copy to each port that does, one by one.
            let mut sent = 0;
            for p in 0..self.ports.len() as u16 {
                if p != port && self.forwards(p) && self.is_present(usize::from(p)) {
                    ctx.forward(p);
                    sent += 1;
                }
            }
            ctx.note_own(BridgeNote::Flooded {
                ports: sent,
                unknown_unicast: dst.is_unicast(),
            });
            return;
        }
        let absent = self.absent.iter().filter(|a| **a).count();
        ctx.note_own(BridgeNote::Flooded {
            ports: self.ports.len().saturating_sub(1 + absent) as u32,
            unknown_unicast: dst.is_unicast(),
        });
        ctx.flood(port, frame);
    }

    fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        self.fdb.expire(now);
        if let Some(stp) = self.stp.as_mut() {
            if !self.stp_started {
                // The bridge comes up with its present ports.
                self.stp_started = true;
                let up: Vec<bool> = (0..self.ports.len())
                    .map(|i| !self.absent.get(i).copied().unwrap_or(false))
                    .collect();
                stp.enable(now, &up);
            }
            stp.run_timers(now);
            self.flush_stp(ctx);
        }
    }

    fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        let fdb = self.fdb.next_expiry();
        match &self.stp {
            None => fdb,
            Some(_) if !self.stp_started => Some(now),
            Some(stp) => [fdb, stp.next_timer()].into_iter().flatten().min(),
        }
    }

    fn carrier(&mut self, now: Instant, port: u16, up: bool, ctx: &mut Ctx<'_>) {
        self.set_carrier(now, port, up, ctx);
    }

    fn start_command(
        &mut self,
        _now: Instant,
        cmd: crate::sim::CmdId,
        argv: &[String],
        _input: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (exit_code, output) = self
            .run_vlan_command(&words)
            .ok_or_else(|| format!("a bridge runs no `{}`", argv.join(" ")))?;
        ctx.finish(
            cmd,
            crate::sim::CmdResult {
                exit_code,
                output,
                ..Default::default()
            },
        );
        Ok(())
    }

    fn show(
        &mut self,
        now: Instant,
        argv: &[String],
        ports: &[PortView],
    ) -> Result<String, String> {
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        if let Some(out) = iproute::link_listing(&words, || self.links(ports)) {
            return Ok(out);
        }
        match words.as_slice() {
            ["bridge", "fdb", "show", ..] | ["bridge", "fdb"] => self.fdb_listing(argv),
            ["bridge", "vlan", ..] => self.vlan_listing(&words),
            ["bridge", "link"] | ["bridge", "link", "show"] => Ok(self.bridge_link(ports)),
            ["brctl", "show"] => Ok(brctl::show(&[self.brctl_bridge()])),
            ["brctl", "show", names @ ..] => {
                if let Some(n) = names.iter().find(|n| **n != self.config.name) {
                    return Err(format!("bridge {n} does not exist!"));
                }
                Ok(brctl::show(&[self.brctl_bridge()]))
            }
            ["brctl", "showmacs", name] => {
                if *name != self.config.name {
                    return Err("read of forward table failed: No such device".to_string());
                }
                Ok(brctl::showmacs(&self.brctl_macs(now)))
            }
            _ => Err(format!(
                "{}: a bridge shows `bridge fdb show`, `bridge vlan show`, `bridge link`, `brctl show`, `brctl showmacs BR`, `ip addr`, `ip link`, `ip -s link`",
                argv.join(" ")
            )),
        }
    }

    fn ifindex(&self, port: u16) -> u32 {
        match self.ifindexes.get(usize::from(port)) {
            Some(&i) => i,
            None => u32::from(port) + 3,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests;
