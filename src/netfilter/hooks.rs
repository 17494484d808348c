//! The hook sequence of the module doc's diagram, for one packet at a time: conntrack, the
//! tables in priority order, NAT decided on a flow's first packet and applied from the flow's
//! tuples afterwards, and confirmation at the last hook. The caller (the router) does the
//! routing between hooks and carries a packet's `Tracked` from hook to hook.

use smoltcp::wire::{Icmpv4Packet, IpAddress, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet};

use super::base::{Chains, Family, NatRules, NftHook, Step};
use super::conntrack::{Confirm, Conntrack, Flow, Slot, Tracked};
use super::nat::{self, Manip};
use super::packet::{
    AddrType, AddrTypes, CtDetail, CtState, CtView, Hook, Marks, NatAction, PacketView, RejectWith,
    Table, Verdict,
};
use super::tcpmss;
use crate::rand::Rng;
use crate::time::Instant;

/// What a chain's walk left besides its verdict: the marks, header values and TCPMSS
/// clamps its non-terminating targets set, and whether `CT --notrack` untracked the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainOutcome {
    pub verdict: Verdict,
    /// The packet's and its connection's marks, if `MARK` or `CONNMARK` changed them.
    pub marks: Option<Marks>,
    /// The IP header's (TOS, TTL), if `TTL`, `DSCP` or `TOS` rewrote them.
    pub hdr: Option<(u8, u8)>,
    /// What matching TCPMSS rules ask for.
    pub tcpmss: tcpmss::Pending,
    /// The raw table left the packet UNTRACKED (`-j CT --notrack`).
    pub untracked: bool,
}

impl ChainOutcome {
    /// A verdict and nothing else.
    pub fn verdict(verdict: Verdict) -> ChainOutcome {
        ChainOutcome {
            verdict,
            marks: None,
            hdr: None,
            tcpmss: tcpmss::Pending::default(),
            untracked: false,
        }
    }
}

/// What a hook leaves the frame's comment: LOG lines, then what decided, then what NAT
/// rewrote, in that order. Nothing is allocated until a note is added (a LOG rule fired, or
/// something reads the frame's notes), so the common hook call returns a null pointer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes(Option<Box<NoteLists>>);

/// The notes of [`Notes`], each kind in its order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoteLists {
    /// Lines LOG rules wrote (also in the kernel log).
    pub logs: Vec<Box<str>>,
    /// What decided at each table (with `detail`), the walks (while tracing), NFLOG and
    /// NFQUEUE notes.
    pub decisions: Vec<Box<str>>,
    /// NAT rewrites (with `detail`).
    pub rewrites: Vec<Rewrite>,
}

impl Notes {
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn lists(&mut self) -> &mut NoteLists {
        self.0.get_or_insert_with(Default::default)
    }

    /// The LOG lines so far.
    pub fn logs(&self) -> &[Box<str>] {
        self.0.as_ref().map_or(&[], |l| &l.logs)
    }

    /// A LOG rule's line.
    pub fn log(&mut self, line: Box<str>) {
        self.lists().logs.push(line);
    }

    /// What decided, or a rule engine's note.
    pub fn decision(&mut self, text: Box<str>) {
        self.lists().decisions.push(text);
    }

    /// A NAT rewrite.
    pub fn rewrite(&mut self, r: Rewrite) {
        self.lists().rewrites.push(r);
    }

    /// The notes, each kind in its order (empty lists when there are none).
    pub fn into_lists(self) -> NoteLists {
        self.0.map(|b| *b).unwrap_or_default()
    }

    /// Adds a later hook's notes after these, each kind after its own.
    pub fn append(&mut self, later: Notes) {
        let Some(mut later) = later.0 else {
            return;
        };
        match &mut self.0 {
            None => self.0 = Some(later),
            Some(l) => {
                l.logs.append(&mut later.logs);
                l.decisions.append(&mut later.decisions);
                l.rewrites.append(&mut later.rewrites);
            }
        }
    }
}

/// What a hook call returns: the packet's fate (rewrites such as NAT, marks and header
/// targets are already applied to the packet and its `Tracked`) and the notes to emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub fate: Fate,
    pub notes: Notes,
}

impl Outcome {
    /// Another hook's outcome after this one: its fate, the notes of both.
    pub fn then(mut self, later: Outcome) -> Outcome {
        self.notes.append(later.notes);
        Outcome {
            fate: later.fate,
            notes: self.notes,
        }
    }
}

