//! `ping`, as iputils prints it. Echo requests go out through a raw ICMP socket so replies
//! are seen whole (their TTL is printed); ICMP errors quoting one of our requests are reported
//! as iputils does (`From 10.0.0.1 icmp_seq=1 Time to live exceeded`). A destination given by
//! name is resolved first, and then iputils looks each replying address up backwards:
//! `64 bytes from web.backend (172.18.0.2)`, or the bare address when nothing names it.

use std::fmt::Write;

use smoltcp::socket::raw;
use smoltcp::wire::{
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4TimeExceeded, Icmpv6Message,
    Icmpv6Packet, IpProtocol, IpVersion, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet,
};

use super::App;
use crate::host::cmd::{Dest, PingArgs};
use crate::host::net::{Net, SockRef};
use crate::host::resolve::Names;
use crate::sim::CmdResult;
use crate::time::{Duration, Instant};

/// `ping -6`'s own facts: the destination, the source chosen for it, and the interface
/// (named after a link-local address, as iputils prints it: `fe80::1%eth0`).
struct V6 {
    dest: Ipv6Address,
    src: Ipv6Address,
    dev: String,
}

pub struct Ping {
    args: PingArgs,
    v6: Option<V6>,
    /// The resolved destination.
    dest: Ipv4Address,
    /// The destination as the PING and statistics lines name it: the canonical name of a
    /// resolved name, else the address.
    target: String,
    sock: SockRef,
    src: Ipv4Address,
    ident: u16,
    start: Instant,
    next_send: Instant,
    sent: u64,
    /// Send time of the last `SEQ_SPACE` sequence numbers, at `(seq - 1) mod SEQ_SPACE`: it
    /// grows with the requests sent until the 16-bit sequence number wraps, then is reused.
    sent_at: Vec<Instant>,
    /// iputils' duplicate table (`rcvd_tbl`): a bit per sequence number at the same index,
    /// cleared when that number is sent, set when its first reply comes.
    replied: Vec<u64>,
    received: u64,
    duplicates: u64,
    errors: u64,
    /// Round-trip times of the first replies, as running sums.
    rtt: RttStats,
    last_send: Instant,
    /// The last send or receive: iputils' `time` in the statistics runs to it.
    last_activity: Instant,
    out: String,
}

