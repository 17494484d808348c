//! The hook sequence of the module doc's diagram, for one packet at a time: conntrack, the
//! tables in priority order, NAT decided on a flow's first packet and applied from the flow's
//! tuples afterwards, and confirmation at the last hook. The caller (the router) does the
//! routing between hooks and carries a packet's `Tracked` from hook to hook.

use smoltcp::wire::{Icmpv4Packet, Ipv4Address, Ipv4Packet};

use super::conntrack::{Confirm, Conntrack, Flow, Slot, Tracked};
use super::nat::{self, Manip};
use super::packet::{
    AddrType, AddrTypes, CtDetail, CtState, CtView, Hook, Marks, NatAction, PacketView, RejectWith,
    Table, Verdict,
};
use super::tcpmss;
use crate::rand::Rng;
use crate::time::Instant;

/// The rule engine, as the hooks call it.
pub trait Rules {
    /// Runs `hook`'s built-in chain of `table` for the packet.
    fn run(&mut self, table: Table, hook: Hook, pkt: &PacketView<'_>, now: Instant) -> Verdict;

    /// True when running the chain could only accept, with nothing to count, log or trace
    /// (no rules, an ACCEPT policy that was never set, no tracing): the hooks then pass it
    /// by without reading the packet for it. `false` is always correct.
    fn passes_all(&self, _table: Table, _hook: Hook) -> bool {
        false
    }

    /// A line the kernel logs (dmesg), such as conntrack's "table full".
    fn kernel_log(&mut self, _now: Instant, _line: &str) {}

    /// The TCPMSS rules that matched since the last call (none by default).
    fn take_tcpmss(&mut self) -> Option<tcpmss::Pending> {
        None
    }

    /// The packet's and its connection's marks, if the last `run` changed them (`MARK`,
    /// `CONNMARK`); none by default.
    fn take_marks(&mut self) -> Option<Marks> {
        None
    }

    /// The IP header's (TOS, TTL) if the last `run`'s header targets (`TTL`, `DSCP`, `TOS`)
    /// rewrote them; none by default.
    fn take_hdr(&mut self) -> Option<(u8, u8)> {
        None
    }

    /// [`Rules::run`] with conntrack to ask (`-m connlimit`); by default conntrack is not
    /// asked.
    fn run_with(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn super::packet::ConnQuery,
    ) -> Verdict {
        let _ = conns;
        self.run(table, hook, pkt, now)
    }

    /// The bridge ports of the frames run next (`-m physdev`): a bridge under br_netfilter
    /// says them; nothing by default.
    fn set_physdev(&mut self, _ports: Option<(&str, Option<&str>)>) {}

    /// Whether the raw table just left the packet UNTRACKED (`-j CT --notrack`); false by
    /// default.
    fn take_untracked(&mut self) -> bool {
        false
    }
}

/// What the host knows that rules ask about.
pub trait Env {
    fn addr_type(&self, addr: Ipv4Address) -> AddrType;

    /// The MTU of the route to `addr` (TCPMSS's `--clamp-mss-to-pmtu`); None when unknown.
    fn route_mtu(&self, _addr: Ipv4Address) -> Option<u32> {
        None
    }

    /// `rpfilter_lookup_reverse`: the route to `src` is unicast (or local, with
    /// `accept_local`) and leaves by `iif` (or by any interface, `loose`); None when the host
    /// has no routing table to ask.
    fn reverse_path(
        &self,
        _src: Ipv4Address,
        _iif: &str,
        _accept_local: bool,
        _loose: bool,
    ) -> Option<bool> {
        None
    }

    /// `-m socket`: the local socket for a packet, if any (see
    /// [`super::packet::ConnQuery::local_socket`]); none by default.
    fn local_socket(
        &self,
        _proto: u8,
        _remote: (Ipv4Address, u16),
        _local: (Ipv4Address, u16),
    ) -> Option<bool> {
        None
    }
}

/// What rules may ask of the host and conntrack at once.
struct Ask<'a> {
    conns: &'a Conntrack,
    env: &'a dyn Env,
}

