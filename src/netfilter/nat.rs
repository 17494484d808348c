//! NAT: the decision is made once, on a flow's first packet, and stored by rewriting the
//! flow's reply tuple; every later packet is rewritten from the two tuples without looking at
//! the nat chains again. A hook rewrites one side: the destination at PREROUTING/OUTPUT, the
//! source at POSTROUTING/INPUT, in whichever direction the packet travels. Checksums are
//! adjusted incrementally (RFC 1624); an ICMP error has its quoted header translated too.

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

use super::packet::{bits, from_bits};

use super::conntrack::{self, Conn, Conntrack, NatBy, Tuple};
use super::packet::NatAction;
use crate::rand::Rng;

/// Which side a hook rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manip {
    /// PREROUTING and OUTPUT.
    Dst,
    /// POSTROUTING and INPUT.
    Src,
}

/// Why a binding could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatError {
    /// MASQUERADE on an interface without an address.
    NoAddress,
    /// No free port in the range.
    Exhausted,
}

/// The port range searched when a source port collides (`nf_nat_l4proto_unique_tuple`).
fn default_range(port: u16) -> (u16, u16) {
    if port < 512 {
        (1, 511)
    } else if port < 1024 {
        (600, 1023)
    } else {
        (1024, 65535)
    }
}

/// Finds a source port for `orig` mapped to `addr` whose reply tuple is free: the original
/// port if possible, else from `range` (default by port class), starting at a seeded random
/// offset, as `get_unique_tuple` does.
fn unique_source(
    ct: &Conntrack,
    orig: &Tuple,
    addr: IpAddress,
    range: Option<(u16, u16)>,
    rng: &mut Rng,
) -> Result<u16, NatError> {
    let reply_for = |port: u16| {
        Tuple {
            src: addr,
            sport: port,
            ..*orig
        }
        .invert()
    };
    let in_range = range.is_none_or(|(lo, hi)| (lo..=hi).contains(&orig.sport));
    if in_range && !ct.tuple_in_use(&reply_for(orig.sport)) {
        return Ok(orig.sport);
    }
    let (lo, hi) = range.unwrap_or_else(|| default_range(orig.sport));
    let span = u32::from(hi - lo) + 1;
    let start = rng.below(u64::from(span)) as u32;
    for i in 0..span {
        let port = lo + ((start + i) % span) as u16;
        if !ct.tuple_in_use(&reply_for(port)) {
            return Ok(port);
        }
    }
    Err(NatError::Exhausted)
}

/// The destination port of a DNAT or REDIRECT to `range` for the flow heading to
/// `want` (its new address, the original port): the original port when it lies in the
/// range and the reply tuple is free (or the range is one port), else the first free port
/// from the range's start, as `get_unique_tuple` and `nf_nat_l4proto_unique_tuple` do for a
/// destination (no random offset). When every port is taken the last one tried stays, and
/// the clash is found when the flow is confirmed.
fn unique_dest(ct: &Conntrack, want: &Tuple, (lo, hi): (u16, u16)) -> u16 {
    let free = |port: u16| {
        !ct.tuple_in_use(
            &Tuple {
                dport: port,
                ..*want
            }
            .invert(),
        )
    };
    if (lo..=hi).contains(&want.dport) && (lo == hi || free(want.dport)) {
        return want.dport;
    }
    (lo..=hi).find(|&p| free(p)).unwrap_or(hi)
}

fn pick_addr((lo, hi): (IpAddress, IpAddress), key: &Tuple) -> IpAddress {
    // The kernel hashes the flow to pick within a range; any deterministic choice will do.
    let (a, b) = (bits(lo), bits(hi).max(bits(lo)));
    let h = bits(key.src) ^ bits(key.dst).rotate_left(7);
    let span = (b - a).checked_add(1);
    from_bits(
        matches!(lo, IpAddress::Ipv6(_)),
        a + span.map_or(h, |n| h % n),
    )
}

/// NETMAP's address for `addr`: its host part under `mask`, the network part of `to`
/// (`netmap_tg4`, `netmap_tg6`).
pub fn netmap_addr(addr: IpAddress, to: IpAddress, mask: u128) -> IpAddress {
    let v6 = matches!(addr, IpAddress::Ipv6(_));
    from_bits(v6, (bits(addr) & !mask) | (bits(to) & mask))
}

