//! Container hosts: a smoltcp stack per interface, and the programs a student runs on them.
//!
//! A frame is handed to the stack of the interface it arrived on (ARP requests for other
//! addresses are skipped first, exactly as smoltcp would ignore them, so a flood to thousands
//! of hosts costs little); then the running programs are polled, and what they queued is
//! sent. An idle host holds no socket buffers: they come with the program that needs them.

pub mod apps;
pub mod cmd;
pub mod device;
pub mod net;
pub mod pmtu;
pub mod resolve;
pub mod route_cmd;
pub mod ss;
pub mod stack;

use std::any::Any;

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

use crate::listing::iproute::{self, LinkInfo, NeighInfo, Route6Info, RouteGet, RouteInfo};
use crate::rand::Rng;
use crate::sim::{CmdId, Ctx, Node, PortView};
use crate::time::{Duration, Instant};
pub use net::IfaceConfig;
use net::Net;
pub use stack::Stack;

#[derive(Clone, Debug)]
pub struct HostConfig {
    pub name: String,
    pub ifaces: Vec<IfaceConfig>,
    pub gateway: Option<Ipv4Address>,
    /// Unsolicited ARPs each addressed interface sends when the host comes up, one second
    /// apart (Docker 28+ sends 3 for every container interface).
    pub announce: u8,
}

pub struct Host {
    name: String,
    stack: Stack,
    /// Unsolicited ARPs still to send, when the next round goes, and from which interface
    /// (None: every addressed one).
    announce: (u8, Instant, Option<usize>),
}

/// The gap between unsolicited ARPs (Docker's `advertiseAddrIntervalDefault`).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);

impl Host {
    pub fn new(config: HostConfig, seed: u64) -> Host {
        let rng = Rng::stream(seed, &format!("host:{}", config.name));
        Host {
            stack: Stack::new(Net::new(config.ifaces, config.gateway, rng, Instant::ZERO)),
            name: config.name,
            announce: (config.announce, Instant::ZERO, None),
        }
    }

    /// One round of unsolicited ARPs: a request for its own address from each addressed
    /// interface, to broadcast, target MAC zero (how Docker announces a container).
    fn announce(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        let only = self.announce.2;
        for (i, f) in self.stack.net.ifaces.iter().enumerate() {
            if let Some(cidr) = f.config.cidr.filter(|_| only.is_none_or(|o| o == i)) {
                f.send_arp_request(i as u16, cidr.address(), ctx);
            }
        }
        self.announce = (self.announce.0 - 1, now + ANNOUNCE_EVERY, only);
    }

    /// The host's `/etc/hosts` and DNS server (a Docker container's, from
    /// [`crate::docker::dns::names_for`]). A builder rather than a `HostConfig` field, so that
    /// every place that spells a `HostConfig` out keeps compiling.
    /// `ip route add|del|replace` on the host (its `routes:`, applied at start).
    pub fn apply_route(&mut self, cmd: &route_cmd::RouteCmd) -> Result<(), String> {
        self.stack.net.apply_route(cmd)
    }

    pub fn with_names(mut self, names: resolve::Names) -> Host {
        self.stack.net.names = names;
        self
    }

    /// Gives interface `i` a new configuration, as when Docker replaces a container's veth
    /// (a new MAC and perhaps a new address), or takes its address away (`cidr` None: the
    /// interface is gone). Programs listening on every address listen on a new address.
    pub fn set_iface(&mut self, now: Instant, i: usize, config: IfaceConfig) {
        let addressed = config.cidr.is_some();
        self.stack.net.reconfigure(i, config, now);
        if addressed {
            self.stack.iface_up(i);
        }
    }

    /// The default route: via `gw`, through the interface whose subnet holds it.
    pub fn set_gateway(&mut self, gw: Option<Ipv4Address>) {
        self.stack.net.set_gateway(gw);
    }

