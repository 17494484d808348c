//! Connection tracking: every flow has an original and a reply tuple; a packet is looked up by
//! its tuple in either direction. New flows wait as a pending entry until the packet that made
//! them is accepted at the last hook (`confirm`), as the kernel's unconfirmed list does, so a
//! dropped first packet leaves no entry. ICMP errors are RELATED to the flow whose packet they
//! quote. Timeouts are the kernel's defaults, in virtual time; the table is bounded.

pub mod tcp;

use std::fmt::Write;

use rustc_hash::FxHashMap;
use smoltcp::wire::{Icmpv4Packet, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket, UdpPacket};

use super::packet::CtState;
use crate::time::{Duration, Instant};
use tcp::{Segment, Step, TcpState};

/// `nf_conntrack_max` on the reference host.
pub const DEFAULT_MAX: usize = 262_144;
const UDP_TIMEOUT: Duration = Duration::from_secs(30);
const UDP_STREAM_TIMEOUT: Duration = Duration::from_secs(120);
const ICMP_TIMEOUT: Duration = Duration::from_secs(30);
const GENERIC_TIMEOUT: Duration = Duration::from_secs(600);
/// UDP traffic seen this long after creation, in both directions, makes a stream (ASSURED).
const UDP_STREAM_AFTER: Duration = Duration::from_secs(2);

/// One direction of a flow. For ICMP queries the identifier is the source "port" and the
/// destination port is zero, so a request and its reply share a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub src: Ipv4Address,
    pub dst: Ipv4Address,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

