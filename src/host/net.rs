//! A host's network stack: one smoltcp `Interface` + `SocketSet` per interface, a routing
//! decision across them, and a mirror of the ARP cache for `ip neigh` (smoltcp does not list
//! its cache). Sockets are created by the apps that need them and removed when they finish,
//! so an idle host holds no socket buffers.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::Medium;
use smoltcp::socket::AnySocket;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr,
};

use crate::host::device::{CapsOnly, SimDevice};
use crate::host::pmtu::PathMtu;
use crate::rand::Rng;
use crate::sim::Ctx;
use crate::time::{Duration, Instant};

/// Linux's base_reachable_time: a confirmed neighbour shows REACHABLE this long, then STALE.
const REACHABLE_FOR: Duration = Duration::from_secs(30);
/// smoltcp forgets a neighbour this long after it was filled.
const NEIGH_LIFETIME: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct IfaceConfig {
    pub name: String,
    pub mac: EthernetAddress,
    pub cidr: Option<Ipv4Cidr>,
    pub mtu: u32,
    /// IPv6 on the interface: None when it is off (`disable_ipv6`, as Docker leaves a
    /// container's interface on a network without IPv6); else its static addresses, in the
    /// order they were added, beside the link-local address every IPv6 interface gets.
    pub ipv6: Option<Vec<Ipv6Cidr>>,
}

impl IfaceConfig {
    /// The link-local address Linux gives an IPv6 interface when it comes up
    /// (`addr_gen_mode eui64`): fe80::/64 and the MAC's modified EUI-64.
    pub fn link_local(&self) -> Option<Ipv6Cidr> {
        self.ipv6
            .as_ref()
            .map(|_| Ipv6Cidr::new(eui64_link_local(self.mac), 64))
    }

    /// Its IPv6 addresses in the kernel's order (`ip -6 addr`): an interface keeps them by
    /// scope, global before link, each new one ahead of the others of its scope.
    pub fn ipv6_addrs(&self) -> Vec<Ipv6Cidr> {
        let statics = self.ipv6.iter().flat_map(|v| v.iter().rev().copied());
        statics.chain(self.link_local()).collect()
    }

    /// Every address smoltcp holds for the interface.
    fn ip_cidrs(&self) -> impl Iterator<Item = IpCidr> + '_ {
        let v6 = self.ipv6_addrs().into_iter().map(IpCidr::Ipv6);
        self.cidr.map(IpCidr::Ipv4).into_iter().chain(v6)
    }
}

pub use crate::wire::ipv6::solicited_node;

/// fe80:: and the modified EUI-64 of `mac`: its universal/local bit flipped, ff:fe in the
/// middle (RFC 4291 appendix A), as the kernel's `addrconf_ifid_eui48` makes it.
pub fn eui64_link_local(mac: EthernetAddress) -> Ipv6Address {
    let m = mac.0;
    Ipv6Address::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

pub struct HostIface {
    pub config: IfaceConfig,
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    /// (address, MAC, when confirmed), in first-seen order.
    pub(crate) neigh: Vec<(Ipv4Address, EthernetAddress, Instant)>,
    /// The IPv6 neighbours smoltcp learned from NDP: (address, MAC, when filled, confirmed
    /// by a solicited advertisement), in first-seen order.
    pub(crate) neigh6: Vec<(Ipv6Address, EthernetAddress, Instant, bool)>,
    /// Speaks IP, not Ethernet: a routed stack's interface or a host's `lo`.
    pub(crate) ip_medium: bool,
    /// Until when smoltcp sends no ARP request on this interface, for any neighbour: it
    /// rate-limits per interface (one request a second), where Linux does per neighbour.
    arp_silent_until: Instant,
    /// Next hops a program is about to send to that smoltcp cannot ask for now: the host
    /// asks for them itself, as Linux would at once.
    want_arp: Vec<Ipv4Address>,
    /// Packets to us from on-link senders whose MAC we do not know (they learned ours from
    /// a gratuitous ARP): smoltcp would drop its answer, where Linux queues it and asks. The
    /// host asks and holds the frame until the sender's MAC is known: (sender, since when,
    /// frame).
    held: Vec<(IpAddress, Instant, Vec<u8>, crate::sim::PacketTag)>,
}

/// How many frames an interface holds for unknown senders, and for how long (Linux's
/// three probes a second apart).
const HELD_MAX: usize = 8;
const HELD_FOR: Duration = Duration::from_secs(3);

/// The buffers an unbuffered socket gets with its first packet.
#[derive(Clone, Copy, Debug)]
enum Buffers {
    /// A TCP listener's receive and send buffer sizes.
    Tcp(usize, usize),
    /// A UDP socket as its program makes it (buffers and all, unbound).
    Udp(fn() -> smoltcp::socket::udp::Socket<'static>),
}

/// A socket of some interface of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockRef {
    pub iface: usize,
    pub handle: SocketHandle,
}

pub struct Net {
    pub ifaces: Vec<HostIface>,
    /// Default gateway and the interface it is reached through.
    pub gateway: Option<(usize, Ipv4Address)>,
    /// The IPv6 default route's gateway and its interface.
    pub gateway6: Option<(usize, Ipv6Address)>,
    pub rng: Rng,
    /// TCP sockets their app has closed, kept until the close handshake completes (as the
    /// kernel keeps a closed socket's connection), then freed; and whether its TIME-WAIT has
    /// been recorded.
    orphans: Vec<(SockRef, bool)>,
    /// Connections that entered TIME-WAIT, kept for `ss` as long as Linux keeps them.
    pub(crate) time_wait: Vec<TimeWait>,
    /// Some for a routed stack: one IP interface per address, routed by its owner.
    pub routed: Option<Routed>,
    /// A host's loopback interface (the last), made when a program first runs.
    lo: Option<usize>,
    /// IPv4 packets `lo` sent, to loop back into it.
    lo_out: Vec<Vec<u8>>,
    /// `/etc/hosts` and the DNS server programs resolve names with.
    pub names: crate::host::resolve::Names,
    /// Path MTUs learned from "fragmentation needed" (route exceptions).
    pub pmtu: PathMtu,
    /// Listening TCP sockets and bound UDP sockets that hold no buffers yet: each gets its
    /// own when the first packet it would take arrives (`Net::listen`, `Net::bind_udp`).
    unbuffered: Vec<(SockRef, Buffers)>,
    /// Static routes (`routes:` in the lab, `ip route add` in steps), each through a
    /// gateway on one of the host's subnets.
    pub routes: Vec<HostRoute>,
    /// Listeners of a `0.0.0.0` socket on an interface with IPv6, each bound to that
    /// interface's IPv4 address so that an IPv6 SYN finds no socket and is reset, as Linux
    /// resets one to a port only an IPv4 socket holds; `ss` shows them as `0.0.0.0`.
    pub wild4: Vec<SockRef>,
    /// Listeners of a `[::]` socket (`bindv6only=0`): they take both families; `ss` shows
    /// them as `*`, an IPv6 socket.
    pub dual: Vec<SockRef>,
    /// Listeners of an IPv6-only `[::]` socket (`IPV6_V6ONLY`, as docker-proxy's), on
    /// interfaces that hold IPv6 alone; `ss` shows them as `[::]`.
    pub v6only: Vec<SockRef>,
}

/// A connection in TIME-WAIT as Linux keeps it (`TCP_TIMEWAIT_LEN`, 60 s from entering it).
/// smoltcp keeps the socket 10 s and then frees it: past that the record alone stands for
/// the connection, in `ss`, without buffers (as Linux's minisocket holds none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeWait {
    pub local: (IpAddress, u16),
    pub remote: (IpAddress, u16),
    /// An IPv4 connection a `[::]` listener took: `ss` shows it as `::ffff:a.b.c.d`.
    pub mapped: bool,
    pub until: Instant,
}

/// Linux's TIME-WAIT length.
const TIME_WAIT_FOR: Duration = Duration::from_secs(60);
/// At most this many TIME-WAIT records (Linux's `tcp_max_tw_buckets` on the reference
/// host); past it a connection is not recorded, as the kernel then skips TIME-WAIT.
const TIME_WAIT_MAX: usize = 131_072;

/// A host's static route: a prefix through a gateway on interface `dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostRoute {
    pub dst: Ipv4Cidr,
    pub via: Ipv4Address,
    pub dev: usize,
    pub metric: u32,
}

/// Routes one smoltcp interface holds besides its default: the build's
/// `iface-max-route-count-8`, less the default route.
const MAX_STATIC_PER_IFACE: usize = 7;

/// A routed stack (a router's own sockets): its interfaces speak IP, one per local address,
/// and its owner routes what they send. A program's socket belongs to the interface of the
/// source address the kernel would choose for its destination.
#[derive(Default)]
pub struct Routed {
    /// (destination prefix, metric, source address) for each of the owner's routes, refreshed
    /// by the owner before a program starts.
    pub sources: Vec<(Ipv4Cidr, u32, Ipv4Address)>,
    /// The same for the owner's IPv6 routes, and each interface's link-local address by
    /// the interface's name (the source toward a link-local destination there).
    pub sources6: Vec<(Ipv6Cidr, u32, Ipv6Address)>,
    pub link_local6: Vec<(String, Ipv6Address)>,
    /// IP packets (of either family) the stack sent, each after room for an Ethernet
    /// header.
    pub out: Vec<Vec<u8>>,
}

