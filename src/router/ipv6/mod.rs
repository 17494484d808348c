//! IPv6 on the router, as `ip6_input`, `ip6_forward` and `ndisc` do it: neighbour
//! discovery (solicitations answered for the router's addresses, its own solicitations to
//! a solicited-node group, the same NUD states as ARP's), forwarding with
//! `net.ipv6.conf.all.forwarding` (route lookup, hop limit, no fragmentation: a packet
//! over the next link's MTU gets "packet too big"), and the ICMPv6 errors and answers of
//! a Linux host: time exceeded, no route, address unreachable, beyond scope, port
//! unreachable, echo replies and TCP resets.
//!
//! An interface takes IPv6 when the lab gives it (`ipv6:`): its static addresses and the
//! EUI-64 link-local one, with their connected routes. Netfilter's IPv6 hooks run where
//! the kernel's do (ip6tables' tables; nft's `ip6` and `inet` chains see only IPv4 yet),
//! and the router sends no router advertisements, redirects, MLD reports or DAD probes.

pub mod addr6;
pub mod icmp6;
pub mod route6;

use smoltcp::wire::{
    EthernetAddress, Icmpv6Message, Icmpv6Packet, IpAddress, IpProtocol, Ipv6Address, Ipv6Cidr,
    Ipv6Packet, NdiscRepr, RawHardwareAddress,
};

use super::Router;
use super::icmp::RateLimit;
use super::neigh::{Action, NeighTable, Resolve};
use crate::link::ETH_HEADER_LEN;
use crate::listing::iproute::NeighInfo;
use crate::netfilter::conntrack::Tracked;
use crate::netfilter::hooks::Fate;
use crate::rand::Rng;
use crate::sim::{Ctx, DropReason, Note, PacketTag};
use crate::time::{Duration, Instant};
use route6::Route6Table;

/// The namespace's IPv6 state beside its IPv4 one.
pub struct V6 {
    pub routes: Route6Table,
    /// Neighbours found by neighbour discovery (`ip -6 neigh`), their queues holding each
    /// packet with its tag.
    pub neigh: NeighTable<(PacketTag, Vec<u8>), Ipv6Address>,
    /// `net.ipv6.conf.all.forwarding`.
    pub forwarding: bool,
    limit: RateLimit<Ipv6Address>,
}

/// `net.ipv6.icmp.ratelimit`: the base interval between errors to one destination.
const ICMPV6_RATELIMIT: Duration = Duration::from_secs(1);

impl V6 {
    pub fn new(rng: Rng, forwarding: bool) -> V6 {
        V6 {
            routes: Route6Table::default(),
            neigh: NeighTable::new(rng),
            forwarding,
            limit: RateLimit::default(),
        }
    }
}

/// An interface's IPv6 addresses in the kernel's order (`ip -6 addr`) from its static
/// ones: global ones, the newest first, then the link-local one the kernel makes from the
/// MAC when IPv6 comes up.
pub fn iface_addrs(statics: &[Ipv6Cidr], mac: EthernetAddress) -> Vec<Ipv6Cidr> {
    statics
        .iter()
        .rev()
        .copied()
        .chain([link_local(mac)])
        .collect()
}

/// The EUI-64 link-local address of an interface with this MAC.
fn link_local(mac: EthernetAddress) -> Ipv6Cidr {
    Ipv6Cidr::new(crate::host::net::eui64_link_local(mac), 64)
}

const ALL_NODES: Ipv6Address = Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS: Ipv6Address = Ipv6Address::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

impl Router {
    /// The IPv6 addresses of interface `dev` (none when IPv6 is off on it or it is gone).
    /// Borrowed: the receive path asks for them on every packet.
    pub(super) fn addrs6(&self, dev: usize) -> &[Ipv6Cidr] {
        match self.ns.links.get(dev) {
            Some(l) if l.gone => &[],
            _ => self.ns.ifaces[dev].ipv6.as_deref().unwrap_or_default(),
        }
    }

    /// The IPv6 addresses `ip addr` lists for `dev`: all of them on an interface that is
    /// up; on one that is down its static ones alone, the link-local address coming with
    /// the link.
    pub(super) fn listed6(&self, dev: usize) -> Vec<Ipv6Cidr> {
        let up = self.ns.links.get(dev).is_some_and(|l| l.up);
        self.addrs6(dev)
            .iter()
            .filter(|c| up || !c.address().is_unicast_link_local())
            .copied()
            .collect()
    }

    fn has_addr6(&self, dev: usize, a: Ipv6Address) -> bool {
        self.addrs6(dev).iter().any(|c| c.address() == a)
    }

    /// Whether `a` is one of the router's addresses (any interface's, as Linux's weak host
    /// model has it; a link-local one only on the interface the packet came in on).
    fn is_local6(&self, dev: usize, a: Ipv6Address) -> bool {
        if a.is_unicast_link_local() {
            return self.has_addr6(dev, a);
        }
        (0..self.ns.ifaces.len()).any(|d| self.has_addr6(d, a))
    }

