//! Evaluating the match extensions as their kernel modules do (`tcp_mt`, `conntrack_mt`,
//! `limit_mt`, `statistic_mt`, ...).

use super::matches::{
    CtMatch, LimitMatch, Match, MultiportKind, MultiportMatch, Net, PortMatch, Ports, StatMatch,
    StatMode, addrtype_bit, ct,
};
use crate::netfilter::packet::{AddrType, CtState, CtView, PacketView, bits4};
use crate::time::Instant;

pub(crate) const LIMIT_SCALE: u64 = 10_000;

impl LimitMatch {
    pub fn new(avg: u32, burst: u32) -> LimitMatch {
        let mut m = LimitMatch {
            avg,
            burst,
            credit: 0,
            prev: None,
        };
        m.credit = m.cap();
        m
    }
    fn cost(&self) -> u64 {
        u64::from(self.avg) * (1_000_000_000 / LIMIT_SCALE)
    }
    fn cap(&self) -> u64 {
        self.cost().saturating_mul(u64::from(self.burst))
    }
    /// `limit_mt`: refill by elapsed time up to the burst, spend one packet's cost.
    fn take(&mut self, now: Instant) -> bool {
        if let Some(prev) = self.prev {
            let elapsed = now.saturating_sub(prev).nanos();
            self.credit = self.credit.saturating_add(elapsed).min(self.cap());
        }
        self.prev = Some(now);
        if self.credit >= self.cost() {
            self.credit -= self.cost();
            true
        } else {
            false
        }
    }
}

impl Match {
    /// The module name, as `-m NAME` writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Match::Tcp(_) => "tcp",
            Match::Udp(_) => "udp",
            Match::Icmp(_) => "icmp",
            Match::Icmp6(_) => "icmp6",
            Match::Conntrack(c) if c.state_alias => "state",
            Match::Conntrack(_) => "conntrack",
            Match::AddrType(_) => "addrtype",
            Match::IpRange(_) => "iprange",
            Match::Multiport(_) => "multiport",
            Match::Limit(_) => "limit",
            Match::Statistic(_) => "statistic",
            Match::Comment(_) => "comment",
            Match::Mark(_) => "mark",
            Match::ConnMark(_) => "connmark",
            Match::Hdr(h) => h.name(),
            Match::State(s) => s.name(),
        }
    }

    /// Evaluates the match; `limit` and `statistic` update their state.
    pub fn matches(&mut self, pkt: &PacketView, now: Instant) -> bool {
        match self {
            Match::Tcp(m) | Match::Udp(m) => port_match(m, pkt),
            Match::Icmp(m) | Match::Icmp6(m) => match pkt.icmp {
                Some((t, c)) if !pkt.fragment => {
                    (m.typ == 0xFF || (t == m.typ && (m.code_lo..=m.code_hi).contains(&c))) != m.inv
                }
                _ => false,
            },
            Match::Conntrack(m) => ct_match(m, pkt.ct) && m.ext.matches(pkt.ct, now),
            Match::AddrType(m) => {
                let ok = |spec: Option<(u16, bool)>, t: AddrType| {
                    spec.is_none_or(|(mask, inv)| (mask & addrtype_bit(t) != 0) != inv)
                };
                ok(m.src, pkt.src_type) && ok(m.dst, pkt.dst_type)
            }
            Match::IpRange(m) => {
                let ok = |spec: Option<(u32, u32, bool)>, ip: u32| {
                    spec.is_none_or(|(lo, hi, inv)| (lo..=hi).contains(&ip) != inv)
                };
                ok(m.src, bits4(pkt.src)) && ok(m.dst, bits4(pkt.dst))
            }
            Match::Multiport(m) => multiport_match(m, pkt),
            Match::Limit(m) => m.take(now),
            Match::Statistic(m) => stat_match(m),
            Match::Comment(_) => true,
            // `mark_mt`.
            Match::Mark(m) => (pkt.mark & m.mask == m.mark) != m.inv,
            // `connmark_mt`: no connection, no match.
            Match::ConnMark(m) => match conn(pkt.ct) {
                Some(c) => (c.mark & m.mask == m.mark) != m.inv,
                None => false,
            },
            Match::Hdr(h) => h.matches(pkt, now),
            // Read with the namespace's shared state (`ext_state::eval`).
            Match::State(s) => s.matches(pkt, now, &mut Default::default()),
        }
    }
}

