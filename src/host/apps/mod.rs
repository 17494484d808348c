//! The programs a host runs. Each is a state machine polled by its host after network
//! activity and at the deadline it asks for; none does IO or reads a clock.

pub mod bulk;
pub mod http;
pub mod lookup;
pub mod nc;
pub mod ping;
pub mod proxy;
pub mod tcp;
pub mod traceroute;
pub mod udp;

use smoltcp::wire::IpEndpoint;

use crate::host::cmd::Command;
use crate::host::net::{Net, SockRef};
use crate::sim::CmdResult;
use crate::time::Instant;

/// A TCP or UDP socket a program holds, as `ss -p` names it: the smoltcp socket behind one
/// of the program's file descriptors. A server listening on every address holds one socket
/// per interface here, where Linux has one bound to 0.0.0.0; they share the descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub sock: SockRef,
    pub fd: u32,
    /// A listener's backlog (`listen(fd, N)`), which `ss` shows as its Send-Q.
    pub backlog: u32,
    /// The peer a UDP socket is connected to (`connect`): `ss` shows it ESTAB.
    pub peer: Option<IpEndpoint>,
}

impl Held {
    pub fn socket(sock: SockRef, fd: u32) -> Held {
        Held {
            sock,
            fd,
            backlog: 0,
            peer: None,
        }
    }

    pub fn listener(sock: SockRef, fd: u32, backlog: u32) -> Held {
        Held {
            backlog,
            ..Held::socket(sock, fd)
        }
    }
}

/// The lowest descriptor from `first` on that none of `used` is, as the kernel hands out a
/// new one.
pub fn lowest_free_fd(first: u32, used: impl Iterator<Item = u32> + Clone) -> u32 {
    (first..)
        .find(|fd| !used.clone().any(|u| u == *fd))
        .unwrap_or(first)
}

pub trait App {
    /// Advances the program; `Some` when it has finished (its sockets are then closed).
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult>;
    /// When the program next needs to run even without network activity.
    fn poll_at(&self) -> Option<Instant>;
    /// The program is stopped (timeout, or the lab ended): its result so far.
    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult;
    /// Interface `iface` got an address while the program ran (`docker network connect`):
    /// a server listening on every address listens there too, as a socket bound to 0.0.0.0
    /// would.
    fn iface_up(&mut self, _net: &mut Net, _iface: usize) {}
    /// Bytes of state the program holds beyond its sockets and its output (tables that
    /// could grow while it runs), by capacity: a deterministic measure for tests.
    fn state_bytes(&self) -> usize {
        0
    }
    /// The TCP and UDP sockets the program holds, for `ss -p` (none by default).
    fn held(&self, _out: &mut Vec<Held>) {}
}

/// Starts a parsed command on a host.
pub fn spawn(
    cmd: Command,
    host: &str,
    input: &str,
    now: Instant,
    net: &mut Net,
) -> Result<Box<dyn App>, String> {
    if let Some(taken) = port_taken(&cmd, net) {
        return Ok(Box::new(Done::failed(1, taken)));
    }
    Ok(match cmd {
        // A change to the host's routes: done at once, as `ip` is.
        Command::IpRoute(r) => Box::new(match net.apply_route(&r) {
            Ok(()) => Done::failed(0, String::new()),
            Err(e) => Done::failed(2, format!("{e}\n")),
        }),
        Command::Ping(a) => Box::new(ping::Ping::start(a, now, net)?),
        Command::Curl(a) => Box::new(http::Curl::start(a, now, net)?),
        Command::HttpServer { port, dual } => {
            Box::new(http::HttpServer::start(host, port, dual, net))
        }
        Command::Nc(a) => nc::start(a, input, now, net)?,
        Command::BulkSend(a) => Box::new(bulk::BulkSend::start(a, now, net)?),
        Command::BulkRecv { port } => Box::new(bulk::BulkRecv::start(port, now, net)),
        Command::Sleep(d) => Box::new(Sleep { until: now + d }),
        Command::Traceroute(a) => Box::new(traceroute::Traceroute::start(a, now, net)?),
        Command::UdpSend(a) => Box::new(udp::UdpSend::start(a, now, net)?),
        Command::UdpRecv { port, count } => Box::new(udp::UdpRecv::start(port, count, net)?),
        Command::DockerProxy(a) if a.udp => Box::new(proxy::UdpProxy::start(a, net)?),
        Command::DockerProxy(a) => Box::new(proxy::TcpProxy::start(a, net)?),
        Command::Getent(a) => Box::new(Done::new(lookup::getent(&a, &net.names))),
        Command::Nslookup(a) => Box::new(Done::new(lookup::nslookup(&a, &net.names))),
        // `Stack::start` lists with the programs' sockets; here only the stack's are known.
        Command::Ss(a) => {
            let sockets = crate::host::ss::sockets(net, &[], now);
            Box::new(Done::new(CmdResult {
                output: crate::host::ss::listing(&a, &sockets),
                ..CmdResult::default()
            }))
        }
    })
}

