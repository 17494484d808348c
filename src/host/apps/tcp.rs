//! TCP plumbing shared by curl, nc and the bulk transfer: connecting with a route and a local
//! port, telling "refused" from "closed", and listening on every interface.

use smoltcp::socket::tcp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv6Address};

use crate::host::net::{Net, SockRef};

/// Where a client connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Established,
    /// Reset before it was established: `Connection refused`.
    Refused,
    /// The peer has closed its side (or the connection is gone) after being established.
    PeerClosed,
}

pub struct Client {
    pub sock: SockRef,
    pub remote: IpEndpoint,
    pub local_port: u16,
    established: bool,
}

pub fn buffer(n: usize) -> tcp::SocketBuffer<'static> {
    tcp::SocketBuffer::new(vec![0; n])
}

impl Client {
    /// Opens a connection to `dst:port` from `sport` (or an ephemeral port).
    pub fn connect(
        net: &mut Net,
        dst: Ipv4Address,
        port: u16,
        sport: Option<u16>,
        rx: usize,
        tx: usize,
    ) -> Result<Client, String> {
        let iface = net.route(dst).ok_or("Network is unreachable")?;
        let local_port = sport.unwrap_or_else(|| net.ephemeral_port());
        let remote = IpEndpoint::new(dst.into(), port);
        Client::open(net, iface, remote, local_port.into(), rx, tx)
    }

    /// Opens a connection to `[dst]:port` over IPv6, out of interface `dev` when a zone or
    /// `-I` names one, from the source address the kernel would pick there.
    pub fn connect6(
        net: &mut Net,
        dst: Ipv6Address,
        dev: Option<usize>,
        port: u16,
        sport: Option<u16>,
        rx: usize,
        tx: usize,
    ) -> Result<Client, String> {
        let unreachable = "Network is unreachable";
        let iface = net.route6(dst, dev).ok_or(unreachable)?;
        let src = net.source6(iface, dst).ok_or(unreachable)?;
        let local_port = sport.unwrap_or_else(|| net.ephemeral_port());
        let remote = IpEndpoint::new(dst.into(), port);
        let local = IpListenEndpoint {
            addr: Some(src.into()),
            port: local_port,
        };
        Client::open(net, iface, remote, local, rx, tx)
    }

    /// A socket on `iface` connecting from `local` to `remote`.
    fn open(
        net: &mut Net,
        iface: usize,
        remote: IpEndpoint,
        local: IpListenEndpoint,
        rx: usize,
        tx: usize,
    ) -> Result<Client, String> {
        let sock = net.add_socket(iface, tcp::Socket::new(buffer(rx), buffer(tx)));
        let (cx, s) = net.connect_parts::<tcp::Socket>(sock);
        if let Err(e) = s.connect(cx, remote, local) {
            net.remove(sock);
            return Err(format!("connect: {e}"));
        }
        Ok(Client {
            sock,
            remote,
            local_port: local.port,
            established: false,
        })
    }

    pub fn state(&mut self, net: &mut Net) -> Conn {
        let s = net.socket::<tcp::Socket>(self.sock);
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => Conn::Connecting,
            tcp::State::Closed if !self.established => Conn::Refused,
            tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2 => {
                self.established = true;
                Conn::Established
            }
            _ if !self.established && !s.may_recv() => Conn::Refused,
            _ => {
                self.established = true;
                if s.may_recv() || s.can_recv() {
                    Conn::Established
                } else {
                    Conn::PeerClosed
                }
            }
        }
    }

    pub fn was_established(&self) -> bool {
        self.established
    }
}

/// The peer has closed its side (or reset): nothing more will arrive. A socket still in
/// `SynReceived` cannot receive yet, but its peer has closed nothing.
pub fn peer_closed(s: &tcp::Socket) -> bool {
    matches!(
        s.state(),
        tcp::State::CloseWait
            | tcp::State::LastAck
            | tcp::State::Closing
            | tcp::State::TimeWait
            | tcp::State::Closed
    ) && !s.can_recv()
}

/// Listening sockets on every addressed interface, for servers.
pub fn listen_all(net: &mut Net, port: u16, rx: usize, tx: usize) -> Vec<SockRef> {
    // Every address includes 127.0.0.1.
    net.ensure_loopback();
    let addressed: Vec<usize> = (0..net.ifaces.len())
        .filter(|&i| net.addr(i).is_some())
        .collect();
    addressed
        .into_iter()
        .filter_map(|i| listen_on(net, i, port, rx, tx))
        .collect()
}

/// `listen_all` for a server that says which family it binds (`Net::listen_family`).
pub fn listen_all_family(
    net: &mut Net,
    port: u16,
    rx: usize,
    tx: usize,
    dual: bool,
) -> Vec<SockRef> {
    net.ensure_loopback();
    // A `[::]` socket also takes connections to an interface with IPv6 alone.
    let addressed: Vec<usize> = (0..net.ifaces.len())
        .filter(|&i| net.addr(i).is_some() || (dual && net.has_ipv6(i)))
        .collect();
    addressed
        .into_iter()
        .filter_map(|i| net.listen_family(i, port, rx, tx, dual))
        .collect()
}

/// A listening socket on one interface; its `rx` and `tx` buffers come with the first
/// connection it takes (`Net::listen`).
pub fn listen_on(net: &mut Net, iface: usize, port: u16, rx: usize, tx: usize) -> Option<SockRef> {
    net.listen(iface, port, rx, tx)
}

/// Reads everything available from a socket into `out`, up to `limit` bytes kept; returns
/// the number of bytes read (kept or not).
pub fn drain(net: &mut Net, sock: SockRef, out: &mut Vec<u8>, limit: usize) -> usize {
    let s = net.socket::<tcp::Socket>(sock);
    let mut total = 0;
    while s.can_recv() {
        let n = s
            .recv(|buf| {
                let keep = buf.len().min(limit.saturating_sub(out.len()));
                out.extend_from_slice(&buf[..keep]);
                (buf.len(), buf.len())
            })
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}

/// Writes as much of `data[*sent..]` as fits; advances `sent`.
pub fn push(net: &mut Net, sock: SockRef, data: &[u8], sent: &mut usize) {
    let s = net.socket::<tcp::Socket>(sock);
    if *sent < data.len()
        && s.can_send()
        && let Ok(n) = s.send_slice(&data[*sent..])
    {
        *sent += n;
    }
}

/// Kills a connection as a process that gives up on it does: reset, except in SYN_SENT,
/// which Linux leaves without a packet (`tcp_need_reset`); `Net::orphan` then forgets it.
pub fn abort(net: &mut Net, sock: SockRef) {
    let s = net.socket::<tcp::Socket>(sock);
    if s.state() != tcp::State::SynSent {
        s.abort();
    }
}
