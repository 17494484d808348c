//! A network built by typing it, as the Linux tutorial does: `ip netns add|del|list|exec`,
//! `ip link add NAME type veth peer name PEER | type bridge | type dummy`,
//! `ip link set DEV up|down|netns NS|master BR|nomaster|mtu N|address MAC`, `ip link del`,
//! on a router (every router is a Linux namespace).
//!
//! These commands change the engine's topology, so the runner carries them out, not the
//! router: a namespace is a new router node; a veth pair is two new ports joined by a link;
//! a bridge is a new bridge node whose own port is joined to the router's interface of its
//! name (as a lab file's `host:` bridge is); `master` moves a veth end's link from the
//! router's port to a new port of the bridge, which the router then lists as `master BR`;
//! `netns` moves it to a port of the other namespace. A link carries frames while both of its
//! ends are up, as a veth pair has carrier then.

use smoltcp::wire::EthernetAddress;

use super::run::Runner;
use crate::bridge::{Bridge, BridgeConfig, BridgePort};
use crate::id::{NodeId, PortId};
use crate::link::LinkParams;
use crate::rand::Rng;
use crate::router::links::LinkKind;
use crate::router::{BridgeMember, Router, RouterConfig};
use crate::sim::CmdResult;

/// What the runner knows of namespaces and bridges made by commands.
#[derive(Default)]
pub struct Namespaces {
    /// Namespaces made by `ip netns add`, oldest first, and whether each still exists.
    named: Vec<(String, NodeId, bool)>,
    /// Bridges whose device is a router's interface: (router, device name, bridge node).
    bridges: Vec<(NodeId, String, NodeId)>,
    /// Each new interface's MAC stream, so that MACs depend on the seed and names only.
    macs: u64,
    /// Capture expectations on points steps make, until they exist: (watch, point).
    pending: Vec<(usize, super::model::Endpoint)>,
    /// The ids each namespace knows others by (`ip netns list`'s `(id: N)`): given when a
    /// link first joins them, and kept.
    nsids: std::collections::BTreeMap<NodeId, Vec<NodeId>>,
}

impl Namespaces {
    /// Namespaces to come, with the watches that wait for their points.
    pub fn watching(pending: Vec<(usize, super::model::Endpoint)>) -> Namespaces {
        Namespaces {
            pending,
            ..Namespaces::default()
        }
    }
}

/// A command's outcome: exit code and what it printed.
type Outcome = Result<String, (i32, String)>;

fn fail<T>(code: i32, msg: impl Into<String>) -> Result<T, (i32, String)> {
    Err((code, msg.into()))
}

/// Whether `argv` is a command this module carries out (on a router).
pub fn is_topology(argv: &[String]) -> bool {
    let w: Vec<&str> = argv.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["ip", "netns", ..]
            | ["ip", "link" | "l", "add" | "set" | "del" | "delete", ..]
            | ["brctl", "addbr" | "delbr" | "addif" | "delif", ..]
            | ["bridge", "vlan", "add" | "del" | "delete" | "set", ..]
    ) && !matches!(w.as_slice(), ["ip", "netns", "exec", ..])
}

/// `ip link add link PARENT name N type vlan id V`: a VLAN device, which the router makes
/// once the runner has given it a port.
fn is_vlan_add(w: &[&str]) -> bool {
    matches!(w, ["ip", "link" | "l", "add", ..]) && w.windows(2).any(|p| p == ["type", "vlan"])
}

/// `ip netns exec NS CMD...`: the namespace and the command, if `argv` is one.
pub fn exec_target(argv: &[String]) -> Option<(&str, &[String])> {
    match argv {
        [ip, netns, exec, ns, rest @ ..] if ip == "ip" && netns == "netns" && exec == "exec" => {
            Some((ns.as_str(), rest))
        }
        _ => None,
    }
}

