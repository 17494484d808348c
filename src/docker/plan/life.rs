//! A Docker host over the life of a lab: containers start and stop, join and leave networks,
//! and `docker run` makes new ones. The lab's steps are known before it runs and Docker's
//! choices depend only on its own state (the lowest free address, the next ephemeral port,
//! the next random MAC), so every `docker` step is planned when the lab loads: what it
//! prints, and the generic changes it makes (veths plugged and unplugged, iptables commands,
//! conntrack entries forgotten, docker-proxy started and stopped, names and listings). The
//! runner applies them when the step runs. The interfaces a container will ever need exist
//! from the start, absent until their step.
//!
//! What Docker does, per operation (moby `daemon/container_operations.go`,
//! `libnetwork/drivers/bridge`; `docker-netfilter.md` §1.11, §2.1, §2.2):
//! * start: for each network in order, an endpoint: the lowest free address (or the asked
//!   one), a MAC (random on 28+, from the address on 27), a new veth; its raw rules; then the
//!   published ports on the gateway endpoint (ephemeral ones take the next free port), their
//!   rules and docker-proxies; conntrack entries of the new addresses and UDP host ports are
//!   flushed; three unsolicited ARPs (28+); the container's command runs.
//! * stop: the command and everything run in the container end; the ports are released and
//!   their rules deleted, then the endpoints and their veths (the bridge forgets their MACs).
//! * network connect / disconnect: one endpoint more or less; if the gateway endpoint moves,
//!   the published ports move with it.

use std::collections::BTreeMap;

use serde_saphyr::Location;
use smoltcp::wire::{EthernetAddress, IpAddress, Ipv4Address, Ipv6Address};

use super::{Change, PlannedStep, Stamp, StampField};
use crate::docker::cli::{DockerHostView, SharedContainer, Timestamp, derive_id};
use crate::docker::dns::{self, HostTarget};
use crate::docker::{
    self, Binding, Container, Daemon, Engine, Network, PortAllocator, PortMap, Proto, RuleBook,
    ipam,
};
use crate::host::IfaceConfig;
use crate::link::Endpoint as Point;
use crate::rand::Rng;

pub type Labels = BTreeMap<String, String>;

/// A network a container asks to join, and how.
#[derive(Clone, Debug)]
pub struct Attach {
    pub net: usize,
    pub ip: Option<Ipv4Address>,
    /// `--ip6`, on a network with IPv6.
    pub ip6: Option<Ipv6Address>,
    pub mac: Option<EthernetAddress>,
    pub aliases: Vec<String>,
    /// The first endpoint's veth name and endpoint ID, when the lab gives them (to rebuild a
    /// real host's listings); later endpoints draw their own.
    pub veth: Option<String>,
    pub endpoint_id: Option<String>,
    pub loc: Location,
}

/// An endpoint that exists now.
#[derive(Clone, Debug)]
pub struct Live {
    /// Which of the container's `attach` it serves.
    pub attach: usize,
    pub ep: docker::Endpoint,
    /// `eth<slot>` in the container.
    pub slot: usize,
    pub veth: String,
    pub endpoint_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    Created,
    Running,
    Exited(i32),
}

/// A container with a network stack of its own (bridge or `none` mode).
#[derive(Clone, Debug)]
pub struct Ctr {
    pub name: String,
    /// Drawn when it first starts, after its endpoints, if the lab gives none.
    pub id: Option<String>,
    pub loc: Location,
    pub attach: Vec<Attach>,
    pub publish: Vec<PortMap>,
    pub extra_hosts: Vec<(String, HostTarget)>,
    pub raw_extra_hosts: Vec<String>,
    pub sandbox_id: Option<String>,
    /// Image and command as `docker ps` shows them (None: the view's default).
    pub image: Option<(String, String)>,
    /// The program the container runs while it runs.
    pub main: Option<Vec<String>>,
    pub life: Life,
    pub live: Vec<Live>,
    pub bindings: Vec<Binding>,
    /// How many `eth<N>` the container ever needs.
    pub slots: usize,
    pub removed: bool,
    pub starts: u32,
    /// The steps that created it and last started and stopped it (None: the lab's start).
    pub created_step: Option<usize>,
    pub started_step: Option<usize>,
    pub finished_step: Option<usize>,
}