/// The rule engine, as the hooks call it.
pub trait Rules {
    /// Runs `hook`'s built-in chain of `table` (iptables' for an IPv4 packet, ip6tables' for
    /// an IPv6 one) for the packet, with conntrack and the host
    /// to ask (`-m connlimit`, `-m rpfilter`, `-m socket`); LOG lines and decisions go to
    /// `notes`.
    fn run(
        &mut self,
        table: Table,
        hook: Hook,
        pkt: &PacketView<'_>,
        now: Instant,
        conns: &dyn super::packet::ConnQuery,
        notes: &mut Notes,
    ) -> ChainOutcome;

    /// True when running the chain could only accept, with nothing to count, log or trace
    /// (no rules, an ACCEPT policy that was never set, no tracing): the hooks then pass it
    /// by without reading the packet for it. `false` is always correct.
    fn passes_all(&self, _family: Family, _table: Table, _hook: Hook) -> bool {
        false
    }

    /// Runs nft base chain `chain` (the number it was registered by, [`NftHook::chain`])
    /// for the packet, as [`Rules::run`] runs an iptables table's chain.
    fn run_nft(
        &mut self,
        _chain: u32,
        _hook: Hook,
        _pkt: &PacketView<'_>,
        _now: Instant,
        _conns: &dyn super::packet::ConnQuery,
        _notes: &mut Notes,
    ) -> ChainOutcome {
        ChainOutcome::verdict(Verdict::Accept)
    }

    /// [`Rules::passes_all`] for an nft base chain.
    fn passes_all_nft(&self, _chain: u32) -> bool {
        false
    }

    /// Whether a rule of the table reads the packet's address classes (`-m addrtype`); when
    /// none does, the hook does not ask the host to class them. `true` is always correct.
    fn reads_addr_types(&self, _family: Family, _table: Table) -> bool {
        true
    }

    /// [`Rules::reads_addr_types`] for the table of an nft base chain (`fib ... type`,
    /// `meta pkttype`).
    fn reads_addr_types_nft(&self, _chain: u32) -> bool {
        true
    }

    /// Whether the family's packets are tracked: the kernel tracks a family once a rule
    /// needs it (`nf_ct_netns_get`). `true` is the safe answer.
    fn tracks(&self, _family: Family) -> bool {
        true
    }

    /// A line the kernel logs (dmesg), such as conntrack's "table full".
    fn kernel_log(&mut self, _now: Instant, _line: &str) {}
}

/// What the host knows that rules ask about.
pub trait Env {
    fn addr_type(&self, addr: IpAddress) -> AddrType;

    /// The MTU of the route to `addr` (TCPMSS's `--clamp-mss-to-pmtu`); None when unknown.
    fn route_mtu(&self, _addr: IpAddress) -> Option<u32> {
        None
    }

