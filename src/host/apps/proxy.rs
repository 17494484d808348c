//! `docker-proxy -proto tcp|udp -host-ip IP -host-port P -container-ip IP -container-port P`:
//! Docker's userland proxy for one published port. For TCP it accepts on the host's port and
//! opens its own connection to the container, from the address the host routes from (the
//! bridge's gateway address), then copies bytes both ways. A half-close is passed on; a
//! refused container connection resets the client. For UDP each client address gets its own
//! socket toward the container, forgotten after 90 s without traffic
//! (`cmd/docker-proxy/udp_proxy_linux.go`), and replies go back from the host's port.
//!
//! It serves what DNAT does not reach: connections from the host itself (127.0.0.1:P, its
//! own addresses) and from containers to the host's address.

use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, Ipv4Address};

use super::tcp::{self as tcpx, Client, Conn};
use super::{App, Held};
use crate::host::net::{Net, SockRef};
use crate::sim::CmdResult;
use crate::time::Instant;

const BUF: usize = 64 * 1024;
/// The listening socket dockerd hands over (`-use-listen-fd`: descriptor 3), Go's
/// `somaxconn` backlog, and the first descriptor after Go's poller (epoll 4, eventfd 5).
const LISTEN_FD: u32 = 3;
const BACKLOG: u32 = 4096;
const FIRST_FD: u32 = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyArgs {
    pub udp: bool,
    pub host_ip: IpAddress,
    pub host_port: u16,
    pub container_ip: IpAddress,
    pub container_port: u16,
}

/// Parses docker-proxy's flags.
pub fn parse(args: &[String]) -> Result<ProxyArgs, String> {
    let (mut host_ip, mut host_port, mut ctr_ip, mut ctr_port) = (None, None, None, None);
    let mut udp = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = || format!("docker-proxy: flag needs an argument: {flag}");
        match flag.trim_start_matches('-') {
            "proto" => match it.next().map(String::as_str) {
                Some("tcp") => udp = false,
                Some("udp") => udp = true,
                Some(p) => return Err(format!("docker-proxy: unsupported protocol {p}")),
                None => return Err(value()),
            },
            "host-ip" => host_ip = Some(ip(it.next().ok_or_else(value)?)?),
            "host-port" => host_port = Some(port(it.next().ok_or_else(value)?)?),
            "container-ip" => ctr_ip = Some(ip(it.next().ok_or_else(value)?)?),
            "container-port" => ctr_port = Some(port(it.next().ok_or_else(value)?)?),
            "use-listen-fd" => {}
            other => {
                return Err(format!(
                    "docker-proxy: flag provided but not defined: -{other}"
                ));
            }
        }
    }
    match (host_port, ctr_ip, ctr_port) {
        (Some(host_port), Some(container_ip), Some(container_port)) => Ok(ProxyArgs {
            udp,
            host_ip: host_ip.unwrap_or(IpAddress::Ipv4(Ipv4Address::UNSPECIFIED)),
            host_port,
            container_ip,
            container_port,
        }),
        _ => Err(
            "usage: docker-proxy -proto tcp|udp -host-ip IP -host-port P \
                  -container-ip IP -container-port P"
                .into(),
        ),
    }
}

fn ip(s: &str) -> Result<IpAddress, String> {
    s.parse()
        .map_err(|_| format!("docker-proxy: invalid IP address: {s}"))
}

/// The interface holding `ip` (an IPv4 address the stack answers on its first interface
/// counts there).
fn iface_of(net: &Net, ip: IpAddress) -> Option<usize> {
    match ip {
        IpAddress::Ipv4(ip) => net
            .iface_of(ip)
            .or_else(|| (net.addr(0) == Some(ip)).then_some(0)),
        IpAddress::Ipv6(ip) => net.iface_of6(ip),
    }
}

fn port(s: &str) -> Result<u16, String> {
    s.parse()
        .map_err(|_| format!("docker-proxy: invalid port: {s}"))
}