impl super::packet::ConnQuery for Ask<'_> {
    fn alive(&self, src: Ipv4Address, dst: Ipv4Address, proto: u8, keys: (u16, u16)) -> bool {
        self.conns.alive(src, dst, proto, keys)
    }

    fn reverse_path(
        &self,
        src: Ipv4Address,
        iif: &str,
        accept_local: bool,
        loose: bool,
    ) -> Option<bool> {
        self.env.reverse_path(src, iif, accept_local, loose)
    }

    fn local_socket(
        &self,
        proto: u8,
        remote: (Ipv4Address, u16),
        local: (Ipv4Address, u16),
    ) -> Option<bool> {
        self.env.local_socket(proto, remote, local)
    }
}

/// What a hook call needs besides the packet: the time, what the host knows, the rules.
pub struct Cx<'a> {
    pub now: Instant,
    pub env: &'a dyn Env,
    pub rules: &'a mut dyn Rules,
    /// The Ethernet header of the frame being handled, when it was received (LOG's `MAC=`).
    pub mac: Option<[u8; 14]>,
}

/// What becomes of the packet after a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Continue,
    Drop,
    /// Dropped: a new flow found the conntrack table full (`nf_conntrack_max`).
    TableFull,
    Reject(RejectWith),
}

pub struct Netfilter {
    pub conntrack: Conntrack,
    rng: Rng,
    /// Record what NAT rewrites (`rewrites`), for capture comments: off where nothing reads
    /// them, so the NAT path formats nothing.
    pub detail: bool,
    /// Rewrites since the caller last drained them.
    pub rewrites: Vec<Rewrite>,
    /// The mark the next received packet starts with (`skb->mark`, 0 for every frame off a
    /// wire); `hoplab explain --packet "... mark M"` sets it for the one packet it sends.
    pub rx_mark: u32,
}

/// One NAT rewrite of a packet: which target's binding, in which direction, and the address
/// and port before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrite {
    /// `MASQUERADE`, `SNAT`, `DNAT` or `REDIRECT`.
    pub by: &'static str,
    /// A reply, un-NATed.
    pub reply: bool,
    /// The source changed (else the destination).
    pub source: bool,
    pub before: (Ipv4Address, u16),
    pub after: (Ipv4Address, u16),
}

/// Reads what rules match on from an IPv4 datagram.
pub fn view<'a>(
    ip: &'a [u8],
    in_iface: Option<&'a str>,
    out_iface: Option<&'a str>,
    ct: Option<CtView>,
    env: &dyn Env,
) -> Option<PacketView<'a>> {
    view_classed(ip, (in_iface, out_iface), ct, env, &mut None)
}

/// [`view`], asking the host to class only an address that `known` has no class for; `known`
/// is left with the packet's classes.
fn view_classed<'a>(
    ip: &'a [u8],
    (in_iface, out_iface): (Option<&'a str>, Option<&'a str>),
    ct: Option<CtView>,
    env: &dyn Env,
    known: &mut Option<AddrTypes>,
) -> Option<PacketView<'a>> {
    let p = Ipv4Packet::new_checked(ip).ok()?;
    let fragment = p.frag_offset() != 0;
    let l4 = p.payload();
    let proto = u8::from(p.next_header());
    let ports = |l4: &[u8]| {
        (l4.len() >= 4).then(|| {
            (
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            )
        })
    };
    let (mut sport, mut dport, mut tcp_flags, mut icmp) = (None, None, None, None);
    if !fragment {
        match proto {
            6 | 17 => {
                if let Some((s, d)) = ports(l4) {
                    sport = Some(s);
                    dport = Some(d);
                }
                if proto == 6 && l4.len() >= 14 {
                    tcp_flags = Some(l4[13]);
                }
            }
            1 => {
                icmp = Icmpv4Packet::new_checked(l4)
                    .ok()
                    .map(|i| (u8::from(i.msg_type()), i.msg_code()));
            }
            _ => {}
        }
    }
    let (src, dst) = (p.src_addr(), p.dst_addr());
    let class = |addr: Ipv4Address, seen: Option<(Ipv4Address, AddrType)>| match seen {
        Some((a, t)) if a == addr => t,
        _ => env.addr_type(addr),
    };
    let types = AddrTypes {
        src: (src, class(src, known.map(|k| k.src))),
        dst: (dst, class(dst, known.map(|k| k.dst))),
    };
    *known = Some(types);
    Some(PacketView {
        len: u32::from(p.total_len()),
        src,
        dst,
        proto,
        sport,
        dport,
        tcp_flags,
        icmp,
        fragment,
        in_iface,
        out_iface,
        ct,
        src_type: types.src.1,
        dst_type: types.dst.1,
        ip,
        mac: None,
        mark: 0,
    })
}