    /// `rpfilter_lookup_reverse`: the route to `src` is unicast (or local, with
    /// `accept_local`) and leaves by `iif` (or by any interface, `loose`); None when the host
    /// has no routing table to ask.
    fn reverse_path(
        &self,
        _src: IpAddress,
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
        _remote: (IpAddress, u16),
        _local: (IpAddress, u16),
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
    fn alive(&self, src: IpAddress, dst: IpAddress, proto: u8, keys: (u16, u16)) -> bool {
        self.conns.alive(src, dst, proto, keys)
    }

    fn reverse_path(
        &self,
        src: IpAddress,
        iif: &str,
        accept_local: bool,
        loose: bool,
    ) -> Option<bool> {
        self.env.reverse_path(src, iif, accept_local, loose)
    }

    fn local_socket(
        &self,
        proto: u8,
        remote: (IpAddress, u16),
        local: (IpAddress, u16),
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
    /// The bridge ports of a frame br_netfilter runs through the hooks (`-m physdev`): its
    /// input port, and its output port from FORWARD on; `None` for a routed packet.
    pub physdev: Option<(&'a str, Option<&'a str>)>,
}

/// A rule chain a hook runs: an iptables table's built-in chain, or an nft base chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleChain {
    Table(Table),
    Nft(u32),
}

/// What running one rule chain left: the packet's fate, whether the chain untracked it,
/// whether a NAT rule bound the flow.
struct Ran {
    fate: Fate,
    untracked: bool,
    bound: bool,
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

/// Netfilter of one namespace: its base chains per family and hook, in priority order,
/// conntrack with NAT, and what the hooks need between packets.
pub struct Netfilter {
    pub conntrack: Conntrack,
    rng: Rng,
    /// Record what NAT rewrites (`Notes::rewrites`), for capture comments: off where nothing
    /// reads them, so the NAT path formats nothing.
    pub detail: bool,
    /// The mark the next received packet starts with (`skb->mark`, 0 for every frame off a
    /// wire); `hoplab explain --packet "... mark M"` sets it for the one packet it sends.
    pub rx_mark: u32,
    /// The last rejected packet's flow had its destination NATed: the address and port its
    /// first packet was sent to, which a TCP reset answers from (the kernel attaches the
    /// flow to the reset it makes, `nf_ct_attach`, and NAT turns the reset back on its way
    /// out). Read once with [`Netfilter::take_answer_from`].
    answer_from: Option<(IpAddress, u16)>,
    /// The base chains each hook runs.
    chains: Chains,
    /// IPv6 packets are tracked (see [`Rules::tracks`]); IPv4 ones always are.
    track6: bool,
    /// Nothing on IPv6's hooks reads a packet: untracked, every chain accepting.
    idle6: bool,
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
    pub before: (IpAddress, u16),
    pub after: (IpAddress, u16),
}

/// Reads what rules match on from an IPv4 or IPv6 packet.
pub fn view<'a>(
    ip: &'a [u8],
    in_iface: Option<&'a str>,
    out_iface: Option<&'a str>,
    ct: Option<CtView>,
    env: &dyn Env,
) -> Option<PacketView<'a>> {
    view_classed(ip, (in_iface, out_iface), ct, env, &mut None, true)
}

/// The header fields of a packet rules read, of either family.
struct Header<'a> {
    len: u32,
    src: IpAddress,
    dst: IpAddress,
    proto: u8,
    /// The upper-layer header (empty for a later fragment).
    l4: &'a [u8],
    fragment: bool,
}

#[inline]
fn header(ip: &[u8]) -> Option<Header<'_>> {
    match ip.first()? >> 4 {
        4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            let hl = usize::from(p.header_len());
            let end = usize::from(p.total_len()).min(ip.len());
            Some(Header {
                len: u32::from(p.total_len()),
                src: IpAddress::Ipv4(p.src_addr()),
                dst: IpAddress::Ipv4(p.dst_addr()),
                proto: u8::from(p.next_header()),
                l4: ip.get(hl..end.max(hl))?,
                fragment: p.frag_offset() != 0,
            })
        }
        6 => {
            let p = Ipv6Packet::new_checked(ip).ok()?;
            let (proto, at, later) = super::conntrack::ipv6_upper(ip)?;
            let end = (40 + usize::from(p.payload_len())).min(ip.len());
            Some(Header {
                len: 40 + u32::from(p.payload_len()),
                src: IpAddress::Ipv6(p.src_addr()),
                dst: IpAddress::Ipv6(p.dst_addr()),
                proto,
                l4: ip.get(at..end.max(at))?,
                fragment: later,
            })
        }
        _ => None,
    }
}

/// [`view`], asking the host to class only an address that `known` has no class for; `known`
/// is left with the packet's classes.
fn view_classed<'a>(
    ip: &'a [u8],
    (in_iface, out_iface): (Option<&'a str>, Option<&'a str>),
    ct: Option<CtView>,
    env: &dyn Env,
    known: &mut Option<AddrTypes>,
    classify: bool,
) -> Option<PacketView<'a>> {
    let h = header(ip)?;
    let (l4, proto, fragment) = (h.l4, h.proto, h.fragment);
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
            1 if matches!(h.src, IpAddress::Ipv4(_)) => {
                icmp = Icmpv4Packet::new_checked(l4)
                    .ok()
                    .map(|i| (u8::from(i.msg_type()), i.msg_code()));
            }
            58 if matches!(h.src, IpAddress::Ipv6(_)) && l4.len() >= 4 => {
                icmp = Some((l4[0], l4[1]));
            }
            _ => {}
        }
    }
    let (src, dst) = (h.src, h.dst);
    let class = |addr: IpAddress, seen: Option<(IpAddress, AddrType)>| match seen {
        Some((a, t)) if a == addr => t,
        _ => env.addr_type(addr),
    };
    // Rules that read no class get placeholders, and `known` stays as it was.
    let types = match classify || known.is_some() {
        true => {
            let types = AddrTypes {
                src: (src, class(src, known.map(|k| k.src))),
                dst: (dst, class(dst, known.map(|k| k.dst))),
            };
            *known = Some(types);
            types
        }
        false => AddrTypes {
            src: (src, AddrType::Unicast),
            dst: (dst, AddrType::Unicast),
        },
    };
    Some(PacketView {
        len: h.len,
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
        physdev: None,
    })
}

