//! `bulk-send HOST PORT BYTES` and `bulk-recv PORT`: a TCP transfer whose payload is a known
//! pattern, so the receiver checks every byte and both ends print the same digest.
//!
//! The stream is an 8-byte big-endian length, then the pattern: 64-bit little-endian words,
//! word `i` being `(i + 1) * 0x9E3779B97F4A7C15`. Generating and checking work a word at a
//! time so the check costs little next to the transfer.

use std::fmt::Write;

use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};

use super::tcp::{self as tcpx, Client, Conn};
use super::{App, Held};
use crate::host::cmd::BulkSendArgs;
use crate::host::net::{Net, SockRef};
use crate::sim::CmdResult;
use crate::time::Instant;

/// Socket buffers of a bulk transfer: large enough that window, not buffer, limits it.
pub const BULK_BUFFER: usize = 1024 * 1024;
const HEADER: usize = 8;
/// Each end's socket is its first descriptor; the receiver listens with `SOMAXCONN` (4096 on
/// Linux 6.1) and its connection is the next descriptor.
const FD: u32 = 3;
const BACKLOG: u32 = 4096;

const STEP: u64 = 0x9E37_79B9_7F4A_7C15;

fn word(i: u64) -> u64 {
    (i + 1).wrapping_mul(STEP)
}

/// The pattern at a byte offset: fills buffers as a sender, checks them as a receiver, and
/// folds a digest of what passed.
#[derive(Clone, Debug, Default)]
pub struct Pattern {
    offset: u64,
    digest: u64,
    /// The bytes of a word not yet complete; the digest folds whole words only, so it does
    /// not depend on how the stream was cut into segments.
    partial: u64,
    mismatches: u64,
}

impl Pattern {
    fn byte(offset: u64) -> u8 {
        word(offset / 8).to_le_bytes()[(offset % 8) as usize]
    }

    /// One word into the digest: a rotate and an xor, a cycle each, so the digest keeps up
    /// with the transfer (corruption is caught by comparing every word, not by the digest).
    fn fold(digest: u64, w: u64) -> u64 {
        digest.rotate_left(5) ^ w
    }

    fn push_byte(&mut self, b: u8) {
        self.partial |= u64::from(b) << ((self.offset % 8) * 8);
        self.offset += 1;
        if self.offset.is_multiple_of(8) {
            let w = std::mem::take(&mut self.partial);
            self.digest = Self::fold(self.digest, w);
        }
    }

    /// Bytes before the next word boundary (within `len`).
    fn head(&self, len: usize) -> usize {
        ((8 - self.offset % 8) % 8).min(len as u64) as usize
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let head = self.head(buf.len());
        for b in &mut buf[..head] {
            *b = Self::byte(self.offset);
            self.push_byte(*b);
        }
        let body = &mut buf[head..];
        let words = body.len() / 8;
        // Word i + 1 is word i plus the constant: no multiply per word.
        let (mut w, mut d) = (word(self.offset / 8), self.digest);
        for chunk in body[..words * 8].chunks_exact_mut(8) {
            chunk.copy_from_slice(&w.to_le_bytes());
            d = Self::fold(d, w);
            w = w.wrapping_add(STEP);
        }
        self.digest = d;
        self.offset += words as u64 * 8;
        for b in &mut body[words * 8..] {
            *b = Self::byte(self.offset);
            self.push_byte(*b);
        }
    }

    pub fn check(&mut self, buf: &[u8]) {
        let head = self.head(buf.len());
        let mut bad = 0u64;
        for &b in &buf[..head] {
            bad += u64::from(b != Self::byte(self.offset));
            self.push_byte(b);
        }
        let body = &buf[head..];
        let words = body.len() / 8;
        let (mut w, mut d) = (word(self.offset / 8), self.digest);
        for chunk in body[..words * 8].chunks_exact(8) {
            let got = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            bad += u64::from(got != w);
            d = Self::fold(d, got);
            w = w.wrapping_add(STEP);
        }
        self.digest = d;
        self.offset += words as u64 * 8;
        for &b in &body[words * 8..] {
            bad += u64::from(b != Self::byte(self.offset));
            self.push_byte(b);
        }
        self.mismatches += bad;
    }

