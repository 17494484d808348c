//! `nc`, as netcat-openbsd behaves: a TCP or UDP client or server that sends the step's
//! `input` and prints what it receives. `-z` only tests that a TCP port accepts connections.

use std::fmt::Write;

use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpEndpoint, Ipv4Address};

use super::tcp::{self as tcpx, Client, Conn};
use super::{App, Done, Held};
use crate::host::cmd::{Dest, NcArgs};
use crate::host::net::{Net, SockRef};
use crate::host::resolve::NameError;
use crate::sim::CmdResult;
use crate::time::Instant;
use crate::wire::service_name;

const BUF: usize = 64 * 1024;
/// netcat-openbsd's socket is its first descriptor, and `nc -l` listens with a backlog of
/// 1; the connection it accepts is the next descriptor.
const FD: u32 = 3;
const BACKLOG: u32 = 1;

pub fn start(
    args: NcArgs,
    input: &str,
    now: Instant,
    net: &mut Net,
) -> Result<Box<dyn App>, String> {
    let input = input.as_bytes().to_vec();
    // getaddrinfo for the family asked for: an address of the other family is refused;
    // a name has no IPv6 address here (names resolve to IPv4 only).
    let family_error = |host: String, e: &str| {
        let msg = format!(
            "nc: getaddrinfo for host \"{host}\" port {}: {e}\n",
            args.port
        );
        Box::new(Done::failed(1, msg)) as Box<dyn App>
    };
    let unsupported = "Address family for hostname not supported";
    match (&args.dest6, &args.host, args.family, args.listen) {
        (Some(_), _, Some(4), false) => return Ok(family_error(target6(&args), unsupported)),
        // getaddrinfo reads the zone as an interface name: an unknown one fails it.
        (Some(d), _, _, false)
            if d.scope
                .as_ref()
                .is_some_and(|z| net.iface_named(z).is_none()) =>
        {
            return Ok(family_error(target6(&args), "Name or service not known"));
        }
        (None, Some(Dest::Addr(a)), Some(6), false) => {
            return Ok(family_error(a.to_string(), unsupported));
        }
        (None, Some(Dest::Name(n)), Some(6), false) => {
            return Ok(family_error(n.clone(), "Name or service not known"));
        }
        _ => {}
    }
    // A client resolves its host first; `-n` takes addresses only (AI_NUMERICHOST).
    let dst = match (&args.host, args.listen) {
        (Some(host), false) => {
            let resolved = match host {
                Dest::Name(_) if args.numeric => Err(NameError::NotFound),
                _ => host.resolve(&net.names).map(|(ip, _)| ip),
            };
            match resolved {
                Ok(ip) => Some(ip),
                Err(e) => {
                    let msg = format!(
                        "nc: getaddrinfo for host \"{host}\" port {}: {}\n",
                        args.port,
                        e.message()
                    );
                    return Ok(Box::new(Done::failed(1, msg)));
                }
            }
        }
        _ => None,
    };
    Ok(match (args.listen, args.udp) {
        (false, false) => Box::new(TcpClient::start(args, dst, input, now, net)?),
        // `-6 -l` binds `[::]`, which takes both families (netcat sets no IPV6_V6ONLY);
        // `-l` binds 0.0.0.0, as getaddrinfo's first passive answer is.
        (true, false) => Box::new(TcpServer {
            listeners: tcpx::listen_all_family(net, args.port, BUF, BUF, args.family == Some(6)),
            conn: None,
            input,
            sent: 0,
            received: Vec::new(),
            args,
        }),
        (_, true) => Box::new(Udp::start(args, dst, input, now, net)?),
    })
}

/// An IPv6 host as typed, with its zone.
fn target6(args: &NcArgs) -> String {
    match &args.dest6 {
        Some(d) => match &d.scope {
            Some(z) => format!("{}%{z}", d.addr),
            None => d.addr.to_string(),
        },
        None => String::new(),
    }
}

