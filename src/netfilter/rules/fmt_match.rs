//! Each match module's `print` (for `-L`) and `save` (for `-S`).

use std::fmt::Write;

use super::fmt_ext::{
    conntrack, ip, multiport_ports, print_ports, rate, save_ports, save_string, stat_mode,
    tcp_flag_names, types,
};
use super::matches::{IpSpec, Match, MultiportKind};
use super::names::{ICMP_TYPES, ICMPV6_TYPES};

/// A match as `iptables -L` shows it.
pub(crate) fn print_match(out: &mut String, m: &Match, ipspec: &IpSpec, numeric: bool) {
    match m {
        Match::Tcp(t) | Match::Udp(t) => {
            let (name, proto) = if matches!(m, Match::Tcp(_)) {
                ("tcp", 6)
            } else {
                ("udp", 17)
            };
            let _ = write!(out, " {name}");
            print_ports(out, "spt", t.sport, proto, numeric);
            print_ports(out, "dpt", t.dport, proto, numeric);
            if let Some((opt, inv)) = t.option {
                let _ = write!(out, " option={}{opt}", if inv { "!" } else { "" });
            }
            if let Some((mask, comp, inv)) = t.flags {
                let _ = write!(out, " flags:{}", if inv { "!" } else { "" });
                if numeric {
                    let _ = write!(out, "0x{mask:02X}/0x{comp:02X}");
                } else {
                    tcp_flag_names(out, mask);
                    out.push('/');
                    tcp_flag_names(out, comp);
                }
            }
        }
        Match::Icmp6(i) => icmp_type(out, " ipv6-icmp", ICMPV6_TYPES, i, numeric),
        Match::Icmp(i) => icmp_type(out, " icmp", ICMP_TYPES, i, numeric),
        Match::Conntrack(c) => conntrack(out, c, "", numeric),
        Match::AddrType(a) => {
            out.push_str(" ADDRTYPE match");
            for (name, spec) in [("src-type", a.src), ("dst-type", a.dst)] {
                if let Some((mask, inv)) = spec {
                    let _ = write!(out, " {name} {}", if inv { "!" } else { "" });
                    types(out, mask);
                }
            }
            if a.limit_in {
                out.push_str(" limit-in");
            }
            if a.limit_out {
                out.push_str(" limit-out");
            }
        }
        Match::IpRange(r) => {
            for (name, spec) in [("source", r.src), ("destination", r.dst)] {
                if let Some((lo, hi, inv)) = spec {
                    let _ = write!(out, " {name} IP range{}", if inv { " !" } else { "" });
                    out.push(' ');
                    ip(out, lo);
                    out.push('-');
                    ip(out, hi);
                }
            }
        }
        Match::Multiport(mp) => {
            out.push_str(" multiport ");
            out.push_str(match mp.kind {
                MultiportKind::Source => "sports ",
                MultiportKind::Destination => "dports ",
                MultiportKind::Either => "ports ",
            });
            if mp.inv {
                out.push_str(" !");
            }
            multiport_ports(out, &mp.ports, ipspec.proto, numeric);
        }
        Match::Limit(l) => {
            out.push_str(" limit: avg");
            rate(out, l.avg);
            let _ = write!(out, " burst {}", l.burst);
        }
        Match::Statistic(s) => {
            out.push_str(" statistic");
            stat_mode(out, s, "");
        }
        Match::Comment(c) => {
            let _ = write!(out, " /* {c} */");
        }
        Match::Mark(m) => {
            out.push_str(" mark match");
            if m.inv {
                out.push_str(" !");
            }
            mark_mask(out, m.mark, m.mask);
        }
        Match::ConnMark(m) => {
            out.push_str(" connmark match ");
            if m.inv {
                out.push('!');
            }
            mark_mask(out, m.mark, m.mask);
        }
        Match::Hdr(h) => h.print(out, numeric),
        Match::State(s) => s.print(out, numeric),
    }
}