impl Routed {
    /// The source address for `dst`: longest prefix, then lowest metric, first listed.
    fn source(&self, dst: Ipv4Address) -> Option<Ipv4Address> {
        let mut best: Option<&(Ipv4Cidr, u32, Ipv4Address)> = None;
        for r in self.sources.iter().filter(|r| r.0.contains_addr(&dst)) {
            if best.is_none_or(|b| (r.0.prefix_len(), b.1) > (b.0.prefix_len(), r.1)) {
                best = Some(r);
            }
        }
        best.map(|r| r.2)
    }

    /// [`Routed::source`] for IPv6; toward a link-local destination, the link-local
    /// address of the interface `dev` names, else of the first interface with one.
    fn source6(&self, dst: Ipv6Address, dev: Option<&str>) -> Option<Ipv6Address> {
        if dst.is_unicast_link_local() {
            let mut lls = self.link_local6.iter();
            return match dev {
                Some(d) => lls.find(|(n, _)| n == d).map(|(_, a)| *a),
                None => lls.next().map(|(_, a)| *a),
            };
        }
        let mut best: Option<&(Ipv6Cidr, u32, Ipv6Address)> = None;
        for r in self.sources6.iter().filter(|r| r.0.contains_addr(&dst)) {
            if best.is_none_or(|b| (r.0.prefix_len(), b.1) > (b.0.prefix_len(), r.1)) {
                best = Some(r);
            }
        }
        best.map(|r| r.2)
    }
}