impl Ctr {
    pub fn new(name: String, loc: Location) -> Ctr {
        Ctr {
            name,
            id: None,
            loc,
            attach: Vec::new(),
            publish: Vec::new(),
            extra_hosts: Vec::new(),
            raw_extra_hosts: Vec::new(),
            sandbox_id: None,
            image: None,
            main: None,
            life: Life::Created,
            live: Vec::new(),
            bindings: Vec::new(),
            slots: 0,
            removed: false,
            starts: 0,
            created_step: None,
            started_step: None,
            finished_step: None,
        }
    }

    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }
}

/// Every veth the host ever makes, in order: a port of its network's bridge.
#[derive(Clone, Debug)]
pub struct Veth {
    pub net: usize,
    pub name: String,
    pub loc: Location,
    pub at_start: bool,
}

/// The Docker host's state while its steps are planned.
pub struct HostPlan {
    /// The router's node name.
    pub host: String,
    /// The host's place among the lab's Docker hosts (a second one's bridges are
    /// `HOST-docker0`).
    pub index: usize,
    /// What derived IDs are drawn from: the lab's seed and the host's name.
    pub label: String,
    pub daemon: Daemon,
    pub networks: Vec<(Network, Location, Labels)>,
    pub ctrs: Vec<Ctr>,
    pub shared: Vec<SharedContainer>,
    pub shared_modes: Vec<String>,
    pub ports: PortAllocator,
    pub rules: RuleBook,
    pub rng: Rng,
    pub veths: Vec<Veth>,
    pub created: Timestamp,
    /// The step being planned; None while the lab's own containers start.
    pub step: Option<usize>,
    /// What the finished view needs that the plan does not change.
    pub view_base: ViewBase,
    /// Docker's nftables tables as last installed (with the nftables backend).
    pub nft: Vec<docker::nftables::Table>,
}

/// Parts of the Docker CLI's view fixed when the lab loads.
#[derive(Clone, Debug, Default)]
pub struct ViewBase {
    pub hostname: String,
    pub host_network_id: Option<String>,
    pub none_network_id: Option<String>,
}

impl HostPlan {
    /// The lab node of a network's bridge.
    pub fn bridge_node(&self, net: usize) -> String {
        let bridge = &self.networks[net].0.bridge;
        match self.index {
            0 => bridge.clone(),
            _ => format!("{}-{bridge}", self.host),
        }
    }

    pub fn network_index(&self, name: &str) -> Option<usize> {
        self.networks.iter().position(|(n, _, _)| n.name == name)
    }

    pub fn ctr_index(&self, term: &str) -> Option<usize> {
        let bare = term.strip_prefix('/').unwrap_or(term);
        self.ctrs
            .iter()
            .position(|c| !c.removed && c.life != Life::Created && c.name == bare)
            .or_else(|| {
                let by_id: Vec<usize> = (0..self.ctrs.len())
                    .filter(|&i| {
                        let c = &self.ctrs[i];
                        !c.removed && !term.is_empty() && c.id().starts_with(term)
                    })
                    .collect();
                (by_id.len() == 1).then(|| by_id[0])
            })
    }

    fn nets(&self) -> Vec<Network> {
        self.networks.iter().map(|(n, _, _)| n.clone()).collect()
    }