/// The nodes and interfaces a command typed on node `on` makes, for the lab's checks
/// before it runs: (node, its kind, an interface of it).
pub fn made_by(on: &str, argv: &[String]) -> Vec<(String, &'static str, Option<String>)> {
    let (mut on, mut argv) = (on.to_string(), argv);
    while let Some((ns, rest)) = exec_target(argv) {
        on = ns.to_string();
        argv = rest;
    }
    let w: Vec<&str> = argv.iter().map(String::as_str).collect();
    let iface = |node: &str, name: &str| (node.to_string(), "router", Some(name.to_string()));
    match w.as_slice() {
        ["ip", "netns", "add", name] => vec![(name.to_string(), "router", None)],
        ["brctl", "addbr", br] => vec![
            iface(&on, br),
            (br.to_string(), "bridge", Some(br.to_string())),
        ],
        ["brctl", "addif", br, devs @ ..] => devs
            .iter()
            .map(|d| (br.to_string(), "bridge", Some(d.to_string())))
            .collect(),
        ["ip", "link" | "l", "add", rest @ ..] => {
            let Some(name) = added_name(rest) else {
                return Vec::new();
            };
            let kind = rest.windows(2).find(|p| p[0] == "type").map(|p| p[1]);
            let mut out = vec![iface(&on, name)];
            match kind {
                Some("bridge") => {
                    out.push((name.to_string(), "bridge", Some(name.to_string())));
                }
                Some("veth") => {
                    let at = rest.iter().position(|x| *x == "peer");
                    let mut peer = at.and_then(|i| rest.get(i + 1)).copied();
                    if peer == Some("name") {
                        peer = at.and_then(|i| rest.get(i + 2)).copied();
                    }
                    let ns = rest
                        .iter()
                        .position(|x| *x == "netns")
                        .and_then(|i| rest.get(i + 1))
                        .map_or(on.as_str(), |n| *n);
                    if let Some(p) = peer {
                        out.push(iface(ns, p));
                    }
                }
                _ => {}
            }
            out
        }
        ["ip", "link" | "l", "set", rest @ ..] => {
            let rest = match rest {
                ["dev", r @ ..] => r,
                r => r,
            };
            let Some(dev) = rest.first() else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for p in rest.windows(2) {
                match p {
                    ["netns", ns] => out.push(iface(ns, dev)),
                    ["master", br] => out.push((br.to_string(), "bridge", Some(dev.to_string()))),
                    _ => {}
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The name `ip link add` gives its device: `name N`, `dev N` or the first bare word
/// before `type` (`link PARENT` names the parent).
fn added_name<'a>(rest: &[&'a str]) -> Option<&'a str> {
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match *w {
            "link" | "address" | "mtu" | "txqueuelen" | "numtxqueues" | "numrxqueues" => {
                it.next();
            }
            "name" | "dev" => return it.next().copied(),
            "type" => return None,
            "up" => {}
            n => return Some(n),
        }
    }
    None
}

impl Runner<'_> {
    /// Resolves `ip netns exec NS CMD` (nested too) to the node and command that run:
    /// an unknown namespace is the error `ip` gives (exit 255).
    pub(super) fn resolve_exec(
        &self,
        node: NodeId,
        argv: &[String],
    ) -> Result<(NodeId, Vec<String>), CmdResult> {
        let (mut node, mut argv) = (node, argv.to_vec());
        while let Some((ns, rest)) = exec_target(&argv) {
            let Some(n) = self.namespace(ns) else {
                return Err(CmdResult {
                    exit_code: 255,
                    output: format!(
                        "Cannot open network namespace \"{ns}\": No such file or directory\n"
                    ),
                    ..CmdResult::default()
                });
            };
            if rest.is_empty() {
                return Err(CmdResult {
                    exit_code: 255,
                    output: "No command specified\n".into(),
                    ..CmdResult::default()
                });
            }
            node = n;
            argv = rest.to_vec();
        }
        Ok((node, argv))
    }

    /// A namespace's node: one made by `ip netns add`, or any router of the lab.
    fn namespace(&self, name: &str) -> Option<NodeId> {
        if let Some((_, n, alive)) = self.netns.named.iter().find(|(x, _, _)| x == name) {
            return alive.then_some(*n);
        }
        self.sim
            .find_node(name)
            .filter(|n| self.sim.node_ref(*n).kind() == "router")
    }

    /// Carries out a topology command on router `node`, if `argv` is one.
    pub(super) fn topology(&mut self, node: NodeId, argv: &[String]) -> Option<CmdResult> {
        if !is_topology(argv) || self.sim.node_ref(node).kind() != "router" {
            return None;
        }
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        let outcome = match words.as_slice() {
            ["ip", "netns"] | ["ip", "netns", "list" | "show" | "ls"] => Ok(self.netns_list(node)),
            ["ip", "netns", "add", name] => self.netns_add(node, name),
            ["ip", "netns", "del" | "delete", name] => self.netns_del(name),
            ["ip", "netns", op, ..] => fail(
                255,
                format!("Command \"{op}\" is unknown, try \"ip netns help\"."),
            ),
            ["bridge", "vlan", ..] => self.router_bridge_vlan(node, &words),
            ["brctl", "addbr", br] => self.link_add(node, &[br, "type", "bridge"]),
            ["brctl", "delbr", br] => self.brctl_delbr(node, br),
            ["brctl", "addif", br, devs @ ..] if !devs.is_empty() => {
                self.brctl_addif(node, br, devs)
            }
            ["brctl", "delif", br, devs @ ..] if !devs.is_empty() => {
                if self.bridge_of(node, br).is_none() {
                    fail(1, format!("bridge {br} does not exist!"))
                } else {
                    devs.iter()
                        .try_for_each(|d| self.release(node, d).map(|_| ()))
                        .map(|_| String::new())
                }
            }
            ["brctl", op, ..] => fail(1, format!("Incorrect number of arguments for command {op}")),
            ["ip", _, "add", ..] if is_vlan_add(&words) => self.vlan_add(node, &words[2..]),
            ["ip", _, "add", rest @ ..] => self.link_add(node, rest),
            ["ip", _, "set", rest @ ..] => self.link_set(node, rest),
            ["ip", _, _, rest @ ..] => self.link_del(node, rest),
            _ => return None,
        };
        // Re-arm the router's timer: its neighbours and stack may have changed.
        self.sim.update::<Router, _>(node, |_| ());
        let (exit_code, output) = match outcome {
            Ok(out) => (0, out),
            Err((code, mut msg)) => {
                if !msg.ends_with('\n') {
                    msg.push('\n');
                }
                (code, msg)
            }
        };
        Some(CmdResult {
            exit_code,
            output,
            ..CmdResult::default()
        })
    }

    fn router(&mut self, node: NodeId) -> &mut Router {
        self.sim
            .node_as::<Router>(node)
            .expect("topology commands run on routers")
    }

    fn new_mac(&mut self, node: NodeId, name: &str) -> EthernetAddress {
        self.netns.macs += 1;
        let label = format!(
            "mac:{}:{name}:{}",
            self.sim.node_name(node),
            self.netns.macs
        );
        EthernetAddress(Rng::stream(self.sim.seed(), &label).mac())
    }

    /// `ip netns list`: newest first, as `/run/netns` lists them, with the id this
    /// namespace knows each by once a link joins them.
    fn netns_list(&self, node: NodeId) -> String {
        let ids = self.netns.nsids.get(&node).cloned().unwrap_or_default();
        let mut out = String::new();
        for (name, id, alive) in self.netns.named.iter().rev() {
            if !alive {
                continue;
            }
            match ids.iter().position(|x| x == id) {
                Some(n) => out.push_str(&format!("{name} (id: {n})\n")),
                None => out.push_str(&format!("{name}\n")),
            }
        }
        out
    }

    /// Two namespaces a link joins learn each other's id, if they had none.
    fn note_peers(&mut self, a: PortId, b: PortId) {
        let (x, y) = (self.sim.node_of_port(a), self.sim.node_of_port(b));
        if x == y {
            return;
        }
        for (viewer, other) in [(x, y), (y, x)] {
            let ids = self.netns.nsids.entry(viewer).or_default();
            if !ids.contains(&other) {
                ids.push(other);
            }
        }
    }

    fn netns_add(&mut self, node: NodeId, name: &str) -> Outcome {
        let exists = || {
            fail(
                1,
                format!("Cannot create namespace file \"/run/netns/{name}\": File exists"),
            )
        };
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return fail(1, format!("Invalid netns name \"{name}\""));
        }
        let reused = match self.netns.named.iter().position(|(x, _, _)| x == name) {
            Some(i) if self.netns.named[i].2 => return exists(),
            Some(i) => Some(self.netns.named[i].1),
            None if self.sim.find_node(name).is_some() => return exists(),
            None => None,
        };
        let version = self.router(node).iptables_version();
        let config = RouterConfig {
            name: name.to_string(),
            ifaces: Vec::new(),
            forwarding: false,
            routes: Vec::new(),
            iptables_version: version,
            iptables: Vec::new(),
        };
        let mut router = Router::new(config, self.sim.seed()).map_err(|e| (1, e))?;
        router.set_lo_up(false);
        let id = match reused {
            Some(id) => {
                // A namespace made again under a name: a fresh one in the same node (the
                // old one's ports stay absent, to be reused by name).
                let old: Vec<String> = (0..self.sim.port_count(id))
                    .map(|l| self.sim.port_name(self.sim.port(id, l)).to_string())
                    .collect();
                for (i, n) in old.iter().enumerate() {
                    let _ = router.add_link(i, (n, EthernetAddress([0; 6])), LinkKind::Veth, None);
                    router.remove_link(i);
                }
                self.sim.update::<Router, _>(id, |r| *r = router);
                self.netns.named.retain(|(x, _, _)| x != name);
                id
            }
            None => self.sim.add_node(Box::new(router), &[]),
        };
        self.netns.named.push((name.to_string(), id, true));
        self.announce_names();
        Ok(String::new())
    }

    /// Tells every router which namespaces have names (its listings print `link-netns`).
    fn announce_names(&mut self) {
        let names: Vec<String> = self
            .netns
            .named
            .iter()
            .filter(|(_, _, alive)| *alive)
            .map(|(n, _, _)| n.clone())
            .collect();
        for i in 0..self.sim.node_count() {
            let id = NodeId(i as u32);
            if self.sim.node_ref(id).kind() == "router" {
                let names = names.clone();
                self.sim
                    .update::<Router, _>(id, move |r| r.set_named_netns(names));
            }
        }
    }

    /// `ip netns del NAME`: its interfaces go, and a veth's peer in another namespace goes
    /// with its end.
    fn netns_del(&mut self, name: &str) -> Outcome {
        let Some(i) = self
            .netns
            .named
            .iter()
            .position(|(x, _, alive)| x == name && *alive)
        else {
            return fail(
                1,
                format!(
                    "Cannot remove namespace file \"/run/netns/{name}\": No such file or directory"
                ),
            );
        };
        let id = self.netns.named[i].1;
        for local in 0..self.sim.port_count(id) {
            let port = self.sim.port(id, local);
            if self.sim.is_present(port) {
                self.destroy_veth(port);
            }
        }
        self.netns.named[i].2 = false;
        self.announce_names();
        Ok(String::new())
    }

    /// Takes a port away with its link; a veth peer in a router goes too.
    fn destroy_veth(&mut self, port: PortId) {
        let peer = self.sim.peer_of(port);
        self.drop_port(port);
        if let Some(peer) = peer {
            let n = self.sim.node_of_port(peer);
            if self.sim.node_ref(n).kind() == "router" {
                self.drop_port(peer);
            } else if self.sim.node_ref(n).kind() == "bridge" {
                self.release_member_port(peer, true);
            }
        }
    }

    /// Unlinks a port and makes it absent; the peer it was linked to and the link's
    /// parameters, for the port that takes its place.
    fn unplug_port(&mut self, port: PortId) -> Option<(PortId, LinkParams)> {
        let plugged = self
            .sim
            .link_of(port)
            .map(|l| self.sim.link(l).params.clone())
            .and_then(|params| Some((self.sim.peer_of(port)?, params)));
        self.sim.disconnect(port);
        self.sim.set_present(port, false);
        plugged
    }

    /// Takes a router's port away: unlinked, absent, no longer its interface.
    fn drop_port(&mut self, port: PortId) {
        let node = self.sim.node_of_port(port);
        let local = usize::from(self.sim.local_of(port));
        self.sim.disconnect(port);
        self.sim.set_present(port, false);
        self.sim.update::<Router, _>(node, |r| r.remove_link(local));
    }

    /// A port for interface `name` on `node`: its old absent port of that name, or a new one.
    fn port_for(&mut self, node: NodeId, name: &str) -> PortId {
        let old = (0..self.sim.port_count(node))
            .map(|l| self.sim.port(node, l))
            .find(|p| self.sim.port_name(*p) == name && !self.sim.is_present(*p));
        match old {
            Some(p) => {
                self.sim.set_present(p, true);
                p
            }
            None => {
                let port = self.sim.add_port(node, name);
                self.bind_watches(node, name, port);
                port
            }
        }
    }

    /// Points the watches waiting for `node:name` at its new port.
    fn bind_watches(&mut self, node: NodeId, name: &str, port: PortId) {
        let node_name = self.sim.node_name(node).to_string();
        let waiting: Vec<usize> = self
            .netns
            .pending
            .iter()
            .filter(|(_, ep)| ep.node == node_name && ep.iface == name)
            .map(|(w, _)| *w)
            .collect();
        if let Some(counting) = self.sim.observer_mut::<crate::capture::Watches>() {
            for w in waiting {
                counting.set_watch_point(w, port.index());
            }
        }
    }

    /// `ip link add NAME type veth peer name PEER [netns NS]`, `ip link add NAME type
    /// bridge`, `ip link add NAME type dummy`.
    fn link_add(&mut self, node: NodeId, rest: &[&str]) -> Outcome {
        let mut name = None;
        let mut kind = None;
        let mut peer = None;
        let mut peer_ns = None;
        let mut bridge_opts: Vec<(&str, &str)> = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                "name" | "dev" if name.is_none() => {
                    name = rest.get(i + 1).copied();
                    i += 2;
                }
                "type" => {
                    kind = rest.get(i + 1).copied();
                    i += 2;
                    // `type bridge vlan_filtering 1` and the like: the bridge's options.
                    while kind == Some("bridge") && i + 1 < rest.len() {
                        bridge_opts.push((rest[i], rest[i + 1]));
                        i += 2;
                    }
                    if kind == Some("veth") && rest.get(i) == Some(&"peer") {
                        i += 1;
                        if rest.get(i) == Some(&"name") {
                            i += 1;
                        }
                        peer = rest.get(i).copied();
                        i += 1;
                        if rest.get(i) == Some(&"netns") {
                            peer_ns = rest.get(i + 1).copied();
                            i += 2;
                        }
                    }
                }
                w if name.is_none() && kind.is_none() => {
                    name = Some(w);
                    i += 1;
                }
                w => return fail(255, format!("Error: argument \"{w}\" is wrong: unknown")),
            }
        }
        let Some(name) = name else {
            return fail(255, "Not enough information: \"dev\" argument is required.");
        };
        if name.len() > 15 {
            return fail(
                255,
                format!("Error: argument \"{name}\" is wrong: \"name\" not a valid ifname"),
            );
        }
        let exists = |r: &mut Self, node: NodeId, n: &str| {
            let router = r.router(node);
            router.live_link(n).is_some() || router.enslaved_link(n).is_some() || n == "lo"
        };
        if exists(self, node, name) {
            return fail(2, "RTNETLINK answers: File exists");
        }
        match kind {
            Some("veth") => {
                let Some(peer) = peer else {
                    return fail(
                        255,
                        "hoplab: name the peer: ip link add NAME type veth peer name PEER",
                    );
                };
                let peer_node = match peer_ns {
                    Some(ns) => self.namespace(ns).ok_or((
                        255,
                        format!(
                            "Cannot open network namespace \"{ns}\": No such file or directory"
                        ),
                    ))?,
                    None => node,
                };
                if peer == name && peer_node == node || exists(self, peer_node, peer) {
                    return fail(2, "RTNETLINK answers: File exists");
                }
                // The kernel makes the peer first: it takes the lower ifindex.
                let b = self.new_link(peer_node, peer, LinkKind::Veth, None)?;
                let a = self.new_link(node, name, LinkKind::Veth, None)?;
                self.sim
                    .connect(a, b, LinkParams::default())
                    .map_err(|e| (2, e))?;
                self.note_peers(a, b);
                self.sync_carrier(a);
                Ok(String::new())
            }
            Some("bridge") => {
                let bad = bridge_opts
                    .iter()
                    .find(|(k, _)| *k != "vlan_filtering")
                    .map(|(k, _)| k.to_string());
                if let Some(k) = bad {
                    return fail(2, format!("hoplab: the bridge option {k} is not modelled"));
                }
                self.bridge_add(node, name)?;
                for (k, v) in bridge_opts {
                    let words = ["ip", "link", "set", name, "type", "bridge", k, v];
                    self.bridge_option(node, name, &words)?;
                }
                Ok(String::new())
            }
            Some("dummy") => {
                self.new_link(node, name, LinkKind::Dummy, None)?;
                Ok(String::new())
            }
            Some("vlan") => fail(2, "hoplab: a VLAN needs `link PARENT` and `id N`"),
            Some(other) => fail(2, format!("Error: Unknown device type \"{other}\".")),
            None => fail(2, "Not enough information: \"type\" argument is required"),
        }
    }

    /// `ip link add link PARENT name N type vlan id V`: the device's port (never used by
    /// frames: absent and not captured), then the device, made by the router.
    fn vlan_add(&mut self, node: NodeId, words: &[&str]) -> Outcome {
        let Some(name) = self.router(node).vlan_default_name(words) else {
            // A command line iproute2 refuses: the router says why.
            return self.router(node).ip_link_vlan_add(words, 0);
        };
        if self.router(node).live_link(&name).is_some() {
            return fail(2, "RTNETLINK answers: File exists");
        }
        let port = self.port_for(node, &name);
        self.sim.set_present(port, false);
        self.sim.set_silent(port);
        let dev = usize::from(self.sim.local_of(port));
        self.router(node).ip_link_vlan_add(words, dev)
    }

    /// A new interface on router `node` with a port of its own, down.
    fn new_link(
        &mut self,
        node: NodeId,
        name: &str,
        kind: LinkKind,
        ifindex: Option<u32>,
    ) -> Result<PortId, (i32, String)> {
        let mac = self.new_mac(node, name);
        self.new_link_with(node, (name, mac), kind, ifindex)
    }

    fn new_link_with(
        &mut self,
        node: NodeId,
        (name, mac): (&str, EthernetAddress),
        kind: LinkKind,
        ifindex: Option<u32>,
    ) -> Result<PortId, (i32, String)> {
        let port = self.port_for(node, name);
        let local = usize::from(self.sim.local_of(port));
        let added = self
            .router(node)
            .add_link(local, (name, mac), kind, ifindex);
        match added {
            Ok(_) => Ok(port),
            Err(e) => {
                self.sim.set_present(port, false);
                fail(2, e)
            }
        }
    }

    /// `ip link add NAME type bridge`: a bridge node whose own port is the router's new
    /// interface NAME, joined without delay and captured on the router's side.
    fn bridge_add(&mut self, node: NodeId, name: &str) -> Outcome {
        if self.sim.find_node(name).is_some() {
            return fail(
                2,
                format!("hoplab: a node named {name} exists already; give the bridge another name"),
            );
        }
        let mac = self.new_mac(node, name);
        let iface = self.new_link_with(node, (name, mac), LinkKind::Bridge, None)?;
        let ifindex = self.sim.node_ref(node).ifindex(self.sim.local_of(iface));
        let config = BridgeConfig {
            name: name.to_string(),
            mac,
            ageing: crate::bridge::fdb::DEFAULT_AGEING,
            fdb_max: crate::bridge::fdb::DEFAULT_FDB_MAX,
            stp: false,
        };
        let own = BridgePort {
            name: name.to_string(),
            mac,
            own: true,
            hairpin: false,
        };
        let mut bridge = Bridge::new(config, vec![own]);
        bridge.number_ports(vec![ifindex]);
        bridge.set_master(node, name);
        let br = self.sim.add_node(Box::new(bridge), &[name.to_string()]);
        let own = self.sim.port(br, 0);
        let internal = LinkParams {
            delay: crate::time::Duration::ZERO,
            ..LinkParams::default()
        };
        self.sim.connect(iface, own, internal).map_err(|e| (2, e))?;
        self.sim.set_silent(own);
        self.netns.bridges.push((node, name.to_string(), br));
        self.sync_carrier(iface);
        Ok(String::new())
    }

    /// `bridge fdb ...` on a router: the tables of the bridges whose device is one of its
    /// interfaces, in turn, as the kernel lists every bridge of the namespace.
    pub(super) fn router_fdb(&mut self, node: NodeId, argv: &[String]) -> Option<String> {
        let vlan = matches!(argv, [b, v, ..] if b == "bridge" && v == "vlan");
        if !(matches!(argv, [b, f, ..] if b == "bridge" && f == "fdb") || vlan)
            || self.sim.node_ref(node).kind() != "router"
        {
            return None;
        }
        let mut out = String::new();
        for (k, b) in self.bridges_of(node).into_iter().enumerate() {
            match self.sim.show(b, argv) {
                // `bridge vlan show` has one header for every bridge of the namespace.
                Ok(text) if vlan && k > 0 => {
                    out.push_str(text.split_once('\n').map_or("", |(_, rest)| rest))
                }
                Ok(text) => out.push_str(&text),
                Err(e) => return Some(format!("{e}\n")),
            }
        }
        Some(out)
    }

    /// A bridge's own setting (`ip link set BR type bridge vlan_filtering N`), which the
    /// bridge node carries out.
    fn bridge_option(&mut self, node: NodeId, br: &str, words: &[&str]) -> Outcome {
        let Some(bridge) = self.bridge_of(node, br) else {
            return match self.router(node).live_link(br) {
                Some(_) => fail(2, "RTNETLINK answers: Operation not supported"),
                None => fail(1, format!("Cannot find device \"{br}\"")),
            };
        };
        let done = self
            .sim
            .update::<Bridge, _>(bridge, |b| b.run_vlan_command(words))
            .flatten();
        match done {
            Some((0, out)) => Ok(out),
            Some((code, msg)) => Err((code, msg)),
            None => fail(2, "hoplab: not a bridge option"),
        }
    }

    /// The router's bridges (a lab's `host:` bridges, then those made by commands).
    fn bridges_of(&self, node: NodeId) -> Vec<NodeId> {
        let name = self.sim.node_name(node).to_string();
        let mut out: Vec<NodeId> = self
            .lab
            .bridges
            .iter()
            .filter(|b| b.host.as_deref() == Some(name.as_str()))
            .filter_map(|b| self.sim.find_node(&b.name))
            .collect();
        out.extend(
            self.netns
                .bridges
                .iter()
                .filter(|(r, _, _)| *r == node)
                .map(|(_, _, b)| *b),
        );
        out
    }

    /// `bridge vlan add|del dev DEV ...` on a router: carried out by the bridge that has DEV
    /// as a port (or is DEV).
    fn router_bridge_vlan(&mut self, node: NodeId, words: &[&str]) -> Outcome {
        let dev = words
            .windows(2)
            .find(|p| p[0] == "dev")
            .map(|p| p[1])
            .unwrap_or_default();
        let bridge = self.bridges_of(node).into_iter().find(|b| {
            self.sim.node_name(*b) == dev
                || self
                    .sim
                    .find_port(*b, dev)
                    .is_some_and(|p| self.sim.is_present(p))
        });
        let Some(bridge) = bridge else {
            return match self.router(node).live_link(dev) {
                // A device that is no bridge's port.
                Some(_) => fail(255, "RTNETLINK answers: Operation not supported"),
                None => fail(1, format!("Cannot find device \"{dev}\"")),
            };
        };
        match self
            .sim
            .update::<Bridge, _>(bridge, |b| b.run_vlan_command(words))
            .flatten()
        {
            Some((0, out)) => Ok(out),
            Some((code, msg)) => Err((code, msg)),
            None => fail(255, "Command line is not complete. Try option \"help\""),
        }
    }

    /// `brctl delbr BR`: refused while the bridge is up, as bridge-utils refuses it.
    fn brctl_delbr(&mut self, node: NodeId, br: &str) -> Outcome {
        let state = self
            .router(node)
            .live_link(br)
            .and_then(|d| self.router(node).link_state(d).cloned());
        match state {
            Some(l) if l.kind != LinkKind::Bridge => {
                fail(1, format!("bridge {br} doesn't exist; can't delete it"))
            }
            Some(l) if l.up => fail(1, format!("bridge {br} is still up; can't delete it")),
            Some(_) => self.link_del(node, &[br]),
            None => fail(1, format!("bridge {br} doesn't exist; can't delete it")),
        }
    }

    /// `brctl addif BR DEV...`.
    fn brctl_addif(&mut self, node: NodeId, br: &str, devs: &[&str]) -> Outcome {
        if self.bridge_of(node, br).is_none() {
            return fail(1, format!("bridge {br} does not exist!"));
        }
        for dev in devs {
            if self.router(node).live_link(dev).is_none() {
                return fail(1, format!("interface {dev} does not exist!"));
            }
            self.enslave(node, dev, br)?;
        }
        Ok(String::new())
    }

    /// The bridge node whose device is `dev` on router `node`.
    fn bridge_of(&self, node: NodeId, dev: &str) -> Option<NodeId> {
        self.netns
            .bridges
            .iter()
            .find(|(r, d, _)| *r == node && d == dev)
            .map(|(_, _, b)| *b)
            .or_else(|| {
                // A bridge of the lab file whose device this is.
                self.lab
                    .bridges
                    .iter()
                    .find(|b| {
                        b.device == dev
                            && b.host
                                .as_deref()
                                .is_some_and(|h| self.sim.find_node(h) == Some(node))
                    })
                    .and_then(|b| self.sim.find_node(&b.name))
            })
    }

    /// `ip link set [dev] DEV (up|down|netns NS|master BR|nomaster|mtu N|address MAC)...`
    fn link_set(&mut self, node: NodeId, rest: &[&str]) -> Outcome {
        let rest = match rest {
            ["dev", r @ ..] => r,
            r => r,
        };
        let Some((dev, ops)) = rest.split_first() else {
            return fail(255, "Not enough information: \"dev\" argument is required.");
        };
        if ops.is_empty() {
            return Ok(String::new());
        }
        let mut i = 0;
        while i < ops.len() {
            let arg = ops.get(i + 1).copied();
            let need = |what: &str| {
                arg.ok_or((
                    255,
                    format!("Command line is not complete. Try option \"help\" ({what})"),
                ))
            };
            match ops[i] {
                "up" | "down" => {
                    self.set_up(node, dev, ops[i] == "up")?;
                    i += 1;
                }
                "netns" => {
                    let ns = need("netns")?;
                    self.move_to(node, dev, ns)?;
                    return Ok(String::new());
                }
                "master" => {
                    self.enslave(node, dev, need("master")?)?;
                    i += 2;
                }
                "nomaster" => {
                    self.release(node, dev)?;
                    i += 1;
                }
                "type" => {
                    // `type bridge vlan_filtering N`: the bridge's own setting.
                    let mut words = vec!["ip", "link", "set", *dev];
                    words.extend_from_slice(&ops[i..]);
                    self.bridge_option(node, dev, &words)?;
                    return Ok(String::new());
                }
                "mtu" => {
                    let v = need("mtu")?;
                    let mtu: u32 = v.parse().map_err(|_| {
                        (
                            255,
                            format!("Error: argument \"{v}\" is wrong: Invalid \"mtu\" value"),
                        )
                    })?;
                    let d = self.live(node, dev)?;
                    self.router(node).set_link_mtu(d, mtu);
                    i += 2;
                }
                "address" => {
                    let v = need("address")?;
                    let mac =
                        parse_mac(v).ok_or((255, format!("Error: \"{v}\" is invalid lladdr.")))?;
                    let d = self.live(node, dev)?;
                    self.router(node).set_link_mac(d, mac);
                    i += 2;
                }
                w => return fail(255, format!("Error: argument \"{w}\" is wrong: unknown")),
            }
        }
        Ok(String::new())
    }

    /// A live interface of router `node` by name, or `ip`'s error.
    fn live(&mut self, node: NodeId, dev: &str) -> Result<usize, (i32, String)> {
        self.router(node)
            .live_link(dev)
            .ok_or((1, format!("Cannot find device \"{dev}\"")))
    }

    fn set_up(&mut self, node: NodeId, dev: &str, up: bool) -> Result<(), (i32, String)> {
        if dev == "lo" {
            self.router(node).set_lo_up(up);
            return Ok(());
        }
        if let Some(d) = self.router(node).live_link(dev) {
            self.router(node).set_link_up(d, up);
            let port = self.sim.port(node, d as u16);
            self.sync_carrier(port);
            return Ok(());
        }
        if self.router(node).enslaved_link(dev).is_some() {
            self.router(node).set_member_up(dev, up);
            if let Some(port) = self.member_port(node, dev) {
                self.sync_carrier(port);
            }
            return Ok(());
        }
        fail(1, format!("Cannot find device \"{dev}\""))
    }

    /// The bridge port that is router `node`'s enslaved interface `dev`.
    fn member_port(&self, node: NodeId, dev: &str) -> Option<PortId> {
        self.sim
            .listed_ports(node)
            .into_iter()
            .find(|p| self.sim.port_name(*p) == dev && self.sim.is_present(*p))
    }

    /// Whether the interface at `port` is administratively up: a router's interface or
    /// bridge port by its state; any other node's interface always.
    fn end_up(&mut self, port: PortId) -> bool {
        let node = self.sim.node_of_port(port);
        let local = self.sim.local_of(port);
        match self.sim.node_ref(node).kind() {
            "router" => self
                .sim
                .node_as::<Router>(node)
                .and_then(|r| r.link_state(usize::from(local)).map(|l| l.up))
                .unwrap_or(false),
            "bridge" => {
                let name = self.sim.port_name(port).to_string();
                let owner = self
                    .netns
                    .bridges
                    .iter()
                    .find(|(_, _, b)| *b == node)
                    .map(|(r, _, _)| *r);
                match owner {
                    // The bridge's own port is its device: up with it.
                    Some(r) if name == self.sim.node_name(node) => self
                        .sim
                        .node_as::<Router>(r)
                        .and_then(|x| x.live_link(&name).and_then(|d| x.link_state(d)))
                        .is_some_and(|l| l.up),
                    Some(r) => self
                        .sim
                        .node_as::<Router>(r)
                        .map(|x| x.enslaved_link(&name).is_none() || x.member_up(&name))
                        .unwrap_or(true),
                    None => true,
                }
            }
            _ => true,
        }
    }

    /// A link has carrier while both of its ends are up.
    fn sync_carrier(&mut self, port: PortId) {
        let Some(peer) = self.sim.peer_of(port) else {
            return;
        };
        let up = self.end_up(port) && self.end_up(peer);
        if let Some(link) = self.sim.link_of(port) {
            self.sim.set_link_up(link, up);
        }
    }

    /// `ip link set DEV netns NS`: the interface moves, down, keeping its MAC and (if free
    /// there) its ifindex; its addresses and routes stay behind, gone.
    fn move_to(&mut self, node: NodeId, dev: &str, ns: &str) -> Result<(), (i32, String)> {
        let target = self.namespace(ns).ok_or((
            255,
            format!("Cannot open network namespace \"{ns}\": No such file or directory"),
        ))?;
        let d = self.live(node, dev)?;
        let (kind, mac, ifindex) = {
            let r = self.router(node);
            let state = r.link_state(d).cloned().ok_or((1, "gone".to_string()))?;
            (state.kind, r.iface(dev).map(|f| f.mac), state.ifindex)
        };
        if kind == LinkKind::Bridge {
            return fail(2, "RTNETLINK answers: Invalid argument");
        }
        if kind == LinkKind::Vlan {
            return fail(
                2,
                "hoplab: moving a VLAN device to another namespace is not modelled",
            );
        }
        if target == node {
            return Ok(());
        }
        if self.router(target).live_link(dev).is_some() {
            return fail(2, "RTNETLINK answers: File exists");
        }
        let from = self.sim.port(node, d as u16);
        let plugged = self.unplug_port(from);
        self.drop_port(from);
        let mac = mac.unwrap_or(EthernetAddress([0; 6]));
        let to = self.new_link_with(target, (dev, mac), kind, Some(ifindex))?;
        if let Some((peer, params)) = plugged {
            self.sim.connect(to, peer, params).map_err(|e| (2, e))?;
            self.note_peers(to, peer);
            self.sync_carrier(to);
        }
        Ok(())
    }

    /// `ip link set DEV master BR`: DEV's link moves to a new port of the bridge.
    fn enslave(&mut self, node: NodeId, dev: &str, br: &str) -> Result<(), (i32, String)> {
        let d = self.live(node, dev)?;
        let Some(bridge) = self.bridge_of(node, br) else {
            return match self.router(node).live_link(br) {
                Some(_) => fail(2, "RTNETLINK answers: Invalid argument"),
                None => fail(1, format!("Cannot find device \"{br}\"")),
            };
        };
        let master = self.live(node, br)?;
        if master == d {
            return fail(2, "RTNETLINK answers: Invalid argument");
        }
        if self
            .sim
            .node_as::<Bridge>(bridge)
            .is_some_and(|b| b.stp().is_some())
        {
            return fail(
                2,
                "hoplab: ports join a spanning-tree bridge only in the lab file",
            );
        }
        if self.router(node).is_vlan(d) {
            return fail(
                2,
                "hoplab: a VLAN device as a bridge's port is not modelled",
            );
        }
        let (mac, state) = {
            let r = self.router(node);
            let mac = r.iface(dev).map_or(EthernetAddress([0; 6]), |f| f.mac);
            (
                mac,
                r.link_state(d).cloned().ok_or((1, "gone".to_string()))?,
            )
        };
        let from = self.sim.port(node, d as u16);
        let plugged = self.unplug_port(from);
        self.router(node).enslave_link(d);
        // The bridge's port: an old one of this name, or a new one.
        let old = self
            .sim
            .find_port(bridge, dev)
            .filter(|p| !self.sim.is_present(*p));
        let port = match old {
            Some(p) => {
                self.sim.set_present(p, true);
                let local = self.sim.local_of(p);
                self.sim
                    .update::<Bridge, _>(bridge, |b| b.set_port_present(local, true));
                p
            }
            None => {
                let bp = BridgePort {
                    name: dev.to_string(),
                    mac,
                    own: false,
                    hairpin: false,
                };
                self.sim
                    .update::<Bridge, _>(bridge, |b| b.add_port(bp, state.ifindex));
                let port = self.sim.add_port(bridge, dev);
                self.bind_watches(bridge, dev, port);
                port
            }
        };
        if let Some((peer, params)) = plugged {
            self.sim.connect(port, peer, params).map_err(|e| (2, e))?;
        }
        self.router(node).add_bridge_member(BridgeMember {
            master,
            name: dev.to_string(),
            mac,
            ifindex: state.ifindex,
        });
        let mut listed = self.sim.listed_ports(node);
        listed.push(port);
        self.sim.set_listed_ports(node, listed);
        // A bridge made by a command takes its lowest port's MAC, as the kernel's does.
        if self.netns.bridges.iter().any(|(_, _, b)| *b == bridge) {
            self.lowest_port_mac(node, master, bridge);
        }
        self.sync_carrier(port);
        Ok(())
    }

    fn lowest_port_mac(&mut self, node: NodeId, master: usize, bridge: NodeId) {
        let lowest = self.router(node).members_of(master).into_iter().min();
        if let Some(mac) = lowest {
            self.router(node).set_link_mac(master, EthernetAddress(mac));
            self.sim
                .update::<Bridge, _>(bridge, |b| b.set_mac(EthernetAddress(mac)));
        }
    }

    /// `ip link set DEV nomaster`.
    fn release(&mut self, node: NodeId, dev: &str) -> Result<(), (i32, String)> {
        if self.router(node).live_link(dev).is_some() {
            return Ok(());
        }
        let Some(port) = self.member_port(node, dev) else {
            return fail(1, format!("Cannot find device \"{dev}\""));
        };
        self.release_member_port(port, false);
        Ok(())
    }

    /// A bridge port goes back to being its router's interface, or (`destroy`) goes away.
    fn release_member_port(&mut self, port: PortId, destroy: bool) {
        let bridge = self.sim.node_of_port(port);
        let Some(node) = self
            .netns
            .bridges
            .iter()
            .find(|(_, _, b)| *b == bridge)
            .map(|(r, _, _)| *r)
            .or_else(|| {
                (0..self.sim.node_count() as u32)
                    .map(NodeId)
                    .find(|n| self.sim.listed_ports(*n).contains(&port))
            })
        else {
            return;
        };
        let dev = self.sim.port_name(port).to_string();
        let plugged = self.unplug_port(port);
        let local = self.sim.local_of(port);
        self.sim
            .update::<Bridge, _>(bridge, |b| b.set_port_present(local, false));
        let Some(d) = self.router(node).enslaved_link(&dev) else {
            return;
        };
        self.router(node).remove_bridge_member(&dev);
        let listed: Vec<PortId> = self
            .sim
            .listed_ports(node)
            .into_iter()
            .filter(|p| *p != port)
            .collect();
        self.sim.set_listed_ports(node, listed);
        let own = self.sim.port(node, d as u16);
        let now = self.sim.now();
        if destroy {
            self.sim.update::<Router, _>(node, |r| {
                r.restore_link(d, now);
                r.remove_link(d);
            });
            return;
        }
        self.sim.set_present(own, true);
        self.router(node).restore_link(d, now);
        if let Some((peer, params)) = plugged {
            let _ = self.sim.connect(own, peer, params);
        }
        self.sync_carrier(own);
    }

    /// `ip link del [dev] DEV [type T]`: a veth goes with its peer; a bridge releases its
    /// ports first.
    fn link_del(&mut self, node: NodeId, rest: &[&str]) -> Outcome {
        let rest = match rest {
            ["dev", r @ ..] => r,
            r => r,
        };
        let Some(dev) = rest.first().copied() else {
            return fail(255, "Not enough information: \"dev\" argument is required.");
        };
        if let Some(port) = self.member_port(node, dev) {
            self.destroy_veth(port);
            return Ok(String::new());
        }
        let d = match self.router(node).live_link(dev) {
            Some(d) => d,
            None => return fail(1, format!("Cannot find device \"{dev}\"")),
        };
        let kind = self.router(node).link_state(d).map(|l| l.kind);
        if kind == Some(LinkKind::Vlan) {
            self.router(node).delete_vlan(d);
            return Ok(String::new());
        }
        let port = self.sim.port(node, d as u16);
        if kind == Some(LinkKind::Bridge) {
            if let Some(bridge) = self.bridge_of(node, dev) {
                let members: Vec<PortId> = self
                    .sim
                    .listed_ports(node)
                    .into_iter()
                    .filter(|p| self.sim.node_of_port(*p) == bridge && self.sim.is_present(*p))
                    .collect();
                for p in members {
                    self.release_member_port(p, false);
                }
                let own = self.sim.port(bridge, 0);
                self.sim.disconnect(own);
                self.sim.set_present(own, false);
            }
            self.drop_port(port);
            self.netns
                .bridges
                .retain(|(r, d, _)| !(*r == node && d == dev));
            return Ok(String::new());
        }
        self.destroy_veth(port);
        Ok(String::new())
    }
}