impl Ping {
    pub fn start(args: PingArgs, now: Instant, net: &mut Net) -> Result<Ping, String> {
        if args.dest6.is_some() {
            return Self::start6(args, now, net);
        }
        let (dest, answer) = args
            .dest
            .resolve(&net.names)
            .map_err(|e| format!("ping: {}: {}", args.dest, e.message()))?;
        let target = answer.map_or_else(|| dest.to_string(), |a| a.name);
        // Linux takes 0.0.0.0 as a destination to mean this host: iputils prints
        // `PING 0.0.0.0 (127.0.0.1)` and the replies come from 127.0.0.1.
        let dest = match dest.is_unspecified() {
            true => Ipv4Address::new(127, 0, 0, 1),
            false => dest,
        };
        let iface = net
            .route(dest)
            .ok_or_else(|| "ping: connect: Network is unreachable".to_string())?;
        let src = net
            .addr(iface)
            .ok_or_else(|| "ping: connect: Network is unreachable".to_string())?;
        // A reply is 28 + size bytes; an ICMP error quoting a request is 56 + size.
        let slots = 8;
        let size = args.size + 28;
        let rx = raw::PacketBuffer::new(
            vec![raw::PacketMetadata::EMPTY; slots],
            vec![0; (size + 28).clamp(128, 65535) * slots],
        );
        let tx = raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 4], vec![0; size * 4]);
        let socket = raw::Socket::new(Some(IpVersion::Ipv4), Some(IpProtocol::Icmp), rx, tx);
        let sock = net.add_socket(iface, socket);
        let ident = net.rng.next_u64() as u16;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "PING {target} ({dest}) {}({}) bytes of data.",
            args.size,
            args.size + 28
        );
        Ok(Ping {
            dest,
            src,
            ..Ping::fresh(args, target, sock, ident, now, out)
        })
    }

    /// `ping -6`: the interface the destination's scope, `-I` or the routes give, the
    /// source address the kernel would pick there, and iputils' IPv6 header line
    /// (`PING 2001:db8::2(2001:db8::2) 56 data bytes`).
    fn start6(args: PingArgs, now: Instant, net: &mut Net) -> Result<Ping, String> {
        let d = args.dest6.clone().ok_or("ping: no IPv6 destination")?;
        let named = d.scope.as_ref().or(d.iface.as_ref());
        let dev = match named {
            Some(n) => Some(net.iface_named(n).ok_or_else(|| match &d.scope {
                Some(_) => format!("ping: {}%{n}: Name or service not known", d.addr),
                None => format!("ping: SO_BINDTODEVICE {n}: No such device"),
            })?),
            None => None,
        };
        let unreachable = || "ping: connect: Network is unreachable".to_string();
        let iface = net.route6(d.addr, dev).ok_or_else(unreachable)?;
        let src = net.source6(iface, d.addr).ok_or_else(unreachable)?;
        let dev = net.ifaces[iface].config.name.clone();
        let slots = 8;
        let size = args.size + 48;
        let rx = raw::PacketBuffer::new(
            vec![raw::PacketMetadata::EMPTY; slots],
            vec![0; (size + 48).clamp(128, 65535) * slots],
        );
        let tx = raw::PacketBuffer::new(vec![raw::PacketMetadata::EMPTY; 4], vec![0; size * 4]);
        let socket = raw::Socket::new(Some(IpVersion::Ipv6), Some(IpProtocol::Icmpv6), rx, tx);
        let sock = net.add_socket(iface, socket);
        let ident = net.rng.next_u64() as u16;
        let target = match &d.scope {
            Some(s) => format!("{}%{s}", d.addr),
            None => d.addr.to_string(),
        };
        let from = match &d.iface {
            // iputils binds to the device and prints the source it set: none for a
            // link-local destination (`from ::`), the kernel's choice otherwise.
            Some(i) if d.addr.is_unicast_link_local() => format!(" from :: {i}:"),
            Some(i) => format!(" from {src} {i}:"),
            None => String::new(),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "PING {target}({target}){from} {} data bytes",
            args.size
        );
        Ok(Ping {
            v6: Some(V6 {
                dest: d.addr,
                src,
                dev,
            }),
            ..Ping::fresh(args, target, sock, ident, now, out)
        })
    }

    /// A ping about to send its first request, with nothing counted yet; IPv4's
    /// destination and source left unspecified for the caller to set.
    fn fresh(
        args: PingArgs,
        target: String,
        sock: SockRef,
        ident: u16,
        now: Instant,
        out: String,
    ) -> Ping {
        Ping {
            v6: None,
            dest: Ipv4Address::UNSPECIFIED,
            target,
            sock,
            src: Ipv4Address::UNSPECIFIED,
            ident,
            start: now,
            next_send: now,
            sent: 0,
            sent_at: Vec::new(),
            replied: Vec::new(),
            received: 0,
            duplicates: 0,
            errors: 0,
            rtt: RttStats::default(),
            last_send: now,
            last_activity: now,
            out,
            args,
        }
    }

    /// An echo request over IPv6: the header is filled here (smoltcp sends a raw IPv6
    /// socket's packet as it is), the ICMPv6 checksum over the pseudo-header.
    fn send6(&mut self, now: Instant, net: &mut Net) {
        let Some(v6) = &self.v6 else {
            return;
        };
        let seq = (self.sent + 1) as u16;
        let total = 40 + 8 + self.args.size;
        let socket = net.socket::<raw::Socket>(self.sock);
        let Ok(buf) = socket.send(total) else {
            return;
        };
        buf.fill(0);
        {
            let mut ip = Ipv6Packet::new_unchecked(&mut buf[..]);
            ip.set_version(6);
            ip.set_payload_len((total - 40) as u16);
            ip.set_next_header(IpProtocol::Icmpv6);
            ip.set_hop_limit(self.args.ttl);
            ip.set_src_addr(v6.src);
            ip.set_dst_addr(v6.dest);
        }
        let mut icmp = Icmpv6Packet::new_unchecked(&mut buf[40..]);
        icmp.set_msg_type(Icmpv6Message::EchoRequest);
        icmp.set_msg_code(0);
        icmp.set_echo_ident(self.ident);
        icmp.set_echo_seq_no(seq);
        fill_payload(icmp.payload_mut(), now);
        icmp.fill_checksum(&v6.src, &v6.dest);
        self.sent_one(now);
    }

    fn send(&mut self, now: Instant, net: &mut Net) {
        if self.v6.is_some() {
            return self.send6(now, net);
        }
        let seq = (self.sent + 1) as u16;
        let payload_len = self.args.size;
        let total = 20 + 8 + payload_len;
        let socket = net.socket::<raw::Socket>(self.sock);
        let Ok(buf) = socket.send(total) else {
            return;
        };
        buf.fill(0);
        // The IP header is filled here; smoltcp re-emits it from these fields.
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut buf[..]);
            ip.set_version(4);
            ip.set_header_len(20);
            ip.set_total_len(total as u16);
            ip.set_dont_frag(true);
            ip.set_hop_limit(self.args.ttl);
            ip.set_next_header(IpProtocol::Icmp);
            ip.set_src_addr(self.src);
            ip.set_dst_addr(self.dest);
            ip.fill_checksum();
        }
        let mut icmp = Icmpv4Packet::new_unchecked(&mut buf[20..]);
        icmp.set_msg_type(Icmpv4Message::EchoRequest);
        icmp.set_msg_code(0);
        icmp.set_echo_ident(self.ident);
        icmp.set_echo_seq_no(seq);
        fill_payload(icmp.data_mut(), now);
        icmp.fill_checksum();
        self.sent_one(now);
    }

    /// Records a request sent at `now`.
    fn sent_one(&mut self, now: Instant) {
        let idx = (self.sent % SEQ_SPACE as u64) as usize;
        self.sent += 1;
        match self.sent_at.get_mut(idx) {
            Some(at) => *at = now,
            None => self.sent_at.push(now),
        }
        if self.replied.len() <= idx / 64 {
            self.replied.push(0);
        }
        self.replied[idx / 64] &= !(1 << (idx % 64));
        self.last_send = now;
        self.last_activity = now;
    }

    fn receive(&mut self, now: Instant, net: &mut Net) {
        let mut pkt = [0u8; 1600];
        loop {
            let socket = net.socket::<raw::Socket>(self.sock);
            let n = match socket.recv_slice(&mut pkt) {
                Ok(n) => n,
                Err(raw::RecvError::Truncated) => continue,
                Err(_) => break,
            };
            self.handle(now, &pkt[..n], &net.names);
        }
    }

    fn handle(&mut self, now: Instant, data: &[u8], names: &Names) {
        if self.v6.is_some() {
            let (errors, replies) = (self.errors, self.received + self.duplicates);
            self.handle6(now, data);
            if self.errors != errors || self.received + self.duplicates != replies {
                self.last_activity = now;
            }
            return;
        }
        let Ok(ip) = Ipv4Packet::new_checked(data) else {
            return;
        };
        let Ok(icmp) = Icmpv4Packet::new_checked(ip.payload()) else {
            return;
        };
        let errors_before = self.errors;
        let replies_before = self.received + self.duplicates;
        self.match_reply(now, &ip, &icmp, names);
        if self.errors != errors_before || self.received + self.duplicates != replies_before {
            self.last_activity = now;
        }
    }

    /// An IPv6 reply or error about one of our requests.
    fn handle6(&mut self, now: Instant, data: &[u8]) {
        let Some(v6) = &self.v6 else {
            return;
        };
        let Ok(ip) = Ipv6Packet::new_checked(data) else {
            return;
        };
        if ip.next_header() != IpProtocol::Icmpv6 {
            return;
        }
        let Ok(icmp) = Icmpv6Packet::new_checked(ip.payload()) else {
            return;
        };
        // A link-local address is printed with its interface, as iputils does.
        let from = match ip.src_addr().is_unicast_link_local() {
            true => format!("{}%{}", ip.src_addr(), v6.dev),
            false => ip.src_addr().to_string(),
        };
        match icmp.msg_type() {
            Icmpv6Message::EchoReply
                if icmp.echo_ident() == self.ident && ip.src_addr() == v6.dest =>
            {
                let (seq, hlim) = (icmp.echo_seq_no(), ip.hop_limit());
                self.reply(now, seq, (ip.payload().len(), &from, hlim));
            }
            Icmpv6Message::DstUnreachable
            | Icmpv6Message::TimeExceeded
            | Icmpv6Message::PktTooBig
            | Icmpv6Message::ParamProblem => {
                // The error quotes our request: its IPv6 header, then the echo header.
                let quote = icmp.payload();
                if quote.len() < 48 {
                    return;
                }
                let inner = Ipv6Packet::new_unchecked(quote);
                if inner.dst_addr() != v6.dest || inner.next_header() != IpProtocol::Icmpv6 {
                    return;
                }
                let ident = u16::from_be_bytes([quote[44], quote[45]]);
                let seq = u16::from_be_bytes([quote[46], quote[47]]);
                if ident != self.ident {
                    return;
                }
                self.errors += 1;
                let what = match icmp.msg_type() {
                    Icmpv6Message::PktTooBig => {
                        format!("Packet too big: mtu={}", icmp.pkt_too_big_mtu())
                    }
                    Icmpv6Message::ParamProblem => {
                        let what = match icmp.msg_code() {
                            0 => "Wrong header field ",
                            1 => "Unknown header ",
                            2 => "Unknown option ",
                            _ => "code ",
                        };
                        format!("Parameter problem: {what}at {}", icmp.param_problem_ptr())
                    }
                    other => describe_error6(other, icmp.msg_code()),
                };
                let _ = writeln!(self.out, "From {from} icmp_seq={seq} {what}");
            }
            _ => {}
        }
    }

    /// A reply to request `seq`: counted once (a second is a duplicate), printed as
    /// `64 bytes from ADDR: icmp_seq=1 ttl=64 time=0.040 ms`.
    fn reply(&mut self, now: Instant, seq: u16, (len, from, ttl): (usize, &str, u8)) {
        let idx = usize::from(seq.wrapping_sub(1));
        let Some(&at) = self.sent_at.get(idx) else {
            return;
        };
        let rtt = now.saturating_sub(at);
        let bit = 1 << (idx % 64);
        let dup = self.replied[idx / 64] & bit != 0;
        if dup {
            self.duplicates += 1;
        } else {
            self.replied[idx / 64] |= bit;
            self.received += 1;
            self.rtt.add(rtt.nanos() as f64 / 1000.0);
        }
        if !self.args.quiet {
            let _ = writeln!(
                self.out,
                "{len} bytes from {from}: icmp_seq={seq} ttl={ttl} time={}{}",
                fmt_rtt(rtt),
                if dup { " (DUP!)" } else { "" }
            );
        }
    }

    /// iputils' `pr_addr`: an address typed as such is printed bare; after a name, the
    /// address's own name comes first when the resolver knows one.
    fn pr_addr(&self, ip: Ipv4Address, names: &Names) -> String {
        match (&self.args.dest, names.reverse(ip)) {
            (Dest::Name(_), Some(name)) => format!("{name} ({ip})"),
            _ => ip.to_string(),
        }
    }

    fn match_reply(
        &mut self,
        now: Instant,
        ip: &Ipv4Packet<&[u8]>,
        icmp: &Icmpv4Packet<&[u8]>,
        names: &Names,
    ) {
        match icmp.msg_type() {
            Icmpv4Message::EchoReply
                if icmp.echo_ident() == self.ident && ip.src_addr() == self.dest =>
            {
                let from = self.pr_addr(ip.src_addr(), names);
                let (seq, ttl) = (icmp.echo_seq_no(), ip.hop_limit());
                self.reply(now, seq, (ip.payload().len(), &from, ttl));
            }
            Icmpv4Message::DstUnreachable | Icmpv4Message::TimeExceeded => {
                // The error quotes our request: its IP header and at least 8 bytes after it,
                // usually not the whole datagram, so the quote's length fields overstate it.
                let quote = icmp.data();
                if quote.len() < 20 {
                    return;
                }
                let inner = Ipv4Packet::new_unchecked(quote);
                if inner.dst_addr() != self.dest || inner.next_header() != IpProtocol::Icmp {
                    return;
                }
                let hl = usize::from(inner.header_len());
                let Some(quoted) = quote.get(hl..) else {
                    return;
                };
                if quoted.len() < 8 {
                    return;
                }
                let ident = u16::from_be_bytes([quoted[4], quoted[5]]);
                let seq = u16::from_be_bytes([quoted[6], quoted[7]]);
                if ident != self.ident {
                    return;
                }
                self.errors += 1;
                let what = describe_error(icmp);
                let from = self.pr_addr(ip.src_addr(), names);
                let _ = writeln!(self.out, "From {from} icmp_seq={seq} {what}");
            }
            _ => {}
        }
    }

    fn done(&self, now: Instant) -> bool {
        if self.sent < self.args.count {
            return false;
        }
        if self.received + self.errors >= self.args.count {
            return true;
        }
        now >= self.last_send + self.linger()
    }

    /// After the last request: twice the slowest reply if any came, else `-W`.
    fn linger(&self) -> Duration {
        let max_us = self.rtt.max;
        if self.received > 0 {
            Duration::from_nanos((2.0 * max_us * 1000.0) as u64)
                .max(Duration::from_millis(10))
                .min(self.args.wait)
        } else {
            self.args.wait
        }
    }

    fn summary(&mut self, now: Instant) -> CmdResult {
        let mut out = std::mem::take(&mut self.out);
        let _ = now;
        let elapsed = self
            .last_activity
            .saturating_sub(self.start)
            .as_millis_f64()
            .round() as u64;
        let loss = if self.sent == 0 {
            0.0
        } else {
            (self.sent - self.received) as f64 * 100.0 / self.sent as f64
        };
        let _ = writeln!(out, "\n--- {} ping statistics ---", self.target);
        let dups = if self.duplicates > 0 {
            format!(", +{} duplicates", self.duplicates)
        } else {
            String::new()
        };
        let errs = if self.errors > 0 {
            format!(", +{} errors", self.errors)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} packets transmitted, {} received{dups}{errs}, {}% packet loss, time {elapsed}ms",
            self.sent,
            self.received,
            super::fmt_g(loss)
        );
        // iputils ends the statistics with a newline after the rtt line, or alone (an
        // empty line) when no reply came.
        if self.rtt.n == 0 {
            out.push('\n');
        }
        if self.rtt.n > 0 {
            let RttStats { min, max, .. } = self.rtt;
            let n = self.rtt.n as f64;
            let avg = self.rtt.sum / n;
            let var = self.rtt.sum_sq / n - avg * avg;
            let mdev = var.max(0.0).sqrt();
            let _ = writeln!(
                out,
                "rtt min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms",
                min / 1000.0,
                avg / 1000.0,
                max / 1000.0,
                mdev / 1000.0
            );
        }
        CmdResult {
            exit_code: if self.received > 0 { 0 } else { 1 },
            output: out,
            transmitted: Some(self.sent),
            received: Some(self.received),
            ..CmdResult::default()
        }
    }
}

