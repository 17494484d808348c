//! `traceroute`, as Debian's traceroute 2.1 prints it: UDP probes of 60 bytes to ports
//! 33434 and up, three per hop, TTL 1, 2, … until the destination answers (port unreachable)
//! or 30 hops. Each probe waits up to 5 s; a hop's probes go out together. Without `-n` each
//! hop is looked up backwards (`web.backend (172.18.0.2)`; `172.18.0.1 (172.18.0.1)` when
//! nothing names it).

use std::fmt::Write;

use smoltcp::socket::{raw, udp};
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv6Message, Icmpv6Packet, IpAddress,
    IpEndpoint, IpListenEndpoint, IpProtocol, IpVersion, Ipv4Packet, Ipv6Packet, UdpPacket,
};

use super::{App, Held};
use crate::host::cmd::TracerouteArgs;
use crate::host::net::{Net, SockRef};
use crate::host::resolve::Names;
use crate::sim::CmdResult;
use crate::time::Instant;

const BASE_PORT: u16 = 33434;
/// 60-byte packets: IP 20 + UDP 8 + 32 bytes of payload.
const PAYLOAD: usize = 32;

struct Probe {
    sent: Instant,
    port: u16,
    answer: Option<(IpAddress, Instant, String)>,
}

pub struct Traceroute {
    args: TracerouteArgs,
    /// The resolved destination.
    dest: IpAddress,
    udp: SockRef,
    icmp: SockRef,
    local_port: u16,
    ttl: u8,
    probes: Vec<Probe>,
    next_port: u16,
    reached: bool,
    out: String,
}