/// One proxied connection: the client's side and the proxy's own to the container.
struct Pair {
    front: SockRef,
    back: Client,
    /// The descriptors of the accepted connection and of the proxy's own.
    fds: (u32, u32),
    /// Bytes read from one side and not yet written to the other.
    to_back: Vec<u8>,
    to_front: Vec<u8>,
    front_done: bool,
    back_done: bool,
}

pub struct TcpProxy {
    args: ProxyArgs,
    listeners: Vec<SockRef>,
    pairs: Vec<Pair>,
    connections: u64,
}

impl TcpProxy {
    pub fn start(args: ProxyArgs, net: &mut Net) -> Result<TcpProxy, String> {
        let v6 = args.host_ip.version() == smoltcp::wire::IpVersion::Ipv6;
        let listeners = if args.host_ip.is_unspecified() && v6 {
            // `[::]`, IPv6-only: every interface with IPv6 alone (a router's stack holds
            // its IPv6 addresses apart from its IPv4 ones).
            (0..net.ifaces.len())
                .filter_map(|i| net.listen_v6only(i, args.host_port, BUF, BUF))
                .collect()
        } else if args.host_ip.is_unspecified() {
            // 0.0.0.0 takes IPv4 alone.
            tcpx::listen_all_family(net, args.host_port, BUF, BUF, false)
        } else {
            let iface = iface_of(net, args.host_ip)
                .ok_or("docker-proxy: listen: cannot assign requested address")?;
            tcpx::listen_on(net, iface, args.host_port, BUF, BUF)
                .into_iter()
                .collect()
        };
        if listeners.is_empty() {
            return Err("docker-proxy: listen: cannot assign requested address".into());
        }
        Ok(TcpProxy {
            args,
            listeners,
            pairs: Vec::new(),
            connections: 0,
        })
    }

    fn accept(&mut self, net: &mut Net) {
        for l in 0..self.listeners.len() {
            let sock = self.listeners[l];
            if net.socket::<tcp::Socket>(sock).is_listening() {
                continue;
            }
            if let Some(fresh) = tcpx::listen_on(net, sock.iface, self.args.host_port, BUF, BUF) {
                self.listeners[l] = fresh;
            }
            let port = self.args.container_port;
            let back = match self.args.container_ip {
                IpAddress::Ipv4(ip) => Client::connect(net, ip, port, None, BUF, BUF),
                IpAddress::Ipv6(ip) => Client::connect6(net, ip, None, port, None, BUF, BUF),
            };
            match back {
                Ok(back) => {
                    self.connections += 1;
                    let used = self.pairs.iter().flat_map(|p| [p.fds.0, p.fds.1]);
                    let front_fd = super::lowest_free_fd(FIRST_FD, used.clone());
                    let back_fd = super::lowest_free_fd(front_fd + 1, used);
                    self.pairs.push(Pair {
                        front: sock,
                        back,
                        fds: (front_fd, back_fd),
                        to_back: Vec::new(),
                        to_front: Vec::new(),
                        front_done: false,
                        back_done: false,
                    });
                }
                Err(_) => {
                    tcpx::abort(net, sock);
                    net.orphan(sock);
                }
            }
        }
    }

    /// Copies what one pair can; false once both sides are finished.
    fn relay(p: &mut Pair, net: &mut Net) -> bool {
        match p.back.state(net) {
            Conn::Connecting => return true,
            Conn::Refused => {
                tcpx::abort(net, p.front);
                net.orphan(p.front);
                net.orphan(p.back.sock);
                return false;
            }
            Conn::Established | Conn::PeerClosed => {}
        }
        let (front, back) = (p.front, p.back.sock);
        copy(net, front, back, &mut p.to_back, &mut p.front_done);
        copy(net, back, front, &mut p.to_front, &mut p.back_done);
        let front_gone = !net.socket::<tcp::Socket>(front).is_open();
        let back_gone = !net.socket::<tcp::Socket>(back).is_open();
        if front_gone && back_gone || p.front_done && p.back_done {
            net.orphan(front);
            net.orphan(back);
            return false;
        }
        true
    }
}