/// Sequence numbers are 16 bits: iputils' duplicate table covers them all
/// (`MAX_DUP_CHK`), and so do the send times kept here.
const SEQ_SPACE: usize = 1 << 16;

/// min/avg/max/mdev need no list of round-trip times: iputils keeps `tmin`, `tmax`, `tsum`
/// and `tsum2`. In microseconds, summed in arrival order.
#[derive(Clone, Copy, Debug, PartialEq)]
struct RttStats {
    n: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Default for RttStats {
    fn default() -> RttStats {
        RttStats {
            n: 0,
            sum: 0.0,
            sum_sq: 0.0,
            min: f64::MAX,
            max: 0.0,
        }
    }
}

impl RttStats {
    fn add(&mut self, us: f64) {
        self.n += 1;
        self.sum += us;
        self.sum_sq += us * us;
        self.min = self.min.min(us);
        self.max = self.max.max(us);
    }
}

/// iputils' RTT precision and rounding: three decimals under 1 ms, fewer as it grows.
fn fmt_rtt(rtt: Duration) -> String {
    let us = rtt.nanos() / 1000;
    if us >= 100_000 - 50 {
        format!("{} ms", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        format!("{}.{} ms", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1_000 {
        format!("{}.{:02} ms", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        format!("0.{:03} ms", us)
    }
}

/// iputils' words for an ICMPv6 error (`print_icmp` of ping6_common.c).
fn describe_error6(ty: Icmpv6Message, code: u8) -> String {
    match ty {
        Icmpv6Message::TimeExceeded => match code {
            0 => "Time exceeded: Hop limit".into(),
            1 => "Time exceeded: Defragmentation failure".into(),
            _ => format!("Time exceeded: code {code}"),
        },
        _ => {
            let why = match code {
                0 => "No route".into(),
                1 => "Administratively prohibited".into(),
                2 => "Beyond scope of source address".into(),
                3 => "Address unreachable".into(),
                4 => "Port unreachable".into(),
                _ => format!("Unknown code {code}"),
            };
            format!("Destination unreachable: {why}")
        }
    }
}

/// iputils' echo data: a timeval first (seconds, microseconds), then bytes 0x10, 0x11, ...
fn fill_payload(data: &mut [u8], now: Instant) {
    let since = now.since_start();
    if data.len() >= 16 {
        data[..8].copy_from_slice(&(since.nanos() / 1_000_000_000).to_le_bytes());
        data[8..16].copy_from_slice(&((since.nanos() % 1_000_000_000) / 1000).to_le_bytes());
    }
    for (i, b) in data.iter_mut().enumerate().skip(16) {
        *b = i as u8;
    }
}

fn describe_error(icmp: &Icmpv4Packet<&[u8]>) -> String {
    let code = icmp.msg_code();
    match icmp.msg_type() {
        Icmpv4Message::TimeExceeded => match Icmpv4TimeExceeded::from(code) {
            Icmpv4TimeExceeded::FragExpired => "Frag reassembly time exceeded".into(),
            _ => "Time to live exceeded".into(),
        },
        _ => match Icmpv4DstUnreachable::from(code) {
            Icmpv4DstUnreachable::NetUnreachable => "Destination Net Unreachable".into(),
            Icmpv4DstUnreachable::HostUnreachable => "Destination Host Unreachable".into(),
            Icmpv4DstUnreachable::ProtoUnreachable => "Destination Protocol Unreachable".into(),
            Icmpv4DstUnreachable::PortUnreachable => "Destination Port Unreachable".into(),
            Icmpv4DstUnreachable::FragRequired => {
                let raw = icmp.as_ref();
                let mtu = u16::from_be_bytes([raw[6], raw[7]]);
                format!("Frag needed and DF set (mtu = {mtu})")
            }
            Icmpv4DstUnreachable::NetProhibited => "Destination Net Prohibited".into(),
            Icmpv4DstUnreachable::HostProhibited => "Destination Host Prohibited".into(),
            Icmpv4DstUnreachable::CommProhibited => "Packet filtered".into(),
            _ => format!("Dest Unreachable, Bad Code: {code}"),
        },
    }
}

impl App for Ping {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        self.receive(now, net);
        while self.sent < self.args.count && now >= self.next_send {
            self.send(now, net);
            self.next_send += self.args.interval;
        }
        if self.done(now) {
            net.remove(self.sock);
            return Some(self.summary(now));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.sent < self.args.count {
            Some(self.next_send)
        } else {
            Some(self.last_send + self.linger())
        }
    }

    fn state_bytes(&self) -> usize {
        self.sent_at.capacity() * std::mem::size_of::<Instant>() + self.replied.capacity() * 8
    }

    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult {
        net.remove(self.sock);
        let mut r = self.summary(now);
        r.stopped = true;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_precision_follows_iputils() {
        assert_eq!(fmt_rtt(Duration::from_micros(52)), "0.052 ms");
        assert_eq!(fmt_rtt(Duration::from_micros(2_345)), "2.35 ms");
        assert_eq!(fmt_rtt(Duration::from_micros(23_456)), "23.5 ms");
        assert_eq!(fmt_rtt(Duration::from_micros(123_456)), "123 ms");
    }
}