/// A packet's source or destination address and port (0 when it has none).
fn endpoint(ip: &[u8], source: bool) -> (Ipv4Address, u16) {
    let Ok(p) = Ipv4Packet::new_checked(ip) else {
        return (Ipv4Address::UNSPECIFIED, 0);
    };
    // An ICMP query's identifier stands for its port in conntrack, not in a note.
    let ports = match p.next_header() {
        smoltcp::wire::IpProtocol::Icmp => (0, 0),
        proto => super::conntrack::ports(proto, p.payload()).unwrap_or((0, 0)),
    };
    match source {
        true => (p.src_addr(), ports.0),
        false => (p.dst_addr(), ports.1),
    }
}

impl Netfilter {
    pub fn new(max_flows: usize, rng: Rng) -> Netfilter {
        Netfilter {
            conntrack: Conntrack::new(max_flows),
            rng,
            detail: false,
            rewrites: Vec::new(),
            rx_mark: 0,
        }
    }

    fn ct_view(&self, tr: &Tracked) -> Option<CtView> {
        let c = self.conntrack.conn(&tr.slot);
        Some(match c {
            Some(c) => CtView {
                state: tr.state,
                orig_src: c.orig.src,
                orig_dst: c.orig.dst,
                orig_sport: (c.orig.proto != 1).then_some(c.orig.sport),
                orig_dport: (c.orig.proto != 1).then_some(c.orig.dport),
                reply: tr.reply,
                snat: c.snat,
                dnat: c.dnat,
                mark: c.mark,
                detail: {
                    let confirmed = matches!(tr.slot, Slot::Table(_));
                    let ports = c.reply.proto != 1;
                    CtDetail {
                        repl_src: c.reply.src,
                        repl_dst: c.reply.dst,
                        repl_sport: ports.then_some(c.reply.sport),
                        repl_dport: ports.then_some(c.reply.dport),
                        proto: c.orig.proto,
                        status: u32::from(c.seen_reply) << 1
                            | u32::from(c.assured) << 2
                            | u32::from(confirmed) << 3,
                        expires: confirmed.then_some(c.expires),
                        orig_keys: (c.orig.sport, c.orig.dport),
                    }
                },
            },
            None => CtView {
                state: tr.state,
                orig_src: Ipv4Address::UNSPECIFIED,
                orig_dst: Ipv4Address::UNSPECIFIED,
                orig_sport: None,
                orig_dport: None,
                reply: false,
                snat: false,
                dnat: false,
                mark: 0,
                detail: CtDetail::default(),
            },
        })
    }