    /// The IPv6 default route: via `gw` (see [`net::Net::set_gateway6`]).
    pub fn set_gateway6(&mut self, gw: Option<smoltcp::wire::Ipv6Address>) {
        self.stack.net.set_gateway6(gw);
    }

    /// Sends `count` rounds of unsolicited ARPs from now on, one second apart, from
    /// interface `only` or every addressed one.
    pub fn announce_from(&mut self, now: Instant, count: u8, only: Option<usize>) {
        self.announce = (count, now, only);
    }

    /// Replaces the host's `/etc/hosts` and DNS answers (containers came or went).
    pub fn set_names(&mut self, names: resolve::Names) {
        self.stack.net.names = names;
    }

    pub fn iface_config(&self, i: usize) -> &IfaceConfig {
        &self.stack.net.ifaces[i].config
    }

    pub fn mac(&self, i: usize) -> EthernetAddress {
        self.stack.net.ifaces[i].config.mac
    }

    pub fn running(&self) -> usize {
        self.stack.running()
    }

    /// The host's sockets, socket buffers and programs' state (see [`stack::Footprint`]).
    pub fn footprint(&self) -> stack::Footprint {
        self.stack.footprint()
    }

    /// Whether some interface has IPv6 (then `lo` has ::1, as IPv6 is on in the namespace).
    fn has_ipv6(&self) -> bool {
        self.stack
            .net
            .ifaces
            .iter()
            .any(|f| f.config.ipv6.is_some())
    }

    fn links(&self, views: &[PortView]) -> Vec<LinkInfo> {
        let mut lo = LinkInfo::loopback();
        if self.has_ipv6() {
            lo.addrs6 = vec![smoltcp::wire::Ipv6Cidr::new(
                smoltcp::wire::Ipv6Address::LOCALHOST,
                128,
            )];
        }
        let mut links = vec![lo];
        for (i, (f, v)) in self.stack.net.ifaces.iter().zip(views).enumerate() {
            if !v.present {
                continue;
            }
            let c = &f.config;
            let addrs = c.cidr.into_iter().collect();
            let mut link =
                LinkInfo::veth(self.ifindex(i as u16), &c.name, v, (c.mac, c.mtu), addrs);
            link.addrs6 = c.ipv6_addrs();
            links.push(link);
        }
        links
    }

    fn routes(&self) -> Vec<RouteInfo> {
        let mut routes = Vec::new();
        if let Some((i, gw)) = self.stack.net.gateway {
            routes.push(RouteInfo {
                dst: None,
                via: Some(gw),
                dev: self.stack.net.ifaces[i].config.name.clone(),
                kernel: false,
                src: None,
                metric: None,
                proto: None,
                scope: None,
            });
        }
        let mut connected: Vec<RouteInfo> = self
            .stack
            .net
            .ifaces
            .iter()
            .enumerate()
            // `lo`'s 127.0.0.0/8 is in the local table, which `ip route` does not show.
            .filter(|(i, _)| !self.stack.net.is_loopback(*i))
            .filter_map(|(_, f)| {
                let c = f.config.cidr?;
                Some(RouteInfo {
                    dst: Some(Ipv4Cidr::new(c.network().address(), c.prefix_len())),
                    via: None,
                    dev: f.config.name.clone(),
                    kernel: true,
                    src: Some(c.address()),
                    metric: None,
                    proto: None,
                    scope: None,
                })
            })
            .collect();
        let net = &self.stack.net;
        connected.extend(net.routes.iter().map(|r| RouteInfo {
            dst: Some(r.dst),
            via: Some(r.via),
            dev: net.ifaces[r.dev].config.name.clone(),
            kernel: false,
            src: None,
            metric: (r.metric != 0).then_some(r.metric),
            proto: None,
            scope: None,
        }));
        // As the kernel dumps its table: by address, then prefix length, then metric.
        connected.sort_by_key(|r| {
            (
                r.dst.map(|d| (d.address().to_bits(), d.prefix_len())),
                r.metric.unwrap_or(0),
            )
        });
        routes.extend(connected);
        routes
    }

