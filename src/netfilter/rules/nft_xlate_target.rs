//! Targets as nft 1.0.6 prints what iptables-nft 1.8.9 put in the kernel: standard
//! verdicts are native; every other target is a compat target printed through libxtables'
//! translation (1.8.9's texts, checked against the real tools), or `xt target NAME` where
//! the extension has none or declines.

use super::ext_hdr::HdrTarget;
use super::ext_state::StateTarget;
use super::model::{ConnMarkMode, ConnMarkTarget, LogSpec, MarkTarget, NatSpec, Target};
use super::nft_view::Stmt;
use crate::netfilter::packet::{NatAction, RejectWith};
use crate::netfilter::tcpmss::TcpMss;

/// The target's statement (`None` for a rule without `-j`). Jumps are the caller's: they
/// need the chain's name.
pub(super) fn target_stmt(t: &Target) -> Option<Stmt> {
    Some(match t {
        Target::None | Target::Jump(_) | Target::Goto(_) => return None,
        Target::Accept => Stmt::other("accept"),
        Target::Drop => Stmt::other("drop"),
        Target::Return => Stmt::other("return"),
        // iptables-nft has no QUEUE; the kernel refuses the rule, so this never lists.
        Target::Queue => Stmt::xt_target("QUEUE", None),
        Target::Reject(w) => Stmt::xt_target("REJECT", Some(reject(*w))),
        Target::Log(l) => Stmt::xt_target("LOG", Some(log(l))),
        Target::Nat(n) => Stmt::xt_target(nat_name(n), nat(n)),
        Target::TcpMss(m) => Stmt::xt_target(
            "TCPMSS",
            Some(match m {
                TcpMss::ClampToPmtu => "tcp option maxseg size set rt mtu".to_string(),
                TcpMss::Set(v) => format!("tcp option maxseg size set {v}"),
            }),
        ),
        Target::Mark(m) => Stmt::xt_target("MARK", Some(mark(*m))),
        Target::ConnMark(c) => Stmt::xt_target("CONNMARK", connmark(*c)),
        Target::Hdr(h) => hdr(h),
        Target::State(s) => state(s),
    })
}

fn reject(w: RejectWith) -> String {
    let icmp = match w {
        RejectWith::IcmpPortUnreachable => return "reject".into(),
        RejectWith::TcpReset => return "reject with tcp reset".into(),
        RejectWith::IcmpNetUnreachable => "net-unreachable",
        RejectWith::IcmpHostUnreachable => "host-unreachable",
        RejectWith::IcmpProtoUnreachable => "prot-unreachable",
        RejectWith::IcmpNetProhibited => "net-prohibited",
        RejectWith::IcmpHostProhibited => "host-prohibited",
        RejectWith::IcmpAdminProhibited => "admin-prohibited",
        RejectWith::Icmp6Unreachable(4) => return "reject".into(),
        RejectWith::Icmp6Unreachable(code) => {
            let name = match code {
                0 => "no-route",
                1 => "admin-prohibited",
                3 => "addr-unreachable",
                5 => "policy-fail",
                _ => "reject-route",
            };
            return format!("reject with icmpv6 type {name}");
        }
    };
    format!("reject with icmp type {icmp}")
}

/// `log_tg_xlate`: the prefix as given (quotes unescaped), the level unless it is the
/// default (warning), the flags (`all` when every one is set).
fn log(l: &LogSpec) -> String {
    const LEVELS: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
    ];
    let mut s = String::from("log");
    if !l.prefix.is_empty() {
        s.push_str(&format!(" prefix \"{}\"", l.prefix));
    }
    if l.level != 4
        && let Some(name) = LEVELS.get(usize::from(l.level))
    {
        s.push_str(&format!(" level {name}"));
    }
    if l.flags & 0x2f == 0x2f {
        s.push_str(" flags all");
        return s;
    }
    match (l.flags & 1 != 0, l.flags & 2 != 0) {
        (true, true) => s.push_str(" flags tcp sequence,options"),
        (true, false) => s.push_str(" flags tcp sequence"),
        (false, true) => s.push_str(" flags tcp options"),
        _ => {}
    }
    if l.flags & 4 != 0 {
        s.push_str(" flags ip options");
    }
    if l.flags & 8 != 0 {
        s.push_str(" flags skuid");
    }
    if l.flags & 0x20 != 0 {
        s.push_str(" flags ether");
    }
    s
}