    /// The groups an interface listens to: all nodes, all routers while forwarding, and
    /// the solicited-node group of each of its addresses.
    fn joined(&self, dev: usize, group: Ipv6Address) -> bool {
        group == ALL_NODES
            || (group == ALL_ROUTERS && self.ns.v6.forwarding)
            || self
                .addrs6(dev)
                .iter()
                .any(|c| icmp6::solicited_node(c.address()) == group)
    }

    /// The source of a packet to `dst` leaving through `dev` (RFC 6724 as Linux applies
    /// it, on this scale): a link-local destination gets the interface's link-local
    /// address; another gets a global address of the interface, else the global address
    /// sharing the longest prefix with it on any interface, else the link-local one.
    pub(super) fn source6(&self, dev: usize, dst: Ipv6Address) -> Option<Ipv6Address> {
        let here = self.addrs6(dev);
        let link_local = here
            .iter()
            .find(|c| c.address().is_unicast_link_local())
            .map(|c| c.address());
        if dst.is_unicast_link_local() || dst.is_multicast() && dst.segments()[0] & 0xf == 2 {
            return link_local;
        }
        let global = |c: &&Ipv6Cidr| !c.address().is_unicast_link_local();
        let common = |c: &Ipv6Cidr| (c.address().to_bits() ^ dst.to_bits()).leading_zeros();
        if let Some(c) = here.iter().filter(global).max_by_key(|c| common(c)) {
            return Some(c.address());
        }
        (0..self.ns.ifaces.len())
            .flat_map(|d| self.addrs6(d))
            .filter(|c| !c.address().is_unicast_link_local())
            .max_by_key(|c| common(c))
            .map(|c| c.address())
            .or(link_local)
    }

    /// Whether IPv6 is on on interface `dev`.
    fn ipv6_on(&self, dev: usize) -> bool {
        self.ns.ifaces.get(dev).is_some_and(|f| f.ipv6.is_some())
    }

    /// An IPv6 packet arriving on `dev`: neighbour discovery, for the router, or to forward.
    pub(super) fn handle_ipv6(&mut self, now: Instant, dev: usize, data: &[u8], ctx: &mut Ctx<'_>) {
        if !self.ipv6_on(dev) {
            // `disable_ipv6`: the interface takes no IPv6 at all.
            ctx.note(Note::Dropped(DropReason::OtherHost));
            return;
        }
        let total = match Ipv6Packet::new_checked(data) {
            Ok(ip) if ip.version() == 6 => 40 + usize::from(ip.payload_len()),
            _ => {
                self.counters.header_errors += 1;
                ctx.note(Note::Dropped(DropReason::BadIpHeader));
                return;
            }
        };
        let pkt = &data[..total];
        let ip = Ipv6Packet::new_unchecked(pkt);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if src.is_multicast() || src.is_loopback() || dst.is_loopback() {
            self.counters.header_errors += 1;
            ctx.note(Note::Dropped(DropReason::Martian));
            return;
        }
        // Netfilter may rewrite the packet: work on a copy, with room for the Ethernet
        // header. PREROUTING sees every packet, neighbour discovery included.
        let mut frame = ctx.buffer();
        frame.resize(ETH_HEADER_LEN, 0);
        frame.extend_from_slice(pkt);
        let nf = self.nf6();
        let in_addr = match nf {
            true => self.global6(dev).map(IpAddress::Ipv6),
            false => None,
        };
        // The packet's conntrack state, carried from hook to hook when the hooks run.
        let mut tr: Option<Tracked> = None;
        if nf {
            let (out, t) = self.netfilter(now, |nf, cx, ifs| {
                nf.prerouting(cx, &mut frame[ETH_HEADER_LEN..], &ifs[dev].name, in_addr)
            });
            super::note_conntrack(&t, ctx);
            tr = Some(t);
            if !self.pass(now, out, &frame, ctx) {
                return;
            }
        }
        let ip = Ipv6Packet::new_unchecked(&frame[ETH_HEADER_LEN..]);
        let dst = ip.dst_addr();
        let ndisc = ip.next_header() == IpProtocol::Icmpv6
            && ip
                .payload()
                .first()
                .is_some_and(|&t| matches!(t, 133..=137));
        let local =
            ndisc || (dst.is_multicast() && self.joined(dev, dst)) || self.is_local6(dev, dst);
        if local {
            if let Some(tr) = tr.as_mut() {
                let out = self.netfilter(now, |nf, cx, ifs| {
                    nf.input(
                        cx,
                        &mut frame[ETH_HEADER_LEN..],
                        tr,
                        &ifs[dev].name,
                        in_addr,
                    )
                });
                if !self.pass(now, out, &frame, ctx) {
                    return;
                }
            }
            let pkt = &frame[ETH_HEADER_LEN..];
            if ndisc {
                self.ndisc_in(now, dev, pkt, ctx);
            } else {
                self.local6(now, dev, pkt, dst.is_multicast(), ctx);
            }
            return;
        }
        if dst.is_multicast() {
            return;
        }
        if dst.is_unicast_link_local() {
            // Not ours, and a link-local address is never routed off its link.
            ctx.note(Note::Dropped(DropReason::OtherHost));
            return;
        }
        self.forward6(now, dev, frame, tr, ctx);
    }