impl Net {
    pub fn new(
        ifaces: Vec<IfaceConfig>,
        gateway: Option<Ipv4Address>,
        rng: Rng,
        now: Instant,
    ) -> Net {
        let mut rng = rng;
        let mut built = Vec::with_capacity(ifaces.len());
        let mut gw = None;
        for (i, cfg) in ifaces.into_iter().enumerate() {
            let mut config = Config::new(HardwareAddress::Ethernet(cfg.mac));
            config.random_seed = rng.next_u64();
            let mut dev = CapsOnly(cfg.mtu as usize, Medium::Ethernet);
            let mut iface = Interface::new(config, &mut dev, now.to_smoltcp());
            iface.update_ip_addrs(|addrs| {
                // At most `iface-max-addr-count-4`: an IPv4, a link-local and two more.
                for c in cfg.ip_cidrs() {
                    let _ = addrs.push(c);
                }
            });
            if let Some(cidr) = cfg.cidr
                && let Some(g) = gateway.filter(|g| cidr.contains_addr(g) && gw.is_none())
            {
                let _ = iface.routes_mut().add_default_ipv4_route(g);
                gw = Some((i, g));
            }
            built.push(HostIface {
                config: cfg,
                iface,
                sockets: SocketSet::new(Vec::new()),
                neigh: Vec::new(),
                neigh6: Vec::new(),
                ip_medium: false,
                arp_silent_until: Instant::ZERO,
                want_arp: Vec::new(),
                held: Vec::new(),
            });
        }
        Net {
            ifaces: built,
            gateway: gw,
            gateway6: None,
            rng,
            orphans: Vec::new(),
            time_wait: Vec::new(),
            routed: None,
            names: Default::default(),
            lo: None,
            lo_out: Vec::new(),
            pmtu: PathMtu::default(),
            unbuffered: Vec::new(),
            wild4: Vec::new(),
            v6only: Vec::new(),
            dual: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// A routed stack with one IP interface per address (see `Routed`).
    pub fn routed(addrs: Vec<(String, Ipv4Cidr, u32)>, rng: Rng, now: Instant) -> Net {
        let mut rng = rng;
        let ifaces = addrs
            .into_iter()
            .map(|(name, cidr, mtu)| ip_iface(name, cidr, mtu, &mut rng, now))
            .collect();
        Net {
            ifaces,
            gateway: None,
            gateway6: None,
            rng,
            orphans: Vec::new(),
            time_wait: Vec::new(),
            routed: Some(Routed::default()),
            names: Default::default(),
            lo: None,
            lo_out: Vec::new(),
            pmtu: PathMtu::default(),
            unbuffered: Vec::new(),
            wild4: Vec::new(),
            v6only: Vec::new(),
            dual: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// Gives a routed stack one more address (an `ip addr add` on its router): sockets of
    /// the interfaces it has keep their places.
    pub fn add_routed_addr(&mut self, name: &str, cidr: Ipv4Cidr, mtu: u32, now: Instant) {
        if self.routed.is_some() && self.iface_of(cidr.address()).is_none() {
            let iface = ip_iface(name.to_string(), cidr, mtu, &mut self.rng, now);
            self.ifaces.push(iface);
        }
    }

    /// Takes an address away from a routed stack (`ip addr del`): its interface stays, with
    /// no address, so that sockets keep their places.
    pub fn remove_routed_addr(&mut self, ip: Ipv4Address) {
        if let Some(i) = self.iface_of(ip) {
            let f = &mut self.ifaces[i];
            f.config.cidr = None;
            f.iface.update_ip_addrs(|addrs| addrs.clear());
        }
    }

    /// Gives a routed stack an IPv6 address (its router's, link-local ones too): an IP
    /// interface of its own, as each IPv4 address has.
    pub fn add_routed_addr6(&mut self, name: &str, cidr: Ipv6Cidr, mtu: u32, now: Instant) {
        if self.routed.is_some() && self.iface_of6(cidr.address()).is_none() {
            let iface = ip_iface(
                name.to_string(),
                IpCidr::Ipv6(cidr),
                mtu,
                &mut self.rng,
                now,
            );
            self.ifaces.push(iface);
        }
    }

    /// Whether interface `i` speaks IPv6: IPv6 on (a host's), or a routed stack's IP
    /// interface holding an IPv6 address.
    pub fn has_ipv6(&self, i: usize) -> bool {
        self.lo == Some(i)
            || self.ifaces.get(i).is_some_and(|f| {
                f.config.ipv6.is_some()
                    || f.ip_medium
                        && self.routed.is_some()
                        && f.iface
                            .ip_addrs()
                            .iter()
                            .any(|c| matches!(c, IpCidr::Ipv6(_)))
            })
    }

    /// The interface of a routed stack holding the IPv6 address `ip`.
    pub fn iface_of6(&self, ip: Ipv6Address) -> Option<usize> {
        self.ifaces.iter().position(|f| {
            f.ip_medium
                && f.iface
                    .ip_addrs()
                    .iter()
                    .any(|c| c.address() == IpAddress::Ipv6(ip))
        })
    }

    /// Whether some socket of `iface` takes this IPv6 packet: ICMPv6 other than an echo
    /// request or neighbour discovery (a raw socket's, `ping -6` and `traceroute -6`
    /// read them), a TCP segment or UDP datagram as [`Net::takes`] finds one.
    pub fn takes6(&self, iface: usize, ip: &[u8]) -> bool {
        use smoltcp::socket::Socket;
        use smoltcp::wire::{Icmpv6Message, Icmpv6Packet, IpProtocol, Ipv6Packet};
        use smoltcp::wire::{TcpPacket, UdpPacket};
        let (Some(f), Ok(pkt)) = (self.ifaces.get(iface), Ipv6Packet::new_checked(ip)) else {
            return false;
        };
        let (src, dst) = (
            IpAddress::Ipv6(pkt.src_addr()),
            IpAddress::Ipv6(pkt.dst_addr()),
        );
        match pkt.next_header() {
            IpProtocol::Icmpv6 => {
                let informational = Icmpv6Packet::new_checked(pkt.payload()).is_ok_and(|i| {
                    matches!(
                        i.msg_type(),
                        Icmpv6Message::EchoRequest
                            | Icmpv6Message::NeighborSolicit
                            | Icmpv6Message::NeighborAdvert
                            | Icmpv6Message::RouterSolicit
                            | Icmpv6Message::RouterAdvert
                    )
                });
                !informational && f.sockets.iter().any(|(_, s)| matches!(s, Socket::Raw(_)))
            }
            IpProtocol::Tcp => {
                let Ok(t) = TcpPacket::new_checked(pkt.payload()) else {
                    return false;
                };
                let (sport, dport) = (t.src_port(), t.dst_port());
                f.sockets.iter().any(|(_, s)| match s {
                    Socket::Tcp(t) if t.state() == smoltcp::socket::tcp::State::Listen => {
                        let l = t.listen_endpoint();
                        l.port == dport && l.addr.is_none_or(|a| a == dst)
                    }
                    Socket::Tcp(t) => {
                        t.local_endpoint()
                            .is_some_and(|e| e.port == dport && e.addr == dst)
                            && t.remote_endpoint()
                                .is_some_and(|e| e.port == sport && e.addr == src)
                    }
                    _ => false,
                })
            }
            IpProtocol::Udp => {
                let Ok(u) = UdpPacket::new_checked(pkt.payload()) else {
                    return false;
                };
                f.sockets.iter().any(|(_, s)| match s {
                    Socket::Udp(s) => {
                        let e = s.endpoint();
                        e.port == u.dst_port() && e.addr.is_none_or(|a| a == dst)
                    }
                    _ => false,
                })
            }
            _ => false,
        }
    }

    /// The interface of a routed stack holding `ip`.
    pub fn iface_of(&self, ip: Ipv4Address) -> Option<usize> {
        self.ifaces
            .iter()
            .position(|f| f.config.cidr.is_some_and(|c| c.address() == ip))
    }

    /// Whether some socket of `iface` takes this IPv4 packet: a TCP segment for a listener or
    /// a connection, a UDP datagram for a bound port, or ICMP other than an echo request
    /// (replies and errors go to the programs that wait for them; the kernel answers echo
    /// requests itself, and a segment no socket takes is its owner's to answer).
    pub fn takes(&self, iface: usize, ip: &[u8]) -> bool {
        use smoltcp::socket::Socket;
        use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};
        let (Some(f), Ok(pkt)) = (self.ifaces.get(iface), Ipv4Packet::new_checked(ip)) else {
            return false;
        };
        let (src, dst) = (IpAddress::Ipv4(pkt.src_addr()), pkt.dst_addr());
        let ports = |p: &[u8]| -> Option<(u16, u16)> {
            match pkt.next_header() {
                IpProtocol::Tcp => TcpPacket::new_checked(p)
                    .ok()
                    .map(|t| (t.src_port(), t.dst_port())),
                _ => UdpPacket::new_checked(p)
                    .ok()
                    .map(|u| (u.src_port(), u.dst_port())),
            }
        };
        match pkt.next_header() {
            IpProtocol::Icmp => smoltcp::wire::Icmpv4Packet::new_checked(pkt.payload())
                .is_ok_and(|i| i.msg_type() != smoltcp::wire::Icmpv4Message::EchoRequest),
            IpProtocol::Tcp => {
                let Some((sport, dport)) = ports(pkt.payload()) else {
                    return false;
                };
                f.sockets.iter().any(|(_, s)| match s {
                    Socket::Tcp(t) if t.state() == smoltcp::socket::tcp::State::Listen => {
                        let l = t.listen_endpoint();
                        l.port == dport && l.addr.is_none_or(|a| a == dst.into())
                    }
                    Socket::Tcp(t) => {
                        t.local_endpoint()
                            .is_some_and(|e| e.port == dport && e.addr == dst.into())
                            && t.remote_endpoint()
                                .is_some_and(|e| e.port == sport && e.addr == src)
                    }
                    _ => false,
                })
            }
            IpProtocol::Udp => {
                let Some((_, dport)) = ports(pkt.payload()) else {
                    return false;
                };
                f.sockets.iter().any(|(_, s)| match s {
                    Socket::Udp(u) => {
                        let e = u.endpoint();
                        e.port == dport && e.addr.is_none_or(|a| a == dst.into())
                    }
                    _ => false,
                })
            }
            _ => false,
        }
    }

    /// `-m socket`'s question: the local socket a TCP or UDP packet from `remote` to `local`
    /// belongs to, as `nf_sk_lookup_slow_v4` finds it: `Some(false)` for a connection (or a
    /// socket bound to the address), `Some(true)` for a wildcard one (listening or bound on
    /// every address), `None` for none. A connection wins over a listener.
    pub fn socket_for(
        &self,
        proto: u8,
        remote: (Ipv4Address, u16),
        local: (Ipv4Address, u16),
    ) -> Option<bool> {
        use smoltcp::socket::Socket;
        use smoltcp::socket::tcp::State;
        use smoltcp::wire::IpAddress;
        let (raddr, laddr) = (IpAddress::Ipv4(remote.0), IpAddress::Ipv4(local.0));
        let mut found = None;
        for f in &self.ifaces {
            for (_, s) in f.sockets.iter() {
                let hit = match (proto, s) {
                    (6, Socket::Tcp(t)) if t.state() == State::Listen => {
                        let l = t.listen_endpoint();
                        (l.port == local.1 && l.addr.is_none_or(|a| a == laddr))
                            .then_some(l.addr.is_none())
                    }
                    (6, Socket::Tcp(t)) if t.state() != State::Closed => {
                        let mine = t
                            .local_endpoint()
                            .is_some_and(|e| e.port == local.1 && e.addr == laddr)
                            && t.remote_endpoint()
                                .is_some_and(|e| e.port == remote.1 && e.addr == raddr);
                        mine.then_some(false)
                    }
                    (17, Socket::Udp(u)) => {
                        let e = u.endpoint();
                        (u.is_open() && e.port == local.1 && e.addr.is_none_or(|a| a == laddr))
                            .then_some(e.addr.is_none())
                    }
                    _ => None,
                };
                match hit {
                    Some(false) => return Some(false),
                    Some(true) => found = Some(true),
                    None => {}
                }
            }
        }
        found
    }

    /// Gives interface `i` a new MAC, address and MTU, or takes its address away (`cfg.cidr`
    /// None: a container's interface that is gone). Its sockets stay (a program's handles
    /// must stay valid); its neighbours are forgotten, as a new device has none.
    pub fn reconfigure(&mut self, i: usize, cfg: IfaceConfig, now: Instant) {
        let Some(f) = self.ifaces.get_mut(i).filter(|f| !f.ip_medium) else {
            return;
        };
        let mut config = Config::new(HardwareAddress::Ethernet(cfg.mac));
        config.random_seed = self.rng.next_u64();
        let mut dev = CapsOnly(cfg.mtu as usize, Medium::Ethernet);
        let mut iface = Interface::new(config, &mut dev, now.to_smoltcp());
        iface.update_ip_addrs(|addrs| {
            // At most `iface-max-addr-count-4`: an IPv4, a link-local and two more.
            for c in cfg.ip_cidrs() {
                let _ = addrs.push(c);
            }
        });
        f.iface = iface;
        f.config = cfg;
        f.neigh.clear();
        f.neigh6.clear();
        f.want_arp.clear();
        f.held.clear();
        f.arp_silent_until = Instant::ZERO;
        let gw = self.gateway.map(|(_, g)| g);
        self.set_gateway(gw);
        let gw6 = self.gateway6.map(|(_, g)| g);
        self.set_gateway6(gw6);
        // A new device starts without routes: the host's own go back on it.
        let _ = self.sync_routes();
    }

    /// Makes `gw` the default gateway, through the first interface whose subnet holds it
    /// (none if no interface does).
    pub fn set_gateway(&mut self, gw: Option<Ipv4Address>) {
        self.gateway = None;
        for (i, f) in self.ifaces.iter_mut().enumerate() {
            if f.ip_medium {
                continue;
            }
            f.iface.routes_mut().remove_default_ipv4_route();
            if let (Some(g), Some(c), None) = (gw, f.config.cidr, self.gateway)
                && c.contains_addr(&g)
            {
                let _ = f.iface.routes_mut().add_default_ipv4_route(g);
                self.gateway = Some((i, g));
            }
        }
    }

    /// Makes `gw` the IPv6 default gateway: a link-local one through the first interface
    /// with IPv6, another through the first interface with a prefix holding it (none if no
    /// interface does).
    pub fn set_gateway6(&mut self, gw: Option<Ipv6Address>) {
        self.gateway6 = None;
        for (i, f) in self.ifaces.iter_mut().enumerate() {
            if f.ip_medium {
                continue;
            }
            f.iface.routes_mut().remove_default_ipv6_route();
            let Some(g) = gw.filter(|_| self.gateway6.is_none()) else {
                continue;
            };
            let holds = match g.is_unicast_link_local() {
                true => f.config.ipv6.is_some(),
                false => f.config.ipv6_addrs().iter().any(|c| c.contains_addr(&g)),
            };
            if holds {
                let _ = f.iface.routes_mut().add_default_ipv6_route(g);
                self.gateway6 = Some((i, g));
            }
        }
    }

    /// The interface an IPv6 packet to `dst` leaves by: the one asked for (`-I`, `%eth0`),
    /// the first with IPv6 for a link-local destination (the kernel's fe80::/64 route of
    /// the first device), the longest prefix holding `dst`, else the IPv6 gateway's.
    pub fn route6(&mut self, dst: Ipv6Address, dev: Option<usize>) -> Option<usize> {
        if dst.is_loopback() && self.routed.is_none() {
            self.ensure_loopback();
            return self.lo;
        }
        if let Some(r) = &self.routed {
            // A router's stack: the interface of the source its owner would pick.
            let name = dev.map(|d| self.ifaces[d].config.name.as_str());
            return self.iface_of6(r.source6(dst, name)?);
        }
        if let Some(d) = dev {
            return self.ifaces.get(d)?.config.ipv6.as_ref().map(|_| d);
        }
        if dst.is_unicast_link_local() {
            return self.ifaces.iter().position(|f| f.config.ipv6.is_some());
        }
        self.ifaces
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                f.config
                    .ipv6
                    .iter()
                    .flatten()
                    .filter(|c| c.contains_addr(&dst))
                    .map(move |c| (i, c.prefix_len()))
            })
            .max_by_key(|&(i, len)| (len, std::cmp::Reverse(i)))
            .map(|(i, _)| i)
            .or(self.gateway6.map(|(i, _)| i))
    }

    /// The source address for `dst` from interface `iface`: its link-local address for a
    /// link-local destination, else its newest global address on `dst`'s prefix, else its
    /// newest global one (RFC 6724's scope and longest-match rules, as the kernel applies
    /// them to one interface).
    pub fn source6(&self, iface: usize, dst: Ipv6Address) -> Option<Ipv6Address> {
        if self.routed.is_some() {
            // A router's IP interface speaks from the one address it holds.
            return self
                .ifaces
                .get(iface)?
                .iface
                .ip_addrs()
                .iter()
                .find_map(|c| match c {
                    IpCidr::Ipv6(c) => Some(c.address()),
                    _ => None,
                });
        }
        if self.lo == Some(iface) {
            return Some(Ipv6Address::LOCALHOST);
        }
        let c = &self.ifaces.get(iface)?.config;
        let addrs = c.ipv6_addrs();
        if dst.is_unicast_link_local() {
            return c.link_local().map(|l| l.address());
        }
        let global = addrs
            .iter()
            .filter(|a| !a.address().is_unicast_link_local());
        global
            .clone()
            .find(|a| a.contains_addr(&dst))
            .or(global.clone().next())
            .map(|a| a.address())
            .or(c.link_local().map(|l| l.address()))
    }

    /// The interface named `name`.
    pub fn iface_named(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|f| f.config.name == name)
    }