/// The packet's connection as `nf_ct_get` gives it: none for an INVALID or UNTRACKED packet.
pub(crate) fn conn(view: Option<CtView>) -> Option<CtView> {
    view.filter(|v| !matches!(v.state, CtState::Invalid | CtState::Untracked))
}

fn port_match(m: &PortMatch, pkt: &PacketView) -> bool {
    let (Some(sport), Some(dport)) = (pkt.sport, pkt.dport) else {
        return false;
    };
    if pkt.fragment || !m.sport.matches(sport) || !m.dport.matches(dport) {
        return false;
    }
    let flags_ok = match m.flags {
        Some((mask, comp, inv)) => (pkt.tcp_flags.unwrap_or(0) & mask == comp) != inv,
        None => true,
    };
    flags_ok
        && m.option
            .is_none_or(|(opt, inv)| tcp_find_option(pkt, opt, inv))
}

/// `tcp_find_option`: whether the segment carries option `opt` (`!`: does not). A header
/// that cannot be read matches nothing (the kernel drops the packet).
fn tcp_find_option(pkt: &PacketView, opt: u8, inv: bool) -> bool {
    let ihl = usize::from(pkt.ip.first().map_or(0, |b| b & 0x0F)) * 4;
    let Some(th) = pkt.ip.get(ihl..).filter(|t| t.len() >= 20) else {
        return false;
    };
    let doff = usize::from(th[12] >> 4) * 4;
    let Some(op) = th.get(20..doff).filter(|_| doff >= 20) else {
        return false;
    };
    let mut i = 0;
    while i < op.len() {
        if op[i] == opt {
            return !inv;
        }
        i += match op[i] {
            0 | 1 => 1,
            _ => usize::from(op.get(i + 1).copied().unwrap_or(0)).max(1),
        };
    }
    inv
}

fn multiport_match(m: &MultiportMatch, pkt: &PacketView) -> bool {
    let (Some(sport), Some(dport)) = (pkt.sport, pkt.dport) else {
        return false;
    };
    if pkt.fragment {
        return false;
    }
    let hit = m.ports.iter().any(|&(lo, hi)| {
        let r = lo..=hi;
        match m.kind {
            MultiportKind::Source => r.contains(&sport),
            MultiportKind::Destination => r.contains(&dport),
            MultiportKind::Either => r.contains(&sport) || r.contains(&dport),
        }
    });
    hit != m.inv
}

/// `conntrack_mt`: a packet without a connection is INVALID (or UNTRACKED); other
/// conditions then only hold if a state condition was given and held.
fn ct_match(m: &CtMatch, view: Option<CtView>) -> bool {
    let ct = conn(view);
    let mut bits = match view.map(|v| v.state) {
        None | Some(CtState::Invalid) => ct::INVALID,
        Some(CtState::Untracked) => ct::UNTRACKED,
        Some(CtState::New) => ct::NEW,
        Some(CtState::Established) => ct::ESTABLISHED,
        Some(CtState::Related) => ct::RELATED,
    };
    if let Some((mask, inv)) = m.state {
        if let Some(v) = ct
            && !m.state_alias
        {
            bits |= if v.snat { ct::SNAT } else { 0 } | if v.dnat { ct::DNAT } else { 0 };
        }
        if (mask & bits != 0) == inv {
            return false;
        }
    }
    let Some(v) = ct else {
        return m.state.is_some();
    };
    let addr_ok = |spec: Option<(Net, bool)>, ip: smoltcp::wire::IpAddress| {
        spec.is_none_or(|(net, inv)| net.contains(ip) != inv)
    };
    let port_ok =
        |spec: Option<Ports>, port: Option<u16>| spec.is_none_or(|p| p.matches(port.unwrap_or(0)));
    addr_ok(m.origsrc, v.orig_src)
        && addr_ok(m.origdst, v.orig_dst)
        && port_ok(m.origsrcport, v.orig_sport)
        && port_ok(m.origdstport, v.orig_dport)
        && m.dir_reply.is_none_or(|reply| reply == v.reply)
}

fn stat_match(m: &mut StatMatch) -> bool {
    let hit = match &mut m.mode {
        StatMode::Nth { every, count, .. } => {
            *count = if *count == *every { 0 } else { *count + 1 };
            *count == 0
        }
        StatMode::Random { probability, state } => {
            // xorshift64*: deterministic per rule, like every other random choice here.
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            let r = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32;
            (r & 0x7FFF_FFFF) < *probability
        }
    };
    hit != m.inv
}

#[cfg(test)]
#[path = "match_eval_tests.rs"]
mod tests;