/// Moves bytes from `from` to `to` through `pending`; when `from`'s peer has closed and all
/// is written, closes `to` (the half-close goes on) and sets `done`.
fn copy(net: &mut Net, from: SockRef, to: SockRef, pending: &mut Vec<u8>, done: &mut bool) {
    if pending.len() < BUF {
        tcpx::drain(net, from, pending, BUF);
    }
    let mut sent = 0;
    tcpx::push(net, to, pending, &mut sent);
    pending.drain(..sent);
    if !*done && pending.is_empty() && tcpx::peer_closed(net.socket::<tcp::Socket>(from)) {
        net.socket::<tcp::Socket>(to).close();
        *done = true;
    }
}

impl App for TcpProxy {
    fn poll(&mut self, _now: Instant, net: &mut Net) -> Option<CmdResult> {
        self.accept(net);
        self.pairs.retain_mut(|p| TcpProxy::relay(p, net));
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn held(&self, out: &mut Vec<Held>) {
        let listeners = self.listeners.iter();
        out.extend(listeners.map(|&l| Held::listener(l, LISTEN_FD, BACKLOG)));
        for p in &self.pairs {
            out.push(Held::socket(p.front, p.fds.0));
            out.push(Held::socket(p.back.sock, p.fds.1));
        }
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        for l in self.listeners.drain(..) {
            net.remove(l);
        }
        for p in self.pairs.drain(..) {
            tcpx::abort(net, p.front);
            net.orphan(p.front);
            tcpx::abort(net, p.back.sock);
            net.orphan(p.back.sock);
        }
        CmdResult {
            exit_code: 0,
            output: String::new(),
            stopped: true,
            ..CmdResult::default()
        }
    }
}

/// How long a UDP flow lives without traffic (`UDPConnTrackTimeout`).
const UDP_IDLE: crate::time::Duration = crate::time::Duration::from_secs(90);
/// Datagrams a UDP socket of the proxy buffers each way.
const UDP_SLOTS: usize = 32;

fn udp_socket() -> smoltcp::socket::udp::Socket<'static> {
    use smoltcp::socket::udp;
    let buf =
        || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_SLOTS], vec![0; 65536]);
    udp::Socket::new(buf(), buf())
}

/// One client of a UDP proxy: where it wrote from (and which listener took it), and the
/// proxy's own socket toward the container.
struct UdpFlow {
    client: smoltcp::wire::IpEndpoint,
    listener: usize,
    back: SockRef,
    /// The descriptor of `back`, connected to the container (Go's `DialUDP`).
    fd: u32,
    last: Instant,
}

pub struct UdpProxy {
    args: ProxyArgs,
    listeners: Vec<SockRef>,
    flows: Vec<UdpFlow>,
}

impl UdpProxy {
    pub fn start(args: ProxyArgs, net: &mut Net) -> Result<UdpProxy, String> {
        let ifaces: Vec<usize> = match args.host_ip {
            IpAddress::Ipv4(ip) if ip.is_unspecified() => (0..net.ifaces.len())
                .filter(|&i| net.addr(i).is_some())
                .collect(),
            IpAddress::Ipv6(ip) if ip.is_unspecified() => {
                (0..net.ifaces.len()).filter(|&i| net.has_ipv6(i)).collect()
            }
            ip => iface_of(net, ip).into_iter().collect(),
        };
        let mut listeners = Vec::new();
        for i in ifaces {
            // Its buffers come with the first datagram (`Net::bind_udp`).
            let s = net.bind_udp(i, args.host_port, udp_socket);
            listeners.push(s.map_err(|e| format!("docker-proxy: listen: {e}"))?);
        }
        if listeners.is_empty() {
            return Err("docker-proxy: listen: cannot assign requested address".into());
        }
        Ok(UdpProxy {
            args,
            listeners,
            flows: Vec::new(),
        })
    }
}