/// A match as `-S` writes it, `-m NAME` included.
pub(crate) fn save_match(out: &mut String, m: &Match, ipspec: &IpSpec) {
    let _ = write!(out, " -m {}", m.name());
    match m {
        Match::Tcp(t) | Match::Udp(t) => {
            save_ports(out, "sport", t.sport);
            save_ports(out, "dport", t.dport);
            if let Some((opt, inv)) = t.option {
                let _ = write!(out, "{} --tcp-option {opt}", if inv { " !" } else { "" });
            }
            if let Some((mask, comp, inv)) = t.flags {
                out.push_str(if inv {
                    " ! --tcp-flags "
                } else {
                    " --tcp-flags "
                });
                tcp_flag_names(out, mask);
                out.push(' ');
                tcp_flag_names(out, comp);
            }
        }
        Match::Icmp6(i) => {
            if i.inv {
                out.push_str(" !");
            }
            let _ = write!(out, " --icmpv6-type {}", i.typ);
            if i.code_lo != 0 || i.code_hi != 0xFF {
                let _ = write!(out, "/{}", i.code_lo);
            }
        }
        Match::Icmp(i) => {
            if i.inv {
                out.push_str(" !");
            }
            if i.typ == 0xFF {
                out.push_str(" --icmp-type any");
            } else {
                let _ = write!(out, " --icmp-type {}", i.typ);
                if i.code_lo != 0 || i.code_hi != 0xFF {
                    let _ = write!(out, "/{}", i.code_lo);
                }
            }
        }
        Match::Conntrack(c) => conntrack(out, c, "--", true),
        Match::AddrType(a) => {
            for (name, spec) in [("src-type", a.src), ("dst-type", a.dst)] {
                if let Some((mask, inv)) = spec {
                    let _ = write!(out, "{} --{name} ", if inv { " !" } else { "" });
                    types(out, mask);
                }
            }
            if a.limit_in {
                out.push_str(" --limit-iface-in");
            }
            if a.limit_out {
                out.push_str(" --limit-iface-out");
            }
        }
        Match::IpRange(r) => {
            for (name, spec) in [("src-range", r.src), ("dst-range", r.dst)] {
                if let Some((lo, hi, inv)) = spec {
                    let _ = write!(out, "{} --{name} ", if inv { " !" } else { "" });
                    ip(out, lo);
                    out.push('-');
                    ip(out, hi);
                }
            }
        }
        Match::Multiport(mp) => {
            if mp.inv {
                out.push_str(" !");
            }
            out.push_str(match mp.kind {
                MultiportKind::Source => " --sports ",
                MultiportKind::Destination => " --dports ",
                MultiportKind::Either => " --ports ",
            });
            multiport_ports(out, &mp.ports, ipspec.proto, true);
        }
        Match::Limit(l) => {
            out.push_str(" --limit");
            rate(out, l.avg);
            if l.burst != 5 {
                let _ = write!(out, " --limit-burst {}", l.burst);
            }
        }
        Match::Statistic(s) => stat_mode(out, s, "--"),
        Match::Comment(c) => {
            out.push_str(" --comment");
            save_string(out, c);
        }
        Match::Mark(m) | Match::ConnMark(m) => {
            if m.inv {
                out.push_str(" !");
            }
            out.push_str(" --mark");
            mark_mask(out, m.mark, m.mask);
        }
        Match::Hdr(h) => h.save(out),
        Match::State(s) => s.save(out),
    }
}

/// ` 0xMARK[/0xMASK]` (libxt_mark's `print_mark`): no mask when it is all ones.
fn mark_mask(out: &mut String, mark: u32, mask: u32) {
    if mask == u32::MAX {
        let _ = write!(out, " 0x{mark:x}");
    } else {
        let _ = write!(out, " 0x{mark:x}/0x{mask:x}");
    }
}

/// `print_icmptype` (libxt_icmp) and `print_icmpv6type` (libxt_icmp6): the module's word,
/// then the type's name from `names` unless `numeric`, else `type N` with its code or codes.
fn icmp_type(
    out: &mut String,
    word: &str,
    names: &[(&str, u8, u8, u8)],
    i: &super::matches::IcmpMatch,
    numeric: bool,
) {
    out.push_str(word);
    let named = names
        .iter()
        .find(|t| (t.1, t.2, t.3) == (i.typ, i.code_lo, i.code_hi));
    if let Some(t) = named.filter(|_| !numeric) {
        let _ = write!(out, " {}{}", if i.inv { "!" } else { "" }, t.0);
        return;
    }
    if i.inv {
        out.push_str(" !");
    }
    let _ = write!(out, "type {}", i.typ);
    if i.code_lo == i.code_hi {
        let _ = write!(out, " code {}", i.code_lo);
    } else if i.code_lo != 0 || i.code_hi != 0xFF {
        let _ = write!(out, " codes {}-{}", i.code_lo, i.code_hi);
    }
}