    /// Gives a host its loopback interface (127.0.0.1/8 and ::1/128), once: made when a
    /// program first sends to 127/8 or ::1 or listens on every address, so a host that does
    /// neither holds none.
    pub fn ensure_loopback(&mut self) {
        if self.lo.is_some() || self.routed.is_some() {
            return;
        }
        let cidr = Ipv4Cidr::new(Ipv4Address::new(127, 0, 0, 1), 8);
        let mut lo = ip_iface("lo".into(), cidr, 65536, &mut self.rng, Instant::ZERO);
        lo.iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv6(Ipv6Cidr::new(Ipv6Address::LOCALHOST, 128)));
        });
        let _ = lo
            .iface
            .routes_mut()
            .add_default_ipv6_route(Ipv6Address::LOCALHOST);
        self.ifaces.push(lo);
        self.lo = Some(self.ifaces.len() - 1);
    }

    pub fn is_loopback(&self, iface: usize) -> bool {
        self.lo == Some(iface)
    }

    /// Delivers what `lo` sent back into it; false when it had sent nothing.
    pub fn loop_back(&mut self, now: Instant, ctx: &mut Ctx<'_>) -> bool {
        let Some(lo) = self.lo else {
            return false;
        };
        if self.lo_out.is_empty() {
            return false;
        }
        for pkt in std::mem::take(&mut self.lo_out) {
            self.poll(lo, now, Some(&pkt[crate::link::ETH_HEADER_LEN..]), ctx);
        }
        true
    }

    /// The IPv4 packets a routed stack has sent since the last call.
    pub fn take_routed(&mut self) -> Vec<Vec<u8>> {
        self.routed
            .as_mut()
            .map(|r| std::mem::take(&mut r.out))
            .unwrap_or_default()
    }

    /// The interface a packet to `dst` leaves by: the longest connected prefix, else the
    /// gateway's interface. In a routed stack: the interface of the source address.
    pub fn route(&mut self, dst: Ipv4Address) -> Option<usize> {
        if dst.is_loopback() {
            self.ensure_loopback();
        }
        let iface = self.route_of(dst)?;
        // The next hop, if it is not known yet, will need an ARP request.
        let f = &mut self.ifaces[iface];
        if !f.ip_medium && self.routed.is_none() {
            let next_hop = match f.config.cidr {
                Some(c) if c.contains_addr(&dst) => dst,
                _ => Self::static_route(&self.routes, dst)
                    .map(|r| r.via)
                    .or(self.gateway.map(|(_, g)| g))
                    .unwrap_or(dst),
            };
            if !f.neigh.iter().any(|n| n.0 == next_hop) && !f.want_arp.contains(&next_hop) {
                f.want_arp.push(next_hop);
            }
        }
        Some(iface)
    }

    /// `ip route get`: the interface and gateway (None on link) a packet to `dst` takes,
    /// without asking for the next hop.
    pub fn lookup(&self, dst: Ipv4Address) -> Option<(usize, Option<Ipv4Address>)> {
        let iface = self.route_of(dst)?;
        let on_link = self.ifaces[iface]
            .config
            .cidr
            .is_some_and(|c| c.contains_addr(&dst));
        let via = match on_link {
            true => None,
            false => Self::static_route(&self.routes, dst)
                .map(|r| r.via)
                .or(self.gateway.map(|(_, g)| g)),
        };
        Some((iface, via))
    }

    /// The static route for `dst`: longest prefix, then lowest metric, then first added.
    fn static_route(routes: &[HostRoute], dst: Ipv4Address) -> Option<&HostRoute> {
        let mut best: Option<&HostRoute> = None;
        for r in routes.iter().filter(|r| r.dst.contains_addr(&dst)) {
            if best.is_none_or(|b| (r.dst.prefix_len(), b.metric) > (b.dst.prefix_len(), r.metric))
            {
                best = Some(r);
            }
        }
        best
    }

    /// `ip route add|del|replace PREFIX via GW [dev IF] [metric N]` on a host, with
    /// iproute2's messages. The gateway must be on one of the host's subnets; a route
    /// without one (`dev` only) is not taken: a host's stack sends off its subnets only
    /// through a gateway.
    pub fn apply_route(&mut self, cmd: &super::route_cmd::RouteCmd) -> Result<(), String> {
        use super::route_cmd::RouteOp;
        let dev_of = |name: &str| self.ifaces.iter().position(|f| f.config.name == name);
        let same = |r: &HostRoute| r.dst == cmd.dst && r.metric == cmd.metric;
        if cmd.op == RouteOp::Del && cmd.dst.prefix_len() == 0 {
            if self
                .gateway
                .is_none_or(|(_, g)| cmd.via.is_some_and(|v| v != g))
            {
                return Err("RTNETLINK answers: No such process".into());
            }
            self.set_gateway(None);
            return Ok(());
        }
        if cmd.op == RouteOp::Del {
            let dev = cmd.dev.as_deref().and_then(dev_of);
            let before = self.routes.len();
            self.routes.retain(|r| {
                !(r.dst == cmd.dst
                    && cmd.via.is_none_or(|v| v == r.via)
                    && dev.is_none_or(|d| d == r.dev))
            });
            if self.routes.len() == before {
                return Err("RTNETLINK answers: No such process".into());
            }
            return self.sync_routes();
        }
        let Some(via) = cmd.via else {
            return Err(format!(
                "{}: a host's route goes through a gateway (via GW); only a router takes a route with dev alone",
                cmd.dst
            ));
        };
        let on = |i: usize| {
            self.ifaces[i]
                .config
                .cidr
                .is_some_and(|c| c.contains_addr(&via))
        };
        let dev = match &cmd.dev {
            Some(d) => dev_of(d).ok_or_else(|| format!("Cannot find device \"{d}\""))?,
            None => (0..self.ifaces.len())
                .find(|&i| on(i))
                .ok_or("Error: Nexthop has invalid gateway.")?,
        };
        if !on(dev) {
            return Err("Error: Nexthop has invalid gateway.".into());
        }
        if cmd.dst.prefix_len() == 0 {
            // The default route is the host's gateway (`gateway:` in the lab).
            if self.gateway.is_some() && cmd.op == RouteOp::Add {
                return Err("RTNETLINK answers: File exists".into());
            }
            self.set_gateway(Some(via));
            return Ok(());
        }
        let route = HostRoute {
            dst: cmd.dst,
            via,
            dev,
            metric: cmd.metric,
        };
        match self.routes.iter().position(same) {
            Some(_) if cmd.op == RouteOp::Add => {
                return Err("RTNETLINK answers: File exists".into());
            }
            Some(i) => self.routes[i] = route,
            None => {
                if self.routes.iter().filter(|r| r.dev == dev).count() >= MAX_STATIC_PER_IFACE {
                    return Err(format!(
                        "RTNETLINK answers: No buffer space available (a host keeps at most {MAX_STATIC_PER_IFACE} routes per interface)"
                    ));
                }
                self.routes.push(route);
            }
        }
        self.sync_routes()
    }

    /// Gives each smoltcp interface its static routes (the lowest metric of each prefix),
    /// beside its default.
    fn sync_routes(&mut self) -> Result<(), String> {
        use smoltcp::iface::Route;
        for (i, f) in self.ifaces.iter_mut().enumerate() {
            if f.ip_medium {
                continue;
            }
            let mut mine: Vec<&HostRoute> = self.routes.iter().filter(|r| r.dev == i).collect();
            mine.sort_by_key(|r| (r.dst.address().to_bits(), r.dst.prefix_len(), r.metric));
            mine.dedup_by_key(|r| r.dst);
            let mut full = false;
            f.iface.routes_mut().update(|table| {
                table.retain(|r| r.cidr.prefix_len() == 0);
                for r in &mine {
                    let route = Route {
                        cidr: IpCidr::Ipv4(r.dst),
                        via_router: smoltcp::wire::IpAddress::Ipv4(r.via),
                        preferred_until: None,
                        expires_at: None,
                    };
                    full |= table.push(route).is_err();
                }
            });
            if full {
                return Err("RTNETLINK answers: No buffer space available".into());
            }
        }
        Ok(())
    }

    fn route_of(&self, dst: Ipv4Address) -> Option<usize> {
        if let Some(r) = &self.routed {
            return self.iface_of(r.source(dst)?);
        }
        self.ifaces
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.config
                    .cidr
                    .filter(|c| c.contains_addr(&dst))
                    .map(|c| (i, c))
            })
            .max_by_key(|(_, c)| c.prefix_len())
            .map(|(i, _)| i)
            .or_else(|| Self::static_route(&self.routes, dst).map(|r| r.dev))
            .or(self.gateway.map(|(i, _)| i))
    }

    pub fn addr(&self, iface: usize) -> Option<Ipv4Address> {
        self.ifaces[iface].config.cidr.map(|c| c.address())
    }

    /// Whether `ip` is one of this host's addresses.
    pub fn is_local(&self, ip: Ipv4Address) -> bool {
        self.ifaces
            .iter()
            .any(|f| f.config.cidr.is_some_and(|c| c.address() == ip))
    }

    /// A local port from Linux's ephemeral range (32768–60999), as `connect` would pick.
    pub fn ephemeral_port(&mut self) -> u16 {
        32768 + self.rng.below(60999 - 32768 + 1) as u16
    }

    /// Whether a program listens on TCP `port` here (a second listener's bind fails with
    /// EADDRINUSE; servers set SO_REUSEADDR, so connections left from an earlier one do not
    /// count).
    pub fn tcp_listening(&self, port: u16) -> bool {
        self.port_held(port, false, None)
    }

    /// Whether a UDP socket is bound to `port` here.
    pub fn udp_bound(&self, port: u16) -> bool {
        self.port_held(port, true, None)
    }

    /// Whether a TCP listener (or with `udp` a bound UDP socket) holds `port`; with `v6`
    /// given, one that takes that family: on an interface with an address of it (a routed
    /// stack holds each address on an interface of its own, so its IPv4 and IPv6 sockets
    /// are apart, as docker-proxy's IPv6-only sockets are).
    pub fn port_held(&self, port: u16, udp: bool, v6: Option<bool>) -> bool {
        use smoltcp::socket::{tcp, udp as udp_sock};
        self.ifaces.iter().enumerate().any(|(i, f)| {
            let family = match v6 {
                None => true,
                Some(true) => self.has_ipv6(i),
                Some(false) => self.addr(i).is_some(),
            };
            family
                && f.sockets.iter().any(|(_, s)| match udp {
                    false => tcp::Socket::downcast(s)
                        .is_some_and(|t| t.is_listening() && t.listen_endpoint().port == port),
                    true => udp_sock::Socket::downcast(s)
                        .is_some_and(|u| u.is_open() && u.endpoint().port == port),
                })
        })
    }

    pub fn add_socket<T: AnySocket<'static>>(&mut self, iface: usize, socket: T) -> SockRef {
        let handle = self.ifaces[iface].sockets.add(socket);
        SockRef { iface, handle }
    }

    pub fn socket<T: AnySocket<'static>>(&mut self, s: SockRef) -> &mut T {
        self.ifaces[s.iface].sockets.get_mut::<T>(s.handle)
    }

    pub fn remove(&mut self, s: SockRef) {
        self.ifaces[s.iface].sockets.remove(s.handle);
        self.unbuffered.retain(|u| u.0 != s);
        self.wild4.retain(|&u| u != s);
        self.dual.retain(|&u| u != s);
        self.v6only.retain(|&u| u != s);
    }

    /// A TCP socket listening on `port` of interface `iface`, whose receive and send buffers
    /// (`rx`, `tx` bytes) come with the first connection it takes: until then it holds
    /// none, so an idle server costs a socket and no buffers. The buffers are in place
    /// before smoltcp sees the SYN, so the SYN-ACK advertises the window and window scale
    /// of an `rx`-byte buffer, as a socket made with them would.
    pub fn listen(&mut self, iface: usize, port: u16, rx: usize, tx: usize) -> Option<SockRef> {
        use smoltcp::socket::tcp;
        let none = || tcp::SocketBuffer::new(Vec::new());
        let mut s = tcp::Socket::new(none(), none());
        s.listen(port).ok()?;
        let sock = self.add_socket(iface, s);
        self.unbuffered.push((sock, Buffers::Tcp(rx, tx)));
        Some(sock)
    }

    /// An IPv6-only `[::]` listener on interface `iface`, which holds IPv6 alone (see
    /// [`Net::v6only`]); None if it has IPv4 too.
    pub fn listen_v6only(
        &mut self,
        iface: usize,
        port: u16,
        rx: usize,
        tx: usize,
    ) -> Option<SockRef> {
        if self.addr(iface).is_some() || !self.has_ipv6(iface) {
            return None;
        }
        let sock = self.listen(iface, port, rx, tx)?;
        self.v6only.push(sock);
        Some(sock)
    }

    /// A listener for a server's socket on interface `iface`: a `[::]` one (`dual`) takes
    /// both families; a `0.0.0.0` one takes IPv4 only, so on an interface with IPv6 it is
    /// bound to the interface's IPv4 address (recorded in `wild4`). Without IPv6 on the
    /// interface both are `Net::listen`'s wildcard listener.
    pub fn listen_family(
        &mut self,
        iface: usize,
        port: u16,
        rx: usize,
        tx: usize,
        dual: bool,
    ) -> Option<SockRef> {
        use smoltcp::socket::tcp;
        use smoltcp::wire::IpListenEndpoint;
        let v6 = self.has_ipv6(iface);
        let v4 = self.addr(iface);
        let sock = match (dual, v6, v4) {
            (false, true, Some(a)) => {
                let none = || tcp::SocketBuffer::new(Vec::new());
                let mut s = tcp::Socket::new(none(), none());
                s.listen(IpListenEndpoint {
                    addr: Some(a.into()),
                    port,
                })
                .ok()?;
                let sock = self.add_socket(iface, s);
                self.unbuffered.push((sock, Buffers::Tcp(rx, tx)));
                self.wild4.push(sock);
                sock
            }
            // An IPv4 socket takes nothing on an interface with IPv6 alone.
            (false, true, None) => return None,
            _ => self.listen(iface, port, rx, tx)?,
        };
        if dual {
            self.dual.push(sock);
        }
        Some(sock)
    }

    /// A UDP socket bound to `port` on interface `iface` that holds no buffers until the
    /// first datagram it would take arrives: then it is remade in place, same handle, as
    /// `make` makes it, and bound again, before smoltcp sees the datagram.
    pub fn bind_udp(
        &mut self,
        iface: usize,
        port: u16,
        make: fn() -> smoltcp::socket::udp::Socket<'static>,
    ) -> Result<SockRef, smoltcp::socket::udp::BindError> {
        use smoltcp::socket::udp;
        let none = || udp::PacketBuffer::new(Vec::new(), Vec::new());
        let mut s = udp::Socket::new(none(), none());
        s.bind(port)?;
        let sock = self.add_socket(iface, s);
        self.unbuffered.push((sock, Buffers::Udp(make)));
        Ok(sock)
    }

    /// Open sockets over every interface.
    pub fn sockets(&self) -> usize {
        self.ifaces.iter().map(|f| f.sockets.iter().count()).sum()
    }

    /// Bytes of socket buffers held over every interface (receive and send, by capacity).
    pub fn buffer_bytes(&self) -> usize {
        use smoltcp::socket::Socket;
        let bytes = |s: &Socket| match s {
            Socket::Tcp(t) => t.recv_capacity() + t.send_capacity(),
            Socket::Udp(u) => u.payload_recv_capacity() + u.payload_send_capacity(),
            Socket::Raw(r) => r.payload_recv_capacity() + r.payload_send_capacity(),
            Socket::Icmp(i) => i.payload_recv_capacity() + i.payload_send_capacity(),
        };
        let sockets = self.ifaces.iter().flat_map(|f| f.sockets.iter());
        sockets.map(|(_, s)| bytes(s)).sum()
    }

    /// Gives its buffers to the unbuffered socket that will take this IPv4 packet: the
    /// listener that takes a SYN (the first TCP socket that accepts it, in the order smoltcp
    /// tries them, `tcp::Socket::accepts`), or the UDP socket that takes a datagram (likewise,
    /// `udp::Socket::accepts`). The socket is remade in place, so its handle stays valid.
    fn buffer_socket(
        f: &mut HostIface,
        iface: usize,
        unbuffered: &mut Vec<(SockRef, Buffers)>,
        packet: &[u8],
    ) {
        use smoltcp::socket::{Socket, tcp};
        use smoltcp::wire::Ipv6Packet;
        use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};
        // An IPv4 packet, or an IPv6 one on an interface with IPv6 (no extension headers:
        // the stacks send none).
        let (src, dst, proto, payload, dst4) = match packet.first().map(|b| b >> 4) {
            Some(6) => {
                let Ok(ip) = Ipv6Packet::new_checked(packet) else {
                    return;
                };
                let (s, d) = (ip.src_addr(), ip.dst_addr());
                let start = 40;
                let end = (start + usize::from(ip.payload_len())).min(packet.len());
                (
                    IpAddress::Ipv6(s),
                    IpAddress::Ipv6(d),
                    ip.next_header(),
                    &packet[start..end],
                    None,
                )
            }
            _ => {
                let Ok(ip) = Ipv4Packet::new_checked(packet) else {
                    return;
                };
                let hl = usize::from(ip.header_len());
                let end = usize::from(ip.total_len()).min(packet.len());
                (
                    IpAddress::Ipv4(ip.src_addr()),
                    IpAddress::Ipv4(ip.dst_addr()),
                    ip.next_header(),
                    &packet[hl.min(end)..end],
                    Some(ip.dst_addr()),
                )
            }
        };
        let taker = match proto {
            IpProtocol::Tcp => {
                let Ok(seg) = TcpPacket::new_checked(payload) else {
                    return;
                };
                if !seg.syn() || seg.ack() || seg.rst() {
                    return;
                }
                let (sport, dport) = (seg.src_port(), seg.dst_port());
                f.sockets.iter_mut().find_map(|(handle, s)| {
                    let Socket::Tcp(t) = s else {
                        return None;
                    };
                    let takes = match t.state() {
                        tcp::State::Closed => false,
                        tcp::State::Listen => {
                            let l = t.listen_endpoint();
                            dport != 0 && l.port == dport && l.addr.is_none_or(|a| a == dst)
                        }
                        _ => {
                            t.local_endpoint()
                                .is_some_and(|e| e.port == dport && e.addr == dst)
                                && t.remote_endpoint()
                                    .is_some_and(|e| e.port == sport && e.addr == src)
                        }
                    };
                    takes.then_some(handle)
                })
            }
            IpProtocol::Udp => {
                let Ok(dgram) = UdpPacket::new_checked(payload) else {
                    return;
                };
                let dport = dgram.dst_port();
                // A broadcast or multicast datagram goes to a socket bound to another
                // address too: taking it for one is the safe side (memory, not the wire).
                let to_any = match dst4 {
                    Some(d) => f.config.cidr.is_none_or(|c| c.address() != d),
                    None => dst.is_multicast(),
                };
                f.sockets.iter().find_map(|(handle, s)| {
                    let Socket::Udp(u) = s else {
                        return None;
                    };
                    let e = u.endpoint();
                    let takes = e.port == dport && (to_any || e.addr.is_none_or(|a| a == dst));
                    takes.then_some(handle)
                })
            }
            _ => return,
        };
        let Some(handle) = taker else {
            return;
        };
        let sock = SockRef { iface, handle };
        let Some(i) = unbuffered.iter().position(|u| u.0 == sock) else {
            return;
        };
        match (
            unbuffered.swap_remove(i).1,
            f.sockets.get_mut::<Socket>(handle),
        ) {
            (Buffers::Tcp(rx, tx), Socket::Tcp(t)) => {
                let endpoint = t.listen_endpoint();
                *t = tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0; rx]),
                    tcp::SocketBuffer::new(vec![0; tx]),
                );
                let _ = t.listen(endpoint);
            }
            (Buffers::Udp(make), Socket::Udp(u)) => {
                let endpoint = u.endpoint();
                *u = make();
                let _ = u.bind(endpoint);
            }
            _ => {}
        }
    }

    /// Hands a TCP socket over to the stack: it closes and is freed once closed. A connection
    /// still in SYN_SENT has nothing to finish: it is forgotten at once, without a packet, as
    /// the kernel forgets it (smoltcp would send a reset).
    pub fn orphan(&mut self, s: SockRef) {
        if self.orphans.iter().any(|o| o.0 == s) {
            return;
        }
        self.unbuffered.retain(|u| u.0 != s);
        let socket = self.socket::<smoltcp::socket::tcp::Socket>(s);
        if socket.state() == smoltcp::socket::tcp::State::SynSent {
            self.remove(s);
            return;
        }
        socket.close();
        self.orphans.push((s, false));
    }

    /// Frees orphaned sockets that have finished closing, and records those that entered
    /// TIME-WAIT (reaping follows every packet the stack takes, so the record starts when
    /// the connection entered it).
    pub fn reap(&mut self, now: Instant) {
        use smoltcp::socket::tcp::State;
        if !self.time_wait.is_empty() {
            self.time_wait.retain(|t| t.until > now);
        }
        let mut i = 0;
        while i < self.orphans.len() {
            let (s, recorded) = self.orphans[i];
            let socket = self.ifaces[s.iface]
                .sockets
                .get::<smoltcp::socket::tcp::Socket>(s.handle);
            if socket.state() == State::TimeWait && !recorded {
                self.orphans[i].1 = true;
                let ends = socket.local_endpoint().zip(socket.remote_endpoint());
                if let Some((l, r)) = ends.filter(|_| self.time_wait.len() < TIME_WAIT_MAX) {
                    self.time_wait.push(TimeWait {
                        local: (l.addr, l.port),
                        remote: (r.addr, r.port),
                        mapped: self.dual.contains(&s),
                        until: now + TIME_WAIT_FOR,
                    });
                }
            }
            if socket.state() == State::Closed {
                self.ifaces[s.iface].sockets.remove(s.handle);
                self.wild4.retain(|&u| u != s);
                self.dual.retain(|&u| u != s);
                self.v6only.retain(|&u| u != s);
                self.orphans.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    pub fn has_orphans(&self) -> bool {
        !self.orphans.is_empty()
    }

    /// The smoltcp context of an interface (needed by `tcp::Socket::connect`).
    pub fn connect_parts<T: AnySocket<'static>>(
        &mut self,
        s: SockRef,
    ) -> (&mut smoltcp::iface::Context, &mut T) {
        let f = &mut self.ifaces[s.iface];
        (f.iface.context(), f.sockets.get_mut::<T>(s.handle))
    }

    /// Runs smoltcp on one interface: ingress of `rx` if given (a frame, or an IPv4 packet
    /// in a routed stack), then egress.
    pub fn poll(&mut self, iface: usize, now: Instant, rx: Option<&[u8]>, ctx: &mut Ctx<'_>) {
        let gateway6 = self.gateway6.filter(|g| g.0 == iface).map(|g| g.1);
        let f = &mut self.ifaces[iface];
        let routed = match (&mut self.routed, f.ip_medium) {
            (Some(r), _) => Some(&mut r.out),
            (None, true) => Some(&mut self.lo_out),
            (None, false) => None,
        };
        let mut learned = false;
        if let Some(data) = rx {
            if routed.is_some() {
                f.abort_on_unreachable(data);
                if !self.unbuffered.is_empty() {
                    Self::buffer_socket(f, iface, &mut self.unbuffered, data);
                }
            } else if let Ok(eth) = EthernetFrame::new_checked(data) {
                learned = f.observe_arp(&eth, now);
                if eth.ethertype() == EthernetProtocol::Ipv4 {
                    if let Some(src) = f.unknown_sender(&eth, now) {
                        f.hold(iface as u16, src, now, data, ctx);
                        return;
                    }
                    f.abort_on_unreachable(eth.payload());
                    f.learn_pmtu(eth.payload(), &mut self.pmtu, now);
                    if !self.unbuffered.is_empty() {
                        Self::buffer_socket(f, iface, &mut self.unbuffered, eth.payload());
                    }
                } else if eth.ethertype() == EthernetProtocol::Ipv6 && f.config.ipv6.is_some() {
                    if let Some((src, ours)) = f.unknown_sender6(eth.payload(), now, gateway6) {
                        f.hold6(iface as u16, (src, ours), now, data, ctx);
                        return;
                    }
                    learned = f.observe_ndp(eth.payload(), now);
                    if !self.unbuffered.is_empty() {
                        Self::buffer_socket(f, iface, &mut self.unbuffered, eth.payload());
                    }
                }
            }
        }
        // While smoltcp keeps silent, the host asks for the next hops its programs need.
        if !f.want_arp.is_empty() {
            if now < f.arp_silent_until {
                for hop in std::mem::take(&mut f.want_arp) {
                    if !f.neigh.iter().any(|n| n.0 == hop) {
                        f.send_arp_request(iface as u16, hop, ctx);
                    }
                }
            } else {
                f.want_arp.clear();
            }
        }
        let mut dev = SimDevice {
            rx,
            ctx,
            port: iface as u16,
            mtu: f.config.mtu as usize,
            routed,
            arp_requests: 0,
            pmtu: (!self.pmtu.is_empty()).then_some((&self.pmtu, now)),
        };
        f.iface.poll(now.to_smoltcp(), &mut dev, &mut f.sockets);
        if dev.arp_requests > 0 {
            f.arp_silent_until = now + Duration::from_secs(1);
        }
        if learned && !f.held.is_empty() {
            // The sender answered: its held frames go in now, as Linux sends its queue.
            f.held.retain(|h| now.saturating_sub(h.1) < HELD_FOR);
            let v4 = f.neigh.iter().map(|n| IpAddress::Ipv4(n.0));
            let known: Vec<IpAddress> = v4.chain(f.neigh6.iter().map(|n| n.0.into())).collect();
            let (ready, wait): (Vec<_>, Vec<_>) =
                f.held.drain(..).partition(|h| known.contains(&h.0));
            f.held = wait;
            let answering = ctx.incoming();
            for (_, _, frame, tag) in ready {
                ctx.set_incoming(tag);
                self.poll(iface, now, Some(&frame), ctx);
            }
            ctx.set_incoming(answering);
        }
    }

    /// The earliest instant smoltcp wants to be polled at, over all interfaces.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.ifaces
            .iter_mut()
            .filter_map(|f| f.iface.poll_at(now.to_smoltcp(), &f.sockets))
            .map(Instant::from_smoltcp)
            .min()
    }
}