impl App for UdpProxy {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        use smoltcp::socket::udp;
        let ctr = smoltcp::wire::IpEndpoint::new(self.args.container_ip, self.args.container_port);
        let mut buf = Vec::new();
        for (l, &listener) in self.listeners.iter().enumerate() {
            loop {
                let from = {
                    let s = net.socket::<udp::Socket>(listener);
                    match s.recv() {
                        Ok((data, meta)) => {
                            buf.clear();
                            buf.extend_from_slice(data);
                            meta.endpoint
                        }
                        Err(_) => break,
                    }
                };
                let flow = match self.flows.iter().position(|f| f.client == from) {
                    Some(i) => i,
                    None => {
                        let route = match self.args.container_ip {
                            IpAddress::Ipv4(ip) => net.route(ip),
                            IpAddress::Ipv6(ip) => net.route6(ip, None),
                        };
                        let Some(iface) = route else {
                            continue;
                        };
                        let port = net.ephemeral_port();
                        let mut s = udp_socket();
                        if s.bind(port).is_err() {
                            continue;
                        }
                        let back = net.add_socket(iface, s);
                        let fd = super::lowest_free_fd(FIRST_FD, self.flows.iter().map(|f| f.fd));
                        self.flows.push(UdpFlow {
                            client: from,
                            listener: l,
                            back,
                            fd,
                            last: now,
                        });
                        self.flows.len() - 1
                    }
                };
                self.flows[flow].last = now;
                let _ = net
                    .socket::<udp::Socket>(self.flows[flow].back)
                    .send_slice(&buf, ctr);
            }
        }
        for f in &mut self.flows {
            loop {
                let got = {
                    let s = net.socket::<udp::Socket>(f.back);
                    match s.recv() {
                        Ok((data, _)) => {
                            buf.clear();
                            buf.extend_from_slice(data);
                            true
                        }
                        Err(_) => false,
                    }
                };
                if !got {
                    break;
                }
                f.last = now;
                let _ = net
                    .socket::<udp::Socket>(self.listeners[f.listener])
                    .send_slice(&buf, f.client);
            }
        }
        let mut i = 0;
        while i < self.flows.len() {
            if now.saturating_sub(self.flows[i].last) >= UDP_IDLE {
                let f = self.flows.swap_remove(i);
                net.remove(f.back);
            } else {
                i += 1;
            }
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        self.flows.iter().map(|f| f.last + UDP_IDLE).min()
    }

    fn held(&self, out: &mut Vec<Held>) {
        let ctr = smoltcp::wire::IpEndpoint::new(self.args.container_ip, self.args.container_port);
        out.extend(self.listeners.iter().map(|&l| Held::socket(l, LISTEN_FD)));
        out.extend(self.flows.iter().map(|f| Held {
            peer: Some(ctr),
            ..Held::socket(f.back, f.fd)
        }));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        for l in self.listeners.drain(..) {
            net.remove(l);
        }
        for f in self.flows.drain(..) {
            net.remove(f.back);
        }
        CmdResult {
            exit_code: 0,
            output: String::new(),
            stopped: true,
            ..CmdResult::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_as_dockerd_passes_them() {
        let a = parse(&words(
            "-proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80 -use-listen-fd",
        ))
        .unwrap();
        assert_eq!(a.host_port, 8080);
        assert_eq!(a.container_ip, IpAddress::v4(172, 17, 0, 2));
        let udp = parse(&words(
            "-proto udp -host-port 1 -container-ip 1.2.3.4 -container-port 2",
        ));
        assert!(udp.unwrap().udp);
        assert!(
            parse(&words(
                "-proto sctp -host-port 1 -container-ip 1.2.3.4 -container-port 2"
            ))
            .is_err()
        );
        assert!(parse(&words("-host-port 8080")).is_err());
    }
}