    /// Whether IPv6 packets go through netfilter's hooks: not when nothing there would read
    /// them (see [`crate::netfilter::hooks::Netfilter::idle6`]).
    fn nf6(&self) -> bool {
        !self.filtering.nf.idle6()
    }

    /// The interface's first address that is not link-local (REDIRECT's destination).
    fn global6(&self, dev: usize) -> Option<Ipv6Address> {
        self.addrs6(dev)
            .iter()
            .map(|c| c.address())
            .find(|a| !a.is_unicast_link_local())
    }

    /// `ip6_forward`, after the route lookup `ip6_route_input` made; `frame` holds the
    /// packet after room for an Ethernet header, as PREROUTING left it.
    fn forward6(
        &mut self,
        now: Instant,
        dev: usize,
        mut frame: Vec<u8>,
        tr: Option<Tracked>,
        ctx: &mut Ctx<'_>,
    ) {
        let pkt = &frame[ETH_HEADER_LEN..];
        let ip = Ipv6Packet::new_unchecked(pkt);
        let (src, dst, hop_limit) = (ip.src_addr(), ip.dst_addr(), ip.hop_limit());
        let Some(route) = self.ns.v6.routes.lookup(dst, None).cloned() else {
            // The kernel's null route answers even where forwarding is off.
            self.counters.no_route += 1;
            let pkt = pkt.to_vec();
            self.icmp6_error(now, dev, &pkt, (Icmpv6Message::DstUnreachable, 0, 0), ctx);
            return;
        };
        if !self.ns.v6.forwarding {
            ctx.note(Note::Dropped(DropReason::ForwardingOff));
            return;
        }
        if hop_limit <= 1 {
            self.counters.ttl_expired += 1;
            let pkt = pkt.to_vec();
            self.icmp6_error(now, dev, &pkt, (Icmpv6Message::TimeExceeded, 0, 0), ctx);
            return;
        }
        if src.is_unicast_link_local() {
            let why = (Icmpv6Message::DstUnreachable, 2, 0);
            let pkt = pkt.to_vec();
            self.icmp6_error(now, dev, &pkt, why, ctx);
            return;
        }
        // IPv6 routers never fragment; the minimum MTU is 1280 whatever the link says.
        let mtu = (self.ns.ifaces[route.dev].mtu as usize).max(1280);
        if pkt.len() > mtu {
            let why = (Icmpv6Message::PktTooBig, 0, mtu as u32);
            let pkt = pkt.to_vec();
            self.icmp6_error(now, dev, &pkt, why, ctx);
            return;
        }
        if ctx.trace() {
            let dst_text = match route.dst.prefix_len() {
                0 => "default".to_string(),
                _ => route.dst.to_string(),
            };
            let via = route.via.map(|v| format!(" via {v}")).unwrap_or_default();
            let text = format!(
                "route {dst_text}{via} dev {} matched {dst} (longest prefix); hop limit \
                 {hop_limit} -> {}",
                self.ns.ifaces[route.dev].name,
                hop_limit - 1
            );
            ctx.note(Note::Decision(text.into()));
        }
        // IPv6 has no header checksum to mend.
        Ipv6Packet::new_unchecked(&mut frame[ETH_HEADER_LEN..]).set_hop_limit(hop_limit - 1);
        let next_hop = route.via.unwrap_or(dst);
        if self.nf6() {
            let mut tr = tr.unwrap_or_else(Tracked::untracked);
            let out_addr = self.source6(route.dev, next_hop).map(IpAddress::Ipv6);
            let out = self.netfilter(now, |nf, cx, ifs| {
                let (in_name, out_name) = (&ifs[dev].name, &ifs[route.dev].name);
                let ip = &mut frame[ETH_HEADER_LEN..];
                let out = nf.forward(cx, ip, &mut tr, in_name, out_name);
                match out.fate {
                    Fate::Continue => out.then(nf.postrouting(
                        cx,
                        ip,
                        &mut tr,
                        (Some(in_name), out_name),
                        out_addr,
                    )),
                    _ => out,
                }
            });
            if !self.pass(now, out, &frame, ctx) {
                return;
            }
        }
        self.counters.forwarded += 1;
        ctx.note(self.routed_note(route.dev, route.via.map(Into::into)));
        let tag = ctx.incoming();
        self.output6(now, route.dev, next_hop, (tag, frame), ctx);
    }