    pub fn digest(&self) -> u64 {
        if self.offset.is_multiple_of(8) {
            self.digest
        } else {
            Self::fold(self.digest, self.partial)
        }
    }
    pub fn bytes(&self) -> u64 {
        self.offset
    }
}

pub struct BulkSend {
    args: BulkSendArgs,
    conn: Client,
    start: Instant,
    header: [u8; HEADER],
    header_sent: usize,
    pattern: Pattern,
    closed: bool,
}

impl BulkSend {
    pub fn start(args: BulkSendArgs, now: Instant, net: &mut Net) -> Result<BulkSend, String> {
        let (port, sport) = (args.port, args.source_port);
        let conn = match args.host {
            IpAddress::Ipv4(ip) => Client::connect(net, ip, port, sport, 4096, BULK_BUFFER),
            IpAddress::Ipv6(ip) => Client::connect6(net, ip, None, port, sport, 4096, BULK_BUFFER),
        }
        .map_err(|e| format!("bulk-send: {e}"))?;
        Ok(BulkSend {
            header: args.bytes.to_be_bytes(),
            args,
            conn,
            start: now,
            header_sent: 0,
            pattern: Pattern::default(),
            closed: false,
        })
    }

    fn report(&self, now: Instant, exit_code: i32, note: &str) -> CmdResult {
        let secs = now.saturating_sub(self.start).as_secs_f64();
        let mut out = String::new();
        let _ = write!(
            out,
            "sent {} bytes to {} in {secs:.6} s (virtual), digest {:016x}",
            self.pattern.bytes(),
            super::http::endpoint(Some(IpEndpoint::new(self.args.host, self.args.port))),
            self.pattern.digest()
        );
        if !note.is_empty() {
            let _ = write!(out, ": {note}");
        }
        out.push('\n');
        CmdResult {
            exit_code,
            output: out,
            bytes: Some(self.pattern.bytes()),
            ..CmdResult::default()
        }
    }
}

impl App for BulkSend {
    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        let sock = self.conn.sock;
        match self.conn.state(net) {
            Conn::Connecting => return None,
            Conn::Refused => {
                net.remove(sock);
                return Some(self.report(now, 1, "connection refused"));
            }
            _ => {}
        }
        let header = self.header;
        tcpx::push(net, sock, &header, &mut self.header_sent);
        let s = net.socket::<tcp::Socket>(sock);
        if self.header_sent == HEADER {
            while self.pattern.bytes() < self.args.bytes && s.can_send() {
                let left = self.args.bytes - self.pattern.bytes();
                let pattern = &mut self.pattern;
                let n = s
                    .send(|buf| {
                        let n = buf.len().min(left as usize);
                        pattern.fill(&mut buf[..n]);
                        (n, n)
                    })
                    .unwrap_or(0);
                if n == 0 {
                    break;
                }
            }
        }
        if self.pattern.bytes() == self.args.bytes && !self.closed {
            s.close();
            self.closed = true;
        }
        // Our FIN is acknowledged once every byte before it is: the transfer is done.
        if self.closed
            && matches!(
                s.state(),
                tcp::State::FinWait2 | tcp::State::TimeWait | tcp::State::Closed
            )
        {
            net.orphan(sock);
            return Some(self.report(now, 0, ""));
        }
        if !s.is_open() {
            net.remove(sock);
            return Some(self.report(now, 1, "connection reset"));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn held(&self, out: &mut Vec<Held>) {
        out.push(Held::socket(self.conn.sock, FD));
    }

    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult {
        super::tcp::abort(net, self.conn.sock);
        net.orphan(self.conn.sock);
        let mut r = self.report(now, 1, "stopped");
        r.stopped = true;
        r
    }
}

pub struct BulkRecv {
    port: u16,
    listeners: Vec<SockRef>,
    sock: Option<SockRef>,
    header: Vec<u8>,
    pattern: Pattern,
    start: Option<Instant>,
}

impl BulkRecv {
    pub fn start(port: u16, _now: Instant, net: &mut Net) -> BulkRecv {
        BulkRecv {
            port,
            // A `[::]` socket: it takes both families.
            listeners: tcpx::listen_all_family(net, port, BULK_BUFFER, 4096, true),
            sock: None,
            header: Vec::with_capacity(HEADER),
            pattern: Pattern::default(),
            start: None,
        }
    }