    /// Runs the tables of a hook in priority order; the nat table only for a flow's first
    /// packet, recording its binding.
    #[allow(clippy::too_many_arguments)]
    fn run_tables(
        &mut self,
        cx: &mut Cx<'_>,
        hook: Hook,
        tables: &[Table],
        ip: &mut [u8],
        in_iface: Option<&str>,
        out_iface: Option<&str>,
        tr: &mut Tracked,
        nat_addr: Option<Ipv4Address>,
    ) -> Fate {
        let src_manip = matches!(hook, Hook::Postrouting | Hook::Input);
        // Only a flow's first packet, in its original direction, meets the nat chains of each
        // kind, once.
        let nat_due = tr.state == CtState::New
            && !tr.reply
            && self.conntrack.conn(&tr.slot).is_some_and(|c| {
                !if src_manip {
                    c.src_nat_done
                } else {
                    c.dst_nat_done
                }
            });
        // The packet is read once, when a chain first needs it, and again only after a
        // table's header targets (TTL, DSCP, TOS) rewrote it; in between only its conntrack
        // view changes, after a NAT binding.
        let mut mss = tcpmss::Pending::default();
        let mut from = 0;
        let mut any_read = false;
        loop {
            let mut read: Option<PacketView<'_>> = None;
            let mut rewrite = None;
            for (i, &table) in tables.iter().enumerate().skip(from) {
                if table == Table::Nat {
                    if !nat_due {
                        continue;
                    }
                    self.nat_decided(tr, src_manip);
                }
                if cx.rules.passes_all(table, hook) {
                    continue;
                }
                let pkt = match &mut read {
                    Some(pkt) => pkt,
                    None => {
                        let ct = self.ct_view(tr);
                        let ifaces = (in_iface, out_iface);
                        let known = &mut tr.addr_types;
                        let Some(mut pkt) = view_classed(ip, ifaces, ct, cx.env, known) else {
                            return Fate::Drop;
                        };
                        pkt.mac = cx.mac;
                        pkt.mark = tr.mark;
                        read.insert(pkt)
                    }
                };
                let ask = Ask {
                    conns: &self.conntrack,
                    env: cx.env,
                };
                let verdict = cx.rules.run_with(table, hook, pkt, cx.now, &ask);
                if let Some(m) = cx.rules.take_tcpmss() {
                    mss.merge(m);
                }
                if let Some(m) = cx.rules.take_marks() {
                    self.set_marks(tr, m);
                    pkt.mark = m.mark;
                    pkt.ct = self.ct_view(tr);
                }
                match verdict {
                    Verdict::Accept => {}
                    Verdict::Drop => return Fate::Drop,
                    Verdict::Reject(with) => return Fate::Reject(with),
                    Verdict::Nat(action) => {
                        if !self.bind(tr, action, hook, nat_addr) {
                            return Fate::Drop;
                        }
                        pkt.ct = self.ct_view(tr);
                    }
                }
                if let Some(hdr) = cx.rules.take_hdr() {
                    rewrite = Some(hdr);
                    from = i + 1;
                    break;
                }
            }
            any_read |= read.is_some();
            match rewrite {
                Some(hdr) => crate::netfilter::rules::rewrite_tos_ttl(ip, hdr),
                None => break,
            }
        }
        if !any_read {
            // A chain would have dropped a packet it could not read, had one run; none ran,
            // so no TCPMSS rule matched either.
            return match Ipv4Packet::new_checked(&*ip) {
                Ok(_) => Fate::Continue,
                Err(_) => Fate::Drop,
            };
        }
        if mss != tcpmss::Pending::default() {
            let route_mtu = |a| cx.env.route_mtu(a);
            if tcpmss::mangle(ip, mss, &route_mtu) == tcpmss::Outcome::Drop {
                return Fate::Drop;
            }
        }
        Fate::Continue
    }

    /// Carries what `MARK`/`CONNMARK` rules left: the mark with the packet, the connection's
    /// mark into its entry (a packet without a connection has none to set).
    fn set_marks(&mut self, tr: &mut Tracked, m: Marks) {
        tr.mark = m.mark;
        if matches!(tr.state, CtState::Invalid | CtState::Untracked) {
            return;
        }
        if let Some(c) = self.conntrack.conn_mut(&mut tr.slot) {
            c.mark = m.ctmark;
        }
    }

    /// Marks the flow's source or destination NAT as decided: later packets skip those nat
    /// chains, even if the decision was no binding.
    fn nat_decided(&mut self, tr: &mut Tracked, src_manip: bool) {
        if let Some(c) = self.conntrack.conn_mut(&mut tr.slot) {
            if src_manip {
                c.src_nat_done = true;
            } else {
                c.dst_nat_done = true;
            }
        }
    }