fn nat_name(n: &NatSpec) -> &'static str {
    match n.action {
        NatAction::Masquerade { .. } => "MASQUERADE",
        NatAction::Snat { .. } => "SNAT",
        NatAction::Dnat { .. } => "DNAT",
        NatAction::Redirect { .. } => "REDIRECT",
        NatAction::Netmap { .. } => "NETMAP",
    }
}

fn ports(p: Option<(u16, u16)>) -> String {
    match p {
        None => String::new(),
        Some((lo, hi)) if lo == hi => format!(":{lo}"),
        Some((lo, hi)) => format!(":{lo}-{hi}"),
    }
}

/// The NAT targets' translations: `snat to ADDR[-ADDR][:PORT[-PORT]]`, `masquerade to
/// :PORTS`, `redirect to :PORTS`, then the flags after one space, comma-separated.
fn nat(n: &NatSpec) -> Option<String> {
    let bracket = |a: smoltcp::wire::IpAddress, port: bool| match a {
        // An IPv6 address before a port goes in brackets.
        smoltcp::wire::IpAddress::Ipv6(a) if port => format!("[{a}]"),
        a => a.to_string(),
    };
    let addrs = |(a, b): (smoltcp::wire::IpAddress, smoltcp::wire::IpAddress), port: bool| {
        if a == b {
            bracket(a, port)
        } else {
            format!("{}-{}", bracket(a, port), bracket(b, port))
        }
    };
    let mut s = match n.action {
        NatAction::Masquerade { ports: p } => match p {
            Some(_) => format!("masquerade to {}", ports(p)),
            None => "masquerade".to_string(),
        },
        NatAction::Redirect { ports: p } => match p {
            Some(_) => format!("redirect to {}", ports(p)),
            None => "redirect".to_string(),
        },
        NatAction::Snat { addrs: a, ports: p } => {
            format!("snat to {}{}", addrs(a, p.is_some()), ports(p))
        }
        NatAction::Dnat { addrs: a, ports: p } => {
            let a = if a.0.is_unspecified() && a.1.is_unspecified() {
                String::new()
            } else {
                addrs(a, p.is_some())
            };
            format!("dnat to {a}{}", ports(p))
        }
        // NETMAP's translation is not modelled.
        NatAction::Netmap { .. } => return None,
    };
    let flags: Vec<&str> = [
        (n.random, "random"),
        (n.random_fully, "fully-random"),
        (n.persistent, "persistent"),
    ]
    .into_iter()
    .filter(|f| f.0)
    .map(|f| f.1)
    .collect();
    if !flags.is_empty() {
        s.push(' ');
        s.push_str(&flags.join(","));
    }
    Some(s)
}

/// `mark_tg_xlate` (revision 2).
fn mark(m: MarkTarget) -> String {
    let v = if m.mask == u32::MAX {
        format!("0x{:x}", m.xor)
    } else if m.xor == 0 {
        format!("mark and 0x{:x}", !m.mask)
    } else if m.xor == m.mask {
        format!("mark or 0x{:x}", m.xor)
    } else if m.mask == 0 {
        format!("mark xor 0x{:x}", m.xor)
    } else {
        format!("mark and 0x{:x} xor 0x{:x}", !m.mask, m.xor)
    };
    format!("meta mark set {v}")
}