/// What NETMAP amounts to for a flow whose original tuple is `orig`: a DNAT of the
/// destination (`dst`: PREROUTING, OUTPUT) or an SNAT of the source (POSTROUTING, INPUT) to
/// one address, ports unchanged. Other actions are returned as they are.
pub fn netmap(action: NatAction, dst: bool, orig: &Tuple) -> NatAction {
    let NatAction::Netmap { to, mask } = action else {
        return action;
    };
    if dst {
        let a = netmap_addr(orig.dst, to, mask);
        NatAction::Dnat {
            addrs: (a, a),
            ports: None,
        }
    } else {
        let a = netmap_addr(orig.src, to, mask);
        NatAction::Snat {
            addrs: (a, a),
            ports: None,
        }
    }
}

/// Records the binding `action` asks for on the flow `conn`. `egress` is the address
/// MASQUERADE uses, `ingress` the one REDIRECT uses.
pub fn bind(
    ct: &Conntrack,
    conn: &mut Conn,
    action: NatAction,
    egress: Option<IpAddress>,
    ingress: Option<IpAddress>,
    rng: &mut Rng,
) -> Result<(), NatError> {
    let orig = conn.orig;
    // The tuple the original direction will have once translated.
    let mut want = conn.reply.invert();
    match action {
        NatAction::Masquerade { ports } => {
            let addr = egress.ok_or(NatError::NoAddress)?;
            want.src = addr;
            want.sport = unique_source(ct, &want, addr, ports, rng)?;
            conn.snat = true;
            conn.snat_by = NatBy::Masquerade;
        }
        NatAction::Snat { addrs, ports } => {
            let addr = pick_addr(addrs, &orig);
            want.src = addr;
            want.sport = unique_source(ct, &want, addr, ports, rng)?;
            conn.snat = true;
            conn.snat_by = NatBy::Snat;
        }
        NatAction::Dnat { addrs, ports } => {
            want.dst = pick_addr(addrs, &orig);
            if let Some(r) = ports {
                want.dport = unique_dest(ct, &want, r);
            }
            conn.dnat = true;
            conn.dnat_by = NatBy::Dnat;
        }
        NatAction::Redirect { ports } => {
            want.dst = ingress.unwrap_or(match orig.dst {
                IpAddress::Ipv4(_) => IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1)),
                IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
            });
            if let Some(r) = ports {
                want.dport = unique_dest(ct, &want, r);
            }
            conn.dnat = true;
            conn.dnat_by = NatBy::Redirect;
        }
        // The hook picks NETMAP's side: callers resolve it with `netmap` first.
        NatAction::Netmap { .. } => return Ok(()),
    }
    if conntrack::is_icmp_proto(want.proto) {
        want.dport = 0;
    }
    conn.reply = want.invert();
    Ok(())
}