    /// `ip -6 route`: each IPv6 interface's prefixes (global ones by address, then its
    /// fe80::/64), then the default route.
    fn routes6(&self) -> Vec<Route6Info> {
        let net = &self.stack.net;
        let mut routes: Vec<Route6Info> = Vec::new();
        for f in net.ifaces.iter().filter(|f| f.config.ipv6.is_some()) {
            for c in f.config.ipv6.iter().flatten() {
                routes.push(Route6Info {
                    dst: Some(*c),
                    via: None,
                    dev: f.config.name.clone(),
                });
            }
        }
        routes.sort_by_key(|r| {
            r.dst.map(|d| {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(d.prefix_len()))
                    .unwrap_or(0);
                (d.address().to_bits() & mask, d.prefix_len())
            })
        });
        routes.dedup_by(|a, b| {
            a.dev == b.dev
                && a.dst.map(|d| d.prefix_len()) == b.dst.map(|d| d.prefix_len())
                && a.dst.zip(b.dst).is_some_and(|(x, y)| same_prefix(x, y))
        });
        for f in net.ifaces.iter() {
            if let Some(ll) = f.config.link_local() {
                routes.push(Route6Info {
                    dst: Some(ll),
                    via: None,
                    dev: f.config.name.clone(),
                });
            }
        }
        if let Some((i, gw)) = net.gateway6 {
            routes.push(Route6Info {
                dst: None,
                via: Some(gw),
                dev: net.ifaces[i].config.name.clone(),
            });
        }
        routes
    }

    fn neighbours6(&self, now: Instant) -> Vec<NeighInfo<smoltcp::wire::Ipv6Address>> {
        let net = &self.stack.net;
        net.ifaces
            .iter()
            .flat_map(|f| {
                f.neighbours6(now)
                    .into_iter()
                    .map(|(ip, mac, state)| NeighInfo {
                        ip,
                        dev: f.config.name.clone(),
                        lladdr: Some(mac),
                        state,
                    })
            })
            .collect()
    }

    /// `ip route get DST`, with the path MTU learned for it.
    fn route_get(&self, dst: &str, now: Instant) -> Result<String, String> {
        let net = &self.stack.net;
        let dst: Ipv4Address = dst
            .parse()
            .map_err(|_| format!("Error: any valid prefix is expected rather than \"{dst}\"."))?;
        if net.is_local(dst) {
            return Ok(iproute::ip_route_get(&RouteGet {
                dst,
                via: None,
                dev: "lo".into(),
                src: dst,
                local: true,
                pmtu: None,
            }));
        }
        let r = self
            .route_info(dst, now)
            .ok_or("RTNETLINK answers: Network is unreachable")?;
        Ok(iproute::ip_route_get(&r))
    }

    fn route_info(&self, dst: Ipv4Address, now: Instant) -> Option<RouteGet> {
        let net = &self.stack.net;
        let (i, via) = net.lookup(dst)?;
        let f = &net.ifaces[i];
        let pmtu = net.pmtu.get(dst, now).map(|e| {
            let left = e.expires.saturating_sub(now);
            (left.nanos() / 1_000_000_000, e.mtu)
        });
        Some(RouteGet {
            dst,
            via,
            dev: f.config.name.clone(),
            src: f.config.cidr?.address(),
            local: false,
            pmtu,
        })
    }

    /// The route exceptions still alive, as `ip route show cache` lists them.
    fn route_cache(&self, now: Instant) -> Vec<RouteGet> {
        let net = &self.stack.net;
        net.pmtu
            .live(now)
            .filter_map(|e| self.route_info(e.dst, now))
            .collect()
    }

    fn neighbours(&self, now: Instant) -> Vec<NeighInfo> {
        self.stack
            .net
            .ifaces
            .iter()
            .flat_map(|f| {
                f.neighbours(now)
                    .into_iter()
                    .map(|(ip, mac, state)| NeighInfo {
                        ip,
                        dev: f.config.name.clone(),
                        lladdr: Some(mac),
                        state,
                    })
            })
            .collect()
    }
}