/// What a server says when its port is taken, as the real program says it: a second
/// listener on a port fails to bind with EADDRINUSE.
fn port_taken(cmd: &Command, net: &Net) -> Option<String> {
    let (port, udp) = match cmd {
        Command::HttpServer { port, .. } | Command::BulkRecv { port } => (*port, false),
        Command::Nc(a) if a.listen => (a.port, a.udp),
        Command::UdpRecv { port, .. } => (*port, true),
        Command::DockerProxy(a) => (a.host_port, a.udp),
        _ => return None,
    };
    let taken = match (cmd, udp) {
        // docker-proxy's sockets are of one family each (its IPv6 ones IPv6-only): the
        // IPv4 and IPv6 proxies of one published port share its number.
        (Command::DockerProxy(a), _) => {
            let v6 = a.host_ip.version() == smoltcp::wire::IpVersion::Ipv6;
            net.port_held(port, udp, Some(v6))
        }
        (_, true) => net.udp_bound(port),
        (_, false) => net.tcp_listening(port),
    };
    if !taken {
        return None;
    }
    Some(match cmd {
        // python3 -m http.server's last traceback line.
        Command::HttpServer { .. } => "OSError: [Errno 98] Address already in use\n".into(),
        Command::Nc(_) => "nc: Address already in use\n".into(),
        Command::BulkRecv { .. } => "bulk-recv: bind: Address already in use\n".into(),
        Command::UdpRecv { .. } => "udp-recv: bind: Address already in use\n".into(),
        Command::DockerProxy(a) => {
            let proto = if udp { "udp" } else { "tcp" };
            let (v, host) = match a.host_ip {
                smoltcp::wire::IpAddress::Ipv4(ip) => (4, ip.to_string()),
                smoltcp::wire::IpAddress::Ipv6(ip) => (6, format!("[{ip}]")),
            };
            format!("docker-proxy: listen {proto}{v} {host}:{port}: bind: address already in use\n")
        }
        _ => String::new(),
    })
}

/// A program whose result is known when it starts: a name lookup (answered from the host's
/// tables, see `crate::host::resolve`), or a client whose destination did not resolve.
pub struct Done(Option<CmdResult>);

impl Done {
    pub fn new(result: CmdResult) -> Done {
        Done(Some(result))
    }

    /// Exit code and output, nothing else measured.
    pub fn failed(exit_code: i32, output: String) -> Done {
        Done::new(CmdResult {
            exit_code,
            output,
            ..CmdResult::default()
        })
    }
}

impl App for Done {
    fn poll(&mut self, _now: Instant, _net: &mut Net) -> Option<CmdResult> {
        self.0.take()
    }
    fn poll_at(&self) -> Option<Instant> {
        self.0.as_ref().map(|_| Instant::ZERO)
    }
    fn stop(&mut self, _now: Instant, _net: &mut Net) -> CmdResult {
        self.0.take().unwrap_or_default()
    }
}

struct Sleep {
    until: Instant,
}

impl App for Sleep {
    fn poll(&mut self, now: Instant, _net: &mut Net) -> Option<CmdResult> {
        (now >= self.until).then(CmdResult::default)
    }
    fn poll_at(&self) -> Option<Instant> {
        Some(self.until)
    }
    fn stop(&mut self, _now: Instant, _net: &mut Net) -> CmdResult {
        CmdResult {
            exit_code: 130,
            stopped: true,
            ..CmdResult::default()
        }
    }
}

/// C's `%g`: six significant digits, trailing zeros trimmed (ping's loss percentage).
pub fn fmt_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = 6 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_g() {
        assert_eq!(super::fmt_g(0.0), "0");
        assert_eq!(super::fmt_g(100.0), "100");
        assert_eq!(super::fmt_g(100.0 / 3.0), "33.3333");
        assert_eq!(super::fmt_g(50.0), "50");
    }
}