    /// Starts container `ci`: its endpoints, ports, rules and command (see the module
    /// note). Err: Docker's refusal; nothing changed.
    pub fn start(&mut self, ci: usize, out: &mut Vec<Change>) -> Result<(), String> {
        if self.ctrs[ci].life == Life::Running {
            return Ok(());
        }
        let mut live = Vec::new();
        for a in 0..self.ctrs[ci].attach.len() {
            let l = self.endpoint(ci, a, &live)?;
            live.push(l);
        }
        let c = &mut self.ctrs[ci];
        if c.id.is_none() {
            c.id = Some(ipam::random_id(&mut || self.rng.next_u64()));
        }
        // Endpoint IDs derive from the container's ID, known only now on a first start.
        for (k, l) in live.iter_mut().enumerate() {
            if l.endpoint_id.is_empty() {
                l.endpoint_id = self.derived_endpoint_id(ci, l.ep.network, k);
            }
        }
        self.check_ports(ci, &live)?;
        for l in &live {
            let net = self.networks[l.ep.network].0.clone();
            self.plug(ci, l, &net, out);
        }
        let c = &mut self.ctrs[ci];
        c.live = live;
        c.life = Life::Running;
        c.starts += 1;
        c.started_step = self.step;
        let eps: Vec<docker::Endpoint> = c.live.iter().map(|l| l.ep).collect();
        let nets = self.nets();
        self.rules.endpoints(&nets, &eps, true);
        self.map_ports(ci, out);
        let c = &self.ctrs[ci];
        out.push(Change::Gateway {
            host: c.name.clone(),
            gateway: self.gateway_of(ci),
            gateway6: self.gateway6_of(ci),
        });
        if self.daemon.engine != Engine::V27 && !c.live.is_empty() {
            out.push(Change::Announce {
                host: c.name.clone(),
                count: 3,
                iface: None,
            });
        }
        if let Some(argv) = &c.main {
            out.push(Change::Start {
                key: main_key(&self.host, &c.name),
                node: c.name.clone(),
                argv: argv.clone(),
            });
        }
        out.push(Change::Refuse {
            node: c.name.clone(),
            error: None,
        });
        Ok(())
    }

    /// Stops container `ci` with exit code `code`.
    pub fn stop(&mut self, ci: usize, code: i32, out: &mut Vec<Change>) {
        if self.ctrs[ci].life != Life::Running {
            return;
        }
        let name = self.ctrs[ci].name.clone();
        out.push(Change::StopCommands { node: name.clone() });
        if self.ctrs[ci].main.is_some() {
            out.push(Change::Stop {
                key: main_key(&self.host, &name),
            });
        }
        self.unmap_ports(ci, out);
        let nets = self.nets();
        let live = std::mem::take(&mut self.ctrs[ci].live);
        let eps: Vec<docker::Endpoint> = live.iter().map(|l| l.ep).collect();
        self.rules.endpoints(&nets, &eps, false);
        for l in &live {
            self.unplug(ci, l, out);
        }
        let c = &mut self.ctrs[ci];
        c.life = Life::Exited(code);
        c.finished_step = self.step;
        out.push(Change::Gateway {
            host: name.clone(),
            gateway: None,
            gateway6: None,
        });
        let error = format!(
            "Error response from daemon: container {} is not running",
            c.id()
        );
        out.push(Change::Refuse {
            node: name,
            error: Some(error),
        });
    }

    /// `docker network connect`: a new endpoint now if the container runs, else when it
    /// starts.
    pub fn connect(&mut self, ci: usize, a: Attach, out: &mut Vec<Change>) -> Result<(), String> {
        let net = a.net;
        self.ctrs[ci].attach.push(a);
        if self.ctrs[ci].life != Life::Running {
            return Ok(());
        }
        let ai = self.ctrs[ci].attach.len() - 1;
        let live = self.ctrs[ci].live.clone();
        let l = match self.endpoint(ci, ai, &live) {
            Ok(l) => l,
            Err(e) => {
                self.ctrs[ci].attach.pop();
                return Err(e);
            }
        };
        let gateway_before = self.gateway_endpoint(ci);
        let network = self.networks[net].0.clone();
        self.plug(ci, &l, &network, out);
        if self.daemon.engine != Engine::V27 {
            out.push(Change::Announce {
                host: self.ctrs[ci].name.clone(),
                count: 3,
                iface: Some(l.slot),
            });
        }
        let nets = self.nets();
        self.rules.endpoints(&nets, &[l.ep], true);
        self.ctrs[ci].live.push(l);
        self.move_ports(ci, gateway_before, out);
        Ok(())
    }