/// RFC 1624: adjusts a ones'-complement checksum for `old` bytes becoming `new`.
pub fn adjust(sum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut acc: u32 = u32::from(!sum);
    for w in old.chunks(2) {
        let v = u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]);
        acc += u32::from(!v);
    }
    for w in new.chunks(2) {
        acc += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Offsets of the transport checksum and ports (or ICMP identifier) within the IP payload.
fn l4_layout(proto: u8) -> Option<(usize, usize, usize)> {
    match proto {
        6 => Some((16, 0, 2)),
        17 => Some((6, 0, 2)),
        1 | 58 => Some((2, 4, 4)),
        _ => None,
    }
}

/// Sets a packet's source address and port (a TCP reset answering from where its flow
/// was first sent), fixing the checksums that cover them.
pub fn set_source(ip: &mut [u8], addr: IpAddress, port: u16) {
    rewrite(ip, true, addr, Some(port));
}

/// Rewrites an address, and a port if given (for ICMP queries the identifier), of an IP
/// packet in place, fixing the checksums that cover them.
fn rewrite(ip: &mut [u8], src: bool, addr: IpAddress, port: Option<u16>) {
    match addr {
        IpAddress::Ipv4(a) => rewrite4(ip, src, a, port),
        IpAddress::Ipv6(a) => rewrite6(ip, src, a, port),
    }
}

/// [`rewrite`] for IPv6: no header checksum, and ICMPv6 covers the addresses through its
/// pseudo-header as TCP and UDP do.
fn rewrite6(ip: &mut [u8], src: bool, addr: Ipv6Address, port: Option<u16>) {
    let Some((proto, l4_at, later_fragment)) = conntrack::ipv6_upper(ip) else {
        return;
    };
    let at = if src { 8 } else { 24 };
    let old_addr: [u8; 16] = ip[at..at + 16].try_into().unwrap_or([0; 16]);
    let new_addr = addr.octets();
    ip[at..at + 16].copy_from_slice(&new_addr);
    let l4 = &mut ip[l4_at..];
    rewrite_l4(l4, proto, src, (&old_addr, &new_addr), port, later_fragment);
}

/// [`rewrite`] for IPv4: the header checksum too, and TCP's and UDP's (through their
/// pseudo-header; ICMP's does not cover the addresses).
fn rewrite4(ip: &mut [u8], src: bool, addr: Ipv4Address, port: Option<u16>) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    if ip.len() < hl.max(20) {
        return;
    }
    let proto = ip[9];
    let at = if src { 12 } else { 16 };
    let old_addr: [u8; 4] = ip[at..at + 4].try_into().unwrap_or([0; 4]);
    let new_addr = addr.octets();
    ip[at..at + 4].copy_from_slice(&new_addr);
    let sum = u16::from_be_bytes([ip[10], ip[11]]);
    ip[10..12].copy_from_slice(&adjust(sum, &old_addr, &new_addr).to_be_bytes());
    let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0;
    rewrite_l4(
        &mut ip[hl..],
        proto,
        src,
        (&old_addr, &new_addr),
        port,
        fragment,
    );
}