/// An interface that speaks IP (no Ethernet, no ARP): a routed stack's, or a host's `lo`.
fn ip_iface(
    name: String,
    cidr: impl Into<IpCidr>,
    mtu: u32,
    rng: &mut Rng,
    now: Instant,
) -> HostIface {
    let cidr = cidr.into();
    let mut config = Config::new(HardwareAddress::Ip);
    config.random_seed = rng.next_u64();
    let mut dev = CapsOnly(mtu as usize, Medium::Ip);
    let mut iface = Interface::new(config, &mut dev, now.to_smoltcp());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(cidr);
    });
    // Every destination is "reachable": what the interface sends is its owner's to route.
    // An IPv6 one keeps `config.ipv6` None: its one address is all it has (no link-local
    // address of its own, no neighbour discovery).
    let v4 = match cidr {
        IpCidr::Ipv4(c) => {
            let _ = iface.routes_mut().add_default_ipv4_route(c.address());
            Some(c)
        }
        IpCidr::Ipv6(c) => {
            let _ = iface.routes_mut().add_default_ipv6_route(c.address());
            None
        }
    };
    HostIface {
        config: IfaceConfig {
            name,
            mac: EthernetAddress([0; 6]),
            cidr: v4,
            mtu,
            ipv6: None,
        },
        iface,
        sockets: SocketSet::new(Vec::new()),
        neigh: Vec::new(),
        neigh6: Vec::new(),
        ip_medium: true,
        arp_silent_until: Instant::ZERO,
        want_arp: Vec::new(),
        held: Vec::new(),
    }
}