    /// Records a NAT target's binding on the (pending) flow; false when it cannot be made
    /// (MASQUERADE without an address, ports exhausted): the packet is dropped.
    fn bind(
        &mut self,
        tr: &mut Tracked,
        action: NatAction,
        hook: Hook,
        addr: Option<Ipv4Address>,
    ) -> bool {
        let (egress, ingress) = match hook {
            Hook::Postrouting | Hook::Input => (addr, None),
            _ => (None, addr),
        };
        let Slot::Pending(conn) = &mut tr.slot else {
            return true;
        };
        let dst = matches!(hook, Hook::Prerouting | Hook::Output);
        let netmap = matches!(action, NatAction::Netmap { .. });
        let action = nat::netmap(action, dst, &conn.orig);
        let ok = nat::bind(
            &self.conntrack,
            conn,
            action,
            egress,
            ingress,
            &mut self.rng,
        )
        .is_ok();
        if netmap {
            match dst {
                true => conn.dnat_by = "NETMAP",
                false => conn.snat_by = "NETMAP",
            }
        }
        ok
    }

    fn translate(&mut self, tr: &mut Tracked, manip: Manip, ip: &mut [u8]) {
        if matches!(tr.state, CtState::Invalid | CtState::Untracked) {
            return;
        }
        let Some(c) = self.conntrack.conn(&tr.slot) else {
            return;
        };
        if !self.detail {
            nat::apply(c, tr.reply, manip, ip);
            return;
        }
        let source = manip == Manip::Src;
        let before = endpoint(ip, source);
        if nat::apply(c, tr.reply, manip, ip) {
            // A reply's source is undone by the destination NAT and its destination by the
            // source NAT.
            let by = match (source, tr.reply) {
                (true, false) | (false, true) => c.snat_by,
                _ => c.dnat_by,
            };
            self.rewrites.push(Rewrite {
                by,
                reply: tr.reply,
                source,
                before,
                after: endpoint(ip, source),
            });
        }
    }

    fn track(&mut self, now: Instant, ip: &[u8]) -> Tracked {
        self.conntrack.expire(now);
        match Flow::parse(ip) {
            Some(flow) => self.conntrack.track(now, &flow),
            None => Tracked::invalid(),
        }
    }

    /// The raw table, before conntrack (priority -300 against -200): a packet it drops never
    /// touches its flow, and its rules see no conntrack state (`--ctstate INVALID`).
    fn raw(
        &mut self,
        cx: &mut Cx<'_>,
        hook: Hook,
        ip: &mut [u8],
        (in_iface, out_iface): (Option<&str>, Option<&str>),
    ) -> (Fate, Option<AddrTypes>, u32) {
        let mut pre = Tracked::invalid();
        if hook == Hook::Prerouting {
            pre.mark = std::mem::take(&mut self.rx_mark);
        }
        let fate = self.run_tables(
            cx,
            hook,
            &[Table::Raw],
            ip,
            in_iface,
            out_iface,
            &mut pre,
            None,
        );
        (fate, pre.addr_types, pre.mark)
    }

    /// PREROUTING of a received packet: raw, conntrack, mangle, nat (DNAT; REDIRECT to
    /// `in_addr`), then the destination rewrite.
    pub fn prerouting(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        in_iface: &str,
        in_addr: Option<Ipv4Address>,
    ) -> (Fate, Tracked) {
        let (fate, classes, mark) = self.raw(cx, Hook::Prerouting, ip, (Some(in_iface), None));
        if fate != Fate::Continue {
            return (fate, Tracked::invalid());
        }
        let mut tr = match cx.rules.take_untracked() {
            true => Tracked::untracked(),
            false => self.track(cx.now, ip),
        };
        tr.addr_types = classes;
        tr.mark = mark;
        let tables = [Table::Mangle, Table::Nat];
        let fate = self.run_tables(
            cx,
            Hook::Prerouting,
            &tables,
            ip,
            Some(in_iface),
            None,
            &mut tr,
            in_addr,
        );
        if fate == Fate::Continue {
            self.translate(&mut tr, Manip::Dst, ip);
        }
        (fate, tr)
    }