    /// `docker network disconnect`.
    pub fn disconnect(&mut self, ci: usize, net: usize, out: &mut Vec<Change>) {
        let Some(ai) = self.ctrs[ci].attach.iter().position(|a| a.net == net) else {
            return;
        };
        if let Some(li) = self.ctrs[ci].live.iter().position(|l| l.attach == ai) {
            let was_gateway = self.gateway_endpoint(ci) == Some(net);
            if was_gateway {
                // The ports leave with the gateway endpoint, before it goes.
                self.unmap_ports(ci, out);
            }
            let l = self.ctrs[ci].live.remove(li);
            let nets = self.nets();
            self.rules.endpoints(&nets, &[l.ep], false);
            self.unplug(ci, &l, out);
            if was_gateway {
                self.map_ports(ci, out);
            }
        }
        let c = &mut self.ctrs[ci];
        c.attach.remove(ai);
        for l in &mut c.live {
            if l.attach > ai {
                l.attach -= 1;
            }
        }
        if c.life == Life::Running {
            out.push(Change::Gateway {
                host: c.name.clone(),
                gateway: self.gateway_of(ci),
                gateway6: self.gateway6_of(ci),
            });
        }
    }

    /// Makes the endpoint of `attach[a]`, given the endpoints `others` it will have beside
    /// it; draws what it needs.
    fn endpoint(&mut self, ci: usize, a: usize, others: &[Live]) -> Result<Live, String> {
        let c = &self.ctrs[ci];
        let at = &c.attach[a];
        let (net, _, _) = &self.networks[at.net];
        let peers: Vec<&docker::Endpoint> = self
            .ctrs
            .iter()
            .flat_map(|c| c.live.iter())
            .chain(others)
            .filter(|l| l.ep.network == at.net)
            .map(|l| &l.ep)
            .collect();
        let used: Vec<Ipv4Address> = peers.iter().map(|e| e.ip).collect();
        let ip = pick_address(at.ip, &used, net, "IPv4", || {
            ipam::allocate_address(net.subnet, net.gateway, &used)
        })?;
        let ip6 = match net.ipv6 {
            None => None,
            Some(v6) => {
                let used6: Vec<Ipv6Address> = peers.iter().filter_map(|e| e.ip6).collect();
                Some(pick_address(at.ip6, &used6, net, "IPv6", || {
                    ipam::allocate_address6(v6.subnet, v6.gateway, &used6)
                })?)
            }
        };
        let first = c.starts == 0;
        let engine = self.daemon.engine;
        let rng = &mut self.rng;
        let mac = at
            .mac
            .unwrap_or_else(|| ipam::container_mac(engine, ip, &mut || rng.next_u64()));
        let veth = match (&at.veth, first) {
            (Some(v), true) => v.clone(),
            _ => ipam::veth_name(&mut || rng.next_u64()),
        };
        let endpoint_id = match (&at.endpoint_id, first, &c.id) {
            (Some(e), true, _) => e.clone(),
            // Drawn once the container has its ID (see `start`).
            (_, _, None) => String::new(),
            (_, _, Some(_)) => self.derived_endpoint_id(ci, at.net, others.len()),
        };
        let taken: Vec<usize> = c.live.iter().chain(others).map(|l| l.slot).collect();
        let slot = (0..).find(|s| !taken.contains(s)).unwrap_or(0);
        Ok(Live {
            attach: a,
            ep: docker::Endpoint {
                network: at.net,
                ip,
                ip6,
                mac,
            },
            slot,
            veth,
            endpoint_id,
        })
    }

    /// The ID of a container's endpoint on network `net`, its `k`th as it starts: derived
    /// from the container's and the network's IDs, and for a later start from the start.
    fn derived_endpoint_id(&self, ci: usize, net: usize, k: usize) -> String {
        let c = &self.ctrs[ci];
        let base = format!(
            "{}/endpoint/{}/{}",
            self.label,
            c.id(),
            self.networks[net].0.id
        );
        match c.starts {
            0 => derive_id(&base),
            n => derive_id(&format!("{base}/{n}/{k}")),
        }
    }