impl Traceroute {
    pub fn start(args: TracerouteArgs, _now: Instant, net: &mut Net) -> Result<Traceroute, String> {
        // traceroute's own getaddrinfo message, then its command-line parser's complaint.
        let cannot = |why: &str| {
            format!(
                "{0}: {why}\nCannot handle \"host\" cmdline arg `{0}' on position 1 (argc {1})",
                args.dest, args.dest_argc
            )
        };
        let unsupported = "Address family for hostname not supported";
        // The interface, the source (None: the interface's IPv4 address) and destination.
        let (iface, src, dest) = match (&args.dest6, args.family) {
            (Some(_), Some(4)) => return Err(cannot(unsupported)),
            (Some(d), _) => {
                let dev = match &d.scope {
                    Some(z) => Some(
                        net.iface_named(z)
                            .ok_or_else(|| cannot("Name or service not known"))?,
                    ),
                    None => None,
                };
                let unreachable = "connect: Network is unreachable";
                let iface = net.route6(d.addr, dev).ok_or(unreachable)?;
                let src = net.source6(iface, d.addr).ok_or(unreachable)?;
                (iface, Some(IpAddress::Ipv6(src)), IpAddress::Ipv6(d.addr))
            }
            (None, Some(6)) => {
                let why = match args.dest {
                    crate::host::cmd::Dest::Addr(_) => unsupported,
                    // Names resolve to IPv4 only.
                    crate::host::cmd::Dest::Name(_) => "Name or service not known",
                };
                return Err(cannot(why));
            }
            (None, _) => {
                let (dest, _) = args
                    .dest
                    .resolve(&net.names)
                    .map_err(|e| cannot(e.message()))?;
                let iface = net.route(dest).ok_or("connect: Network is unreachable")?;
                (iface, None, IpAddress::Ipv4(dest))
            }
        };
        let v6 = matches!(dest, IpAddress::Ipv6(_));
        let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8 * 64]);
        let mut u = udp::Socket::new(buf(), buf());
        let local_port = net.ephemeral_port();
        u.bind(IpListenEndpoint {
            addr: src,
            port: local_port,
        })
        .map_err(|e| format!("bind: {e}"))?;
        let udp = net.add_socket(iface, u);
        let rx = raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 16], vec![0; 16 * 192]);
        let tx = raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 1], vec![0; 64]);
        let (version, proto) = match v6 {
            true => (IpVersion::Ipv6, IpProtocol::Icmpv6),
            false => (IpVersion::Ipv4, IpProtocol::Icmp),
        };
        let icmp = net.add_socket(iface, raw::Socket::new(Some(version), Some(proto), rx, tx));
        // 60-byte packets over IPv4, 80 over IPv6 (the same 32 bytes after a 40-byte header).
        let size = if v6 { 80 } else { 60 };
        let out = format!(
            "traceroute to {} ({dest}), {} hops max, {size} byte packets\n",
            args.dest, args.max_ttl
        );
        Ok(Traceroute {
            dest,
            ttl: args.first_ttl.saturating_sub(1),
            args,
            udp,
            icmp,
            local_port,
            probes: Vec::new(),
            next_port: BASE_PORT,
            reached: false,
            out,
        })
    }

    fn send_hop(&mut self, now: Instant, net: &mut Net) {
        self.ttl += 1;
        self.probes.clear();
        let s = net.socket::<udp::Socket>(self.udp);
        s.set_hop_limit(Some(self.ttl));
        for _ in 0..self.args.queries {
            let port = self.next_port;
            self.next_port = self.next_port.wrapping_add(1);
            let payload = [0x40u8 + (port % 32) as u8; PAYLOAD];
            let _ = s.send_slice(&payload, IpEndpoint::new(self.dest, port));
            self.probes.push(Probe {
                sent: now,
                port,
                answer: None,
            });
        }
    }

    fn receive(&mut self, now: Instant, net: &mut Net) {
        if matches!(self.dest, IpAddress::Ipv6(_)) {
            return self.receive6(now, net);
        }
        let mut pkt = [0u8; 1600];
        while let Ok(n) = net.socket::<raw::Socket>(self.icmp).recv_slice(&mut pkt) {
            let Ok(ip) = Ipv4Packet::new_checked(&pkt[..n]) else {
                continue;
            };
            let Ok(icmp) = Icmpv4Packet::new_checked(ip.payload()) else {
                continue;
            };
            let note = match (icmp.msg_type(), Icmpv4DstUnreachable::from(icmp.msg_code())) {
                (Icmpv4Message::TimeExceeded, _) => "",
                (Icmpv4Message::DstUnreachable, Icmpv4DstUnreachable::PortUnreachable) => "",
                (Icmpv4Message::DstUnreachable, Icmpv4DstUnreachable::HostUnreachable) => " !H",
                (Icmpv4Message::DstUnreachable, Icmpv4DstUnreachable::NetUnreachable) => " !N",
                (Icmpv4Message::DstUnreachable, Icmpv4DstUnreachable::ProtoUnreachable) => " !P",
                (Icmpv4Message::DstUnreachable, Icmpv4DstUnreachable::CommProhibited) => " !X",
                (Icmpv4Message::DstUnreachable, _) => " !<code>",
                _ => continue,
            };
            // The quote may be cut short: read its header without trusting its length field.
            if icmp.data().len() < 20 {
                continue;
            }
            let inner = Ipv4Packet::new_unchecked(icmp.data());
            let hl = usize::from(inner.header_len());
            let Some(quoted) = icmp.data().get(hl..) else {
                continue;
            };
            if IpAddress::Ipv4(inner.dst_addr()) != self.dest
                || inner.next_header() != IpProtocol::Udp
                || quoted.len() < 8
            {
                continue;
            }
            let udp = UdpPacket::new_unchecked(&quoted[..8]);
            if udp.src_port() != self.local_port {
                continue;
            }
            let from = IpAddress::Ipv4(ip.src_addr());
            if let Some(p) = self
                .probes
                .iter_mut()
                .find(|p| p.port == udp.dst_port() && p.answer.is_none())
            {
                p.answer = Some((from, now, note.to_string()));
                if icmp.msg_type() == Icmpv4Message::DstUnreachable {
                    self.reached = true;
                }
            }
        }
    }

    /// ICMPv6 about a probe: time exceeded from a hop, or destination unreachable (port
    /// unreachable from the destination; traceroute's `!N`, `!X`, `!H` for the others).
    fn receive6(&mut self, now: Instant, net: &mut Net) {
        let mut pkt = [0u8; 1600];
        while let Ok(n) = net.socket::<raw::Socket>(self.icmp).recv_slice(&mut pkt) {
            let Ok(ip) = Ipv6Packet::new_checked(&pkt[..n]) else {
                continue;
            };
            let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
                continue;
            };
            let (unreachable, note) = match (icmp.msg_type(), icmp.msg_code()) {
                (Icmpv6Message::TimeExceeded, _) => (false, ""),
                (Icmpv6Message::DstUnreachable, 4) => (true, ""),
                (Icmpv6Message::DstUnreachable, 0) => (true, " !N"),
                (Icmpv6Message::DstUnreachable, 1) => (true, " !X"),
                (Icmpv6Message::DstUnreachable, 3) => (true, " !H"),
                (Icmpv6Message::DstUnreachable, _) => (true, " !<code>"),
                _ => continue,
            };
            // The quote: the probe's IPv6 header (40 bytes), then its UDP header.
            let quote = icmp.payload();
            if quote.len() < 48 {
                continue;
            }
            let inner = Ipv6Packet::new_unchecked(&quote[..40]);
            if IpAddress::Ipv6(inner.dst_addr()) != self.dest
                || inner.next_header() != IpProtocol::Udp
            {
                continue;
            }
            let udp = UdpPacket::new_unchecked(&quote[40..48]);
            if udp.src_port() != self.local_port {
                continue;
            }
            let from = IpAddress::Ipv6(ip.src_addr());
            if let Some(p) = self
                .probes
                .iter_mut()
                .find(|p| p.port == udp.dst_port() && p.answer.is_none())
            {
                p.answer = Some((from, now, note.to_string()));
                if unreachable {
                    self.reached = true;
                }
            }
        }
    }

    fn hop_done(&self, now: Instant) -> bool {
        self.probes
            .iter()
            .all(|p| p.answer.is_some() || now >= p.sent + self.args.wait)
    }

    fn print_hop(&mut self, names: &Names) {
        let mut line = format!("{:>2} ", self.ttl);
        let mut last: Option<IpAddress> = None;
        for p in &self.probes {
            match &p.answer {
                Some((from, at, note)) => {
                    if last != Some(*from) {
                        if self.args.numeric {
                            let _ = write!(line, " {from}");
                        } else {
                            let name = match from {
                                IpAddress::Ipv4(a) => names.reverse(*a),
                                // Names are IPv4 only: an IPv6 hop is named by its address.
                                IpAddress::Ipv6(_) => None,
                            };
                            let name = name.unwrap_or_else(|| from.to_string());
                            let _ = write!(line, " {name} ({from})");
                        }
                        last = Some(*from);
                    }
                    let ms = at.saturating_sub(p.sent).nanos() as f64 / 1e6;
                    let _ = write!(line, "  {ms:.3} ms{note}");
                }
                None => line.push_str(" *"),
            }
        }
        self.out.push_str(&line);
        self.out.push('\n');
    }

    fn finish(&mut self, net: &mut Net, stopped: bool) -> CmdResult {
        net.remove(self.udp);
        net.remove(self.icmp);
        CmdResult {
            exit_code: 0,
            output: std::mem::take(&mut self.out),
            stopped,
            ..CmdResult::default()
        }
    }
}

impl App for Traceroute {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        self.receive(now, net);
        if self.probes.is_empty() {
            self.send_hop(now, net);
            return None;
        }
        if !self.hop_done(now) {
            return None;
        }
        self.print_hop(&net.names);
        if self.reached || self.ttl >= self.args.max_ttl {
            return Some(self.finish(net, false));
        }
        self.send_hop(now, net);
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        self.probes
            .iter()
            .filter(|p| p.answer.is_none())
            .map(|p| p.sent + self.args.wait)
            .min()
    }

    /// Its UDP probe socket; the ICMP one is a raw socket, which `ss -t`/`-u` do not list.
    fn held(&self, out: &mut Vec<Held>) {
        out.push(Held::socket(self.udp, 3));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        self.finish(net, true)
    }
}