fn parse_mac(s: &str) -> Option<EthernetAddress> {
    let bytes: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok().filter(|_| b.len() <= 2))
        .collect::<Option<_>>()?;
    let b: [u8; 6] = bytes.try_into().ok()?;
    Some(EthernetAddress(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn topology_commands_are_the_runners() {
        assert!(is_topology(&argv("ip netns add ns1")));
        assert!(is_topology(&argv(
            "ip link add veth0 type veth peer name veth1"
        )));
        assert!(is_topology(&argv("ip link set veth1 netns ns1")));
        assert!(is_topology(&argv("ip l del br0")));
        assert!(!is_topology(&argv("ip netns exec ns1 ip addr")));
        assert!(!is_topology(&argv("ip link show")));
        // A VLAN device needs a port before the router makes it.
        assert!(is_topology(&argv(
            "ip link add link eth0 name eth0.10 type vlan id 10"
        )));
    }

    #[test]
    fn exec_names_the_namespace_and_the_command() {
        let a = argv("ip netns exec ns1 ping -c 1 10.0.0.1");
        let (ns, rest) = exec_target(&a).unwrap();
        assert_eq!(ns, "ns1");
        assert_eq!(rest, &argv("ping -c 1 10.0.0.1")[..]);
        assert!(exec_target(&argv("ip netns list")).is_none());
    }

    #[test]
    fn what_commands_make_is_known_before_they_run() {
        assert_eq!(
            made_by("host", &argv("ip netns add ns1")),
            vec![("ns1".to_string(), "router", None)]
        );
        let veth = made_by(
            "host",
            &argv("ip link add veth-a type veth peer name eth0 netns ns-a"),
        );
        assert!(veth.contains(&("host".into(), "router", Some("veth-a".into()))));
        assert!(veth.contains(&("ns-a".into(), "router", Some("eth0".into()))));
        let br = made_by("host", &argv("ip link add br0 type bridge"));
        assert!(br.contains(&("br0".into(), "bridge", Some("br0".into()))));
        let moved = made_by(
            "host",
            &argv("ip netns exec ns1 ip link set dev v1 master br1"),
        );
        assert_eq!(
            moved,
            vec![("br1".to_string(), "bridge", Some("v1".to_string()))]
        );
    }

    #[test]
    fn macs_as_ip_link_reads_them() {
        assert_eq!(
            parse_mac("02:42:ac:11:00:02"),
            Some(EthernetAddress([2, 0x42, 0xac, 0x11, 0, 2]))
        );
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00:002"), None);
    }
}