    /// A host port a published mapping asks for that is taken: Docker refuses to start.
    fn check_ports(&self, ci: usize, live: &[Live]) -> Result<(), String> {
        let c = &self.ctrs[ci];
        let Some(gw) = gateway_net(&self.networks, live.iter().map(|l| l.ep.network)) else {
            return Ok(());
        };
        let net = &self.networks[gw].0;
        let mut asked = PortAllocator::new();
        for pm in c
            .publish
            .iter()
            .filter(|p| p.host_port != 0 && net.is_nat())
        {
            let ip = pm.host_ip.unwrap_or(IpAddress::Ipv4(
                net.host_binding_ipv4.unwrap_or(self.daemon.ip),
            ));
            if self.ports.in_use(ip, pm.proto, pm.host_port)
                || asked.request(ip, pm.proto, pm.host_port).is_none()
            {
                return Err(format!(
                    "Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint {} ({}): Bind for {ip}:{} failed: port is already allocated",
                    c.name,
                    live.first().map_or("", |l| l.endpoint_id.as_str()),
                    pm.host_port
                ));
            }
        }
        Ok(())
    }

    fn plug(&mut self, ci: usize, l: &Live, net: &Network, out: &mut Vec<Change>) {
        let c = &mut self.ctrs[ci];
        c.slots = c.slots.max(l.slot + 1);
        self.veths.push(Veth {
            net: l.ep.network,
            name: l.veth.clone(),
            loc: c.attach[l.attach].loc,
            at_start: self.step.is_none(),
        });
        out.push(Change::Plug {
            iface: Point {
                node: c.name.clone(),
                iface: format!("eth{}", l.slot),
            },
            port: Point {
                node: self.bridge_node(l.ep.network),
                iface: l.veth.clone(),
            },
            config: IfaceConfig {
                name: format!("eth{}", l.slot),
                mac: l.ep.mac,
                cidr: Some(smoltcp::wire::Ipv4Cidr::new(
                    l.ep.ip,
                    net.subnet.prefix_len(),
                )),
                mtu: u32::from(net.mtu),
                // Docker turns IPv6 off on an interface of a network without it.
                ipv6: net.ipv6.zip(l.ep.ip6).map(|(v6, ip6)| {
                    vec![smoltcp::wire::Ipv6Cidr::new(ip6, v6.subnet.prefix_len())]
                }),
            },
        });
        if self.step.is_some() {
            // Both families' addresses of the new endpoint.
            let ips = std::iter::once(IpAddress::Ipv4(l.ep.ip))
                .chain(l.ep.ip6.map(IpAddress::Ipv6))
                .collect();
            out.push(Change::ConntrackForget {
                router: self.host.clone(),
                ips,
                udp_ports: Vec::new(),
            });
        }
    }

    fn unplug(&self, ci: usize, l: &Live, out: &mut Vec<Change>) {
        out.push(Change::Unplug {
            iface: Point {
                node: self.ctrs[ci].name.clone(),
                iface: format!("eth{}", l.slot),
            },
            port: Point {
                node: self.bridge_node(l.ep.network),
                iface: l.veth.clone(),
            },
        });
    }

    /// The network of the gateway endpoint: the first non-internal one.
    fn gateway_endpoint(&self, ci: usize) -> Option<usize> {
        gateway_net(
            &self.networks,
            self.ctrs[ci].live.iter().map(|l| l.ep.network),
        )
    }

    fn gateway_of(&self, ci: usize) -> Option<Ipv4Address> {
        self.gateway_endpoint(ci)
            .map(|n| self.networks[n].0.gateway)
    }

    /// The IPv6 default route's next hop: the gateway of the first non-internal network
    /// with IPv6 the container is on (Docker picks each family's gateway apart).
    pub fn gateway6_of(&self, ci: usize) -> Option<Ipv6Address> {
        self.ctrs[ci].live.iter().find_map(|l| {
            let net = &self.networks.get(l.ep.network)?.0;
            (!net.internal).then_some(net.ipv6?.gateway)
        })
    }