fn text(received: &[u8]) -> String {
    String::from_utf8_lossy(received).into_owned()
}

struct TcpClient {
    args: NcArgs,
    conn: Option<Client>,
    error: Option<String>,
    input: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
    start: Instant,
    input_done_at: Option<Instant>,
    last_activity: Instant,
    out: String,
}

impl TcpClient {
    fn start(
        args: NcArgs,
        dst: Option<Ipv4Address>,
        input: Vec<u8>,
        now: Instant,
        net: &mut Net,
    ) -> Result<TcpClient, String> {
        let connected = match &args.dest6 {
            Some(d) => {
                // An unknown zone was refused by `start`.
                let dev = d.scope.as_ref().and_then(|z| net.iface_named(z));
                Client::connect6(net, d.addr, dev, args.port, args.source_port, BUF, BUF)
            }
            None => {
                let host = dst.ok_or("nc: missing hostname")?;
                Client::connect(net, host, args.port, args.source_port, BUF, BUF)
            }
        };
        let (conn, error) = match connected {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        Ok(TcpClient {
            args,
            conn,
            error,
            input,
            sent: 0,
            received: Vec::new(),
            start: now,
            input_done_at: None,
            last_activity: now,
            out: String::new(),
        })
    }

    /// The host as typed: netcat names it so in its messages.
    fn target(&self) -> String {
        if self.args.dest6.is_some() {
            return target6(&self.args);
        }
        self.args
            .host
            .as_ref()
            .map(|h| h.to_string())
            .unwrap_or_default()
    }

    fn finish(&mut self, net: &mut Net, exit_code: i32, tail: &str) -> CmdResult {
        if let Some(c) = self.conn.take() {
            net.orphan(c.sock);
        }
        let mut output = std::mem::take(&mut self.out);
        output.push_str(&text(&self.received));
        output.push_str(tail);
        CmdResult {
            exit_code,
            output,
            bytes: Some(self.received.len() as u64),
            ..CmdResult::default()
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let quit = self
            .input_done_at
            .zip(self.args.quit_after)
            .map(|(t, q)| t + q);
        let idle = self.args.wait.map(|w| self.last_activity + w);
        match (quit, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl App for TcpClient {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        let (host, port) = (self.target(), self.args.port);
        if let Some(e) = self.error.take() {
            let msg = format!("nc: connect to {host} port {port} (tcp) failed: {e}\n");
            return Some(self.finish(net, 1, &msg));
        }
        let conn = self.conn.as_mut()?;
        let sock = conn.sock;
        let state = conn.state(net);
        match state {
            Conn::Connecting => {
                if self.args.wait.is_some_and(|w| now >= self.start + w) {
                    let msg = format!(
                        "nc: connect to {host} port {port} (tcp) timed out: Operation now in progress\n"
                    );
                    return Some(self.finish(net, 1, &msg));
                }
                return None;
            }
            Conn::Refused => {
                let msg =
                    format!("nc: connect to {host} port {port} (tcp) failed: Connection refused\n");
                return Some(self.finish(net, 1, &msg));
            }
            _ => {}
        }
        if self.out.is_empty() && self.args.verbose {
            let svc = service_name(port, false).unwrap_or("*");
            // netcat adds the address when the host was a name (and not under -n).
            let addr = match &self.args.host {
                Some(Dest::Name(_)) => format!(" ({})", conn.remote.addr),
                _ => String::new(),
            };
            let _ = writeln!(
                self.out,
                "Connection to {host}{addr} {port} port [tcp/{svc}] succeeded!"
            );
        }
        if self.args.zero_io {
            net.socket::<tcp::Socket>(sock).close();
            return Some(self.finish(net, 0, ""));
        }
        let before = (self.sent, self.received.len());
        tcpx::push(net, sock, &self.input, &mut self.sent);
        tcpx::drain(net, sock, &mut self.received, 1 << 20);
        if (self.sent, self.received.len()) != before {
            self.last_activity = now;
        }
        if self.sent == self.input.len() && self.input_done_at.is_none() {
            self.input_done_at = Some(now);
            if self.args.shutdown_after_input {
                net.socket::<tcp::Socket>(sock).close();
            }
        }
        if state == Conn::PeerClosed || self.deadline().is_some_and(|d| now >= d) {
            net.socket::<tcp::Socket>(sock).close();
            return Some(self.finish(net, 0, ""));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.error.is_some() {
            return Some(self.start);
        }
        if self.conn.as_ref().is_some_and(|c| !c.was_established()) {
            return self.args.wait.map(|w| self.start + w);
        }
        self.deadline()
    }

    fn held(&self, out: &mut Vec<Held>) {
        out.extend(self.conn.as_ref().map(|c| Held::socket(c.sock, FD)));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        if let Some(c) = &self.conn {
            super::tcp::abort(net, c.sock);
        }
        let mut r = self.finish(net, 130, "");
        r.stopped = true;
        r
    }
}

struct TcpServer {
    args: NcArgs,
    listeners: Vec<SockRef>,
    conn: Option<SockRef>,
    input: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
}

impl App for TcpServer {
    fn iface_up(&mut self, net: &mut Net, iface: usize) {
        // Still waiting for its connection, or serving more (`-k`).
        let dual = self.args.family == Some(6);
        if (self.conn.is_none() || self.args.keep_listening)
            && let Some(l) = net.listen_family(iface, self.args.port, BUF, BUF, dual)
        {
            self.listeners.push(l);
        }
    }

    fn poll(&mut self, _now: Instant, net: &mut Net) -> Option<CmdResult> {
        if self.conn.is_none() {
            let i = self
                .listeners
                .iter()
                .position(|&l| !net.socket::<tcp::Socket>(l).is_listening())?;
            let sock = self.listeners.swap_remove(i);
            if self.args.keep_listening {
                let dual = self.args.family == Some(6);
                let fresh = net.listen_family(sock.iface, self.args.port, BUF, BUF, dual);
                if let Some(fresh) = fresh {
                    self.listeners.push(fresh);
                }
            } else {
                for l in self.listeners.drain(..) {
                    net.remove(l);
                }
            }
            self.conn = Some(sock);
            self.sent = 0;
        }
        let sock = self.conn?;
        tcpx::push(net, sock, &self.input, &mut self.sent);
        tcpx::drain(net, sock, &mut self.received, 1 << 20);
        let s = net.socket::<tcp::Socket>(sock);
        if tcpx::peer_closed(s) {
            s.close();
            net.orphan(sock);
            self.conn = None;
            if !self.args.keep_listening {
                return Some(CmdResult {
                    exit_code: 0,
                    output: text(&self.received),
                    bytes: Some(self.received.len() as u64),
                    ..CmdResult::default()
                });
            }
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn held(&self, out: &mut Vec<Held>) {
        out.extend(
            self.listeners
                .iter()
                .map(|&l| Held::listener(l, FD, BACKLOG)),
        );
        out.extend(self.conn.map(|c| Held::socket(c, FD + 1)));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        for l in self.listeners.drain(..) {
            net.remove(l);
        }
        if let Some(s) = self.conn.take() {
            super::tcp::abort(net, s);
            net.orphan(s);
        }
        CmdResult {
            exit_code: 0,
            output: text(&self.received),
            bytes: Some(self.received.len() as u64),
            stopped: true,
            ..CmdResult::default()
        }
    }
}

/// UDP client (`nc -u HOST PORT`) or server (`nc -lu PORT`).
struct Udp {
    args: NcArgs,
    sock: SockRef,
    input: Vec<u8>,
    input_sent: bool,
    peer: Option<IpEndpoint>,
    received: Vec<u8>,
    datagrams: u64,
    start: Instant,
    last_activity: Instant,
}

impl Udp {
    fn start(
        args: NcArgs,
        dst: Option<Ipv4Address>,
        input: Vec<u8>,
        now: Instant,
        net: &mut Net,
    ) -> Result<Udp, String> {
        let unreachable = "nc: connect: Network is unreachable";
        let (iface, port, peer, src) = match (args.listen, dst, &args.dest6) {
            (false, _, Some(d)) => {
                let dev = d.scope.as_ref().and_then(|z| net.iface_named(z));
                let iface = net.route6(d.addr, dev).ok_or(unreachable)?;
                let src = net.source6(iface, d.addr).ok_or(unreachable)?;
                let port = args.source_port.unwrap_or_else(|| net.ephemeral_port());
                let peer = IpEndpoint::new(d.addr.into(), args.port);
                (iface, port, Some(peer), Some(src.into()))
            }
            (false, Some(h), None) => {
                let iface = net.route(h).ok_or(unreachable)?;
                let port = args.source_port.unwrap_or_else(|| net.ephemeral_port());
                (
                    iface,
                    port,
                    Some(IpEndpoint::new(h.into(), args.port)),
                    None,
                )
            }
            _ => {
                if net.ifaces.is_empty() {
                    return Err("nc: bind: Cannot assign requested address".into());
                }
                (0, args.port, None, None)
            }
        };
        fn socket() -> udp::Socket<'static> {
            let buffer =
                || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 32], vec![0; BUF]);
            udp::Socket::new(buffer(), buffer())
        }
        // A listener's buffers come with the first datagram (`Net::bind_udp`).
        let sock = match peer {
            Some(_) => {
                let mut s = socket();
                s.bind(smoltcp::wire::IpListenEndpoint { addr: src, port })
                    .map_err(|e| format!("nc: bind: {e}"))?;
                net.add_socket(iface, s)
            }
            None => {
                let sock =
                    (net.bind_udp(iface, port, socket)).map_err(|e| format!("nc: bind: {e}"))?;
                // `-6 -l -u` binds `[::]`, which takes both families.
                if args.family == Some(6) {
                    net.dual.push(sock);
                }
                sock
            }
        };
        Ok(Udp {
            args,
            sock,
            input,
            input_sent: false,
            peer,
            received: Vec::new(),
            datagrams: 0,
            start: now,
            last_activity: now,
        })
    }

    fn result(&self, stopped: bool) -> CmdResult {
        CmdResult {
            exit_code: 0,
            output: text(&self.received),
            received: Some(self.datagrams),
            bytes: Some(self.received.len() as u64),
            stopped,
            ..CmdResult::default()
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let quit = self.args.quit_after.map(|q| self.start + q);
        let idle = self.args.wait.map(|w| self.last_activity + w);
        match (quit, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl App for Udp {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        let s = net.socket::<udp::Socket>(self.sock);
        let mut buf = [0u8; 2048];
        while let Ok((n, meta)) = s.recv_slice(&mut buf) {
            self.received.extend_from_slice(&buf[..n]);
            self.datagrams += 1;
            self.last_activity = now;
            if self.peer.is_none() {
                self.peer = Some(meta.endpoint);
            }
        }
        if !self.input_sent
            && !self.input.is_empty()
            && let Some(peer) = self.peer
            && s.send_slice(&self.input, peer).is_ok()
        {
            self.input_sent = true;
            self.last_activity = now;
        }
        if self.deadline().is_some_and(|d| now >= d) {
            net.remove(self.sock);
            return Some(self.result(false));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        self.deadline()
    }

    /// A client is connected to its peer, and a listener connects to the first sender, as
    /// netcat-openbsd does (`connect` after the first `recvfrom`).
    fn held(&self, out: &mut Vec<Held>) {
        out.push(Held {
            peer: self.peer,
            ..Held::socket(self.sock, FD)
        });
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        net.remove(self.sock);
        self.result(true)
    }
}