impl HostIface {
    /// An ARP request for `target`, as smoltcp would send it (for its own address: an
    /// unsolicited announcement).
    pub(crate) fn send_arp_request(&self, port: u16, target: Ipv4Address, ctx: &mut Ctx<'_>) {
        let Some(cidr) = self.config.cidr else {
            return;
        };
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: self.config.mac,
            source_protocol_addr: cidr.address(),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        let mut buf = ctx.buffer();
        buf.resize(crate::link::ETH_HEADER_LEN + repr.buffer_len(), 0);
        let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(EthernetAddress::BROADCAST);
        eth.set_src_addr(self.config.mac);
        eth.set_ethertype(EthernetProtocol::Arp);
        repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
        ctx.send(port, buf);
    }

    /// True when a frame cannot concern this interface's stack, so smoltcp need not see it:
    /// an ARP request for another address (smoltcp ignores those entirely).
    pub fn ignores(&self, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return true;
        };
        if eth.ethertype() != EthernetProtocol::Arp {
            return false;
        }
        let Ok(arp) = ArpPacket::new_checked(eth.payload()) else {
            return true;
        };
        let target =
            Ipv4Address::from_octets(arp.target_protocol_addr().try_into().unwrap_or([0; 4]));
        self.config.cidr.is_none_or(|c| c.address() != target)
    }

    /// A gratuitous ARP from a neighbour this interface knows at another MAC, rewritten as
    /// an ARP reply to this interface (so smoltcp updates its cache as Linux would); None
    /// for any other frame.
    pub fn as_reply_to_us(&self, frame: &[u8], now: Instant) -> Option<Vec<u8>> {
        let cidr = self.config.cidr?;
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != EthernetProtocol::Arp {
            return None;
        }
        let arp = ArpPacket::new_checked(eth.payload()).ok()?;
        // Most ARP a host ignores is a request for another address, not an announcement.
        if arp.source_protocol_addr() != arp.target_protocol_addr() {
            return None;
        }
        let Ok(ArpRepr::EthernetIpv4 {
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&arp)
        else {
            return None;
        };
        let known = self
            .neigh
            .iter()
            .any(|n| n.0 == ip && n.1 != mac && now.saturating_sub(n.2) < NEIGH_LIFETIME);
        if ip != target_protocol_addr || !known || !mac.is_unicast() {
            return None;
        }
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Reply,
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_hardware_addr: self.config.mac,
            target_protocol_addr: cidr.address(),
        };
        let mut buf = vec![0; crate::link::ETH_HEADER_LEN + repr.buffer_len()];
        let mut out = EthernetFrame::new_unchecked(&mut buf[..]);
        out.set_dst_addr(self.config.mac);
        out.set_src_addr(mac);
        out.set_ethertype(EthernetProtocol::Arp);
        repr.emit(&mut ArpPacket::new_unchecked(out.payload_mut()));
        Some(buf)
    }

    /// Linux gives up a connection attempt (SYN_SENT) at any ICMP destination unreachable
    /// quoting its SYN (`tcp_v4_err`), so `connect` fails at once; smoltcp would retransmit.
    fn abort_on_unreachable(&mut self, packet: &[u8]) {
        use smoltcp::wire::{
            Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpPacket,
        };
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        if ip.next_header() != IpProtocol::Icmp {
            return;
        }
        let Ok(icmp) = Icmpv4Packet::new_checked(ip.payload()) else {
            return;
        };
        if icmp.msg_type() != Icmpv4Message::DstUnreachable
            || Icmpv4DstUnreachable::from(icmp.msg_code()) == Icmpv4DstUnreachable::FragRequired
        {
            return;
        }
        let quote = icmp.data();
        if quote.len() < 28 {
            return;
        }
        let inner = Ipv4Packet::new_unchecked(quote);
        let hl = usize::from(inner.header_len());
        if inner.next_header() != IpProtocol::Tcp || quote.len() < hl + 4 {
            return;
        }
        let tcp = TcpPacket::new_unchecked(&quote[hl..]);
        let (sport, dst, dport) = (tcp.src_port(), inner.dst_addr(), tcp.dst_port());
        for (_, socket) in self.sockets.iter_mut() {
            if let smoltcp::socket::Socket::Tcp(s) = socket
                && s.state() == smoltcp::socket::tcp::State::SynSent
                && s.local_endpoint().is_some_and(|e| e.port == sport)
                && s.remote_endpoint()
                    .is_some_and(|e| e.port == dport && e.addr == dst.into())
            {
                s.abort();
            }
        }
    }

    /// Linux lowers the path MTU on a "fragmentation needed" quoting a packet of ours: for
    /// TCP only when a socket has that connection (`tcp_v4_err` drops it otherwise), for
    /// UDP and ICMP (ping) as their error handlers do, whatever the socket.
    fn learn_pmtu(&self, packet: &[u8], pmtu: &mut PathMtu, now: Instant) {
        use smoltcp::wire::{IpProtocol, TcpPacket};
        let Some((src, dst, mtu, proto, quoted)) = crate::host::pmtu::frag_needed(packet) else {
            return;
        };
        if self.config.cidr.is_none_or(|c| c.address() != src) {
            return;
        }
        let ours = match proto {
            IpProtocol::Tcp => quoted.get(..4).is_some_and(|ports| {
                let tcp = TcpPacket::new_unchecked(ports);
                self.sockets.iter().any(|(_, s)| match s {
                    smoltcp::socket::Socket::Tcp(t) => {
                        t.local_endpoint().is_some_and(|e| e.port == tcp.src_port())
                            && t.remote_endpoint()
                                .is_some_and(|e| e.port == tcp.dst_port() && e.addr == dst.into())
                    }
                    _ => false,
                })
            }),
            IpProtocol::Udp | IpProtocol::Icmp => true,
            _ => false,
        };
        if ours {
            pmtu.update(dst, mtu, self.config.mtu, now);
        }
    }

    /// The sender of an IPv4 packet to us that is on our subnet and whose MAC smoltcp does
    /// not know.
    fn unknown_sender(&self, eth: &EthernetFrame<&[u8]>, now: Instant) -> Option<Ipv4Address> {
        let cidr = self.config.cidr?;
        let ip = smoltcp::wire::Ipv4Packet::new_checked(eth.payload()).ok()?;
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let known = self
            .neigh
            .iter()
            .any(|n| n.0 == src && now.saturating_sub(n.2) < NEIGH_LIFETIME);
        (dst == cidr.address() && src != dst && cidr.contains_addr(&src) && !known).then_some(src)
    }

    /// Holds a frame from `src` until its MAC is known, asking for it (once per sender).
    fn hold(&mut self, port: u16, src: Ipv4Address, now: Instant, frame: &[u8], ctx: &mut Ctx<'_>) {
        self.held.retain(|h| now.saturating_sub(h.1) < HELD_FOR);
        if !self.held.iter().any(|h| h.0 == IpAddress::Ipv4(src)) {
            self.send_arp_request(port, src, ctx);
        }
        if self.held.len() < HELD_MAX {
            self.held
                .push((src.into(), now, frame.to_vec(), ctx.incoming()));
        }
    }

    /// An IPv6 packet for one of our addresses (`ours`) whose answer's next hop smoltcp
    /// does not know: the sender when on-link, else the gateway (`gateway6`, the default
    /// route through this interface). smoltcp would answer by soliciting and dropping the
    /// answer, where Linux queues it until the advertisement comes. Neighbour discovery
    /// itself is never held. Returns the next hop and our address.
    fn unknown_sender6(
        &self,
        packet: &[u8],
        now: Instant,
        gateway6: Option<Ipv6Address>,
    ) -> Option<(Ipv6Address, Ipv6Address)> {
        use smoltcp::wire::{Icmpv6Packet, IpProtocol, Ipv6Packet};
        let ip = Ipv6Packet::new_checked(packet).ok()?;
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if ip.next_header() == IpProtocol::Icmpv6
            && Icmpv6Packet::new_checked(ip.payload()).is_ok_and(|i| !i.msg_type().is_error())
            && ip.hop_limit() == 255
        {
            return None;
        }
        let statics = self.config.ipv6.iter().flatten();
        let ours = statics.clone().any(|c| c.address() == dst)
            || self.config.link_local().is_some_and(|l| l.address() == dst);
        let on_link = src.is_unicast_link_local() || statics.clone().any(|c| c.contains_addr(&src));
        let hop = match on_link {
            true => src,
            false => gateway6?,
        };
        let known = self
            .neigh6
            .iter()
            .any(|n| n.0 == hop && now.saturating_sub(n.2) < NEIGH_LIFETIME);
        (ours && src != dst && !src.is_unspecified() && !src.is_multicast() && !known)
            .then_some((hop, dst))
    }

    /// Holds an IPv6 frame from `src` until its MAC is known, soliciting it (once per
    /// sender) from the address the frame came to, as the answer will come from it.
    fn hold6(
        &mut self,
        port: u16,
        (src, ours): (Ipv6Address, Ipv6Address),
        now: Instant,
        frame: &[u8],
        ctx: &mut Ctx<'_>,
    ) {
        self.held.retain(|h| now.saturating_sub(h.1) < HELD_FOR);
        if !self.held.iter().any(|h| h.0 == IpAddress::Ipv6(src)) {
            let ns = crate::wire::ipv6::neighbor_solicit(
                ctx.buffer(),
                (self.config.mac, ours),
                src,
                None,
            );
            ctx.send(port, ns);
        }
        if self.held.len() < HELD_MAX {
            self.held
                .push((src.into(), now, frame.to_vec(), ctx.incoming()));
        }
    }

    /// Mirrors smoltcp's ARP cache fill: an ARP request or reply aimed at us, from a unicast
    /// sender on our subnet. True when it filled an entry.
    fn observe_arp(&mut self, eth: &EthernetFrame<&[u8]>, now: Instant) -> bool {
        if eth.ethertype() != EthernetProtocol::Arp {
            return false;
        }
        let Some(cidr) = self.config.cidr else {
            return false;
        };
        let Ok(arp) = ArpPacket::new_checked(eth.payload()) else {
            return false;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&arp)
        else {
            return false;
        };
        if target_protocol_addr != cidr.address()
            || matches!(operation, ArpOperation::Unknown(_))
            || !source_hardware_addr.is_unicast()
            || !cidr.contains_addr(&source_protocol_addr)
        {
            return false;
        }
        match self.neigh.iter_mut().find(|n| n.0 == source_protocol_addr) {
            Some(n) => {
                n.1 = source_hardware_addr;
                n.2 = now;
            }
            None => self
                .neigh
                .push((source_protocol_addr, source_hardware_addr, now)),
        }
        true
    }

    /// Mirrors smoltcp's IPv6 neighbour cache fill (`process_ndisc`): a neighbor
    /// advertisement with the target's link-layer address, to one of our addresses or to
    /// all nodes; a solicitation with the sender's, to our solicited-node group or to us.
    /// Hop limit 255 only, as RFC 4861 (and smoltcp) require. True when it filled an entry.
    fn observe_ndp(&mut self, packet: &[u8], now: Instant) -> bool {
        use smoltcp::wire::{
            Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Packet, NdiscNeighborFlags, NdiscRepr,
            RawHardwareAddress,
        };
        let Ok(ip) = Ipv6Packet::new_checked(packet) else {
            return false;
        };
        if ip.next_header() != IpProtocol::Icmpv6 || ip.hop_limit() != 255 {
            return false;
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
            return false;
        };
        let caps = smoltcp::phy::ChecksumCapabilities::default();
        let Ok(Icmpv6Repr::Ndisc(nd)) = Icmpv6Repr::parse(&src, &dst, &icmp, &caps) else {
            return false;
        };
        // The interface's addresses, without collecting them (no allocation per frame).
        let ours = || {
            let statics = self.config.ipv6.iter().flatten().map(|c| c.address());
            statics.chain(self.config.link_local().map(|c| c.address()))
        };
        let to_us = ours().any(|a| a == dst);
        let mac = |l: Option<RawHardwareAddress>| {
            l.filter(|l| l.len() == 6)
                .map(|l| EthernetAddress::from_bytes(l.as_bytes()))
                .filter(|m| m.is_unicast())
        };
        let (lladdr, confirmed) = match nd {
            NdiscRepr::NeighborAdvert {
                lladdr,
                target_addr,
                flags,
            } if to_us || dst.is_multicast() => (
                mac(lladdr),
                flags.contains(NdiscNeighborFlags::SOLICITED) && target_addr == src,
            ),
            NdiscRepr::NeighborSolicit { lladdr, .. }
                if !src.is_unspecified() && (to_us || ours().any(|a| solicited_node(a) == dst)) =>
            {
                (mac(lladdr), false)
            }
            _ => return false,
        };
        let Some(lladdr) = lladdr else {
            return false;
        };
        match self.neigh6.iter_mut().find(|n| n.0 == src) {
            Some(n) => {
                n.1 = lladdr;
                n.2 = now;
                n.3 |= confirmed;
            }
            None => self.neigh6.push((src, lladdr, now, confirmed)),
        }
        true
    }

    /// IPv6 neighbours smoltcp still knows, with the state Linux would show: REACHABLE for
    /// `REACHABLE_FOR` after a solicited advertisement, then STALE; STALE at once for one
    /// learned from its solicitation (the kernel makes such an entry STALE, then DELAY
    /// while it confirms it: that confirmation is not modelled).
    pub fn neighbours6(&self, now: Instant) -> Vec<(Ipv6Address, EthernetAddress, &'static str)> {
        self.neigh6
            .iter()
            .filter(|n| now.saturating_sub(n.2) < NEIGH_LIFETIME)
            .map(|&(ip, mac, t, confirmed)| {
                let state = match confirmed && now.saturating_sub(t) < REACHABLE_FOR {
                    true => "REACHABLE",
                    false => "STALE",
                };
                (ip, mac, state)
            })
            .collect()
    }

    /// Neighbours smoltcp still knows, with the state Linux would show.
    pub fn neighbours(&self, now: Instant) -> Vec<(Ipv4Address, EthernetAddress, &'static str)> {
        self.neigh
            .iter()
            .filter(|n| now.saturating_sub(n.2) < NEIGH_LIFETIME)
            .map(|&(ip, mac, t)| {
                let state = if now.saturating_sub(t) < REACHABLE_FOR {
                    "REACHABLE"
                } else {
                    "STALE"
                };
                (ip, mac, state)
            })
            .collect()
    }
}