/// A packet's source or destination address and port (0 when it has none).
fn endpoint(ip: &[u8], source: bool) -> (IpAddress, u16) {
    let Some(h) = header(ip) else {
        return (IpAddress::Ipv4(Ipv4Address::UNSPECIFIED), 0);
    };
    // An ICMP query's identifier stands for its port in conntrack, not in a note.
    let ports = match h.proto {
        1 | 58 => (0, 0),
        proto => super::conntrack::ports(proto.into(), h.l4).unwrap_or((0, 0)),
    };
    match source {
        true => (h.src, ports.0),
        false => (h.dst, ports.1),
    }
}

impl Netfilter {
    /// Netfilter with Linux's IPv4 and IPv6 hooks: conntrack, NAT and the iptables tables'
    /// built-in chains at their standard priorities ([`Chains::iptables`]).
    pub fn new(max_flows: usize, rng: Rng) -> Netfilter {
        Netfilter {
            conntrack: Conntrack::new(max_flows),
            rng,
            detail: false,
            rx_mark: 0,
            answer_from: None,
            chains: Chains::iptables(),
            track6: true,
            idle6: false,
        }
    }

    /// Where the reset for the packet a hook just rejected answers from, if its flow's
    /// destination was NATed (see the field).
    pub fn take_answer_from(&mut self) -> Option<(IpAddress, u16)> {
        self.answer_from.take()
    }

    /// The base chains, in priority order per family and hook.
    pub fn chains(&self) -> &Chains {
        &self.chains
    }

    /// Registers a base chain at its priority (see [`Chains::register`]).
    pub fn register(&mut self, chain: super::base::BaseChain) {
        self.idle6 = false;
        self.chains.register(chain);
    }

    /// Replaces the nft base chains (the nft ruleset changed); [`Netfilter::rules_changed`]
    /// is due after.
    pub fn set_nft(&mut self, chains: &[NftHook]) {
        self.idle6 = false;
        self.chains.set_nft(chains);
    }

    /// Re-reads which hooks' rule chains all accept everything: to be called whenever the
    /// rules change (a command, tracing turned on or off).
    pub fn rules_changed(&mut self, rules: &dyn Rules) {
        self.track6 = rules.tracks(Family::Ipv6);
        self.chains
            .set_accepts_all(&|family, step, hook| match step {
                Step::Table(table) => rules.passes_all(family, table, hook),
                Step::Nft(chain) => rules.passes_all_nft(chain),
                _ => true,
            });
        self.idle6 = !self.track6
            && [
                Hook::Prerouting,
                Hook::Input,
                Hook::Forward,
                Hook::Output,
                Hook::Postrouting,
            ]
            .into_iter()
            .all(|h| self.chains.accepts_all(Family::Ipv6, h));
    }

    /// Nothing on IPv6's hooks would read an IPv6 packet (no conntrack for IPv6, every
    /// chain accepting, as of the last [`Netfilter::rules_changed`]): the router may pass
    /// its IPv6 packets by the hooks.
    pub fn idle6(&self) -> bool {
        self.idle6
    }