    /// Maps the container's published ports on its gateway endpoint.
    fn map_ports(&mut self, ci: usize, out: &mut Vec<Change>) {
        let nets = self.nets();
        let model = self.model(ci);
        let bindings = docker::bind(&mut self.ports, &self.daemon, &nets, ci, &model);
        self.rules.ports(&nets, &bindings, true);
        let udp: Vec<u16> = bindings
            .iter()
            .filter(|b| b.proto == Proto::Udp && b.host_port != 0)
            .map(|b| b.host_port)
            .collect();
        if self.step.is_some() && !udp.is_empty() {
            out.push(Change::ConntrackForget {
                router: self.host.clone(),
                ips: Vec::new(),
                udp_ports: udp,
            });
        }
        if self.daemon.proxy_process {
            for b in bindings.iter().filter(|b| b.host_port != 0) {
                out.push(Change::Start {
                    key: proxy_key(&self.host, b),
                    node: self.host.clone(),
                    argv: proxy_argv(b),
                });
            }
        }
        self.ctrs[ci].bindings = bindings;
    }

    fn unmap_ports(&mut self, ci: usize, out: &mut Vec<Change>) {
        let bindings = std::mem::take(&mut self.ctrs[ci].bindings);
        let nets = self.nets();
        self.rules.ports(&nets, &bindings, false);
        for b in bindings.iter().filter(|b| b.host_port != 0) {
            self.ports.release(b.host_ip, b.proto, b.host_port);
            if self.daemon.proxy_process {
                out.push(Change::Stop {
                    key: proxy_key(&self.host, b),
                });
            }
        }
    }

    /// After a connect: if the gateway endpoint changed, the ports follow it.
    fn move_ports(&mut self, ci: usize, before: Option<usize>, out: &mut Vec<Change>) {
        if self.gateway_endpoint(ci) == before {
            return;
        }
        self.unmap_ports(ci, out);
        self.map_ports(ci, out);
        let c = &self.ctrs[ci];
        out.push(Change::Gateway {
            host: c.name.clone(),
            gateway: self.gateway_of(ci),
            gateway6: self.gateway6_of(ci),
        });
    }

    /// The container as the docker model sees it now: its live endpoints.
    fn model(&self, ci: usize) -> Container {
        let c = &self.ctrs[ci];
        Container {
            name: c.name.clone(),
            id: c.id().to_string(),
            endpoints: c.live.iter().map(|l| l.ep).collect(),
            publish: c.publish.clone(),
        }
    }

    /// The tables Docker's nftables backend has installed for the host as it is now: the
    /// running containers in the order they started (Docker appends a container's rules to
    /// their groups as it starts, so one restarted comes after the others).
    pub fn nft_tables(&self) -> Vec<docker::nftables::Table> {
        let mut running: Vec<usize> = (0..self.ctrs.len())
            .filter(|&ci| self.ctrs[ci].life == Life::Running)
            .collect();
        running.sort_by_key(|&ci| (self.ctrs[ci].started_step.map_or(0, |s| s + 1), ci));
        let ctrs: Vec<Container> = running.iter().map(|&ci| self.model(ci)).collect();
        let bindings: Vec<Binding> = running
            .iter()
            .enumerate()
            .flat_map(|(k, &ci)| {
                self.ctrs[ci]
                    .bindings
                    .iter()
                    .map(move |b| Binding { container: k, ..*b })
            })
            .collect();
        let nets = self.nets();
        docker::nftables::docker_tables_bound(&self.daemon, &nets, &ctrs, &bindings)
    }

    /// Running containers' names, as each of them resolves them, then the CLI's view, as
    /// changes (what every op ends with).
    pub fn refresh(&self, out: &mut Vec<Change>) {
        for (name, names) in self.names() {
            out.push(Change::Names { host: name, names });
        }
        let (view, stamps) = self.view();
        out.push(Change::DockerView {
            router: self.host.clone(),
            view: Box::new(view),
            stamps,
        });
    }

