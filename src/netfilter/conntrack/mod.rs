//! Connection tracking: every flow has an original and a reply tuple; a packet is looked up by
//! its tuple in either direction. New flows wait as a pending entry until the packet that made
//! them is accepted at the last hook (`confirm`), as the kernel's unconfirmed list does, so a
//! dropped first packet leaves no entry. ICMP errors are RELATED to the flow whose packet they
//! quote. Timeouts are the kernel's defaults, in virtual time; the table is bounded.

mod index;
mod listing;

pub use listing::ListFilter;
pub mod tcp;

use smoltcp::wire::{
    Icmpv4Packet, IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket,
};

use super::packet::{AddrTypes, CtState};
use crate::time::{Duration, Instant};
use index::Index;
use tcp::{Segment, Step, TcpState};

/// `nf_conntrack_max` on the reference host.
pub const DEFAULT_MAX: usize = 262_144;
const UDP_TIMEOUT: Duration = Duration::from_secs(30);
const UDP_STREAM_TIMEOUT: Duration = Duration::from_secs(120);
const ICMP_TIMEOUT: Duration = Duration::from_secs(30);
const GENERIC_TIMEOUT: Duration = Duration::from_secs(600);
/// UDP traffic seen this long after creation, in both directions, makes a stream (ASSURED).
const UDP_STREAM_AFTER: Duration = Duration::from_secs(2);

/// One direction of a flow, of either family. For ICMP (and ICMPv6) queries the identifier
/// is the source "port" and the destination port is zero, so a request and its reply share a
/// key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub src: IpAddress,
    pub dst: IpAddress,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

