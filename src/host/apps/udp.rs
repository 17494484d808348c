//! `udp-send [-p SRCPORT] [-s SIZE] HOST PORT COUNT` and `udp-recv PORT [COUNT]`: a stream of
//! datagrams as fast as the socket takes them, and a counter at the other end (loss and rate
//! labs, and the end-to-end UDP benchmark).

use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;

use super::{App, Held};
use crate::host::cmd::UdpSendArgs;
use crate::host::net::{Net, SockRef};
use crate::sim::CmdResult;
use crate::time::Instant;

/// Datagrams the socket buffers hold each way.
const SLOTS: usize = 64;

fn socket(payload: usize) -> udp::Socket<'static> {
    let buf = || {
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; SLOTS],
            vec![0; SLOTS * payload.max(64)],
        )
    };
    udp::Socket::new(buf(), buf())
}

pub struct UdpSend {
    args: UdpSendArgs,
    sock: SockRef,
    sent: u64,
    start: Instant,
    payload: Vec<u8>,
}

impl UdpSend {
    pub fn start(args: UdpSendArgs, now: Instant, net: &mut Net) -> Result<UdpSend, String> {
        let iface = net
            .route(args.host)
            .ok_or("udp-send: Network is unreachable")?;
        let port = args.source_port.unwrap_or_else(|| net.ephemeral_port());
        let mut s = socket(args.size);
        s.bind(port).map_err(|e| format!("udp-send: bind: {e}"))?;
        let sock = net.add_socket(iface, s);
        let payload = (0..args.size).map(|i| i as u8).collect();
        Ok(UdpSend {
            args,
            sock,
            sent: 0,
            start: now,
            payload,
        })
    }

    fn result(&self, now: Instant, stopped: bool) -> CmdResult {
        let secs = now.saturating_sub(self.start).as_secs_f64();
        CmdResult {
            exit_code: if stopped { 1 } else { 0 },
            output: format!(
                "sent {} datagrams of {} bytes to {}:{} in {secs:.6} s (virtual)\n",
                self.sent, self.args.size, self.args.host, self.args.port
            ),
            transmitted: Some(self.sent),
            bytes: Some(self.sent * self.args.size as u64),
            stopped,
            ..CmdResult::default()
        }
    }
}

impl App for UdpSend {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        let to = IpEndpoint::new(self.args.host.into(), self.args.port);
        let s = net.socket::<udp::Socket>(self.sock);
        while self.sent < self.args.count && s.send_slice(&self.payload, to).is_ok() {
            self.sent += 1;
        }
        // Done once the last datagram has left the socket.
        if self.sent == self.args.count && s.send_queue() == 0 {
            net.remove(self.sock);
            return Some(self.result(now, false));
        }
        None
    }

    /// As soon as possible until done: the host wakes it a microsecond later (smoltcp's
    /// resolution), to refill the socket the interface has drained, then to see it empty.
    fn poll_at(&self) -> Option<Instant> {
        Some(Instant::ZERO)
    }

    /// The sender is not connected: it names the destination of each datagram (`sendto`).
    fn held(&self, out: &mut Vec<Held>) {
        out.push(Held::socket(self.sock, 3));
    }

    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult {
        net.remove(self.sock);
        self.result(now, true)
    }
}

pub struct UdpRecv {
    count: Option<u64>,
    socks: Vec<SockRef>,
    received: u64,
    bytes: u64,
}

impl UdpRecv {
    pub fn start(port: u16, count: Option<u64>, net: &mut Net) -> Result<UdpRecv, String> {
        net.ensure_loopback();
        let mut socks = Vec::new();
        for i in 0..net.ifaces.len() {
            if net.addr(i).is_none() {
                continue;
            }
            // Its buffers come with the first datagram (`Net::bind_udp`).
            let s = net.bind_udp(i, port, || socket(1500));
            socks.push(s.map_err(|e| format!("udp-recv: bind: {e}"))?);
        }
        if socks.is_empty() {
            return Err("udp-recv: bind: Cannot assign requested address".into());
        }
        Ok(UdpRecv {
            count,
            socks,
            received: 0,
            bytes: 0,
        })
    }

    fn result(&self, net: &mut Net, stopped: bool) -> CmdResult {
        for s in &self.socks {
            net.remove(*s);
        }
        CmdResult {
            exit_code: 0,
            output: format!(
                "received {} datagrams, {} bytes\n",
                self.received, self.bytes
            ),
            received: Some(self.received),
            bytes: Some(self.bytes),
            stopped,
            ..CmdResult::default()
        }
    }
}

impl App for UdpRecv {
    fn poll(&mut self, _now: Instant, net: &mut Net) -> Option<CmdResult> {
        for &sock in &self.socks {
            let s = net.socket::<udp::Socket>(sock);
            while let Ok((data, _)) = s.recv() {
                self.received += 1;
                self.bytes += data.len() as u64;
            }
        }
        if self.count.is_some_and(|c| self.received >= c) {
            return Some(self.result(net, false));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn held(&self, out: &mut Vec<Held>) {
        out.extend(self.socks.iter().map(|&s| Held::socket(s, 3)));
    }

    fn stop(&mut self, _now: Instant, net: &mut Net) -> CmdResult {
        self.result(net, true)
    }
}