    fn report(&self, now: Instant, net: &mut Net, stopped: bool) -> CmdResult {
        let expected = (self.header.len() == HEADER)
            .then(|| u64::from_be_bytes(self.header[..].try_into().unwrap_or([0; 8])));
        let peer = self
            .sock
            .and_then(|s| net.socket::<tcp::Socket>(s).remote_endpoint())
            .map(|e| super::http::endpoint(Some(e)))
            .unwrap_or_else(|| "nobody".into());
        let secs = self
            .start
            .map_or(0.0, |s| now.saturating_sub(s).as_secs_f64());
        let ok = expected == Some(self.pattern.bytes()) && self.pattern.mismatches == 0;
        let verdict = if ok {
            "ok".to_string()
        } else if self.pattern.mismatches > 0 {
            format!(
                "CORRUPT: {} bytes differ from the pattern",
                self.pattern.mismatches
            )
        } else {
            format!(
                "INCOMPLETE: expected {} bytes",
                expected.map_or("?".into(), |e| e.to_string())
            )
        };
        CmdResult {
            exit_code: if ok { 0 } else { 1 },
            output: format!(
                "received {} bytes from {peer} in {secs:.6} s (virtual), digest {:016x}, {verdict}\n",
                self.pattern.bytes(),
                self.pattern.digest()
            ),
            bytes: Some(self.pattern.bytes()),
            stopped,
            ..CmdResult::default()
        }
    }
}

impl App for BulkRecv {
    fn iface_up(&mut self, net: &mut Net, iface: usize) {
        if self.sock.is_none()
            && let Some(l) = tcpx::listen_on(net, iface, self.port, BULK_BUFFER, 4096)
        {
            self.listeners.push(l);
        }
    }

    fn poll(&mut self, now: Instant, net: &mut Net) -> Option<CmdResult> {
        if self.sock.is_none() {
            let taken = self
                .listeners
                .iter()
                .position(|&l| !net.socket::<tcp::Socket>(l).is_listening())?;
            let sock = self.listeners.swap_remove(taken);
            for l in self.listeners.drain(..) {
                net.remove(l);
            }
            self.sock = Some(sock);
            self.start = Some(now);
        }
        let sock = self.sock?;
        let s = net.socket::<tcp::Socket>(sock);
        while s.can_recv() {
            let (header, pattern) = (&mut self.header, &mut self.pattern);
            let n = s
                .recv(|buf| {
                    let mut used = 0;
                    if header.len() < HEADER {
                        used = buf.len().min(HEADER - header.len());
                        header.extend_from_slice(&buf[..used]);
                    }
                    pattern.check(&buf[used..]);
                    (buf.len(), buf.len())
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
        }
        if tcpx::peer_closed(s) {
            s.close();
            let r = self.report(now, net, false);
            net.orphan(sock);
            self.sock = None;
            return Some(r);
        }
        let _ = self.port;
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
        out.extend(self.sock.map(|s| Held::socket(s, FD + 1)));
    }

    fn stop(&mut self, now: Instant, net: &mut Net) -> CmdResult {
        let r = self.report(now, net, true);
        for l in self.listeners.drain(..) {
            net.remove(l);
        }
        if let Some(s) = self.sock.take() {
            super::tcp::abort(net, s);
            net.orphan(s);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_then_check_agrees_across_any_split() {
        let mut data = vec![0u8; 1000];
        let mut tx = Pattern::default();
        tx.fill(&mut data[..3]);
        tx.fill(&mut data[3..500]);
        tx.fill(&mut data[500..]);
        let mut rx = Pattern::default();
        for chunk in data.chunks(7) {
            rx.check(chunk);
        }
        assert_eq!(rx.mismatches, 0);
        assert_eq!(rx.digest(), tx.digest());
        assert_eq!(rx.bytes(), 1000);
        let mut bad = Pattern::default();
        data[10] ^= 1;
        bad.check(&data);
        assert_eq!(bad.mismatches, 1);
    }
}