    /// A packet for the router: echo requests answered, a closed UDP port or an unknown
    /// protocol answered with an error, a TCP segment reset. `multicast`: sent to a group.
    fn local6(&mut self, now: Instant, dev: usize, pkt: &[u8], multicast: bool, ctx: &mut Ctx<'_>) {
        self.counters.delivered += 1;
        ctx.note(Note::Local);
        if !multicast && self.deliver_to_stack6(now, pkt, ctx) {
            return;
        }
        let ip = Ipv6Packet::new_unchecked(pkt);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        match ip.next_header() {
            IpProtocol::Icmpv6 => {
                let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
                    return;
                };
                if icmp.msg_type() != Icmpv6Message::EchoRequest
                    || !icmp.verify_checksum(&src, &dst)
                    || src.is_unspecified()
                {
                    return;
                }
                // A reply to a group's request comes from the address routing picks.
                let from = match multicast {
                    false => Some(dst),
                    true => self.source6(dev, src),
                };
                let Some(from) = from else { return };
                let buf = ctx.buffer();
                if let Some(reply) = icmp6::echo_reply(buf, pkt, from) {
                    ctx.note(Note::Icmpv6 { kind: 129, code: 0 });
                    self.send_local6(now, reply, ctx);
                }
            }
            _ if multicast => {}
            IpProtocol::Udp => {
                self.icmp6_error(now, dev, pkt, (Icmpv6Message::DstUnreachable, 4, 0), ctx);
            }
            IpProtocol::Tcp => {
                let buf = ctx.buffer();
                if let Some(rst) = icmp6::tcp_reset(buf, pkt) {
                    self.send_local6(now, rst, ctx);
                }
            }
            // Extension headers lead to a payload the router has no use for either.
            IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ipv6NoNxt => {}
            _ => {
                // Unrecognized next header, pointing at the header's Next Header field.
                let why = (Icmpv6Message::ParamProblem, 1, 6);
                self.icmp6_error(now, dev, pkt, why, ctx);
            }
        }
    }

    /// Neighbour discovery: a solicitation for one of the router's addresses is answered
    /// and its sender learned (STALE); an advertisement updates a neighbour the router
    /// asked after. True when the packet was neighbour discovery.
    fn ndisc_in(&mut self, now: Instant, dev: usize, pkt: &[u8], ctx: &mut Ctx<'_>) -> bool {
        let ip = Ipv6Packet::new_unchecked(pkt);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
            return false;
        };
        if !matches!(
            icmp.msg_type(),
            Icmpv6Message::NeighborSolicit
                | Icmpv6Message::NeighborAdvert
                | Icmpv6Message::RouterSolicit
                | Icmpv6Message::RouterAdvert
                | Icmpv6Message::Redirect
        ) {
            return false;
        }
        // RFC 4861 §7.1: only from the link itself, and whole.
        if ip.hop_limit() != 255 || icmp.msg_code() != 0 || !icmp.verify_checksum(&src, &dst) {
            ctx.note(Note::Dropped(DropReason::Malformed));
            return true;
        }
        let mac = |l: Option<RawHardwareAddress>| {
            l.filter(|l| l.len() == 6)
                .map(|l| EthernetAddress::from_bytes(l.as_bytes()))
        };
        match NdiscRepr::parse(&icmp) {
            Ok(NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            }) => {
                if !self.has_addr6(dev, target_addr) {
                    return true;
                }
                ctx.note(Note::Local);
                let from = match (src.is_unspecified(), mac(lladdr)) {
                    (true, _) => EthernetAddress::BROADCAST,
                    (false, Some(m)) => {
                        let waiting = self.ns.v6.neigh.learn(now, src, dev, m, false);
                        self.release6(dev, m, waiting, ctx);
                        m
                    }
                    // A unicast solicitation may leave the option out: answer its sender.
                    (false, None) => match self.rx_mac {
                        Some(h) => EthernetAddress::from_bytes(&h[6..12]),
                        None => return true,
                    },
                };
                let buf = ctx.buffer();
                let own = (self.ns.ifaces[dev].mac, target_addr);
                let mut na = icmp6::neighbor_advert(buf, own, (from, src), self.ns.v6.forwarding);
                ctx.note(Note::Icmpv6 { kind: 136, code: 0 });
                if self.out_hooks6(now, dev, &mut na, ctx) {
                    let tag = ctx.new_tag();
                    self.transmit(dev, na, tag, ctx);
                }
            }
            Ok(NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            }) => {
                let known = self
                    .ns
                    .v6
                    .neigh
                    .entries()
                    .iter()
                    .any(|n| n.ip == target_addr && n.dev == dev);
                // An advertisement updates a neighbour the router has; it makes none.
                if let (true, Some(m)) = (known, mac(lladdr)) {
                    let solicited = flags.contains(smoltcp::wire::NdiscNeighborFlags::SOLICITED);
                    let waiting = self.ns.v6.neigh.learn(now, target_addr, dev, m, solicited);
                    self.release6(dev, m, waiting, ctx);
                }
            }
            // Router solicitations and advertisements, redirects: the router sends no
            // advertisements and, forwarding, takes none.
            Ok(_) => {}
            Err(_) => ctx.note(Note::Dropped(DropReason::Malformed)),
        }
        true
    }

    /// Sends the packets that waited for a neighbour now found at `mac`.
    pub(super) fn release6(
        &mut self,
        dev: usize,
        mac: EthernetAddress,
        waiting: Vec<(PacketTag, Vec<u8>)>,
        ctx: &mut Ctx<'_>,
    ) {
        for frame in waiting {
            self.send_frame(dev, mac, frame, ctx);
        }
    }

    /// A solicitation for `target` on `dev`: to its solicited-node group, or unicast to
    /// `to` when probing a known neighbour. It comes from the source of the packet that
    /// waits (`waiting`) when that is one of the interface's addresses, else from the
    /// interface's link-local address (`ndisc_solicit`, `ndisc_send_ns`): a forwarded
    /// packet's solicitation teaches the neighbour the router's link-local address.
    fn solicit(
        &mut self,
        now: Instant,
        dev: usize,
        target: Ipv6Address,
        (to, waiting): (Option<EthernetAddress>, Option<Ipv6Address>),
        ctx: &mut Ctx<'_>,
    ) {
        let own = waiting.filter(|s| self.has_addr6(dev, *s));
        let link_local = || {
            self.addrs6(dev)
                .iter()
                .map(|c| c.address())
                .find(|a| a.is_unicast_link_local())
        };
        let Some(src) = own.or_else(link_local) else {
            return;
        };
        let buf = ctx.buffer();
        let own = (self.ns.ifaces[dev].mac, src);
        let mut ns = icmp6::neighbor_solicit(buf, own, target, to);
        if self.out_hooks6(now, dev, &mut ns, ctx) {
            let tag = ctx.new_tag();
            self.transmit(dev, ns, tag, ctx);
        }
    }

    /// A packet the router sends out of `dev` without a route lookup (a frame, its packet
    /// after the Ethernet header: neighbour discovery as `ndisc_send_skb` sends it, an error
    /// back to a link-local source) meets OUTPUT and POSTROUTING; false when a rule dropped
    /// it.
    fn out_hooks6(
        &mut self,
        now: Instant,
        dev: usize,
        frame: &mut [u8],
        ctx: &mut Ctx<'_>,
    ) -> bool {
        if !self.nf6() {
            return true;
        }
        let (out, mut tr) = self.netfilter(now, |nf, cx, ifs| {
            nf.output(cx, &mut frame[ETH_HEADER_LEN..], &ifs[dev].name)
        });
        if !self.pass(now, out, frame, ctx) {
            return false;
        }
        let out = self.netfilter(now, |nf, cx, ifs| {
            let ip = &mut frame[ETH_HEADER_LEN..];
            nf.postrouting(cx, ip, &mut tr, (None, &ifs[dev].name), None)
        });
        self.pass(now, out, frame, ctx)
    }

    /// Sends a frame (its IPv6 packet after the Ethernet header) to `next_hop` on `dev`.
    fn output6(
        &mut self,
        now: Instant,
        dev: usize,
        next_hop: Ipv6Address,
        frame: (PacketTag, Vec<u8>),
        ctx: &mut Ctx<'_>,
    ) {
        let src = Ipv6Packet::new_unchecked(&frame.1[ETH_HEADER_LEN..]).src_addr();
        match self.ns.v6.neigh.resolve(now, next_hop, dev, frame) {
            (Resolve::Send(mac), Some(frame)) => self.send_frame(dev, mac, frame, ctx),
            (Resolve::Queued { probe }, _) => {
                ctx.note(Note::Queued {
                    next_hop: next_hop.into(),
                });
                if probe {
                    self.solicit(now, dev, next_hop, (None, Some(src)), ctx);
                }
            }
            (_, _) => ctx.note(Note::Dropped(DropReason::NeighbourQueueFull)),
        }
    }

    /// Sends a packet the router made (a frame, its IPv6 packet after the Ethernet
    /// header) by the route to its destination, through OUTPUT and POSTROUTING.
    pub(super) fn send_local6(&mut self, now: Instant, mut frame: Vec<u8>, ctx: &mut Ctx<'_>) {
        let dst_of = |f: &[u8]| Ipv6Packet::new_unchecked(&f[ETH_HEADER_LEN..]).dst_addr();
        let tag = ctx.new_tag();
        let Some(route) = self.route_local6(dst_of(&frame)) else {
            return;
        };
        if !self.nf6() {
            let dst = dst_of(&frame);
            return match route {
                Some((dev, via)) => self.output6(now, dev, via.unwrap_or(dst), (tag, frame), ctx),
                None => self.receive_loopback6(now, frame, ctx),
            };
        }
        let (out, mut tr) = self.netfilter(now, |nf, cx, ifs| {
            nf.output(cx, &mut frame[ETH_HEADER_LEN..], dev_name(ifs, route))
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        // OUTPUT's DNAT re-routes the packet.
        let dst = dst_of(&frame);
        let Some(route) = self.route_local6(dst) else {
            return;
        };
        let out_addr = match route {
            Some((d, via)) => self.source6(d, via.unwrap_or(dst)),
            None => Some(Ipv6Address::LOCALHOST),
        };
        let out = self.netfilter(now, |nf, cx, ifs| {
            let ip = &mut frame[ETH_HEADER_LEN..];
            let out = dev_name(ifs, route);
            nf.postrouting(cx, ip, &mut tr, (None, out), out_addr.map(IpAddress::Ipv6))
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        match route {
            Some((dev, via)) => self.output6(now, dev, via.unwrap_or(dst), (tag, frame), ctx),
            None => self.receive_loopback6(now, frame, ctx),
        }
    }
}

/// The interface a packet the router sends leaves by (`lo` for its own addresses).
fn dev_name(ifs: &[super::RouterIface], route: Option<(usize, Option<Ipv6Address>)>) -> &str {
    route.map_or(super::local::LO, |(d, _)| ifs[d].name.as_str())
}

impl Router {
    /// The route of a packet the router sends: `Some(None)` through `lo` (to one of its
    /// own addresses), else the interface and gateway; `None` when there is none. A
    /// link-local destination is on the link the packet being answered came from.
    fn route_local6(&self, dst: Ipv6Address) -> Option<Option<(usize, Option<Ipv6Address>)>> {
        if dst.is_loopback() || (0..self.ns.ifaces.len()).any(|d| self.has_addr6(d, dst)) {
            return Some(None);
        }
        let route = match dst.is_unicast_link_local() {
            true => (0..self.ns.ifaces.len())
                .find(|d| self.ipv6_on(*d) && self.link_usable(*d) && self.is_on_link6(*d, dst))
                .map(|d| (d, None)),
            false => self.ns.v6.routes.lookup(dst, None).map(|r| (r.dev, r.via)),
        };
        route.map(Some)
    }

    /// An IPv6 packet the router sent itself: PREROUTING and INPUT on `lo`, then the
    /// router takes it.
    fn receive_loopback6(&mut self, now: Instant, mut frame: Vec<u8>, ctx: &mut Ctx<'_>) {
        if !self.nf6() {
            self.loopback_local6(now, &frame, ctx);
            return;
        }
        let lo = Some(IpAddress::Ipv6(Ipv6Address::LOCALHOST));
        let lo_name = super::local::LO;
        let (out, mut tr) = self.netfilter(now, |nf, cx, _| {
            nf.prerouting(cx, &mut frame[ETH_HEADER_LEN..], lo_name, lo)
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        let out = self.netfilter(now, |nf, cx, _| {
            nf.input(cx, &mut frame[ETH_HEADER_LEN..], &mut tr, lo_name, lo)
        });
        if !self.pass(now, out, &frame, ctx) {
            return;
        }
        self.loopback_local6(now, &frame, ctx);
    }

    /// A looped-back IPv6 packet for the router: to one of its addresses, or to ::1.
    fn loopback_local6(&mut self, now: Instant, frame: &[u8], ctx: &mut Ctx<'_>) {
        let dst = Ipv6Packet::new_unchecked(&frame[ETH_HEADER_LEN..]).dst_addr();
        let dev = (0..self.ns.ifaces.len()).find(|d| self.has_addr6(*d, dst));
        // ::1 is `lo`'s: the device only picks a group reply's source, never asked here.
        if let Some(dev) = dev.or(dst.is_loopback().then_some(0)) {
            self.local6(now, dev, &frame[ETH_HEADER_LEN..], false, ctx);
        }
    }

    /// Whether a link-local `dst` was last heard on `dev` (its neighbour entry); a `dst`
    /// known on no interface may be on any (the caller takes the first usable one).
    fn is_on_link6(&self, dev: usize, dst: Ipv6Address) -> bool {
        let entries = self.ns.v6.neigh.entries();
        match entries.iter().find(|n| n.ip == dst) {
            Some(n) => n.dev == dev,
            None => true,
        }
    }

    /// An ICMPv6 error about `original` (an IPv6 packet that came in on `dev`) back to its
    /// source, as `icmp6_send` decides: never about an error, to a group or from `::`; rate
    /// limited per destination (`net.ipv6.icmp.ratelimit`, more often toward a wider
    /// route) except "packet too big".
    fn icmp6_error(
        &mut self,
        now: Instant,
        dev: usize,
        original: &[u8],
        (msg, code, param): (Icmpv6Message, u8, u32),
        ctx: &mut Ctx<'_>,
    ) {
        let ip = Ipv6Packet::new_unchecked(original);
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if src.is_unspecified() || src.is_multicast() {
            return;
        }
        if dst.is_multicast() && msg != Icmpv6Message::PktTooBig {
            return;
        }
        if ip.next_header() == IpProtocol::Icmpv6
            && let Ok(inner) = Icmpv6Packet::new_checked(ip.payload())
            && inner.msg_type().is_error()
        {
            return;
        }
        // Toward a link-local source the error goes back where the packet came from.
        let back = match src.is_unicast_link_local() {
            true => Some((dev, 64)),
            false => self
                .ns
                .v6
                .routes
                .lookup(src, None)
                .map(|r| (r.dev, r.dst.prefix_len())),
        };
        let Some((back_dev, plen)) = back else {
            return;
        };
        if msg != Icmpv6Message::PktTooBig {
            // `icmpv6_xrlim_allow`: wider routes get more errors.
            let shift = (128 - u32::from(plen)) >> 5;
            let every = Duration::from_nanos(ICMPV6_RATELIMIT.nanos() >> shift);
            if !self.ns.v6.limit.allow_every(now, src, every) {
                self.counters.icmp_rate_limited += 1;
                return;
            }
        }
        // An error about a packet for one of our addresses comes from that address; else
        // from the source routing picks toward the sender.
        let from = match self.is_local6(dev, dst) {
            true => Some(dst),
            false => self.source6(back_dev, src),
        };
        let Some(from) = from else { return };
        let buf = ctx.buffer();
        if let Some(frame) = icmp6::error(buf, from, original, (msg, code, param)) {
            self.counters.icmp_sent += 1;
            ctx.note(Note::Icmpv6 {
                kind: u8::from(msg),
                code,
            });
            match src.is_unicast_link_local() {
                true => {
                    let mut frame = frame;
                    if self.out_hooks6(now, back_dev, &mut frame, ctx) {
                        let tag = ctx.new_tag();
                        self.output6(now, back_dev, src, (tag, frame), ctx);
                    }
                }
                false => self.send_local6(now, frame, ctx),
            }
        }
    }

    /// The answer of an ip6tables REJECT rule (`reject_tg6`): a TCP reset, or an ICMPv6
    /// destination unreachable with the rule's code, sent as `icmp6_send` sends errors.
    pub(super) fn reject6(
        &mut self,
        now: Instant,
        with: crate::netfilter::RejectWith,
        pkt: &[u8],
        answer_from: Option<(IpAddress, u16)>,
        ctx: &mut Ctx<'_>,
    ) {
        let code = match with {
            crate::netfilter::RejectWith::TcpReset => {
                let buf = ctx.buffer();
                if let Some(mut rst) = icmp6::tcp_reset(buf, pkt) {
                    if let Some((addr, port)) = answer_from {
                        crate::netfilter::nat::set_source(&mut rst[ETH_HEADER_LEN..], addr, port);
                    }
                    self.send_local6(now, rst, ctx);
                }
                return;
            }
            crate::netfilter::RejectWith::Icmp6Unreachable(code) => code,
            // iptables' rejects are IPv4's: an IPv6 packet never meets one.
            _ => 4,
        };
        let dev = self.rx_dev.unwrap_or(0);
        self.icmp6_error(now, dev, pkt, (Icmpv6Message::DstUnreachable, code, 0), ctx);
    }

    /// The neighbour table's timers: probes sent, and address unreachable for what waited
    /// on a neighbour that never answered.
    pub(super) fn neigh6_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        for action in self.ns.v6.neigh.expire(now) {
            match action {
                Action::Probe { ip, dev, to } => {
                    // The newest packet waiting, as `neigh_probe` hands it to the solicit.
                    let waiting = self
                        .ns
                        .v6
                        .neigh
                        .entry(ip, dev)
                        .and_then(|n| n.queue.last())
                        .map(|(_, f)| Ipv6Packet::new_unchecked(&f[ETH_HEADER_LEN..]).src_addr());
                    self.solicit(now, dev, ip, (to, waiting), ctx);
                }
                Action::Failed { packets } => {
                    for (tag, frame) in packets {
                        ctx.set_incoming(tag);
                        ctx.note(Note::Dropped(DropReason::NeighbourFailed));
                        let original = frame[ETH_HEADER_LEN..].to_vec();
                        let src = Ipv6Packet::new_unchecked(&original[..]).src_addr();
                        let dev = self.ns.v6.routes.lookup(src, None).map_or(0, |r| r.dev);
                        let why = (Icmpv6Message::DstUnreachable, 3, 0);
                        self.icmp6_error(now, dev, &original, why, ctx);
                    }
                }
            }
        }
    }

    /// The source of the router's own IPv6 packets per route (the address `source6`
    /// picks toward the route's gateway or prefix), each local address speaking from
    /// itself; and each interface's link-local address by name. The router's stack reads
    /// them to choose a program's interface.
    #[allow(clippy::type_complexity)]
    pub(super) fn sources6(
        &self,
    ) -> (
        Vec<(Ipv6Cidr, u32, Ipv6Address)>,
        Vec<(String, Ipv6Address)>,
    ) {
        let mut sources: Vec<(Ipv6Cidr, u32, Ipv6Address)> = self
            .ns
            .v6
            .routes
            .entries()
            .iter()
            .filter_map(|r| {
                let toward = r.via.unwrap_or(r.dst.address());
                Some((r.dst, r.metric, self.source6(r.dev, toward)?))
            })
            .collect();
        let mut link_local = Vec::new();
        // ::1 speaks from itself, through `lo`.
        let lo = Ipv6Address::LOCALHOST;
        sources.push((Ipv6Cidr::new(lo, 128), 0, lo));
        for dev in 0..self.ns.ifaces.len() {
            for c in self.addrs6(dev) {
                sources.push((Ipv6Cidr::new(c.address(), 128), 0, c.address()));
                if c.address().is_unicast_link_local() {
                    link_local.push((self.ns.ifaces[dev].name.clone(), c.address()));
                }
            }
        }
        (sources, link_local)
    }

    /// Gives a packet for one of the router's IPv6 addresses to the socket that takes it;
    /// false when none does (the router then answers as the kernel would).
    fn deliver_to_stack6(&mut self, now: Instant, pkt: &[u8], ctx: &mut Ctx<'_>) -> bool {
        let Some(stack) = self.stack.as_mut() else {
            return false;
        };
        let dst = Ipv6Packet::new_unchecked(pkt).dst_addr();
        let Some(iface) = stack.net.iface_of6(dst) else {
            return false;
        };
        if !stack.net.takes6(iface, pkt) {
            return false;
        }
        stack.receive(now, iface, pkt, ctx);
        self.flush_stack(now, ctx);
        true
    }

    /// `ip -6 neigh`.
    pub(super) fn neighbours6(&self) -> Vec<NeighInfo<Ipv6Address>> {
        use super::neigh::Nud;
        self.ns
            .v6
            .neigh
            .entries()
            .iter()
            .map(|n| NeighInfo {
                ip: n.ip,
                dev: self.ns.ifaces[n.dev].name.clone(),
                lladdr: n
                    .mac
                    .filter(|_| !matches!(n.state, Nud::Incomplete | Nud::Failed)),
                state: n.state.name(),
            })
            .collect()
    }

    /// Carries out `ip -6 route add|del|replace`.
    pub fn apply_route6(&mut self, cmd: &route6::Route6Cmd) -> Result<(), (i32, String)> {
        let dev = match &cmd.dev {
            None => None,
            Some(name) => Some(
                self.ns
                    .ifaces
                    .iter()
                    .zip(&self.ns.links)
                    .position(|(f, l)| f.name == *name && !l.gone)
                    .ok_or_else(|| (1, format!("Cannot find device \"{name}\"")))?,
            ),
        };
        let routes = self.ns.v6.routes.clone();
        let on_link = |g: Ipv6Address| {
            routes
                .lookup(g, None)
                .filter(|r| r.via.is_none())
                .map(|r| r.dev)
        };
        self.ns.v6.routes.apply(cmd, dev, on_link)?;
        self.refresh_sources();
        Ok(())
    }

    /// The connected routes of interface `dev`'s IPv6 addresses (it came up). Coming up
    /// gives it its link-local address again if a flush took it.
    pub(super) fn connect6(&mut self, dev: usize) {
        let mac = self.ns.ifaces[dev].mac;
        if let Some(addrs) = self.ns.ifaces[dev].ipv6.as_mut()
            && !addrs.iter().any(|c| c.address().is_unicast_link_local())
        {
            addrs.push(link_local(mac));
        }
        for c in self.addrs6(dev).to_vec() {
            self.ns.v6.routes.add_connected(c, dev);
        }
    }

    /// Interface `dev` was set down: its IPv6 routes and neighbours go, and its IPv6
    /// addresses with them, static ones too (`keep_addr_on_down` 0, the kernel's
    /// default: `addrconf_ifdown`); coming up gives it its link-local address alone. A
    /// link that loses its carrier keeps them.
    pub(super) fn disconnect6(&mut self, dev: usize) {
        self.ns.v6.routes.remove_dev(dev);
        self.ns.v6.neigh.flush_dev(dev);
        if let Some(addrs) = self.ns.ifaces[dev].ipv6.as_mut() {
            addrs.clear();
        }
    }
}