impl Tuple {
    pub fn invert(self) -> Tuple {
        if self.proto == 1 {
            return Tuple {
                src: self.dst,
                dst: self.src,
                ..self
            };
        }
        Tuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

/// What conntrack reads from a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub tuple: Tuple,
    pub tcp_flags: Option<u8>,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
    /// For an ICMP error: the tuple of the packet it quotes, as that packet was sent.
    pub quoted: Option<Tuple>,
}

fn ports(proto: IpProtocol, l4: &[u8]) -> Option<(u16, u16)> {
    match proto {
        IpProtocol::Tcp if l4.len() >= 4 => {
            let t = TcpPacket::new_unchecked(l4);
            Some((t.src_port(), t.dst_port()))
        }
        IpProtocol::Udp if l4.len() >= 4 => {
            let u = UdpPacket::new_unchecked(l4);
            Some((u.src_port(), u.dst_port()))
        }
        IpProtocol::Icmp if l4.len() >= 8 => Some((u16::from_be_bytes([l4[4], l4[5]]), 0)),
        _ => None,
    }
}

/// ICMP types that are errors about another packet.
pub fn is_icmp_error(kind: u8) -> bool {
    matches!(kind, 3 | 4 | 5 | 11 | 12)
}

impl Flow {
    /// Reads an IPv4 datagram (already checked by the caller's header validation).
    pub fn parse(ip: &[u8]) -> Option<Flow> {
        let p = Ipv4Packet::new_checked(ip).ok()?;
        let proto = p.next_header();
        let l4 = p.payload();
        let (sport, dport) = if p.frag_offset() != 0 {
            (0, 0)
        } else {
            ports(proto, l4).unwrap_or((0, 0))
        };
        let mut flow = Flow {
            tuple: Tuple {
                src: p.src_addr(),
                dst: p.dst_addr(),
                proto: u8::from(proto),
                sport,
                dport,
            },
            tcp_flags: None,
            icmp: None,
            quoted: None,
        };
        match proto {
            IpProtocol::Tcp if l4.len() >= 14 => flow.tcp_flags = Some(l4[13]),
            IpProtocol::Icmp if l4.len() >= 8 => {
                let icmp = Icmpv4Packet::new_unchecked(l4);
                let (kind, code) = (u8::from(icmp.msg_type()), icmp.msg_code());
                flow.icmp = Some((kind, code));
                if is_icmp_error(kind) {
                    flow.tuple.sport = 0;
                    let inner = Ipv4Packet::new_unchecked(&l4[8..]);
                    if l4.len() >= 8 + 20 && inner.version() == 4 {
                        let hl = usize::from(inner.header_len());
                        let inner_l4 = l4.get(8 + hl..).unwrap_or(&[]);
                        let iproto = inner.next_header();
                        let (s, d) = ports(iproto, inner_l4).unwrap_or((0, 0));
                        flow.quoted = Some(Tuple {
                            src: inner.src_addr(),
                            dst: inner.dst_addr(),
                            proto: u8::from(iproto),
                            sport: s,
                            dport: d,
                        });
                    }
                }
            }
            _ => {}
        }
        Some(flow)
    }
}

/// One tracked connection.
#[derive(Clone, Debug)]
pub struct Conn {
    pub orig: Tuple,
    /// The reply tuple, rewritten by NAT.
    pub reply: Tuple,
    pub tcp: TcpState,
    pub seen_reply: bool,
    pub assured: bool,
    pub created: Instant,
    pub expires: Instant,
    pub snat: bool,
    pub dnat: bool,
    /// The destination (PREROUTING/OUTPUT) and source (POSTROUTING/INPUT) NAT decisions were
    /// made, a null binding included: later packets skip those nat chains
    /// (`nf_nat_initialized`).
    pub dst_nat_done: bool,
    pub src_nat_done: bool,
    /// The ICMP query type of the original direction.
    pub icmp_type: u8,
    seq: u64,
}

impl Conn {
    fn timeout(&self) -> Duration {
        match self.orig.proto {
            6 => self.tcp.timeout(),
            17 if self.assured => UDP_STREAM_TIMEOUT,
            17 => UDP_TIMEOUT,
            1 => ICMP_TIMEOUT,
            _ => GENERIC_TIMEOUT,
        }
    }
}

/// Where the flow of a packet stands.
#[derive(Clone, Debug)]
pub enum Slot {
    /// A confirmed entry.
    Table(u32),
    /// A new flow, entered on `confirm`.
    Pending(Box<Conn>),
    /// Not tracked (INVALID).
    None,
}

/// The result of tracking one packet.
#[derive(Clone, Debug)]
pub struct Tracked {
    pub slot: Slot,
    /// The packet travels in the flow's reply direction.
    pub reply: bool,
    pub state: CtState,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CtStats {
    pub found: u64,
    pub new: u64,
    pub invalid: u64,
    /// New flows dropped because the table was full (`nf_conntrack: table full`).
    pub drop: u64,
    pub expired: u64,
}

#[derive(Debug)]
pub struct Conntrack {
    conns: Vec<Option<Conn>>,
    free: Vec<u32>,
    index: FxHashMap<Tuple, (u32, bool)>,
    max: usize,
    seq: u64,
    next_gc: Option<Instant>,
    pub stats: CtStats,
}

impl Conntrack {
    pub fn new(max: usize) -> Conntrack {
        Conntrack {
            conns: Vec::new(),
            free: Vec::new(),
            index: FxHashMap::default(),
            max,
            seq: 0,
            next_gc: None,
            stats: CtStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.index.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// A tuple is taken as some flow's reply (NAT must not map onto it).
    pub fn tuple_in_use(&self, t: &Tuple) -> bool {
        self.index.contains_key(t)
    }

    pub fn conn<'a>(&'a self, slot: &'a Slot) -> Option<&'a Conn> {
        match slot {
            Slot::Table(id) => self.conns.get(*id as usize)?.as_ref(),
            Slot::Pending(c) => Some(c),
            Slot::None => None,
        }
    }

    pub fn conn_mut<'a>(&'a mut self, slot: &'a mut Slot) -> Option<&'a mut Conn> {
        match slot {
            Slot::Table(id) => self.conns.get_mut(*id as usize)?.as_mut(),
            Slot::Pending(c) => Some(c),
            Slot::None => None,
        }
    }

    /// Looks the packet up (or starts a pending flow) and advances its state machine.
    pub fn track(&mut self, now: Instant, flow: &Flow) -> Tracked {
        let invalid = Tracked {
            slot: Slot::None,
            reply: false,
            state: CtState::Invalid,
        };
        if let Some(q) = flow.quoted {
            // The error travels back toward the quoted packet's sender: its inverted tuple is
            // the direction the error itself travels in (`icmp_error_message`).
            return match self.index.get(&q.invert()) {
                Some(&(id, dir)) => {
                    self.stats.found += 1;
                    Tracked {
                        slot: Slot::Table(id),
                        reply: dir,
                        state: CtState::Related,
                    }
                }
                None => {
                    self.stats.invalid += 1;
                    invalid
                }
            };
        }
        if let Some(&(id, reply)) = self.index.get(&flow.tuple) {
            self.stats.found += 1;
            return self.advance(now, id, reply, flow);
        }
        // A new flow: TCP needs a SYN (or an ACK, picked up mid-stream as `tcp_loose`
        // allows); ICMP only a query.
        let tcp = match flow.tcp_flags.map(Segment::of) {
            Some(seg) => match tcp::step(TcpState::None, false, seg) {
                Step::To(s) => s,
                _ => {
                    self.stats.invalid += 1;
                    return invalid;
                }
            },
            None => TcpState::None,
        };
        let icmp_type = flow.icmp.map_or(0, |(t, _)| t);
        if flow.tuple.proto == 1 && !matches!(icmp_type, 8 | 13 | 15 | 17) {
            self.stats.invalid += 1;
            return invalid;
        }
        self.seq += 1;
        let mut conn = Conn {
            orig: flow.tuple,
            reply: flow.tuple.invert(),
            tcp,
            seen_reply: false,
            assured: false,
            created: now,
            expires: now,
            snat: false,
            dnat: false,
            dst_nat_done: false,
            src_nat_done: false,
            icmp_type,
            seq: self.seq,
        };
        conn.expires = now + conn.timeout();
        Tracked {
            slot: Slot::Pending(Box::new(conn)),
            reply: false,
            state: CtState::New,
        }
    }

    fn advance(&mut self, now: Instant, id: u32, reply: bool, flow: &Flow) -> Tracked {
        let Some(conn) = self.conns.get_mut(id as usize).and_then(Option::as_mut) else {
            return Tracked {
                slot: Slot::None,
                reply,
                state: CtState::Invalid,
            };
        };
        let mut state = if reply || conn.seen_reply {
            CtState::Established
        } else {
            CtState::New
        };
        if let Some(flags) = flow.tcp_flags {
            let old = conn.tcp;
            match tcp::step(old, reply, Segment::of(flags)) {
                Step::To(new) => {
                    if old == TcpState::SynRecv && new == TcpState::Established {
                        conn.assured = true;
                    }
                    // A reset as the only answer to a SYN removes the entry at once.
                    if old == TcpState::SynSent && new == TcpState::Close && reply {
                        conn.expires = now;
                    }
                    conn.tcp = new;
                }
                Step::Ignore => {}
                Step::Invalid => state = CtState::Invalid,
            }
        }
        if reply {
            conn.seen_reply = true;
        }
        if conn.orig.proto == 17
            && conn.seen_reply
            && now.saturating_sub(conn.created) > UDP_STREAM_AFTER
        {
            conn.assured = true;
        }
        if conn.expires > now || conn.tcp != TcpState::Close {
            conn.expires = now + conn.timeout();
        }
        self.next_gc = Some(self.next_gc.map_or(conn.expires, |g| g.min(conn.expires)));
        Tracked {
            slot: Slot::Table(id),
            reply,
            state,
        }
    }

    /// Enters a pending flow into the table once its first packet is accepted. `false` when
    /// the table is full or the flow's reply tuple is taken: the packet is dropped.
    pub fn confirm(&mut self, slot: &mut Slot) -> bool {
        let Slot::Pending(conn) = std::mem::replace(slot, Slot::None) else {
            return true;
        };
        if self.len() >= self.max
            || self.index.contains_key(&conn.orig)
            || self.index.contains_key(&conn.reply)
        {
            self.stats.drop += 1;
            return false;
        }
        self.stats.new += 1;
        let (orig, reply, expires) = (conn.orig, conn.reply, conn.expires);
        let id = match self.free.pop() {
            Some(id) => {
                self.conns[id as usize] = Some(*conn);
                id
            }
            None => {
                self.conns.push(Some(*conn));
                (self.conns.len() - 1) as u32
            }
        };
        self.index.insert(orig, (id, false));
        self.index.insert(reply, (id, true));
        self.next_gc = Some(self.next_gc.map_or(expires, |g| g.min(expires)));
        *slot = Slot::Table(id);
        true
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_gc
    }

    /// Removes flows whose timeout ran out.
    pub fn expire(&mut self, now: Instant) {
        if self.next_gc.is_none_or(|t| t > now) {
            return;
        }
        let mut next: Option<Instant> = None;
        for id in 0..self.conns.len() {
            let Some(c) = &self.conns[id] else { continue };
            if c.expires <= now {
                self.index.remove(&c.orig);
                self.index.remove(&c.reply);
                self.conns[id] = None;
                self.free.push(id as u32);
                self.stats.expired += 1;
            } else {
                next = Some(next.map_or(c.expires, |n| n.min(c.expires)));
            }
        }
        self.next_gc = next;
    }

    /// Forgets every flow (`conntrack -F`).
    pub fn flush(&mut self) {
        self.conns.clear();
        self.free.clear();
        self.index.clear();
        self.next_gc = None;
    }

    /// Confirmed flows in creation order.
    pub fn flows(&self) -> Vec<&Conn> {
        let mut v: Vec<&Conn> = self.conns.iter().flatten().collect();
        v.sort_by_key(|c| c.seq);
        v
    }

    /// `conntrack -L [-p PROTO] [--src-nat] [--dst-nat]`, with the summary line the tool prints
    /// (on stderr, so after the list on a terminal).
    pub fn listing(&self, now: Instant, proto: Option<u8>, snat: bool, dnat: bool) -> String {
        let mut out = String::new();
        let mut n = 0;
        for c in self.flows() {
            if proto.is_some_and(|p| p != c.orig.proto) || (snat && !c.snat) || (dnat && !c.dnat) {
                continue;
            }
            n += 1;
            let name = match c.orig.proto {
                6 => "tcp",
                17 => "udp",
                1 => "icmp",
                _ => "unknown",
            };
            let left = c.expires.saturating_sub(now).nanos() / 1_000_000_000;
            let _ = write!(out, "{name:<8} {} {left} ", c.orig.proto);
            if c.orig.proto == 6 {
                let _ = write!(out, "{} ", c.tcp.name());
            }
            tuple_text(&mut out, &c.orig, c.icmp_type);
            if !c.seen_reply {
                out.push_str("[UNREPLIED] ");
            }
            tuple_text(&mut out, &c.reply, icmp_reply_type(c.icmp_type));
            if c.assured {
                out.push_str("[ASSURED] ");
            }
            out.push_str("mark=0 use=1\n");
        }
        let _ = writeln!(
            out,
            "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown."
        );
        out
    }
}

fn icmp_reply_type(t: u8) -> u8 {
    match t {
        8 => 0,
        13 => 14,
        15 => 16,
        17 => 18,
        other => other,
    }
}

fn tuple_text(out: &mut String, t: &Tuple, icmp_type: u8) {
    let _ = write!(out, "src={} dst={} ", t.src, t.dst);
    match t.proto {
        6 | 17 => {
            let _ = write!(out, "sport={} dport={} ", t.sport, t.dport);
        }
        1 => {
            let _ = write!(out, "type={icmp_type} code=0 id={} ", t.sport);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