    /// FORWARD: mangle and filter.
    pub fn forward(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        in_iface: &str,
        out_iface: &str,
    ) -> Fate {
        let tables = [Table::Mangle, Table::Filter];
        self.run_tables(
            cx,
            Hook::Forward,
            &tables,
            ip,
            Some(in_iface),
            Some(out_iface),
            tr,
            None,
        )
    }

    /// The last hook before a packet leaves (POSTROUTING) or is delivered (INPUT: mangle and
    /// filter first): nat (SNAT, or MASQUERADE from `addr`), the source rewrite, then
    /// confirmation of a new flow.
    fn last_hook(
        &mut self,
        cx: &mut Cx<'_>,
        hook: Hook,
        ip: &mut [u8],
        tr: &mut Tracked,
        ifaces: (Option<&str>, Option<&str>),
        addr: Option<Ipv4Address>,
    ) -> Fate {
        let tables: &[Table] = if hook == Hook::Input {
            &[Table::Mangle, Table::Filter, Table::Nat]
        } else {
            &[Table::Mangle, Table::Nat]
        };
        let fate = self.run_tables(cx, hook, tables, ip, ifaces.0, ifaces.1, tr, addr);
        if fate != Fate::Continue {
            return fate;
        }
        self.translate(tr, Manip::Src, ip);
        match self.conntrack.confirm(&mut tr.slot) {
            Confirm::Entered => Fate::Continue,
            Confirm::Clash => Fate::Drop,
            Confirm::TableFull => {
                cx.rules.kernel_log(
                    cx.now,
                    "nf_conntrack: nf_conntrack: table full, dropping packet",
                );
                Fate::TableFull
            }
        }
    }

    /// POSTROUTING: mangle, nat, the source rewrite, confirmation.
    pub fn postrouting(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        ifaces: (Option<&str>, &str),
        out_addr: Option<Ipv4Address>,
    ) -> Fate {
        self.last_hook(
            cx,
            Hook::Postrouting,
            ip,
            tr,
            (ifaces.0, Some(ifaces.1)),
            out_addr,
        )
    }

    /// INPUT: mangle, filter, nat, the source rewrite, confirmation.
    pub fn input(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        in_iface: &str,
        in_addr: Option<Ipv4Address>,
    ) -> Fate {
        self.last_hook(cx, Hook::Input, ip, tr, (Some(in_iface), None), in_addr)
    }

    /// OUTPUT of a locally generated packet: raw, conntrack, mangle, nat (DNAT), filter; the
    /// caller re-routes if the destination changed, then calls `postrouting`.
    pub fn output(&mut self, cx: &mut Cx<'_>, ip: &mut [u8], out_iface: &str) -> (Fate, Tracked) {
        let (fate, classes, mark) = self.raw(cx, Hook::Output, ip, (None, Some(out_iface)));
        if fate != Fate::Continue {
            return (fate, Tracked::invalid());
        }
        let mut tr = match cx.rules.take_untracked() {
            true => Tracked::untracked(),
            false => self.track(cx.now, ip),
        };
        tr.addr_types = classes;
        tr.mark = mark;
        let loopback = Some(Ipv4Address::new(127, 0, 0, 1));
        let tables = [Table::Mangle, Table::Nat];
        let fate = self.run_tables(
            cx,
            Hook::Output,
            &tables,
            ip,
            None,
            Some(out_iface),
            &mut tr,
            loopback,
        );
        if fate != Fate::Continue {
            return (fate, tr);
        }
        self.translate(&mut tr, Manip::Dst, ip);
        let fate = self.run_tables(
            cx,
            Hook::Output,
            &[Table::Filter],
            ip,
            None,
            Some(out_iface),
            &mut tr,
            None,
        );
        (fate, tr)
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