impl Tuple {
    pub fn invert(self) -> Tuple {
        if is_icmp_proto(self.proto) {
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

pub(in crate::netfilter) fn ports(proto: IpProtocol, l4: &[u8]) -> Option<(u16, u16)> {
    match proto {
        IpProtocol::Tcp if l4.len() >= 4 => {
            let t = TcpPacket::new_unchecked(l4);
            Some((t.src_port(), t.dst_port()))
        }
        IpProtocol::Udp if l4.len() >= 4 => {
            let u = UdpPacket::new_unchecked(l4);
            Some((u.src_port(), u.dst_port()))
        }
        IpProtocol::Icmp | IpProtocol::Icmpv6 if l4.len() >= 8 => {
            Some((u16::from_be_bytes([l4[4], l4[5]]), 0))
        }
        _ => None,
    }
}

/// ICMP types that are errors about another packet.
pub fn is_icmp_error(kind: u8) -> bool {
    matches!(kind, 3 | 4 | 5 | 11 | 12)
}

/// ICMPv6 errors (types below 128) quote the packet they are about.
pub fn is_icmpv6_error(kind: u8) -> bool {
    kind < 128
}

/// ICMP or ICMPv6: the protocols whose queries conntrack keys by identifier.
pub fn is_icmp_proto(proto: u8) -> bool {
    proto == 1 || proto == 58
}

/// The queries conntrack starts a flow for (`icmp_new`, `icmpv6_new`): echo, timestamp and
/// information requests; ICMPv6 echo and node information queries.
fn is_icmp_query(proto: u8, kind: u8) -> bool {
    match proto {
        58 => matches!(kind, 128 | 139),
        _ => matches!(kind, 8 | 13 | 15 | 17),
    }
}

/// An IPv6 packet's upper-layer header: its protocol, where it starts and whether the packet
/// is a fragment other than the first (whose ports are not there). Hop-by-hop, routing,
/// destination options and fragment headers are walked (`ipv6_skip_exthdr`); `None` for a
/// packet too short for the headers it announces.
pub fn ipv6_upper(ip: &[u8]) -> Option<(u8, usize, bool)> {
    let mut next = *ip.get(6)?;
    let mut at = 40;
    let mut later_fragment = false;
    loop {
        match next {
            0 | 43 | 60 => {
                let h = ip.get(at..at + 2)?;
                next = h[0];
                at += (usize::from(h[1]) + 1) * 8;
            }
            44 => {
                let h = ip.get(at..at + 8)?;
                next = h[0];
                later_fragment = u16::from_be_bytes([h[2], h[3]]) & 0xfff8 != 0;
                at += 8;
                if later_fragment {
                    return Some((next, at, true));
                }
            }
            _ => return (at <= ip.len()).then_some((next, at, later_fragment)),
        }
    }
}

impl Flow {
    /// Reads an IPv4 or IPv6 packet (already checked by the caller's header validation).
    pub fn parse(ip: &[u8]) -> Option<Flow> {
        match ip.first()? >> 4 {
            4 => Flow::parse_v4(ip),
            6 => Flow::parse_v6(ip),
            _ => None,
        }
    }

    fn parse_v6(ip: &[u8]) -> Option<Flow> {
        let p = Ipv6Packet::new_checked(ip).ok()?;
        let (proto, at, later) = ipv6_upper(ip)?;
        let end = (40 + usize::from(p.payload_len())).min(ip.len());
        let l4 = ip.get(at..end.max(at))?;
        let iproto = IpProtocol::from(proto);
        let (sport, dport) = if later {
            (0, 0)
        } else {
            ports(iproto, l4).unwrap_or((0, 0))
        };
        let mut flow = Flow {
            tuple: Tuple {
                src: IpAddress::Ipv6(p.src_addr()),
                dst: IpAddress::Ipv6(p.dst_addr()),
                proto,
                sport,
                dport,
            },
            tcp_flags: None,
            icmp: None,
            quoted: None,
        };
        match iproto {
            IpProtocol::Tcp if l4.len() >= 14 && !later => flow.tcp_flags = Some(l4[13]),
            IpProtocol::Icmpv6 if l4.len() >= 8 && !later => {
                let (kind, code) = (l4[0], l4[1]);
                flow.icmp = Some((kind, code));
                if is_icmpv6_error(kind) {
                    flow.tuple.sport = 0;
                    let inner = &l4[8..];
                    if inner.len() >= 40 && inner[0] >> 4 == 6 {
                        // The quoted packet may be cut short: its headers are what count.
                        let q = Ipv6Packet::new_unchecked(inner);
                        let (qproto, qat, _) =
                            ipv6_upper(inner).unwrap_or((q.next_header().into(), 40, false));
                        let ql4 = inner.get(qat..).unwrap_or(&[]);
                        let (s, d) = ports(IpProtocol::from(qproto), ql4).unwrap_or((0, 0));
                        flow.quoted = Some(Tuple {
                            src: IpAddress::Ipv6(q.src_addr()),
                            dst: IpAddress::Ipv6(q.dst_addr()),
                            proto: qproto,
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

    fn parse_v4(ip: &[u8]) -> Option<Flow> {
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
                src: IpAddress::Ipv4(p.src_addr()),
                dst: IpAddress::Ipv4(p.dst_addr()),
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
                            src: IpAddress::Ipv4(inner.src_addr()),
                            dst: IpAddress::Ipv4(inner.dst_addr()),
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

/// The target that made a flow's source or destination NAT, for notes (a byte where its
/// name would take sixteen: the flow stays within two cache lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NatBy {
    #[default]
    None,
    Masquerade,
    Snat,
    Dnat,
    Redirect,
    Netmap,
}

impl NatBy {
    /// The target's name (empty for none).
    pub fn name(self) -> &'static str {
        match self {
            NatBy::None => "",
            NatBy::Masquerade => "MASQUERADE",
            NatBy::Snat => "SNAT",
            NatBy::Dnat => "DNAT",
            NatBy::Redirect => "REDIRECT",
            NatBy::Netmap => "NETMAP",
        }
    }
}

/// One tracked connection. An entry fills two cache lines, aligned to them: a lookup in a large
/// table costs one line from memory.
#[derive(Clone, Debug)]
#[repr(align(64))]
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
    /// The targets that made the source and destination NAT (`MASQUERADE`, `SNAT`,
    /// `DNAT`, `REDIRECT`), for notes.
    pub snat_by: NatBy,
    pub dnat_by: NatBy,
    /// The destination (PREROUTING/OUTPUT) and source (POSTROUTING/INPUT) NAT decisions were
    /// made, a null binding included: later packets skip those nat chains
    /// (`nf_nat_initialized`).
    pub dst_nat_done: bool,
    pub src_nat_done: bool,
    /// The ICMP query type of the original direction.
    pub icmp_type: u8,
    /// The connection's mark (`ct->mark`), set by `CONNMARK`.
    pub mark: u32,
    seq: u64,
}

impl Conn {
    fn timeout(&self) -> Duration {
        match self.orig.proto {
            6 => self.tcp.timeout(),
            17 if self.assured => UDP_STREAM_TIMEOUT,
            17 => UDP_TIMEOUT,
            1 | 58 => ICMP_TIMEOUT,
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

/// The result of tracking one packet, carried with it from hook to hook.
#[derive(Clone, Debug)]
pub struct Tracked {
    pub slot: Slot,
    /// The packet travels in the flow's reply direction.
    pub reply: bool,
    pub state: CtState,
    /// The packet's addresses as the last hook's rules saw them classed.
    pub addr_types: Option<AddrTypes>,
    /// The packet's mark (`skb->mark`), as `MARK` and `CONNMARK --restore-mark` left it:
    /// 0 for a packet received or made, kept from hook to hook. Policy routing
    /// (`ip rule fwmark`) would read it between PREROUTING and the route lookup.
    pub mark: u32,
    /// The packet's addresses, ports and ICMP fields, read once per hop by its first hook
    /// and again only after NAT rewrote them (`None` until then): the hooks share it.
    pub flow: Option<Flow>,
}

impl Tracked {
    fn new(slot: Slot, reply: bool, state: CtState) -> Tracked {
        Tracked {
            slot,
            reply,
            state,
            addr_types: None,
            mark: 0,
            flow: None,
        }
    }

    /// An untracked (INVALID) packet.
    pub fn invalid() -> Tracked {
        Tracked::new(Slot::None, false, CtState::Invalid)
    }

    /// A packet the raw table exempted from tracking (`-j CT --notrack`).
    pub fn untracked() -> Tracked {
        Tracked::new(Slot::None, false, CtState::Untracked)
    }
}

/// What became of a new flow at confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// In the table (or not a new flow).
    Entered,
    /// Dropped: the table holds `nf_conntrack_max` flows already.
    TableFull,
    /// Dropped: another flow holds one of its tuples.
    Clash,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CtStats {
    pub found: u64,
    pub new: u64,
    pub invalid: u64,
    /// New flows dropped because the table was full (`nf_conntrack: table full`).
    pub drop: u64,
    /// New flows dropped because a flow already held one of their tuples (a NAT clash).
    pub insert_failed: u64,
    pub expired: u64,
}

#[derive(Debug)]
pub struct Conntrack {
    /// The slab of flows; a flow's id is its place here.
    conns: Vec<Option<Conn>>,
    free: Vec<u32>,
    /// Both tuples of every flow, to its id and direction.
    index: Index,
    max: usize,
    /// The most flows `index` can tell apart (the largest `max` so far).
    capacity: usize,
    seq: u64,
    next_gc: Option<Instant>,
    pub stats: CtStats,
}

impl Conntrack {
    pub fn new(max: usize) -> Conntrack {
        Conntrack {
            conns: Vec::new(),
            free: Vec::new(),
            index: Index::new(max.min(Index::MAX_FLOWS)),
            // Ids must fit the index's buckets.
            max: max.min(Index::MAX_FLOWS),
            capacity: max.min(Index::MAX_FLOWS),
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
        self.find(t).is_some()
    }

    /// The flow with tuple `t` in either direction: its id, and whether `t` is its reply.
    fn find(&self, t: &Tuple) -> Option<(u32, bool)> {
        self.index.find(index::hash(t), |id, reply| {
            self.conns
                .get(id as usize)
                .and_then(Option::as_ref)
                .is_some_and(|c| if reply { c.reply == *t } else { c.orig == *t })
        })
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
        let invalid = Tracked::invalid();
        // Neighbour discovery and MLD are never tracked (`noct_valid_new`).
        if flow.tuple.proto == 58 && flow.icmp.is_some_and(|(t, _)| matches!(t, 130..=136 | 143)) {
            return Tracked::untracked();
        }
        if let Some(q) = flow.quoted {
            // The error travels back toward the quoted packet's sender: its inverted tuple is
            // the direction the error itself travels in (`icmp_error_message`).
            return match self.find(&q.invert()) {
                Some((id, dir)) => {
                    self.stats.found += 1;
                    Tracked::new(Slot::Table(id), dir, CtState::Related)
                }
                None => {
                    self.stats.invalid += 1;
                    invalid
                }
            };
        }
        if let Some((id, reply)) = self.find(&flow.tuple) {
            // A SYN that reopens a closed connection's tuple (TIME_WAIT, CLOSE) ends the old
            // flow: the packet is looked up again and starts a new one, NAT decided afresh
            // (`tcp_packet`'s `nf_ct_kill` and `-NF_REPEAT`, RFC 1122's reopening).
            let reopens = !reply
                && flow.tcp_flags.map(Segment::of) == Some(Segment::Syn)
                && self.conns[id as usize]
                    .as_ref()
                    .is_some_and(|c| matches!(c.tcp, TcpState::TimeWait | TcpState::Close));
            if !reopens {
                self.stats.found += 1;
                return self.advance(now, id, reply, flow);
            }
            self.forget(id as usize);
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
        if is_icmp_proto(flow.tuple.proto) && !is_icmp_query(flow.tuple.proto, icmp_type) {
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
            snat_by: NatBy::None,
            dnat_by: NatBy::None,
            mark: 0,
            dst_nat_done: false,
            src_nat_done: false,
            icmp_type,
            seq: self.seq,
        };
        conn.expires = now + conn.timeout();
        Tracked::new(Slot::Pending(Box::new(conn)), false, CtState::New)
    }

    fn advance(&mut self, now: Instant, id: u32, reply: bool, flow: &Flow) -> Tracked {
        let Some(conn) = self.conns.get_mut(id as usize).and_then(Option::as_mut) else {
            return Tracked::new(Slot::None, reply, CtState::Invalid);
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
        Tracked::new(Slot::Table(id), reply, state)
    }

    /// Enters a pending flow into the table once its first packet is accepted. Otherwise the
    /// packet is dropped: the table is full (`nf_conntrack_max`), or another flow holds the
    /// flow's reply tuple.
    pub fn confirm(&mut self, slot: &mut Slot) -> Confirm {
        let Slot::Pending(conn) = std::mem::replace(slot, Slot::None) else {
            return Confirm::Entered;
        };
        if self.len() >= self.max {
            self.stats.drop += 1;
            return Confirm::TableFull;
        }
        if self.tuple_in_use(&conn.orig) || self.tuple_in_use(&conn.reply) {
            self.stats.insert_failed += 1;
            return Confirm::Clash;
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
        // A flow whose reply tuple is its original one (a host talking to itself from and to
        // one port) is found as a reply, one bucket counted.
        let rehash = rehash(&self.conns);
        if orig != reply {
            self.index.insert(index::hash(&orig), id, false, &rehash);
        }
        self.index.insert(index::hash(&reply), id, true, rehash);
        self.next_gc = Some(self.next_gc.map_or(expires, |g| g.min(expires)));
        *slot = Slot::Table(id);
        Confirm::Entered
    }

    /// `nf_conntrack_max`: the most flows the table holds. Lowering it below the flows in the
    /// table drops none of them; new flows are refused until enough have gone.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Sets `nf_conntrack_max`. The index tells flows apart by as many id bits as the
    /// largest table it was made for: a larger one is a new index with the flows re-entered.
    pub fn set_max(&mut self, max: usize) {
        let max = max.min(Index::MAX_FLOWS);
        if max > self.capacity {
            let mut index = Index::new(max);
            let rehash = rehash(&self.conns);
            for (id, c) in self.conns.iter().enumerate() {
                let Some(c) = c else { continue };
                if c.orig != c.reply {
                    index.insert(index::hash(&c.orig), id as u32, false, &rehash);
                }
                index.insert(index::hash(&c.reply), id as u32, true, &rehash);
            }
            self.index = index;
            self.capacity = max;
        }
        self.max = max;
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
                self.forget(id);
                self.stats.expired += 1;
            } else {
                next = Some(next.map_or(c.expires, |n| n.min(c.expires)));
            }
        }
        self.next_gc = next;
    }

    /// Deletes the flows `doomed` picks (`conntrack -D` with filters); returns how many.
    pub fn delete_where(&mut self, doomed: impl Fn(&Conn) -> bool) -> usize {
        let mut n = 0;
        for id in 0..self.conns.len() {
            let Some(c) = &self.conns[id] else { continue };
            if !doomed(c) {
                continue;
            }
            self.forget(id);
            n += 1;
        }
        n
    }

    /// Takes flow `id` out of the table and its index; its slot is free again.
    fn forget(&mut self, id: usize) {
        let Some(c) = &self.conns[id] else { return };
        let (id32, rehash) = (id as u32, rehash(&self.conns));
        self.index
            .remove(index::hash(&c.orig), id32, false, &rehash);
        self.index.remove(index::hash(&c.reply), id32, true, rehash);
        self.conns[id] = None;
        self.free.push(id as u32);
    }

    /// Forgets every flow (`conntrack -F`).
    pub fn flush(&mut self) {
        self.conns.clear();
        self.free.clear();
        self.index.clear();
        self.next_gc = None;
    }

    /// Enters `tuple` as a flow that has seen both directions, its NAT decided as none: the
    /// `state ESTABLISHED` of a packet `hoplab explain` sends, so that the packet is looked up
    /// as the kernel would look up one of a running connection. False when a flow already
    /// holds either direction's tuple (that flow decides the packet's state) or the table is
    /// full.
    pub fn establish(&mut self, now: Instant, tuple: Tuple) -> bool {
        if self.tuple_in_use(&tuple) || self.tuple_in_use(&tuple.invert()) {
            return false;
        }
        self.seq += 1;
        let mut conn = Conn {
            orig: tuple,
            reply: tuple.invert(),
            tcp: match tuple.proto {
                6 => TcpState::Established,
                _ => TcpState::None,
            },
            seen_reply: true,
            assured: true,
            created: now,
            expires: now,
            snat: false,
            dnat: false,
            snat_by: NatBy::None,
            dnat_by: NatBy::None,
            mark: 0,
            dst_nat_done: true,
            src_nat_done: true,
            icmp_type: match tuple.proto {
                1 => 8,
                58 => 128,
                _ => 0,
            },
            seq: self.seq,
        };
        conn.expires = now + conn.timeout();
        let mut slot = Slot::Pending(Box::new(conn));
        matches!(self.confirm(&mut slot), Confirm::Entered)
    }

    /// Confirmed flows in creation order.
    pub fn flows(&self) -> Vec<&Conn> {
        let mut v: Vec<&Conn> = self.conns.iter().flatten().collect();
        v.sort_by_key(|c| c.seq);
        v
    }
}

/// The hash of an entered flow's tuple in one direction, for the index to find its home.
fn rehash(conns: &[Option<Conn>]) -> impl Fn(u32, bool) -> u64 + '_ {
    |id, reply| match conns.get(id as usize) {
        Some(Some(c)) => index::hash(if reply { &c.reply } else { &c.orig }),
        _ => 0,
    }
}

#[cfg(test)]
mod tests;

impl crate::netfilter::packet::ConnQuery for Conntrack {
    fn alive(&self, src: IpAddress, dst: IpAddress, proto: u8, keys: (u16, u16)) -> bool {
        let t = Tuple {
            src,
            dst,
            proto,
            sport: keys.0,
            dport: keys.1,
        };
        match self.find(&t) {
            Some((id, false)) => self
                .conns
                .get(id as usize)
                .and_then(Option::as_ref)
                .is_some_and(|c| {
                    c.orig.proto != 6 || !matches!(c.tcp, TcpState::TimeWait | TcpState::Close)
                }),
            _ => false,
        }
    }
}