    fn ct_view(&self, tr: &Tracked) -> Option<CtView> {
        let c = self.conntrack.conn(&tr.slot);
        Some(match c {
            Some(c) => {
                let ports = !super::conntrack::is_icmp_proto(c.orig.proto);
                CtView {
                    state: tr.state,
                    orig_src: c.orig.src,
                    orig_dst: c.orig.dst,
                    orig_sport: ports.then_some(c.orig.sport),
                    orig_dport: ports.then_some(c.orig.dport),
                    reply: tr.reply,
                    snat: c.snat,
                    dnat: c.dnat,
                    mark: c.mark,
                    detail: {
                        let confirmed = matches!(tr.slot, Slot::Table(_));
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
                }
            }
            None => CtView {
                state: tr.state,
                orig_src: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
                orig_dst: IpAddress::Ipv4(Ipv4Address::UNSPECIFIED),
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

    /// Runs the hook's base chains in priority order for the packet, with `tr` its
    /// conntrack state so far (replaced at the conntrack step). `nat_addr` is the address
    /// MASQUERADE (source NAT) or REDIRECT (destination NAT) binds to.
    fn run_hook(
        &mut self,
        cx: &mut Cx<'_>,
        hook: Hook,
        ip: &mut [u8],
        ifaces: (Option<&str>, Option<&str>),
        tr: &mut Tracked,
        nat_addr: Option<IpAddress>,
    ) -> Outcome {
        let mut notes = Notes::default();
        let fate = self.walk_hook(cx, hook, ip, ifaces, tr, nat_addr, &mut notes);
        Outcome { fate, notes }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_hook(
        &mut self,
        cx: &mut Cx<'_>,
        hook: Hook,
        ip: &mut [u8],
        ifaces: (Option<&str>, Option<&str>),
        tr: &mut Tracked,
        nat_addr: Option<IpAddress>,
        notes: &mut Notes,
    ) -> Fate {
        let Some(family) = Family::of_packet(ip) else {
            return Fate::Drop;
        };
        // IPv6 untracked and every chain accepting: nothing on the hook reads the packet.
        if family == Family::Ipv6 && !self.track6 && self.chains.accepts_all(family, hook) {
            return Fate::Continue;
        }
        // The packet is read once per hop, by its first hook (a chain would drop a packet
        // it cannot read), and again only after NAT rewrote it; rewrites keep its length.
        if tr.flow.is_none() {
            match Flow::parse(ip) {
                Some(flow) => tr.flow = Some(flow),
                None => return Fate::Drop,
            }
        }
        let rules_pass = self.chains.accepts_all(family, hook);
        let src_manip = matches!(hook, Hook::Postrouting | Hook::Input);
        let mut mss = None;
        let mut untracked = false;
        let mut i = 0;
        while let Some(base) = self.chains.get(family, hook, i) {
            i += 1;
            match base.step {
                Step::Table(_) | Step::Nft(_) => {
                    if rules_pass {
                        continue;
                    }
                    let chain = match base.step {
                        Step::Table(table) => RuleChain::Table(table),
                        Step::Nft(c) => RuleChain::Nft(c),
                        _ => unreachable!("matched above"),
                    };
                    let ran =
                        self.run_table(cx, chain, hook, ip, ifaces, tr, None, &mut mss, notes);
                    untracked |= ran.untracked;
                    if ran.fate != Fate::Continue {
                        return ran.fate;
                    }
                }
                Step::Conntrack => {
                    if !self.clamp_mss(cx, ip, &mut mss) {
                        return Fate::Drop;
                    }
                    if tr.flow.is_none() {
                        tr.flow = Flow::parse(ip);
                    }
                    // The packet's read flow, classes and mark stay where they are: only
                    // its connection changes (a flow is large enough for copies to show).
                    let Some(flow) = tr.flow.as_ref() else {
                        return Fate::Drop;
                    };
                    let untrack = std::mem::take(&mut untracked);
                    let found = match untrack || (family == Family::Ipv6 && !self.track6) {
                        true => Tracked::untracked(),
                        false => {
                            self.conntrack.expire(cx.now);
                            self.conntrack.track(cx.now, flow)
                        }
                    };
                    tr.slot = found.slot;
                    tr.reply = found.reply;
                    tr.state = found.state;
                }
                Step::Nat => {
                    // Only a flow's first packet, in its original direction, meets the nat
                    // chains of each kind, once.
                    let nat_due = tr.state == CtState::New
                        && !tr.reply
                        && self.conntrack.conn(&tr.slot).is_some_and(|c| {
                            !if src_manip {
                                c.src_nat_done
                            } else {
                                c.dst_nat_done
                            }
                        });
                    if nat_due {
                        self.nat_decided(tr, src_manip);
                        // The hook's nat chains in their priority order, until one binds.
                        let mut j = 0;
                        while let Some(nc) = self.chains.nat_get(family, hook, j) {
                            j += 1;
                            let chain = match nc.rules {
                                NatRules::Table => RuleChain::Table(Table::Nat),
                                NatRules::Nft(c) => RuleChain::Nft(c),
                            };
                            let ran = self.run_table(
                                cx, chain, hook, ip, ifaces, tr, nat_addr, &mut mss, notes,
                            );
                            if ran.fate != Fate::Continue {
                                return ran.fate;
                            }
                            if ran.bound {
                                break;
                            }
                        }
                    }
                    if !self.clamp_mss(cx, ip, &mut mss) {
                        return Fate::Drop;
                    }
                    let manip = if src_manip { Manip::Src } else { Manip::Dst };
                    self.translate(tr, manip, ip, notes);
                }
                Step::Confirm => {
                    if !self.clamp_mss(cx, ip, &mut mss) {
                        return Fate::Drop;
                    }
                    match self.conntrack.confirm(&mut tr.slot) {
                        Confirm::Entered => {}
                        Confirm::Clash => return Fate::Drop,
                        Confirm::TableFull => {
                            cx.rules.kernel_log(
                                cx.now,
                                "nf_conntrack: nf_conntrack: table full, dropping packet",
                            );
                            return Fate::TableFull;
                        }
                    }
                }
            }
        }
        match self.clamp_mss(cx, ip, &mut mss) {
            true => Fate::Continue,
            false => Fate::Drop,
        }
    }

    /// Lowers the MSS option as the TCPMSS rules that matched so far ask, before the packet
    /// leaves the rule chains for a step that reads or rewrites it; false: drop it.
    fn clamp_mss(&self, cx: &Cx<'_>, ip: &mut [u8], mss: &mut Option<tcpmss::Pending>) -> bool {
        let Some(m) = mss.take() else {
            return true;
        };
        let route_mtu = |a| cx.env.route_mtu(a);
        tcpmss::mangle(ip, m, &route_mtu) != tcpmss::Outcome::Drop
    }

    /// Runs one table's (or nft base chain's) chain for the hook and carries out what it
    /// left: marks into `tr` and the flow, a NAT binding on the pending flow, the header
    /// targets' rewrite, TCPMSS into `mss`.
    #[allow(clippy::too_many_arguments)]
    fn run_table(
        &mut self,
        cx: &mut Cx<'_>,
        chain: RuleChain,
        hook: Hook,
        ip: &mut [u8],
        ifaces: (Option<&str>, Option<&str>),
        tr: &mut Tracked,
        nat_addr: Option<IpAddress>,
        mss: &mut Option<tcpmss::Pending>,
        notes: &mut Notes,
    ) -> Ran {
        let family = Family::of_packet(ip).unwrap_or(Family::Ipv4);
        let passes = match chain {
            RuleChain::Table(table) => cx.rules.passes_all(family, table, hook),
            RuleChain::Nft(c) => cx.rules.passes_all_nft(c),
        };
        let ran = |fate, untracked| Ran {
            fate,
            untracked,
            bound: false,
        };
        if passes {
            return ran(Fate::Continue, false);
        }
        let ct = self.ct_view(tr);
        let known = &mut tr.addr_types;
        let classify = match chain {
            RuleChain::Table(table) => cx.rules.reads_addr_types(family, table),
            RuleChain::Nft(c) => cx.rules.reads_addr_types_nft(c),
        };
        let Some(mut pkt) = view_classed(ip, ifaces, ct, cx.env, known, classify) else {
            return ran(Fate::Drop, false);
        };
        pkt.mac = cx.mac;
        pkt.mark = tr.mark;
        pkt.physdev = cx.physdev;
        let ask = Ask {
            conns: &self.conntrack,
            env: cx.env,
        };
        let out = match chain {
            RuleChain::Table(table) => cx.rules.run(table, hook, &pkt, cx.now, &ask, notes),
            RuleChain::Nft(c) => cx.rules.run_nft(c, hook, &pkt, cx.now, &ask, notes),
        };
        if out.tcpmss != tcpmss::Pending::default() {
            mss.get_or_insert_default().merge(out.tcpmss);
        }
        if let Some(m) = out.marks {
            self.set_marks(tr, m);
        }
        let mut bound = false;
        match out.verdict {
            Verdict::Accept => {}
            Verdict::Drop => return ran(Fate::Drop, out.untracked),
            Verdict::Reject(with) => {
                self.answer_from = self
                    .conntrack
                    .conn(&tr.slot)
                    .filter(|c| c.dnat && !tr.reply)
                    .map(|c| (c.orig.dst, c.orig.dport));
                return ran(Fate::Reject(with), out.untracked);
            }
            Verdict::Nat(action) => {
                if !self.bind(tr, action, hook, nat_addr) {
                    return ran(Fate::Drop, out.untracked);
                }
                bound = true;
            }
        }
        if let Some(hdr) = out.hdr {
            crate::netfilter::rules::rewrite_tos_ttl(ip, hdr);
        }
        Ran {
            fate: Fate::Continue,
            untracked: out.untracked,
            bound,
        }
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
        addr: Option<IpAddress>,
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
                true => conn.dnat_by = super::conntrack::NatBy::Netmap,
                false => conn.snat_by = super::conntrack::NatBy::Netmap,
            }
        }
        ok
    }

    /// Rewrites the packet from its flow's tuples (one side, per `manip`); the hop's parsed
    /// flow is dropped when the packet changed, to be read again by the next hook.
    fn translate(&mut self, tr: &mut Tracked, manip: Manip, ip: &mut [u8], notes: &mut Notes) {
        if matches!(tr.state, CtState::Invalid | CtState::Untracked) {
            return;
        }
        if tr.flow.is_none() {
            tr.flow = Flow::parse(ip);
        }
        let Some(c) = self.conntrack.conn(&tr.slot) else {
            return;
        };
        let Some(flow) = tr.flow.as_ref() else {
            return;
        };
        let source = manip == Manip::Src;
        let before = self.detail.then(|| endpoint(ip, source));
        if !nat::apply_flow(c, tr.reply, manip, ip, flow) {
            return;
        }
        tr.flow = None;
        if let Some(before) = before {
            // A reply's source is undone by the destination NAT and its destination by the
            // source NAT.
            let by = match (source, tr.reply) {
                (true, false) | (false, true) => c.snat_by.name(),
                _ => c.dnat_by.name(),
            };
            notes.rewrite(Rewrite {
                by,
                reply: tr.reply,
                source,
                before,
                after: endpoint(ip, source),
            });
        }
    }

    /// PREROUTING of a received packet: raw, conntrack, mangle, nat (DNAT; REDIRECT to
    /// `in_addr`) with the destination rewrite.
    pub fn prerouting(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        in_iface: &str,
        in_addr: Option<IpAddress>,
    ) -> (Outcome, Tracked) {
        let mut tr = Tracked::invalid();
        tr.mark = std::mem::take(&mut self.rx_mark);
        let ifaces = (Some(in_iface), None);
        let out = self.run_hook(cx, Hook::Prerouting, ip, ifaces, &mut tr, in_addr);
        (out, tr)
    }

    /// FORWARD: mangle and filter.
    pub fn forward(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        in_iface: &str,
        out_iface: &str,
    ) -> Outcome {
        let ifaces = (Some(in_iface), Some(out_iface));
        self.run_hook(cx, Hook::Forward, ip, ifaces, tr, None)
    }

    /// POSTROUTING: mangle, nat (SNAT, or MASQUERADE from `out_addr`) with the source
    /// rewrite, confirmation.
    pub fn postrouting(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        ifaces: (Option<&str>, &str),
        out_addr: Option<IpAddress>,
    ) -> Outcome {
        let ifaces = (ifaces.0, Some(ifaces.1));
        self.run_hook(cx, Hook::Postrouting, ip, ifaces, tr, out_addr)
    }

    /// INPUT: mangle, filter, nat with the source rewrite, confirmation.
    pub fn input(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        tr: &mut Tracked,
        in_iface: &str,
        in_addr: Option<IpAddress>,
    ) -> Outcome {
        let ifaces = (Some(in_iface), None);
        self.run_hook(cx, Hook::Input, ip, ifaces, tr, in_addr)
    }

    /// OUTPUT of a locally generated packet: raw, conntrack, mangle, nat (DNAT) with the
    /// destination rewrite, filter; the caller re-routes if the destination changed, then
    /// calls `postrouting`.
    pub fn output(
        &mut self,
        cx: &mut Cx<'_>,
        ip: &mut [u8],
        out_iface: &str,
    ) -> (Outcome, Tracked) {
        let mut tr = Tracked::invalid();
        let loopback = Some(match ip.first().map(|b| b >> 4) {
            Some(6) => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
            _ => IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1)),
        });
        let ifaces = (None, Some(out_iface));
        let out = self.run_hook(cx, Hook::Output, ip, ifaces, &mut tr, loopback);
        (out, tr)
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