    /// Each running container's names (`/etc/hosts`, the embedded DNS).
    pub fn names(&self) -> Vec<(String, crate::host::resolve::Names)> {
        let nets = self.nets();
        let running: Vec<usize> = (0..self.ctrs.len())
            .filter(|&i| self.ctrs[i].life == Life::Running)
            .collect();
        let models: Vec<Container> = running.iter().map(|&i| self.model(i)).collect();
        let aliases: Vec<Vec<Vec<String>>> = running
            .iter()
            .map(|&i| {
                let c = &self.ctrs[i];
                c.live
                    .iter()
                    .map(|l| c.attach[l.attach].aliases.clone())
                    .collect()
            })
            .collect();
        let extra: Vec<Vec<(String, HostTarget)>> = running
            .iter()
            .map(|&i| self.ctrs[i].extra_hosts.clone())
            .collect();
        let names = dns::names_for(&nets, &models, &aliases, &extra);
        running
            .iter()
            .map(|&i| self.ctrs[i].name.clone())
            .zip(names)
            .collect()
    }

    /// What the `docker` CLI reports now, and the times in it that are steps' starts.
    pub fn view(&self) -> (DockerHostView, Vec<Stamp>) {
        let kept: Vec<usize> = (0..self.ctrs.len())
            .filter(|&i| !self.ctrs[i].removed && self.ctrs[i].life != Life::Created)
            .collect();
        let nets = self.nets();
        let containers: Vec<Container> = kept
            .iter()
            .map(|&i| {
                let c = &self.ctrs[i];
                let mut m = self.model(i);
                if c.life != Life::Running {
                    // Not attached now: the networks it will join, as configured.
                    m.endpoints = c
                        .attach
                        .iter()
                        .map(|a| docker::Endpoint {
                            network: a.net,
                            ip: a.ip.unwrap_or(Ipv4Address::UNSPECIFIED),
                            ip6: a.ip6,
                            mac: a.mac.unwrap_or(EthernetAddress([0; 6])),
                        })
                        .collect();
                }
                m
            })
            .collect();
        let mut view = DockerHostView::new(
            self.daemon.clone(),
            nets,
            containers,
            &self.label,
            self.created,
        );
        view.labels = self.networks.iter().map(|(_, _, l)| l.clone()).collect();
        view.shared = self.shared.clone();
        view.shared_modes = self.shared_modes.clone();
        view.hostname = self.view_base.hostname.clone();
        if let Some(id) = &self.view_base.host_network_id {
            view.host_network_id = id.clone();
        }
        if let Some(id) = &self.view_base.none_network_id {
            view.none_network_id = id.clone();
        }
        view.bindings = Vec::new();
        let mut stamps = Vec::new();
        for (vi, &i) in kept.iter().enumerate() {
            let c = &self.ctrs[i];
            let running = c.life == Life::Running;
            // The endpoints the view lists: the live ones, or a stopped container's networks.
            let shown: Vec<&Attach> = match running {
                true => c.live.iter().map(|l| &c.attach[l.attach]).collect(),
                false => c.attach.iter().collect(),
            };
            view.aliases
                .push(shown.iter().map(|a| a.aliases.clone()).collect());
            view.static_ips
                .push(shown.iter().map(|a| a.ip.is_some()).collect());
            view.extra_hosts.push(c.raw_extra_hosts.clone());
            match (running, c.live.is_empty()) {
                // `none` mode keeps its derived endpoint on `none`.
                (true, true) => {}
                (true, false) => {
                    view.endpoint_ids[vi] = c.live.iter().map(|l| l.endpoint_id.clone()).collect();
                }
                (false, _) => view.endpoint_ids[vi] = vec![String::new(); c.attach.len().max(1)],
            }
            if let (Some(id), Some(slot)) = (&c.sandbox_id, view.sandbox_ids.get_mut(vi)) {
                *slot = id.clone();
            }
            view.bindings.extend(c.bindings.iter().map(|b| Binding {
                container: vi,
                ..*b
            }));
            view.images.push(c.image.clone());
            if let Some(step) = c.created_step {
                stamps.push(Stamp {
                    container: vi,
                    field: StampField::Created,
                    step,
                });
            }
            view.states.push(self.run_state(c));
            if let Some(step) = c.started_step {
                stamps.push(Stamp {
                    container: vi,
                    field: StampField::Started,
                    step,
                });
            }
            if let (Life::Exited(_), Some(step)) = (c.life, c.finished_step) {
                stamps.push(Stamp {
                    container: vi,
                    field: StampField::Finished,
                    step,
                });
            }
        }
        (view, stamps)
    }