/// Whether two prefixes of the same length cover the same addresses.
fn same_prefix(a: smoltcp::wire::Ipv6Cidr, b: smoltcp::wire::Ipv6Cidr) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(a.prefix_len()))
        .unwrap_or(0);
    a.address().to_bits() & mask == b.address().to_bits() & mask
}

impl Node for Host {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "host"
    }

    fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8], ctx: &mut Ctx<'_>) {
        let i = usize::from(port);
        let Some(f) = self.stack.net.ifaces.get(i) else {
            return;
        };
        if f.ignores(frame) {
            // smoltcp takes no ARP that is not aimed at it; Linux updates a neighbour that
            // announces a new MAC. Handed over as a reply to us, it does.
            match f.as_reply_to_us(frame, now) {
                Some(reply) => self.stack.receive(now, i, &reply, ctx),
                None => ctx.untouched(),
            }
            return;
        }
        self.stack.receive(now, i, frame, ctx);
    }

    fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.announce.0 > 0 && self.announce.1 <= now {
            self.announce(now, ctx);
        }
        self.stack.timeout(now, ctx);
    }

    fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        let stack = self.stack.deadline(now);
        match (self.announce.0 > 0).then_some(self.announce.1) {
            Some(a) => Some(stack.map_or(a, |s| s.min(a))),
            None => stack,
        }
    }

    fn start_command(
        &mut self,
        now: Instant,
        cmd: CmdId,
        argv: &[String],
        input: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        self.stack.start(now, cmd, (&self.name, argv, input), ctx)
    }

    fn stop_command(&mut self, now: Instant, cmd: CmdId, ctx: &mut Ctx<'_>) {
        self.stack.stop(now, cmd, ctx);
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
            ["ip", "route" | "r"] | ["ip", "route", "show"] => {
                Ok(iproute::ip_route(&self.routes()))
            }
            ["ip", "route" | "r", "get", dst] => self.route_get(dst, now),
            ["ip", "route" | "r", "show" | "list", "cache"] => {
                Ok(iproute::ip_route_cache(&self.route_cache(now)))
            }
            // Both families, IPv4's table first, as the kernel dumps them.
            ["ip", "neigh" | "n" | "neighbour" | "neighbor"]
            | ["ip", "neigh" | "neighbour" | "neighbor", "show"] => {
                Ok(iproute::ip_neigh(&self.neighbours(now))
                    + &iproute::ip_neigh(&self.neighbours6(now)))
            }
            ["ip", "-4", "neigh" | "n" | "neighbour" | "neighbor"]
            | ["ip", "-4", "neigh" | "n" | "neighbour" | "neighbor", "show"] => {
                Ok(iproute::ip_neigh(&self.neighbours(now)))
            }
            ["ip", "-6", "neigh" | "n" | "neighbour" | "neighbor"]
            | ["ip", "-6", "neigh" | "n" | "neighbour" | "neighbor", "show"] => {
                Ok(iproute::ip_neigh(&self.neighbours6(now)))
            }
            ["ip", "-6", "route" | "r"] | ["ip", "-6", "route" | "r", "show"] => {
                Ok(iproute::ip_route6(&self.routes6()))
            }
            ["ss", ..] => Ok(self.stack.ss(now, &ss::parse(&argv[1..])?)),
            _ => Err(format!(
                "{}: a host shows `ip addr`, `ip -6 addr`, `ip link`, `ip -s link`, \
                 `ip route`, `ip -6 route`, `ip route get ADDR`, `ip route show cache`, \
                 `ip neigh`, `ip -6 neigh`, `ss`",
                argv.join(" ")
            )),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