/// `connmark_tg_xlate` (revision 2): a shifted set is put in parentheses; no translation
/// for a shifted save or restore, nor for one whose two masks differ.
fn connmark(c: ConnMarkTarget) -> Option<String> {
    if c.shift_bits != 0 && c.mode != ConnMarkMode::Set {
        return None;
    }
    Some(match c.mode {
        ConnMarkMode::Set => {
            let v = if c.ctmask == u32::MAX {
                format!("0x{:x}", c.ctmark)
            } else if c.ctmark == 0 {
                format!("ct mark and 0x{:x}", !c.ctmask)
            } else if c.ctmark == c.ctmask {
                format!("ct mark or 0x{:x}", c.ctmark)
            } else if c.ctmask == 0 {
                format!("ct mark xor 0x{:x}", c.ctmark)
            } else {
                format!("ct mark xor 0x{:x} and 0x{:x}", c.ctmark, !c.ctmask)
            };
            match (c.shift_bits, c.shift_right) {
                (0, _) => format!("ct mark set {v}"),
                (n, true) => format!("ct mark set ( {v} ) >> {n}"),
                (n, false) => format!("ct mark set ( {v} ) << {n}"),
            }
        }
        ConnMarkMode::Save if c.nfmask != c.ctmask => return None,
        ConnMarkMode::Save if c.nfmask == u32::MAX => "ct mark set mark".into(),
        ConnMarkMode::Save => format!("ct mark set mark and 0x{:x}", c.nfmask),
        ConnMarkMode::Restore if c.nfmask != c.ctmask => return None,
        ConnMarkMode::Restore if c.nfmask == u32::MAX => "meta mark set ct mark".into(),
        ConnMarkMode::Restore => format!("meta mark set ct mark and 0x{:x}", c.nfmask),
    })
}

fn hdr(h: &HdrTarget) -> Stmt {
    match h {
        HdrTarget::Dscp(d) => Stmt::xt_target("DSCP", Some(format!("ip dscp set 0x{d:02x}"))),
        // TTL and CHECKSUM have no translation.
        HdrTarget::TtlSet(_) | HdrTarget::TtlInc(_) | HdrTarget::TtlDec(_) => {
            Stmt::xt_target("TTL", None)
        }
        HdrTarget::Tos { value, mask } => Stmt::xt_target("TOS", tos(*value, *mask)),
        HdrTarget::Checksum => Stmt::xt_target("CHECKSUM", None),
    }
}

/// `tos_tg_xlate` of libxt_TOS 1.8.9 writes the DSCP bits of an IPv6 header
/// (`ip6 dscp set`), even in the ip family: nft prints it so.
fn tos(value: u8, mask: u8) -> Option<String> {
    let v = if mask == 0xff || mask == 0x3f {
        format!("0x{:02x}", value >> 2)
    } else if value == 0 {
        format!("ip6 dscp and 0x{:02x}", !mask >> 2)
    } else if value == mask {
        format!("ip6 dscp or 0x{:02x}", value >> 2)
    } else if mask == 0 {
        format!("ip6 dscp xor 0x{:02x}", value >> 2)
    } else {
        format!("ip6 dscp and 0x{:02x} xor 0x{:02x}", !mask >> 2, value >> 2)
    };
    Some(format!("ip6 dscp set {v}"))
}

fn state(s: &StateTarget) -> Stmt {
    match s {
        StateTarget::Ct(c) => {
            // Only `--notrack` (and NOTRACK) translates.
            let name = if c.alias { "NOTRACK" } else { "CT" };
            Stmt::xt_target(name, c.notrack.then(|| "notrack".to_string()))
        }
        StateTarget::Nflog(n) => {
            let mut s = String::from("log");
            if !n.prefix.is_empty() {
                s.push_str(&format!(" prefix \"{}\"", n.prefix));
            }
            s.push_str(&format!(" group {}", n.group));
            if let Some(size) = n.size {
                s.push_str(&format!(" snaplen {size}"));
            }
            if n.threshold != 0 {
                s.push_str(&format!(" queue-threshold {}", n.threshold));
            }
            Stmt::xt_target("NFLOG", Some(s))
        }
        StateTarget::Nfqueue(q) => {
            let num = match q.balance {
                Some((a, b)) => format!("{a}-{b}"),
                None => q.num.to_string(),
            };
            let flags: Vec<&str> = [(q.bypass, "bypass"), (q.cpu_fanout, "fanout")]
                .into_iter()
                .filter(|f| f.0)
                .map(|f| f.1)
                .collect();
            let mut s = format!("queue num {num}");
            if !flags.is_empty() {
                s.push(' ');
                s.push_str(&flags.join(","));
            }
            Stmt::xt_target("NFQUEUE", Some(s))
        }
        StateTarget::Tproxy(_) => Stmt::xt_target("TPROXY", None),
    }
}