/// The transport header's part of a rewrite (`l4` from its start; a later `fragment` has
/// none): its checksum mended for the address where its pseudo-header covers it (TCP's,
/// UDP's, ICMPv6's; not ICMP's), and the source or destination port (an ICMP query's
/// identifier) set with its checksum. A UDP datagram without a checksum stays without.
/// Generic in the address's length, so that each family's checksum update is unrolled.
#[inline]
fn rewrite_l4<const N: usize>(
    l4: &mut [u8],
    proto: u8,
    src: bool,
    (old_addr, new_addr): (&[u8; N], &[u8; N]),
    port: Option<u16>,
    fragment: bool,
) {
    let Some((csum_at, sport_at, dport_at)) = l4_layout(proto) else {
        return;
    };
    let port_at = if src { sport_at } else { dport_at };
    if fragment || l4.len() < (csum_at + 2).max(port_at + 2) {
        return;
    }
    let mut sum = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
    if proto == 17 && sum == 0 {
        // No UDP checksum: there is none to keep right.
        if let Some(p) = port {
            l4[port_at..port_at + 2].copy_from_slice(&p.to_be_bytes());
        }
        return;
    }
    if proto != 1 {
        sum = adjust(sum, old_addr, new_addr);
    }
    if let Some(p) = port {
        let old_port = [l4[port_at], l4[port_at + 1]];
        l4[port_at..port_at + 2].copy_from_slice(&p.to_be_bytes());
        sum = adjust(sum, &old_port, &p.to_be_bytes());
    }
    if proto == 17 && sum == 0 {
        sum = 0xffff;
    }
    l4[csum_at..csum_at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// Applies a flow's translation to a packet at a hook. `reply` is the packet's direction.
/// Returns true when the packet changed.
pub fn apply(conn: &Conn, reply: bool, manip: Manip, ip: &mut [u8]) -> bool {
    match conntrack::Flow::parse(ip) {
        Some(flow) => apply_flow(conn, reply, manip, ip, &flow),
        None => false,
    }
}

/// [`apply`] to a packet already read as `flow` (`Flow::parse` of `ip`).
pub fn apply_flow(
    conn: &Conn,
    reply: bool,
    manip: Manip,
    ip: &mut [u8],
    flow: &conntrack::Flow,
) -> bool {
    // Only a flow with this kind of NAT in this direction is touched (`statusbit` in
    // `nf_nat_packet`): a source NAT is undone on replies' destinations, a destination NAT on
    // replies' sources.
    let active = match (manip, reply) {
        (Manip::Src, false) | (Manip::Dst, true) => conn.snat,
        (Manip::Dst, false) | (Manip::Src, true) => conn.dnat,
    };
    if !active {
        return false;
    }
    // What the packet must look like after translation, in its own direction.
    let target = if reply {
        conn.orig.invert()
    } else {
        conn.reply.invert()
    };
    let icmp = conntrack::is_icmp_proto(flow.tuple.proto);
    if icmp && flow.quoted.is_some() {
        return match flow.tuple.proto {
            58 => apply_to_error6(conn, reply, manip, ip),
            _ => apply_to_error(conn, reply, manip, ip),
        };
    }
    if flow.tuple.proto == 1
        && flow
            .icmp
            .is_some_and(|(kind, _)| conntrack::is_icmp_error(kind))
    {
        return apply_to_error(conn, reply, manip, ip);
    }
    // The ports as conntrack reads them.
    let t = &flow.tuple;
    let (src, dst, sport, dport) = (t.src, t.dst, t.sport, t.dport);
    // An ICMP query's identifier is its only "port"; it is restored on the way back.
    match manip {
        Manip::Dst
            if dst != target.dst
                || (!icmp && dport != target.dport)
                || (icmp && sport != target.sport) =>
        {
            let port = if icmp { target.sport } else { target.dport };
            rewrite(ip, false, target.dst, Some(port));
            true
        }
        Manip::Src if src != target.src || sport != target.sport => {
            rewrite(ip, true, target.src, Some(target.sport));
            true
        }
        _ => false,
    }
}

/// An ICMP error about a flow's packet: the outer header gets this hook's rewrite, and the
/// quoted packet (travelling the other way) gets the mirror image, so the sender recognises
/// its own packet.
fn apply_to_error(conn: &Conn, reply: bool, manip: Manip, ip: &mut [u8]) -> bool {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    let target = if reply {
        conn.orig.invert()
    } else {
        conn.reply.invert()
    };
    let v4 = |a: IpAddress| match a {
        IpAddress::Ipv4(a) => a,
        IpAddress::Ipv6(_) => Ipv4Address::UNSPECIFIED,
    };
    let outer_changed = match manip {
        Manip::Dst if ip[16..20] != v4(target.dst).octets() => {
            rewrite(ip, false, target.dst, None);
            true
        }
        Manip::Src if ip[12..16] != v4(target.src).octets() => {
            rewrite(ip, true, target.src, None);
            true
        }
        _ => false,
    };
    // The quoted datagram went the opposite way: its source is our destination.
    let inner_target = target.invert();
    let inner = &mut ip[hl + 8..];
    if inner.len() < 20 {
        return outer_changed;
    }
    let ihl = usize::from(inner[0] & 0x0f) * 4;
    let proto = inner[9];
    let mut changed = outer_changed;
    match manip {
        Manip::Dst => {
            if inner[12..16] != v4(inner_target.src).octets()
                || port_at(inner, ihl, true) != Some(inner_target.sport)
            {
                rewrite_quoted(
                    inner,
                    ihl,
                    proto,
                    true,
                    v4(inner_target.src),
                    inner_target.sport,
                );
                changed = true;
            }
        }
        Manip::Src => {
            if inner[16..20] != v4(inner_target.dst).octets()
                || port_at(inner, ihl, false) != Some(inner_target.dport)
            {
                rewrite_quoted(
                    inner,
                    ihl,
                    proto,
                    false,
                    v4(inner_target.dst),
                    inner_target.dport,
                );
                changed = true;
            }
        }
    }
    if changed {
        // The quote's transport checksum may be cut off: the ICMP checksum covers all of it.
        let l4 = &mut ip[hl..];
        if let Ok(mut icmp) = smoltcp::wire::Icmpv4Packet::new_checked(l4) {
            icmp.fill_checksum();
        }
    }
    changed
}

/// [`apply_to_error`] for ICMPv6: the quoted packet's addresses and port, and the ICMPv6
/// checksum refilled over the pseudo-header of the outer addresses.
fn apply_to_error6(conn: &Conn, reply: bool, manip: Manip, ip: &mut [u8]) -> bool {
    let Some((_, l4_at, _)) = conntrack::ipv6_upper(ip) else {
        return false;
    };
    let target = if reply {
        conn.orig.invert()
    } else {
        conn.reply.invert()
    };
    let octets = |a: IpAddress| match a {
        IpAddress::Ipv6(a) => a.octets(),
        IpAddress::Ipv4(_) => [0; 16],
    };
    let inner_target = target.invert();
    let (outer_at, addr, inner_at, inner_addr, inner_port, inner_src) = match manip {
        Manip::Dst => (
            24,
            target.dst,
            8,
            inner_target.src,
            inner_target.sport,
            true,
        ),
        Manip::Src => (
            8,
            target.src,
            24,
            inner_target.dst,
            inner_target.dport,
            false,
        ),
    };
    let mut changed = false;
    if ip[outer_at..outer_at + 16] != octets(addr) {
        ip[outer_at..outer_at + 16].copy_from_slice(&octets(addr));
        changed = true;
    }
    let Some(inner) = ip.get_mut(l4_at + 8..) else {
        return changed;
    };
    if inner.len() >= 40 {
        let (qproto, qat) =
            conntrack::ipv6_upper(inner).map_or((inner[6], 40), |(p, at, _)| (p, at));
        if inner[inner_at..inner_at + 16] != octets(inner_addr) {
            inner[inner_at..inner_at + 16].copy_from_slice(&octets(inner_addr));
            changed = true;
        }
        let port_off = match qproto {
            6 | 17 => Some(qat + if inner_src { 0 } else { 2 }),
            58 => Some(qat + 4),
            _ => None,
        };
        if let Some(p) = port_off.and_then(|at| inner.get_mut(at..at + 2))
            && p != inner_port.to_be_bytes()
        {
            p.copy_from_slice(&inner_port.to_be_bytes());
            changed = true;
        }
    }
    if changed {
        let src = Ipv6Address::from_octets(ip[8..24].try_into().unwrap_or([0; 16]));
        let dst = Ipv6Address::from_octets(ip[24..40].try_into().unwrap_or([0; 16]));
        let end = (40 + usize::from(u16::from_be_bytes([ip[4], ip[5]]))).min(ip.len());
        if let Some(l4) = ip.get_mut(l4_at..end)
            && let Ok(mut icmp) = smoltcp::wire::Icmpv6Packet::new_checked(l4)
        {
            icmp.fill_checksum(&src, &dst);
        }
    }
    changed
}

fn port_at(inner: &[u8], ihl: usize, src: bool) -> Option<u16> {
    let at = ihl + if src { 0 } else { 2 };
    if inner[9] == 1 {
        let id = inner.get(ihl + 4..ihl + 6)?;
        return Some(u16::from_be_bytes([id[0], id[1]]));
    }
    inner
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn rewrite_quoted(
    inner: &mut [u8],
    ihl: usize,
    proto: u8,
    src: bool,
    addr: Ipv4Address,
    port: u16,
) {
    let at = if src { 12 } else { 16 };
    let old: [u8; 4] = inner[at..at + 4].try_into().unwrap_or([0; 4]);
    inner[at..at + 4].copy_from_slice(&addr.octets());
    let sum = u16::from_be_bytes([inner[10], inner[11]]);
    inner[10..12].copy_from_slice(&adjust(sum, &old, &addr.octets()).to_be_bytes());
    let port_off = match proto {
        6 | 17 => ihl + if src { 0 } else { 2 },
        1 => ihl + 4,
        _ => return,
    };
    if let Some(p) = inner.get_mut(port_off..port_off + 2) {
        p.copy_from_slice(&port.to_be_bytes());
    }
}

#[cfg(test)]
#[path = "nat_tests.rs"]
mod tests;
