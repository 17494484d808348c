//! A host's network stack: one smoltcp `Interface` + `SocketSet` per interface, a routing
//! decision across them, and a mirror of the ARP cache for `ip neigh` (smoltcp does not list
//! its cache). Sockets are created by the apps that need them and removed when they finish,
//! so an idle host holds no socket buffers.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::AnySocket;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr,
};

use crate::host::device::{CapsOnly, SimDevice};
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
}

pub struct HostIface {
    pub config: IfaceConfig,
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    /// (address, MAC, when confirmed), in first-seen order.
    pub(crate) neigh: Vec<(Ipv4Address, EthernetAddress, Instant)>,
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
    pub rng: Rng,
    /// TCP sockets their app has closed, kept until the close handshake completes (as the
    /// kernel keeps a closed socket's connection), then freed.
    orphans: Vec<SockRef>,
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
            let mut dev = CapsOnly(cfg.mtu as usize);
            let mut iface = Interface::new(config, &mut dev, now.to_smoltcp());
            if let Some(cidr) = cfg.cidr {
                iface.update_ip_addrs(|addrs| {
                    let _ = addrs.push(IpCidr::Ipv4(cidr));
                });
                if let Some(g) = gateway.filter(|g| cidr.contains_addr(g) && gw.is_none()) {
                    let _ = iface.routes_mut().add_default_ipv4_route(g);
                    gw = Some((i, g));
                }
            }
            built.push(HostIface {
                config: cfg,
                iface,
                sockets: SocketSet::new(Vec::new()),
                neigh: Vec::new(),
            });
        }
        Net {
            ifaces: built,
            gateway: gw,
            rng,
            orphans: Vec::new(),
        }
    }

    /// The interface a packet to `dst` leaves by: the longest connected prefix, else the
    /// gateway's interface.
    pub fn route(&self, dst: Ipv4Address) -> Option<usize> {
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

    pub fn add_socket<T: AnySocket<'static>>(&mut self, iface: usize, socket: T) -> SockRef {
        let handle = self.ifaces[iface].sockets.add(socket);
        SockRef { iface, handle }
    }

    pub fn socket<T: AnySocket<'static>>(&mut self, s: SockRef) -> &mut T {
        self.ifaces[s.iface].sockets.get_mut::<T>(s.handle)
    }

    pub fn remove(&mut self, s: SockRef) {
        self.ifaces[s.iface].sockets.remove(s.handle);
    }

    /// Hands a TCP socket over to the stack: it closes and is freed once closed.
    pub fn orphan(&mut self, s: SockRef) {
        if self.orphans.contains(&s) {
            return;
        }
        self.socket::<smoltcp::socket::tcp::Socket>(s).close();
        self.orphans.push(s);
    }

    /// Frees orphaned sockets that have finished closing.
    pub fn reap(&mut self) {
        let mut i = 0;
        while i < self.orphans.len() {
            let s = self.orphans[i];
            let closed = self.ifaces[s.iface]
                .sockets
                .get::<smoltcp::socket::tcp::Socket>(s.handle)
                .state()
                == smoltcp::socket::tcp::State::Closed;
            if closed {
                self.ifaces[s.iface].sockets.remove(s.handle);
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

    /// Runs smoltcp on one interface: ingress of `rx` if given, then egress.
    pub fn poll(&mut self, iface: usize, now: Instant, rx: Option<&[u8]>, ctx: &mut Ctx<'_>) {
        let f = &mut self.ifaces[iface];
        if let Some(frame) = rx {
            f.observe_arp(frame, now);
            f.abort_on_unreachable(frame);
        }
        let mut dev = SimDevice {
            rx,
            ctx,
            port: iface as u16,
            mtu: f.config.mtu as usize,
        };
        f.iface.poll(now.to_smoltcp(), &mut dev, &mut f.sockets);
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

impl HostIface {
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

    /// Linux gives up a connection attempt (SYN_SENT) at any ICMP destination unreachable
    /// quoting its SYN (`tcp_v4_err`), so `connect` fails at once; smoltcp would retransmit.
    fn abort_on_unreachable(&mut self, frame: &[u8]) {
        use smoltcp::wire::{
            Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpPacket,
        };
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
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

    /// Mirrors smoltcp's ARP cache fill: an ARP request or reply aimed at us, from a unicast
    /// sender on our subnet.
    fn observe_arp(&mut self, frame: &[u8], now: Instant) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        if eth.ethertype() != EthernetProtocol::Arp {
            return;
        }
        let Some(cidr) = self.config.cidr else {
            return;
        };
        let Ok(arp) = ArpPacket::new_checked(eth.payload()) else {
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&arp)
        else {
            return;
        };
        if target_protocol_addr != cidr.address()
            || matches!(operation, ArpOperation::Unknown(_))
            || !source_hardware_addr.is_unicast()
            || !cidr.contains_addr(&source_protocol_addr)
        {
            return;
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