    /// The state with the lab's start for every time a step will stamp.
    fn run_state(&self, c: &Ctr) -> crate::docker::cli::RunState {
        use crate::docker::cli::RunState;
        let started = crate::docker::cli::started_after(self.created, c.id());
        match c.life {
            Life::Exited(code) => RunState::Exited {
                code,
                started,
                finished: self.created,
            },
            _ => RunState::Running { started },
        }
    }
}

/// An endpoint's address of one family: the one asked for, unless another endpoint holds
/// it, else what the IPAM allocates; Docker's refusal otherwise.
fn pick_address<A: Copy + PartialEq + std::fmt::Display>(
    asked: Option<A>,
    used: &[A],
    net: &Network,
    family: &str,
    allocate: impl FnOnce() -> Option<A>,
) -> Result<A, String> {
    match asked {
        Some(ip) if used.contains(&ip) => Err(format!(
            "Error response from daemon: Address already in use: {ip} on {}",
            net.name
        )),
        Some(ip) => Ok(ip),
        None => allocate().ok_or_else(|| {
            format!(
                "Error response from daemon: no available {family} addresses on this network's address pools: {} ({})",
                net.name, net.id
            )
        }),
    }
}

/// The first non-internal network among `nets`: where the gateway endpoint is.
fn gateway_net(
    networks: &[(Network, Location, Labels)],
    mut nets: impl Iterator<Item = usize>,
) -> Option<usize> {
    nets.find(|&n| networks.get(n).is_some_and(|(net, _, _)| !net.internal))
}

fn main_key(host: &str, ctr: &str) -> String {
    format!("{host}/container/{ctr}")
}

fn proxy_key(host: &str, b: &Binding) -> String {
    format!(
        "{host}/docker-proxy/{}/{}:{}",
        b.proto.as_str(),
        b.host_ip,
        b.host_port
    )
}

/// dockerd starts one docker-proxy per mapped host port and protocol (`proxy_linux.go`).
pub fn proxy_argv(b: &Binding) -> Vec<String> {
    format!(
        "docker-proxy -proto {} -host-ip {} -host-port {} -container-ip {} -container-port {} -use-listen-fd",
        b.proto.as_str(),
        b.host_ip,
        b.host_port,
        b.ctr_ip,
        b.ctr_port
    )
    .split(' ')
    .map(String::from)
    .collect()
}

/// The program keys of what runs from the lab's start, in the order Docker started them:
/// (key, node, argv).
pub fn initial_programs(plan: &HostPlan) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for c in plan.ctrs.iter().filter(|c| c.life == Life::Running) {
        if plan.daemon.proxy_process {
            for b in c.bindings.iter().filter(|b| b.host_port != 0) {
                out.push((proxy_key(&plan.host, b), plan.host.clone(), proxy_argv(b)));
            }
        }
    }
    for c in plan.ctrs.iter().filter(|c| c.life == Life::Running) {
        if let Some(argv) = &c.main {
            out.push((main_key(&plan.host, &c.name), c.name.clone(), argv.clone()));
        }
    }
    out
}

/// Finishes a step's plan: the iptables commands its operations issued, then the names and
/// the view.
pub fn finish_step(plan: &mut HostPlan, mut step: PlannedStep) -> PlannedStep {
    for argv in plan.rules.take_commands() {
        step.changes.push(Change::Iptables {
            router: plan.host.clone(),
            argv,
        });
    }
    if plan.daemon.firewall_backend == docker::FirewallBackend::Nftables {
        let now = plan.nft_tables();
        let script = docker::nftables::nft_update(&plan.nft, &now);
        if !script.is_empty() {
            step.changes.push(Change::Nft {
                router: plan.host.clone(),
                script,
            });
        }
        plan.nft = now;
    }
    if step.exit == 0 || !step.changes.is_empty() {
        plan.refresh(&mut step.changes);
    }
    step
}
